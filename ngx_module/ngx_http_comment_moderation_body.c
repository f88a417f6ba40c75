/*
 * Comment bodies: the Content-Type dispatch, the field list, and the
 * parameter lists that Content-Type and Content-Disposition share.
 *
 * Fields point at decoded copies in memory from the cm_alloc_t, never into
 * the body: the caller may reuse the body's buffer.  cm_fields_add() keeps
 * the pointers it is given; the parsers give it such copies.
 */

#include <string.h>

#include "ngx_http_comment_moderation_body_internal.h"


#define CM_BODY_FIELDS_FIRST  16


static cm_body_rc_e cm_body_boundary(const char *ct, size_t len, size_t pos,
    const char **boundary, size_t *boundary_len, cm_body_error_t *err);


static const char  *cm_body_rc_texts[] = {
    "ok",
    "unsupported Content-Type",
    "bad %-encoding",
    "bad multipart body",
    "bad JSON",
    "nested too deeply",
    "too many fields",
    "out of memory"
};


cm_body_rc_e
cm_body_parse(const char *content_type, size_t content_type_len,
    const char *body, size_t len, const cm_alloc_t *a, cm_fields_t *out,
    cm_body_error_t *err)
{
    size_t         pos, start, type_len, blen;
    const char    *ct, *type, *boundary;
    cm_body_rc_e   rc;

    cm_body_fields_init(out);

    ct = content_type;
    pos = 0;

    while (pos < content_type_len && cm_body_is_ows(ct[pos])) {
        pos++;
    }

    start = pos;

    while (pos < content_type_len && ct[pos] != ';'
           && !cm_body_is_ows(ct[pos]))
    {
        pos++;
    }

    type_len = pos - start;

    if (type_len == 0) {
        return cm_body_fail(err, CM_BODY_UNSUPPORTED_TYPE, 0,
                            "no Content-Type");
    }

    type = ct + start;

    /* the charset parameter is ignored: values are judged as bytes */

    if (cm_body_ascii_eq(type, type_len,
                         "application/x-www-form-urlencoded"))
    {
        return cm_body_parse_urlencoded(body, len, a, out, err);
    }

    if (cm_body_ascii_eq(type, type_len, "application/json")) {
        return cm_body_parse_json(body, len, a, out, err);
    }

    if (!cm_body_ascii_eq(type, type_len, "multipart/form-data")) {
        return cm_body_fail(err, CM_BODY_UNSUPPORTED_TYPE, 0,
                            "unsupported Content-Type");
    }

    rc = cm_body_boundary(ct, content_type_len, pos, &boundary, &blen, err);
    if (rc != CM_BODY_OK) {
        return rc;
    }

    return cm_body_parse_multipart(boundary, blen, body, len, a, out, err);
}


/*
 * The boundary parameter, quoted or not (the multipart parser checks its
 * characters).  It must be given once, and no "boundary" may stand before
 * it: a backend that takes the first "boundary" in the header (PHP does)
 * must split the body where we do.
 */
static cm_body_rc_e
cm_body_boundary(const char *ct, size_t len, size_t pos,
    const char **boundary, size_t *boundary_len, cm_body_error_t *err)
{
    int               rc;
    const char       *name;
    cm_body_param_t   param;

    *boundary = NULL;
    *boundary_len = 0;
    name = NULL;

    while ((rc = cm_body_param_next(ct, len, &pos, &param)) == 1) {
        if (!cm_body_ascii_eq(param.name, param.name_len, "boundary")) {
            continue;
        }

        if (name != NULL) {
            return cm_body_fail(err, CM_BODY_BAD_MULTIPART, 0,
                                "two boundary parameters");
        }

        name = param.name;
        *boundary = param.value;
        *boundary_len = param.value_len;
    }

    if (rc == -1) {
        return cm_body_fail(err, CM_BODY_BAD_MULTIPART, 0,
                            "bad Content-Type parameters");
    }

    if (name == NULL) {
        return cm_body_fail(err, CM_BODY_BAD_MULTIPART, 0,
                            "no boundary in Content-Type");
    }

    /* the haystack stops short of the name's end: only earlier ones count */
    if (memmem(ct, (size_t) (name - ct) + sizeof("boundary") - 2,
               "boundary", sizeof("boundary") - 1)
        != NULL)
    {
        return cm_body_fail(err, CM_BODY_BAD_MULTIPART, 0,
                            "ambiguous boundary parameter");
    }

    return CM_BODY_OK;
}


