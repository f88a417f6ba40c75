/*
 * multipart/form-data (RFC 7578 over RFC 2046):
 *
 *     preamble CRLF "--" boundary CRLF headers CRLF value
 *     CRLF "--" boundary CRLF headers CRLF value ...
 *     CRLF "--" boundary "--" epilogue
 *
 * The module judges a body the backend parses again, so wherever parsers
 * could disagree on where a part starts, the body is refused instead of
 * guessed at (a part only the backend sees would hide a comment):
 *
 *  - line ends are CRLF; a bare LF in the part headers, or before a
 *    boundary, is an error (PHP splits parts at "\n--boundary"; only in
 *    the preamble any line start will do);
 *  - "\n--boundary" in a value must be a delimiter: followed by CRLF or by
 *    "--", without the transport padding RFC 2046 allows and no client
 *    sends, and never again after the closing delimiter;
 *  - folded header lines, two Content-Disposition headers, two names and
 *    a Content-Transfer-Encoding that would need decoding are errors.
 *
 * The preamble and the epilogue are ignored.  A part with a "filename"
 * parameter is a file: its name is a field with an empty value, its bytes
 * are skipped ("filename*" alone is not a file to PHP, nor here).
 *
 * Boundaries are found with memchr() for "\n" and a compare that stops at
 * the first difference: the delimiter holds no other "\n", so no byte is
 * compared more than twice and hostile bodies cost linear time.
 */

#include <string.h>

#include "ngx_http_comment_moderation_body_internal.h"


#define CM_MULTIPART_BOUNDARY_MAX  70          /* RFC 2046 */
#define CM_MULTIPART_HEADERS_MAX   (8 * 1024)  /* one part's header lines */


typedef struct {
    const char        *body;
    size_t             len;
    char               delim[3 + CM_MULTIPART_BOUNDARY_MAX];  /* \n--b */
    size_t             delim_len;
    const cm_alloc_t  *a;
    cm_fields_t       *out;
    cm_body_error_t   *err;
    char              *buf;         /* names and values, decoded */
} cm_multipart_t;


typedef struct {
    const char        *name;
    size_t             name_len;
    unsigned           disposition:1;
    unsigned           file:1;
} cm_multipart_part_t;


static int cm_multipart_boundary(const char *b, size_t len);
static size_t cm_multipart_find(cm_multipart_t *mp, size_t from);
static cm_body_rc_e cm_multipart_part(cm_multipart_t *mp, size_t *pos);
static cm_body_rc_e cm_multipart_headers(cm_multipart_t *mp, size_t *pos,
    cm_multipart_part_t *part);
static cm_body_rc_e cm_multipart_header(cm_multipart_t *mp, size_t at,
    size_t len, cm_multipart_part_t *part);
static cm_body_rc_e cm_multipart_disposition(cm_multipart_t *mp, size_t at,
    const char *v, size_t len, cm_multipart_part_t *part);
static cm_body_rc_e cm_multipart_fail(cm_multipart_t *mp, size_t offset,
    const char *reason);


cm_body_rc_e
cm_body_parse_multipart(const char *boundary, size_t boundary_len,
    const char *body, size_t len, const cm_alloc_t *a, cm_fields_t *out,
    cm_body_error_t *err)
{
    size_t          pos;
    cm_body_rc_e    rc;
    cm_multipart_t  mp;

    cm_body_fields_init(out);

    mp.body = body;
    mp.len = len;
    mp.a = a;
    mp.out = out;
    mp.err = err;

    if (!cm_multipart_boundary(boundary, boundary_len)) {
        return cm_multipart_fail(&mp, 0, "bad boundary");
    }

    memcpy(mp.delim, "\n--", 3);
    memcpy(mp.delim + 3, boundary, boundary_len);
    mp.delim_len = 3 + boundary_len;

    /* the first delimiter starts the body or a line of the preamble */

    if (len >= mp.delim_len - 1
        && memcmp(body, mp.delim + 1, mp.delim_len - 1) == 0)
    {
        pos = 0;

    } else {
        pos = cm_multipart_find(&mp, 0);
        if (pos == len) {
            return cm_multipart_fail(&mp, len, "no boundary in the body");
        }

        pos++;
    }

    /* decoding never lengthens: every name and value fits in one buffer */
    mp.buf = cm_alloc(a, len);
    if (mp.buf == NULL) {
        return cm_body_fail(err, CM_BODY_NO_MEMORY, 0, "out of memory");
    }

    for ( ;; ) {
        /* pos is at "--boundary" */
        pos += mp.delim_len - 1;

        if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-') {
            pos = cm_multipart_find(&mp, pos + 2);

            if (pos != len) {
                return cm_multipart_fail(&mp, pos, "boundary after the "
                                                   "closing boundary");
            }

            return CM_BODY_OK;
        }

        if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
            if (pos == len
                || (pos + 1 == len && (body[pos] == '-' || body[pos] == '\r')))
            {
                return cm_multipart_fail(&mp, len, "no closing boundary");
            }

            return cm_multipart_fail(&mp, pos, "text after a boundary");
        }

        pos += 2;

        rc = cm_multipart_part(&mp, &pos);
        if (rc != CM_BODY_OK) {
            return rc;
        }
    }
}


