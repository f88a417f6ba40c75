/*
 * Text normalization: raw UTF-8 into the views rules match against.
 *
 * The raw text becomes an array of characters, each with the raw span it
 * came from: folded (ngx_http_comment_moderation_unicode.c), dropped
 * characters left out.  A few passes rewrite that array in place, only ever
 * removing characters, so it never grows: join letters spaced apart,
 * collapse runs of white space and of a letter, mark leetspeak.  The views
 * are then written from it.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_http_comment_moderation_normalize.h"
#include "ngx_http_comment_moderation_unicode.h"


/* a run of this many identical letters or more is one letter */
#define CM_NORM_SQUEEZE_RUN   3

/* this many characters spaced apart or more are joined into a word */
#define CM_NORM_JOIN_MEMBERS  3

/* a separator between spaced letters is at most this wide, a run of white
   space counting as one */
#define CM_NORM_JOIN_SEP      3


/* cm_norm_char_t.flags */
#define CM_NORM_JOINED        0x01  /* joined from letters spaced apart */


typedef struct {
    uint32_t          cp;
    uint32_t          start;        /* raw span of the source character */
    uint32_t          end;
    uint8_t           cls;          /* cm_uclass_e */
    uint8_t           flags;        /* CM_NORM_* */
    uint8_t           leet;         /* replaces cp in the deleet view, or 0 */
} cm_norm_char_t;


typedef struct {
    cm_norm_char_t   *c;
    size_t            n;
    size_t            cap;      /* characters c has room for */

    /* noted while decoding: the passes that may change something */
    unsigned          todo;     /* CM_NORM_TODO_* */
    size_t            run;      /* letters and digits in a row */
    int               run_spaced;   /* the run's first may be spaced */
    uint32_t          prev;     /* the last two characters */
    uint32_t          prev2;
    uint8_t           prev_cls;
    uint8_t           non_ascii;    /* a character >= U+0080 */
} cm_norm_chars_t;


/* cm_norm_chars_t.todo */
#define CM_NORM_TODO_JOIN      0x01 /* a one-character word */
#define CM_NORM_TODO_COLLAPSE  0x02 /* white space other than single " "
                                       between words, or a letter thrice */
#define CM_NORM_TODO_DELEET    0x04 /* a digit, "@" or "$" */


/* a view being written */
typedef struct {
    unsigned char    *text;
    uint32_t         *start;
    uint32_t         *end;
    uint8_t          *flags;
    size_t            len;
} cm_norm_buf_t;


/* the letter a leet digit or sign reads as */
static const char  cm_norm_leet[128] = {
    ['0'] = 'o', ['1'] = 'i', ['3'] = 'e', ['4'] = 'a', ['5'] = 's',
    ['7'] = 't', ['@'] = 'a', ['$'] = 's'
};


static cm_norm_rc_e cm_norm_decode(const unsigned char *raw, size_t len,
    const cm_alloc_t *a, cm_norm_chars_t *chars, size_t *bad_offset);
static inline void cm_norm_put(cm_norm_chars_t *chars, uint32_t cp,
    cm_uclass_e cls, size_t start, size_t end);
static void cm_norm_collapse(cm_norm_chars_t *chars);
static void cm_norm_join_spaced(cm_norm_chars_t *chars);
static size_t cm_norm_run_end(const cm_norm_chars_t *chars, size_t i,
    size_t *members, size_t *letters, size_t *min_sep);
static size_t cm_norm_join_run(cm_norm_chars_t *chars, size_t i, size_t end,
    size_t min_sep, size_t w);
static size_t cm_norm_sep_end(const cm_norm_chars_t *chars, size_t i);
static size_t cm_norm_sep_width(const cm_norm_chars_t *chars, size_t from,
    size_t to);
static size_t cm_norm_sep_weight(const cm_norm_chars_t *chars, size_t from,
    size_t to);
static inline int cm_norm_spaced(const cm_norm_chars_t *chars, size_t i);
static void cm_norm_deleet(cm_norm_chars_t *chars);
static void cm_norm_deleet_digits(cm_norm_chars_t *chars, size_t token,
    size_t from, size_t token_end);
static cm_norm_rc_e cm_norm_raw_view(const char *raw, size_t len,
    const cm_alloc_t *a, cm_view_t *v);
static cm_norm_rc_e cm_norm_views(const cm_norm_chars_t *chars,
    const cm_alloc_t *a, cm_text_t *out);
