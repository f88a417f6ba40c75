/*
 * The engine end to end: rule files (through cm_rules_load) compiled and
 * matched against comments, then decided.
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cm_test.h"
#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_regex.h"


typedef struct {
    char          path[64];
    cm_rules_t   *rules;
    cm_engine_t  *engine;
    char          err[512];
} rule_set_t;


/* Writes "text" to a temp file and loads it; the error is kept if any. */
static int
load(rule_set_t *rs, const char *text)
{
    int  fd;

    memset(rs, 0, sizeof(rule_set_t));
    strcpy(rs->path, "/tmp/cm-test-engine-XXXXXX");

    fd = mkstemp(rs->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);

    rs->rules = cm_rules_load(&cm_rules_source_files, rs->path, rs->err,
                              sizeof(rs->err));
    if (rs->rules == NULL) {
        return -1;
    }

    rs->engine = cm_engine_compile(rs->rules, rs->err, sizeof(rs->err));

    return rs->engine ? 0 : -1;
}


static void
compile(rule_set_t *rs, const char *text)
{
    if (load(rs, text) != 0) {
        fail_msg("rules do not compile: %s", rs->err);
    }
}


static void
done(rule_set_t *rs)
{
    cm_engine_free(rs->engine);
    cm_rules_free(rs->rules);
    unlink(rs->path);
}


static const cm_input_t *
text_input(cm_input_t *in, const char *text)
{
    memset(in, 0, sizeof(cm_input_t));
    in->value[CM_FIELD_TEXT] = text;
    in->len[CM_FIELD_TEXT] = strlen(text);

    return in;
}


static void
match(rule_set_t *rs, void **state, const cm_input_t *in, cm_result_t *res)
{
    cm_alloc_t  a;
    cm_field_e  bad;

    a = cm_test_alloc(state);

    assert_int_equal(cm_engine_match(rs->engine, in, &a, res, &bad),
                     CM_ENGINE_OK);
}


/* match, then decide with "facts" (NULL: Redis did not answer) */
static void
check_fields_facts(rule_set_t *rs, void **state, const cm_input_t *in,
    const cm_facts_t *facts, cm_result_t *res)
{
    match(rs, state, in, res);
    cm_engine_decide(rs->engine, facts, res);
}


static void
check_fields(rule_set_t *rs, void **state, const cm_input_t *in,
    cm_result_t *res)
{
    check_fields_facts(rs, state, in, NULL, res);
}


static void
check_facts(rule_set_t *rs, void **state, const char *text,
    const cm_facts_t *facts, cm_result_t *res)
{
    cm_input_t  in;

    check_fields_facts(rs, state, text_input(&in, text), facts, res);
}


static void
check(rule_set_t *rs, void **state, const char *text, cm_result_t *res)
{
    check_facts(rs, state, text, NULL, res);
}


static const cm_hit_t *
hit(const cm_result_t *res, const char *name)
{
    size_t  i;

    for (i = 0; i < res->nhits; i++) {
        if (strcmp(res->hits[i].rule->name, name) == 0) {
            return &res->hits[i];
        }
    }

    return NULL;
}


static unsigned
count(rule_set_t *rs, void **state, const char *text, const char *name)
{
    cm_result_t      res;
    const cm_hit_t  *h;

    check(rs, state, text, &res);
    h = hit(&res, name);

    return h ? h->count : 0;
}


static void
test_word_boundaries(void **state)
{
    rule_set_t  rs;

    compile(&rs, "rule w\n"
                 "    words slot, \"slot gacor\", maxwin*, *toto\n"
                 "    score 1\n");

    assert_int_equal(count(&rs, state, "main slot di sini", "w"), 1);
    assert_int_equal(count(&rs, state, "slot!", "w"), 1);
    assert_int_equal(count(&rs, state, "slotmachine", "w"), 0);
    assert_int_equal(count(&rs, state, "aslot", "w"), 0);
    assert_int_equal(count(&rs, state, "SLOT", "w"), 1);

    /* "maxwin*" may continue, "*toto" may be preceded */
    assert_int_equal(count(&rs, state, "maxwinnya", "w"), 1);
    assert_int_equal(count(&rs, state, "amaxwin", "w"), 0);
    assert_int_equal(count(&rs, state, "ahmadtoto", "w"), 1);
    assert_int_equal(count(&rs, state, "totoan", "w"), 0);

    done(&rs);
}


/*
 * The per-thread marks of matching carry a generation that wraps after
 * 65,535 views searched: across many comments (and the wrap), spans are
 * counted afresh for each comment, and each regex runs when its literals
 * are in the comment.
 */
static void
test_generations(void **state)
{
    size_t        i;
    cm_alloc_t    a;
    cm_input_t    in;
    cm_arena_t   *arena;
    cm_result_t   res;
    rule_set_t    rs;

    (void) state;

    compile(&rs, "rule w words slot, gacor score 1\n"
                 "rule r regex \"\\bdepo\\s*\\d+\\b\" score 1\n"
                 "rule n regex \"\\d{4}\" score 1\n");

    for (i = 0; i < 40000; i++) {
        arena = cm_arena_create();
        assert_non_null(arena);
        a = cm_arena_allocator(arena);

        text_input(&in, (i % 2) ? "slot gacor slot, depo 50 tahun 2024"
                                : "berita hari ini");
        assert_int_equal(cm_engine_match(rs.engine, &in, &a, &res, NULL),
                         CM_ENGINE_OK);

        if (i % 2) {
            assert_int_equal(res.nhits, 3);
            assert_int_equal(hit(&res, "w")->count, 3);
            assert_int_equal(hit(&res, "r")->count, 1);
            assert_int_equal(hit(&res, "n")->count, 1);

        } else {
            assert_int_equal(res.nhits, 0);
        }

        cm_arena_destroy(arena);
    }

    done(&rs);
}


