/*
 * The pcre2 wrapper (compile errors, matching, limits) and the literal
 * prefilter, which must never name a literal a matching text could lack.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cm_test.h"
#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_regex.h"


static cm_regex_t *
compile(const char *pattern)
{
    char         err[256];
    size_t       off;
    cm_regex_t  *re;

    re = cm_regex_compile(pattern, strlen(pattern), err, sizeof(err), &off);
    if (re == NULL) {
        fail_msg("%s: %s at %zu", pattern, err, off);
    }

    return re;
}


static void
test_compile_error(void **state)
{
    char         err[256];
    size_t       off;
    cm_regex_t  *re;

    (void) state;

    re = cm_regex_compile("ab(((", 5, err, sizeof(err), &off);
    assert_null(re);
    assert_int_equal(off, 5);
    assert_non_null(strstr(err, "missing closing parenthesis"));

    re = cm_regex_compile("a{2,1}", 6, err, sizeof(err), &off);
    assert_null(re);
    assert_int_equal(off, 5);
    assert_non_null(strstr(err, "out of order"));

    /* \C would split UTF-8 characters */
    re = cm_regex_compile("a\\Cb", 4, err, sizeof(err), &off);
    assert_null(re);

    /* invalid UTF-8 in the pattern */
    re = cm_regex_compile("a\xff", 2, err, sizeof(err), &off);
    assert_null(re);
    assert_int_equal(off, 1);
}


static void
test_match(void **state)
{
    size_t       s, e;
    cm_regex_t  *re;
    const char  *t;

    (void) state;

    re = compile("sl[o0]t\\s*gacor");
    t = "Ini SLOT Gacor, slot gacor";

    assert_int_equal(cm_regex_exec(re, t, strlen(t), 0, &s, &e),
                     CM_REGEX_MATCH);
    assert_int_equal(s, 4);
    assert_int_equal(e, 14);

    assert_int_equal(cm_regex_exec(re, t, strlen(t), e, &s, &e),
                     CM_REGEX_MATCH);
    assert_int_equal(s, 16);
    assert_int_equal(e, 26);

    assert_int_equal(cm_regex_exec(re, t, strlen(t), e, &s, &e),
                     CM_REGEX_NOMATCH);

    /* the length bounds the subject, not a NUL */
    assert_int_equal(cm_regex_exec(re, t, 13, 0, &s, &e), CM_REGEX_NOMATCH);
    assert_int_equal(cm_regex_exec(re, NULL, 0, 0, &s, &e), CM_REGEX_NOMATCH);

    assert_true(cm_regex_memory(re) > 0);
    cm_regex_free(re);

    /* UTF mode: "." is one character; caseless beyond ASCII */
    re = compile("^.x\xc3\xa9$");
    t = "\xc3\xa9X\xc3\x89";
    assert_int_equal(cm_regex_exec(re, t, strlen(t), 0, &s, &e),
                     CM_REGEX_MATCH);
    assert_int_equal(e, 5);
    cm_regex_free(re);

    /* no UCP: \w is ASCII unless the pattern asks for (*UCP) */
    re = compile("^\\w+$");
    assert_int_equal(cm_regex_exec(re, "\xc3\xa9t\xc3\xa9", 5, 0, &s, &e),
                     CM_REGEX_NOMATCH);
    cm_regex_free(re);

    re = compile("(*UCP)^\\w+$");
    assert_int_equal(cm_regex_exec(re, "\xc3\xa9t\xc3\xa9", 5, 0, &s, &e),
                     CM_REGEX_MATCH);
    cm_regex_free(re);

    /* more captures than the single pair of offsets still matches */
    re = compile("(a)(b)(c)");
    assert_int_equal(cm_regex_exec(re, "xabc", 4, 0, &s, &e), CM_REGEX_MATCH);
    assert_int_equal(s, 1);
    assert_int_equal(e, 4);
    cm_regex_free(re);
}


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


