/*
 * The regexes' literal prefilter.  Every literal of every regex
 * (cm_regex_literal_sets(): one set, or two sets both needed) goes into one
 * automaton, one id per distinct literal, so a literal that many regexes
 * share is reported once per view.  Per view searched, the regexes to run
 * are those whose sets were all seen there, merged in rule order with
 * those that have no literals for that view.
 */

#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_engine_internal.h"


/* a literal being collected, and its key */
typedef struct {
    char               *text;       /* a copy */
    uint32_t            len;
    uint32_t            key;        /* in cm_prefilter_build_t.keys */
} cm_prefilter_lit_t;


typedef struct {
    cm_prefilter_lit_t *lits;
    size_t              nlits;
    size_t              alits;
    cm_literal_key_t   *keys;
    size_t              akeys;
} cm_prefilter_build_t;


static int cm_prefilter_add(cm_engine_t *engine, cm_prefilter_build_t *pb,
    uint32_t i, unsigned views, unsigned flags);
static int cm_prefilter_group(cm_engine_t *engine, cm_prefilter_build_t *pb);
static int cm_prefilter_lit_cmp(const void *a, const void *b);
static int cm_prefilter_unfiltered(cm_engine_t *engine);
static int cm_prefilter_literal_found(void *data, uint32_t id, size_t start,
    size_t end);
static int cm_prefilter_u32_cmp(const void *a, const void *b);


int
cm_prefilter_compile(cm_engine_t *engine)
{
    int                    rc;
    size_t                 i, k;
    unsigned               text;
    cm_prefilter_build_t   pb;
    const cm_rule_def_t   *rule;

    memset(&pb, 0, sizeof(cm_prefilter_build_t));
    rc = 0;

    for (i = 0; i < engine->nregexes && rc == 0; i++) {
        rule = &engine->rules->rules[engine->regexes[i].rule];
        text = rule->views & CM_RULE_VIEW_TEXT;

        if (text) {
            rc = cm_prefilter_add(engine, &pb, (uint32_t) i, text, 0);
        }

        if (rc == 0 && (rule->views & CM_RULE_VIEW_RAW)) {
            rc = cm_prefilter_add(engine, &pb, (uint32_t) i,
                                  CM_RULE_VIEW_RAW,
                                  CM_REGEX_LITERALS_NO_LETTERS);
        }
    }

    if (rc == 0) {
        rc = cm_prefilter_group(engine, &pb);
    }

    if (rc == 0) {
        rc = cm_prefilter_unfiltered(engine);
    }

    for (k = 0; k < pb.nlits; k++) {
        free(pb.lits[k].text);
    }

    free(pb.lits);
    free(pb.keys);

    return rc == 0 ? 0 : CM_ENGINE_NOMEM;
}


void
cm_prefilter_free(cm_engine_t *engine)
{
    size_t  i;

    for (i = 0; i < CM_ENGINE_NVIEWS; i++) {
        free(engine->unfiltered[i]);
    }

    cm_automaton_free(engine->literals);
    free(engine->literal_keys);
    free(engine->literal_first);
}


size_t
cm_prefilter_memory(const cm_engine_t *engine)
{
    size_t  i, size;

    size = cm_automaton_memory(engine->literals)
           + engine->nliteral_keys * sizeof(cm_literal_key_t)
           + (engine->nliterals + 1) * sizeof(uint32_t);

    for (i = 0; i < CM_ENGINE_NVIEWS; i++) {
        size += engine->nunfiltered[i] * sizeof(uint32_t);
    }

    return size;
}


