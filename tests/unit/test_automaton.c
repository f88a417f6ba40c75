/*
 * The Aho-Corasick automaton against a naive search, plus its edge cases.
 */

#include <stdio.h>
#include <stdlib.h>

#include "cm_test.h"
#include "ngx_http_comment_moderation_automaton.h"


typedef struct {
    uint32_t  id;
    size_t    start;
    size_t    end;
} found_t;


typedef struct {
    found_t  *v;
    size_t    n;
    size_t    cap;
    size_t    stop_after;   /* 0: never stop */
} found_list_t;


static int
collect(void *data, uint32_t id, size_t start, size_t end)
{
    found_list_t  *l = data;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(found_t));
        assert_non_null(l->v);
    }

    l->v[l->n].id = id;
    l->v[l->n].start = start;
    l->v[l->n].end = end;
    l->n++;

    return (l->stop_after && l->n == l->stop_after) ? 7 : 0;
}


static int
found_cmp(const void *a, const void *b)
{
    const found_t  *x = a, *y = b;

    if (x->end != y->end) {
        return x->end < y->end ? -1 : 1;
    }

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }

    return (x->id > y->id) - (x->id < y->id);
}


static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}


/* every occurrence of every pattern, the slow way */
static void
naive(const char **pats, const size_t *lens, size_t npats, const char *text,
    size_t len, int caseless, found_list_t *out)
{
    size_t  i, j, k;

    for (i = 0; i < npats; i++) {
        for (j = 0; j + lens[i] <= len; j++) {
            for (k = 0; k < lens[i]; k++) {
                unsigned char a = text[j + k], b = pats[i][k];

                if (caseless ? lower(a) != lower(b) : a != b) {
                    break;
                }
            }

            if (k == lens[i]) {
                collect(out, (uint32_t) i, j, j + lens[i]);
            }
        }
    }
}


static cm_automaton_t *
build(const char **pats, const size_t *lens, size_t npats, unsigned flags)
{
    size_t                   i;
    cm_automaton_t          *ac;
    cm_automaton_builder_t  *b;

    b = cm_automaton_builder_create(flags);
    assert_non_null(b);

    for (i = 0; i < npats; i++) {
        assert_int_equal(cm_automaton_add(b, pats[i], lens[i], (uint32_t) i),
                         0);
    }

    ac = cm_automaton_build(b);
    cm_automaton_builder_free(b);
    assert_non_null(ac);

    return ac;
}


static void
check_same(const cm_automaton_t *ac, const char **pats, const size_t *lens,
    size_t npats, const char *text, size_t len, int caseless)
{
    size_t        i;
    found_list_t  got = { 0 }, want = { 0 };

    assert_int_equal(cm_automaton_search(ac, text, len, collect, &got), 0);
    naive(pats, lens, npats, text, len, caseless, &want);

    /* reported by end offset, longest first among equal ends */
    for (i = 1; i < got.n; i++) {
        assert_true(got.v[i - 1].end < got.v[i].end
                    || (got.v[i - 1].end == got.v[i].end
                        && got.v[i - 1].start <= got.v[i].start));
    }

    if (got.n > 0 && want.n > 0) {
        qsort(got.v, got.n, sizeof(found_t), found_cmp);
        qsort(want.v, want.n, sizeof(found_t), found_cmp);
    }

    assert_int_equal(got.n, want.n);
    for (i = 0; i < got.n; i++) {
        assert_int_equal(got.v[i].id, want.v[i].id);
        assert_int_equal(got.v[i].start, want.v[i].start);
        assert_int_equal(got.v[i].end, want.v[i].end);
    }

    free(got.v);
    free(want.v);
}


static void
test_classic(void **state)
{
    static const char  *pats[] = { "he", "she", "his", "hers", "s", "e" };
    size_t              lens[6], i;
    cm_automaton_t     *ac;
    found_list_t        got = { 0 };

    (void) state;

    for (i = 0; i < 6; i++) {
        lens[i] = strlen(pats[i]);
    }

    ac = build(pats, lens, 6, 0);
    check_same(ac, pats, lens, 6, "ushers", 6, 0);
    check_same(ac, pats, lens, 6, "hishershe", 9, 0);

    /* "ushers": s@2 e@4, she and he ending at 4, hers ending at 6 */
    cm_automaton_search(ac, "ushers", 6, collect, &got);
    assert_int_equal(got.n, 6);
    assert_int_equal(got.v[0].id, 4);           /* s [1,2) */
    assert_int_equal(got.v[1].id, 1);           /* she [1,4), longest */
    assert_int_equal(got.v[1].start, 1);
    assert_int_equal(got.v[2].id, 0);           /* he [2,4) */
    assert_int_equal(got.v[3].id, 5);           /* e [3,4) */

    free(got.v);
    cm_automaton_free(ac);
}


static void
test_duplicates_and_ids(void **state)
{
    cm_automaton_t          *ac;
    found_list_t             got = { 0 };
    cm_automaton_builder_t  *b;

    (void) state;

    b = cm_automaton_builder_create(0);
    assert_int_equal(cm_automaton_add(b, "gacor", 5, 100), 0);
    assert_int_equal(cm_automaton_add(b, "gacor", 5, 200), 0);
    assert_int_equal(cm_automaton_add(b, "slotgacor", 9, 300), 0);
    assert_int_equal(cm_automaton_add(b, "", 0, 1), -1);
    ac = cm_automaton_build(b);
    cm_automaton_builder_free(b);
    assert_non_null(ac);

    assert_int_equal(cm_automaton_search(ac, "xslotgacor", 10, collect, &got),
                     0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.v[0].id, 300);
    assert_int_equal(got.v[0].start, 1);
    assert_int_equal(got.v[1].id, 100);
    assert_int_equal(got.v[1].start, 5);
    assert_int_equal(got.v[2].id, 200);
    assert_int_equal(got.v[2].end, 10);

    /* 5 trie states for "gacor" + 9 for "slotgacor" + the root */
    assert_int_equal(cm_automaton_states(ac), 15);
    assert_true(cm_automaton_memory(ac) > 15 * sizeof(uint32_t));

    free(got.v);
    cm_automaton_free(ac);
}


