/*
 * The keys of a rule ("words", "regex", "score", ...): one entry each in
 * cm_rule_keys[] (at the end of this file: what values the key takes) and
 * one handler that puts a value into the rule being built.  Checks that
 * need the whole rule (exactly one of words/regex, of score/action) are in
 * rules.c.
 *
 * A new key is a new entry and handler here, plus its field in
 * cm_rule_def_t.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_rules_syntax.h"


#define CM_SCORE_MAX      1000
#define CM_MIN_COUNT_MAX  1000
#define CM_COUNTER_MAX    1000000   /* "when": compared with a counter */
#define CM_LIMIT_MAX      100000    /* "limit": comments in a window */


/* in cm_field_e order */
static const cm_rules_keyword_t  cm_fields[] = {
    { "text",        CM_FIELD_TEXT },
    { "name",        CM_FIELD_NAME },
    { "email",       CM_FIELD_EMAIL },
    { "url",         CM_FIELD_URL },
    { "article",     CM_FIELD_ARTICLE },
    { "section",     CM_FIELD_SECTION },
    { "ip",          CM_FIELD_IP },
    { "user-agent",  CM_FIELD_USER_AGENT },
    { "referer",     CM_FIELD_REFERER },
    { "user",        CM_FIELD_USER },
};


static const cm_rules_keyword_t  cm_views[] = {
    { "raw",         CM_RULE_VIEW_RAW },
    { "folded",      CM_RULE_VIEW_FOLDED },
    { "deleet",      CM_RULE_VIEW_DELEET },
};


static const cm_rules_keyword_t  cm_actions[] = {
    { "reject",      CM_ACTION_REJECT },
    { "queue",       CM_ACTION_QUEUE },
    { "accept",      CM_ACTION_ACCEPT },
};


/* in cm_ident_e order; the first CM_IDENT_TEXT have counters for "when" */
static const cm_rules_keyword_t  cm_idents[] = {
    { "author",      CM_IDENT_AUTHOR },
    { "ip",          CM_IDENT_IP },
    { "network",     CM_IDENT_NETWORK },
    { "text",        CM_IDENT_TEXT },
};


/* in cm_count_e order */
static const cm_rules_keyword_t  cm_counts[] = {
    { "seen",         CM_COUNT_SEEN },
    { "accepted",     CM_COUNT_ACCEPTED },
    { "queued",       CM_COUNT_QUEUED },
    { "approved",     CM_COUNT_APPROVED },
    { "rejected",     CM_COUNT_REJECTED },
    { "rejected-24h", CM_COUNT_REJECTED_24H },
    { "trusted",      CM_COUNT_TRUSTED },
    { "blocked",      CM_COUNT_BLOCKED },
};


/* in cm_op_e order */
static const cm_rules_keyword_t  cm_ops[] = {
    { "<",           CM_OP_LT },
    { "<=",          CM_OP_LE },
    { "=",           CM_OP_EQ },
    { "!=",          CM_OP_NE },
    { ">=",          CM_OP_GE },
    { ">",           CM_OP_GT },
};


static const cm_rules_keyword_t  cm_unknown_policies[] = {
    { "skip",        0 },
    { "match",       1 },
};


/* --- words ---------------------------------------------------------------- */