/* The literal sets of regex i for "views", read with "flags". */
static int
cm_prefilter_add(cm_engine_t *engine, cm_prefilter_build_t *pb, uint32_t i,
    unsigned views, unsigned flags)
{
    char                *buf;
    size_t               k, s, len, n[2];
    uint8_t              need;
    const char          *pattern;
    void                *keys, *grown;
    cm_literal_key_t    *key;
    cm_prefilter_lit_t  *lit;
    cm_regex_literal_t   lits[2][CM_REGEX_LITERALS_MAX];

    pattern = engine->rules->rules[engine->regexes[i].rule].regex;
    len = strlen(pattern);

    buf = malloc(len + 1);
    if (buf == NULL) {
        return -1;
    }

    (void) cm_regex_literal_sets(pattern, len, flags, buf, lits[0], n,
                                 lits[1]);
    need = CM_ENGINE_SET_1 | (n[1] ? CM_ENGINE_SET_2 : 0);

    for (s = 0; s < 2 && n[0] > 0; s++) {
        for (k = 0; k < n[s]; k++) {
            keys = cm_engine_grow(pb->keys, &pb->akeys, pb->nlits + 1,
                                  sizeof(cm_literal_key_t));
            if (keys != NULL) {
                pb->keys = keys;
            }

            grown = cm_engine_grow(pb->lits, &pb->alits, pb->nlits + 1,
                                   sizeof(cm_prefilter_lit_t));
            if (grown != NULL) {
                pb->lits = grown;
            }

            if (keys == NULL || grown == NULL) {
                free(buf);
                return -1;
            }

            lit = &pb->lits[pb->nlits];
            lit->text = malloc(lits[s][k].len);
            if (lit->text == NULL) {
                free(buf);
                return -1;
            }

            memcpy(lit->text, lits[s][k].data, lits[s][k].len);
            lit->len = (uint32_t) lits[s][k].len;
            lit->key = (uint32_t) pb->nlits;

            key = &pb->keys[pb->nlits++];
            key->regex = i;
            key->views = (uint8_t) views;
            engine->literal_views |= views;
            key->set = s ? CM_ENGINE_SET_2 : CM_ENGINE_SET_1;
            key->need = need;
        }
    }

    if (n[0] > 0) {
        engine->regexes[i].filtered |= views;
    }

    free(buf);

    return 0;
}


/* Equal literals become one id of the automaton, with all their keys. */
static int
cm_prefilter_group(cm_engine_t *engine, cm_prefilter_build_t *pb)
{
    int                      rc;
    size_t                   k, d;
    cm_automaton_builder_t  *b;

    if (pb->nlits > 1) {
        qsort(pb->lits, pb->nlits, sizeof(cm_prefilter_lit_t),
              cm_prefilter_lit_cmp);
    }

    b = cm_automaton_builder_create(CM_AUTOMATON_CASELESS);
    engine->literal_keys = malloc((pb->nlits + 1) * sizeof(cm_literal_key_t));
    engine->literal_first = malloc((pb->nlits + 1) * sizeof(uint32_t));

    rc = (b && engine->literal_keys && engine->literal_first) ? 0 : -1;
    d = 0;

    for (k = 0; k < pb->nlits && rc == 0; k++) {
        if (k == 0 || cm_prefilter_lit_cmp(&pb->lits[k - 1], &pb->lits[k])) {
            engine->literal_first[d] = (uint32_t) k;
            rc = cm_automaton_add(b, pb->lits[k].text, pb->lits[k].len,
                                  (uint32_t) d);
            d++;
        }

        engine->literal_keys[k] = pb->keys[pb->lits[k].key];
    }

    if (rc == 0) {
        engine->literal_first[d] = (uint32_t) pb->nlits;
        engine->nliterals = d;
        engine->nliteral_keys = pb->nlits;
        engine->literals = cm_automaton_build(b);
        rc = engine->literals ? 0 : -1;
    }

    cm_automaton_builder_free(b);

    return rc;
}


static int
cm_prefilter_lit_cmp(const void *a, const void *b)
{
    const cm_prefilter_lit_t  *x = a, *y = b;

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }

    return memcmp(x->text, y->text, x->len);
}


/* Per view, the regexes that read it and have no literal for it. */
static int
cm_prefilter_unfiltered(cm_engine_t *engine)
{
    size_t                    i, v;
    unsigned                  bit;
    const cm_engine_regex_t  *er;

    for (v = 0; v < CM_ENGINE_NVIEWS; v++) {
        bit = cm_engine_views[v].bit;

        engine->unfiltered[v] = malloc((engine->nregexes + 1)
                                       * sizeof(uint32_t));
        if (engine->unfiltered[v] == NULL) {
            return CM_ENGINE_NOMEM;
        }

        for (i = 0; i < engine->nregexes; i++) {
            er = &engine->regexes[i];

            if ((engine->rules->rules[er->rule].views & bit)
                && !(er->filtered & bit))
            {
                engine->unfiltered[v][engine->nunfiltered[v]++] = (uint32_t) i;
            }
        }
    }

    return 0;
}


/*
 * For each view some regex reads in this field: the literal automaton
 * first, then, in rule order, the regexes whose literal was seen and those
 * that have none.
 */