/* a phrase matches across any spacing and punctuation, or none */
static void
test_phrases(void **state)
{
    rule_set_t  rs;

    compile(&rs, "rule p\n"
                 "    words \"slot gacor\"\n"
                 "    score 1\n");

    assert_int_equal(count(&rs, state, "slot gacor", "p"), 1);
    assert_int_equal(count(&rs, state, "slot-gacor", "p"), 1);
    assert_int_equal(count(&rs, state, "slot.gacor!", "p"), 1);
    assert_int_equal(count(&rs, state, "slotgacor", "p"), 1);
    assert_int_equal(count(&rs, state, "slot \n\t gacor", "p"), 1);
    assert_int_equal(count(&rs, state, "slot gacoran", "p"), 0);
    assert_int_equal(count(&rs, state, "xslot gacor", "p"), 0);
    assert_int_equal(count(&rs, state, "slot x gacor", "p"), 0);

    done(&rs);
}


static void
test_min_count(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule two\n"
                 "    words togel, jackpot\n"
                 "    min-count 2\n"
                 "    score 3\n");

    assert_int_equal(count(&rs, state, "togel saja", "two"), 0);
    assert_int_equal(count(&rs, state, "togel dan jackpot", "two"), 2);
    assert_int_equal(count(&rs, state, "togel, togel, togel", "two"), 3);

    check(&rs, state, "togel jackpot", &res);
    assert_int_equal(res.score, 3);
    assert_int_equal(res.nspans, 2);

    done(&rs);
}


static void
test_shadow(void **state)
{
    char         names[64];
    size_t       n;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule trial\n"
                 "    words gacor\n"
                 "    score 20\n"
                 "    shadow\n"
                 "rule trial-reject\n"
                 "    words gacor\n"
                 "    action reject\n"
                 "    shadow\n"
                 "rule real\n"
                 "    words maxwin\n"
                 "    score 2\n");

    check(&rs, state, "gacor maxwin", &res);

    assert_non_null(hit(&res, "trial"));
    assert_int_equal(hit(&res, "trial")->contribution, 0);
    assert_non_null(hit(&res, "trial-reject"));
    assert_int_equal(res.score, 2);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);

    n = cm_result_rule_names(&res, names, sizeof(names));
    assert_int_equal(n, 4);
    assert_memory_equal(names, "real", 4);

    done(&rs);
}


static void
test_hard_actions(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule trusted\n"
                 "    words redaksi\n"
                 "    action accept\n"
                 "rule held\n"
                 "    words tautan\n"
                 "    action queue\n"
                 "rule banned\n"
                 "    words judol\n"
                 "    action reject\n"
                 "rule heavy\n"
                 "    words gacor\n"
                 "    score 50\n");

    /* a hard accept beats any score */
    check(&rs, state, "redaksi gacor", &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.score, 50);
    assert_string_equal(res.reason, "rule trusted: accept");

    check(&rs, state, "redaksi tautan", &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "rule held: queue");

    check(&rs, state, "tautan judol redaksi", &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "rule banned: reject");

    /* hard actions contribute nothing */
    assert_int_equal(hit(&res, "banned")->contribution, 0);
    assert_int_equal(res.score, 0);

    done(&rs);
}


static void
test_thresholds(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "threshold queue 5\n"
                 "threshold reject 10\n"
                 "rule four\n"
                 "    words empat\n"
                 "    score 4\n"
                 "rule six\n"
                 "    words enam\n"
                 "    score 6\n"
                 "rule complaint\n"
                 "    words judol\n"
                 "    score -7\n");

    check(&rs, state, "empat", &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_string_equal(res.reason, "score 4 < queue 5");

    check(&rs, state, "enam", &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "score 6 >= queue 5");

    check(&rs, state, "empat enam", &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "score 10 >= reject 10");

    /* negative scores take points back */
    check(&rs, state, "empat enam judol", &res);
    assert_int_equal(res.score, 3);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(hit(&res, "complaint")->contribution, -7);

    done(&rs);
}


/* one rule per view, the same pattern */
static void
test_regex_views(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule raw regex \"slot\" view raw score 1\n"
                 "rule folded regex \"slot\" score 1\n"
                 "rule deleet regex \"slot\" view deleet score 1\n"
                 "rule digits regex \"0812\" view raw score 1\n");

    check(&rs, state, "SLOT", &res);
    assert_non_null(hit(&res, "raw"));
    assert_non_null(hit(&res, "folded"));
    assert_non_null(hit(&res, "deleet"));

    /* styled letters: only after folding */
    check(&rs, state, "\xf0\x9d\x90\x92\xf0\x9d\x90\x8b\xf0\x9d\x90\x8e"
                      "\xf0\x9d\x90\x93 0812", &res);
    assert_null(hit(&res, "raw"));
    assert_non_null(hit(&res, "folded"));
    assert_non_null(hit(&res, "digits"));

    /* the span is on the raw text: 4 characters of 4 bytes */
    assert_int_equal(res.nspans, 3);
    assert_int_equal(res.spans[0].start, 0);
    assert_int_equal(res.spans[0].end, 16);
    assert_int_equal(res.spans[2].start, 17);
    assert_int_equal(res.spans[2].end, 21);
    assert_string_equal(res.spans[2].rule->name, "digits");

    /* leetspeak: only after deleet */
    check(&rs, state, "sl0t", &res);
    assert_null(hit(&res, "raw"));
    assert_null(hit(&res, "folded"));
    assert_non_null(hit(&res, "deleet"));

    done(&rs);
}