/* "gacor*" may continue, "*gacor" may be preceded; the rest is the word. */
static int
cm_word_add(cm_rules_parser_t *p, cm_rule_build_t *rb, const char *file,
    const cm_rules_token_t *t)
{
    size_t            i;
    unsigned          prefix, suffix, letters;
    cm_word_t        *w;
    unsigned char     c;
    cm_rules_token_t  word;

    word = *t;

    while (word.len > 0 && cm_rules_is_space(word.text[0])) {
        word.text++;
        word.len--;
    }

    while (word.len > 0 && cm_rules_is_space(word.text[word.len - 1])) {
        word.len--;
    }

    suffix = (word.len > 0 && word.text[0] == '*');
    word.text += suffix;
    word.len -= suffix;
    prefix = (word.len > 0 && word.text[word.len - 1] == '*');
    word.len -= prefix;

    letters = 0;

    for (i = 0; i < word.len; i++) {
        c = (unsigned char) word.text[i];

        if (c == '*') {
            return cm_rules_error(p, file, t->line,
                                  "word \"%.*s\": \"*\" may only start or "
                                  "end a word, as in gacor* or *gacor",
                                  cm_rules_show_tok(t));
        }

        /* any non-ASCII character may be a letter: the engine decides */
        letters |= cm_rules_is_alnum(c) || c >= 0x80;
    }

    if (!letters) {
        return cm_rules_error(p, file, t->line,
                              "word \"%.*s\" has no letters or digits",
                              cm_rules_show_tok(t));
    }

    w = cm_rules_grow(rb->def.words, rb->def.nwords, &rb->nalloc,
                      sizeof(cm_word_t));
    if (w == NULL) {
        return cm_rules_no_memory(p, file);
    }

    rb->def.words = w;
    w = &rb->def.words[rb->def.nwords];
    memset(w, 0, sizeof(cm_word_t));

    w->text = cm_rules_token_dup(&word);
    if (w->text == NULL) {
        return cm_rules_no_memory(p, file);
    }

    w->len = strlen(w->text);
    w->prefix = prefix;
    w->suffix = suffix;
    w->line = t->line;
    w->file = file;
    rb->def.nwords++;

    return CM_RULES_OK;
}


static int
cm_key_words(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    return cm_word_add(p, rb, st->file, t);
}


/*
 * One word or phrase a line of a words-file: the line is cut into tokens
 * like a rule line, and bare words together make a phrase.
 */
