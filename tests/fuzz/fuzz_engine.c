/*
 * Fuzzes cm_engine_match() and cm_engine_decide() with a fixed rule set
 * that uses every kind of rule.  The input is the comment's fields
 * separated by NULs: text, name, email, url, user-agent; the facts from
 * Redis are made of the same bytes.  Checks: no error but invalid UTF-8,
 * spans inside their field on character boundaries and belonging to a rule
 * that fired, counts that reach min-count, rules with conditions that hold,
 * a decision that follows from the hits, and deciding twice changes
 * nothing.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_engine.h"


#define W(s, p, x)  { .text = (char *) (s), .len = sizeof(s) - 1,           \
                      .prefix = p, .suffix = x, .line = 1 }

static cm_word_t  cm_fuzz_vocab[] = {
    W("slot gacor", 0, 0), W("maxwin", 0, 0), W("gacor", 1, 0),
    W("toto", 0, 1), W("sl0t", 0, 0), W("\xf0\x9d\x90\x92lot", 0, 0),
};

static cm_word_t  cm_fuzz_staff[] = { W("admin", 0, 0), W("redaksi", 0, 0) };
static cm_word_t  cm_fuzz_ham[] = { W("terima kasih", 0, 0) };

static cm_condition_t  cm_fuzz_conditions[] = {
    { CM_IDENT_AUTHOR, CM_COUNT_SEEN, CM_OP_EQ, 0 },
    { CM_IDENT_AUTHOR, CM_COUNT_APPROVED, CM_OP_GE, 3 },
    { CM_IDENT_AUTHOR, CM_COUNT_REJECTED, CM_OP_LE, 0 },
    { CM_IDENT_NETWORK, CM_COUNT_REJECTED_24H, CM_OP_GT, 1 },
    { CM_IDENT_IP, CM_COUNT_QUEUED, CM_OP_NE, 2 },
    { CM_IDENT_NETWORK, CM_COUNT_SEEN, CM_OP_LT, 5 },
};


#define RULE(n, k, w, nw, re, f, v, act, sc, min, sh)                        \
    { .name = (char *) n, .file = "fuzz.rules", .line = 1, .kind = k,       \
      .words = w, .nwords = nw, .regex = (char *) re, .regex_line = 1,      \
      .fields = f, .views = v, .action = act, .score = sc, .min_count = min, \
      .shadow = sh }

#define TEXT  CM_FIELD_BIT(CM_FIELD_TEXT)
#define FV    (CM_RULE_VIEW_FOLDED | CM_RULE_VIEW_DELEET)

static cm_rule_def_t  cm_fuzz_rules[] = {
    RULE("vocab", CM_RULE_WORDS, cm_fuzz_vocab, 6, NULL, TEXT, FV,
         CM_ACTION_SCORE, 6, 1, 0),
    RULE("vocab2", CM_RULE_WORDS, cm_fuzz_vocab, 6, NULL, TEXT,
         CM_RULE_VIEW_FOLDED, CM_ACTION_SCORE, 3, 2, 0),
    RULE("staff", CM_RULE_WORDS, cm_fuzz_staff, 2, NULL,
         CM_FIELD_BIT(CM_FIELD_NAME) | CM_FIELD_BIT(CM_FIELD_EMAIL),
         CM_RULE_VIEW_DELEET, CM_ACTION_QUEUE, 0, 1, 0),
    RULE("ham", CM_RULE_WORDS, cm_fuzz_ham, 1, NULL, TEXT, FV,
         CM_ACTION_SCORE, -4, 1, 0),
    RULE("wa", CM_RULE_REGEX, NULL, 0, "(?:\\+?62|0)8[0-9 .-]{8,14}", TEXT,
         CM_RULE_VIEW_RAW, CM_ACTION_SCORE, 4, 1, 0),
    RULE("site", CM_RULE_REGEX, NULL, 0, "\\b[a-z]{3,12}(?:88|77|4d)\\b",
         TEXT | CM_FIELD_BIT(CM_FIELD_URL), CM_RULE_VIEW_DELEET,
         CM_ACTION_REJECT, 0, 1, 0),
    RULE("link", CM_RULE_REGEX, NULL, 0, "https?://|www\\.", TEXT,
         CM_RULE_VIEW_RAW | CM_RULE_VIEW_FOLDED, CM_ACTION_SCORE, 2, 3, 0),
    RULE("boom", CM_RULE_REGEX, NULL, 0, "(a|a)+[.]99|(\\w+\\s?)+\\$", TEXT,
         CM_RULE_VIEW_RAW, CM_ACTION_SCORE, 9, 1, 0),
    RULE("empty", CM_RULE_REGEX, NULL, 0, "x*", TEXT, CM_RULE_VIEW_FOLDED,
         CM_ACTION_SCORE, 0, 1, 1),
    RULE("agent", CM_RULE_REGEX, NULL, 0, "curl|python",
         CM_FIELD_BIT(CM_FIELD_USER_AGENT), CM_RULE_VIEW_RAW,
         CM_ACTION_ACCEPT, 0, 1, 0),
    RULE("trial", CM_RULE_WORDS, cm_fuzz_vocab, 6, NULL, TEXT, FV,
         CM_ACTION_REJECT, 0, 1, 1),

    /* what Redis knows: with content, alone, limits */
    { .name = "new-link", .file = "fuzz.rules", .line = 1,
      .kind = CM_RULE_REGEX, .regex = "https?://|www\\.", .regex_line = 1,
      .fields = TEXT, .views = CM_RULE_VIEW_FOLDED,
      .action = CM_ACTION_QUEUE, .min_count = 1,
      .conditions = &cm_fuzz_conditions[0], .nconditions = 1,
      .unknown_match = 1 },
    { .name = "trusted", .file = "fuzz.rules", .line = 1,
      .kind = CM_RULE_FACTS, .action = CM_ACTION_ACCEPT, .min_count = 1,
      .conditions = &cm_fuzz_conditions[1], .nconditions = 2 },
    { .name = "repeat", .file = "fuzz.rules", .line = 1,
      .kind = CM_RULE_FACTS, .action = CM_ACTION_SCORE, .score = 5,
      .min_count = 1, .conditions = &cm_fuzz_conditions[3],
      .nconditions = 2 },
    { .name = "flood", .file = "fuzz.rules", .line = 1,
      .kind = CM_RULE_FACTS, .action = CM_ACTION_QUEUE, .min_count = 1,
      .limit_ident = CM_IDENT_AUTHOR, .limit_max = 3, .limit_ms = 60000,
      .unknown_match = 1 },
    { .name = "swarm", .file = "fuzz.rules", .line = 1,
      .kind = CM_RULE_WORDS, .words = cm_fuzz_vocab, .nwords = 6,
      .fields = TEXT, .views = FV, .action = CM_ACTION_REJECT,
      .min_count = 1, .limit_ident = CM_IDENT_TEXT, .limit_max = 2,
      .limit_ms = 600000, .conditions = &cm_fuzz_conditions[5],
      .nconditions = 1 },
    { .name = "flood-shadow", .file = "fuzz.rules", .line = 1,
      .kind = CM_RULE_FACTS, .action = CM_ACTION_REJECT, .min_count = 1,
      .limit_ident = CM_IDENT_AUTHOR, .limit_max = 1, .limit_ms = 60000,
      .shadow = 1 },
};

