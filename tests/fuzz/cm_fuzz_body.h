/*
 * Shared by the body parser fuzzers: what every parse must keep, whatever
 * the input, and the comparison of two field lists for the round trips
 * (a parsed body written out again must parse to the same fields).
 */

#ifndef CM_FUZZ_BODY_H
#define CM_FUZZ_BODY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_body.h"


/* A growing output buffer for the writers of the round trips. */
typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
} cm_fuzz_buf_t;


static void
cm_fuzz_put(cm_fuzz_buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->size) {
        b->size = (b->len + n) * 2 + 64;
        b->data = realloc(b->data, b->size);
        if (b->data == NULL) {
            abort();
        }
    }

    if (n) {
        memcpy(b->data + b->len, p, n);
    }

    b->len += n;
}


static void
cm_fuzz_puts(cm_fuzz_buf_t *b, const char *s)
{
    cm_fuzz_put(b, s, strlen(s));
}


/*
 * The error names its code, a reason and a place inside the body; fields
 * are readable for their length, none points into the body (they are
 * copies), and the values are never longer than the body altogether.
 */
static void
cm_fuzz_check(const uint8_t *data, size_t size, cm_body_rc_e rc,
    const cm_fields_t *f, const cm_body_error_t *err)
{
    char              *copy;
    size_t             i, total;
    uintptr_t          lo, hi, p;
    const cm_field_t  *field;

    if (rc != CM_BODY_OK
        && (err->rc != rc || err->reason == NULL || err->offset > size
            || cm_body_rc_text(rc) == NULL))
    {
        abort();
    }

    if (f->nfields > f->nalloc || f->nfields > CM_BODY_MAX_FIELDS) {
        abort();
    }

    lo = (uintptr_t) data;
    hi = lo + size;
    total = 0;

    for (i = 0; i < f->nfields; i++) {
        field = &f->fields[i];

        copy = malloc(field->name_len + field->value_len + 1);
        if (copy == NULL) {
            abort();
        }

        memcpy(copy, field->name, field->name_len);
        memcpy(copy + field->name_len, field->value, field->value_len);
        free(copy);

        p = (uintptr_t) field->value;
        if (field->value_len && p + field->value_len > lo && p < hi) {
            abort();
        }

        p = (uintptr_t) field->name;
        if (field->name_len && p + field->name_len > lo && p < hi) {
            abort();
        }

        total += field->value_len;
    }

    if (total > size) {
        abort();
    }
}


static void
cm_fuzz_same_fields(const cm_fields_t *a, const cm_fields_t *b)
{
    size_t             i;
    const cm_field_t  *x, *y;

    if (a->nfields != b->nfields) {
        abort();
    }

    for (i = 0; i < a->nfields; i++) {
        x = &a->fields[i];
        y = &b->fields[i];

        if (x->name_len != y->name_len || x->value_len != y->value_len
            || (x->name_len && memcmp(x->name, y->name, x->name_len) != 0)
            || (x->value_len
                && memcmp(x->value, y->value, x->value_len) != 0))
        {
            abort();
        }
    }
}


/* Writes fields as a body and its Content-Type (of at most "size" bytes). */
typedef void (*cm_fuzz_write_pt)(cm_fuzz_buf_t *b, const cm_fields_t *f,
    char *type, size_t size);


/* One fuzz input: parse, check, write the fields out, parse that again. */
static int
cm_fuzz_body(const char *type, size_t type_len, const uint8_t *body,
    size_t size, cm_fuzz_write_pt write)
{
    char              again_type[128];
    cm_alloc_t        a;
    cm_arena_t       *arena;
    cm_fields_t       f, again;
    cm_body_rc_e      rc;
    cm_fuzz_buf_t     b;
    cm_body_error_t   err;

    arena = cm_arena_create();
    if (arena == NULL) {
        return 0;
    }

    a = cm_arena_allocator(arena);

    rc = cm_body_parse(type, type_len, (const char *) body, size, &a, &f,
                       &err);
    cm_fuzz_check(body, size, rc, &f, &err);

    if (rc == CM_BODY_OK) {
        memset(&b, 0, sizeof(cm_fuzz_buf_t));
        write(&b, &f, again_type, sizeof(again_type));

        if (cm_body_parse(again_type, strlen(again_type), b.data, b.len, &a,
                          &again, &err)
            != CM_BODY_OK)
        {
            abort();
        }

        cm_fuzz_same_fields(&f, &again);
        free(b.data);
    }

    cm_arena_destroy(arena);

    return 0;
}


#endif /* CM_FUZZ_BODY_H */
