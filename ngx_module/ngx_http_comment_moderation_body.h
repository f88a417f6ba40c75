/*
 * Comment bodies: application/x-www-form-urlencoded, multipart/form-data and
 * application/json, parsed into a flat list of decoded (name, value) fields.
 *
 * Plain C, no nginx types: unit-tested and fuzzed on its own.  Parsers never
 * read past the given length, never need a NUL terminator, and report the
 * first problem with its byte offset and a short reason for the log.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_BODY_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_BODY_H_INCLUDED_


#include <stddef.h>

#include "ngx_http_comment_moderation_alloc.h"


#define CM_BODY_MAX_FIELDS    256   /* more fields than this: CM_BODY_TOO_MANY */
#define CM_BODY_MAX_DEPTH     32    /* JSON nesting deeper than this: CM_BODY_TOO_DEEP */


typedef enum {
    CM_BODY_OK = 0,
    CM_BODY_UNSUPPORTED_TYPE,     /* Content-Type is none of the three */
    CM_BODY_BAD_ENCODING,         /* broken percent-encoding */
    CM_BODY_BAD_MULTIPART,        /* no/invalid boundary, truncated part */
    CM_BODY_BAD_JSON,             /* syntax error, or top level not an object */
    CM_BODY_TOO_DEEP,
    CM_BODY_TOO_MANY,
    CM_BODY_NO_MEMORY
} cm_body_rc_e;


typedef struct {
    const char    *name;          /* decoded; for JSON the dotted path */
    size_t         name_len;      /* ("comment.author.name", arrays: "tags.0") */
    const char    *value;         /* decoded bytes; UTF-8 is checked later */
    size_t         value_len;
} cm_field_t;


typedef struct {
    cm_field_t    *fields;
    size_t         nfields;
    size_t         nalloc;
} cm_fields_t;


typedef struct {
    cm_body_rc_e   rc;
    size_t         offset;        /* byte offset in the body where it failed */
    const char    *reason;        /* static text, e.g. "bad %-escape" */
} cm_body_error_t;


/*
 * Dispatch on the Content-Type header value (parameters included, e.g.
 * "multipart/form-data; boundary=xyz" or "application/json; charset=utf-8").
 * Returns CM_BODY_OK and fills "out", or an error code and fills "err".
 */
cm_body_rc_e cm_body_parse(const char *content_type, size_t content_type_len,
    const char *body, size_t len, const cm_alloc_t *a, cm_fields_t *out,
    cm_body_error_t *err);

cm_body_rc_e cm_body_parse_urlencoded(const char *body, size_t len,
    const cm_alloc_t *a, cm_fields_t *out, cm_body_error_t *err);
cm_body_rc_e cm_body_parse_multipart(const char *boundary, size_t boundary_len,
    const char *body, size_t len, const cm_alloc_t *a, cm_fields_t *out,
    cm_body_error_t *err);
cm_body_rc_e cm_body_parse_json(const char *body, size_t len,
    const cm_alloc_t *a, cm_fields_t *out, cm_body_error_t *err);

/* Appends one field; CM_BODY_TOO_MANY past CM_BODY_MAX_FIELDS. */
cm_body_rc_e cm_fields_add(cm_fields_t *f, const cm_alloc_t *a,
    const char *name, size_t name_len, const char *value, size_t value_len);

/* The first field with this exact name, or NULL. */
const cm_field_t *cm_fields_find(const cm_fields_t *f, const char *name,
    size_t name_len);

/*
 * The next field with this name after "prev" (NULL: the first), or NULL:
 * a name may repeat ("comment=a&comment=b") and backends differ on which
 * one they keep, so a caller judging a role should judge every one.
 */
const cm_field_t *cm_fields_find_next(const cm_fields_t *f,
    const cm_field_t *prev, const char *name, size_t name_len);

/* A short English name for a code, for logs: "bad JSON". */
const char *cm_body_rc_text(cm_body_rc_e rc);


#endif /* _NGX_HTTP_COMMENT_MODERATION_BODY_H_INCLUDED_ */