void
cm_prefilter_scan(cm_scan_t *sc, cm_field_e f)
{
    int                       same;
    size_t                    v, c, u, nu;
    uint32_t                  i;
    unsigned                  bit;
    const uint32_t           *unfiltered;
    const cm_view_t          *folded, *deleet;
    const cm_engine_t        *engine;
    const cm_engine_regex_t  *er;

    engine = sc->engine;
    sc->field = f;

    /*
     * Without leetspeak the deleet view is the folded view (same bytes,
     * same sources): one literal search serves both when regexes read both.
     */
    folded = &sc->res->text[f].view[CM_VIEW_FOLDED];
    deleet = &sc->res->text[f].view[CM_VIEW_DELEET];

    same = (engine->regex_views[f] & CM_RULE_VIEW_TEXT) == CM_RULE_VIEW_TEXT
           && folded->len == deleet->len
           && memcmp(folded->text, deleet->text, folded->len) == 0;

    for (v = 0; v < CM_ENGINE_NVIEWS; v++) {
        bit = cm_engine_views[v].bit;

        if (!(engine->regex_views[f] & bit)) {
            continue;
        }

        sc->view = &sc->res->text[f].view[cm_engine_views[v].view];

        /* the deleet view of a "same" text: the folded pass's candidates */
        if (!(same && bit == CM_RULE_VIEW_DELEET)) {
            sc->view_bit = (same && bit == CM_RULE_VIEW_FOLDED)
                           ? CM_RULE_VIEW_TEXT : bit;
            sc->gen = cm_engine_next_gen(sc->scratch);
            sc->ncandidates = 0;

            /* no regex has literals for the view (the raw one, often) */
            if (engine->literal_views & sc->view_bit) {
                (void) cm_automaton_search(engine->literals, sc->view->text,
                                           sc->view->len,
                                           cm_prefilter_literal_found, sc);
            }

            if (sc->ncandidates > 1) {
                qsort(sc->candidates, sc->ncandidates, sizeof(uint32_t),
                      cm_prefilter_u32_cmp);
            }
        }

        /* the two sorted lists merged */
        unfiltered = engine->unfiltered[v];
        nu = engine->nunfiltered[v];
        c = 0;
        u = 0;

        while ((c < sc->ncandidates || u < nu) && !sc->failed) {
            if (u == nu
                || (c < sc->ncandidates && sc->candidates[c] < unfiltered[u]))
            {
                i = sc->candidates[c++];
                er = &engine->regexes[i];

                /* found for both views, read in the other only */
                if (!(er->views & bit)) {
                    continue;
                }

            } else {
                /* no literal vouched for it: what pcre2 knows may */
                i = unfiltered[u++];
                er = &engine->regexes[i];

                if (!cm_regex_may_match(er->re, sc->view->len,
                                        cm_engine_view_non_ascii(sc)))
                {
                    continue;
                }
            }

            if (!(er->fields & CM_FIELD_BIT(f))
                || cm_engine_is_limited(sc, er->rule))
            {
                continue;
            }

            cm_engine_run_regex(sc, er->rule, er->re);
        }
    }
}


/* A literal seen: once per view, its keys mark the sets of their regexes. */
static int
cm_prefilter_literal_found(void *data, uint32_t id, size_t start, size_t end)
{
    size_t                   k;
    uint32_t                *mark, *seen;
    cm_scan_t               *sc = data;
    const cm_literal_key_t  *lk;

    (void) start;
    (void) end;

    seen = &sc->scratch->literal_mark[id];

    if (*seen == sc->gen) {
        return 0;
    }

    *seen = sc->gen;

    for (k = sc->engine->literal_first[id];
         k < sc->engine->literal_first[id + 1];
         k++)
    {
        lk = &sc->engine->literal_keys[k];

        if (!(lk->views & sc->view_bit)) {
            continue;
        }

        /* the sets seen in this view, and whether the regex is listed */
        mark = &sc->scratch->regex_mark[lk->regex];

        if ((*mark >> CM_ENGINE_GEN_SHIFT) != sc->gen) {
            *mark = sc->gen << CM_ENGINE_GEN_SHIFT;
        }

        *mark |= lk->set;

        if ((*mark & lk->need) == lk->need && !(*mark & CM_ENGINE_SET_RUN)) {
            *mark |= CM_ENGINE_SET_RUN;
            sc->candidates[sc->ncandidates++] = lk->regex;
        }
    }

    return 0;
}


static int
cm_prefilter_u32_cmp(const void *a, const void *b)
{
    const uint32_t  *x = a, *y = b;

    return (*x > *y) - (*x < *y);
}
