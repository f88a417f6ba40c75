/*
 * Fuzzes cm_normalize() and checks what every input must keep: the raw view
 * is the input, offsets rise and stay inside it, flags only on the compact
 * views and paired, every view is valid UTF-8, and folding is idempotent.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_normalize.h"


static void
cm_fuzz_check_view(const cm_view_t *v, cm_view_e which, size_t raw_len)
{
    size_t  i, s, e;

    if (!cm_utf8_valid(v->text, v->len, NULL)) {
        abort();
    }

    if ((which >= CM_VIEW_COMPACT) != (v->flags != NULL)) {
        abort();
    }

    for (i = 0; i < v->len; i++) {
        if (v->src_start[i] >= v->src_end[i] || v->src_end[i] > raw_len) {
            abort();
        }

        if (i > 0 && (v->src_start[i] < v->src_start[i - 1]
                      || v->src_end[i] < v->src_end[i - 1]))
        {
            abort();
        }

        if (v->flags == NULL) {
            continue;
        }

        /* a word starts on a character's first byte, right after an end */
        if ((v->flags[i] & CM_WORD_START)
            && (((unsigned char) v->text[i] & 0xc0) == 0x80
                || (i > 0 && !(v->flags[i - 1] & CM_WORD_END))))
        {
            abort();
        }

        if ((v->flags[i] & CM_WORD_END)
            && i + 1 < v->len && !(v->flags[i + 1] & CM_WORD_START))
        {
            abort();
        }
    }

    if (v->flags != NULL && v->len > 0
        && (!(v->flags[0] & CM_WORD_START)
            || !(v->flags[v->len - 1] & CM_WORD_END)))
    {
        abort();
    }

    cm_view_span_to_raw(v, 0, v->len, &s, &e);

    if (s > e || e > raw_len) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t        bad, bad2, v;
    cm_text_t     t, again;
    cm_alloc_t    a;
    cm_arena_t   *arena;
    cm_norm_rc_e  rc;
    const char   *raw = (const char *) data;

    arena = cm_arena_create();
    if (arena == NULL) {
        return 0;
    }

    a = cm_arena_allocator(arena);
    bad = (size_t) -1;

    rc = cm_normalize(raw, size, &a, &t, &bad);

    if (rc == CM_NORM_INVALID_UTF8) {
        if (bad >= size || cm_utf8_valid(raw, size, &bad2) || bad2 != bad
            || cm_utf8_valid(raw, bad, NULL) != 1)
        {
            abort();
        }

        cm_arena_destroy(arena);
        return 0;
    }

    if (rc != CM_NORM_OK || !cm_utf8_valid(raw, size, NULL)) {
        abort();
    }

    if (t.view[CM_VIEW_RAW].len != size
        || memcmp(t.view[CM_VIEW_RAW].text, raw, size) != 0
        || t.view[CM_VIEW_DELEET].len != t.view[CM_VIEW_FOLDED].len
        || t.view[CM_VIEW_COMPACT].len > t.view[CM_VIEW_FOLDED].len)
    {
        abort();
    }

    for (v = 0; v < CM_VIEW_N; v++) {
        cm_fuzz_check_view(&t.view[v], v, size);
    }

    /* folding the folded text changes nothing */
    if (cm_normalize(t.view[CM_VIEW_FOLDED].text, t.view[CM_VIEW_FOLDED].len,
                     &a, &again, NULL)
        != CM_NORM_OK
        || again.view[CM_VIEW_FOLDED].len != t.view[CM_VIEW_FOLDED].len
        || memcmp(again.view[CM_VIEW_FOLDED].text,
                  t.view[CM_VIEW_FOLDED].text, t.view[CM_VIEW_FOLDED].len)
           != 0)
    {
        abort();
    }

    cm_arena_destroy(arena);

    return 0;
}
