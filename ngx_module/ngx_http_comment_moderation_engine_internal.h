/*
 * What the engine's files share: the compiled engine and one request's
 * matching state.  Not for use outside the engine.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_ENGINE_INTERNAL_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_ENGINE_INTERNAL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_comment_moderation_automaton.h"
#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_regex.h"


/* spans a rule may collect per field and view: enough to count and show */
#define CM_ENGINE_MAX_SPANS  64

#define CM_RULE_VIEW_TEXT    (CM_RULE_VIEW_FOLDED | CM_RULE_VIEW_DELEET)

/* the compiling helpers return 0, -1 with the error in err, or this */
#define CM_ENGINE_NOMEM      -2

/* fields that come from the body, checked for UTF-8 even if no rule reads
   them; request metadata only when a rule does */
#define CM_BODY_FIELDS       (CM_FIELD_BIT(CM_FIELD_TEXT)                     \
                              | CM_FIELD_BIT(CM_FIELD_NAME)                   \
                              | CM_FIELD_BIT(CM_FIELD_EMAIL)                  \
                              | CM_FIELD_BIT(CM_FIELD_URL)                    \
                              | CM_FIELD_BIT(CM_FIELD_ARTICLE)                \
                              | CM_FIELD_BIT(CM_FIELD_SECTION))


/* the views regexes read: raw, folded, deleet (cm_engine_views[]) */
#define CM_ENGINE_NVIEWS     3

/* a key of the word automaton */
typedef struct {
    uint32_t            rule;
    uint8_t             views;      /* CM_RULE_VIEW_FOLDED and/or _DELEET */
    uint8_t             prefix;     /* "word*": no word end needed */
    uint8_t             suffix;     /* "*word": no word start needed */
} cm_word_key_t;


/*
 * A key of the literal automaton: a literal of one regex, from one of its
 * literal sets (set 1, or 2 when the regex has two, both needed).
 */
typedef struct {
    uint32_t            regex;
    uint8_t             views;      /* CM_RULE_VIEW_*s it prefilters */
    uint8_t             set;        /* CM_ENGINE_SET_1 or _2 */
    uint8_t             need;       /* the sets whose literals it needs */
} cm_literal_key_t;

#define CM_ENGINE_SET_1      0x01
#define CM_ENGINE_SET_2      0x02
#define CM_ENGINE_SET_RUN    0x04   /* in the candidates already */


typedef struct {
    cm_regex_t         *re;
    uint32_t            rule;
    uint32_t            fields;     /* the rule's CM_FIELD_BIT()s */
    unsigned            views;      /* the rule's CM_RULE_VIEW_*s */
    unsigned            filtered;   /* CM_RULE_VIEW_*s with literals */
} cm_engine_regex_t;


struct cm_engine_s {
    const cm_rules_t   *rules;

    cm_automaton_t     *words;
    cm_word_key_t      *word_keys;
    size_t              nword_keys;

    cm_automaton_t     *literals;       /* one id per distinct literal */
    cm_literal_key_t   *literal_keys;   /* grouped by literal */
    size_t              nliteral_keys;
    uint32_t           *literal_first;  /* [nliterals + 1]: a literal's keys
                                           in literal_keys */
    size_t              nliterals;
    unsigned            literal_views;  /* CM_RULE_VIEW_*s with literals */

    cm_engine_regex_t  *regexes;
    size_t              nregexes;
    uint32_t           *unfiltered[CM_ENGINE_NVIEWS];  /* per view: the
                                       regexes that read it without literals
                                       for it, in order */
    size_t              nunfiltered[CM_ENGINE_NVIEWS];

    uint32_t            word_fields;            /* CM_FIELD_BIT()s */
    unsigned            regex_views[CM_FIELD_N];
    uint32_t            fields;                 /* normalized */

    cm_window_t         windows[CM_ENGINE_MAX_WINDOWS];
    size_t              nwindows;
    uint32_t           *facts_only;     /* the CM_RULE_FACTS rules */
    size_t              nfacts_only;
};


/* one match, as a raw span */
typedef struct {
    uint32_t            rule;
    uint32_t            field;
    uint32_t            start;
    uint32_t            end;
} cm_match_t;


/*
 * Marks per rule (spans found in the view being searched), per regex (its
 * literal sets seen in it) and per distinct literal (seen), per thread so that a request need not clear arrays
 * as long as the rule set: a mark counts only when it carries the current
 * generation, which each view searched advances.
 */
#define CM_ENGINE_GEN_SHIFT  16     /* a mark: generation << 16 | counts */
#define CM_ENGINE_GEN_MAX    (UINT32_MAX >> CM_ENGINE_GEN_SHIFT)

typedef struct {
    uint32_t           *rule_mark;
    uint32_t           *regex_mark;
    uint32_t           *literal_mark;
    uint32_t           *candidates;
    size_t              nrules;     /* room in the arrays */
    size_t              nregexes;
    size_t              nliterals;
    uint32_t            gen;
} cm_engine_scratch_t;

/* one request's matching */
typedef struct {
    const cm_engine_t  *engine;
    const cm_alloc_t   *alloc;
    cm_result_t        *res;

    cm_match_t         *matches;
    size_t              nmatches;
    size_t              amatches;

    cm_engine_scratch_t *scratch;
    uint32_t            gen;        /* of the view being searched */
    uint32_t           *candidates; /* regexes whose literal was seen */
    size_t              ncandidates;
    uint32_t           *limited;    /* rules a regex limit made unreliable */
    size_t              nlimited;

    int                 non_ascii;  /* the view has a byte >= 0x80... */
    uint32_t            non_ascii_gen;  /* ...known for this generation */

    /* the view being searched */
    const cm_view_t    *view;
    cm_field_e          field;
    unsigned            view_bit;   /* CM_RULE_VIEW_* */
    int                 failed;     /* out of memory */
} cm_scan_t;


/* the views a rule's CM_RULE_VIEW_* bit stands for */
typedef struct {
    unsigned            bit;
    cm_view_e           view;       /* for regexes */
    cm_view_e           compact;    /* for words */
} cm_engine_view_t;

extern const cm_engine_view_t  cm_engine_views[CM_ENGINE_NVIEWS];


/* engine.c */
void *cm_engine_grow(void *p, size_t *n, size_t need, size_t size);
uint32_t cm_engine_next_gen(cm_engine_scratch_t *s);
int cm_engine_is_limited(const cm_scan_t *sc, uint32_t r);
void cm_engine_run_regex(cm_scan_t *sc, uint32_t rule, const cm_regex_t *re);
int cm_engine_view_non_ascii(cm_scan_t *sc);

/* prefilter.c: the literal automaton and the regexes' lists */
int cm_prefilter_compile(cm_engine_t *engine);
void cm_prefilter_free(cm_engine_t *engine);
size_t cm_prefilter_memory(const cm_engine_t *engine);
void cm_prefilter_scan(cm_scan_t *sc, cm_field_e f);


#endif /* _NGX_HTTP_COMMENT_MODERATION_ENGINE_INTERNAL_H_INCLUDED_ */