/* every match counts, up to 64 per rule, field and view */
static void
test_regex_count(void **state)
{
    int          i;
    char         text[1024];
    rule_set_t   rs;

    compile(&rs, "rule phone regex \"\\d{4}\" score 1\n"
                 "rule empty regex \"x*\" view raw score 1\n");

    assert_int_equal(count(&rs, state, "1234 5678 90", "phone"), 2);

    text[0] = '\0';
    for (i = 0; i < 100; i++) {
        strcat(text, "1234 ");
    }
    assert_int_equal(count(&rs, state, text, "phone"), 64);

    /* empty matches advance by whole characters */
    assert_int_equal(count(&rs, state, "\xc3\xa9\xc3\xa9", "empty"), 3);

    done(&rs);
}


static void
test_regex_limit(void **state)
{
    char         text[3100];
    cm_result_t  res;
    rule_set_t   rs;

    /* the literals 98 and 99 let the regex run only when one occurs */
    static const char  *rules =
        "rule boom regex \"(a|a)+[.]99|(a|a)+98\" view raw score 20\n";

    memset(text, 'a', 3000);
    strcpy(text + 3000, "! 99");

    compile(&rs, rules);
    check(&rs, state, text, &res);
    assert_ptr_equal(res.limit_rule, &rs.rules->rules[0]);
    assert_int_equal(res.limit_errors, 1);
    assert_null(hit(&res, "boom"));
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "regex limit in rule boom: queue");

    /* without a literal the regex does not run */
    text[3002] = '\0';
    check(&rs, state, text, &res);
    assert_null(res.limit_rule);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    done(&rs);

    text[3002] = '9';
    compile(&rs, "set regex-error ignore\n"
                 "rule boom regex \"(a|a)+[.]99|(a|a)+98\" view raw score 20\n");
    check(&rs, state, text, &res);
    assert_non_null(res.limit_rule);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    done(&rs);
}


/* the same raw text found in several views counts once */
static void
test_spans(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule p words \"slot gacor\", gacor score 1\n");

    /* "𝐒𝐋𝐎𝐓 𝐆𝐀𝐂𝐎𝐑" */
    check(&rs, state, "\xf0\x9d\x90\x92\xf0\x9d\x90\x8b\xf0\x9d\x90\x8e"
                      "\xf0\x9d\x90\x93 \xf0\x9d\x90\x86\xf0\x9d\x90\x80"
                      "\xf0\x9d\x90\x82\xf0\x9d\x90\x8e\xf0\x9d\x90\x91",
          &res);

    assert_int_equal(hit(&res, "p")->count, 2);
    assert_int_equal(res.nspans, 2);
    assert_int_equal(res.spans[0].field, CM_FIELD_TEXT);
    assert_int_equal(res.spans[0].start, 0);
    assert_int_equal(res.spans[0].end, 37);
    assert_int_equal(res.spans[1].start, 17);
    assert_int_equal(res.spans[1].end, 37);

    /* the folded text is kept for the caller */
    assert_true(res.present & CM_FIELD_BIT(CM_FIELD_TEXT));
    assert_int_equal(res.text[CM_FIELD_TEXT].view[CM_VIEW_FOLDED].len, 10);

    done(&rs);
}


static void
test_fields(void **state)
{
    cm_input_t   in;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule fake-staff\n"
                 "    words admin, redaksi\n"
                 "    fields name, email\n"
                 "    score 6\n"
                 "rule bad-agent regex \"curl/\" fields user-agent view raw "
                 "score 2\n");

    memset(&in, 0, sizeof(cm_input_t));
    in.value[CM_FIELD_TEXT] = "hubungi admin";
    in.len[CM_FIELD_TEXT] = 13;

    check_fields(&rs, state, &in, &res);
    assert_int_equal(res.nhits, 0);

    in.value[CM_FIELD_NAME] = "Admin Berita";
    in.len[CM_FIELD_NAME] = 12;
    in.value[CM_FIELD_EMAIL] = "redaksi@example.id";
    in.len[CM_FIELD_EMAIL] = 18;
    in.value[CM_FIELD_USER_AGENT] = "curl/8.0";
    in.len[CM_FIELD_USER_AGENT] = 8;

    check_fields(&rs, state, &in, &res);
    assert_int_equal(hit(&res, "fake-staff")->count, 2);
    assert_non_null(hit(&res, "bad-agent"));
    assert_int_equal(res.score, 8);

    /* spans by field order: name, email, user-agent */
    assert_int_equal(res.nspans, 3);
    assert_int_equal(res.spans[0].field, CM_FIELD_NAME);
    assert_int_equal(res.spans[1].field, CM_FIELD_EMAIL);
    assert_int_equal(res.spans[1].start, 0);
    assert_int_equal(res.spans[1].end, 7);
    assert_int_equal(res.spans[2].field, CM_FIELD_USER_AGENT);

    done(&rs);
}


