/*
 * application/json (RFC 8259) with an object at the top.  Every scalar is a
 * field named by its dotted path: {"comment": {"body": "..."}} gives
 * "comment.body", {"tags": ["a"]} gives "tags.0"; numbers, true, false and
 * null keep their literal text ("article_id": 42 gives "42").  Objects and
 * arrays are not fields themselves.  Duplicate keys are all kept.
 *
 * Strings are decoded (\uXXXX with surrogate pairs into UTF-8); raw bytes
 * pass through, UTF-8 is checked later by the normalizer.  The parser is a
 * loop over an explicit stack of at most CM_BODY_MAX_DEPTH containers.
 */

#include <stdint.h>
#include <string.h>

#include "ngx_http_comment_moderation_body_internal.h"


#define CM_JSON_INDEX_MAX  20       /* decimal digits of a size_t */


typedef struct {
    size_t             path_len;    /* the container's own path */
    size_t             count;       /* its members so far */
    char               close;       /* '}' or ']' */
} cm_json_level_t;


typedef struct {
    const char        *body;
    size_t             len;
    size_t             pos;
    const cm_alloc_t  *a;
    cm_fields_t       *out;
    cm_body_error_t   *err;

    /*
     * The path of the member being parsed.  It holds at most one key or
     * index per level, and keys come from distinct bytes of the body, so
     * len + CM_BODY_MAX_DEPTH * (1 + CM_JSON_INDEX_MAX) bytes are enough.
     */
    char              *path;
    size_t             path_len;

    char              *values;      /* decoded scalars, never longer */
    size_t             depth;
    cm_json_level_t    stack[CM_BODY_MAX_DEPTH];
} cm_json_t;


static cm_body_rc_e cm_json_member(cm_json_t *j);
static cm_body_rc_e cm_json_value(cm_json_t *j);
static cm_body_rc_e cm_json_open(cm_json_t *j, char close);
static cm_body_rc_e cm_json_scalar(cm_json_t *j, size_t at);
static cm_body_rc_e cm_json_string(cm_json_t *j, char *dst, size_t *n);
static size_t cm_json_hex4(cm_json_t *j, size_t at, uint32_t *cp);
static size_t cm_json_utf8(char *dst, uint32_t cp);
static int cm_json_number(cm_json_t *j);
static size_t cm_json_digits(cm_json_t *j, size_t i);
static size_t cm_json_index(char *dst, size_t n);
static void cm_json_ws(cm_json_t *j);
static cm_body_rc_e cm_json_fail(cm_json_t *j, size_t offset,
    const char *reason);


cm_body_rc_e
cm_body_parse_json(const char *body, size_t len, const cm_alloc_t *a,
    cm_fields_t *out, cm_body_error_t *err)
{
    cm_json_t     j;
    cm_body_rc_e  rc;

    cm_body_fields_init(out);

    j.body = body;
    j.len = len;
    j.pos = 0;
    j.a = a;
    j.out = out;
    j.err = err;
    j.path_len = 0;
    j.depth = 0;

    if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
        j.pos = 3;
    }

    cm_json_ws(&j);

    if (j.pos == len) {
        return cm_json_fail(&j, len, "empty body");
    }

    if (body[j.pos] != '{') {
        return cm_json_fail(&j, j.pos, "top level is not an object");
    }

    j.values = cm_alloc(a, len);
    j.path = cm_alloc(a, len + CM_BODY_MAX_DEPTH * (1 + CM_JSON_INDEX_MAX));

    if (j.values == NULL || j.path == NULL) {
        return cm_body_fail(err, CM_BODY_NO_MEMORY, 0, "out of memory");
    }

    rc = cm_json_open(&j, '}');

    while (rc == CM_BODY_OK && j.depth > 0) {
        rc = cm_json_member(&j);
    }

    if (rc != CM_BODY_OK) {
        return rc;
    }

    cm_json_ws(&j);

    if (j.pos != len) {
        return cm_json_fail(&j, j.pos, "data after the object");
    }

    return CM_BODY_OK;
}


