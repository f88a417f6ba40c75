/*
 * Rule files as text: lines, statements, tokens and values, and the
 * "FILE:LINE: reason" errors that point an editor at the mistake.
 *
 * A statement is a line starting at column 0 and the indented lines after
 * it.  Tokens are bare words (up to a space or a comma), quoted strings
 * ("..." where only \" is an escape, '...' kept verbatim) and commas; a
 * "#" where a token would start comments out the rest of the line.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_rules_syntax.h"


#define CM_SHOW_MAX     80      /* bytes of a value quoted in an error */
#define CM_SUGGEST_MAX  2       /* edit distance of "did you mean" */


/* --- errors --------------------------------------------------------------- */

int
cm_rules_error(cm_rules_parser_t *p, const char *file, unsigned line,
    const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (p->err == NULL || p->err_len == 0) {
        return CM_RULES_ERROR;
    }

    n = 0;

    if (file != NULL) {
        n = line ? snprintf(p->err, p->err_len, "%s:%u: ", file, line)
                 : snprintf(p->err, p->err_len, "%s: ", file);

        if (n < 0 || (size_t) n >= p->err_len) {
            return CM_RULES_ERROR;
        }
    }

    va_start(args, fmt);
    vsnprintf(p->err + n, p->err_len - (size_t) n, fmt, args);
    va_end(args);

    return CM_RULES_ERROR;
}


int
cm_rules_no_memory(cm_rules_parser_t *p, const char *file)
{
    return cm_rules_error(p, file, 0, "out of memory");
}


/* How much of a value to quote in a message: whole UTF-8 characters. */
int
cm_rules_show(const char *s, size_t len)
{
    if (len <= CM_SHOW_MAX) {
        return (int) len;
    }

    len = CM_SHOW_MAX;

    while (len > 0 && ((unsigned char) s[len] & 0xc0) == 0x80) {
        len--;
    }

    return (int) len;
}


static const char *
cm_table_name(const void *table, size_t size, size_t i)
{
    return *(const char *const *) (const void *) ((const char *) table
                                                  + i * size);
}


/* "(WHATs are: a, b, c)" */
static int
cm_unknown_list(cm_rules_parser_t *p, const char *file,
    const cm_rules_token_t *t, const char *what, const void *table,
    size_t size, size_t n)
{
    int     w;
    char    names[256];
    size_t  i, used;

    names[0] = '\0';
    used = 0;

    for (i = 0; i < n && used < sizeof(names); i++) {
        w = snprintf(names + used, sizeof(names) - used, "%s%s",
                     i ? ", " : "", cm_table_name(table, size, i));
        if (w < 0) {
            break;
        }

        used += (size_t) w;
    }

    return cm_rules_error(p, file, t->line,
                          "unknown %s \"%.*s\" (%ss are: %s)",
                          what, cm_rules_show_tok(t), what, names);
}


static char
cm_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}


/* Levenshtein distance, for "did you mean"; big when obviously far. */
static size_t
cm_distance(const char *a, size_t alen, const char *b)
{
    size_t  row[32], blen, i, j, diag, up, best;

    blen = strlen(b);

    if (blen >= cm_nelts(row) || alen > blen + CM_SUGGEST_MAX) {
        return (size_t) -1;
    }

    for (j = 0; j <= blen; j++) {
        row[j] = j;
    }

    for (i = 1; i <= alen; i++) {
        diag = row[0];
        row[0] = i;

        for (j = 1; j <= blen; j++) {
            up = row[j];
            best = diag + (cm_lower(a[i - 1]) != b[j - 1]);

            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }

            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }

            row[j] = best;
            diag = up;
        }
    }

    return row[blen];
}