static void
test_invalid_utf8(void **state)
{
    cm_alloc_t   a;
    cm_field_e   bad;
    cm_input_t   in;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule w words gacor score 1\n");
    a = cm_test_alloc(state);

    memset(&in, 0, sizeof(cm_input_t));
    in.value[CM_FIELD_TEXT] = "ok";
    in.len[CM_FIELD_TEXT] = 2;

    /* metadata no rule reads is not checked */
    in.value[CM_FIELD_USER_AGENT] = "agent \xff";
    in.len[CM_FIELD_USER_AGENT] = 7;
    assert_int_equal(cm_engine_match(rs.engine, &in, &a, &res, &bad),
                     CM_ENGINE_OK);

    /* a body field is, even when no rule reads it */
    in.value[CM_FIELD_NAME] = "Bud\xc3";
    in.len[CM_FIELD_NAME] = 4;
    assert_int_equal(cm_engine_match(rs.engine, &in, &a, &res, &bad),
                     CM_ENGINE_INVALID_UTF8);
    assert_int_equal(bad, CM_FIELD_NAME);

    in.value[CM_FIELD_TEXT] = "gacor \xed\xa0\x80";     /* a surrogate */
    in.len[CM_FIELD_TEXT] = 9;
    assert_int_equal(cm_engine_match(rs.engine, &in, &a, &res, &bad),
                     CM_ENGINE_INVALID_UTF8);
    assert_int_equal(bad, CM_FIELD_TEXT);

    done(&rs);
}


static void
test_compile_errors(void **state)
{
    char          err[256], line[160];
    rule_set_t    rs;
    cm_rules_t    rules;
    cm_word_t     word;
    cm_rule_def_t def;
    cm_engine_t  *engine;

    (void) state;

    assert_int_equal(load(&rs, "rule fine words ok score 1\n"
                               "\n"
                               "rule broken\n"
                               "    score 1\n"
                               "    regex \"(((\"\n"), -1);
    snprintf(line, sizeof(line), "%s:5: rule broken: regex error at offset 3:",
             rs.path);
    assert_memory_equal(rs.err, line, strlen(line));
    assert_non_null(strstr(rs.err, "missing closing parenthesis"));
    done(&rs);

    /* words the parser let through, built by hand */
    memset(&rules, 0, sizeof(cm_rules_t));
    memset(&def, 0, sizeof(cm_rule_def_t));
    memset(&word, 0, sizeof(cm_word_t));

    word.text = "--!";
    word.len = 3;
    word.line = 7;
    def.name = "punct";
    def.file = "hand.rules";
    def.line = 6;
    def.kind = CM_RULE_WORDS;
    def.words = &word;
    def.nwords = 1;
    def.fields = CM_FIELD_BIT(CM_FIELD_TEXT);
    def.views = CM_RULE_VIEW_FOLDED | CM_RULE_VIEW_DELEET;
    rules.rules = &def;
    rules.nrules = 1;
    rules.queue_at = 5;
    rules.reject_at = 10;

    engine = cm_engine_compile(&rules, err, sizeof(err));
    assert_null(engine);
    assert_string_equal(err, "hand.rules:7: word \"--!\" has no letters or "
                             "digits");

    /* a word from a words-file is reported there */
    word.file = "lists/terms.txt";
    engine = cm_engine_compile(&rules, err, sizeof(err));
    assert_null(engine);
    assert_memory_equal(err, "lists/terms.txt:7: word", 23);

    word.file = NULL;
    word.text = "ga\xffr";
    word.len = 4;
    engine = cm_engine_compile(&rules, err, sizeof(err));
    assert_null(engine);
    assert_non_null(strstr(err, "hand.rules:7: word"));

    /* word lists only read the folded and deleet views */
    word.text = "gacor";
    word.len = 5;
    def.views = CM_RULE_VIEW_RAW;
    engine = cm_engine_compile(&rules, err, sizeof(err));
    assert_null(engine);
    assert_memory_equal(err, "hand.rules:6: rule punct:", 25);

    def.views = CM_RULE_VIEW_DELEET;
    engine = cm_engine_compile(&rules, err, sizeof(err));
    assert_non_null(engine);
    assert_ptr_equal(cm_engine_rules(engine), &rules);
    assert_true(cm_engine_memory(engine) > 0);
    cm_engine_free(engine);
}


static void
test_rule_names(void **state)
{
    char         buf[16];
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule alpha words satu score 1\n"
                 "rule beta words dua score 1\n"
                 "rule gamma words tiga score 1\n");

    check(&rs, state, "tiga satu", &res);
    assert_int_equal(cm_result_rule_names(&res, NULL, 0), 11);
    assert_int_equal(cm_result_rule_names(&res, buf, sizeof(buf)), 11);
    assert_memory_equal(buf, "alpha,gamma", 11);
    assert_int_equal(cm_result_rule_names(&res, buf, 7), 7);
    assert_memory_equal(buf, "alpha,g", 7);

    check(&rs, state, "nothing", &res);
    assert_int_equal(cm_result_rule_names(&res, buf, sizeof(buf)), 0);
    assert_string_equal(cm_decision_name(CM_DECISION_QUEUE), "queue");

    done(&rs);
}


