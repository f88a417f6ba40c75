/*
 * Regexes for rules: pcre2 (8-bit), JIT-compiled, matched under limits that
 * keep a catastrophic pattern from stalling a worker, behind a literal
 * prefilter that skips most regexes without running them.
 *
 * Patterns are compiled caseless and in UTF mode, without PCRE2_UCP: \w, \d,
 * \b and [[:alpha:]] are ASCII-only, which keeps the JIT code fast and suits
 * the folded and deleet views (lower-case, look-alikes folded to Latin).  A
 * rule that needs Unicode classes writes (*UCP) at the start of its pattern.
 *
 * Subjects must be valid UTF-8 (they are not checked again), and start
 * offsets must fall on character boundaries.
 *
 * Plain C, no nginx types; unit-tested alone.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_REGEX_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_REGEX_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


typedef struct cm_regex_s  cm_regex_t;


typedef enum {
    CM_REGEX_NOMATCH = 0,
    CM_REGEX_MATCH,
    CM_REGEX_LIMIT,             /* match, depth, heap or JIT stack limit hit */
    CM_REGEX_FAILED             /* any other pcre2 error (out of memory) */
} cm_regex_rc_e;


/*
 * NULL on error, with pcre2's message in err and the offset in the pattern
 * where it noticed the error in *err_offset.
 */
cm_regex_t *cm_regex_compile(const char *pattern, size_t len, char *err,
    size_t err_len, size_t *err_offset);

void cm_regex_free(cm_regex_t *re);

/* Compiled size, JIT code included. */
size_t cm_regex_memory(const cm_regex_t *re);

/*
 * Looks for the first match at or after byte "offset" of text[0, len); on
 * CM_REGEX_MATCH the match is [*start, *end).  The match limits are those
 * of ngx_http_comment_moderation_engine.h (CM_REGEX_MATCH_LIMIT, ...); the
 * JIT stack and match context are per thread, made on first use.
 */
cm_regex_rc_e cm_regex_exec(const cm_regex_t *re, const char *text,
    size_t len, size_t offset, size_t *start, size_t *end);

/*
 * 0 when no text of "len" bytes can hold a match, or none without a
 * non-ASCII byte ("non_ascii" 0): too short, or every match starts with a
 * non-ASCII character.  pcre2 finds this out too, but only after the cost
 * of a call.
 */
int cm_regex_may_match(const cm_regex_t *re, size_t len, int non_ascii);

/*
 * Whether matches run JIT-compiled code (the default) or pcre2's
 * interpreter, for every thread; set before matching starts.  Valgrind
 * takes the JIT code's word-sized reads past a subject for uses of
 * uninitialised memory, so tests under it turn JIT off.
 */
void cm_regex_use_jit(int on);

/* Frees the calling thread's JIT stack and match context (tools, tests). */
void cm_regex_thread_cleanup(void);


/* The literal prefilter. */

/*
 * The literals of one regex, at most: a pattern that needs more gets no
 * prefilter.  They all join the one automaton of the rule set, so a rule's
 * list of 40 alternative words costs no more to look for than 40 words.
 */
#define CM_REGEX_LITERALS_MAX         64
#define CM_REGEX_LITERALS_NO_LETTERS  0x01  /* for the raw view: its case is
                                               not folded */

typedef struct {
    const char  *data;          /* lower case, in the caller's buffer */
    size_t       len;           /* >= 2, or 1 for a character that is
                                   not a letter */
} cm_regex_literal_t;

/*
 * Finds literals of which every text the pattern matches contains at least
 * one, so a text with none of them need not be matched.  Conservative: when
 * unsure (escapes it does not know, option settings, optional groups...)
 * it finds nothing, and 0 means "no prefilter".  The literals are
 * written to buf, which has room for "len" bytes.
 */
size_t cm_regex_literals(const char *pattern, size_t len, unsigned flags,
    char *buf, cm_regex_literal_t *lits);

/*
 * The same, and for a pattern without "|" at its top, a second set from
 * another item the pattern requires: every match holds a literal of each
 * set.  n[0] and n[1] are their sizes (n[1] 0: no second set); "also" has
 * room for CM_REGEX_LITERALS_MAX.  Returns n[0].
 */
size_t cm_regex_literal_sets(const char *pattern, size_t len, unsigned flags,
    char *buf, cm_regex_literal_t *lits, size_t *n, cm_regex_literal_t *also);


#endif /* _NGX_HTTP_COMMENT_MODERATION_REGEX_H_INCLUDED_ */