static int
cm_words_line(cm_rules_parser_t *p, cm_rules_stmt_t *ws, cm_rule_build_t *rb,
    const char *s, const char *e, unsigned line)
{
    size_t             i;
    cm_rules_token_t  *first, *last;

    ws->ntok = 0;

    if (cm_rules_tokenize(p, ws, s, e, line) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    if (ws->ntok == 0) {
        return CM_RULES_OK;
    }

    for (i = 0; i < ws->ntok && ws->ntok > 1; i++) {
        if (ws->tok[i].type != CM_RULES_WORD) {
            return cm_rules_error(p, ws->file, line,
                                  "a words-file holds one word or phrase a "
                                  "line (no commas; quotes around the whole "
                                  "line only)");
        }
    }

    first = &ws->tok[0];
    last = &ws->tok[ws->ntok - 1];
    first->len = (size_t) (last->text + last->len - first->text);

    return cm_word_add(p, rb, ws->file, first);
}


static int
cm_key_words_file(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    cm_rule_build_t *rb, const cm_rules_token_t *t)
{
    int                 rc;
    char               *text, *path;
    size_t              len;
    cm_rules_stmt_t     ws;
    const char         *s, *e;
    cm_rules_reader_t   rd;

    path = cm_rules_file_value(p, st, t);
    if (path == NULL) {
        return CM_RULES_ERROR;
    }

    memset(&ws, 0, sizeof(cm_rules_stmt_t));

    text = cm_rules_read_text(p, path, "read words-file", st->file, t->line,
                              &ws.file, &len);
    if (text == NULL) {
        return CM_RULES_ERROR;
    }

    /* an empty list is fine: emptied, the rule just matches nothing */
    rc = CM_RULES_OK;
    cm_rules_reader_init(&rd, text, len);

    while (rc == CM_RULES_OK && cm_rules_reader_next(&rd, &s, &e)) {
        rc = cm_words_line(p, &ws, rb, s, e, rd.line);
    }

    free(ws.tok);
    free(text);

    return rc;
}


/* --- the other keys ------------------------------------------------------- */

static int
cm_key_regex(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    /* bare, a pattern would end at its first comma */
    if (t->type != CM_RULES_QUOTED) {
        return cm_rules_error(p, st->file, t->line,
                              "\"regex\" needs its pattern in quotes, as in "
                              "regex \"%.*s\"", cm_rules_show_tok(t));
    }

    if (t->len == 0) {
        return cm_rules_error(p, st->file, t->line,
                              "\"regex\" pattern is empty");
    }

    rb->def.regex = cm_rules_token_dup(t);
    rb->def.regex_line = t->line;

    return rb->def.regex == NULL ? cm_rules_no_memory(p, st->file)
                                 : CM_RULES_OK;
}


static int
cm_key_fields(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    int  f;

    if (cm_rules_tok_is(t, "all")) {
        rb->def.fields = CM_FIELD_BIT(CM_FIELD_N) - 1;
        return CM_RULES_OK;
    }

    if (cm_rules_keyword(p, st, t, "field", cm_fields, cm_nelts(cm_fields),
                         &f)
        != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    rb->def.fields |= CM_FIELD_BIT(f);

    return CM_RULES_OK;
}


static int
cm_key_view(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    int  v;

    if (cm_rules_keyword(p, st, t, "view", cm_views, cm_nelts(cm_views), &v)
        != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    rb->def.views |= (unsigned) v;

    return CM_RULES_OK;
}


static int
cm_key_score(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    return cm_rules_number(p, st->file, "score", t, -CM_SCORE_MAX,
                           CM_SCORE_MAX, &rb->def.score);
}


static int
cm_key_action(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    int  action;

    if (cm_rules_keyword(p, st, t, "action", cm_actions, cm_nelts(cm_actions),
                         &action)
        != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    rb->def.action = (cm_action_e) action;

    return CM_RULES_OK;
}


static int
cm_key_min_count(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    cm_rule_build_t *rb, const cm_rules_token_t *t)
{
    int  n;

    if (cm_rules_number(p, st->file, "min-count", t, 1, CM_MIN_COUNT_MAX, &n)
        != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    rb->def.min_count = (unsigned) n;

    return CM_RULES_OK;
}


static int
cm_key_note(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    rb->def.note = cm_rules_token_dup(t);

    return rb->def.note == NULL ? cm_rules_no_memory(p, st->file)
                                : CM_RULES_OK;
}


static int
cm_key_shadow(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    (void) p;
    (void) st;
    (void) t;

    rb->def.shadow = 1;

    return CM_RULES_OK;
}


/*
 * expires 2026-12-31 | 2026-12-31T18:00 (UTC): a rule for a spam wave that
 * stops deciding by itself; after that it runs as a shadow, its hits still
 * counted, until an editor removes it.
 */
static int
cm_key_expires(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    int        n, used, rest;
    char       text[32];
    struct tm  tm;

    memset(&tm, 0, sizeof(struct tm));
    n = 0;
    used = 0;
    rest = 0;

    if (t->len < sizeof(text)) {
        memcpy(text, t->text, t->len);
        text[t->len] = '\0';

        n = sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon,
                   &tm.tm_mday, &used);

        if (n == 3 && text[used] == 'T'
            && sscanf(text + used, "T%2d:%2d%n", &tm.tm_hour, &tm.tm_min,
                      &rest) == 2)
        {
            used += rest;
        }
    }

    if (n != 3 || used != (int) t->len || tm.tm_mon < 1 || tm.tm_mon > 12
        || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23
        || tm.tm_min > 59 || tm.tm_year < 2000)
    {
        return cm_rules_error(p, st->file, t->line,
                              "bad \"expires\" date \"%.*s\" (write it as "
                              "2026-12-31 or 2026-12-31T18:00, UTC)",
                              (int) t->len, t->text);
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    rb->def.expires = timegm(&tm);

    return CM_RULES_OK;
}


int
cm_rule_silent(const cm_rule_def_t *rule)
{
    return rule->shadow || (rule->expires && time(NULL) >= rule->expires);
}


/* --- what Redis knows: when, limit, when-unknown -------------------------- */

#define CM_CONDITION_FORM                                                     \
    "write IDENT COUNTER OP NUMBER, as in author seen = 0, or "               \
    "first-time IDENT"


/*
 * A condition is read piece by piece, so that "seen>=3" (one token) reads
 * like "seen >= 3" (three): a piece is a run of operator characters, or a
 * run of others.
 */
typedef struct {
    cm_rules_parser_t       *p;
    cm_rules_stmt_t         *st;
    cm_rules_token_t         rest;      /* what is left of the token */
} cm_condition_reader_t;


static int
cm_is_op_char(char c)
{
    return c == '<' || c == '>' || c == '=' || c == '!';
}


static int
cm_condition_piece(cm_condition_reader_t *cr, cm_rules_token_t *piece)
{
    size_t                   n;
    unsigned                 op;
    const cm_rules_token_t  *t;

    if (cr->rest.len == 0) {
        t = cm_rules_peek(cr->st);

        if (t == NULL || t->type != CM_RULES_WORD) {
            return cm_rules_error(cr->p, cr->st->file,
                                  t ? t->line : cr->rest.line,
                                  "incomplete \"when\" condition: "
                                  CM_CONDITION_FORM);
        }

        cr->st->value = ++cr->st->next;
        cr->rest = *t;
    }

    op = cm_is_op_char(cr->rest.text[0]);

    for (n = 1; n < cr->rest.len; n++) {
        if ((unsigned) cm_is_op_char(cr->rest.text[n]) != op) {
            break;
        }
    }

    *piece = cr->rest;
    piece->len = n;
    cr->rest.text += n;
    cr->rest.len -= n;

    return CM_RULES_OK;
}


/* author, ip or network, where a condition or a limit names one */
static int
cm_ident(cm_rules_parser_t *p, cm_rules_stmt_t *st, const cm_rules_token_t *t,
    size_t n, int *ident)
{
    const cm_rules_keyword_t  *kw;

    kw = cm_rules_find(cm_idents, cm_nelts(cm_idents), t);

    if (kw != NULL && kw->value == CM_IDENT_TEXT && n <= CM_IDENT_TEXT) {
        return cm_rules_error(p, st->file, t->line,
                              "\"text\" has no counters: it is for limits "
                              "only (limit text N/WINDOW)");
    }

    if (kw == NULL) {
        return cm_rules_unknown(p, st->file, t, "ident", cm_idents,
                                sizeof(cm_idents[0]), n, NULL);
    }

    *ident = kw->value;

    return CM_RULES_OK;
}


static int
cm_condition_read(cm_condition_reader_t *cr, cm_condition_t *c)
{
    int                        ident, count, op, value;
    cm_rules_token_t           piece;
    const cm_rules_keyword_t  *kw;
    cm_rules_parser_t         *p = cr->p;
    cm_rules_stmt_t           *st = cr->st;

    if (cm_condition_piece(cr, &piece) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    /* first-time IDENT: IDENT seen = 0 */
    if (cm_rules_tok_is(&piece, "first-time")) {
        if (cm_condition_piece(cr, &piece) != CM_RULES_OK
            || cm_ident(p, st, &piece, CM_IDENT_TEXT, &ident) != CM_RULES_OK)
        {
            return CM_RULES_ERROR;
        }

        c->ident = (cm_ident_e) ident;
        c->count = CM_COUNT_SEEN;
        c->op = CM_OP_EQ;
        c->value = 0;

        return CM_RULES_OK;
    }

    if (cm_ident(p, st, &piece, CM_IDENT_TEXT, &ident) != CM_RULES_OK
        || cm_condition_piece(cr, &piece) != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    kw = cm_rules_find(cm_counts, cm_nelts(cm_counts), &piece);

    if (kw == NULL) {
        return cm_rules_unknown(p, st->file, &piece, "counter", cm_counts,
                                sizeof(cm_counts[0]), cm_nelts(cm_counts),
                                NULL);
    }

    count = kw->value;

    if ((count == CM_COUNT_REJECTED_24H || count == CM_COUNT_BLOCKED)
        && ident == CM_IDENT_IP)
    {
        return cm_rules_error(p, st->file, piece.line,
                              "\"%s\" is kept for author and network only, "
                              "not ip", kw->name);
    }

    if (count == CM_COUNT_TRUSTED && ident != CM_IDENT_AUTHOR) {
        return cm_rules_error(p, st->file, piece.line,
                              "\"trusted\" is kept for author only");
    }

    if (cm_condition_piece(cr, &piece) != CM_RULES_OK
        || cm_rules_keyword(p, st, &piece, "operator", cm_ops,
                            cm_nelts(cm_ops), &op) != CM_RULES_OK
        || cm_condition_piece(cr, &piece) != CM_RULES_OK
        || cm_rules_number(p, st->file, "when", &piece, 0, CM_COUNTER_MAX,
                           &value) != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    c->ident = (cm_ident_e) ident;
    c->count = (cm_count_e) count;
    c->op = (cm_op_e) op;
    c->value = value;

    return CM_RULES_OK;
}


static int
cm_key_when(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    cm_condition_t         *c;
    cm_condition_reader_t   cr;

    if (t->type != CM_RULES_WORD) {
        return cm_rules_error(p, st->file, t->line,
                              "a \"when\" condition is written without "
                              "quotes: " CM_CONDITION_FORM);
    }

    c = cm_rules_grow(rb->def.conditions, rb->def.nconditions,
                      &rb->nconditions_alloc, sizeof(cm_condition_t));
    if (c == NULL) {
        return cm_rules_no_memory(p, st->file);
    }

    rb->def.conditions = c;
    c = &rb->def.conditions[rb->def.nconditions];

    cr.p = p;
    cr.st = st;
    cr.rest = *t;

    if (cm_condition_read(&cr, c) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    if (cr.rest.len > 0) {
        return cm_rules_error(p, st->file, t->line,
                              "unexpected \"%.*s\" after the \"when\" "
                              "condition (conditions are separated by "
                              "commas)", cm_rules_show_tok(&cr.rest));
    }

    rb->def.nconditions++;

    return CM_RULES_OK;
}


/* "60s", "10m", "1h", "1d": ms, more than a day if so written; 0 if bad */
static unsigned long long
cm_window_parse(const char *text, size_t len)
{
    size_t              i;
    unsigned long long  n;

    n = 0;

    for (i = 0; i + 1 < len && text[i] >= '0' && text[i] <= '9'; i++) {
        if (n <= CM_LIMIT_WINDOW_MAX) {
            n = n * 10 + (unsigned) (text[i] - '0');
        }
    }

    if (i == 0 || i + 1 != len) {
        return 0;
    }

    switch (text[i]) {

    case 's':
        return n * 1000;

    case 'm':
        return n * 60 * 1000;

    case 'h':
        return n * 3600 * 1000;

    case 'd':
        return n * 24 * 3600 * 1000;

    default:
        return 0;
    }
}


unsigned
cm_window_ms(const char *text, size_t len)
{
    unsigned long long  ms;

    ms = cm_window_parse(text, len);

    return ms <= CM_LIMIT_WINDOW_MAX ? (unsigned) ms : 0;
}


static int
cm_key_limit(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    int                      ident, max;
    const char              *slash;
    cm_rules_token_t         n, w;
    unsigned long long       ms;
    const cm_rules_token_t  *v;

    if (cm_ident(p, st, t, cm_nelts(cm_idents), &ident) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    v = cm_rules_peek(st);
    slash = (v != NULL && v->type == CM_RULES_WORD)
            ? memchr(v->text, '/', v->len) : NULL;

    if (slash == NULL) {
        return cm_rules_error(p, st->file, v ? v->line : t->line,
                              "\"limit %.*s\" needs N/WINDOW, as in limit "
                              "%.*s 10/60s", cm_rules_show_tok(t),
                              cm_rules_show_tok(t));
    }

    st->value = ++st->next;

    n = *v;
    n.len = (size_t) (slash - v->text);
    w = *v;
    w.text = slash + 1;
    w.len = v->len - n.len - 1;

    if (cm_rules_number(p, st->file, "limit", &n, 1, CM_LIMIT_MAX, &max)
        != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    ms = cm_window_parse(w.text, w.len);

    if (ms == 0) {
        return cm_rules_error(p, st->file, v->line,
                              "bad limit window \"%.*s\" (write it as 60s, "
                              "10m, 1h or 1d)", cm_rules_show_tok(&w));
    }

    if (ms > CM_LIMIT_WINDOW_MAX) {
        return cm_rules_error(p, st->file, v->line,
                              "limit window \"%.*s\" is longer than a day "
                              "(1d)", cm_rules_show_tok(&w));
    }

    rb->def.limit_ident = (cm_ident_e) ident;
    rb->def.limit_max = (unsigned) max;
    rb->def.limit_ms = (unsigned) ms;

    return CM_RULES_OK;
}


static int
cm_key_when_unknown(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    cm_rule_build_t *rb, const cm_rules_token_t *t)
{
    int  match;

    if (cm_rules_keyword(p, st, t, "when-unknown value", cm_unknown_policies,
                         cm_nelts(cm_unknown_policies), &match)
        != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    rb->def.unknown_match = (unsigned) match;

    return CM_RULES_OK;
}


/* --- the keys ------------------------------------------------------------- */

#define CM_LIST_HINT  "list values are separated by commas"

const cm_rule_key_t  cm_rule_keys[] = {
    { "words",       cm_key_words,       CM_RULE_KEY_LIST,   1,
      "words are separated by commas; a phrase goes in quotes: "
      "\"slot gacor\"" },
    { "words-file",  cm_key_words_file,  CM_RULE_KEY_VALUE,  1, NULL },
    { "regex",       cm_key_regex,       CM_RULE_KEY_VALUE,  0, NULL },
    { "fields",      cm_key_fields,      CM_RULE_KEY_LIST,   0, CM_LIST_HINT },
    { "view",        cm_key_view,        CM_RULE_KEY_LIST,   0, CM_LIST_HINT },
    { "score",       cm_key_score,       CM_RULE_KEY_VALUE,  0, NULL },
    { "action",      cm_key_action,      CM_RULE_KEY_VALUE,  0, NULL },
    { "min-count",   cm_key_min_count,   CM_RULE_KEY_VALUE,  0, NULL },
    { "note",        cm_key_note,        CM_RULE_KEY_VALUE,  0,
      "a note with spaces goes in quotes" },
    { "shadow",      cm_key_shadow,      CM_RULE_KEY_FLAG,   0, NULL },
    { "expires",     cm_key_expires,     CM_RULE_KEY_VALUE,  0, NULL },
    { "when",        cm_key_when,        CM_RULE_KEY_LIST,   1, NULL },
    { "limit",       cm_key_limit,       CM_RULE_KEY_VALUE,  0, NULL },
    { "when-unknown", cm_key_when_unknown, CM_RULE_KEY_VALUE, 0, NULL },
};

const size_t  cm_rule_nkeys = cm_nelts(cm_rule_keys);


/* --- names ---------------------------------------------------------------- */

/* tables in enum order: the value by name (n if unknown), the name by value */
static int
cm_keyword_by_name(const cm_rules_keyword_t *table, size_t n,
    const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (cm_rules_keyword_is(name, len, table[i].name)) {
            return table[i].value;
        }
    }

    return (int) n;
}


static const char *
cm_keyword_name(const cm_rules_keyword_t *table, size_t n, unsigned value)
{
    return value < n ? table[value].name : NULL;
}


cm_field_e
cm_field_by_name(const char *name, size_t len)
{
    return (cm_field_e) cm_keyword_by_name(cm_fields, cm_nelts(cm_fields),
                                           name, len);
}


const char *
cm_field_name(cm_field_e f)
{
    return cm_keyword_name(cm_fields, cm_nelts(cm_fields), f);
}


cm_ident_e
cm_ident_by_name(const char *name, size_t len)
{
    return (cm_ident_e) cm_keyword_by_name(cm_idents, cm_nelts(cm_idents),
                                           name, len);
}


const char *
cm_ident_name(cm_ident_e ident)
{
    return cm_keyword_name(cm_idents, cm_nelts(cm_idents), ident);
}


cm_count_e
cm_count_by_name(const char *name, size_t len)
{
    return (cm_count_e) cm_keyword_by_name(cm_counts, cm_nelts(cm_counts),
                                           name, len);
}


const char *
cm_count_name(cm_count_e count)
{
    return cm_keyword_name(cm_counts, cm_nelts(cm_counts), count);
}


const char *
cm_op_name(cm_op_e op)
{
    return cm_keyword_name(cm_ops, cm_nelts(cm_ops), op);
}