static cm_norm_rc_e cm_norm_buf_alloc(const cm_alloc_t *a, size_t len,
    int sources, int flags, cm_norm_buf_t *b);
static size_t cm_norm_put_bytes(cm_norm_buf_t *b, size_t at,
    const unsigned char *p, size_t n, const cm_norm_char_t *ch,
    uint8_t edges);
static void *cm_norm_alloc_array(const cm_alloc_t *a, size_t n, size_t size);


#define cm_norm_alnum(cls)                                                    \
    ((cls) == CM_UCLASS_LETTER || (cls) == CM_UCLASS_DIGIT)

#define cm_norm_dropped(cls)                                                  \
    ((cls) == CM_UCLASS_MARK || (cls) == CM_UCLASS_FORMAT)

#define cm_norm_is_letter(ch)  ((ch)->cls == CM_UCLASS_LETTER)

#define cm_norm_is_space(ch)   ((ch)->cls == CM_UCLASS_SPACE)

#define cm_norm_leet_digit(cp)                                                \
    ((cp) >= '0' && (cp) <= '9' && cm_norm_leet[cp] != 0)

/* a character of a deleet token: a letter, a digit, or "@" or "$" */
#define cm_norm_leet_token(ch)                                                \
    (cm_norm_alnum((ch)->cls) || (ch)->cp == '@' || (ch)->cp == '$')



cm_norm_rc_e
cm_normalize(const char *raw, size_t len, const cm_alloc_t *a,
    cm_text_t *out, size_t *bad_offset)
{
    cm_norm_rc_e     rc;
    cm_norm_chars_t  chars;

    memset(out, 0, sizeof(cm_text_t));

    /* raw offsets are 32-bit */
    if (len >= UINT32_MAX) {
        return CM_NORM_NO_MEMORY;
    }

    rc = cm_norm_decode((const unsigned char *) raw, len, a, &chars,
                        bad_offset);
    if (rc != CM_NORM_OK) {
        return rc;
    }

    /*
     * Joining comes first: "s l o o o t" is squeezed as "slooot".  A pass
     * that would change nothing is skipped.
     */
    if (chars.todo & CM_NORM_TODO_JOIN) {
        cm_norm_join_spaced(&chars);
        chars.todo |= CM_NORM_TODO_COLLAPSE;
    }

    if (chars.todo & CM_NORM_TODO_COLLAPSE) {
        cm_norm_collapse(&chars);
    }

    if (chars.todo & CM_NORM_TODO_DELEET) {
        cm_norm_deleet(&chars);
    }

    rc = cm_norm_raw_view(raw, len, a, &out->view[CM_VIEW_RAW]);
    if (rc != CM_NORM_OK) {
        return rc;
    }

    return cm_norm_views(&chars, a, out);
}


void
cm_view_span_to_raw(const cm_view_t *v, size_t start, size_t end,
    size_t *raw_start, size_t *raw_end)
{
    if (end > v->len) {
        end = v->len;
    }

    if (start > end) {
        start = end;
    }

    if (v->len == 0) {
        *raw_start = 0;
        *raw_end = 0;
        return;
    }

    if (start == end) {
        /* an empty span sits where the byte at "start" comes from */
        *raw_start = start < v->len ? v->src_start[start]
                                    : v->src_end[v->len - 1];
        *raw_end = *raw_start;
        return;
    }

    *raw_start = v->src_start[start];
    *raw_end = v->src_end[end - 1];
}


int
cm_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    size_t    i, n;
    uint32_t  cp;

    for (i = 0; i < len; i += n) {
        n = cm_utf8_decode((const unsigned char *) s + i, len - i, &cp);

        if (n == 0) {
            if (bad_offset) {
                *bad_offset = i;
            }

            return 0;
        }
    }

    return 1;
}


/*
 * Validates and folds raw into characters, dropped ones left out.  The
 * array gets room for one character per raw byte; folds that expand past
 * that (a ligature into letters) are only counted, and a second pass fills
 * an array of the counted size.
 */