int
cm_rules_unknown(cm_rules_parser_t *p, const char *file,
    const cm_rules_token_t *t, const char *what, const void *table,
    size_t size, size_t n, const char *hint)
{
    size_t       i, d, best;
    const char  *name, *near;

    near = NULL;
    best = CM_SUGGEST_MAX + 1;

    for (i = 0; i < n; i++) {
        name = cm_table_name(table, size, i);
        d = cm_distance(t->text, t->len, name);

        if (d < best) {
            best = d;
            near = name;
        }
    }

    if (near != NULL) {
        return cm_rules_error(p, file, t->line,
                              "unknown %s \"%.*s\" (did you mean "
                              "\"%s\"?%s%s)",
                              what, cm_rules_show_tok(t), near,
                              hint ? " or: " : "", hint ? hint : "");
    }

    if (hint != NULL) {
        return cm_rules_error(p, file, t->line, "unknown %s \"%.*s\" (%s)",
                              what, cm_rules_show_tok(t), hint);
    }

    return cm_unknown_list(p, file, t, what, table, size, n);
}


/* --- text ----------------------------------------------------------------- */

int
cm_rules_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}


int
cm_rules_is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}


/* keywords are ASCII and may be written in any case */
int
cm_rules_keyword_is(const char *s, size_t len, const char *kw)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (kw[i] == '\0' || cm_lower(s[i]) != kw[i]) {
            return 0;
        }
    }

    return kw[len] == '\0';
}


int
cm_rules_tok_is(const cm_rules_token_t *t, const char *kw)
{
    return t->type != CM_RULES_COMMA
           && cm_rules_keyword_is(t->text, t->len, kw);
}


const void *
cm_rules_table_find(const void *table, size_t size, size_t n,
    const cm_rules_token_t *t)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (cm_rules_tok_is(t, cm_table_name(table, size, i))) {
            return (const char *) table + i * size;
        }
    }

    return NULL;
}


