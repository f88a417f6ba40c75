/*
 * UTF-8 and the Unicode data the normalizer needs: what class a code point
 * is, and what it folds to.  The tables are generated from Unicode's own
 * data by scripts/gen-unicode-tables; ASCII never searches them.
 *
 * Plain C, no nginx types.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_UNICODE_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_UNICODE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


typedef enum {
    CM_UCLASS_OTHER = 0,        /* punctuation, symbols, emoji: kept */
    CM_UCLASS_LETTER,
    CM_UCLASS_DIGIT,
    CM_UCLASS_SPACE,
    CM_UCLASS_MARK,             /* combining marks: dropped */
    CM_UCLASS_FORMAT            /* zero-width, bidi, controls: dropped */
} cm_uclass_e;


/* the class of each ASCII character: ASCII never searches the tables */
extern const uint8_t  cm_unicode_ascii_class[128];


/*
 * Decodes the UTF-8 sequence at p (len > 0 bytes available) into *cp.
 * Returns its length (1-4), or 0 if it is invalid: an overlong form, a
 * surrogate, above U+10FFFF, a stray continuation byte, or truncated.
 */
size_t cm_utf8_decode(const unsigned char *p, size_t len, uint32_t *cp);

cm_uclass_e cm_unicode_class_search(uint32_t cp);

/*
 * What cp folds to, as UTF-8 in *len bytes: a string of code points that
 * fold to themselves.  NULL when cp folds to itself.  Characters of a
 * dropped class are not folded: the caller drops them.
 */
const char *cm_unicode_fold(uint32_t cp, size_t *len);


static inline size_t
cm_utf8_length(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}


/* Writes cp (a valid scalar value) as UTF-8 to buf[4]; returns its length. */

static inline size_t
cm_utf8_encode(uint32_t cp, unsigned char *buf)
{
    size_t  n, i;

    if (cp < 0x80) {
        buf[0] = (unsigned char) cp;
        return 1;
    }

    n = cm_utf8_length(cp);

    for (i = n - 1; i > 0; i--) {
        buf[i] = (unsigned char) (0x80 | (cp & 0x3f));
        cp >>= 6;
    }

    /* 110xxxxx, 1110xxxx or 11110xxx */
    buf[0] = (unsigned char) ((0xf00 >> n) | cp);

    return n;
}


static inline cm_uclass_e
cm_unicode_class(uint32_t cp)
{
    if (cp < 0x80) {
        return (cm_uclass_e) cm_unicode_ascii_class[cp];
    }

    return cm_unicode_class_search(cp);
}


#endif /* _NGX_HTTP_COMMENT_MODERATION_UNICODE_H_INCLUDED_ */