/* RFC 2046: 1 to 70 bchars, the last not a space (and so never a "\n"). */
static int
cm_multipart_boundary(const char *b, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > CM_MULTIPART_BOUNDARY_MAX || b[len - 1] == ' ') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) b[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || memchr("'()+_,-./:=? ", c, 13) != NULL))
        {
            return 0;
        }
    }

    return 1;
}


/* The offset of the "\n" of the next "\n--boundary" from "from", or len. */
static size_t
cm_multipart_find(cm_multipart_t *mp, size_t from)
{
    size_t       i, n;
    const char  *p, *end;

    if (from >= mp->len) {
        return mp->len;
    }

    end = mp->body + mp->len;
    p = mp->body + from;
    n = mp->delim_len;

    while (p < end && (p = memchr(p, '\n', (size_t) (end - p))) != NULL) {
        for (i = 1; i < n && p + i < end && p[i] == mp->delim[i]; i++) {
            /* void */
        }

        if (i == n) {
            return (size_t) (p - mp->body);
        }

        p++;
    }

    return mp->len;
}


/* One part: its headers, then its value up to CRLF "--boundary". */
static cm_body_rc_e
cm_multipart_part(cm_multipart_t *mp, size_t *pos)
{
    size_t               start, nl, value_len;
    cm_body_rc_e         rc;
    cm_multipart_part_t  part;

    start = *pos;

    rc = cm_multipart_headers(mp, pos, &part);
    if (rc != CM_BODY_OK) {
        return rc;
    }

    nl = cm_multipart_find(mp, *pos);

    if (nl == mp->len) {
        return cm_multipart_fail(mp, mp->len, "no closing boundary");
    }

    if (nl == *pos || mp->body[nl - 1] != '\r') {
        return cm_multipart_fail(mp, nl, "bare LF before a boundary");
    }

    value_len = 0;

    if (!part.file) {
        value_len = nl - 1 - *pos;
        memcpy(mp->buf, mp->body + *pos, value_len);
    }

    rc = cm_body_add(mp->out, mp->a, mp->err, start, part.name,
                     part.name_len, mp->buf, value_len);
    if (rc != CM_BODY_OK) {
        return rc;
    }

    mp->buf += value_len;
    *pos = nl + 1;

    return CM_BODY_OK;
}


/* Header lines up to an empty one; *pos ends after it. */
static cm_body_rc_e
cm_multipart_headers(cm_multipart_t *mp, size_t *pos,
    cm_multipart_part_t *part)
{
    size_t         i, start, limit, eol;
    const char    *p;
    cm_body_rc_e   rc;

    part->name = NULL;
    part->name_len = 0;
    part->disposition = 0;
    part->file = 0;

    start = *pos;
    limit = mp->len - start > CM_MULTIPART_HEADERS_MAX
            ? start + CM_MULTIPART_HEADERS_MAX : mp->len;

    for (i = start; /* void */ ; i = eol + 1) {
        p = memchr(mp->body + i, '\n', limit - i);

        if (p == NULL) {
            return cm_multipart_fail(mp, limit, limit == mp->len
                                                ? "no end of part headers"
                                                : "part headers too long");
        }

        eol = (size_t) (p - mp->body);

        if (eol == i || mp->body[eol - 1] != '\r') {
            return cm_multipart_fail(mp, eol, "bare LF in part headers");
        }

        if (eol - 1 == i) {
            break;
        }

        rc = cm_multipart_header(mp, i, eol - 1 - i, part);
        if (rc != CM_BODY_OK) {
            return rc;
        }
    }

    if (!part->disposition) {
        return cm_multipart_fail(mp, start, "part without "
                                            "Content-Disposition");
    }

    *pos = eol + 1;

    return CM_BODY_OK;
}


