/*
 * Text normalization: the key against evasion.
 *
 * One raw UTF-8 field becomes several views that rules match against.  Every
 * byte of every view remembers the raw bytes it came from, so a match can be
 * shown to a moderator on the original text.
 *
 *   raw            the field as sent (validated UTF-8)
 *   folded         NFKC compatibility folding (fullwidth, mathematical
 *                  alphanumerics, circled letters, super/subscripts), look-
 *                  alikes folded to Latin (Cyrillic/Greek confusables), lower
 *                  case, combining marks and zero-width/bidi/format characters
 *                  removed, runs of white space collapsed to one space, runs
 *                  of 3+ identical letters collapsed to one ("sloooot" ->
 *                  "slot"), letters spaced apart joined ("s l o t" -> "slot";
 *                  two or more spaces between groups keep a word break).
 *                  Digits, punctuation and emoji stay.
 *   deleet         folded, with leetspeak undone inside words that hold at
 *                  least one letter: 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s
 *                  ("sl0t g4c0r" -> "slot gacor"; "0812", "Rp 10.000" and
 *                  "sultan88"-style letter+digit-suffix names keep digits
 *                  only where a digit does not sit between two letters).
 *   compact        folded with only letters and digits kept (any script);
 *                  word boundaries kept as flags, not characters.  Word and
 *                  phrase lists match here: "slot gacor", "slot-gacor" and
 *                  "slotgacor" are all "slotgacor" with boundaries.
 *   compact_deleet the same over the deleet view.
 *
 * Plain C, no nginx types; unit-tested and fuzzed alone.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_NORMALIZE_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_NORMALIZE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_http_comment_moderation_alloc.h"


typedef enum {
    CM_VIEW_RAW = 0,
    CM_VIEW_FOLDED,
    CM_VIEW_DELEET,
    CM_VIEW_COMPACT,
    CM_VIEW_COMPACT_DELEET,
    CM_VIEW_N
} cm_view_e;


/* cm_view_t.flags[i] bits (compact views only) */
#define CM_WORD_START  0x01     /* a word starts at byte i */
#define CM_WORD_END    0x02     /* a word ends after byte i */


typedef struct {
    const char      *text;      /* UTF-8, not NUL-terminated */
    size_t           len;
    const uint32_t  *src_start; /* [len]: raw offset where byte i's source starts */
    const uint32_t  *src_end;   /* [len]: raw offset just after byte i's source */
    const uint8_t   *flags;     /* [len]: CM_WORD_*, compact views; else NULL */
} cm_view_t;


typedef struct {
    cm_view_t        view[CM_VIEW_N];
} cm_text_t;


typedef enum {
    CM_NORM_OK = 0,
    CM_NORM_INVALID_UTF8,       /* overlong, surrogate, > U+10FFFF, truncated */
    CM_NORM_NO_MEMORY
} cm_norm_rc_e;


/*
 * Builds every view of "raw".  On CM_NORM_INVALID_UTF8, *bad_offset (if not
 * NULL) is the raw offset of the first invalid sequence.
 */
cm_norm_rc_e cm_normalize(const char *raw, size_t len, const cm_alloc_t *a,
    cm_text_t *out, size_t *bad_offset);

/*
 * Maps the view span [start, end) back to the raw span [*raw_start, *raw_end).
 * For the raw view it is the identity.
 */
void cm_view_span_to_raw(const cm_view_t *v, size_t start, size_t end,
    size_t *raw_start, size_t *raw_end);

/* 1 if the bytes are valid UTF-8 (no overlongs, no surrogates), else 0. */
int cm_utf8_valid(const char *s, size_t len, size_t *bad_offset);


#endif /* _NGX_HTTP_COMMENT_MODERATION_NORMALIZE_H_INCLUDED_ */