static cm_norm_rc_e
cm_norm_decode(const unsigned char *raw, size_t len, const cm_alloc_t *a,
    cm_norm_chars_t *chars, size_t *bad_offset)
{
    size_t            i, n, k, m, flen;
    uint32_t          cp;
    cm_uclass_e       cls;
    const char       *fold;

    chars->cap = len;

    for ( ;; ) {
        chars->c = cm_norm_alloc_array(a, chars->cap, sizeof(cm_norm_char_t));
        if (chars->c == NULL) {
            return CM_NORM_NO_MEMORY;
        }

        chars->n = 0;
        chars->todo = 0;
        chars->run = 0;
        chars->run_spaced = 0;
        chars->prev = 0;
        chars->prev2 = 0;
        chars->prev_cls = CM_UCLASS_OTHER;
        chars->non_ascii = 0;

        for (i = 0; i < len; i += n) {
            cp = raw[i];

            /* ASCII folds to lower case, and to nothing else */
            if (cp < 0x80) {
                n = 1;
                cls = cm_unicode_ascii_class[cp];

                if (!cm_norm_dropped(cls)) {
                    cm_norm_put(chars, cp - 'A' < 26 ? cp + 'a' - 'A' : cp,
                                cls, i, i + 1);
                }

                continue;
            }

            n = cm_utf8_decode(raw + i, len - i, &cp);

            if (n == 0) {
                if (bad_offset) {
                    *bad_offset = i;
                }

                return CM_NORM_INVALID_UTF8;
            }

            cls = cm_unicode_class_search(cp);

            if (cm_norm_dropped(cls)) {
                continue;
            }

            fold = cm_unicode_fold(cp, &flen);

            if (fold == NULL) {
                cm_norm_put(chars, cp, cls, i, i + n);
                continue;
            }

            /* a fold is characters that fold to themselves, none dropped */
            for (k = 0; k < flen; k += m) {
                m = cm_utf8_decode((const unsigned char *) fold + k, flen - k,
                                   &cp);
                if (m == 0) {
                    break;
                }

                cm_norm_put(chars, cp, cm_unicode_class(cp), i, i + n);
            }
        }

        /* a one-character word, or white space, at the end */
        if ((chars->run == 1 && chars->run_spaced)
            || chars->prev_cls == CM_UCLASS_SPACE)
        {
            chars->todo |= (chars->run == 1) ? CM_NORM_TODO_JOIN
                                             : CM_NORM_TODO_COLLAPSE;
        }

        if (chars->n <= chars->cap) {
            return CM_NORM_OK;
        }

        chars->cap = chars->n;
    }
}


/* appends a character; past the array's room, only counts it */

static inline void
cm_norm_put(cm_norm_chars_t *chars, uint32_t cp, cm_uclass_e cls,
    size_t start, size_t end)
{
    cm_norm_char_t  *ch;

    if (chars->n < chars->cap) {
        ch = &chars->c[chars->n];
        ch->cp = cp;
        ch->start = (uint32_t) start;
        ch->end = (uint32_t) end;
        ch->cls = (uint8_t) cls;
        ch->flags = 0;
        ch->leet = 0;
    }

    chars->n++;

    /* what the passes will find to do (see CM_NORM_TODO_*) */
    if (cm_norm_alnum(cls)) {
        if (chars->run++ == 0) {
            chars->run_spaced = (cls == CM_UCLASS_LETTER
                                 || cm_norm_leet_digit(cp));
        }

        if (cls == CM_UCLASS_DIGIT) {
            chars->todo |= CM_NORM_TODO_DELEET;

        } else if (cp == chars->prev && cp == chars->prev2) {
            chars->todo |= CM_NORM_TODO_COLLAPSE;
        }

    } else {
        if (chars->run == 1 && chars->run_spaced) {
            chars->todo |= CM_NORM_TODO_JOIN;
        }

        chars->run = 0;

        if (cls == CM_UCLASS_SPACE
            && (cp != ' ' || chars->prev_cls == CM_UCLASS_SPACE
                || chars->n == 1))
        {
            chars->todo |= CM_NORM_TODO_COLLAPSE;
        }

        if (cp == '@' || cp == '$') {
            chars->todo |= CM_NORM_TODO_DELEET;
        }
    }

    chars->prev2 = chars->prev;
    chars->prev = cp;
    chars->prev_cls = (uint8_t) cls;
    chars->non_ascii |= (cp >= 0x80);
}


/*
 * Runs of white space become one space, none at either end.  Runs of
 * CM_NORM_SQUEEZE_RUN or more identical letters become one letter
 * ("sloooot"), unless the run is the whole word: "www", "ppp", "zzz" stay.
 */