/* The end of the innermost container, or its next member. */
static cm_body_rc_e
cm_json_member(cm_json_t *j)
{
    size_t            n;
    cm_body_rc_e      rc;
    cm_json_level_t  *level;

    level = &j->stack[j->depth - 1];

    cm_json_ws(j);

    if (j->pos == j->len) {
        return cm_json_fail(j, j->len, "unexpected end");
    }

    if (j->body[j->pos] == level->close) {
        j->pos++;
        j->depth--;
        return CM_BODY_OK;
    }

    if (level->count > 0) {
        if (j->body[j->pos] != ',') {
            return cm_json_fail(j, j->pos, level->close == '}'
                                           ? "expected ',' or '}'"
                                           : "expected ',' or ']'");
        }

        j->pos++;
        cm_json_ws(j);
    }

    /* members of the top object are named by their key alone */
    j->path_len = level->path_len;

    if (j->depth > 1) {
        j->path[j->path_len++] = '.';
    }

    if (level->close == ']') {
        j->path_len += cm_json_index(j->path + j->path_len, level->count);

    } else {
        if (j->pos == j->len || j->body[j->pos] != '"') {
            return cm_json_fail(j, j->pos, "expected a string key");
        }

        rc = cm_json_string(j, j->path + j->path_len, &n);
        if (rc != CM_BODY_OK) {
            return rc;
        }

        j->path_len += n;

        cm_json_ws(j);

        if (j->pos == j->len || j->body[j->pos] != ':') {
            return cm_json_fail(j, j->pos, "expected ':'");
        }

        j->pos++;
    }

    level->count++;

    return cm_json_value(j);
}


static cm_body_rc_e
cm_json_value(cm_json_t *j)
{
    size_t  at;

    cm_json_ws(j);

    at = j->pos;

    if (at == j->len) {
        return cm_json_fail(j, at, "unexpected end");
    }

    switch (j->body[at]) {

    case '{':
        return cm_json_open(j, '}');

    case '[':
        return cm_json_open(j, ']');

    case '"':
        return cm_json_scalar(j, at);

    case 't':
    case 'f':
    case 'n':
        if (!(j->len - at >= 4 && memcmp(j->body + at, "true", 4) == 0)
            && !(j->len - at >= 5 && memcmp(j->body + at, "false", 5) == 0)
            && !(j->len - at >= 4 && memcmp(j->body + at, "null", 4) == 0))
        {
            return cm_json_fail(j, at, "unexpected character");
        }

        j->pos += (j->body[at] == 'f') ? 5 : 4;
        return cm_json_scalar(j, at);

    default:
        if (j->body[at] != '-'
            && (j->body[at] < '0' || j->body[at] > '9'))
        {
            return cm_json_fail(j, at, "unexpected character");
        }

        if (cm_json_number(j) != 0) {
            return cm_json_fail(j, at, "bad number");
        }

        return cm_json_scalar(j, at);
    }
}


static cm_body_rc_e
cm_json_open(cm_json_t *j, char close)
{
    cm_json_level_t  *level;

    if (j->depth == CM_BODY_MAX_DEPTH) {
        return cm_body_fail(j->err, CM_BODY_TOO_DEEP, j->pos,
                            "nested too deeply");
    }

    level = &j->stack[j->depth++];
    level->path_len = j->path_len;
    level->count = 0;
    level->close = close;

    j->pos++;

    return CM_BODY_OK;
}


/*
 * A field for the scalar at body[at]: a string is decoded, a number or a
 * literal (already passed, j->pos is after it) is copied as written.
 */
static cm_body_rc_e
cm_json_scalar(cm_json_t *j, size_t at)
{
    char          *name, *value;
    size_t         n;
    cm_body_rc_e   rc;

    value = j->values;

    if (j->body[at] == '"') {
        rc = cm_json_string(j, value, &n);
        if (rc != CM_BODY_OK) {
            return rc;
        }

    } else {
        n = j->pos - at;
        memcpy(value, j->body + at, n);
    }

    name = cm_alloc(j->a, j->path_len ? j->path_len : 1);
    if (name == NULL) {
        return cm_body_fail(j->err, CM_BODY_NO_MEMORY, at, "out of memory");
    }

    memcpy(name, j->path, j->path_len);

    rc = cm_body_add(j->out, j->a, j->err, at, name, j->path_len, value, n);
    if (rc != CM_BODY_OK) {
        return rc;
    }

    j->values += n;

    return CM_BODY_OK;
}