static void
test_stop(void **state)
{
    static const char  *pats[] = { "a" };
    size_t              lens[] = { 1 };
    cm_automaton_t     *ac;
    found_list_t        got = { 0 };

    (void) state;

    ac = build(pats, lens, 1, 0);
    got.stop_after = 3;
    assert_int_equal(cm_automaton_search(ac, "aaaaaa", 6, collect, &got), 7);
    assert_int_equal(got.n, 3);

    free(got.v);
    cm_automaton_free(ac);
}


static void
test_empty_and_binary(void **state)
{
    static const char  *pats[] = { "\0\xff", "\xff\xff\xff", "a\0" };
    size_t              lens[] = { 2, 3, 2 };
    found_list_t        got = { 0 };
    cm_automaton_t     *ac;
    cm_automaton_builder_t *b;

    (void) state;

    b = cm_automaton_builder_create(0);
    ac = cm_automaton_build(b);
    cm_automaton_builder_free(b);
    assert_non_null(ac);
    assert_int_equal(cm_automaton_states(ac), 1);
    assert_int_equal(cm_automaton_search(ac, "abc", 3, collect, &got), 0);
    assert_int_equal(got.n, 0);
    cm_automaton_free(ac);

    ac = build(pats, lens, 3, 0);
    check_same(ac, pats, lens, 3, "a\0\xff\xff\xff\xff\0", 7, 0);
    check_same(ac, pats, lens, 3, "", 0, 0);
    cm_automaton_free(ac);
}


static void
test_caseless(void **state)
{
    static const char  *pats[] = { "Slot", "GACOR", "0812", "x-Y" };
    size_t              lens[] = { 4, 5, 4, 3 };
    cm_automaton_t     *ac;
    const char         *t;

    (void) state;

    ac = build(pats, lens, 4, CM_AUTOMATON_CASELESS);
    t = "SLOT gacor sLoT 0812 X-y x-y \xc3\x89";
    check_same(ac, pats, lens, 4, t, strlen(t), 1);
    cm_automaton_free(ac);

    /* without the flag, case matters */
    ac = build(pats, lens, 4, 0);
    check_same(ac, pats, lens, 4, t, strlen(t), 0);
    cm_automaton_free(ac);
}


/* random small alphabets make many overlaps and shared prefixes */
static void
test_random_against_naive(void **state)
{
    int              round;
    char             text[300], *buf;
    size_t           i, j, npats, lens[60], tlen, flags;
    const char      *pats[60];
    cm_automaton_t  *ac;

    (void) state;

    srand(12345);
    buf = malloc(60 * 8);
    assert_non_null(buf);

    for (round = 0; round < 300; round++) {
        const char *alpha = (round % 3 == 0) ? "ab" : (round % 3 == 1)
                            ? "abcAB" : "abcdefgh\x80\xff";
        size_t na = strlen(alpha);

        flags = (round % 4 == 1) ? CM_AUTOMATON_CASELESS : 0;
        npats = 1 + rand() % 60;

        for (i = 0; i < npats; i++) {
            lens[i] = 1 + rand() % 7;
            for (j = 0; j < lens[i]; j++) {
                buf[i * 8 + j] = alpha[rand() % na];
            }
            pats[i] = &buf[i * 8];
        }

        tlen = rand() % sizeof(text);
        for (i = 0; i < tlen; i++) {
            text[i] = (rand() % 10 == 0) ? 'z' : alpha[rand() % na];
        }

        ac = build(pats, lens, npats, (unsigned) flags);
        check_same(ac, pats, lens, npats, text, tlen, flags != 0);
        cm_automaton_free(ac);
    }

    free(buf);
}


/* the engine's scale: 15,000 words, found where they are */
static void
test_scale(void **state)
{
    char                     w[32], text[800];
    size_t                   i, n;
    found_list_t             got = { 0 };
    cm_automaton_t          *ac;
    cm_automaton_builder_t  *b;

    (void) state;

    b = cm_automaton_builder_create(0);

    for (i = 0; i < 15000; i++) {
        n = (size_t) snprintf(w, sizeof(w), "w%zuq%zu", i * 7919 % 100003, i);
        assert_int_equal(cm_automaton_add(b, w, n, (uint32_t) i), 0);
    }

    ac = cm_automaton_build(b);
    cm_automaton_builder_free(b);
    assert_non_null(ac);

    n = (size_t) snprintf(text, sizeof(text), "xx w%zuq%zu yy w1q2 w%zuq%zu",
                          (size_t) 42 * 7919 % 100003, (size_t) 42,
                          (size_t) 14999 * 7919 % 100003, (size_t) 14999);
    cm_automaton_search(ac, text, n, collect, &got);

    assert_int_equal(got.n, 2);
    assert_int_equal(got.v[0].id, 42);
    assert_int_equal(got.v[0].start, 3);
    assert_int_equal(got.v[1].id, 14999);

    free(got.v);
    cm_automaton_free(ac);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_classic),
        cm_test(test_duplicates_and_ids),
        cm_test(test_stop),
        cm_test(test_empty_and_binary),
        cm_test(test_caseless),
        cm_test(test_random_against_naive),
        cm_test(test_scale),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
