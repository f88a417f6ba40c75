/*
 * cm-bench-engine: the rule engine alone, on comments from a file, in
 * microseconds per comment; tests/bench/engine-bench runs it.
 *
 *   cm-bench-engine --rules PATH --comments FILE [--reps N] [--vectorscan]
 *
 * FILE holds NUL-terminated comments (tests/bench/engine/gen-rules writes
 * one).  Each repetition times, over every comment as the text field:
 *
 *   engine_us      cm_engine_match() + cm_engine_decide(): what a worker
 *                  spends per comment (normalization included)
 *   normalize_us   cm_engine_normalize() alone
 *   scan_us        cm_engine_scan() alone, on texts normalized beforehand
 *   vectorscan_us  (--vectorscan) the same word lists in Vectorscan: every
 *                  word rule's words, normalized as the engine normalizes
 *                  them, compiled as literals (hs_compile_lit_multi) and
 *                  scanned over the same normalized compact views, with the
 *                  same whole-word checks and per-rule counts in the
 *                  callback.  Compare it with scan_us on a rule set of only
 *                  word rules: both start from the same normalized text.
 *
 * and prints the median of each over the repetitions ("KEY: VALUE" lines),
 * with the rule count, compile time (parse + compile, median), the
 * engine's memory and whether Vectorscan fired the same rules.
 *
 * Scratch memory is a bump allocator reset per comment, as an nginx request
 * pool would be.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_regex.h"

#include "cm_bench.h"


#define CM_BENCH_SCRATCH  (32 * 1024 * 1024)


typedef struct {
    char     *base;
    size_t    used;
    size_t    size;
} cm_bench_pool_t;


typedef struct {
    const char  *text;
    size_t       len;
} cm_bench_comment_t;


static void *cm_bench_pool_alloc(void *data, size_t size);
static char *cm_bench_read(const char *path, size_t *len);
static int cm_bench_double_cmp(const void *a, const void *b);


int
main(int argc, char **argv)
{
    int                  i, vectorscan;
    char                 err[1024], *all, *p, *end;
    size_t               len, n, k, reps, r, nhits, fired;
    double               t0, compile[CM_BENCH_MAX_REPS + 1],
                         release[CM_BENCH_MAX_REPS],
                         full[CM_BENCH_MAX_REPS], norm[CM_BENCH_MAX_REPS],
                         scan[CM_BENCH_MAX_REPS], bytes;
    const char          *rules_path, *comments_path;
    cm_alloc_t           a, keep;
    cm_arena_t          *arena;
    cm_rules_t          *rules;
    cm_engine_t         *engine;
    cm_input_t           in;
    cm_result_t          res, *normalized;
    cm_bench_pool_t      pool;
    cm_bench_comment_t  *comments;

    rules_path = NULL;
    comments_path = NULL;
    reps = 7;
    vectorscan = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
            rules_path = argv[++i];

        } else if (strcmp(argv[i], "--comments") == 0 && i + 1 < argc) {
            comments_path = argv[++i];

        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = strtoul(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--vectorscan") == 0) {
            vectorscan = 1;

        } else {
            rules_path = NULL;
            break;
        }
    }

    if (rules_path == NULL || comments_path == NULL || reps == 0
        || reps > CM_BENCH_MAX_REPS)
    {
        fprintf(stderr, "usage: cm-bench-engine --rules PATH --comments FILE "
                "[--reps N (1-%d)] [--vectorscan]\n", CM_BENCH_MAX_REPS);
        return 2;
    }

#ifndef CM_BENCH_VECTORSCAN
    if (vectorscan) {
        fprintf(stderr, "cm-bench-engine: built without Vectorscan "
                "(libvectorscan-dev)\n");
        return 2;
    }
#endif

    all = cm_bench_read(comments_path, &len);
    if (all == NULL) {
        fprintf(stderr, "cm-bench-engine: cannot read %s\n", comments_path);
        return 2;
    }

    /* the comments, NUL-terminated */
    n = 0;
    for (k = 0; k < len; k++) {
        n += (all[k] == '\0');
    }

    comments = calloc(n ? n : 1, sizeof(cm_bench_comment_t));
    normalized = calloc(n ? n : 1, sizeof(cm_result_t));
    pool.size = CM_BENCH_SCRATCH;
    pool.base = malloc(pool.size);

    if (comments == NULL || normalized == NULL || pool.base == NULL) {
        fprintf(stderr, "cm-bench-engine: out of memory\n");
        return 2;
    }

    bytes = 0;
    end = all + len;
    k = 0;

    for (p = all; p < end && k < n; p += strlen(p) + 1) {
        comments[k].text = p;
        comments[k].len = strlen(p);
        bytes += comments[k].len;
        k++;
    }

    /*
     * compiling, timed, and freeing the set compiled before (as a live
     * swap drops the old one); the last engine is kept
     */
    rules = NULL;
    engine = NULL;

    for (r = 0; r <= reps; r++) {
        if (engine != NULL) {
            t0 = cm_bench_now_us();
            cm_engine_free(engine);
            cm_rules_free(rules);
            release[r - 1] = cm_bench_now_us() - t0;
        }

        t0 = cm_bench_now_us();

        rules = cm_rules_load(&cm_rules_source_files, rules_path, err,
                              sizeof(err));
        engine = rules ? cm_engine_compile(rules, err, sizeof(err)) : NULL;

        if (engine == NULL) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }

        compile[r] = cm_bench_now_us() - t0;
    }

    printf("compile_ms: %.1f\n", cm_bench_median(compile, reps + 1) / 1000);
    printf("engine_mem_kib: %zu\n", cm_engine_memory(engine) / 1024);
    printf("release_ms: %.2f\n", cm_bench_median(release, reps) / 1000);

    a.alloc = cm_bench_pool_alloc;
    a.data = &pool;
    memset(&in, 0, sizeof(cm_input_t));

    arena = cm_arena_create();
    if (arena == NULL) {
        fprintf(stderr, "cm-bench-engine: out of memory\n");
        return 2;
    }

    keep = cm_arena_allocator(arena);

    /* every comment normalized once, kept for the scan-only timing */
    for (k = 0; k < n; k++) {
        in.value[CM_FIELD_TEXT] = comments[k].text;
        in.len[CM_FIELD_TEXT] = comments[k].len;

        if (cm_engine_normalize(engine, &in, &keep, &normalized[k], NULL)
            != CM_ENGINE_OK)
        {
            /* not valid UTF-8: timed like the others, scanned as empty */
            memset(&normalized[k], 0, sizeof(cm_result_t));
        }
    }

    nhits = 0;

    for (r = 0; r < reps; r++) {
        t0 = cm_bench_now_us();

        for (k = 0; k < n; k++) {
            pool.used = 0;
            in.value[CM_FIELD_TEXT] = comments[k].text;
            in.len[CM_FIELD_TEXT] = comments[k].len;

            if (cm_engine_match(engine, &in, &a, &res, NULL) == CM_ENGINE_OK) {
                cm_engine_decide(engine, NULL, &res);
            }
        }

        full[r] = cm_bench_now_us() - t0;

        t0 = cm_bench_now_us();

        for (k = 0; k < n; k++) {
            pool.used = 0;
            in.value[CM_FIELD_TEXT] = comments[k].text;
            in.len[CM_FIELD_TEXT] = comments[k].len;
            (void) cm_engine_normalize(engine, &in, &a, &res, NULL);
        }

        norm[r] = cm_bench_now_us() - t0;

        t0 = cm_bench_now_us();
        fired = 0;

        for (k = 0; k < n; k++) {
            pool.used = 0;
            (void) cm_engine_scan(engine, &a, &normalized[k]);
            fired += normalized[k].nhits;
        }

        scan[r] = cm_bench_now_us() - t0;
        nhits = fired;
    }

    printf("rules: %zu\n", rules->nrules);
    printf("comments: %zu\n", n);
    printf("comment_bytes_mean: %.0f\n", n ? bytes / n : 0.0);
    printf("engine_us: %.3f\n", n ? cm_bench_median(full, reps) / n : 0.0);
    printf("normalize_us: %.3f\n", n ? cm_bench_median(norm, reps) / n : 0.0);
    printf("scan_us: %.3f\n", n ? cm_bench_median(scan, reps) / n : 0.0);
    printf("rules_fired: %zu\n", nhits);

