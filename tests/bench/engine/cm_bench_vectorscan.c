/*
 * The reference for cm-bench-engine: the word rules' words in Vectorscan,
 * on the texts the engine normalized.
 *
 * Every word is normalized as the engine does it (its compact view for the
 * folded view of a text, its compact deleet view for the deleet view, one
 * literal when both are the same), compiled with hs_compile_lit_multi(),
 * and scanned over each comment's compact views.  The callback does what
 * the engine's does: the word-start and word-end checks of the view's
 * flags, and a count per rule.  Normalization is not timed on either side.
 */

#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_engine.h"

#include "cm_bench.h"


typedef struct {
    uint32_t         rule;
    uint8_t          view;       /* CM_VIEW_COMPACT or _COMPACT_DELEET */
    uint8_t          both;       /* one literal for both views */
    uint8_t          prefix;
    uint8_t          suffix;
    uint32_t         len;
} cm_vs_key_t;


typedef struct {
    const cm_vs_key_t  *keys;
    const cm_view_t    *view;
    cm_view_e           which;
    uint32_t           *stamp;      /* per rule: the comment it fired in */
    uint32_t            comment;
    size_t              fired;
} cm_vs_scan_t;


static int cm_vs_match(unsigned id, unsigned long long from,
    unsigned long long to, unsigned flags, void *ctx);


int
cm_bench_vectorscan(const cm_rules_t *rules, cm_result_t *normalized,
    size_t n, size_t reps, size_t engine_fired)
{
    int                   both;
    char                **lits;
    size_t                r, i, w, k, nkeys, akeys, *lens;
    double                t0, times[CM_BENCH_MAX_REPS];
    unsigned             *ids, *flags;
    cm_text_t             t;
    cm_alloc_t            a;
    cm_arena_t           *arena;
    cm_vs_key_t          *keys;
    cm_vs_scan_t          sc;
    hs_database_t        *db;
    hs_scratch_t         *scratch;
    hs_compile_error_t   *cerr;
    const cm_view_t      *c, *d;
    const cm_rule_def_t  *rule;

    arena = cm_arena_create();
    if (arena == NULL) {
        return -1;
    }

    a = cm_arena_allocator(arena);
    akeys = 1024;
    nkeys = 0;
    keys = malloc(akeys * sizeof(cm_vs_key_t));
    lits = malloc(akeys * sizeof(char *));
    lens = malloc(akeys * sizeof(size_t));

    for (r = 0; r < rules->nrules; r++) {
        rule = &rules->rules[r];

        if (rule->kind != CM_RULE_WORDS) {
            continue;
        }

        for (w = 0; w < rule->nwords; w++) {
            if (cm_normalize(rule->words[w].text, rule->words[w].len, &a, &t,
                             NULL) != CM_NORM_OK)
            {
                continue;
            }

            c = &t.view[CM_VIEW_COMPACT];
            d = &t.view[CM_VIEW_COMPACT_DELEET];
            both = (rule->views & CM_RULE_VIEW_FOLDED)
                   && (rule->views & CM_RULE_VIEW_DELEET)
                   && c->len == d->len && memcmp(c->text, d->text, c->len) == 0;

            for (i = 0; i < 2; i++) {
                const cm_view_t  *v = i ? d : c;

                if (v->len == 0 || (both && i == 1)
                    || !(rule->views & (i ? CM_RULE_VIEW_DELEET
                                          : CM_RULE_VIEW_FOLDED)))
                {
                    continue;
                }

                if (nkeys == akeys) {
                    akeys *= 2;
                    keys = realloc(keys, akeys * sizeof(cm_vs_key_t));
                    lits = realloc(lits, akeys * sizeof(char *));
                    lens = realloc(lens, akeys * sizeof(size_t));
                }

                keys[nkeys].rule = (uint32_t) r;
                keys[nkeys].view = i ? CM_VIEW_COMPACT_DELEET : CM_VIEW_COMPACT;
                keys[nkeys].both = (uint8_t) both;
                keys[nkeys].prefix = rule->words[w].prefix;
                keys[nkeys].suffix = rule->words[w].suffix;
                keys[nkeys].len = (uint32_t) v->len;
                lits[nkeys] = (char *) v->text;
                lens[nkeys] = v->len;
                nkeys++;
            }
        }
    }

    if (nkeys == 0) {
        fprintf(stderr, "cm-bench-engine: no word rules for Vectorscan\n");
        return -1;
    }

    ids = malloc(nkeys * sizeof(unsigned));
    flags = malloc(nkeys * sizeof(unsigned));

    for (k = 0; k < nkeys; k++) {
        ids[k] = (unsigned) k;
        flags[k] = 0;
    }

    t0 = cm_bench_now_us();

    if (hs_compile_lit_multi((const char * const *) lits, flags, ids, lens,
                             (unsigned) nkeys, HS_MODE_BLOCK, NULL, &db,
                             &cerr)
        != HS_SUCCESS)
    {
        fprintf(stderr, "cm-bench-engine: Vectorscan: %s\n", cerr->message);
        hs_free_compile_error(cerr);
        return -1;
    }

    printf("vectorscan_compile_ms: %.1f\n", (cm_bench_now_us() - t0) / 1000);

    scratch = NULL;
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
        return -1;
    }

    sc.keys = keys;
    sc.stamp = calloc(rules->nrules + 1, sizeof(uint32_t));
    sc.comment = 0;

    for (r = 0; r < reps; r++) {
        sc.fired = 0;
        t0 = cm_bench_now_us();

        for (k = 0; k < n; k++) {
            sc.comment++;

            for (i = CM_VIEW_COMPACT; i <= CM_VIEW_COMPACT_DELEET; i++) {
                sc.which = (cm_view_e) i;
                sc.view = &normalized[k].text[CM_FIELD_TEXT].view[i];

                if (sc.view->len == 0) {
                    continue;
                }

                (void) hs_scan(db, sc.view->text, (unsigned) sc.view->len, 0,
                               scratch, cm_vs_match, &sc);
            }
        }

        times[r] = cm_bench_now_us() - t0;
    }

    printf("vectorscan_us: %.3f\n",
           n ? cm_bench_median(times, reps) / n : 0.0);
    printf("vectorscan_rules_fired: %zu\n", sc.fired);
    printf("vectorscan_agrees: %s\n",
           sc.fired == engine_fired ? "yes" : "no");

    hs_free_scratch(scratch);
    hs_free_database(db);
    free(sc.stamp);
    free(ids);
    free(flags);
    free(keys);
    free(lits);
    free(lens);
    cm_arena_destroy(arena);

    return 0;
}


static int
cm_vs_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned flags, void *ctx)
{
    size_t              start;
    cm_vs_scan_t       *sc = ctx;
    const uint8_t      *f;
    const cm_vs_key_t  *key;

    (void) from;
    (void) flags;

    key = &sc->keys[id];

    if (key->view != sc->which && !key->both) {
        return 0;
    }

    start = (size_t) to - key->len;
    f = sc->view->flags;

    if ((!key->suffix && !(f[start] & CM_WORD_START))
        || (!key->prefix && !(f[to - 1] & CM_WORD_END)))
    {
        return 0;
    }

    if (sc->stamp[key->rule] != sc->comment) {
        sc->stamp[key->rule] = sc->comment;
        sc->fired++;
    }

    return 0;
}