/* the disguises promoters use, all caught by one word rule */
static void
test_disguised_gambling(void **state)
{
    size_t       i;
    cm_result_t  res;
    rule_set_t   rs;
    static const char  *spam[] = {
        "Slot gacor maxwin hari ini! WA 0812-3456-7890",
        "\xf0\x9d\x90\x92\xf0\x9d\x90\x8b\xf0\x9d\x90\x8e\xf0\x9d\x90\x93 "
        "\xf0\x9d\x90\x86\xf0\x9d\x90\x80\xf0\x9d\x90\x82\xf0\x9d\x90\x8e"
        "\xf0\x9d\x90\x91 maxwin hari ini",
        "s l o t  g a c o r  m a x w i n",
        "sl0t g4c0r m4xw1n hari ini",
        "sl\xe2\x80\x8bot ga\xe2\x80\x8d" "cor max\xe2\x80\x8bwin hari ini",
        "\xd1\x95lot g\xd0\xb0" "cor maxwin hari ini",
        "slooot gaaacor maxwiiin hari ini",
    };

    compile(&rs, "rule judol-vocab\n"
                 "    words \"slot gacor\", maxwin\n"
                 "    score 6\n"
                 "    note \"Gambling vocabulary.\"\n");

    for (i = 0; i < sizeof(spam) / sizeof(spam[0]); i++) {
        check(&rs, state, spam[i], &res);

        if (hit(&res, "judol-vocab") == NULL
            || hit(&res, "judol-vocab")->count != 2)
        {
            fail_msg("not caught twice: %s", spam[i]);
        }

        assert_int_equal(res.decision, CM_DECISION_QUEUE);
        assert_int_equal(res.score, 6);
    }

    check(&rs, state, "Terima kasih beritanya, semoga slotnya cukup", &res);
    assert_int_equal(res.nhits, 0);

    done(&rs);
}


/* --- what Redis knows ----------------------------------------------------- */

/* facts Redis answered with: every counter and window 0 */
static cm_facts_t *
known(cm_facts_t *facts)
{
    memset(facts, 0, sizeof(cm_facts_t));
    facts->known = 1;

    return facts;
}


static void
test_facts_first_time_link(void **state)
{
    char         names[64];
    cm_input_t   in;
    cm_facts_t   f;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule link-count regex \"https?://\" score 1\n"
                 "rule first-time-link\n"
                 "    regex \"https?://|www\\.\"\n"
                 "    when  first-time author\n"
                 "    action queue\n");

    /* matched, waiting for the facts: not a hit yet */
    match(&rs, state, text_input(&in, "baca di https://contoh.id"), &res);
    assert_int_equal(res.nhits, 1);
    assert_int_equal(res.npending, 1);
    assert_int_equal(res.nspans, 1);
    assert_int_equal(res.npending_spans, 1);

    cm_engine_decide(rs.engine, known(&f), &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason,
                        "rule first-time-link: queue (author seen = 0)");
    assert_int_equal(res.nhits, 2);
    assert_int_equal(res.npending, 0);
    assert_int_equal(hit(&res, "first-time-link")->count, 1);
    assert_int_equal(cm_result_rule_names(&res, names, sizeof(names)), 26);
    assert_memory_equal(names, "link-count,first-time-link", 26);

    /* its span joins the others, in order */
    assert_int_equal(res.nspans, 2);
    assert_int_equal(res.spans[0].start, 8);
    assert_int_equal(res.spans[1].start, 8);
    assert_int_equal(res.spans[1].end, 16);
    assert_ptr_equal(res.spans[1].rule, hit(&res, "first-time-link")->rule);

    /* an author seen before; no link; Redis silent (skip by default) */
    f.count[CM_IDENT_AUTHOR][CM_COUNT_SEEN] = 1;
    check_facts(&rs, state, "baca di https://contoh.id", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_null(hit(&res, "first-time-link"));
    assert_int_equal(res.nspans, 1);

    check_facts(&rs, state, "komentar pertama saya", known(&f), &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.nhits, 0);

    check_facts(&rs, state, "lihat www.contoh.id", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);

    done(&rs);
}


/*
 * A trusted author's "action accept" beats a queue by score, not a hard
 * reject; any rejection, or too few approvals, and the score counts again.
 */
static void
test_facts_trusted_author(void **state)
{
    cm_facts_t   f;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule links regex \"https?://\" score 6\n"
                 "rule judol-site words pulauwin action reject\n"
                 "rule trusted-author\n"
                 "    when author approved >= 3, author rejected = 0\n"
                 "    action accept\n");

    known(&f);
    f.count[CM_IDENT_AUTHOR][CM_COUNT_APPROVED] = 3;

    check_facts(&rs, state, "sumber: https://bps.go.id", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.score, 6);
    assert_string_equal(res.reason, "rule trusted-author: accept (author "
                                    "approved >= 3, author rejected = 0)");
    assert_int_equal(hit(&res, "trusted-author")->count, 0);

    check_facts(&rs, state, "main di pulauwin https://x.id", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "rule judol-site: reject");
    assert_non_null(hit(&res, "trusted-author"));

    f.count[CM_IDENT_AUTHOR][CM_COUNT_REJECTED] = 1;
    check_facts(&rs, state, "sumber: https://bps.go.id", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_null(hit(&res, "trusted-author"));

    f.count[CM_IDENT_AUTHOR][CM_COUNT_REJECTED] = 0;
    f.count[CM_IDENT_AUTHOR][CM_COUNT_APPROVED] = 2;
    check_facts(&rs, state, "sumber: https://bps.go.id", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);

    /* a rule on facts alone fires without any text matching */
    f.count[CM_IDENT_AUTHOR][CM_COUNT_APPROVED] = 40;
    check_facts(&rs, state, "setuju", &f, &res);
    assert_int_equal(res.nhits, 1);
    assert_int_equal(res.nspans, 0);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);

    done(&rs);
}


