/*
 * The rule-file parser: the editors' plain-text format (rules/README.md)
 * into cm_rules_t.
 *
 * This file loads files (includes, directories, cycles), runs their
 * statements (rule, include, threshold, set) and checks each rule as a
 * whole; the keys of a rule are in rules_keys.c, the text in
 * rules_syntax.c.
 *
 * Rule sets live long and are built outside any request: plain malloc/free.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_comment_moderation_rules_syntax.h"


#define CM_RULES_MAX_FILES   1024
#define CM_RULE_NAME_MAX     64         /* names travel in HTTP headers */
#define CM_THRESHOLD_MAX     100000


typedef struct {
    const char  *name;
    int        (*handler)(cm_rules_parser_t *p, cm_rules_stmt_t *st);
} cm_statement_t;


static int cm_load_path(cm_rules_parser_t *p, const char *path,
    const char *from, unsigned line);
static int cm_stmt_rule(cm_rules_parser_t *p, cm_rules_stmt_t *st);
static int cm_stmt_include(cm_rules_parser_t *p, cm_rules_stmt_t *st);
static int cm_stmt_threshold(cm_rules_parser_t *p, cm_rules_stmt_t *st);
static int cm_threshold_articles(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    int which, int value);
static int cm_stmt_set(cm_rules_parser_t *p, cm_rules_stmt_t *st);
static int cm_rule_name_add(cm_rules_parser_t *p, const char *name,
    size_t r);
static void cm_rule_name_put(cm_rules_parser_t *p, const char *name,
    size_t r);
static size_t cm_rule_name_hash(const char *name, size_t len);


static const cm_statement_t  cm_statements[] = {
    { "rule",        cm_stmt_rule },
    { "include",     cm_stmt_include },
    { "threshold",   cm_stmt_threshold },
    { "set",         cm_stmt_set },
};


static const cm_rules_keyword_t  cm_thresholds[] = {
    { "queue",       0 },
    { "reject",      1 },
};


static const cm_rules_keyword_t  cm_settings[] = {
    { "regex-error", 0 },
};


static const cm_rules_keyword_t  cm_regex_errors[] = {
    { "queue",       CM_REGEX_ERROR_QUEUE },
    { "ignore",      CM_REGEX_ERROR_IGNORE },
};


/* --- files ---------------------------------------------------------------- */

static const char *
cm_file_find(const cm_rules_t *rules, const char *path)
{
    size_t  i;

    for (i = 0; i < rules->nfiles; i++) {
        if (strcmp(rules->files[i], path) == 0) {
            return rules->files[i];
        }
    }

    return NULL;
}


/*
 * Reads "path" (malloc'ed, taken over) for "what" ("include", "read
 * words-file"), keeps its name in rules->files and checks that it is UTF-8
 * text.  Returns the contents (malloc'ed) and the name in *file, or NULL
 * after an error reported at "from":"line".
 */
char *
cm_rules_read_text(cm_rules_parser_t *p, char *path, const char *what,
    const char *from, unsigned line, const char **file, size_t *len)
{
    int          err;
    char        *text, **files;
    const char  *known;
    cm_rules_t  *rules = p->rules;

    errno = 0;
    text = p->src->read(p->src->data, path, len);

    if (text == NULL) {
        /* a source that fails without saying why: not found */
        err = errno ? errno : ENOENT;

        if (from == NULL) {
            cm_rules_error(p, path, 0, "cannot read: %s", strerror(err));
        } else {
            cm_rules_error(p, from, line, "cannot %s \"%s\": %s", what, path,
                           strerror(err));
        }

        free(path);
        return NULL;
    }

    known = cm_file_find(rules, path);

    if (known != NULL) {
        free(path);
        *file = known;

    } else {
        files = realloc(rules->files, (rules->nfiles + 1) * sizeof(char *));
        if (files == NULL) {
            free(path);
            free(text);
            cm_rules_no_memory(p, from);
            return NULL;
        }

        rules->files = files;
        files[rules->nfiles++] = path;
        *file = path;
    }

    if (cm_rules_text_check(p, *file, text, *len) != CM_RULES_OK) {
        free(text);
        return NULL;
    }

    return text;
}


/* --- statements ----------------------------------------------------------- */

