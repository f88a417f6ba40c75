/*
 * Shared by the body parsers only: error reporting, ASCII helpers and the
 * "; name=value" parameter lists of Content-Type and Content-Disposition.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_BODY_INTERNAL_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_BODY_INTERNAL_H_INCLUDED_


#include <stddef.h>
#include <string.h>

#include "ngx_http_comment_moderation_body.h"


typedef struct {
    const char    *name;
    size_t         name_len;
    const char    *value;         /* inside the quotes, escapes left in */
    size_t         value_len;
    int            quoted;
} cm_body_param_t;


/* Fills "err" (which may be NULL) and returns "rc". */
cm_body_rc_e cm_body_fail(cm_body_error_t *err, cm_body_rc_e rc,
    size_t offset, const char *reason);

/* cm_fields_add() that reports its failure at "offset". */
cm_body_rc_e cm_body_add(cm_fields_t *out, const cm_alloc_t *a,
    cm_body_error_t *err, size_t offset, const char *name, size_t name_len,
    const char *value, size_t value_len);

/* Empties "out": every parser starts from no fields. */
void cm_body_fields_init(cm_fields_t *out);

/*
 * The parameter at s[*pos]: OWS ";" OWS token "=" (token | quoted-string)
 * OWS.  Returns 1 and moves *pos past it, 0 at the end of the list (a
 * trailing ";" is tolerated), -1 on a syntax error (*pos then points at it).
 */
int cm_body_param_next(const char *s, size_t len, size_t *pos,
    cm_body_param_t *param);

/* Copies a quoted-string's inside without its backslashes; returns length. */
size_t cm_body_unquote(char *dst, const char *src, size_t len);


static inline int
cm_body_is_tchar(unsigned char c)
{
    /* RFC 9110 token characters */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || memchr("!#$%&'*+-.^_`|~", c, 15) != NULL;
}


static inline int
cm_body_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}


/* "s" (len bytes) equals the lowercase ASCII "lit", ignoring ASCII case. */
static inline int
cm_body_ascii_eq(const char *s, size_t len, const char *lit)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (lit[i] == '\0' || c != (unsigned char) lit[i]) {
            return 0;
        }
    }

    return lit[len] == '\0';
}


#endif /* _NGX_HTTP_COMMENT_MODERATION_BODY_INTERNAL_H_INCLUDED_ */
