/*
 * Fuzzes the literal prefilter: the input is a pattern, a NUL, a text.  If
 * the pattern compiles, has literals and matches a view of the text, that
 * view must hold one of the literals (case aside) of each literal set, or
 * the prefilter would have skipped a regex that matches: literals with
 * letters on the folded and deleet views, literals without on the raw view,
 * as the engine does.  cm_regex_may_match() must not rule the text out
 * either.
 */

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_normalize.h"
#include "ngx_http_comment_moderation_regex.h"


static int
cm_fuzz_contains(const char *t, size_t len, const cm_regex_literal_t *l)
{
    size_t         i, k;
    unsigned char  c;

    for (i = 0; i + l->len <= len; i++) {
        for (k = 0; k < l->len; k++) {
            c = (unsigned char) t[i + k];
            c = (c >= 'A' && c <= 'Z') ? c | 0x20 : c;

            if (c != (unsigned char) l->data[k]) {
                break;
            }
        }

        if (k == l->len) {
            return 1;
        }
    }

    return 0;
}


static void
cm_fuzz_check(const cm_regex_t *re, const char *pattern, size_t plen,
    unsigned flags, const cm_view_t *v, char *buf)
{
    size_t              n[2], k, i, s, e;
    cm_regex_literal_t  lits[2][CM_REGEX_LITERALS_MAX];

    (void) cm_regex_literal_sets(pattern, plen, flags, buf, lits[0], n,
                                 lits[1]);

    if (n[0] == 0 && n[1] != 0) {
        abort();
    }

    for (i = 0; i < 2; i++) {
        for (k = 0; k < n[i]; k++) {
            if (lits[i][k].len == 0
                || (lits[i][k].len == 1 && isalpha(lits[i][k].data[0]))
                || lits[i][k].data < buf
                || lits[i][k].data + lits[i][k].len > buf + plen)
            {
                abort();
            }
        }
    }

    if (re == NULL || v == NULL
        || cm_regex_exec(re, v->text, v->len, 0, &s, &e) != CM_REGEX_MATCH)
    {
        return;
    }

    /* what pcre2 learned must not rule out a text that matches */
    for (k = 0; k < v->len && (unsigned char) v->text[k] < 0x80; k++) {
        /* void */
    }

    if (!cm_regex_may_match(re, v->len, k < v->len)) {
        abort();
    }

    if (n[0] == 0) {
        return;
    }

    /* each set: one of its literals in the text */
    for (i = 0; i < 2; i++) {
        for (k = 0; k < n[i]; k++) {
            if (cm_fuzz_contains(v->text, v->len, &lits[i][k])) {
                break;
            }
        }

        if (n[i] > 0 && k == n[i]) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char         err[256], *buf;
    size_t       plen, tlen, off;
    cm_text_t    t;
    cm_alloc_t   a;
    cm_arena_t  *arena;
    cm_regex_t  *re;
    const char  *pattern, *text, *nul;
    int          ok;

    pattern = (const char *) data;
    nul = memchr(data, '\0', size);
    plen = nul ? (size_t) (nul - pattern) : size;
    text = nul ? nul + 1 : "";
    tlen = nul ? size - plen - 1 : 0;

    buf = malloc(plen + 1);
    arena = cm_arena_create();
    if (buf == NULL || arena == NULL) {
        abort();
    }

    a = cm_arena_allocator(arena);
    re = cm_regex_compile(pattern, plen, err, sizeof(err), &off);
    ok = (cm_normalize(text, tlen, &a, &t, NULL) == CM_NORM_OK);

    cm_fuzz_check(re, pattern, plen, CM_REGEX_LITERALS_NO_LETTERS,
                  ok ? &t.view[CM_VIEW_RAW] : NULL, buf);
    cm_fuzz_check(re, pattern, plen, 0, ok ? &t.view[CM_VIEW_FOLDED] : NULL,
                  buf);
    cm_fuzz_check(re, pattern, plen, 0, ok ? &t.view[CM_VIEW_DELEET] : NULL,
                  buf);

    cm_regex_free(re);
    cm_arena_destroy(arena);
    free(buf);

    return 0;
}
