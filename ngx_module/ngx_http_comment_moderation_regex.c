/*
 * pcre2 behind the engine's regex rules: compiling, matching under limits,
 * and the literal prefilter.
 */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_regex.h"


/*
 * Caseless UTF, without UCP (see the header).  \C could split a UTF-8
 * character, which matching with PCRE2_NO_UTF_CHECK makes unsafe.
 */
#define CM_REGEX_OPTIONS  (PCRE2_CASELESS | PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C)

/* nested groups the prefilter looks into before giving up */
#define CM_REGEX_LITERALS_DEPTH  32


struct cm_regex_s {
    pcre2_code  *code;
    size_t       min_len;       /* characters any match needs */
    int          non_ascii;     /* any match starts with a non-ASCII
                                   character */
};


/*
 * Per thread (an nginx worker has one): the match context holding the
 * limits and the JIT stack, and match data for one pair of offsets.
 */
static _Thread_local pcre2_match_context  *cm_regex_mctx;
static _Thread_local pcre2_jit_stack      *cm_regex_jit_stack;
static _Thread_local pcre2_match_data     *cm_regex_match_data;


/* 0: matches run in pcre2's interpreter (comment_moderation_regex_jit off) */
static int  cm_regex_jit = 1;


static int cm_regex_thread_init(void);
static void cm_regex_study(cm_regex_t *re);


cm_regex_t *
cm_regex_compile(const char *pattern, size_t len, char *err, size_t err_len,
    size_t *err_offset)
{
    int          rc;
    size_t       off;
    cm_regex_t  *re;
    PCRE2_UCHAR  msg[256];

    re = calloc(1, sizeof(cm_regex_t));
    if (re == NULL) {
        snprintf(err, err_len, "out of memory");
        *err_offset = 0;
        return NULL;
    }

    re->code = pcre2_compile((PCRE2_SPTR) pattern, len, CM_REGEX_OPTIONS,
                             &rc, &off, NULL);

    if (re->code == NULL) {
        if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0) {
            snprintf((char *) msg, sizeof(msg), "error %d", rc);
        }

        snprintf(err, err_len, "%s", (char *) msg);
        *err_offset = off;
        free(re);
        return NULL;
    }

    /* without JIT (unsupported platform) the interpreter runs it */
    (void) pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);

    cm_regex_study(re);

    return re;
}


/*
 * What pcre2 learned about the pattern's matches, which it uses itself to
 * give up early: their least length, and the bytes they may start with.
 */
static void
cm_regex_study(cm_regex_t *re)
{
    size_t          i;
    uint32_t        min;
    const uint8_t  *bitmap;

    if (pcre2_pattern_info(re->code, PCRE2_INFO_MINLENGTH, &min) == 0) {
        re->min_len = min;
    }

    bitmap = NULL;

    if (pcre2_pattern_info(re->code, PCRE2_INFO_FIRSTBITMAP, &bitmap) != 0
        || bitmap == NULL)
    {
        return;
    }

    /* bit b of bitmap[b / 8]: bytes 0-127 in the first 16 bytes */
    for (i = 0; i < 16; i++) {
        if (bitmap[i] != 0) {
            return;
        }
    }

    re->non_ascii = 1;
}


int
cm_regex_may_match(const cm_regex_t *re, size_t len, int non_ascii)
{
    return len >= re->min_len && (non_ascii || !re->non_ascii);
}


void
cm_regex_free(cm_regex_t *re)
{
    if (re == NULL) {
        return;
    }

    pcre2_code_free(re->code);
    free(re);
}


size_t
cm_regex_memory(const cm_regex_t *re)
{
    size_t  size, jit;

    size = 0;
    jit = 0;

    (void) pcre2_pattern_info(re->code, PCRE2_INFO_SIZE, &size);
    (void) pcre2_pattern_info(re->code, PCRE2_INFO_JITSIZE, &jit);

    return sizeof(cm_regex_t) + size + jit;
}


void
cm_regex_use_jit(int on)
{
    cm_regex_jit = on;
}