static int
cm_statement(cm_rules_parser_t *p, cm_rules_stmt_t *st)
{
    const cm_rules_token_t  *t;
    const cm_statement_t    *stmt;

    t = &st->tok[0];

    if (t->type != CM_RULES_WORD) {
        return cm_rules_error(p, st->file, t->line,
                              "a line must start with a statement such as "
                              "\"rule\" or \"include\", got \"%.*s\"",
                              cm_rules_show_tok(t));
    }

    stmt = cm_rules_find(cm_statements, cm_nelts(cm_statements), t);

    if (stmt == NULL && cm_rules_find(cm_rule_keys, cm_rule_nkeys, t)) {
        return cm_rules_error(p, st->file, t->line,
                              "\"%.*s\" belongs to a rule: indent it under "
                              "its \"rule\" line", cm_rules_show_tok(t));
    }

    if (stmt == NULL) {
        return cm_rules_unknown(p, st->file, t, "statement", cm_statements,
                                sizeof(cm_statements[0]),
                                cm_nelts(cm_statements), NULL);
    }

    st->next = 1;

    return stmt->handler(p, st);
}


static int
cm_parse(cm_rules_parser_t *p, const char *file, const char *text,
    size_t len)
{
    int                rc;
    cm_rules_stmt_t    st;
    cm_rules_reader_t  rd;

    memset(&st, 0, sizeof(cm_rules_stmt_t));
    st.file = file;
    cm_rules_reader_init(&rd, text, len);

    while ((rc = cm_rules_next_statement(p, &rd, &st)) == 1) {
        rc = cm_statement(p, &st);
        if (rc != CM_RULES_OK) {
            break;
        }
    }

    free(st.tok);

    return rc;
}


/* --- include -------------------------------------------------------------- */

static int
cm_cycle(cm_rules_parser_t *p, const char *path, const char *from,
    unsigned line)
{
    int       w;
    char      chain[1024];
    size_t    used;
    unsigned  i, first;

    for (first = 0; first < p->depth; first++) {
        if (strcmp(p->stack[first], path) == 0) {
            break;
        }
    }

    if (first == p->depth) {
        return CM_RULES_OK;
    }

    used = 0;
    chain[0] = '\0';

    for (i = first; i < p->depth && used < sizeof(chain); i++) {
        w = snprintf(chain + used, sizeof(chain) - used, "%s -> ",
                     p->stack[i]);
        if (w < 0) {
            break;
        }

        used += (size_t) w;
    }

    return cm_rules_error(p, from, line, "include cycle: %s%s", chain, path);
}


static int
cm_load_file(cm_rules_parser_t *p, char *path, const char *from,
    unsigned line)
{
    int          rc;
    char        *text;
    size_t       len;
    const char  *file;

    if (cm_cycle(p, path, from, line) != CM_RULES_OK) {
        free(path);
        return CM_RULES_ERROR;
    }

    /* a file included twice (not in a cycle) is read once */
    if (cm_file_find(p->rules, path) != NULL) {
        free(path);
        return CM_RULES_OK;
    }

    if (p->rules->nfiles >= CM_RULES_MAX_FILES) {
        free(path);
        return cm_rules_error(p, from, line, "more than %d files",
                              CM_RULES_MAX_FILES);
    }

    text = cm_rules_read_text(p, path, "include", from, line, &file, &len);
    if (text == NULL) {
        return CM_RULES_ERROR;
    }

    p->stack[p->depth++] = file;
    rc = cm_parse(p, file, text, len);
    p->depth--;

    free(text);

    return rc;
}


static int
cm_load_dir(cm_rules_parser_t *p, const char *dir, char **list,
    const char *from, unsigned line)
{
    int      rc;
    char    *path;
    size_t   i;

    rc = CM_RULES_OK;

    if (list[0] == NULL) {
        rc = (from == NULL)
             ? cm_rules_error(p, dir, 0, "no *.rules files in this directory")
             : cm_rules_error(p, from, line,
                              "no *.rules files in directory \"%s\"", dir);
    }

    for (i = 0; list[i] != NULL; i++) {
        if (rc == CM_RULES_OK) {
            path = cm_rules_path_join(dir, strlen(dir), list[i],
                                      strlen(list[i]));
            rc = (path == NULL) ? cm_rules_no_memory(p, from)
                                : cm_load_file(p, path, from, line);
        }

        free(list[i]);
    }

    free(list);

    return rc;
}