static void
cm_norm_collapse(cm_norm_chars_t *chars)
{
    size_t           i, j, w;
    cm_norm_char_t  *c;

    c = chars->c;
    w = 0;

    for (i = 0; i < chars->n; i = j) {
        j = i + 1;

        if (cm_norm_is_space(&c[i])) {
            while (j < chars->n && cm_norm_is_space(&c[j])) {
                j++;
            }

            if (w > 0 && j < chars->n) {
                c[w] = c[i];
                c[w].cp = ' ';
                c[w++].end = c[j - 1].end;
            }

            continue;
        }

        if (cm_norm_is_letter(&c[i])) {
            while (j < chars->n && c[j].cp == c[i].cp) {
                j++;
            }
        }

        if (j - i >= CM_NORM_SQUEEZE_RUN
            && ((i > 0 && cm_norm_alnum(c[i - 1].cls))
                || (j < chars->n && cm_norm_alnum(c[j].cls))))
        {
            c[w++] = c[i];
            continue;
        }

        if (w == i) {
            w = j;
            continue;
        }

        while (i < j) {
            c[w++] = c[i++];
        }
    }

    chars->n = w;
}


/*
 * Letters spaced apart ("s l o t", "s.l.o.t", "s  l  o  t", "b 0 s s") are
 * joined: a run of CM_NORM_JOIN_MEMBERS or more one-character tokens, more
 * of them letters than leet digits, each two linked by a short separator.
 * The narrowest separator of the run links the letters of a word; a wider
 * one ("s l o t  g a c o r") stays as a word break, as does white space
 * between letters linked by punctuation ("s.l.o.t g.a.c.o.r").  Fewer
 * letters ("a b") are left alone.
 *
 * Joining is idempotent: a joined run leaves no one-character word next to
 * another (they are joined together), so folding the folded text again
 * joins nothing more.
 */

static void
cm_norm_join_spaced(cm_norm_chars_t *chars)
{
    size_t           i, end, w, members, letters, min_sep;
    cm_norm_char_t  *c;

    c = chars->c;
    w = 0;
    i = 0;

    /* written characters never overtake read ones: w <= i */

    while (i < chars->n) {

        if (!cm_norm_spaced(chars, i)) {
            /* nothing removed yet: nothing to move */
            if (w != i) {
                c[w] = c[i];
            }

            w++;
            i++;
            continue;
        }

        end = cm_norm_run_end(chars, i, &members, &letters, &min_sep);

        if (members >= CM_NORM_JOIN_MEMBERS && 2 * letters > members) {
            w = cm_norm_join_run(chars, i, end, min_sep, w);
            i = end;
            continue;
        }

        while (i < end) {
            c[w++] = c[i++];
        }
    }

    chars->n = w;
}


/*
 * The end of the run of spaced characters that starts at i (after its last
 * one); how many they are, how many of them letters, and the weight of the
 * narrowest separator.
 */

static size_t
cm_norm_run_end(const cm_norm_chars_t *chars, size_t i, size_t *members,
    size_t *letters, size_t *min_sep)
{
    size_t  j, weight;

    *members = 0;
    *letters = 0;
    *min_sep = SIZE_MAX;

    for ( ;; ) {
        (*members)++;
        *letters += cm_norm_is_letter(&chars->c[i]);

        j = cm_norm_sep_end(chars, i + 1);

        if (j == chars->n
            || !cm_norm_spaced(chars, j)
            || cm_norm_sep_width(chars, i + 1, j) > CM_NORM_JOIN_SEP)
        {
            return i + 1;
        }

        weight = cm_norm_sep_weight(chars, i + 1, j);

        if (weight < *min_sep) {
            *min_sep = weight;
        }

        i = j;
    }
}


/*
 * Writes the run [i, end) joined at w: its groups (split at separators
 * heavier than min_sep) become words, groups of one character next to each
 * other one word.  Returns the write position after it.
 */

static size_t
cm_norm_join_run(cm_norm_chars_t *chars, size_t i, size_t end,
    size_t min_sep, size_t w)
{
    int              single, prev_single;
    size_t           sep, j;
    cm_norm_char_t  *c;

    c = chars->c;
    prev_single = 0;
    sep = i;

    /* i is at the first character of a group, [sep, i) the break before */

    while (i < end) {
        single = i + 1 == end
                 || cm_norm_sep_weight(chars, i + 1,
                                       cm_norm_sep_end(chars, i + 1))
                    > min_sep;

        if (!(single && prev_single)) {
            while (sep < i) {
                c[w++] = c[sep++];
            }
        }

        prev_single = single;

        for ( ;; ) {
            c[w] = c[i];
            c[w++].flags |= CM_NORM_JOINED;

            if (i + 1 == end) {
                return w;
            }

            j = cm_norm_sep_end(chars, i + 1);

            if (cm_norm_sep_weight(chars, i + 1, j) > min_sep) {
                sep = i + 1;
                i = j;
                break;
            }

            i = j;
        }
    }

    return w;
}