/* catastrophic backtracking ends at the match limit, quickly */
static void
test_limit(void **state)
{
    size_t       n, s, e, i;
    char        *t;
    double       t0, ms;
    cm_regex_t  *re;
    const char  *pats[] = { "(a+)+$", "(a|a)+$", "(?:a|aa)+$", "^(\\w+\\s?)*$" };

    (void) state;

    n = 50 * 1024;
    t = malloc(n);
    assert_non_null(t);
    memset(t, 'a', n);
    t[n - 1] = '!';

    for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        re = compile(pats[i]);

        t0 = now_ms();
        assert_int_equal(cm_regex_exec(re, t, n, 0, &s, &e), CM_REGEX_LIMIT);
        ms = now_ms() - t0;

        /* about 1 ms here; generous for sanitizers and slow machines */
        assert_true(ms < 100);
        cm_regex_free(re);
    }

    /* all "a": a plain match, not a limit */
    memset(t, 'a', n);
    re = compile("(a+)+$");
    assert_int_equal(cm_regex_exec(re, t, n, 0, &s, &e), CM_REGEX_MATCH);
    assert_int_equal(e, n);
    cm_regex_free(re);

    free(t);
}


/* expected literals, "|"-separated in the order found; "" for none */
typedef struct {
    const char  *pattern;
    unsigned     flags;
    const char  *literals;
} literal_case_t;