#ifdef CM_BENCH_VECTORSCAN
    if (vectorscan) {
        if (cm_bench_vectorscan(rules, normalized, n, reps, nhits) != 0)
        {
            return 2;
        }
    }
#endif

    cm_arena_destroy(arena);
    cm_engine_free(engine);
    cm_rules_free(rules);
    cm_engine_thread_cleanup();
    cm_regex_thread_cleanup();
    free(pool.base);
    free(normalized);
    free(comments);
    free(all);

    return 0;
}


double
cm_bench_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static void *
cm_bench_pool_alloc(void *data, size_t size)
{
    cm_bench_pool_t  *pool = data;
    void             *p;

    size = (size + 15) & ~(size_t) 15;

    if (pool->size - pool->used < size) {
        return NULL;
    }

    p = pool->base + pool->used;
    pool->used += size;

    return p;
}


/* the whole file, NUL-terminated once more so the last comment ends */
static char *
cm_bench_read(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf;
    long     size;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    buf = malloc(size + 1);
    if (buf == NULL || fread(buf, 1, size, f) != (size_t) size) {
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);
    buf[size] = '\0';
    *len = size;

    return buf;
}


static int
cm_bench_double_cmp(const void *a, const void *b)
{
    const double  *x = a, *y = b;

    return (*x > *y) - (*x < *y);
}


double
cm_bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), cm_bench_double_cmp);

    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