/* the end of the separator (the characters neither letters nor digits) at i */

static size_t
cm_norm_sep_end(const cm_norm_chars_t *chars, size_t i)
{
    while (i < chars->n && !cm_norm_alnum(chars->c[i].cls)) {
        i++;
    }

    return i;
}


/* the width of the separator [from, to), a run of white space counting 1 */

static size_t
cm_norm_sep_width(const cm_norm_chars_t *chars, size_t from, size_t to)
{
    size_t  i, width;

    width = 0;

    for (i = from; i < to; i++) {
        if (!(i > from && cm_norm_is_space(&chars->c[i])
              && cm_norm_is_space(&chars->c[i - 1])))
        {
            width++;
        }
    }

    return width;
}


/* how wide a separator is: its length, white space in it adding a half */

static size_t
cm_norm_sep_weight(const cm_norm_chars_t *chars, size_t from, size_t to)
{
    size_t  i, weight;

    weight = 2 * (to - from);

    for (i = from; i < to; i++) {
        if (cm_norm_is_space(&chars->c[i])) {
            return weight + 1;
        }
    }

    return weight;
}


/* a token of one character at i that may be a spaced letter */

static inline int
cm_norm_spaced(const cm_norm_chars_t *chars, size_t i)
{
    const cm_norm_char_t  *c;

    c = chars->c;

    return (cm_norm_is_letter(&c[i]) || cm_norm_leet_digit(c[i].cp))
           && (i == 0 || !cm_norm_alnum(c[i - 1].cls))
           && (i + 1 == chars->n || !cm_norm_alnum(c[i + 1].cls));
}


/*
 * Marks the leetspeak to undo: digits, "@" and "$" inside tokens that hold
 * a letter.
 */

static void
cm_norm_deleet(cm_norm_chars_t *chars)
{
    int              letter;
    size_t           i, token, from;
    cm_norm_char_t  *c;

    c = chars->c;
    i = 0;

    while (i < chars->n) {

        if (!cm_norm_leet_token(&c[i])) {
            i++;
            continue;
        }

        token = i;
        letter = 0;

        while (i < chars->n && cm_norm_leet_token(&c[i])) {
            letter |= cm_norm_is_letter(&c[i]);
            i++;
        }

        if (!letter) {
            continue;
        }

        for (from = token; from < i; /* void */) {
            if (cm_norm_is_letter(&c[from])) {
                from++;
                continue;
            }

            cm_norm_deleet_digits(chars, token, from, i);

            while (from < i && !cm_norm_is_letter(&c[from])) {
                from++;
            }
        }
    }
}


/*
 * The run of digits, "@" and "$" at "from" in the token [token, token_end)
 * reads as letters unless it looks like a number: a digit that is not leet,
 * two or more digits ending or starting the token ("sultan88", "100rb"), one
 * after three or more characters at the end ("anak2"), a lottery "4d", an
 * "@mention".
 */

static void
cm_norm_deleet_digits(cm_norm_chars_t *chars, size_t token, size_t from,
    size_t token_end)
{
    size_t           to, k;
    cm_norm_char_t  *c;

    c = chars->c;

    for (to = from; to < token_end && !cm_norm_is_letter(&c[to]); to++) {
        if (c[to].cp >= 128 || cm_norm_leet[c[to].cp] == 0) {
            return;
        }
    }

    if (to == token_end && (to - from >= 2 || from - token >= 3)) {
        return;
    }

    if (from == token && (to - from >= 2 || c[from].cp == '@')) {
        return;
    }

    if (to - from == 1 && to + 1 == token_end && c[to].cp == 'd') {
        return;
    }

    for (k = from; k < to; k++) {
        c[k].leet = (uint8_t) cm_norm_leet[c[k].cp];
    }
}