/* "path" is clean; a directory is its *.rules files in name order */
static int
cm_load_path(cm_rules_parser_t *p, const char *path, const char *from,
    unsigned line)
{
    char  **list, *copy;

    if (p->depth == CM_RULES_MAX_DEPTH) {
        return cm_rules_error(p, from, line,
                              "includes nested more than %d deep",
                              CM_RULES_MAX_DEPTH);
    }

    list = (p->src->list_dir != NULL)
           ? p->src->list_dir(p->src->data, path) : NULL;

    if (list != NULL) {
        return cm_load_dir(p, path, list, from, line);
    }

    copy = strdup(path);
    if (copy == NULL) {
        return cm_rules_no_memory(p, from);
    }

    return cm_load_file(p, copy, from, line);
}


/* A file name next to the current file: for include and words-file. */
char *
cm_rules_file_value(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const cm_rules_token_t *t)
{
    char  *path;

    if (t->len == 0) {
        cm_rules_error(p, st->file, t->line, "empty file name");
        return NULL;
    }

    path = cm_rules_path_join(st->file, cm_rules_path_dir_len(st->file),
                              t->text, t->len);
    if (path == NULL) {
        cm_rules_no_memory(p, st->file);
    }

    return path;
}


static int
cm_stmt_include(cm_rules_parser_t *p, cm_rules_stmt_t *st)
{
    int                      rc;
    char                    *path;
    const cm_rules_token_t  *t;

    t = cm_rules_value(p, st, &st->tok[0]);
    if (t == NULL || cm_rules_stmt_end(p, st) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    path = cm_rules_file_value(p, st, t);
    if (path == NULL) {
        return CM_RULES_ERROR;
    }

    rc = cm_load_path(p, path, st->file, t->line);
    free(path);

    return rc;
}


/* --- threshold, set ------------------------------------------------------- */

static int
cm_stmt_threshold(cm_rules_parser_t *p, cm_rules_stmt_t *st)
{
    int                      which, value;
    const cm_rules_token_t  *t, *v;

    static const char       *what[] = { "threshold queue", "threshold reject" };

    t = cm_rules_value(p, st, &st->tok[0]);
    if (t == NULL
        || cm_rules_keyword(p, st, t, "threshold", cm_thresholds,
                            cm_nelts(cm_thresholds), &which) != CM_RULES_OK
        || (v = cm_rules_value(p, st, t)) == NULL
        || cm_rules_number(p, st->file, what[which], v, 1, CM_THRESHOLD_MAX,
                           &value)
           != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    /* threshold queue 3 for article 101, 102 */
    v = cm_rules_peek(st);
    if (v != NULL && v->type == CM_RULES_WORD && v->len == 3
        && memcmp(v->text, "for", 3) == 0)
    {
        return cm_threshold_articles(p, st, which, value);
    }

    if (cm_rules_stmt_end(p, st) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    /* the last one wins: queue < reject is checked when all is read */
    if (which == 0) {
        p->rules->queue_at = value;
        p->queue_file = st->file;
        p->queue_line = t->line;

    } else {
        p->rules->reject_at = value;
        p->reject_file = st->file;
        p->reject_line = t->line;
    }

    p->reject_last = (unsigned) which;

    return CM_RULES_OK;
}


/*
 * "for article ID, ID ..." or "for section NAME, ...": the threshold of
 * those articles, or of the comments in those sections, only
 */
static int
cm_threshold_articles(cm_rules_parser_t *p, cm_rules_stmt_t *st, int which,
    int value)
{
    size_t                   i;
    unsigned                 section;
    cm_rules_t              *rules = p->rules;
    cm_article_threshold_t  *a;
    const cm_rules_token_t  *f, *k, *id, *c;

    f = &st->tok[st->next++];
    k = cm_rules_value(p, st, f);
    if (k == NULL) {
        return CM_RULES_ERROR;
    }

    if (k->len == 7 && memcmp(k->text, "article", 7) == 0) {
        section = 0;

    } else if (k->len == 7 && memcmp(k->text, "section", 7) == 0) {
        section = 1;

    } else {
        return cm_rules_error(p, st->file, k->line,
                              "\"for\" takes article ids or sections, as in "
                              "threshold queue 3 for article 101, 102 or "
                              "threshold queue 3 for section pemilu");
    }

    for ( ;; ) {
        id = cm_rules_value(p, st, k);
        if (id == NULL) {
            return CM_RULES_ERROR;
        }

        for (i = 0; i < rules->narticles; i++) {
            if (rules->articles[i].section == section
                && rules->articles[i].len == id->len
                && memcmp(rules->articles[i].article, id->text, id->len) == 0)
            {
                break;
            }
        }

        if (i == rules->narticles) {
            a = realloc(rules->articles,
                        (i + 1) * sizeof(cm_article_threshold_t));
            if (a == NULL) {
                return cm_rules_no_memory(p, st->file);
            }

            rules->articles = a;
            a = &a[i];
            memset(a, 0, sizeof(cm_article_threshold_t));

            a->article = strndup(id->text, id->len);
            if (a->article == NULL) {
                return cm_rules_no_memory(p, st->file);
            }

            a->len = id->len;
            a->section = section;
            rules->narticles++;
        }

        a = &rules->articles[i];
        a->file = st->file;
        a->line = id->line;

        if (which == 0) {
            a->queue_at = value;
        } else {
            a->reject_at = value;
        }

        c = cm_rules_peek(st);
        if (c == NULL || c->type != CM_RULES_COMMA) {
            break;
        }

        st->next++;
    }

    return cm_rules_stmt_end(p, st);
}


static int
cm_stmt_set(cm_rules_parser_t *p, cm_rules_stmt_t *st)
{
    int                      value;
    const cm_rules_token_t  *t, *v;

    t = cm_rules_value(p, st, &st->tok[0]);
    if (t == NULL) {
        return CM_RULES_ERROR;
    }

    if (cm_rules_find(cm_settings, cm_nelts(cm_settings), t) == NULL) {
        return cm_rules_unknown(p, st->file, t, "setting", cm_settings,
                                sizeof(cm_settings[0]),
                                cm_nelts(cm_settings), NULL);
    }

    /* regex-error, the only setting so far */
    v = cm_rules_value(p, st, t);
    if (v == NULL
        || cm_rules_keyword(p, st, v, "regex-error value", cm_regex_errors,
                            cm_nelts(cm_regex_errors), &value)
           != CM_RULES_OK
        || cm_rules_stmt_end(p, st) != CM_RULES_OK)
    {
        return CM_RULES_ERROR;
    }

    p->rules->regex_error = (cm_regex_error_e) value;

    return CM_RULES_OK;
}


static int
cm_thresholds_check(cm_rules_parser_t *p)
{
    int                      queue_at, reject_at;
    size_t                   i;
    cm_rules_t              *rules = p->rules;
    cm_article_threshold_t  *a;

    for (i = 0; i < rules->narticles; i++) {
        a = &rules->articles[i];
        queue_at = a->queue_at ? a->queue_at : rules->queue_at;
        reject_at = a->reject_at ? a->reject_at : rules->reject_at;

        if (queue_at >= reject_at) {
            return cm_rules_error(p, a->file, a->line,
                                  "for %s %s, threshold queue %d must "
                                  "be less than threshold reject %d",
                                  a->section ? "section" : "article",
                                  a->article, queue_at, reject_at);
        }
    }

    if (rules->queue_at < rules->reject_at) {
        return CM_RULES_OK;
    }

    /* blame the one set last */
    if (p->reject_last) {
        return cm_rules_error(p, p->reject_file, p->reject_line,
                              "threshold reject %d must be greater than "
                              "threshold queue %d",
                              rules->reject_at, rules->queue_at);
    }

    return cm_rules_error(p, p->queue_file, p->queue_line,
                          "threshold queue %d must be less than threshold "
                          "reject %d%s", rules->queue_at, rules->reject_at,
                          p->reject_file == NULL ? " (the default)" : "");
}


/* --- rules ---------------------------------------------------------------- */

static void
cm_rule_def_free(cm_rule_def_t *def)
{
    size_t  i;

    for (i = 0; i < def->nwords; i++) {
        free(def->words[i].text);
    }

    free(def->words);
    free(def->name);
    free(def->regex);
    free(def->note);
    free(def->conditions);
}


/* The line where the rule gave "key", 0 if it did not. */
static unsigned
cm_seen(const cm_rule_build_t *rb, const char *key)
{
    size_t  i;

    for (i = 0; i < cm_rule_nkeys; i++) {
        if (strcmp(cm_rule_keys[i].name, key) == 0) {
            return rb->seen[i];
        }
    }

    return 0;
}


static unsigned
cm_later(unsigned a, unsigned b)
{
    return a > b ? a : b;
}


static int
cm_rule_name_check(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const cm_rules_token_t *t)
{
    size_t                i;
    unsigned char         c;
    const cm_rule_def_t  *r;

    for (i = 0; i < t->len; i++) {
        c = (unsigned char) t->text[i];

        if (!cm_rules_is_alnum(c) && c != '-' && c != '_' && c != '.') {
            break;
        }
    }

    if (t->len == 0 || i < t->len || t->len > CM_RULE_NAME_MAX
        || !cm_rules_is_alnum((unsigned char) t->text[0]))
    {
        return cm_rules_error(p, st->file, t->line,
                              "bad rule name \"%.*s\": up to %d letters "
                              "a-z, digits, \"-\", \"_\" and \".\", starting "
                              "with a letter or digit",
                              cm_rules_show_tok(t), CM_RULE_NAME_MAX);
    }

    /* names differing only in case would confuse the logs */
    for (i = cm_rule_name_hash(t->text, t->len) & (p->names_size - 1);
         p->names_size != 0 && p->names[i] != 0;
         i = (i + 1) & (p->names_size - 1))
    {
        r = &p->rules->rules[p->names[i] - 1];

        if (strlen(r->name) != t->len
            || strncasecmp(r->name, t->text, t->len) != 0)
        {
            continue;
        }

        if (r->file == st->file) {
            return cm_rules_error(p, st->file, t->line,
                                  "duplicate rule name \"%.*s\" (first "
                                  "defined at line %u)",
                                  cm_rules_show_tok(t), r->line);
        }

        return cm_rules_error(p, st->file, t->line,
                              "duplicate rule name \"%.*s\" (first defined "
                              "at %s:%u)", cm_rules_show_tok(t), r->file,
                              r->line);
    }

    return CM_RULES_OK;
}


/*
 * A rule on what Redis knows alone ("when", "limit") has no text to look
 * at: the keys about looking make no sense in it.
 */
static int
cm_rule_facts_check(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    cm_rule_build_t *rb)
{
    size_t              i;
    unsigned            line;
    static const char  *content_keys[] = { "fields", "view", "min-count" };

    for (i = 0; i < cm_nelts(content_keys); i++) {
        line = cm_seen(rb, content_keys[i]);

        if (line) {
            return cm_rules_error(p, st->file, line,
                                  "rule \"%s\": \"%s\" is for rules with "
                                  "words or regex", rb->def.name,
                                  content_keys[i]);
        }
    }

    rb->def.kind = CM_RULE_FACTS;

    return CM_RULES_OK;
}


/* The whole rule is read: check what only the whole can tell. */
static int
cm_rule_check(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb)
{
    unsigned        words, regex, score, action, unknown;
    cm_rule_def_t  *def = &rb->def;

    words = cm_later(cm_seen(rb, "words"), cm_seen(rb, "words-file"));
    regex = cm_seen(rb, "regex");
    score = cm_seen(rb, "score");
    action = cm_seen(rb, "action");
    unknown = cm_seen(rb, "when-unknown");

    if (words && regex) {
        return cm_rules_error(p, st->file, cm_later(words, regex),
                              "rule \"%s\" has both a word list and "
                              "\"regex\" (make them two rules)", def->name);
    }

    if (unknown && !cm_rule_has_facts(def)) {
        return cm_rules_error(p, st->file, unknown,
                              "rule \"%s\": \"when-unknown\" goes with "
                              "\"when\" or \"limit\"", def->name);
    }

    if (!words && !regex && !cm_rule_has_facts(def)) {
        return cm_rules_error(p, st->file, st->line,
                              "rule \"%s\" has neither \"words\" nor "
                              "\"regex\"%s", def->name,
                              st->ntok == 2 ? " (a rule's keys go on its "
                                              "line or on indented lines "
                                              "below it)" : "");
    }

    if (score && action) {
        return cm_rules_error(p, st->file, cm_later(score, action),
                              "rule \"%s\" has both \"score\" and "
                              "\"action\" (a rule either adds to the score "
                              "or decides)", def->name);
    }

    if (!score && !action) {
        return cm_rules_error(p, st->file, st->line,
                              "rule \"%s\" has neither \"score\" nor "
                              "\"action\" (add score N or action "
                              "reject|queue|accept)", def->name);
    }

    if (!words && !regex) {
        return cm_rule_facts_check(p, st, rb);
    }

    def->kind = words ? CM_RULE_WORDS : CM_RULE_REGEX;

    if (def->kind == CM_RULE_WORDS && (def->views & CM_RULE_VIEW_RAW)) {
        return cm_rules_error(p, st->file, cm_seen(rb, "view"),
                              "rule \"%s\": \"view raw\" is for regex rules "
                              "(word lists match the folded text)",
                              def->name);
    }

    if (def->views == 0) {
        def->views = (def->kind == CM_RULE_WORDS)
                     ? CM_RULE_VIEW_FOLDED | CM_RULE_VIEW_DELEET
                     : CM_RULE_VIEW_FOLDED;
    }

    if (def->fields == 0) {
        def->fields = CM_FIELD_BIT(CM_FIELD_TEXT);
    }

    return CM_RULES_OK;
}


static int
cm_rule_add(cm_rules_parser_t *p, cm_rule_def_t *def)
{
    cm_rule_def_t  *rules;
    cm_rules_t     *set = p->rules;

    rules = cm_rules_grow(set->rules, set->nrules, &set->nalloc,
                          sizeof(cm_rule_def_t));
    if (rules == NULL) {
        return cm_rules_no_memory(p, def->file);
    }

    set->rules = rules;

    if (cm_rule_name_add(p, def->name, set->nrules) != 0) {
        return cm_rules_no_memory(p, def->file);
    }

    set->rules[set->nrules++] = *def;

    return CM_RULES_OK;
}


/* Adds rule r's name to the names' table, growing it to stay half empty. */
static int
cm_rule_name_add(cm_rules_parser_t *p, const char *name, size_t r)
{
    size_t     k, size;
    uint32_t  *names;

    if (2 * (r + 1) > p->names_size) {
        size = p->names_size ? 2 * p->names_size : 64;

        names = calloc(size, sizeof(uint32_t));
        if (names == NULL) {
            return -1;
        }

        free(p->names);
        p->names = names;
        p->names_size = size;

        /* the rules before r again */
        for (k = 0; k < r; k++) {
            cm_rule_name_put(p, p->rules->rules[k].name, k);
        }
    }

    cm_rule_name_put(p, name, r);

    return 0;
}


static void
cm_rule_name_put(cm_rules_parser_t *p, const char *name, size_t r)
{
    size_t  i, mask;

    mask = p->names_size - 1;

    for (i = cm_rule_name_hash(name, strlen(name)) & mask;
         p->names[i] != 0;
         i = (i + 1) & mask)
    {
        /* void */
    }

    p->names[i] = (uint32_t) r + 1;
}


/* FNV-1a of the name in lower case */
static size_t
cm_rule_name_hash(const char *name, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) tolower((unsigned char) name[i]))
            * 16777619u;
    }

    return h;
}