cm_regex_rc_e
cm_regex_exec(const cm_regex_t *re, const char *text, size_t len,
    size_t offset, size_t *start, size_t *end)
{
    int          rc;
    PCRE2_SIZE  *ov;

    if (cm_regex_match_data == NULL && cm_regex_thread_init() != 0) {
        return CM_REGEX_FAILED;
    }

    /* a NULL subject is only allowed with length 0 since pcre2 10.43 */
    if (text == NULL) {
        text = "";
        len = 0;
    }

    rc = pcre2_match(re->code, (PCRE2_SPTR) text, len, offset,
                     PCRE2_NO_UTF_CHECK | (cm_regex_jit ? 0 : PCRE2_NO_JIT),
                     cm_regex_match_data, cm_regex_mctx);

    if (rc >= 0) {
        /* 0: a match with more captures than one pair holds */
        ov = pcre2_get_ovector_pointer(cm_regex_match_data);

        /* \K in a lookahead can put the start after the end */
        *start = ov[0] < ov[1] ? ov[0] : ov[1];
        *end = ov[1];
        return CM_REGEX_MATCH;
    }

    switch (rc) {

    case PCRE2_ERROR_NOMATCH:
        return CM_REGEX_NOMATCH;

    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return CM_REGEX_LIMIT;

    default:
        return CM_REGEX_FAILED;
    }
}


void
cm_regex_thread_cleanup(void)
{
    pcre2_match_data_free(cm_regex_match_data);
    pcre2_match_context_free(cm_regex_mctx);
    pcre2_jit_stack_free(cm_regex_jit_stack);

    cm_regex_match_data = NULL;
    cm_regex_mctx = NULL;
    cm_regex_jit_stack = NULL;
}


