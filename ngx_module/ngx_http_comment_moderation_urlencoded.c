/*
 * application/x-www-form-urlencoded: "name=value" pairs separated by "&"
 * (not ";"), "+" for a space, %XX for any byte.  Empty pairs are skipped,
 * a pair without "=" is a name with an empty value.  The decoded bytes may
 * be anything: UTF-8 is checked later, by the normalizer.
 */

#include <string.h>

#include "ngx_http_comment_moderation_body_internal.h"


static cm_body_rc_e cm_urlencoded_decode(const char *body, size_t from,
    size_t to, char *dst, size_t *dst_len, cm_body_error_t *err);
static int cm_urlencoded_hex(unsigned char c);


cm_body_rc_e
cm_body_parse_urlencoded(const char *body, size_t len, const cm_alloc_t *a,
    cm_fields_t *out, cm_body_error_t *err)
{
    char          *buf, *name;
    size_t         pos, end, eq, name_len, value_len;
    const char    *p;
    cm_body_rc_e   rc;

    cm_body_fields_init(out);

    if (len == 0) {
        return CM_BODY_OK;
    }

    /* decoding never lengthens: every name and value fits in one buffer */
    buf = cm_alloc(a, len);
    if (buf == NULL) {
        return cm_body_fail(err, CM_BODY_NO_MEMORY, 0, "out of memory");
    }

    for (pos = 0; pos < len; pos = end + 1) {
        p = memchr(body + pos, '&', len - pos);
        end = (p != NULL) ? (size_t) (p - body) : len;

        if (end == pos) {
            continue;
        }

        p = memchr(body + pos, '=', end - pos);
        eq = (p != NULL) ? (size_t) (p - body) : end;

        rc = cm_urlencoded_decode(body, pos, eq, buf, &name_len, err);
        if (rc != CM_BODY_OK) {
            return rc;
        }

        name = buf;
        buf += name_len;
        value_len = 0;

        if (eq < end) {
            rc = cm_urlencoded_decode(body, eq + 1, end, buf, &value_len,
                                      err);
            if (rc != CM_BODY_OK) {
                return rc;
            }
        }

        rc = cm_body_add(out, a, err, pos, name, name_len, buf, value_len);
        if (rc != CM_BODY_OK) {
            return rc;
        }

        buf += value_len;
    }

    return CM_BODY_OK;
}


/* Decodes body[from, to) into dst; the error offset is the bad "%". */
static cm_body_rc_e
cm_urlencoded_decode(const char *body, size_t from, size_t to, char *dst,
    size_t *dst_len, cm_body_error_t *err)
{
    int     hi, lo;
    char    c;
    size_t  i, n;

    n = 0;

    for (i = from; i < to; i++) {
        c = body[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%') {
            if (to - i < 3
                || (hi = cm_urlencoded_hex(body[i + 1])) < 0
                || (lo = cm_urlencoded_hex(body[i + 2])) < 0)
            {
                return cm_body_fail(err, CM_BODY_BAD_ENCODING, i,
                                    "bad %-escape");
            }

            c = (char) (hi << 4 | lo);
            i += 2;
        }

        dst[n++] = c;
    }

    *dst_len = n;

    return CM_BODY_OK;
}


static int
cm_urlencoded_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