/* "words slot gacor": the unknown "key" was meant as part of a value */
static const char *
cm_value_hint(const cm_rules_stmt_t *st, const cm_rules_token_t *t)
{
    size_t                i;
    const cm_rule_key_t  *key;

    if (st->value == 0 || &st->tok[st->value] != t) {
        return NULL;
    }

    i = st->value - 1;

    if (st->tok[i].type != CM_RULES_WORD || st->tok[i].line != t->line) {
        return NULL;
    }

    /* back over "a, b, c" to the key the value belongs to */
    while (i >= 2 && st->tok[i - 1].type == CM_RULES_COMMA) {
        i -= 2;
    }

    if (i == 1) {
        return "a rule name has no spaces: join words with \"-\" as in "
               "judol-vocab";
    }

    key = cm_rules_find(cm_rule_keys, cm_rule_nkeys, &st->tok[i - 1]);

    return key ? key->hint : NULL;
}


/* The key at "t": its handler for each of its values. */
static int
cm_rule_key(cm_rules_parser_t *p, cm_rules_stmt_t *st, cm_rule_build_t *rb,
    const cm_rules_token_t *t)
{
    size_t                   k;
    const cm_rule_key_t     *key;
    const cm_rules_token_t  *v;

    if (t->type != CM_RULES_WORD) {
        return cm_rules_error(p, st->file, t->line,
                              "unexpected \"%.*s\" where a key such as "
                              "\"words\" or \"score\" should be",
                              cm_rules_show_tok(t));
    }

    key = cm_rules_find(cm_rule_keys, cm_rule_nkeys, t);

    if (key == NULL) {
        return cm_rules_unknown(p, st->file, t, "key", cm_rule_keys,
                                sizeof(cm_rule_keys[0]), cm_rule_nkeys,
                                cm_value_hint(st, t));
    }

    k = (size_t) (key - cm_rule_keys);

    if (rb->seen[k] && !key->repeat) {
        return cm_rules_error(p, st->file, t->line,
                              "\"%s\" is given twice in rule \"%s\" (first "
                              "at line %u)", key->name, rb->def.name,
                              rb->seen[k]);
    }

    if (rb->seen[k] == 0) {
        rb->seen[k] = t->line;
    }

    st->next++;

    if (key->takes == CM_RULE_KEY_FLAG) {
        return key->handler(p, st, rb, t);
    }

    for ( ;; ) {
        v = cm_rules_value(p, st, t);
        if (v == NULL || key->handler(p, st, rb, v) != CM_RULES_OK) {
            return CM_RULES_ERROR;
        }

        v = cm_rules_peek(st);

        if (key->takes == CM_RULE_KEY_VALUE || v == NULL
            || v->type != CM_RULES_COMMA)
        {
            return CM_RULES_OK;
        }

        st->next++;
    }
}


