/*
 * The engine's second step: a match result and what Redis knew about the
 * comment's identities into a decision and its reason.  The rules with
 * "when" or "limit" that matched wait in the result until here; those whose
 * conditions and limit hold join the hits (rules/README.md, "Reputation and
 * flood rules").
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_decide.h"


static void cm_decide_score(const cm_rules_t *rules, cm_result_t *res);
static void cm_decide_facts(const cm_engine_t *engine,
    const cm_facts_t *facts, cm_result_t *res);
static int cm_decide_hold(const cm_rule_def_t *rule, size_t window,
    const cm_facts_t *facts);
static int cm_decide_compare(long a, cm_op_e op, long b);
static int cm_decide_promoted(const cm_result_t *res, size_t from,
    const cm_rule_def_t *rule);
static int cm_decide_hit_cmp(const void *a, const void *b);
static void cm_decide_explain(const cm_engine_t *engine,
    const cm_rule_def_t *rule, const cm_facts_t *facts, char *buf,
    size_t len);
static void cm_decide_window_text(unsigned ms, char *buf, size_t len);


void
cm_engine_decide(const cm_engine_t *engine, const cm_facts_t *facts,
    cm_result_t *res)
{
    char                  why[96];
    size_t                i;
    const cm_rules_t     *rules;
    const cm_rule_def_t  *hard, *rule;
    static const char    *names[] = { "score", "accept", "queue", "reject" };

    rules = cm_engine_rules(engine);

    cm_decide_facts(engine, facts, res);

    hard = NULL;
    res->score = 0;

    for (i = 0; i < res->nhits; i++) {
        rule = res->hits[i].rule;
        res->score += res->hits[i].contribution;

        /* reject > queue > accept, the first of a kind wins */
        if (!cm_rule_silent(rule) && rule->action != CM_ACTION_SCORE
            && (hard == NULL || rule->action > hard->action))
        {
            hard = rule;
        }
    }

    if (hard != NULL) {
        res->decision = (hard->action == CM_ACTION_REJECT) ? CM_DECISION_REJECT
                        : (hard->action == CM_ACTION_QUEUE) ? CM_DECISION_QUEUE
                        : CM_DECISION_ACCEPT;
        why[0] = '\0';

        if (cm_rule_has_facts(hard)) {
            cm_decide_explain(engine, hard, facts, why, sizeof(why));
        }

        snprintf(res->reason_buf, sizeof(res->reason_buf),
                 "rule %s: %s%s%s%s", hard->name, names[hard->action],
                 why[0] ? " (" : "", why, why[0] ? ")" : "");

    } else {
        cm_decide_score(rules, res);
    }

    /* a rule that could not run might have rejected: not an accept */
    if (res->decision == CM_DECISION_ACCEPT && res->limit_rule != NULL
        && rules->regex_error == CM_REGEX_ERROR_QUEUE)
    {
        res->decision = CM_DECISION_QUEUE;
        snprintf(res->reason_buf, sizeof(res->reason_buf),
                 "regex limit in rule %s: queue", res->limit_rule->name);
    }

    res->reason = res->reason_buf;
}


/*
 * The waiting rules whose facts hold join the hits, their spans the spans,
 * both in the order they would have had without facts.  Nothing waits
 * afterwards: deciding again changes nothing.
 */
static void
cm_decide_facts(const cm_engine_t *engine, const cm_facts_t *facts,
    cm_result_t *res)
{
    size_t                i, from, end, nwindows;
    const cm_window_t    *windows;
    const cm_rule_def_t  *rule;

    nwindows = cm_engine_windows(engine, &windows);
    from = res->nhits;
    end = res->nhits + res->npending;

    for (i = from; i < end; i++) {
        rule = res->hits[i].rule;

        if (cm_decide_hold(rule, cm_window_find(windows, nwindows, rule),
                           facts))
        {
            res->hits[res->nhits++] = res->hits[i];
        }
    }

    end = res->nspans + res->npending_spans;

    for (i = res->nspans; i < end; i++) {
        if (cm_decide_promoted(res, from, res->spans[i].rule)) {
            res->spans[res->nspans++] = res->spans[i];
        }
    }

    res->npending = 0;
    res->npending_spans = 0;

    if (res->nhits > from) {
        qsort(res->hits, res->nhits, sizeof(cm_hit_t), cm_decide_hit_cmp);
        qsort(res->spans, res->nspans, sizeof(cm_span_t), cm_span_cmp);
    }
}


