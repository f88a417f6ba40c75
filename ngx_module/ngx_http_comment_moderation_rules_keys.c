/*
 * The keys of a rule ("words", "regex", "score", ...): one entry each in
 * cm_rule_keys[] (at the end of this file: what values the key takes) and
 * one handler that puts a value into the rule being built.  Checks that
 * need the whole rule (exactly one of words/regex, of score/action) are in
 * rules.c.
 *
 * A new key (the Redis reputation and rate conditions, say "when
 * first-time-author" or "limit author 10/60s") is a new entry and handler
 * here, plus its field in cm_rule_def_t.
 */

#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_rules_syntax.h"


#define CM_SCORE_MAX      1000
#define CM_MIN_COUNT_MAX  1000


/* in cm_field_e order */
static const cm_rules_keyword_t  cm_fields[] = {
    { "text",        CM_FIELD_TEXT },
    { "name",        CM_FIELD_NAME },
    { "email",       CM_FIELD_EMAIL },
    { "url",         CM_FIELD_URL },
    { "article",     CM_FIELD_ARTICLE },
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
};

const size_t  cm_rule_nkeys = cm_nelts(cm_rule_keys);


/* --- field names ---------------------------------------------------------- */

cm_field_e
cm_field_by_name(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < cm_nelts(cm_fields); i++) {
        if (cm_rules_keyword_is(name, len, cm_fields[i].name)) {
            return (cm_field_e) cm_fields[i].value;
        }
    }

    return CM_FIELD_N;
}


const char *
cm_field_name(cm_field_e f)
{
    return ((unsigned) f < cm_nelts(cm_fields)) ? cm_fields[f].name : NULL;
}