static cm_rules_t  cm_fuzz_rule_set = {
    .rules = cm_fuzz_rules,
    .nrules = sizeof(cm_fuzz_rules) / sizeof(cm_fuzz_rules[0]),
    .queue_at = 5,
    .reject_at = 10,
    .regex_error = CM_REGEX_ERROR_QUEUE
};

static const cm_field_e  cm_fuzz_fields[] = {
    CM_FIELD_TEXT, CM_FIELD_NAME, CM_FIELD_EMAIL, CM_FIELD_URL,
    CM_FIELD_USER_AGENT
};


/* the meaning of "when" and "limit", written again */
static int
cm_fuzz_holds(const cm_engine_t *engine, const cm_rule_def_t *rule,
    const cm_facts_t *facts)
{
    long                v, x;
    size_t              i, n;
    const cm_window_t  *w;

    if (facts == NULL || !facts->known) {
        return rule->unknown_match;
    }

    for (i = 0; i < rule->nconditions; i++) {
        v = facts->count[rule->conditions[i].ident][rule->conditions[i].count];
        x = rule->conditions[i].value;

        if (!(rule->conditions[i].op == CM_OP_LT ? v < x
              : rule->conditions[i].op == CM_OP_LE ? v <= x
              : rule->conditions[i].op == CM_OP_EQ ? v == x
              : rule->conditions[i].op == CM_OP_NE ? v != x
              : rule->conditions[i].op == CM_OP_GE ? v >= x : v > x))
        {
            return 0;
        }
    }

    if (rule->limit_max == 0) {
        return 1;
    }

    n = cm_engine_windows(engine, &w);

    for (i = 0; i < n; i++) {
        if (w[i].ident == rule->limit_ident && w[i].ms == rule->limit_ms) {
            return facts->window[i] > rule->limit_max;
        }
    }

    abort();
}