/* whether the rule is among the hits from hits[from] on */
static int
cm_decide_promoted(const cm_result_t *res, size_t from,
    const cm_rule_def_t *rule)
{
    size_t  i;

    for (i = from; i < res->nhits; i++) {
        if (res->hits[i].rule == rule) {
            return 1;
        }
    }

    return 0;
}


static int
cm_decide_hold(const cm_rule_def_t *rule, size_t window,
    const cm_facts_t *facts)
{
    size_t                 i;
    const cm_condition_t  *c;

    if (facts == NULL || !facts->known) {
        return rule->unknown_match;
    }

    for (i = 0; i < rule->nconditions; i++) {
        c = &rule->conditions[i];

        if (!cm_decide_compare(facts->count[c->ident][c->count], c->op,
                               c->value))
        {
            return 0;
        }
    }

    return rule->limit_max == 0
           || (window < CM_ENGINE_MAX_WINDOWS
               && facts->window[window] > rule->limit_max);
}


static int
cm_decide_compare(long a, cm_op_e op, long b)
{
    switch (op) {

    case CM_OP_LT:
        return a < b;

    case CM_OP_LE:
        return a <= b;

    case CM_OP_EQ:
        return a == b;

    case CM_OP_NE:
        return a != b;

    case CM_OP_GE:
        return a >= b;

    default:
        return a > b;
    }
}


/* in rule order (the rules sit in one array) */
static int
cm_decide_hit_cmp(const void *a, const void *b)
{
    const cm_hit_t  *x = a, *y = b;

    return (x->rule > y->rule) - (x->rule < y->rule);
}


static void
cm_decide_explain(const cm_engine_t *engine, const cm_rule_def_t *rule,
    const cm_facts_t *facts, char *buf, size_t len)
{
    int                    n;
    char                   w[16];
    size_t                 i, at, nwindows, window;
    const cm_window_t     *windows;
    const cm_condition_t  *c;

    if (facts == NULL || !facts->known) {
        snprintf(buf, len, "reputation unknown");
        return;
    }

    at = 0;

    for (i = 0; i < rule->nconditions && at < len; i++) {
        c = &rule->conditions[i];
        n = snprintf(buf + at, len - at, "%s%s %s %s %ld", i ? ", " : "",
                     cm_ident_name(c->ident), cm_count_name(c->count),
                     cm_op_name(c->op), c->value);
        at += (n > 0) ? (size_t) n : 0;
    }

    nwindows = cm_engine_windows(engine, &windows);
    window = cm_window_find(windows, nwindows, rule);

    if (rule->limit_max > 0 && at < len && window < nwindows) {
        cm_decide_window_text(rule->limit_ms, w, sizeof(w));
        snprintf(buf + at, len - at, "%slimit %s %u/%s: %u", at ? ", " : "",
                 cm_ident_name(rule->limit_ident), rule->limit_max, w,
                 facts->window[window]);
    }
}


/* as the rule file would write it: 90s, 10m, 1h, 1d */
static void
cm_decide_window_text(unsigned ms, char *buf, size_t len)
{
    size_t              i;
    static const struct {
        unsigned        ms;
        char            unit;
    } units[] = {
        { 24 * 3600 * 1000, 'd' }, { 3600 * 1000, 'h' }, { 60 * 1000, 'm' },
        { 1000, 's' }
    };

    for (i = 0; i + 1 < sizeof(units) / sizeof(units[0]); i++) {
        if (ms % units[i].ms == 0) {
            break;
        }
    }

    snprintf(buf, len, "%u%c", ms / units[i].ms, units[i].unit);
}


