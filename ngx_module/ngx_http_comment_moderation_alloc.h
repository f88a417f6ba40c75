/*
 * Memory for the engine (parsers, normalizer, rule matching).
 *
 * The engine holds no nginx types, so it takes its per-request memory from
 * a cm_alloc_t: inside nginx that wraps the request pool, in the tools and
 * tests it wraps a cm_arena_t.  Memory from a cm_alloc_t is never freed one
 * piece at a time: the owner frees it all at once.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_ALLOC_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_ALLOC_H_INCLUDED_


#include <stddef.h>


typedef struct {
    void   *(*alloc)(void *data, size_t size);  /* NULL when out of memory */
    void    *data;
} cm_alloc_t;


typedef struct cm_arena_s  cm_arena_t;


static inline void *
cm_alloc(const cm_alloc_t *a, size_t size)
{
    return a->alloc(a->data, size);
}


void *cm_calloc(const cm_alloc_t *a, size_t size);

/* An arena of malloc'ed blocks, for programs outside nginx. */
cm_arena_t *cm_arena_create(void);
void cm_arena_destroy(cm_arena_t *arena);
cm_alloc_t cm_arena_allocator(cm_arena_t *arena);


#endif /* _NGX_HTTP_COMMENT_MODERATION_ALLOC_H_INCLUDED_ */