/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t
cm_utf8_len(const unsigned char *s, const unsigned char *end)
{
    size_t    n, i;
    uint32_t  c, min;

    if (s[0] < 0x80) {
        return 1;
    }

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        min = 0x80;

    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        min = 0x800;

    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (end - s) < n) {
        return 0;
    }

    c = s[0] & (0x7f >> n);

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (s[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


/* Rule files and words-files are UTF-8 text: say where they are not. */
int
cm_rules_text_check(cm_rules_parser_t *p, const char *file, const char *text,
    size_t len)
{
    size_t                n;
    unsigned              line;
    const unsigned char  *s, *end;

    s = (const unsigned char *) text;
    end = s + len;
    line = 1;

    while (s < end) {
        if (*s == '\0') {
            return cm_rules_error(p, file, line,
                                  "holds a NUL byte (is it a text file?)");
        }

        n = cm_utf8_len(s, end);
        if (n == 0) {
            return cm_rules_error(p, file, line,
                                  "not valid UTF-8 (save the file as "
                                  "UTF-8)");
        }

        line += (*s == '\n');
        s += n;
    }

    return CM_RULES_OK;
}


void
cm_rules_reader_init(cm_rules_reader_t *rd, const char *text, size_t len)
{
    rd->pos = text;
    rd->end = text + len;
    rd->line = 0;

    /* the byte order mark some Windows editors write */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        rd->pos += 3;
    }
}


/* The next line in [*s, *e) without "\n" or "\r\n"; 0 at the end. */
int
cm_rules_reader_next(cm_rules_reader_t *rd, const char **s, const char **e)
{
    const char  *nl;

    if (rd->pos >= rd->end) {
        return 0;
    }

    nl = memchr(rd->pos, '\n', (size_t) (rd->end - rd->pos));

    *s = rd->pos;
    *e = (nl != NULL) ? nl : rd->end;
    rd->pos = (nl != NULL) ? nl + 1 : rd->end;
    rd->line++;

    if (*e > *s && (*e)[-1] == '\r') {
        (*e)--;
    }

    return 1;
}


void *
cm_rules_grow(void *array, size_t n, size_t *nalloc, size_t size)
{
    size_t   m;
    void    *a;

    if (n < *nalloc) {
        return array;
    }

    m = *nalloc ? 2 * *nalloc : 16;

    a = realloc(array, m * size);
    if (a != NULL) {
        *nalloc = m;
    }

    return a;
}


/* --- tokens --------------------------------------------------------------- */

static int
cm_token_add(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    cm_rules_token_type_e type, const char *text, size_t len, unsigned line,
    char quote)
{
    cm_rules_token_t  *tok;

    tok = cm_rules_grow(st->tok, st->ntok, &st->nalloc,
                        sizeof(cm_rules_token_t));
    if (tok == NULL) {
        return cm_rules_no_memory(p, st->file);
    }

    st->tok = tok;
    tok = &st->tok[st->ntok++];
    tok->text = text;
    tok->len = len;
    tok->line = line;
    tok->type = type;
    tok->quote = quote;

    return CM_RULES_OK;
}


/* Word processors turn straight quotes into curly ones. */
static int
cm_is_curly_quote(const char *s, const char *e)
{
    return e - s >= 3 && (unsigned char) s[0] == 0xe2
           && (unsigned char) s[1] == 0x80
           && (unsigned char) s[2] >= 0x98 && (unsigned char) s[2] <= 0x9f;
}


/* The quoted token at s (on its opening quote); returns where it ends. */
static const char *
cm_quoted(cm_rules_parser_t *p, cm_rules_stmt_t *st, const char *s,
    const char *e, unsigned line)
{
    char         q;
    const char  *t;

    /* in "..." only \" is an escape; '...' keeps everything */
    q = *s++;
    t = s;

    while (s < e && *s != q) {
        if (q == '"' && *s == '\\' && s + 1 < e && s[1] == '"') {
            s++;
        }

        s++;
    }

    if (s == e) {
        cm_rules_error(p, st->file, line,
                       "unterminated quote: a %c...%c value must end on the "
                       "same line", q, q);
        return NULL;
    }

    if (cm_token_add(p, st, CM_RULES_QUOTED, t, (size_t) (s - t), line, q)
        != CM_RULES_OK)
    {
        return NULL;
    }

    s++;

    if (s < e && !cm_rules_is_space(*s) && *s != ',') {
        cm_rules_error(p, st->file, line,
                       "a space or \",\" must follow the closing quote of "
                       "%c%.*s%c", q, cm_rules_show_tok(&st->tok[st->ntok - 1]),
                       q);
        return NULL;
    }

    return s;
}


/* Cuts the line [s, e) into tokens. */
int
cm_rules_tokenize(cm_rules_parser_t *p, cm_rules_stmt_t *st, const char *s,
    const char *e, unsigned line)
{
    const char  *t;

    while (s < e) {

        if (cm_rules_is_space(*s)) {
            s++;
            continue;
        }

        if (*s == '#') {
            break;
        }

        if (*s == '"' || *s == '\'') {
            s = cm_quoted(p, st, s, e, line);
            if (s == NULL) {
                return CM_RULES_ERROR;
            }

            continue;
        }

        if (cm_is_curly_quote(s, e)) {
            return cm_rules_error(p, st->file, line,
                                  "curly quote %.3s: use straight quotes "
                                  "\"...\" (a word processor may have "
                                  "changed them)", s);
        }

        t = s;

        if (*s == ',') {
            s++;

        } else {
            while (s < e && !cm_rules_is_space(*s) && *s != ',') {
                s++;
            }
        }

        if (cm_token_add(p, st, *t == ',' ? CM_RULES_COMMA : CM_RULES_WORD,
                         t, (size_t) (s - t), line, 0)
            != CM_RULES_OK)
        {
            return CM_RULES_ERROR;
        }
    }

    return CM_RULES_OK;
}


/* A token's value as a malloc'ed string, escapes undone. */
char *
cm_rules_token_dup(const cm_rules_token_t *t)
{
    char        *s, *w;
    const char  *r, *end;

    s = malloc(t->len + 1);
    if (s == NULL) {
        return NULL;
    }

    w = s;
    end = t->text + t->len;

    for (r = t->text; r < end; r++) {
        if (t->quote == '"' && r[0] == '\\' && r + 1 < end && r[1] == '"') {
            r++;
        }

        *w++ = *r;
    }

    *w = '\0';

    return s;
}


/* Whether the next line belongs to the statement: indented, blank, comment. */
static int
cm_reader_continues(const cm_rules_reader_t *rd)
{
    char  c;

    if (rd->pos >= rd->end) {
        return 0;
    }

    c = *rd->pos;

    return cm_rules_is_space(c) || c == '\n' || c == '#';
}


int
cm_rules_next_statement(cm_rules_parser_t *p, cm_rules_reader_t *rd,
    cm_rules_stmt_t *st)
{
    const char  *s, *e;

    do {
        if (!cm_rules_reader_next(rd, &s, &e)) {
            return 0;
        }

        st->ntok = 0;
        st->next = 0;
        st->value = 0;
        st->line = rd->line;

        if (cm_rules_tokenize(p, st, s, e, rd->line) != CM_RULES_OK) {
            return CM_RULES_ERROR;
        }

    } while (st->ntok == 0);

    if (cm_rules_is_space(*s)) {
        return cm_rules_error(p, st->file, rd->line,
                              "indented line with no statement above it "
                              "(statements such as \"rule\" start at the "
                              "beginning of a line)");
    }

    while (cm_reader_continues(rd)) {
        cm_rules_reader_next(rd, &s, &e);

        if (cm_rules_tokenize(p, st, s, e, rd->line) != CM_RULES_OK) {
            return CM_RULES_ERROR;
        }
    }

    return 1;
}


/* --- values --------------------------------------------------------------- */

const cm_rules_token_t *
cm_rules_peek(const cm_rules_stmt_t *st)
{
    return st->next < st->ntok ? &st->tok[st->next] : NULL;
}


const cm_rules_token_t *
cm_rules_value(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const cm_rules_token_t *key)
{
    unsigned                 line;
    const cm_rules_token_t  *t;

    t = cm_rules_peek(st);

    if (t == NULL) {
        line = st->tok[st->ntok - 1].line;

        if (st->tok[st->ntok - 1].type == CM_RULES_COMMA) {
            cm_rules_error(p, st->file, line,
                           "the \"%.*s\" list ends with \",\" (to continue "
                           "it, indent the next line)",
                           cm_rules_show_tok(key));
        } else {
            cm_rules_error(p, st->file, line, "\"%.*s\" needs a value",
                           cm_rules_show_tok(key));
        }

        return NULL;
    }

    if (t->type == CM_RULES_COMMA) {
        cm_rules_error(p, st->file, t->line,
                       "unexpected \",\" after \"%.*s\"",
                       cm_rules_show_tok(key));
        return NULL;
    }

    st->value = ++st->next;

    return t;
}


/* The whole number in "t", the value of "what". */
int
cm_rules_number(cm_rules_parser_t *p, const char *file, const char *what,
    const cm_rules_token_t *t, int min, int max, int *out)
{
    int     neg;
    long    v;
    size_t  i;

    neg = (t->len > 1 && t->text[0] == '-');
    i = (t->len > 1 && (t->text[0] == '-' || t->text[0] == '+'));
    v = 0;

    for ( /* void */ ; i < t->len; i++) {
        if (t->text[i] < '0' || t->text[i] > '9') {
            break;
        }

        /* stop growing once out of range: no overflow */
        if (v <= (long) max + 1) {
            v = v * 10 + (t->text[i] - '0');
        }
    }

    if (t->len == 0 || i < t->len) {
        return cm_rules_error(p, file, t->line,
                              "\"%s\" needs a whole number, got \"%.*s\"",
                              what, cm_rules_show_tok(t));
    }

    v = neg ? -v : v;

    if (v < min || v > max) {
        return cm_rules_error(p, file, t->line,
                              "\"%s\" must be between %d and %d, got %.*s",
                              what, min, max, cm_rules_show_tok(t));
    }

    *out = (int) v;

    return CM_RULES_OK;
}


int
cm_rules_keyword(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const cm_rules_token_t *t, const char *what,
    const cm_rules_keyword_t *table, size_t n, int *value)
{
    const cm_rules_keyword_t  *kw;

    kw = cm_rules_table_find(table, sizeof(table[0]), n, t);

    if (kw == NULL) {
        return cm_unknown_list(p, st->file, t, what, table, sizeof(table[0]),
                               n);
    }

    *value = kw->value;

    return CM_RULES_OK;
}


int
cm_rules_stmt_end(cm_rules_parser_t *p, cm_rules_stmt_t *st)
{
    const cm_rules_token_t  *t;

    t = cm_rules_peek(st);
    if (t == NULL) {
        return CM_RULES_OK;
    }

    return cm_rules_error(p, st->file, t->line,
                          "unexpected \"%.*s\" after \"%.*s\" (a value with "
                          "spaces goes in quotes)",
                          cm_rules_show_tok(t),
                          cm_rules_show_tok(&st->tok[0]));
}


/* --- promoting a shadow rule ---------------------------------------------- */

/*
 * The "shadow" key among the statement's tokens: an unquoted word "shadow"
 * that is no list item (no comma next to it) and no value of "words";
 * NULL if none.
 */
static const cm_rules_token_t *
cm_shadow_key(const cm_rules_stmt_t *st)
{
    size_t                   i;
    const cm_rules_token_t  *t;

    for (i = 2; i < st->ntok; i++) {
        t = &st->tok[i];

        if (t->type != CM_RULES_WORD || !cm_rules_tok_is(t, "shadow")) {
            continue;
        }

        if (st->tok[i - 1].type == CM_RULES_COMMA
            || cm_rules_tok_is(&st->tok[i - 1], "words")
            || (i + 1 < st->ntok && st->tok[i + 1].type == CM_RULES_COMMA))
        {
            continue;
        }

        return t;
    }

    return NULL;
}


int
cm_rules_unshadow(const char *file, const char *text, size_t len,
    const char *name, char **out, size_t *out_len, char *err, size_t err_len)
{
    int                      rc;
    char                    *o;
    const char              *from, *to, *bol, *eol;
    cm_rules_reader_t        rd;
    cm_rules_stmt_t          st;
    cm_rules_parser_t        p;
    cm_rules_token_t         key;
    const cm_rules_token_t  *t;

    memset(&p, 0, sizeof(cm_rules_parser_t));
    memset(&st, 0, sizeof(cm_rules_stmt_t));
    p.err = err;
    p.err_len = err_len;
    st.file = file;
    t = NULL;

    cm_rules_reader_init(&rd, text, len);

    for ( ;; ) {
        rc = cm_rules_next_statement(&p, &rd, &st);
        if (rc != 1) {
            break;
        }

        if (st.ntok >= 2 && cm_rules_tok_is(&st.tok[0], "rule")
            && st.tok[1].len == strlen(name)
            && memcmp(st.tok[1].text, name, st.tok[1].len) == 0)
        {
            t = cm_shadow_key(&st);
            break;
        }
    }

    /* the key outlives the statement's tokens */
    if (t != NULL) {
        key = *t;
        t = &key;
    }

    free(st.tok);

    if (rc == CM_RULES_ERROR) {
        return CM_RULES_ERROR;
    }

    if (rc != 1) {
        return cm_rules_error(&p, file, 0, "no rule \"%s\"", name);
    }

    if (t == NULL) {
        return cm_rules_error(&p, file, st.line, "rule %s is not a shadow",
                              name);
    }

    /* the word and the blanks before it; its line, if nothing else is on
       it; if a comment is, the comment stays where it was */
    from = t->text;
    to = t->text + t->len;

    while (from > text && (from[-1] == ' ' || from[-1] == '\t')) {
        from--;
    }

    bol = from;
    eol = to;

    while (eol < text + len && (*eol == ' ' || *eol == '\t' || *eol == '\r')) {
        eol++;
    }

    if ((bol == text || bol[-1] == '\n')
        && (eol == text + len || *eol == '\n'))
    {
        to = (eol < text + len) ? eol + 1 : eol;

    } else if ((bol == text || bol[-1] == '\n') && *eol == '#') {
        from = t->text;
        to = eol;
    }

    o = malloc(len - (size_t) (to - from) + 1);
    if (o == NULL) {
        return cm_rules_error(&p, file, 0, "out of memory");
    }

    memcpy(o, text, (size_t) (from - text));
    memcpy(o + (from - text), to, (size_t) (text + len - to));
    *out_len = len - (size_t) (to - from);
    o[*out_len] = '\0';
    *out = o;

    return CM_RULES_OK;
}