static cm_norm_rc_e
cm_norm_raw_view(const char *raw, size_t len, const cm_alloc_t *a,
    cm_view_t *v)
{
    size_t     i;
    uint32_t  *start, *end;

    start = cm_norm_alloc_array(a, len, sizeof(uint32_t));
    end = cm_norm_alloc_array(a, len, sizeof(uint32_t));

    if (start == NULL || end == NULL) {
        return CM_NORM_NO_MEMORY;
    }

    for (i = 0; i < len; i++) {
        start[i] = (uint32_t) i;
        end[i] = (uint32_t) i + 1;
    }

    v->text = len ? raw : "";
    v->len = len;
    v->src_start = start;
    v->src_end = end;

    return CM_NORM_OK;
}


/*
 * Writes the folded, deleet, compact and compact deleet views in one pass
 * over the characters.  The deleet view has the folded view's length (a
 * leet replacement is ASCII, as is what it replaces) and shares its sources.
 */

static cm_norm_rc_e
cm_norm_views(const cm_norm_chars_t *chars, const cm_alloc_t *a,
    cm_text_t *out)
{
    int                    same_f, same_d, next_f, next_d;
    size_t                 i, n, fl, kl, kdl, len[CM_VIEW_N];
    uint8_t                cls, dcls, edges_f, edges_d;
    unsigned char          utf8[4];
    cm_norm_buf_t          buf[CM_VIEW_N], *f, *d, *k, *kd;
    const cm_norm_char_t  *c;

    c = chars->c;
    len[CM_VIEW_FOLDED] = 0;
    len[CM_VIEW_COMPACT] = 0;
    len[CM_VIEW_COMPACT_DELEET] = 0;

    /* ASCII only: a byte per character, the compact views at most as long */
    if (!chars->non_ascii) {
        len[CM_VIEW_FOLDED] = chars->n;
        len[CM_VIEW_COMPACT] = chars->n;
        len[CM_VIEW_COMPACT_DELEET] = chars->n;
    }

    for (i = 0; i < chars->n && chars->non_ascii; i++) {
        n = cm_utf8_length(c[i].cp);
        len[CM_VIEW_FOLDED] += n;

        if (cm_norm_alnum(c[i].cls)) {
            len[CM_VIEW_COMPACT] += n;
            len[CM_VIEW_COMPACT_DELEET] += n;

        } else if (c[i].leet) {
            len[CM_VIEW_COMPACT_DELEET] += n;
        }
    }

    len[CM_VIEW_DELEET] = len[CM_VIEW_FOLDED];

    if (cm_norm_buf_alloc(a, len[CM_VIEW_FOLDED], 1, 0,
                          &buf[CM_VIEW_FOLDED]) != CM_NORM_OK
        || cm_norm_buf_alloc(a, len[CM_VIEW_DELEET], 0, 0,
                             &buf[CM_VIEW_DELEET]) != CM_NORM_OK
        || cm_norm_buf_alloc(a, len[CM_VIEW_COMPACT], 1, 1,
                             &buf[CM_VIEW_COMPACT]) != CM_NORM_OK
        || cm_norm_buf_alloc(a, len[CM_VIEW_COMPACT_DELEET], 1, 1,
                             &buf[CM_VIEW_COMPACT_DELEET]) != CM_NORM_OK)
    {
        return CM_NORM_NO_MEMORY;
    }

    /* same_*: character i continues the word of character i - 1 in the
       compact (f) and compact deleet (d) views */
    same_f = 0;
    same_d = 0;

    f = &buf[CM_VIEW_FOLDED];
    d = &buf[CM_VIEW_DELEET];
    k = &buf[CM_VIEW_COMPACT];
    kd = &buf[CM_VIEW_COMPACT_DELEET];
    fl = 0;
    kl = 0;
    kdl = 0;

    for (i = 0; i < chars->n; i++) {
        cls = c[i].cls;
        dcls = c[i].leet ? CM_UCLASS_LETTER : cls;

        next_f = 0;
        next_d = 0;

        if (i + 1 < chars->n
            && !((c[i].flags | c[i + 1].flags) & CM_NORM_JOINED))
        {
            next_f = (c[i + 1].cls == cls);
            next_d = ((c[i + 1].leet ? CM_UCLASS_LETTER : c[i + 1].cls)
                      == dcls);
        }

        edges_f = (same_f ? 0 : CM_WORD_START) | (next_f ? 0 : CM_WORD_END);
        edges_d = (same_d ? 0 : CM_WORD_START) | (next_d ? 0 : CM_WORD_END);
        same_f = next_f;
        same_d = next_d;

        /* most characters: one byte in each view */
        if (c[i].cp < 0x80) {
            f->text[fl] = (unsigned char) c[i].cp;
            d->text[fl] = c[i].leet ? c[i].leet : (unsigned char) c[i].cp;
            f->start[fl] = c[i].start;
            f->end[fl] = c[i].end;
            fl++;

            if (cm_norm_alnum(cls)) {
                k->text[kl] = (unsigned char) c[i].cp;
                k->start[kl] = c[i].start;
                k->end[kl] = c[i].end;
                k->flags[kl] = edges_f;
                kl++;
            }

            if (cm_norm_alnum(dcls)) {
                kd->text[kdl] = c[i].leet ? c[i].leet
                                          : (unsigned char) c[i].cp;
                kd->start[kdl] = c[i].start;
                kd->end[kdl] = c[i].end;
                kd->flags[kdl] = edges_d;
                kdl++;
            }

            continue;
        }

        /* leet replacements are ASCII: this is the same in both views */
        n = cm_utf8_encode(c[i].cp, utf8);

        cm_norm_put_bytes(d, fl, utf8, n, &c[i], 0);
        fl = cm_norm_put_bytes(f, fl, utf8, n, &c[i], 0);

        if (cm_norm_alnum(cls)) {
            kl = cm_norm_put_bytes(k, kl, utf8, n, &c[i], edges_f);
        }

        if (cm_norm_alnum(dcls)) {
            kdl = cm_norm_put_bytes(kd, kdl, utf8, n, &c[i], edges_d);
        }
    }

    f->len = fl;
    d->len = fl;
    k->len = kl;
    kd->len = kdl;

    for (i = CM_VIEW_FOLDED; i < CM_VIEW_N; i++) {
        out->view[i].text = (const char *) buf[i].text;
        out->view[i].len = buf[i].len;
        out->view[i].src_start = buf[i].start;
        out->view[i].src_end = buf[i].end;
        out->view[i].flags = buf[i].flags;
    }

    out->view[CM_VIEW_DELEET].src_start = buf[CM_VIEW_FOLDED].start;
    out->view[CM_VIEW_DELEET].src_end = buf[CM_VIEW_FOLDED].end;

    return CM_NORM_OK;
}