/* One header line, body[at, at + len) without its CRLF. */
static cm_body_rc_e
cm_multipart_header(cm_multipart_t *mp, size_t at, size_t len,
    cm_multipart_part_t *part)
{
    size_t         i, name_len, vs, ve;
    const char    *line;
    unsigned char  c;

    line = mp->body + at;

    /* a field name: no leading space (obsolete folding), no boundary */
    for (i = 0; i < len && cm_body_is_tchar(line[i]); i++) {
        /* void */
    }

    if (i == 0 || i == len || line[i] != ':') {
        return cm_multipart_fail(mp, at + i, "bad part header");
    }

    name_len = i;

    for (i++; i < len; i++) {
        c = (unsigned char) line[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return cm_multipart_fail(mp, at + i, "bad part header");
        }
    }

    for (vs = name_len + 1; vs < len && cm_body_is_ows(line[vs]); vs++) {
        /* void */
    }

    for (ve = len; ve > vs && cm_body_is_ows(line[ve - 1]); ve--) {
        /* void */
    }

    if (cm_body_ascii_eq(line, name_len, "content-disposition")) {
        if (part->disposition) {
            return cm_multipart_fail(mp, at, "two Content-Disposition "
                                             "headers");
        }

        part->disposition = 1;

        return cm_multipart_disposition(mp, at + vs, line + vs, ve - vs,
                                        part);
    }

    if (cm_body_ascii_eq(line, name_len, "content-transfer-encoding")
        && !cm_body_ascii_eq(line + vs, ve - vs, "binary")
        && !cm_body_ascii_eq(line + vs, ve - vs, "8bit")
        && !cm_body_ascii_eq(line + vs, ve - vs, "7bit"))
    {
        /* a backend that decodes it would store what we did not judge */
        return cm_multipart_fail(mp, at, "unsupported "
                                         "Content-Transfer-Encoding");
    }

    return CM_BODY_OK;
}


/* form-data; name="..."; filename="..." */
static cm_body_rc_e
cm_multipart_disposition(cm_multipart_t *mp, size_t at, const char *v,
    size_t len, cm_multipart_part_t *part)
{
    int              rc;
    size_t           pos;
    cm_body_param_t  param;

    for (pos = 0; pos < len && v[pos] != ';' && !cm_body_is_ows(v[pos]);
         pos++)
    {
        /* void */
    }

    if (!cm_body_ascii_eq(v, pos, "form-data")) {
        return cm_multipart_fail(mp, at, "part is not form-data");
    }

    while ((rc = cm_body_param_next(v, len, &pos, &param)) == 1) {
        if (cm_body_ascii_eq(param.name, param.name_len, "filename")) {
            part->file = 1;
            continue;
        }

        if (!cm_body_ascii_eq(param.name, param.name_len, "name")) {
            continue;
        }

        if (part->name != NULL) {
            return cm_multipart_fail(mp, at + pos, "two names for a part");
        }

        part->name = mp->buf;

        if (param.quoted) {
            part->name_len = cm_body_unquote(mp->buf, param.value,
                                             param.value_len);

        } else {
            part->name_len = param.value_len;
            memcpy(mp->buf, param.value, param.value_len);
        }

        mp->buf += part->name_len;
    }

    if (rc == -1) {
        return cm_multipart_fail(mp, at + pos, "bad Content-Disposition");
    }

    if (part->name == NULL) {
        return cm_multipart_fail(mp, at, "part without a name");
    }

    return CM_BODY_OK;
}


static cm_body_rc_e
cm_multipart_fail(cm_multipart_t *mp, size_t offset, const char *reason)
{
    return cm_body_fail(mp->err, CM_BODY_BAD_MULTIPART, offset, reason);
}
