/*
 * Inside the rule-file parser (not a public interface): what its files
 * share.
 *
 *   rules.c         loading: files, includes, statements, whole rules
 *   rules_keys.c    the keys of a rule (one table entry and one handler each)
 *   rules_syntax.c  lines, statements, tokens, values; "FILE:LINE: reason"
 *   rules_files.c   the file-system source and path names
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_RULES_SYNTAX_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_RULES_SYNTAX_H_INCLUDED_


#include <stddef.h>

#include "ngx_http_comment_moderation_rules.h"


#define CM_RULES_OK         0
#define CM_RULES_ERROR      -1

#define CM_RULES_MAX_DEPTH  16          /* nested includes */

#define cm_nelts(a)  (sizeof(a) / sizeof((a)[0]))


typedef enum {
    CM_RULES_WORD = 0,          /* bare */
    CM_RULES_QUOTED,
    CM_RULES_COMMA
} cm_rules_token_type_e;


typedef struct {
    const char             *text;   /* inside the quotes, escapes not undone */
    size_t                  len;
    unsigned                line;
    cm_rules_token_type_e   type;
    char                    quote;  /* '"' or '\'' for CM_RULES_QUOTED */
} cm_rules_token_t;


/* One statement: its first line and the indented lines that continue it. */
typedef struct {
    const char             *file;
    unsigned                line;
    cm_rules_token_t       *tok;
    size_t                  ntok;
    size_t                  nalloc;
    size_t                  next;   /* the next token to parse */
    size_t                  value;  /* 1 + index of the last value read */
} cm_rules_stmt_t;


typedef struct {
    const char             *pos;
    const char             *end;
    unsigned                line;   /* of the line last read */
} cm_rules_reader_t;


typedef struct {
    const cm_rules_source_t  *src;
    cm_rules_t               *rules;
    char                     *err;
    size_t                    err_len;

    const char               *stack[CM_RULES_MAX_DEPTH];  /* being read */
    unsigned                  depth;

    /* where the thresholds were last set, for the check at the end */
    const char               *queue_file;
    unsigned                  queue_line;
    const char               *reject_file;
    unsigned                  reject_line;
    unsigned                  reject_last;    /* set after queue */

    /* the rules' names, case folded: open addressing, rule index + 1 per
       slot, 0 empty; at most half full */
    uint32_t                 *names;
    size_t                    names_size;     /* a power of two, or 0 */
} cm_rules_parser_t;


/* keyword tables: fields, views, actions, ... */
typedef struct {
    const char             *name;
    int                     value;
} cm_rules_keyword_t;


/* A rule being read. */
typedef struct {
    cm_rule_def_t           def;
    size_t                  nalloc;     /* of def.words */
    size_t                  nconditions_alloc;
    unsigned               *seen;       /* [cm_rule_nkeys]: the line where
                                           each key was first given, or 0 */
} cm_rule_build_t;


typedef enum {
    CM_RULE_KEY_FLAG = 0,       /* no value: "shadow" */
    CM_RULE_KEY_VALUE,          /* one value: "score 4" */
    CM_RULE_KEY_LIST            /* values separated by commas */
} cm_rule_key_takes_e;


/*
 * A key of a rule: the handler is called with the key's token for a flag,
 * else once for each value.
 */
typedef struct {
    const char             *name;
    int                   (*handler)(cm_rules_parser_t *p, cm_rules_stmt_t *st,
                                     cm_rule_build_t *rb,
                                     const cm_rules_token_t *t);
    cm_rule_key_takes_e     takes;
    unsigned                repeat;     /* may be given more than once */
    const char             *hint;       /* when a word follows a value:
                                           "words slot gacor" */
} cm_rule_key_t;


/* rules_keys.c */
extern const cm_rule_key_t  cm_rule_keys[];
extern const size_t         cm_rule_nkeys;


/* rules.c, for words-files */
char *cm_rules_file_value(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const cm_rules_token_t *t);
char *cm_rules_read_text(cm_rules_parser_t *p, char *path, const char *what,
    const char *from, unsigned line, const char **file, size_t *len);


/* rules_files.c */
char *cm_rules_path_join(const char *dir, size_t dir_len, const char *name,
    size_t len);
size_t cm_rules_path_dir_len(const char *file);
void cm_rules_path_clean(char *path);


/* rules_syntax.c: errors; all return CM_RULES_ERROR */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int cm_rules_error(cm_rules_parser_t *p, const char *file, unsigned line,
    const char *fmt, ...);
int cm_rules_no_memory(cm_rules_parser_t *p, const char *file);
int cm_rules_show(const char *s, size_t len);

/* for "%.*s": a token's text, cut short if long */
#define cm_rules_show_tok(t)  cm_rules_show((t)->text, (t)->len), (t)->text

/* unknown WHAT "x" (did you mean "y"? or: hint), (hint), (WHATs are: ...) */
int cm_rules_unknown(cm_rules_parser_t *p, const char *file,
    const cm_rules_token_t *t, const char *what, const void *table,
    size_t size, size_t n, const char *hint);


/*
 * Room for element "n" in an array of "*nalloc" elements of "size" bytes:
 * returns the array, moved maybe, or NULL (the old one still valid).
 */
void *cm_rules_grow(void *array, size_t n, size_t *nalloc, size_t size);


/* rules_syntax.c: text */
int cm_rules_is_space(char c);
int cm_rules_is_alnum(unsigned char c);
int cm_rules_keyword_is(const char *s, size_t len, const char *kw);
int cm_rules_tok_is(const cm_rules_token_t *t, const char *kw);

/* tables whose entries start with "const char *name" */
const void *cm_rules_table_find(const void *table, size_t size, size_t n,
    const cm_rules_token_t *t);

#define cm_rules_find(table, n, t)                                            \
    cm_rules_table_find(table, sizeof((table)[0]), n, t)

int cm_rules_text_check(cm_rules_parser_t *p, const char *file,
    const char *text, size_t len);
void cm_rules_reader_init(cm_rules_reader_t *rd, const char *text,
    size_t len);
int cm_rules_reader_next(cm_rules_reader_t *rd, const char **s,
    const char **e);
int cm_rules_tokenize(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const char *s, const char *e, unsigned line);
char *cm_rules_token_dup(const cm_rules_token_t *t);

/* 1 and the next statement in "st", 0 at the end, or CM_RULES_ERROR */
int cm_rules_next_statement(cm_rules_parser_t *p, cm_rules_reader_t *rd,
    cm_rules_stmt_t *st);


/* rules_syntax.c: values of a statement */
const cm_rules_token_t *cm_rules_peek(const cm_rules_stmt_t *st);
const cm_rules_token_t *cm_rules_value(cm_rules_parser_t *p,
    cm_rules_stmt_t *st, const cm_rules_token_t *key);
int cm_rules_number(cm_rules_parser_t *p, const char *file, const char *what,
    const cm_rules_token_t *t, int min, int max, int *out);
int cm_rules_keyword(cm_rules_parser_t *p, cm_rules_stmt_t *st,
    const cm_rules_token_t *t, const char *what,
    const cm_rules_keyword_t *table, size_t n, int *value);
int cm_rules_stmt_end(cm_rules_parser_t *p, cm_rules_stmt_t *st);


#endif /* _NGX_HTTP_COMMENT_MODERATION_RULES_SYNTAX_H_INCLUDED_ */
