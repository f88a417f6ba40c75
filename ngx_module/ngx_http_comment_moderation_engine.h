/*
 * The rule engine: a rule set compiled once (word lists into one Aho-Corasick
 * automaton over the compact views, regexes JIT-compiled with pcre2 behind a
 * literal prefilter), then matched against a comment's normalized fields and
 * turned into a decision with its explanation.
 *
 * A compiled engine is immutable: many requests may use it at once, and a
 * new rule set is swapped in by compiling a new engine.
 *
 * Matching and deciding are two steps so that facts learned elsewhere (Redis
 * reputation and rate counters) can take part in the decision.
 *
 * Plain C, no nginx types; unit-tested and fuzzed alone.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_ENGINE_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_ENGINE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_comment_moderation_alloc.h"
#include "ngx_http_comment_moderation_normalize.h"
#include "ngx_http_comment_moderation_rules.h"


/* pcre2 limits that keep a catastrophic pattern from stalling a worker */
#define CM_REGEX_MATCH_LIMIT   100000
#define CM_REGEX_DEPTH_LIMIT   10000
#define CM_REGEX_JIT_STACK     (256 * 1024)


typedef struct cm_engine_s  cm_engine_t;


typedef enum {
    CM_DECISION_ACCEPT = 0,
    CM_DECISION_QUEUE,
    CM_DECISION_REJECT
} cm_decision_e;


/* The distinct sliding windows the rules' limits need, each counted by Redis. */
#define CM_ENGINE_MAX_WINDOWS  16

typedef struct {
    cm_ident_e       ident;
    unsigned         ms;
} cm_window_t;


/* What Redis knew about the comment's identities when it was judged. */
typedef struct {
    unsigned         known;     /* 0: Redis did not answer; rules that ask
                                   follow their "when-unknown" */
    long             count[CM_IDENT_N][CM_COUNT_N];
    unsigned         window[CM_ENGINE_MAX_WINDOWS];  /* comments in each of
                                   cm_engine_windows(), this one included */
} cm_facts_t;


/* One comment, by role; a role the comment lacks has value NULL. */
typedef struct {
    const char      *value[CM_FIELD_N];
    size_t           len[CM_FIELD_N];
} cm_input_t;


typedef struct {
    const cm_rule_def_t  *rule;
    cm_field_e            field;
    uint32_t              start;    /* raw byte span in that field */
    uint32_t              end;
} cm_span_t;


/* A rule that fired, once per rule. */
typedef struct {
    const cm_rule_def_t  *rule;
    unsigned              count;        /* matches found (>= rule->min_count;
                                           0 for a rule without content) */
    int                   contribution; /* to the score; 0 for hard actions
                                           and shadow rules */
} cm_hit_t;


typedef struct {
    cm_text_t             text[CM_FIELD_N];  /* normalized fields */
    unsigned              present;           /* CM_FIELD_BIT()s normalized */

    cm_hit_t             *hits;
    size_t                nhits;
    cm_span_t            *spans;             /* every match, by field order */
    size_t                nspans;

    /* rules with "when" or "limit" whose content matched (or that have
       none), until cm_engine_decide() tests them against the facts: the
       hits after hits[nhits], their spans after spans[nspans] */
    size_t                npending;
    size_t                npending_spans;

    const cm_rule_def_t  *limit_rule;        /* first regex that hit a pcre2
                                                limit, NULL if none */
    unsigned              limit_errors;

    const char           *article;           /* the input's, for the
                                                articles' thresholds */
    size_t                article_len;
    const char           *section;           /* the input's, for the
                                                sections' thresholds */
    size_t                section_len;

    int                   score;             /* sum of contributions */
    cm_decision_e         decision;
    const char           *reason;            /* "score 12 >= reject 10",
                                                "rule judol-site: reject":
                                                static, or in reason_buf */
    char                  reason_buf[128];   /* so do not copy a result
                                                after deciding */
} cm_result_t;


typedef enum {
    CM_ENGINE_OK = 0,
    CM_ENGINE_INVALID_UTF8,     /* a field is not valid UTF-8 */
    CM_ENGINE_NO_MEMORY
} cm_engine_rc_e;


/*
 * Compiles a parsed rule set; NULL on error with "FILE:LINE: reason" in err
 * (e.g. a regex that does not compile, with pcre2's message and offset).
 * The engine keeps pointers into "rules": free the rules after the engine.
 */
cm_engine_t *cm_engine_compile(const cm_rules_t *rules, char *err,
    size_t err_len);

void cm_engine_free(cm_engine_t *engine);

const cm_rules_t *cm_engine_rules(const cm_engine_t *engine);

/* Bytes the compiled engine holds (automata, regexes), the rules aside. */
size_t cm_engine_memory(const cm_engine_t *engine);

/*
 * Normalizes the input's fields and matches every rule (the rules with
 * "when" or "limit" wait in res->npending for decide).  On
 * CM_ENGINE_INVALID_UTF8, *bad_field names the field.  Thread-compatible:
 * the engine is only read.
 */
cm_engine_rc_e cm_engine_match(const cm_engine_t *engine, const cm_input_t *in,
    const cm_alloc_t *a, cm_result_t *res, cm_field_e *bad_field);

/*
 * cm_engine_match() in its two steps, for measuring them apart: normalize
 * (starts the result) and scan the normalized fields.
 */
cm_engine_rc_e cm_engine_normalize(const cm_engine_t *engine,
    const cm_input_t *in, const cm_alloc_t *a, cm_result_t *res,
    cm_field_e *bad_field);
cm_engine_rc_e cm_engine_scan(const cm_engine_t *engine, const cm_alloc_t *a,
    cm_result_t *res);

/*
 * Adds the waiting rules whose conditions and limits hold under "facts"
 * (what Redis knew about the comment's identities; NULL when Redis is not
 * configured or did not answer: each rule's "when-unknown" answers), then
 * hard actions, then thresholds: sets res->decision, score and reason.
 * Call once per result, after match.
 */
void cm_engine_decide(const cm_engine_t *engine, const cm_facts_t *facts,
    cm_result_t *res);

/*
 * The distinct (identity, window) pairs the rules' limits need, in a fixed
 * order: facts->window[i] counts windows[i].  Returns their number; windows
 * may be NULL.
 */
size_t cm_engine_windows(const cm_engine_t *engine,
    const cm_window_t **windows);

/*
 * Frees the calling thread's matching scratch (marks per rule and regex,
 * kept between requests; tools, tests).
 */
void cm_engine_thread_cleanup(void);

const char *cm_decision_name(cm_decision_e d);   /* "accept", "queue", "reject" */

/*
 * Comma-separated names of the non-shadow rules that fired, at most
 * "len" bytes; returns the length written (no NUL).  With buf NULL, returns
 * the length the whole list needs.
 */
size_t cm_result_rule_names(const cm_result_t *res, char *buf, size_t len);


#endif /* _NGX_HTTP_COMMENT_MODERATION_ENGINE_H_INCLUDED_ */