static int
cm_regex_thread_init(void)
{
    cm_regex_mctx = pcre2_match_context_create(NULL);
    cm_regex_jit_stack = pcre2_jit_stack_create(32 * 1024, CM_REGEX_JIT_STACK,
                                                NULL);
    cm_regex_match_data = pcre2_match_data_create(1, NULL);

    if (cm_regex_mctx == NULL || cm_regex_jit_stack == NULL
        || cm_regex_match_data == NULL)
    {
        cm_regex_thread_cleanup();
        return -1;
    }

    pcre2_set_match_limit(cm_regex_mctx, CM_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(cm_regex_mctx, CM_REGEX_DEPTH_LIMIT);
    pcre2_jit_stack_assign(cm_regex_mctx, NULL, cm_regex_jit_stack);

    return 0;
}


/*
 * The literal prefilter: a small parser that reads the pattern as pcre2
 * would, as far as it understands it, and gives up on everything else.
 *
 * A branch (a sequence) requires each of its items that is not optional, so
 * any run of plain characters in it, or the literal set of a group it
 * requires, may stand for the branch: the best one does (longest shortest
 * literal, then fewest literals).  An alternation requires one of its
 * branches, so its set is the union of theirs, and only exists when every
 * branch has one.  A pattern of one branch also gets the second best set
 * of another required item: a match holds a literal of each.
 */

typedef struct {
    size_t                 n;           /* 0: no literal set */
    cm_regex_literal_t     v[CM_REGEX_LITERALS_MAX];
} cm_lit_set_t;


typedef struct {
    const unsigned char   *p;
    const unsigned char   *start;
    const unsigned char   *end;
    char                  *buf;         /* literal bytes, at most one per
                                           pattern byte */
    unsigned               flags;
    unsigned               depth;
    int                    failed;      /* gave up */
} cm_lit_parser_t;


/* the best sets of a branch, from two of its required items */
typedef struct {
    cm_lit_set_t           first;
    cm_lit_set_t           second;
} cm_lit_pick_t;


/* the run of plain characters being read in a branch */
typedef struct {
    char                  *data;
    size_t                 len;
} cm_lit_run_t;


static void cm_lit_alternation(cm_lit_parser_t *lp, cm_lit_set_t *set,
    cm_lit_set_t *second);
static void cm_lit_branch(cm_lit_parser_t *lp, cm_lit_pick_t *best);
static void cm_lit_group(cm_lit_parser_t *lp, cm_lit_set_t *set,
    int *required);
static void cm_lit_escape(cm_lit_parser_t *lp, cm_lit_run_t *run,
    cm_lit_pick_t *best);
static void cm_lit_char(cm_lit_parser_t *lp, unsigned char c,
    cm_lit_run_t *run, cm_lit_pick_t *best);
static void cm_lit_skip_class(cm_lit_parser_t *lp);
static int cm_lit_quantifier(cm_lit_parser_t *lp);
static void cm_lit_end_run(cm_lit_run_t *run, cm_lit_pick_t *best);
static void cm_lit_consider(cm_lit_pick_t *best, const cm_lit_set_t *cand);
static int cm_lit_better(const cm_lit_set_t *cand, const cm_lit_set_t *than);
static size_t cm_lit_shortest(const cm_lit_set_t *set);


size_t
cm_regex_literals(const char *pattern, size_t len, unsigned flags, char *buf,
    cm_regex_literal_t *lits)
{
    size_t              n[2];
    cm_regex_literal_t  also[CM_REGEX_LITERALS_MAX];

    return cm_regex_literal_sets(pattern, len, flags, buf, lits, n, also);
}


size_t
cm_regex_literal_sets(const char *pattern, size_t len, unsigned flags,
    char *buf, cm_regex_literal_t *lits, size_t *n, cm_regex_literal_t *also)
{
    cm_lit_set_t     set, second;
    cm_lit_parser_t  lp;

    n[0] = 0;
    n[1] = 0;

    lp.p = (const unsigned char *) pattern;
    lp.start = lp.p;
    lp.end = lp.p + len;
    lp.buf = buf;
    lp.flags = flags;
    lp.depth = 0;
    lp.failed = 0;

    cm_lit_alternation(&lp, &set, &second);

    /* a ")" without its "(" stops the alternation early */
    if (lp.failed || lp.p != lp.end || set.n == 0) {
        return 0;
    }

    memcpy(lits, set.v, set.n * sizeof(cm_regex_literal_t));
    memcpy(also, second.v, second.n * sizeof(cm_regex_literal_t));
    n[0] = set.n;
    n[1] = second.n;

    return set.n;
}


/*
 * Up to the ")" that closes it, or the end of the pattern; "second", if
 * not NULL, gets the second set of an alternation of one branch.
 */
static void
cm_lit_alternation(cm_lit_parser_t *lp, cm_lit_set_t *set,
    cm_lit_set_t *second)
{
    int            all, branches;
    cm_lit_pick_t  branch;

    set->n = 0;
    all = 1;
    branches = 0;

    if (second != NULL) {
        second->n = 0;
    }

    for ( ;; ) {
        cm_lit_branch(lp, &branch);
        branches++;

        if (lp->failed) {
            return;
        }

        if (branch.first.n == 0
            || set->n + branch.first.n > CM_REGEX_LITERALS_MAX)
        {
            all = 0;

        } else if (all) {
            memcpy(&set->v[set->n], branch.first.v,
                   branch.first.n * sizeof(cm_regex_literal_t));
            set->n += branch.first.n;
        }

        if (lp->p == lp->end || *lp->p != '|') {
            break;
        }

        lp->p++;
    }

    if (!all) {
        set->n = 0;
        return;
    }

    if (second != NULL && branches == 1) {
        *second = branch.second;
    }
}


static void
cm_lit_branch(cm_lit_parser_t *lp, cm_lit_pick_t *best)
{
    int            required;
    unsigned char  c;
    cm_lit_set_t   group;
    cm_lit_run_t   run;

    best->first.n = 0;
    best->second.n = 0;
    run.len = 0;
    run.data = NULL;

    while (lp->p < lp->end && !lp->failed) {
        c = *lp->p;

        if (c == '|' || c == ')') {
            break;
        }

        if (run.len == 0) {
            /* literal bytes never outgrow the pattern bytes they come from */
            run.data = lp->buf + (lp->p - lp->start);
        }

        switch (c) {

        case '(':
            cm_lit_end_run(&run, best);
            cm_lit_group(lp, &group, &required);
            if (required) {
                cm_lit_consider(best, &group);
            }
            break;

        case '[':
            cm_lit_end_run(&run, best);
            cm_lit_skip_class(lp);
            (void) cm_lit_quantifier(lp);
            break;

        case '.':
        case '^':
        case '$':
            cm_lit_end_run(&run, best);
            lp->p++;
            (void) cm_lit_quantifier(lp);
            break;

        case '\\':
            cm_lit_escape(lp, &run, best);
            break;

        case '*':
        case '+':
        case '?':
        case '{':
            /* a quantifier with nothing to repeat, or a literal "{" whose
               reading depends on the pcre2 version */
            lp->failed = 1;
            break;

        default:
            lp->p++;

            if (c >= 0x80) {
                /* the rest of the UTF-8 character, then its quantifier */
                while (lp->p < lp->end && (*lp->p & 0xc0) == 0x80) {
                    lp->p++;
                }

                cm_lit_end_run(&run, best);
                (void) cm_lit_quantifier(lp);
                break;
            }

            cm_lit_char(lp, c, &run, best);
        }
    }

    cm_lit_end_run(&run, best);
}


/*
 * A group from its "(" past its ")": its literal set, and whether the
 * branch requires it (a group or an atomic group not made optional; not a
 * lookaround).
 */
static void
cm_lit_group(cm_lit_parser_t *lp, cm_lit_set_t *set, int *required)
{
    size_t                left;
    const unsigned char  *p;

    *required = 0;
    set->n = 0;

    if (++lp->depth > CM_REGEX_LITERALS_DEPTH) {
        lp->failed = 1;
        return;
    }

    p = lp->p + 1;
    left = lp->end - p;

    if (left == 0 || *p != '?') {
        if (left > 0 && *p == '*') {
            lp->failed = 1;         /* (*VERB) */
            return;
        }

        *required = 1;

    } else if (left >= 2 && (p[1] == ':' || p[1] == '>' || p[1] == '|')) {
        *required = 1;
        p += 2;

    } else if (left >= 2 && (p[1] == '=' || p[1] == '!')) {
        p += 2;

    } else if (left >= 3 && p[1] == '<' && (p[2] == '=' || p[2] == '!')) {
        p += 3;

    } else {
        /* named groups, options, conditions, recursion, comments... */
        lp->failed = 1;
        return;
    }

    lp->p = p;
    cm_lit_alternation(lp, set, NULL);

    if (lp->failed || lp->p == lp->end || *lp->p != ')') {
        lp->failed = 1;
        return;
    }

    lp->p++;
    lp->depth--;

    if (cm_lit_quantifier(lp) == 0) {
        *required = 0;
    }
}


/*
 * An escaped punctuation character is a literal; a known escape that
 * stands for something else (\d, \b, \x41, \p{L}, a backreference \1 ...)
 * ends the run; any other (\Q...\E, \g, \k, \0 ...) makes the prefilter
 * give up.
 */
static void
cm_lit_escape(cm_lit_parser_t *lp, cm_lit_run_t *run, cm_lit_pick_t *best)
{
    unsigned char         c;
    const unsigned char  *p;

    p = lp->p + 1;

    if (p == lp->end) {
        lp->failed = 1;
        return;
    }

    c = *p++;

    if (c < 0x80 && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z')
        && !(c >= 'A' && c <= 'Z'))
    {
        lp->p = p;
        cm_lit_char(lp, c, run, best);
        return;
    }

    if (c == 'x' || c == 'p' || c == 'P') {
        if (p < lp->end && *p == '{') {
            while (p < lp->end && *p != '}') {
                p++;
            }

            if (p == lp->end) {
                lp->failed = 1;
                return;
            }

            p++;

        } else if (c == 'x') {
            /* up to two hex digits */
            if (p < lp->end && isxdigit(*p)) {
                p++;
                if (p < lp->end && isxdigit(*p)) {
                    p++;
                }
            }

        } else if (p < lp->end && ((*p >= 'A' && *p <= 'Z') || *p == '&')) {
            p++;                    /* \pL, \PN */

        } else {
            lp->failed = 1;
            return;
        }

    } else if (c == 'N' && p < lp->end && *p == '{') {
        lp->failed = 1;             /* \N{U+...} */
        return;

    } else if (c >= '1' && c <= '9') {
        /*
         * A backreference (\1, \12) repeats text some group matched: like a
         * class, it stands for text that is not known here.  (Where pcre2
         * reads the digits as an octal character instead, treating that one
         * character as unknown is still safe.)
         */
        while (p < lp->end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else if (c == 0 || strchr("dDwWsShHvVRNXbBAzZGKntrfea", c) == NULL) {
        lp->failed = 1;
        return;
    }

    cm_lit_end_run(run, best);
    lp->p = p;
    (void) cm_lit_quantifier(lp);
}


/*
 * A literal character just read: it extends the run unless a quantifier
 * follows.  One that may repeat ("b+", "b{2,}") ends the run after itself,
 * one that may be absent ("b?", "b*", "b{0,2}") before itself.
 */
static void
cm_lit_char(cm_lit_parser_t *lp, unsigned char c, cm_lit_run_t *run,
    cm_lit_pick_t *best)
{
    int  q;

    if ((lp->flags & CM_REGEX_LITERALS_NO_LETTERS)
        && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
    {
        cm_lit_end_run(run, best);
        (void) cm_lit_quantifier(lp);
        return;
    }

    q = cm_lit_quantifier(lp);

    if (q == 0) {
        cm_lit_end_run(run, best);
        return;
    }

    run->data[run->len++] = (c >= 'A' && c <= 'Z') ? c | 0x20 : c;

    if (q == 2) {
        cm_lit_end_run(run, best);
    }
}


static void
cm_lit_skip_class(cm_lit_parser_t *lp)
{
    const unsigned char  *p, *end;

    p = lp->p + 1;
    end = lp->end;

    if (p < end && *p == '^') {
        p++;
    }

    /* a "]" first is a member */
    if (p < end && *p == ']') {
        p++;
    }

    while (p < end && *p != ']') {
        if (*p == '\\') {
            /* \cX takes the next character, even a "]" */
            if (p + 1 == end || p[1] == 'Q' || p[1] == 'E' || p[1] == 'c') {
                break;
            }

            p += 2;
            continue;
        }

        if (*p == '[' && p + 1 < end
            && (p[1] == ':' || p[1] == '.' || p[1] == '='))
        {
            break;                  /* POSIX classes: not worth reading */
        }

        p++;
    }

    if (p >= end || *p != ']') {
        lp->failed = 1;
        return;
    }

    lp->p = p + 1;
}


/*
 * Reads a quantifier if one follows: returns 0 when it lets the item be
 * absent, 2 when it repeats it at least once, 1 when there is none.  Only
 * the plain forms "{n}", "{n,}", "{n,m}" are read; any other "{" gives up.
 */
static int
cm_lit_quantifier(cm_lit_parser_t *lp)
{
    int                   q;
    size_t                min;
    const unsigned char  *p, *end;

    p = lp->p;
    end = lp->end;

    if (p == end) {
        return 1;
    }

    switch (*p) {

    case '?':
    case '*':
        q = 0;
        p++;
        break;

    case '+':
        q = 2;
        p++;
        break;

    case '{':
        p++;
        min = 0;

        if (p == end || *p < '0' || *p > '9') {
            lp->failed = 1;
            return 1;
        }

        /* only zero or not matters: stop counting before overflowing */
        while (p < end && *p >= '0' && *p <= '9') {
            min = (min > 100000) ? min : min * 10 + (*p - '0');
            p++;
        }

        if (p < end && *p == ',') {
            p++;
            while (p < end && *p >= '0' && *p <= '9') {
                p++;
            }
        }

        if (p == end || *p != '}') {
            lp->failed = 1;
            return 1;
        }

        p++;
        q = (min == 0) ? 0 : 2;
        break;

    default:
        return 1;
    }

    /* lazy or possessive */
    if (p < end && (*p == '?' || *p == '+')) {
        p++;
    }

    lp->p = p;

    return q;
}


static void
cm_lit_end_run(cm_lit_run_t *run, cm_lit_pick_t *best)
{
    unsigned char  c;
    cm_lit_set_t   one;

    /* one character is literal enough when it is not a letter ("@", "8") */
    c = run->len ? (unsigned char) run->data[0] | 0x20 : 'a';

    if (run->len >= 2 || (run->len == 1 && !(c >= 'a' && c <= 'z'))) {
        one.n = 1;
        one.v[0].data = run->data;
        one.v[0].len = run->len;
        cm_lit_consider(best, &one);
    }

    run->len = 0;
}


/* a required item's set: the best so far, or the second best */
static void
cm_lit_consider(cm_lit_pick_t *best, const cm_lit_set_t *cand)
{
    if (!cm_lit_better(cand, &best->first)) {
        if (cm_lit_better(cand, &best->second)) {
            memcpy(&best->second, cand, sizeof(cm_lit_set_t));
        }

        return;
    }

    memcpy(&best->second, &best->first, sizeof(cm_lit_set_t));
    memcpy(&best->first, cand, sizeof(cm_lit_set_t));
}


/* longer shortest literal, then fewer literals */
static int
cm_lit_better(const cm_lit_set_t *cand, const cm_lit_set_t *than)
{
    size_t  a, b;

    if (cand->n == 0) {
        return 0;
    }

    if (than->n == 0) {
        return 1;
    }

    a = cm_lit_shortest(than);
    b = cm_lit_shortest(cand);

    return a < b || (a == b && than->n > cand->n);
}


static size_t
cm_lit_shortest(const cm_lit_set_t *set)
{
    size_t  i, min;

    min = set->v[0].len;

    for (i = 1; i < set->n; i++) {
        if (set->v[i].len < min) {
            min = set->v[i].len;
        }
    }

    return min;
}
