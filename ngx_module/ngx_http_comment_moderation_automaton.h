/*
 * Aho-Corasick over bytes: many literal patterns found in one pass.
 *
 * A builder collects the patterns, each with a caller's id; building turns
 * them into an immutable automaton that any number of searches may use at
 * once.  The automaton is a dense transition table over a compressed
 * alphabet (only bytes that occur in some pattern get a column of their
 * own; every other byte shares one), with the full goto function
 * precomputed, so a search costs one table lookup per byte and never walks
 * failure links.
 *
 * Plain C, no nginx types; unit-tested alone.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_AUTOMATON_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_AUTOMATON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* builder flags */
#define CM_AUTOMATON_CASELESS  0x01     /* ASCII letters match either case */


typedef struct cm_automaton_builder_s  cm_automaton_builder_t;
typedef struct cm_automaton_s          cm_automaton_t;


/*
 * Called for every occurrence of a pattern: its id and its byte span
 * [start, end) in the text.  A non-zero return stops the search and is
 * returned by cm_automaton_search().
 */
typedef int (*cm_automaton_match_pt)(void *data, uint32_t id, size_t start,
    size_t end);


cm_automaton_builder_t *cm_automaton_builder_create(unsigned flags);
void cm_automaton_builder_free(cm_automaton_builder_t *b);

/*
 * Adds a pattern (not empty; the same bytes may be added again with another
 * id).  Returns 0, or -1 when out of memory or the pattern is empty.
 */
int cm_automaton_add(cm_automaton_builder_t *b, const char *pattern,
    size_t len, uint32_t id);

/* NULL when out of memory; the builder may be freed afterwards. */
cm_automaton_t *cm_automaton_build(const cm_automaton_builder_t *b);

void cm_automaton_free(cm_automaton_t *ac);

/* Bytes the automaton holds, and its number of states. */
size_t cm_automaton_memory(const cm_automaton_t *ac);
size_t cm_automaton_states(const cm_automaton_t *ac);

/*
 * Reports every occurrence, ordered by end offset (patterns ending at the
 * same byte longest first).  Returns 0, or what a callback returned to stop.
 */
int cm_automaton_search(const cm_automaton_t *ac, const char *text,
    size_t len, cm_automaton_match_pt match, void *data);


#endif /* _NGX_HTTP_COMMENT_MODERATION_AUTOMATON_H_INCLUDED_ */