static void
cm_fuzz_check(const cm_engine_t *engine, const cm_result_t *res,
    const cm_input_t *in, const cm_facts_t *facts)
{
    int                   score, hard;
    char                  names[1024];
    size_t                i, k, n;
    const cm_span_t      *sp;
    const cm_rule_def_t  *rule;

    score = 0;
    hard = -1;

    for (i = 0; i < res->nhits; i++) {
        rule = res->hits[i].rule;
        score += res->hits[i].contribution;

        if ((rule->kind != CM_RULE_FACTS
             && res->hits[i].count < rule->min_count)
            || rule == res->limit_rule
            || (cm_rule_has_facts(rule)
                && !cm_fuzz_holds(engine, rule, facts)))
        {
            abort();
        }

        if (!rule->shadow && rule->action != CM_ACTION_SCORE
            && (int) rule->action > hard)
        {
            hard = rule->action;
        }

        for (k = 0, n = 0; k < res->nspans; k++) {
            n += (res->spans[k].rule == rule);
        }

        if (n != res->hits[i].count) {
            abort();
        }
    }

    for (k = 0; k < res->nspans; k++) {
        sp = &res->spans[k];

        if (in->value[sp->field] == NULL || sp->start > sp->end
            || sp->end > in->len[sp->field]
            || (sp->start < in->len[sp->field]
                && (in->value[sp->field][sp->start] & 0xc0) == 0x80))
        {
            abort();
        }

        if (k > 0 && sp->field < sp[-1].field) {
            abort();
        }
    }

    if (score != res->score || res->npending != 0
        || res->npending_spans != 0)
    {
        abort();
    }

    if (hard == CM_ACTION_REJECT && res->decision != CM_DECISION_REJECT) {
        abort();
    }

    if (hard == -1 && res->limit_rule == NULL
        && res->decision != (score >= 10 ? CM_DECISION_REJECT
                             : score >= 5 ? CM_DECISION_QUEUE
                             : CM_DECISION_ACCEPT))
    {
        abort();
    }

    n = cm_result_rule_names(res, NULL, 0);
    if (n < sizeof(names) && cm_result_rule_names(res, names, sizeof(names)) != n) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 msg[256];
    size_t               f, i, nhits, nspans;
    cm_facts_t           facts, *fp;
    cm_decision_e        decision;
    cm_alloc_t           a;
    cm_arena_t          *arena;
    cm_field_e           bad;
    cm_input_t           in;
    cm_result_t          res;
    const char          *p, *end, *nul;
    cm_engine_rc_e       rc;
    static cm_engine_t  *engine;

    if (engine == NULL) {
        engine = cm_engine_compile(&cm_fuzz_rule_set, msg, sizeof(msg));
        if (engine == NULL) {
            abort();
        }
    }

    memset(&in, 0, sizeof(cm_input_t));
    p = (const char *) data;
    end = p + size;

    for (f = 0; f < sizeof(cm_fuzz_fields) / sizeof(cm_fuzz_fields[0]); f++) {
        nul = memchr(p, '\0', end - p);
        in.value[cm_fuzz_fields[f]] = p;
        in.len[cm_fuzz_fields[f]] = (nul ? nul : end) - p;

        if (nul == NULL) {
            break;
        }

        p = nul + 1;
    }

    arena = cm_arena_create();
    if (arena == NULL) {
        abort();
    }

    a = cm_arena_allocator(arena);
    /* facts from the same bytes: none, unknown, or small numbers */
    memset(&facts, 0, sizeof(cm_facts_t));
    fp = (size > 0 && data[0] % 3 == 0) ? NULL : &facts;
    facts.known = (size > 0 && data[0] % 3 == 2);

    for (i = 0; i < CM_IDENT_N * CM_COUNT_N + CM_ENGINE_MAX_WINDOWS
                && size > 0; i++)
    {
        if (i < CM_IDENT_N * CM_COUNT_N) {
            facts.count[i / CM_COUNT_N][i % CM_COUNT_N] = data[i % size] % 6;
        } else {
            facts.window[i - CM_IDENT_N * CM_COUNT_N] = data[i % size] % 6;
        }
    }

    rc = cm_engine_match(engine, &in, &a, &res, &bad);

    if (rc == CM_ENGINE_OK) {
        cm_engine_decide(engine, fp, &res);
        cm_fuzz_check(engine, &res, &in, fp);

        nhits = res.nhits;
        nspans = res.nspans;
        decision = res.decision;
        cm_engine_decide(engine, fp, &res);

        if (res.nhits != nhits || res.nspans != nspans
            || res.decision != decision)
        {
            abort();
        }

    } else if (rc != CM_ENGINE_INVALID_UTF8
               || cm_utf8_valid(in.value[bad], in.len[bad], NULL))
    {
        abort();
    }

    cm_arena_destroy(arena);

    return 0;
}