static void
test_literals(void **state)
{
    char                buf[256], got[256];
    size_t              i, j, n, at;
    cm_regex_literal_t  lits[CM_REGEX_LITERALS_MAX];
    static const literal_case_t  cases[] = {
        { "slot\\s*gacor", 0, "gacor" },
        { "SLOT", 0, "slot" },
        { "(?:\\+?62|0)8[0-9 .-]{8,14}", 0, "8" },
        { "@[a-z]{0,30}", 0, "@" },
        { "x@?y", 0, "" },
        { "judi\\s+online|togel", 0, "online|togel" },
        { "https?://", 0, "http" },
        { "ab+c", 0, "ab" },
        { "ab{2}cd", 0, "ab" },
        { "ab{2}cde", 0, "cde" },
        { "a{0,3}bc", 0, "bc" },
        { "colou?r", 0, "colo" },
        { "go+gle", 0, "gle" },
        { "go*gle", 0, "gle" },
        { "a\\.b\\.com", 0, "a.b.com" },
        { "a\\-b\\/c d", 0, "a-b/c d" },
        { "(foo|bar)baz", 0, "baz" },
        { "(foo|bar)ba", 0, "foo|bar" },
        { "(?:foo|bar)+", 0, "foo|bar" },
        { "(?:foo|bar)?x", 0, "" },
        { "(?:foo|bar){0,2}xy", 0, "xy" },
        { "(?:foo|b)zz", 0, "zz" },
        { "(?>abc)", 0, "abc" },
        { "x(?=abc)yz", 0, "yz" },
        { "(?<!abc)yz", 0, "yz" },
        { "\\d+ribu", 0, "ribu" },
        { "[a-z]+88", 0, "88" },
        { "[]ab]cd", 0, "cd" },
        { "[^\\]x]+cd", 0, "cd" },
        { "\\x41bc", 0, "bc" },
        { "\\x{41}bc", 0, "bc" },
        { "\\p{L}ab|\\pLcd", 0, "ab|cd" },
        { "\\bslot\\b", 0, "slot" },
        { "a\xc3\xa9xyz", 0, "xyz" },
        { "ab\xc3\xa9?xy", 0, "ab" },
        { "((ab|cd)ef|gh)", 0, "ef|gh" },
        { "a|bc", 0, "" },
        { "foo|", 0, "" },
        { "(?i)foo", 0, "" },
        { "(?x)f o o", 0, "" },
        { "(?<n>foo)", 0, "" },
        { "(foo)\\1", 0, "foo" },
        { "(ab|cd)x\\1", 0, "ab|cd" },
        { "\\b(ab|cd)\\b.*?(?!\\1\\b)(?:efg|hij)", 0, "efg|hij" },
        { "(a)\\12bcd", 0, "bcd" },
        { "\\0abc", 0, "" },
        { "\\b(?:w01|w02|w03|w04|w05|w06|w07|w08|w09|w10|w11|w12|w13|w14|"
          "w15|w16|w17|w18|w19|w20)\\b", 0,
          "w01|w02|w03|w04|w05|w06|w07|w08|w09|w10|w11|w12|w13|w14|w15|w16|"
          "w17|w18|w19|w20" },
        { "\\Qab\\E", 0, "" },
        { "a{,3}bcd", 0, "" },
        { "[]a-z]+3333333{3333333333333333333333}88", 0, "3333333" },
        { "ab{0000000000000000000000000}cd", 0, "cd" },
        { "(*UCP)foo", 0, "" },
        { "[[:alpha:]]foo", 0, "" },
        { "[^^\\c]/c]/d", 0, "" },
        { "foo)", 0, "" },
        { "(foo", 0, "" },
        { "ab\\", 0, "" },
        { "WA ?0812", CM_REGEX_LITERALS_NO_LETTERS, "0812" },
        { "slot", CM_REGEX_LITERALS_NO_LETTERS, "" },
        { "wa\\.me/62", CM_REGEX_LITERALS_NO_LETTERS, "/62" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = cm_regex_literals(cases[i].pattern, strlen(cases[i].pattern),
                              cases[i].flags, buf, lits);

        at = 0;
        for (j = 0; j < n; j++) {
            assert_true(lits[j].len >= 2
                        || (lits[j].len == 1 && !isalpha(lits[j].data[0])));
            at += (size_t) snprintf(got + at, sizeof(got) - at, "%s%.*s",
                                    j ? "|" : "", (int) lits[j].len,
                                    lits[j].data);
        }
        got[at] = '\0';

        if (strcmp(got, cases[i].literals) != 0) {
            fail_msg("pattern \"%s\": literals \"%s\", expected \"%s\"",
                     cases[i].pattern, got, cases[i].literals);
        }
    }
}


/*
 * A list of alternative words is prefiltered up to CM_REGEX_LITERALS_MAX
 * words, each of them a literal; one word more and there is no prefilter.
 */
static void
test_literals_many(void **state)
{
    char                pat[1024], buf[1024];
    size_t              at, i, n, words;
    cm_regex_literal_t  lits[CM_REGEX_LITERALS_MAX];

    (void) state;

    for (words = CM_REGEX_LITERALS_MAX; words <= CM_REGEX_LITERALS_MAX + 1;
         words++)
    {
        at = (size_t) snprintf(pat, sizeof(pat), "\\b(?:");
        for (i = 0; i < words; i++) {
            at += (size_t) snprintf(pat + at, sizeof(pat) - at, "%sw%03zu",
                                    i ? "|" : "", i);
        }
        at += (size_t) snprintf(pat + at, sizeof(pat) - at, ")\\b");

        n = cm_regex_literals(pat, at, 0, buf, lits);

        if (words > CM_REGEX_LITERALS_MAX) {
            assert_int_equal(n, 0);
            continue;
        }

        assert_int_equal(n, words);
        for (i = 0; i < n; i++) {
            assert_int_equal(lits[i].len, 4);
            assert_int_equal(lits[i].data[0], 'w');
            assert_int_equal((lits[i].data[1] - '0') * 100
                             + (lits[i].data[2] - '0') * 10
                             + (lits[i].data[3] - '0'), i);
        }
    }
}


/* a random pattern over a tiny alphabet, with most of the syntax */
static size_t
random_pattern(char *p, size_t at, size_t max, int depth)
{
    static const char  *atoms[] = { "a", "b", "1", "A", "\\.", ".", "[ab]",
                                    "\\d", "\\w", "\\b", "^", "$", "ab",
                                    "b1", "a.", "\\x61", "(?<=a)", "(?<!b1)",
                                    "\\1" };
    static const char  *quants[] = { "", "", "", "", "?", "*", "+", "{0,2}",
                                     "{1,2}", "{2}", "??", "+?", "*+" };
    static const char  *opens[] = { "(?:", "(", "(?=", "(?!", "(?>" };
    int                 i, n;
    const char         *s;

    n = 1 + rand() % 4;

    for (i = 0; i < n && at + 24 < max; i++) {
        if (depth < 3 && rand() % 5 == 0) {
            s = opens[rand() % 5];
            at += (size_t) snprintf(p + at, max - at, "%s", s);
            at = random_pattern(p, at, max, depth + 1);
            if (rand() % 2 && at + 24 < max) {
                p[at++] = '|';
                at = random_pattern(p, at, max, depth + 1);
            }
            at += (size_t) snprintf(p + at, max - at, ")%s",
                                    quants[rand() % 13]);
            continue;
        }

        /* assertions without quantifiers */
        s = atoms[rand() % 19];
        at += (size_t) snprintf(p + at, max - at, "%s%s", s,
                                (strchr("^$(", s[0]) || strcmp(s, "\\b") == 0)
                                ? "" : quants[rand() % 13]);
    }

    if (depth == 0 && rand() % 4 == 0 && at + 24 < max) {
        p[at++] = '|';
        at = random_pattern(p, at, max, 1);
    }

    p[at] = '\0';

    return at;
}


static int
contains_caseless(const char *t, size_t len, const cm_regex_literal_t *l)
{
    size_t  i, k;

    for (i = 0; i + l->len <= len; i++) {
        for (k = 0; k < l->len; k++) {
            char c = t[i + k];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (c != l->data[k]) {
                break;
            }
        }

        if (k == l->len) {
            return 1;
        }
    }

    return 0;
}


/*
 * For many random patterns with literals, every text of up to 5 characters
 * over the patterns' alphabet that the pattern matches holds a literal.
 */
static void
test_literals_sound(void **state)
{
    char                pat[160], buf[160], err[256], text[8];
    size_t              plen, n, i, k, len, code, total, off, s, e, with,
                        nsets[2], both;
    unsigned            flags;
    cm_regex_t         *re;
    cm_regex_literal_t  lits[CM_REGEX_LITERALS_MAX],
                        also[CM_REGEX_LITERALS_MAX];
    static const char   alpha[] = "ab1A.";

    (void) state;

    srand(4242);
    with = 0;
    both = 0;

    for (i = 0; i < 6000; i++) {
        plen = random_pattern(pat, 0, sizeof(pat), 0);
        flags = (i % 5 == 0) ? CM_REGEX_LITERALS_NO_LETTERS : 0;

        n = cm_regex_literal_sets(pat, plen, flags, buf, lits, nsets, also);
        if (n == 0) {
            continue;
        }

        re = cm_regex_compile(pat, plen, err, sizeof(err), &off);
        if (re == NULL) {
            continue;
        }

        with++;
        both += (nsets[1] > 0);

        for (len = 0; len <= 5; len++) {
            total = 1;
            for (k = 0; k < len; k++) {
                total *= 5;
            }

            for (code = 0; code < total; code++) {
                size_t c = code;

                for (k = 0; k < len; k++) {
                    text[k] = alpha[c % 5];
                    c /= 5;
                }

                if (cm_regex_exec(re, text, len, 0, &s, &e)
                    != CM_REGEX_MATCH)
                {
                    continue;
                }

                /* what pcre2 knows must not rule out a text that matches */
                if (!cm_regex_may_match(re, len, 0)) {
                    fail_msg("pattern \"%s\" matches \"%.*s\" but was "
                             "ruled out", pat, (int) len, text);
                }

                for (k = 0; k < n; k++) {
                    if (contains_caseless(text, len, &lits[k])) {
                        break;
                    }
                }

                if (k == n) {
                    fail_msg("pattern \"%s\" matches \"%.*s\" without its "
                             "literal \"%.*s\"", pat, (int) len, text,
                             (int) lits[0].len, lits[0].data);
                }

                for (k = 0; k < nsets[1]; k++) {
                    if (contains_caseless(text, len, &also[k])) {
                        break;
                    }
                }

                if (nsets[1] > 0 && k == nsets[1]) {
                    fail_msg("pattern \"%s\" matches \"%.*s\" without its "
                             "second set's literal \"%.*s\"", pat, (int) len,
                             text, (int) also[0].len, also[0].data);
                }
            }
        }

        cm_regex_free(re);
    }

    /* the generator must exercise the extractor */
    print_message("%zu patterns with literals, %zu with two sets\n", with,
                  both);
    assert_true(with > 500);
    assert_true(both > 15);
}


static cm_regex_t *
regex(const char *pattern)
{
    char    err[256];
    size_t  off;

    return cm_regex_compile(pattern, strlen(pattern), err, sizeof(err), &off);
}


/* what pcre2 learns at compile time rules out texts that cannot match */
static void
test_may_match(void **state)
{
    cm_regex_t  *styled, *swarm, *plain;

    (void) state;

    styled = regex("[\\x{1D400}-\\x{1D7FF}\\x{FF21}-\\x{FF3A}]");
    swarm = regex("\\S.{39,}");
    plain = regex("ab|cd");

    assert_non_null(styled);
    assert_non_null(swarm);
    assert_non_null(plain);

    /* only a text with a non-ASCII byte can hold a styled letter */
    assert_false(cm_regex_may_match(styled, 100, 0));
    assert_true(cm_regex_may_match(styled, 100, 1));

    /* 40 characters at least */
    assert_false(cm_regex_may_match(swarm, 39, 1));
    assert_true(cm_regex_may_match(swarm, 40, 0));

    assert_false(cm_regex_may_match(plain, 1, 0));
    assert_true(cm_regex_may_match(plain, 2, 0));

    cm_regex_free(styled);
    cm_regex_free(swarm);
    cm_regex_free(plain);
}


/* the two sets of a pattern of one branch, as "first & second" */
static void
test_literal_sets(void **state)
{
    char                buf[256], got[512];
    size_t              i, j, k, n[2], at;
    cm_regex_literal_t  lits[2][CM_REGEX_LITERALS_MAX];
    static const struct {
        const char     *pattern;
        const char     *sets;
    } cases[] = {
        { "\\b(?:promo|gacor)\\s*(?:sultan|garuda)\\d+",
          "sultan|garuda & promo|gacor" },
        { "slot\\s*gacor", "gacor & slot" },
        { "kasar\\s+(?:lu|lo)\\b", "kasar & lu|lo" },
        { "ab(?:cd|ef)?gh", "ab & gh" },
        { "judi\\s+online|togel", "online|togel & " },
        { "(?:a|bc)xyz", "xyz & " },
        { "x(?=abc)yz", "yz & " },
        { "(?:judi|slot)\\s+(?:online|gacor)", "online|gacor & judi|slot" },
        { "a|bc", " & " },
        { "@[a-z0-9_.]{0,30}[a-z](?:4d|77)", "4d|77 & @" },
        { "(?:\\+?62|0)8[0-9 .-]{8,14}", "8 & 62|0" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        (void) cm_regex_literal_sets(cases[i].pattern,
                                     strlen(cases[i].pattern), 0, buf,
                                     lits[0], n, lits[1]);
        at = 0;

        for (k = 0; k < 2; k++) {
            for (j = 0; j < n[k]; j++) {
                at += (size_t) snprintf(got + at, sizeof(got) - at, "%s%.*s",
                                        j ? "|" : "", (int) lits[k][j].len,
                                        lits[k][j].data);
            }

            if (k == 0) {
                at += (size_t) snprintf(got + at, sizeof(got) - at, " & ");
            }
        }

        if (strcmp(got, cases[i].sets) != 0) {
            fail_msg("pattern \"%s\": sets \"%s\", expected \"%s\"",
                     cases[i].pattern, got, cases[i].sets);
        }
    }
}


static int
teardown(void **state)
{
    (void) state;
    cm_regex_thread_cleanup();
    return 0;
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_compile_error),
        cm_test(test_match),
        cm_test(test_limit),
        cm_test(test_literals),
        cm_test(test_literals_many),
        cm_test(test_literals_sound),
        cm_test(test_literal_sets),
        cm_test(test_may_match),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
