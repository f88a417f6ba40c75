/*
 * Rule files: the editors' plain-text format (specified in rules/README.md),
 * parsed into rule definitions.  Parsing only checks the syntax and the
 * values; regexes are compiled by the engine (ngx_http_comment_moderation_
 * engine.h), which reports errors with the same file and line.
 *
 * A statement starts at column 0; indented lines continue it.
 *
 *     include  contact-spam.rules        # relative to this file
 *     threshold queue 5
 *     threshold reject 10
 *     set regex-error queue              # what a regex that hits a limit means
 *
 *     rule judol-vocab
 *         words  "slot gacor", maxwin, togel, gacor*
 *         score  6
 *         note   "Gambling vocabulary."
 *
 *     rule wa-number regex "(?:\+?62|0)8[0-9 .-]{8,14}" view raw score 4 shadow
 *
 *     rule first-time-link                # what Redis knows: see README.md
 *         regex  "https?://|www\."
 *         when   first-time author
 *         when-unknown match
 *         action queue
 *
 *     rule flood-author limit author 10/60s action queue
 *
 * Plain C, no nginx types; unit-tested and fuzzed alone.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_RULES_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_RULES_H_INCLUDED_


#include <stddef.h>
#include <time.h>
#include <stdint.h>


/* The fields a rule can look at: the comment's roles and request metadata. */
typedef enum {
    CM_FIELD_TEXT = 0,          /* rule-file name: text */
    CM_FIELD_NAME,              /* name */
    CM_FIELD_EMAIL,             /* email */
    CM_FIELD_URL,               /* url */
    CM_FIELD_ARTICLE,           /* article */
    CM_FIELD_SECTION,           /* section (comment_moderation_section, or
                                   the body's section= field) */
    CM_FIELD_IP,                /* ip (client address, after realip) */
    CM_FIELD_USER_AGENT,        /* user-agent */
    CM_FIELD_REFERER,           /* referer */
    CM_FIELD_USER,              /* user (logged-in user id, if any) */
    CM_FIELD_N
} cm_field_e;

#define CM_FIELD_BIT(f)  (1u << (f))


/*
 * Whose history Redis keeps: the author (logged-in user id, else email,
 * else address), the client address, its network (/24, /64), and, for
 * limits only, the comment's normalized text across the site (bot swarms).
 */
typedef enum {
    CM_IDENT_AUTHOR = 0,        /* rule-file name: author */
    CM_IDENT_IP,                /* ip */
    CM_IDENT_NETWORK,           /* network */
    CM_IDENT_TEXT,              /* text (limits only) */
    CM_IDENT_N
} cm_ident_e;


/* An identity's counters, as "when" conditions name them. */
typedef enum {
    CM_COUNT_SEEN = 0,          /* seen: comments before this one */
    CM_COUNT_ACCEPTED,          /* accepted: published without a moderator */
    CM_COUNT_QUEUED,            /* queued: held for a moderator */
    CM_COUNT_APPROVED,          /* approved: by a moderator */
    CM_COUNT_REJECTED,          /* rejected: by rules or a moderator */
    CM_COUNT_REJECTED_24H,      /* rejected-24h (author and network only) */
    CM_COUNT_TRUSTED,           /* trusted: 1 once a moderator trusted the
                                   author (author only) */
    CM_COUNT_BLOCKED,           /* blocked: 1 while a moderator's block holds
                                   (author and network only) */
    CM_COUNT_N
} cm_count_e;


typedef enum {
    CM_RULE_WORDS = 0,          /* list of words/phrases, whole words */
    CM_RULE_REGEX,              /* one pcre2 pattern */
    CM_RULE_FACTS               /* no content: only "when" and "limit" */
} cm_rule_kind_e;


/* "when" comparisons */
typedef enum {
    CM_OP_LT = 0,               /* < */
    CM_OP_LE,                   /* <= */
    CM_OP_EQ,                   /* = (or ==) */
    CM_OP_NE,                   /* != */
    CM_OP_GE,                   /* >= */
    CM_OP_GT                    /* > */
} cm_op_e;


/* One "when" condition: the identity's counter compared with a number. */
typedef struct {
    cm_ident_e       ident;     /* author, ip or network */
    cm_count_e       count;
    cm_op_e          op;
    long             value;
} cm_condition_t;


/* Limits count comments in sliding windows of up to a day. */
#define CM_LIMIT_WINDOW_MAX  (24 * 3600 * 1000u)   /* ms */


/* Where a rule matches.  Word lists use the compact views, regexes the others. */
#define CM_RULE_VIEW_RAW     0x01
#define CM_RULE_VIEW_FOLDED  0x02   /* words: compact */
#define CM_RULE_VIEW_DELEET  0x04   /* words: compact_deleet */


typedef enum {
    CM_ACTION_SCORE = 0,        /* adds "score" to the comment's score */
    CM_ACTION_ACCEPT,           /* hard actions: see rules/README.md for */
    CM_ACTION_QUEUE,            /* their precedence */
    CM_ACTION_REJECT
} cm_action_e;


typedef struct {
    char            *text;      /* as written, quotes removed */
    size_t           len;
    unsigned         prefix:1;  /* written "word*": may continue ("gacor*") */
    unsigned         suffix:1;  /* written "*word": may be preceded */
    unsigned         line;      /* line of the word in its file */
    const char      *file;      /* the rule file or words-file; points into
                                   cm_rules_t.files */
} cm_word_t;