static int
cm_stmt_rule(cm_rules_parser_t *p, cm_rules_stmt_t *st)
{
    int                      rc;
    unsigned                *seen;
    cm_rule_build_t          rb;
    const cm_rules_token_t  *t;

    if (st->ntok == 1) {
        return cm_rules_error(p, st->file, st->line,
                              "\"rule\" needs a name, as in rule "
                              "judol-vocab");
    }

    t = cm_rules_value(p, st, &st->tok[0]);
    if (t == NULL || cm_rule_name_check(p, st, t) != CM_RULES_OK) {
        return CM_RULES_ERROR;
    }

    seen = calloc(cm_rule_nkeys, sizeof(unsigned));
    if (seen == NULL) {
        return cm_rules_no_memory(p, st->file);
    }

    memset(&rb, 0, sizeof(cm_rule_build_t));
    rb.seen = seen;
    rb.def.file = st->file;
    rb.def.line = t->line;
    rb.def.action = CM_ACTION_SCORE;
    rb.def.min_count = 1;

    rb.def.name = cm_rules_token_dup(t);
    rc = (rb.def.name == NULL) ? cm_rules_no_memory(p, st->file)
                               : CM_RULES_OK;

    while (rc == CM_RULES_OK && (t = cm_rules_peek(st)) != NULL) {
        rc = cm_rule_key(p, st, &rb, t);
    }

    if (rc == CM_RULES_OK) {
        rc = cm_rule_check(p, st, &rb);
    }

    if (rc == CM_RULES_OK) {
        rc = cm_rule_add(p, &rb.def);
    }

    if (rc != CM_RULES_OK) {
        cm_rule_def_free(&rb.def);
    }

    free(seen);

    return rc;
}