/* stricter thresholds for some articles (election or SARA coverage) */
static void
test_article_thresholds(void **state)
{
    cm_input_t   in;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "threshold queue 3 for article 101, \"pemilu-7\"\n"
                 "threshold reject 6 for article 101\n"
                 "rule tautan words tautan score 4\n"
                 "rule promo words promo score 3\n");

    check_facts(&rs, state, "baca tautan", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);

    text_input(&in, "baca tautan");
    in.value[CM_FIELD_ARTICLE] = "pemilu-7";
    in.len[CM_FIELD_ARTICLE] = 8;
    check_fields_facts(&rs, state, &in, NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "score 4 >= queue 3 (article pemilu-7)");

    text_input(&in, "baca tautan promo");
    in.value[CM_FIELD_ARTICLE] = "101";
    in.len[CM_FIELD_ARTICLE] = 3;
    check_fields_facts(&rs, state, &in, NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "score 7 >= reject 6 (article 101)");

    /* another article keeps the set's thresholds: not a prefix match */
    in.value[CM_FIELD_ARTICLE] = "1010";
    in.len[CM_FIELD_ARTICLE] = 4;
    check_fields_facts(&rs, state, &in, NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "score 7 >= queue 5");

    done(&rs);
}


/* a text in an article and a section (either may be NULL) */
static void
check_in(rule_set_t *rs, void **state, const char *text, const char *article,
    const char *section, cm_result_t *res)
{
    cm_input_t  in;

    text_input(&in, text);
    in.value[CM_FIELD_ARTICLE] = article;
    in.len[CM_FIELD_ARTICLE] = article ? strlen(article) : 0;
    in.value[CM_FIELD_SECTION] = section;
    in.len[CM_FIELD_SECTION] = section ? strlen(section) : 0;
    check_fields_facts(rs, state, &in, NULL, res);
}


/*
 * Stricter sections: the section's thresholds, then the article's over them
 * (an article is more specific); a section and an article of the same name
 * are not confused.
 */
static void
test_section_thresholds(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "threshold queue 3 for section pemilu, politik\n"
                 "threshold reject 6 for section pemilu\n"
                 "threshold queue 2 for article 101\n"
                 "threshold queue 4 for article pemilu\n"
                 "rule tautan words tautan score 3\n"
                 "rule promo words promo score 3\n"
                 "rule sara words sara fields section score 1\n");

    check_facts(&rs, state, "baca tautan", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_string_equal(res.reason, "score 3 < queue 5");

    check_in(&rs, state, "baca tautan", NULL, "politik", &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "score 3 >= queue 3 (section politik)");

    /* pemilu: queue 3 and reject 6 */
    check_in(&rs, state, "baca tautan promo", NULL, "pemilu", &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "score 6 >= reject 6 (section pemilu)");

    /* a section named like an article is not that article */
    check_in(&rs, state, "baca tautan", "politik", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);

    /* article 101 in pemilu: its queue 2, the section's reject 6 */
    check_in(&rs, state, "baca tautan", "101", "pemilu", &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "score 3 >= queue 2 (article 101)");

    check_in(&rs, state, "baca tautan promo", "101", "pemilu", &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "score 6 >= reject 6 (article 101)");

    /* the article overrides the section's queue upwards too */
    check_in(&rs, state, "baca tautan", "pemilu", "pemilu", &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_string_equal(res.reason, "score 3 < queue 4 (article pemilu)");

    /* rules can read the section as a field */
    check_in(&rs, state, "baca tautan", NULL, "sara", &res);
    assert_int_equal(res.score, 4);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);

    done(&rs);
}


/* a rule for a spam wave stops deciding at its "expires", like a shadow */
static void
test_expires(void **state)
{
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule past words sultanwin action reject "
                 "expires 2020-01-01\n"
                 "rule past-score words sultanwin score 7 "
                 "expires 2020-01-01T08:30\n"
                 "rule future words megawin action reject "
                 "expires 2099-12-31T23:59\n");

    check_facts(&rs, state, "main di sultanwin", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.score, 0);
    assert_int_equal(res.nhits, 2);     /* still counted, as shadows are */

    check_facts(&rs, state, "main di megawin", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);

    done(&rs);
}