/* The string at j->pos (its opening quote) decoded into dst. */
static cm_body_rc_e
cm_json_string(cm_json_t *j, char *dst, size_t *n)
{
    size_t         i, k, esc;
    uint32_t       cp, lo;
    unsigned char  c;

    k = 0;

    for (i = j->pos + 1; /* void */ ; /* void */ ) {
        if (i >= j->len) {
            return cm_json_fail(j, j->len, "unterminated string");
        }

        c = (unsigned char) j->body[i];

        if (c == '"') {
            break;
        }

        if (c < 0x20) {
            return cm_json_fail(j, i, "control character in a string");
        }

        if (c != '\\') {
            dst[k++] = (char) c;
            i++;
            continue;
        }

        esc = i;

        if (++i == j->len) {
            return cm_json_fail(j, j->len, "unterminated string");
        }

        c = (unsigned char) j->body[i++];

        switch (c) {

        case '"':
        case '\\':
        case '/':
            break;

        case 'b':
            c = '\b';
            break;

        case 'f':
            c = '\f';
            break;

        case 'n':
            c = '\n';
            break;

        case 'r':
            c = '\r';
            break;

        case 't':
            c = '\t';
            break;

        case 'u':
            if (cm_json_hex4(j, i, &cp) == 0) {
                return cm_json_fail(j, esc, "bad \\u escape");
            }

            i += 4;

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return cm_json_fail(j, esc, "lone surrogate");
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->len - i < 2 || j->body[i] != '\\'
                    || j->body[i + 1] != 'u')
                {
                    return cm_json_fail(j, esc, "lone surrogate");
                }

                if (cm_json_hex4(j, i + 2, &lo) == 0) {
                    return cm_json_fail(j, i, "bad \\u escape");
                }

                if (lo < 0xdc00 || lo > 0xdfff) {
                    return cm_json_fail(j, esc, "lone surrogate");
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }

            /* 6 or 12 escape bytes give at most 3 or 4 bytes of UTF-8 */
            k += cm_json_utf8(dst + k, cp);
            continue;

        default:
            return cm_json_fail(j, esc, "bad escape");
        }

        dst[k++] = (char) c;
    }

    j->pos = i + 1;
    *n = k;

    return CM_BODY_OK;
}


/* Four hex digits at body[at]: returns 4 and sets *cp, or 0. */
static size_t
cm_json_hex4(cm_json_t *j, size_t at, uint32_t *cp)
{
    size_t         i;
    uint32_t       v;
    unsigned char  c;

    if (j->len - at < 4) {
        return 0;
    }

    v = 0;

    for (i = at; i < at + 4; i++) {
        c = (unsigned char) j->body[i];

        if (c >= '0' && c <= '9') {
            v = v << 4 | (uint32_t) (c - '0');
            continue;
        }

        c |= 0x20;

        if (c < 'a' || c > 'f') {
            return 0;
        }

        v = v << 4 | (uint32_t) (c - 'a' + 10);
    }

    *cp = v;

    return 4;
}


static size_t
cm_json_utf8(char *dst, uint32_t cp)
{
    if (cp < 0x80) {
        dst[0] = (char) cp;
        return 1;
    }

    if (cp < 0x800) {
        dst[0] = (char) (0xc0 | cp >> 6);
        dst[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        dst[0] = (char) (0xe0 | cp >> 12);
        dst[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }

    dst[0] = (char) (0xf0 | cp >> 18);
    dst[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at j->pos; 0 if it is. */
static int
cm_json_number(cm_json_t *j)
{
    size_t       i, d;
    const char  *b;

    b = j->body;
    i = j->pos;

    if (b[i] == '-') {
        i++;
    }

    if (i < j->len && b[i] == '0') {
        i++;

    } else {
        d = cm_json_digits(j, i);
        if (d == i) {
            return -1;
        }

        i = d;
    }

    if (i < j->len && b[i] == '.') {
        d = cm_json_digits(j, ++i);
        if (d == i) {
            return -1;
        }

        i = d;
    }

    if (i < j->len && (b[i] == 'e' || b[i] == 'E')) {
        i++;

        if (i < j->len && (b[i] == '+' || b[i] == '-')) {
            i++;
        }

        d = cm_json_digits(j, i);
        if (d == i) {
            return -1;
        }

        i = d;
    }

    j->pos = i;

    return 0;
}


/* The end of the run of decimal digits at body[i]. */
static size_t
cm_json_digits(cm_json_t *j, size_t i)
{
    while (i < j->len && j->body[i] >= '0' && j->body[i] <= '9') {
        i++;
    }

    return i;
}


/* An array index in decimal. */
static size_t
cm_json_index(char *dst, size_t n)
{
    char    digits[CM_JSON_INDEX_MAX];
    size_t  len, k;

    len = 0;

    do {
        digits[len++] = (char) ('0' + n % 10);
        n /= 10;
    } while (n > 0);

    for (k = 0; k < len; k++) {
        dst[k] = digits[len - 1 - k];
    }

    return len;
}


static void
cm_json_ws(cm_json_t *j)
{
    char  c;

    while (j->pos < j->len) {
        c = j->body[j->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }

        j->pos++;
    }
}


static cm_body_rc_e
cm_json_fail(cm_json_t *j, size_t offset, const char *reason)
{
    return cm_body_fail(j->err, CM_BODY_BAD_JSON, offset, reason);
}
