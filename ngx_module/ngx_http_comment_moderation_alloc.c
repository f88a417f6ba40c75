/*
 * cm_alloc_t helpers and the arena used outside nginx (tools, tests, fuzzing).
 */

#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_alloc.h"


#define CM_ARENA_BLOCK  (64 * 1024)


typedef struct cm_arena_block_s  cm_arena_block_t;

struct cm_arena_block_s {
    cm_arena_block_t  *next;
    size_t             size;
    size_t             used;
    /* the block's memory follows, aligned for any type */
    max_align_t        data[];
};

struct cm_arena_s {
    cm_arena_block_t  *blocks;
};


void *
cm_calloc(const cm_alloc_t *a, size_t size)
{
    void  *p;

    p = cm_alloc(a, size);
    if (p != NULL) {
        memset(p, 0, size);
    }

    return p;
}


static void *
cm_arena_alloc(void *data, size_t size)
{
    size_t             align, need;
    cm_arena_t        *arena = data;
    cm_arena_block_t  *b;

    align = sizeof(max_align_t);
    size = (size + align - 1) & ~(align - 1);

    b = arena->blocks;

    if (b == NULL || b->size - b->used < size) {
        /* large requests get a block of their own */
        need = size > CM_ARENA_BLOCK ? size : CM_ARENA_BLOCK;

        b = malloc(sizeof(cm_arena_block_t) + need);
        if (b == NULL) {
            return NULL;
        }

        b->size = need;
        b->used = 0;
        b->next = arena->blocks;
        arena->blocks = b;
    }

    b->used += size;

    return (char *) b->data + b->used - size;
}


cm_arena_t *
cm_arena_create(void)
{
    return calloc(1, sizeof(cm_arena_t));
}


void
cm_arena_destroy(cm_arena_t *arena)
{
    cm_arena_block_t  *b, *next;

    if (arena == NULL) {
        return;
    }

    for (b = arena->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    free(arena);
}


cm_alloc_t
cm_arena_allocator(cm_arena_t *arena)
{
    cm_alloc_t  a;

    a.alloc = cm_arena_alloc;
    a.data = arena;

    return a;
}