/* a moderator's block and trust, as check.lua reports them */
static void
test_facts_moderators(void **state)
{
    cm_facts_t   f;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule link regex \"https?://\" score 5\n"
                 "rule blocked when author blocked = 1 action reject\n"
                 "rule blocked-net when network blocked = 1 action reject\n"
                 "rule trusted when author trusted = 1 score -5\n");

    known(&f);
    check_facts(&rs, state, "baca https://example.org", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);

    f.count[CM_IDENT_AUTHOR][CM_COUNT_TRUSTED] = 1;
    check_facts(&rs, state, "baca https://example.org", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.score, 0);

    f.count[CM_IDENT_NETWORK][CM_COUNT_BLOCKED] = 1;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "rule blocked-net: reject (network "
                                    "blocked = 1)");

    f.count[CM_IDENT_NETWORK][CM_COUNT_BLOCKED] = 0;
    f.count[CM_IDENT_AUTHOR][CM_COUNT_BLOCKED] = 1;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "rule blocked: reject (author "
                                    "blocked = 1)");

    done(&rs);
}


static void
test_facts_rejections(void **state)
{
    cm_facts_t   f;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule repeat-author when author rejected-24h >= 2 "
                 "action reject\n"
                 "rule repeat-network when network rejected-24h >= 2 "
                 "action queue\n"
                 "rule quiet-ip when ip seen < 1, ip queued != 0 score 2\n");

    known(&f);
    f.count[CM_IDENT_AUTHOR][CM_COUNT_REJECTED_24H] = 2;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "rule repeat-author: reject (author "
                                    "rejected-24h >= 2)");

    f.count[CM_IDENT_AUTHOR][CM_COUNT_REJECTED_24H] = 1;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.nhits, 0);

    f.count[CM_IDENT_NETWORK][CM_COUNT_REJECTED_24H] = 3;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);

    f.count[CM_IDENT_AUTHOR][CM_COUNT_REJECTED_24H] = 5;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_int_equal(res.nhits, 2);

    /* <, != and the counters of each identity apart */
    known(&f);
    f.count[CM_IDENT_IP][CM_COUNT_QUEUED] = 1;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.score, 2);
    f.count[CM_IDENT_IP][CM_COUNT_SEEN] = 1;
    check_facts(&rs, state, "halo", &f, &res);
    assert_int_equal(res.score, 0);

    done(&rs);
}


static void
test_facts_limits(void **state)
{
    size_t              n;
    cm_facts_t          f;
    cm_result_t         res;
    rule_set_t          rs;
    const cm_window_t  *w;

    compile(&rs, "rule flood-author limit author 10/60s action queue\n"
                 "rule swarm limit text 4/10m action reject\n"
                 "rule flood-ip limit ip 10/1m score 3\n");

    n = cm_engine_windows(rs.engine, &w);
    assert_int_equal(n, 3);
    assert_int_equal(w[0].ident, CM_IDENT_AUTHOR);
    assert_int_equal(w[0].ms, 60000);
    assert_int_equal(w[1].ident, CM_IDENT_TEXT);
    assert_int_equal(w[1].ms, 600000);
    assert_int_equal(w[2].ident, CM_IDENT_IP);
    assert_int_equal(w[2].ms, 60000);

    /* more than N, this comment included */
    known(&f);
    f.window[0] = 11;
    check_facts(&rs, state, "komentar", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "rule flood-author: queue (limit author "
                                    "10/1m: 11)");

    f.window[0] = 10;
    check_facts(&rs, state, "komentar", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.nhits, 0);

    /* the same text across the site */
    f.window[1] = 5;
    check_facts(&rs, state, "komentar", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_REJECT);
    assert_string_equal(res.reason, "rule swarm: reject (limit text 4/10m: "
                                    "5)");

    f.window[1] = 4;
    f.window[2] = 30;
    check_facts(&rs, state, "komentar", &f, &res);
    assert_int_equal(res.decision, CM_DECISION_ACCEPT);
    assert_int_equal(res.score, 3);

    done(&rs);
}


static void
test_facts_when_unknown(void **state)
{
    cm_facts_t   f;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule link-new-match regex \"https?://\"\n"
                 "    when first-time author\n"
                 "    when-unknown match\n"
                 "    action queue\n"
                 "rule link-new-skip regex \"https?://\"\n"
                 "    when first-time author\n"
                 "    score 7\n"
                 "rule flood limit author 3/60s when-unknown match score 2\n");

    check_facts(&rs, state, "https://x.id", NULL, &res);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "rule link-new-match: queue (reputation "
                                    "unknown)");
    assert_non_null(hit(&res, "link-new-match"));
    assert_null(hit(&res, "link-new-skip"));
    assert_int_equal(res.score, 2);

    /* facts Redis did not vouch for are no facts */
    memset(&f, 0, sizeof(cm_facts_t));
    f.window[0] = 1;
    check_facts(&rs, state, "https://x.id", &f, &res);
    assert_null(hit(&res, "link-new-skip"));
    assert_non_null(hit(&res, "flood"));

    f.known = 1;
    check_facts(&rs, state, "https://x.id", &f, &res);
    assert_non_null(hit(&res, "link-new-match"));
    assert_non_null(hit(&res, "link-new-skip"));
    assert_null(hit(&res, "flood"));
    assert_int_equal(res.score, 7);

    /* without content: the policy alone */
    check_facts(&rs, state, "tanpa tautan", NULL, &res);
    assert_int_equal(res.nhits, 1);
    assert_int_equal(res.score, 2);

    done(&rs);
}