typedef struct {
    char            *name;      /* unique in the set */
    const char      *file;      /* points into cm_rules_t.files */
    unsigned         line;      /* line of "rule NAME" */

    cm_rule_kind_e   kind;
    cm_word_t       *words;     /* CM_RULE_WORDS */
    size_t           nwords;
    char            *regex;     /* CM_RULE_REGEX, NUL-terminated */
    unsigned         regex_line;

    uint32_t         fields;    /* CM_FIELD_BIT()s; default: text */
    unsigned         views;     /* CM_RULE_VIEW_*; default: words folded|deleet,
                                   regex folded */
    cm_action_e      action;
    int              score;     /* for CM_ACTION_SCORE; may be negative */
    unsigned         min_count; /* matches needed for the rule to fire; 1 */
    char            *note;      /* NULL if none */
    unsigned         shadow:1;  /* counted and logged, no effect */
    time_t           expires;   /* from then on as if shadow; 0: never */

    /* what Redis knows: the rule fires only when its content matched (or
       it has none) and all of these hold */
    cm_condition_t  *conditions;    /* "when" */
    size_t           nconditions;
    unsigned         limit_max;     /* "limit IDENT N/WINDOW": N, or 0 for
                                       no limit; holds above N comments */
    unsigned         limit_ms;      /* WINDOW */
    cm_ident_e       limit_ident;
    unsigned         unknown_match:1;   /* "when-unknown match": holds when
                                           Redis did not answer */
} cm_rule_def_t;


/* a rule that changes no decision: a shadow, or past its "expires" */
int cm_rule_silent(const cm_rule_def_t *rule);


/* whether a rule asks Redis: "when" or "limit" */
#define cm_rule_has_facts(r)  ((r)->nconditions > 0 || (r)->limit_max > 0)


typedef enum {
    CM_REGEX_ERROR_QUEUE = 0,   /* a regex hitting a limit queues the comment */
    CM_REGEX_ERROR_IGNORE       /* ... or the rule just does not match */
} cm_regex_error_e;


/* "threshold queue 3 for article 101, 102" (or "for section pemilu"):
   stricter coverage */
typedef struct {
    char            *article;       /* the article id, or the section */
    size_t           len;
    unsigned         section;       /* 1: "for section" */
    int              queue_at;      /* 0: the set's */
    int              reject_at;     /* 0: the set's */
    const char      *file;          /* where, for errors */
    unsigned         line;
} cm_article_threshold_t;


typedef struct {
    cm_rule_def_t   *rules;
    size_t           nrules;
    size_t           nalloc;

    cm_article_threshold_t  *articles;
    size_t           narticles;

    int              queue_at;  /* score >= queue_at: queue; default 5 */
    int              reject_at; /* score >= reject_at: reject; default 10 */
    cm_regex_error_e regex_error;

    char           **files;     /* every file read, in order (owns the names) */
    size_t           nfiles;
} cm_rules_t;


/*
 * Where rule files come from: the file system, or (for rule sets published
 * to Redis) a bundle in memory.  read() returns malloc'ed contents, or NULL
 * with errno set; names are as "include" wrote them, joined to the includer's
 * directory by cm_rules_load().
 */
typedef struct {
    char  *(*read)(void *data, const char *name, size_t *len);
    /* NULL-terminated malloc'ed array of the names (without the directory;
       each malloc'ed, freed by the caller) of the "*.rules" files in a
       directory, sorted; NULL if "name" is not a directory.  May be NULL:
       a source without directories */
    char **(*list_dir)(void *data, const char *name);
    void   *data;
} cm_rules_source_t;


/* The file system, for nginx's configuration and the tools. */
extern const cm_rules_source_t  cm_rules_source_files;


/*
 * Parses "path" (a file, or a directory of *.rules files read in name order)
 * and everything it includes.  On error returns NULL and writes
 * "FILE:LINE: reason" into err.
 */
cm_rules_t *cm_rules_load(const cm_rules_source_t *src, const char *path,
    char *err, size_t err_len);

void cm_rules_free(cm_rules_t *rules);

/*
 * A rule file's text with the "shadow" key of rule NAME taken out (to
 * promote the rule): *out malloc'ed, NUL-terminated.  CM_RULES_OK (0), or
 * -1 with err saying why: no such rule, not a shadow, a broken file.
 */
int cm_rules_unshadow(const char *file, const char *text, size_t len,
    const char *name, char **out, size_t *out_len, char *err, size_t err_len);

/* "text", "email", ...; CM_FIELD_N if unknown */
cm_field_e cm_field_by_name(const char *name, size_t len);
const char *cm_field_name(cm_field_e f);

/* the rule-file names of identities, counters and operators, as above;
   _by_name() returns CM_IDENT_N, CM_COUNT_N if unknown */
cm_ident_e cm_ident_by_name(const char *name, size_t len);
const char *cm_ident_name(cm_ident_e ident);
cm_count_e cm_count_by_name(const char *name, size_t len);
const char *cm_count_name(cm_count_e count);
const char *cm_op_name(cm_op_e op);

/* "60s", "10m", "1h", "1d" in ms; 0 if not such a window or over a day */
unsigned cm_window_ms(const char *text, size_t len);


#endif /* _NGX_HTTP_COMMENT_MODERATION_RULES_H_INCLUDED_ */
