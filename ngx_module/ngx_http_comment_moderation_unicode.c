/*
 * UTF-8 decoding and lookups in the generated Unicode tables.
 */

#include <stddef.h>
#include <stdint.h>

#include "ngx_http_comment_moderation_unicode.h"
#include "ngx_http_comment_moderation_unicode_classes.h"
#include "ngx_http_comment_moderation_unicode_fold_points.h"
#include "ngx_http_comment_moderation_unicode_fold_refs.h"
#include "ngx_http_comment_moderation_unicode_fold_pool.h"


#define CM_UNICODE_N(a)  (sizeof(a) / sizeof((a)[0]))


/* a byte 10xxxxxx */
#define cm_utf8_cont(c)  (((c) & 0xc0) == 0x80)


size_t
cm_utf8_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char  c;
    uint32_t       lo, hi;
    size_t         n, i;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    /* the second byte's range excludes overlongs, surrogates, > U+10FFFF */
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        *cp = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        *cp = c & 0x0f;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        *cp = c & 0x07;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if (len < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (!cm_utf8_cont(p[i])) {
            return 0;
        }

        *cp = (*cp << 6) | (p[i] & 0x3f);
    }

    return n;
}


cm_uclass_e
cm_unicode_class_search(uint32_t cp)
{
    size_t  lo, hi, mid;

    /* the last range that starts at or before cp; the first starts at 0 */
    lo = 0;
    hi = CM_UNICODE_N(cm_unicode_class_ranges);

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if ((cm_unicode_class_ranges[mid] >> 3) <= cp) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return cm_unicode_class_ranges[lo] & 0x07;
}


const char *
cm_unicode_fold(uint32_t cp, size_t *len)
{
    size_t       lo, hi, mid;
    uint32_t     ref;

    static const char  lower[] = "abcdefghijklmnopqrstuvwxyz";

    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') {
            *len = 1;
            return &lower[cp - 'A'];
        }

        return NULL;
    }

    lo = 0;
    hi = CM_UNICODE_N(cm_unicode_fold_cp);

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (cm_unicode_fold_cp[mid] < cp) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo == CM_UNICODE_N(cm_unicode_fold_cp)
        || cm_unicode_fold_cp[lo] != cp)
    {
        return NULL;
    }

    ref = cm_unicode_fold_ref[lo];
    *len = ref & 0x3f;

    return &cm_unicode_fold_pool[ref >> 6];
}