int
cm_body_param_next(const char *s, size_t len, size_t *pos,
    cm_body_param_t *param)
{
    size_t         i, start;
    unsigned char  c;

    i = *pos;

    while (i < len && cm_body_is_ows(s[i])) {
        i++;
    }

    if (i == len) {
        *pos = i;
        return 0;
    }

    if (s[i] != ';') {
        goto bad;
    }

    i++;

    while (i < len && cm_body_is_ows(s[i])) {
        i++;
    }

    if (i == len) {
        *pos = i;
        return 0;
    }

    start = i;

    while (i < len && cm_body_is_tchar(s[i])) {
        i++;
    }

    if (i == start || i == len || s[i] != '=') {
        goto bad;
    }

    param->name = s + start;
    param->name_len = i - start;

    i++;

    if (i < len && s[i] == '"') {
        start = ++i;

        for ( ;; ) {
            if (i == len) {
                goto bad;
            }

            c = (unsigned char) s[i];

            if (c == '"') {
                break;
            }

            if (c == '\\') {
                if (++i == len) {
                    goto bad;
                }

                c = (unsigned char) s[i];
            }

            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                goto bad;
            }

            i++;
        }

        param->value = s + start;
        param->value_len = i - start;
        param->quoted = 1;
        i++;

    } else {
        start = i;

        while (i < len && cm_body_is_tchar(s[i])) {
            i++;
        }

        if (i == start) {
            goto bad;
        }

        param->value = s + start;
        param->value_len = i - start;
        param->quoted = 0;
    }

    *pos = i;

    return 1;

bad:

    *pos = i;

    return -1;
}


size_t
cm_body_unquote(char *dst, const char *src, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '\\' && i + 1 < len) {
            i++;
        }

        dst[n++] = src[i];
    }

    return n;
}


cm_body_rc_e
cm_body_fail(cm_body_error_t *err, cm_body_rc_e rc, size_t offset,
    const char *reason)
{
    if (err != NULL) {
        err->rc = rc;
        err->offset = offset;
        err->reason = reason;
    }

    return rc;
}


cm_body_rc_e
cm_body_add(cm_fields_t *out, const cm_alloc_t *a, cm_body_error_t *err,
    size_t offset, const char *name, size_t name_len, const char *value,
    size_t value_len)
{
    cm_body_rc_e  rc;

    rc = cm_fields_add(out, a, name, name_len, value, value_len);
    if (rc != CM_BODY_OK) {
        return cm_body_fail(err, rc, offset, rc == CM_BODY_TOO_MANY
                                             ? "too many fields"
                                             : "out of memory");
    }

    return CM_BODY_OK;
}


void
cm_body_fields_init(cm_fields_t *out)
{
    out->fields = NULL;
    out->nfields = 0;
    out->nalloc = 0;
}


cm_body_rc_e
cm_fields_add(cm_fields_t *f, const cm_alloc_t *a, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
    size_t       n;
    cm_field_t  *fields;

    if (f->nfields >= CM_BODY_MAX_FIELDS) {
        return CM_BODY_TOO_MANY;
    }

    if (f->nfields == f->nalloc) {
        n = f->nalloc ? f->nalloc * 2 : CM_BODY_FIELDS_FIRST;

        fields = cm_alloc(a, n * sizeof(cm_field_t));
        if (fields == NULL) {
            return CM_BODY_NO_MEMORY;
        }

        if (f->nfields) {
            memcpy(fields, f->fields, f->nfields * sizeof(cm_field_t));
        }

        f->fields = fields;
        f->nalloc = n;
    }

    f->fields[f->nfields].name = name;
    f->fields[f->nfields].name_len = name_len;
    f->fields[f->nfields].value = value;
    f->fields[f->nfields].value_len = value_len;
    f->nfields++;

    return CM_BODY_OK;
}


const cm_field_t *
cm_fields_find(const cm_fields_t *f, const char *name, size_t name_len)
{
    return cm_fields_find_next(f, NULL, name, name_len);
}


const cm_field_t *
cm_fields_find_next(const cm_fields_t *f, const cm_field_t *prev,
    const char *name, size_t name_len)
{
    size_t             i;
    const cm_field_t  *field;

    i = (prev == NULL) ? 0 : (size_t) (prev - f->fields) + 1;

    for ( /* void */ ; i < f->nfields; i++) {
        field = &f->fields[i];

        if (field->name_len == name_len
            && (name_len == 0 || memcmp(field->name, name, name_len) == 0))
        {
            return field;
        }
    }

    return NULL;
}


const char *
cm_body_rc_text(cm_body_rc_e rc)
{
    if ((unsigned) rc
        >= sizeof(cm_body_rc_texts) / sizeof(cm_body_rc_texts[0]))
    {
        return "unknown error";
    }

    return cm_body_rc_texts[rc];
}