static void
test_facts_windows(void **state)
{
    int                 i;
    char                text[2048], line[128];
    size_t              n, at;
    rule_set_t          rs;
    const cm_window_t  *w;

    (void) state;

    compile(&rs, "rule plain words x score 1\n");
    assert_int_equal(cm_engine_windows(rs.engine, &w), 0);
    done(&rs);

    /* one window per (identity, length), in the order rules name them */
    compile(&rs, "rule a limit ip 5/1h action queue\n"
                 "rule b words gacor limit author 2/60s score 2\n"
                 "rule c limit ip 50/60m action reject\n"
                 "rule d limit author 9/1m when first-time author score 1\n"
                 "rule e limit network 5/60s action queue\n"
                 "rule f limit author 3/3600s action queue\n");

    assert_int_equal(cm_engine_windows(rs.engine, NULL), 4);
    n = cm_engine_windows(rs.engine, &w);
    assert_int_equal(n, 4);
    assert_int_equal(w[0].ident, CM_IDENT_IP);
    assert_int_equal(w[0].ms, 3600000);
    assert_int_equal(w[1].ident, CM_IDENT_AUTHOR);
    assert_int_equal(w[1].ms, 60000);
    assert_int_equal(w[2].ident, CM_IDENT_NETWORK);
    assert_int_equal(w[3].ident, CM_IDENT_AUTHOR);
    assert_int_equal(w[3].ms, 3600000);
    done(&rs);

    /* CM_ENGINE_MAX_WINDOWS, and one more */
    at = 0;
    for (i = 1; i <= CM_ENGINE_MAX_WINDOWS + 1; i++) {
        at += snprintf(text + at, sizeof(text) - at,
                       "rule r%d limit author 5/%ds action queue\n", i, i);
    }

    assert_int_equal(load(&rs, text), -1);
    snprintf(line, sizeof(line), "%s:%d: too many different limit windows "
             "(max %d)", rs.path, CM_ENGINE_MAX_WINDOWS + 1,
             CM_ENGINE_MAX_WINDOWS);
    assert_string_equal(rs.err, line);
    done(&rs);

    text[at - strlen("rule r17 limit author 5/17s action queue\n")] = '\0';
    compile(&rs, text);
    assert_int_equal(cm_engine_windows(rs.engine, NULL),
                     CM_ENGINE_MAX_WINDOWS);
    done(&rs);
}


/* a rule with content and conditions fires on both; deciding twice is safe */
static void
test_facts_content_and_conditions(void **state)
{
    cm_facts_t   f;
    cm_result_t  res;
    rule_set_t   rs;

    compile(&rs, "rule vocab words gacor score 2\n"
                 "rule vocab-new words gacor, maxwin\n"
                 "    min-count 2\n"
                 "    when first-time author\n"
                 "    score 4\n"
                 "rule vocab-new-trial words maxwin when first-time author "
                 "action reject shadow\n");

    check_facts(&rs, state, "gacor maxwin", known(&f), &res);
    assert_int_equal(res.nhits, 3);
    assert_string_equal(res.hits[0].rule->name, "vocab");
    assert_string_equal(res.hits[1].rule->name, "vocab-new");
    assert_string_equal(res.hits[2].rule->name, "vocab-new-trial");
    assert_int_equal(res.score, 6);
    assert_int_equal(res.decision, CM_DECISION_QUEUE);
    assert_string_equal(res.reason, "score 6 >= queue 5");
    assert_int_equal(res.nspans, 4);
    assert_int_equal(res.spans[0].start, 0);
    assert_int_equal(res.spans[1].start, 0);
    assert_int_equal(res.spans[2].start, 6);
    assert_int_equal(res.spans[3].start, 6);

    cm_engine_decide(rs.engine, &f, &res);
    assert_int_equal(res.nhits, 3);
    assert_int_equal(res.nspans, 4);
    assert_int_equal(res.score, 6);

    /* content short of min-count: conditions alone do not fire it */
    check_facts(&rs, state, "gacor", &f, &res);
    assert_int_equal(res.nhits, 1);
    assert_int_equal(res.score, 2);

    f.count[CM_IDENT_AUTHOR][CM_COUNT_SEEN] = 4;
    check_facts(&rs, state, "gacor maxwin", &f, &res);
    assert_int_equal(res.nhits, 1);
    assert_int_equal(res.nspans, 1);
    assert_int_equal(res.score, 2);

    done(&rs);
}


static int
teardown(void **state)
{
    (void) state;
    cm_engine_thread_cleanup();
    cm_regex_thread_cleanup();
    return 0;
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_word_boundaries),
        cm_test(test_generations),
        cm_test(test_phrases),
        cm_test(test_min_count),
        cm_test(test_shadow),
        cm_test(test_hard_actions),
        cm_test(test_thresholds),
        cm_test(test_regex_views),
        cm_test(test_regex_count),
        cm_test(test_regex_limit),
        cm_test(test_spans),
        cm_test(test_fields),
        cm_test(test_invalid_utf8),
        cm_test(test_compile_errors),
        cm_test(test_rule_names),
        cm_test(test_disguised_gambling),
        cm_test(test_facts_first_time_link),
        cm_test(test_facts_trusted_author),
        cm_test(test_facts_rejections),
        cm_test(test_facts_moderators),
        cm_test(test_expires),
        cm_test(test_article_thresholds),
        cm_test(test_section_thresholds),
        cm_test(test_facts_limits),
        cm_test(test_facts_when_unknown),
        cm_test(test_facts_windows),
        cm_test(test_facts_content_and_conditions),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