/* the arrays of a view of len bytes: its sources, its word flags if asked */

static cm_norm_rc_e
cm_norm_buf_alloc(const cm_alloc_t *a, size_t len, int sources, int flags,
    cm_norm_buf_t *b)
{
    b->len = 0;
    b->text = cm_norm_alloc_array(a, len, 1);
    b->start = sources ? cm_norm_alloc_array(a, len, sizeof(uint32_t)) : NULL;
    b->end = sources ? cm_norm_alloc_array(a, len, sizeof(uint32_t)) : NULL;
    b->flags = flags ? cm_norm_alloc_array(a, len, 1) : NULL;

    if (b->text == NULL || (sources && (b->start == NULL || b->end == NULL))
        || (flags && b->flags == NULL))
    {
        return CM_NORM_NO_MEMORY;
    }

    return CM_NORM_OK;
}


/*
 * Writes the n bytes of a character at "at" of a view; edges, its CM_WORD_*
 * flags, go on its first (CM_WORD_START) and last (CM_WORD_END) byte.
 * Returns the position after them.
 */

static size_t
cm_norm_put_bytes(cm_norm_buf_t *b, size_t at, const unsigned char *p,
    size_t n, const cm_norm_char_t *ch, uint8_t edges)
{
    size_t  k;

    for (k = 0; k < n; k++) {
        b->text[at + k] = p[k];

        if (b->start != NULL) {
            b->start[at + k] = ch->start;
            b->end[at + k] = ch->end;
        }

        if (b->flags != NULL) {
            b->flags[at + k] = 0;
        }
    }

    if (b->flags != NULL) {
        b->flags[at] |= edges & CM_WORD_START;
        b->flags[at + n - 1] |= edges & CM_WORD_END;
    }

    return at + n;
}


/* n elements of "size" bytes; never NULL for n == 0 */

static void *
cm_norm_alloc_array(const cm_alloc_t *a, size_t n, size_t size)
{
    if (n > SIZE_MAX / size - 1) {
        return NULL;
    }

    return cm_alloc(a, n ? n * size : size);
}