size_t
cm_window_find(const cm_window_t *windows, size_t n,
    const cm_rule_def_t *rule)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (windows[i].ident == rule->limit_ident
            && windows[i].ms == rule->limit_ms)
        {
            break;
        }
    }

    return i;
}


const char *
cm_decision_name(cm_decision_e d)
{
    switch (d) {

    case CM_DECISION_QUEUE:
        return "queue";

    case CM_DECISION_REJECT:
        return "reject";

    default:
        return "accept";
    }
}


/*
 * The override of a section or article named in "threshold ... for", or
 * NULL.  An article's entry is looked up among the articles only, a
 * section's among the sections.
 */
static const cm_article_threshold_t *
cm_decide_override(const cm_rules_t *rules, unsigned section,
    const char *value, size_t len)
{
    size_t                         i;
    const cm_article_threshold_t  *a;

    if (value == NULL) {
        return NULL;
    }

    for (i = 0; i < rules->narticles; i++) {
        a = &rules->articles[i];

        if (a->section == section && a->len == len
            && memcmp(a->article, value, len) == 0)
        {
            return a;
        }
    }

    return NULL;
}


/*
 * The thresholds: the set's, then the comment's section's, then its
 * article's: the article is the more specific, so a threshold it sets wins
 * over the section's; one it leaves alone comes from the section.
 */
static void
cm_decide_score(const cm_rules_t *rules, cm_result_t *res)
{
    int                            queue_at, reject_at;
    char                           which[64];
    const cm_article_threshold_t  *a, *s;

    queue_at = rules->queue_at;
    reject_at = rules->reject_at;
    which[0] = '\0';

    s = cm_decide_override(rules, 1, res->section, res->section_len);
    a = cm_decide_override(rules, 0, res->article, res->article_len);

    if (s != NULL) {
        queue_at = s->queue_at ? s->queue_at : queue_at;
        reject_at = s->reject_at ? s->reject_at : reject_at;
        snprintf(which, sizeof(which), " (section %.40s)", s->article);
    }

    if (a != NULL) {
        queue_at = a->queue_at ? a->queue_at : queue_at;
        reject_at = a->reject_at ? a->reject_at : reject_at;
        snprintf(which, sizeof(which), " (article %.40s)", a->article);
    }

    if (res->score >= reject_at) {
        res->decision = CM_DECISION_REJECT;
        snprintf(res->reason_buf, sizeof(res->reason_buf),
                 "score %d >= reject %d%s", res->score, reject_at, which);

    } else if (res->score >= queue_at) {
        res->decision = CM_DECISION_QUEUE;
        snprintf(res->reason_buf, sizeof(res->reason_buf),
                 "score %d >= queue %d%s", res->score, queue_at, which);

    } else {
        res->decision = CM_DECISION_ACCEPT;
        snprintf(res->reason_buf, sizeof(res->reason_buf),
                 "score %d < queue %d%s", res->score, queue_at, which);
    }
}


size_t
cm_result_rule_names(const cm_result_t *res, char *buf, size_t len)
{
    size_t                i, n, at, need;
    const cm_rule_def_t  *rule;

    at = 0;
    need = 0;

    for (i = 0; i < res->nhits; i++) {
        rule = res->hits[i].rule;

        if (cm_rule_silent(rule)) {
            continue;
        }

        n = strlen(rule->name);

        if (need > 0) {
            if (buf != NULL && at < len) {
                buf[at++] = ',';
            }
            need++;
        }

        need += n;

        if (buf != NULL) {
            n = (n < len - at) ? n : len - at;
            memcpy(buf + at, rule->name, n);
            at += n;
        }
    }

    return buf == NULL ? need : at;
}
