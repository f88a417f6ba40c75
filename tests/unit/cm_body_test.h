/*
 * Shared by the body parser tests: parse a private copy of a body that is
 * scribbled over and freed afterwards (fields must never point into the
 * body), and compare fields and errors.
 */

#ifndef CM_BODY_TEST_H
#define CM_BODY_TEST_H

#include <stdlib.h>
#include <time.h>

#include "cm_test.h"
#include "ngx_http_comment_moderation_body.h"


static inline cm_body_rc_e
cm_parse(void **state, const char *content_type, const char *body,
    size_t len, cm_fields_t *out, cm_body_error_t *err)
{
    char          *copy;
    cm_alloc_t     a;
    cm_body_rc_e   rc;

    a = cm_test_alloc(state);

    copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);

    memset(err, 0, sizeof(cm_body_error_t));

    rc = cm_body_parse(content_type, strlen(content_type), copy, len, &a, out,
                       err);

    memset(copy, 'X', len);
    free(copy);

    if (rc != CM_BODY_OK) {
        assert_int_equal(err->rc, rc);
        assert_non_null(err->reason);
        assert_true(err->offset <= len);
    }

    assert_true(out->nfields <= out->nalloc);
    assert_true(out->nfields <= CM_BODY_MAX_FIELDS);

    return rc;
}


/* a string literal body, NUL bytes included */
#define cm_parse_lit(state, ct, lit, out, err)                               \
    cm_parse(state, ct, lit, sizeof(lit) - 1, out, err)


static inline void
cm_assert_field_bytes(const cm_fields_t *f, size_t i, const char *name,
    const char *value, size_t value_len)
{
    assert_true(i < f->nfields);

    if (f->fields[i].name_len != strlen(name)
        || memcmp(f->fields[i].name, name, strlen(name)) != 0)
    {
        fail_msg("field %zu: name \"%.*s\", expected \"%s\"", i,
                 (int) f->fields[i].name_len, f->fields[i].name, name);
    }

    if (f->fields[i].value_len != value_len
        || memcmp(f->fields[i].value, value, value_len) != 0)
    {
        fail_msg("field %zu (%s): value \"%.*s\" (%zu bytes), expected "
                 "\"%.*s\" (%zu bytes)", i, name,
                 (int) f->fields[i].value_len, f->fields[i].value,
                 f->fields[i].value_len, (int) value_len, value, value_len);
    }
}


static inline void
cm_assert_field(const cm_fields_t *f, size_t i, const char *name,
    const char *value)
{
    cm_assert_field_bytes(f, i, name, value, strlen(value));
}


static inline void
cm_assert_error(cm_body_rc_e rc, const cm_body_error_t *err,
    cm_body_rc_e expected, size_t offset, const char *reason)
{
    if (rc != expected) {
        fail_msg("rc %d (%s: %s), expected %d (%s)", rc, cm_body_rc_text(rc),
                 err->reason ? err->reason : "", expected,
                 cm_body_rc_text(expected));
    }

    if (err->offset != offset) {
        fail_msg("offset %zu (%s), expected %zu", err->offset, err->reason,
                 offset);
    }

    if (strstr(err->reason, reason) == NULL) {
        fail_msg("reason \"%s\", expected \"%s\"", err->reason, reason);
    }
}


/* The fields, as NULL-terminated name and value pairs, and no others. */
static inline void
cm_assert_fields(const cm_fields_t *f, const char *const *pairs)
{
    size_t  i;

    for (i = 0; pairs[2 * i] != NULL; i++) {
        cm_assert_field(f, i, pairs[2 * i], pairs[2 * i + 1]);
    }

    assert_int_equal(f->nfields, i);
}


#define cm_fields_are(f, ...)                                                \
    cm_assert_fields(f, (const char *const []) { __VA_ARGS__, NULL })


/*
 * A malformed body: the error is expected where "at" first stands in it,
 * plus "delta"; without "at", at "delta" itself, CM_END for the length.
 */
typedef struct {
    const char   *body;
    const char   *at;
    size_t        delta;
    const char   *reason;
} cm_bad_body_t;

#define CM_END  ((size_t) -1)


static inline void
cm_assert_bad_bodies(void **state, const char *content_type,
    cm_body_rc_e expected, const cm_bad_body_t *bad, size_t n)
{
    size_t            i, len, offset;
    const char       *at;
    cm_fields_t       f;
    cm_body_rc_e      rc;
    cm_body_error_t   err;

    for (i = 0; i < n; i++) {
        len = strlen(bad[i].body);

        if (bad[i].at != NULL) {
            at = strstr(bad[i].body, bad[i].at);
            assert_non_null(at);
            offset = (size_t) (at - bad[i].body) + bad[i].delta;

        } else {
            offset = (bad[i].delta == CM_END) ? len : bad[i].delta;
        }

        rc = cm_parse(state, content_type, bad[i].body, len, &f, &err);

        if (rc != expected || err.offset != offset) {
            print_message("body %zu: \"%s\"\n", i, bad[i].body);
        }

        cm_assert_error(rc, &err, expected, offset, bad[i].reason);
    }
}


/* A buffer of "n" times the "unit" string, for big and hostile bodies. */
static inline char *
cm_repeat(const char *unit, size_t n, size_t *len)
{
    char    *s;
    size_t   i, u;

    u = strlen(unit);
    s = malloc(u * n + 1);
    assert_non_null(s);

    for (i = 0; i < n; i++) {
        memcpy(s + i * u, unit, u);
    }

    s[u * n] = '\0';
    *len = u * n;

    return s;
}


static inline double
cm_seconds(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


#endif /* CM_BODY_TEST_H */