/* --- the interface -------------------------------------------------------- */

cm_rules_t *
cm_rules_load(const cm_rules_source_t *src, const char *path, char *err,
    size_t err_len)
{
    int                rc;
    char              *clean;
    cm_rules_parser_t  p;

    memset(&p, 0, sizeof(cm_rules_parser_t));
    p.src = src;
    p.err = err;
    p.err_len = err_len;

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }

    p.rules = calloc(1, sizeof(cm_rules_t));
    clean = strdup(path);

    if (p.rules == NULL || clean == NULL) {
        free(p.rules);
        free(clean);
        cm_rules_no_memory(&p, path);
        return NULL;
    }

    p.rules->queue_at = 5;
    p.rules->reject_at = 10;
    p.rules->regex_error = CM_REGEX_ERROR_QUEUE;

    cm_rules_path_clean(clean);
    rc = cm_load_path(&p, clean, NULL, 0);
    free(clean);
    free(p.names);

    if (rc == CM_RULES_OK) {
        rc = cm_thresholds_check(&p);
    }

    if (rc != CM_RULES_OK) {
        cm_rules_free(p.rules);
        return NULL;
    }

    return p.rules;
}


void
cm_rules_free(cm_rules_t *rules)
{
    size_t  i;

    if (rules == NULL) {
        return;
    }

    for (i = 0; i < rules->nrules; i++) {
        cm_rule_def_free(&rules->rules[i]);
    }

    for (i = 0; i < rules->nfiles; i++) {
        free(rules->files[i]);
    }

    for (i = 0; i < rules->narticles; i++) {
        free(rules->articles[i].article);
    }

    free(rules->articles);
    free(rules->rules);
    free(rules->files);
    free(rules);
}
