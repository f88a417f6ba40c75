/*
 * cm-check: the editors' tool.  Runs one comment (stdin) through a rule set
 * and shows the decision and why: the folded text, each rule that fired
 * and each match on the original text.  --batch runs one comment per line
 * for data evaluation.
 *
 *   scripts/cm-check --rules PATH [--name N] [--email E] [--url U] [--ip A]
 *                    [--article ID] [--section S] [--user-agent UA]
 *                    [--referer R]
 *                    [--user ID] [--facts FACTS] [--json] [--stats]
 *                    [--batch [--nul]]
 *
 * --facts tries the rules on what Redis knows ("when", "limit") offline:
 * what Redis would have answered, as comma-separated IDENT.COUNTER=N and
 * limit.IDENT.WINDOW=N (the comments in that window, this one included),
 * e.g. "author.seen=0,author.approved=3,network.rejected-24h=2,
 * limit.author.60s=11"; what is not given is 0.  "--facts unknown" is Redis
 * not answering; without --facts, Redis is not configured (the same).
 *
 *   scripts/cm-check --rules PATH --promote NAME
 *
 * --promote takes the "shadow" key of rule NAME out of its file, in place
 * (what scripts/cm-rules promote publishes; the module's api/rules/promote
 * does the same with the same function).
 *
 * Exit status: 0; 1 when the comment is not valid UTF-8, or the rule to
 * promote is not there or not a shadow; 2 for a usage error or a broken
 * rule set ("FILE:LINE: reason").
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_regex.h"


/* bytes of original text shown each side of a match */
#define CM_CHECK_CONTEXT  30


typedef struct {
    const char   *rules;
    const char   *facts_spec;   /* --facts */
    const char   *promote;      /* --promote NAME */
    cm_facts_t    facts;
    cm_facts_t   *with;         /* &facts with --facts, else NULL */
    cm_input_t    in;
    int           json;
    int           batch;
    int           nul;
    int           stats;
} cm_check_opts_t;


static const struct {
    const char   *option;
    cm_field_e    field;
} cm_check_fields[] = {
    { "--name",       CM_FIELD_NAME },
    { "--email",      CM_FIELD_EMAIL },
    { "--url",        CM_FIELD_URL },
    { "--ip",         CM_FIELD_IP },
    { "--article",    CM_FIELD_ARTICLE },
    { "--section",    CM_FIELD_SECTION },
    { "--user-agent", CM_FIELD_USER_AGENT },
    { "--referer",    CM_FIELD_REFERER },
    { "--user",       CM_FIELD_USER },
};


static int cm_check_promote(cm_rules_t *rules, const char *name);
static int cm_check_args(int argc, char **argv, cm_check_opts_t *o);
static int cm_check_facts(const cm_engine_t *engine, cm_check_opts_t *o);
static int cm_check_fact(const cm_engine_t *engine, char *name, long value,
    cm_facts_t *f);
static char *cm_check_read_all(FILE *f, size_t *len);
static double cm_check_now_us(void);
static int cm_check_one(const cm_engine_t *engine, cm_check_opts_t *o);
static void cm_check_print(const cm_result_t *res, const cm_input_t *in);
static void cm_check_print_json(const cm_result_t *res, const cm_input_t *in);
static void cm_check_json_string(const char *s, size_t len);
static void cm_check_context(const cm_input_t *in, const cm_span_t *sp,
    int json);
static const char *cm_check_action(const cm_rule_def_t *rule);
static int cm_check_batch(const cm_engine_t *engine, cm_check_opts_t *o);


int
main(int argc, char **argv)
{
    int           rc;
    char          err[1024];
    double        t0, t1, t2;
    cm_rules_t   *rules;
    cm_engine_t  *engine;
    cm_check_opts_t  o;

    if (cm_check_args(argc, argv, &o) != 0) {
        fprintf(stderr,
                "usage: cm-check --rules PATH [--name N] [--email E] "
                "[--url U] [--ip A]\n"
                "                [--article ID] [--section S] [--user-agent UA] "
                "[--referer R] [--user ID]\n"
                "                [--facts FACTS] [--json] [--stats] "
                "[--batch [--nul]] < comment\n"
                "       cm-check --rules PATH --promote NAME\n"
                "FACTS: what Redis would know, as IDENT.COUNTER=N and "
                "limit.IDENT.WINDOW=N,\n"
                "  e.g. \"author.seen=0,author.approved=3,"
                "network.rejected-24h=2,limit.author.60s=11\"\n"
                "  (IDENT: author, ip, network, text; COUNTER: seen, accepted, "
                "queued, approved,\n"
                "  rejected, rejected-24h, trusted, blocked); \"unknown\": Redis not "
                "answering\n");
        return 2;
    }

    t0 = cm_check_now_us();

    rules = cm_rules_load(&cm_rules_source_files, o.rules, err, sizeof(err));
    if (rules == NULL) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }

    if (o.promote) {
        rc = cm_check_promote(rules, o.promote);
        cm_rules_free(rules);
        return rc;
    }

    t1 = cm_check_now_us();
    engine = cm_engine_compile(rules, err, sizeof(err));
    if (engine == NULL) {
        fprintf(stderr, "%s\n", err);
        cm_rules_free(rules);
        return 2;
    }

    t2 = cm_check_now_us();

    if (cm_check_facts(engine, &o) != 0) {
        cm_engine_free(engine);
        cm_rules_free(rules);
        return 2;
    }

    if (o.stats) {
        fprintf(stderr, "rules: %zu, load: %.1f ms, compile: %.1f ms, "
                "engine memory: %zu KB\n", rules->nrules, (t1 - t0) / 1000,
                (t2 - t1) / 1000, cm_engine_memory(engine) / 1024);
    }

    rc = o.batch ? cm_check_batch(engine, &o) : cm_check_one(engine, &o);

    cm_engine_free(engine);
    cm_rules_free(rules);
    cm_engine_thread_cleanup();
    cm_regex_thread_cleanup();

    return rc;
}


static int
cm_check_args(int argc, char **argv, cm_check_opts_t *o)
{
    int     i;
    size_t  k;

    const struct {
        const char  *option;
        int         *set;
    } flags[] = {
        { "--json",  &o->json },
        { "--batch", &o->batch },
        { "--nul",   &o->nul },
        { "--stats", &o->stats },
    };

    memset(o, 0, sizeof(cm_check_opts_t));

    for (i = 1; i < argc; i++) {
        for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
            if (strcmp(argv[i], flags[k].option) == 0) {
                *flags[k].set = 1;
                break;
            }
        }

        if (k < sizeof(flags) / sizeof(flags[0])) {
            continue;
        }

        /* the rest take a value */
        if (i + 1 == argc) {
            return -1;
        }

        if (strcmp(argv[i], "--rules") == 0) {
            o->rules = argv[++i];
            continue;
        }

        if (strcmp(argv[i], "--facts") == 0) {
            o->facts_spec = argv[++i];
            continue;
        }

        if (strcmp(argv[i], "--promote") == 0) {
            o->promote = argv[++i];
            continue;
        }

        for (k = 0; k < sizeof(cm_check_fields) / sizeof(cm_check_fields[0]);
             k++)
        {
            if (strcmp(argv[i], cm_check_fields[k].option) == 0) {
                o->in.value[cm_check_fields[k].field] = argv[++i];
                o->in.len[cm_check_fields[k].field] = strlen(argv[i]);
                break;
            }
        }

        if (k == sizeof(cm_check_fields) / sizeof(cm_check_fields[0])) {
            return -1;
        }
    }

    return (o->rules == NULL || (o->nul && !o->batch)) ? -1 : 0;
}


/* --promote: the rule's file rewritten without its "shadow" */
static int
cm_check_promote(cm_rules_t *rules, const char *name)
{
    int                   rc;
    char                 *text, *out, err[512];
    size_t                i, len, out_len;
    FILE                 *f;
    const cm_rule_def_t  *def;

    def = NULL;

    for (i = 0; i < rules->nrules; i++) {
        if (strcmp(rules->rules[i].name, name) == 0) {
            def = &rules->rules[i];
            break;
        }
    }

    if (def == NULL || !def->shadow) {
        fprintf(stderr, def ? "rule %s is not a shadow\n"
                            : "the rules have no rule %s\n", name);
        return 1;
    }

    text = cm_rules_source_files.read(cm_rules_source_files.data, def->file,
                                      &len);
    if (text == NULL) {
        perror(def->file);
        return 2;
    }

    rc = cm_rules_unshadow(def->file, text, len, name, &out, &out_len, err,
                           sizeof(err));
    free(text);

    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    f = fopen(def->file, "w");
    rc = (f == NULL || fwrite(out, 1, out_len, f) != out_len);
    if (f != NULL && fclose(f) != 0) {
        rc = 1;
    }

    free(out);

    if (rc) {
        perror(def->file);
        return 2;
    }

    printf("promoted %s in %s\n", name, def->file);

    return 0;
}


/* --facts: see the top of this file */
static int
cm_check_facts(const cm_engine_t *engine, cm_check_opts_t *o)
{
    int    rc;
    char  *copy, *item, *save, *eq, *end;
    long   value;

    if (o->facts_spec == NULL) {
        return 0;
    }

    memset(&o->facts, 0, sizeof(cm_facts_t));
    o->with = &o->facts;

    if (strcmp(o->facts_spec, "unknown") == 0) {
        return 0;
    }

    o->facts.known = 1;

    copy = strdup(o->facts_spec);
    if (copy == NULL) {
        fprintf(stderr, "cm-check: out of memory\n");
        return -1;
    }

    rc = 0;

    for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
         item = strtok_r(NULL, ",", &save))
    {
        eq = strchr(item, '=');
        value = -1;

        if (eq != NULL) {
            *eq = '\0';
            value = strtol(eq + 1, &end, 10);
            value = (end == eq + 1 || *end != '\0') ? -1 : value;
        }

        if (value < 0 || cm_check_fact(engine, item, value, &o->facts) != 0) {
            fprintf(stderr, "cm-check: --facts: bad fact \"%s%s%s\" (write "
                    "IDENT.COUNTER=N or limit.IDENT.WINDOW=N, as in "
                    "author.seen=0 or limit.author.60s=11, for a window some "
                    "rule limits)\n", item, eq ? "=" : "", eq ? eq + 1 : "");
            rc = -1;
        }
    }

    free(copy);

    return rc;
}


/* author.seen, limit.text.10m (a window of a rule's limit) */
static int
cm_check_fact(const cm_engine_t *engine, char *name, long value,
    cm_facts_t *f)
{
    int                 limit;
    char               *dot;
    size_t              i, n;
    unsigned            ms;
    cm_ident_e          ident;
    cm_count_e          count;
    const cm_window_t  *w;

    limit = (strncmp(name, "limit.", 6) == 0);
    name += limit ? 6 : 0;

    dot = strchr(name, '.');
    if (dot == NULL) {
        return -1;
    }

    ident = cm_ident_by_name(name, dot - name);
    dot++;

    if (!limit) {
        count = cm_count_by_name(dot, strlen(dot));

        if (ident >= CM_IDENT_TEXT || count == CM_COUNT_N) {
            return -1;
        }

        f->count[ident][count] = value;
        return 0;
    }

    /* 60s, or milliseconds as Redis counts them */
    ms = cm_window_ms(dot, strlen(dot));
    if (ms == 0) {
        ms = (unsigned) strtoul(dot, NULL, 10);
    }

    n = cm_engine_windows(engine, &w);

    for (i = 0; i < n; i++) {
        if (w[i].ident == ident && w[i].ms == ms) {
            f->window[i] = (unsigned) value;
            return 0;
        }
    }

    return -1;
}


static char *
cm_check_read_all(FILE *f, size_t *len)
{
    char    *buf, *nbuf;
    size_t   size, n;

    size = 65536;
    *len = 0;

    buf = malloc(size);
    if (buf == NULL) {
        return NULL;
    }

    while ((n = fread(buf + *len, 1, size - *len, f)) > 0) {
        *len += n;

        if (*len == size) {
            size *= 2;
            nbuf = realloc(buf, size);
            if (nbuf == NULL) {
                free(buf);
                return NULL;
            }
            buf = nbuf;
        }
    }

    return buf;
}


static double
cm_check_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


/* One comment: the whole of stdin, less one final newline. */
static int
cm_check_one(const cm_engine_t *engine, cm_check_opts_t *o)
{
    int             rc;
    char           *text;
    size_t          len;
    cm_alloc_t      a;
    cm_arena_t     *arena;
    cm_field_e      bad;
    cm_result_t     res;
    cm_engine_rc_e  erc;

    text = cm_check_read_all(stdin, &len);
    arena = cm_arena_create();

    if (text == NULL || arena == NULL) {
        fprintf(stderr, "cm-check: out of memory\n");
        free(text);
        cm_arena_destroy(arena);
        return 2;
    }

    if (len > 0 && text[len - 1] == '\n') {
        len--;
        len -= (len > 0 && text[len - 1] == '\r');
    }

    o->in.value[CM_FIELD_TEXT] = text;
    o->in.len[CM_FIELD_TEXT] = len;

    a = cm_arena_allocator(arena);
    erc = cm_engine_match(engine, &o->in, &a, &res, &bad);
    rc = 0;

    if (erc == CM_ENGINE_OK) {
        cm_engine_decide(engine, o->with, &res);

        if (o->json) {
            cm_check_print_json(&res, &o->in);
        } else {
            cm_check_print(&res, &o->in);
        }

    } else if (erc == CM_ENGINE_INVALID_UTF8) {
        if (o->json) {
            printf("{\"decision\":\"invalid\",\"reason\":\"invalid UTF-8 in "
                   "%s\"}\n", cm_field_name(bad));
        } else {
            printf("decision: invalid (invalid UTF-8 in %s)\n",
                   cm_field_name(bad));
        }
        rc = 1;

    } else {
        fprintf(stderr, "cm-check: out of memory\n");
        rc = 2;
    }

    free(text);
    cm_arena_destroy(arena);

    return rc;
}


static void
cm_check_print(const cm_result_t *res, const cm_input_t *in)
{
    size_t                i, k;
    const cm_hit_t       *hit;
    const cm_view_t      *folded;
    const cm_rule_def_t  *rule;

    printf("decision: %s (%s)\n", cm_decision_name(res->decision),
           res->reason);
    printf("score: %d\n", res->score);

    folded = &res->text[CM_FIELD_TEXT].view[CM_VIEW_FOLDED];
    printf("folded: %.*s\n", (int) folded->len, folded->text);

    if (res->limit_rule != NULL) {
        printf("limit: rule %s hit a regex limit (%u time%s)\n",
               res->limit_rule->name, res->limit_errors,
               res->limit_errors == 1 ? "" : "s");
    }

    for (i = 0; i < res->nhits; i++) {
        hit = &res->hits[i];
        rule = hit->rule;

        printf("%c %s  %s", rule->shadow ? '~' : '+', rule->name,
               cm_check_action(rule));

        if (rule->action == CM_ACTION_SCORE) {
            printf(" %+d", hit->contribution);
        }

        /* a rule on facts alone matched nothing */
        if (hit->count > 0) {
            printf("  x%u", hit->count);
        }

        if (rule->note != NULL) {
            printf("  \"%s\"", rule->note);
        }

        printf("\n");

        for (k = 0; k < res->nspans; k++) {
            if (res->spans[k].rule == rule) {
                cm_check_context(in, &res->spans[k], 0);
            }
        }
    }
}


static void
cm_check_print_json(const cm_result_t *res, const cm_input_t *in)
{
    size_t                i, k, n;
    const cm_hit_t       *hit;
    const cm_view_t      *folded;
    const cm_rule_def_t  *rule;

    folded = &res->text[CM_FIELD_TEXT].view[CM_VIEW_FOLDED];

    printf("{\"decision\":\"%s\",\"reason\":", cm_decision_name(res->decision));
    cm_check_json_string(res->reason, strlen(res->reason));
    printf(",\"score\":%d,\"folded\":", res->score);
    cm_check_json_string(folded->text, folded->len);

    printf(",\"limit_rule\":");
    if (res->limit_rule != NULL) {
        cm_check_json_string(res->limit_rule->name,
                             strlen(res->limit_rule->name));
    } else {
        printf("null");
    }
    printf(",\"limit_errors\":%u,\"rules\":[", res->limit_errors);

    for (i = 0; i < res->nhits; i++) {
        hit = &res->hits[i];
        rule = hit->rule;

        printf("%s{\"name\":", i ? "," : "");
        cm_check_json_string(rule->name, strlen(rule->name));
        printf(",\"action\":\"%s\",\"shadow\":%s,\"count\":%u,"
               "\"contribution\":%d,\"note\":", cm_check_action(rule),
               rule->shadow ? "true" : "false", hit->count,
               hit->contribution);

        if (rule->note != NULL) {
            cm_check_json_string(rule->note, strlen(rule->note));
        } else {
            printf("null");
        }

        printf(",\"spans\":[");

        for (k = 0, n = 0; k < res->nspans; k++) {
            if (res->spans[k].rule == rule) {
                printf("%s", n++ ? "," : "");
                cm_check_context(in, &res->spans[k], 1);
            }
        }

        printf("]}");
    }

    printf("]}\n");
}


static void
cm_check_json_string(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    putchar('"');

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            printf("\\%c", c);

        } else if (c < 0x20 || c == 0x7f) {
            printf("\\u%04x", c);

        } else {
            putchar(c);
        }
    }

    putchar('"');
}


/*
 * A match on the original text: its field, raw span and bytes, and the
 * text around it (whole UTF-8 characters, line breaks shown as spaces).
 */
static void
cm_check_context(const cm_input_t *in, const cm_span_t *sp, int json)
{
    size_t       i, from, to, len;
    const char  *v;

    v = in->value[sp->field];
    len = in->len[sp->field];

    from = sp->start > CM_CHECK_CONTEXT ? sp->start - CM_CHECK_CONTEXT : 0;
    to = sp->end + CM_CHECK_CONTEXT < len ? sp->end + CM_CHECK_CONTEXT : len;

    while (from < sp->start && (v[from] & 0xc0) == 0x80) {
        from++;
    }

    while (to > sp->end && to < len && (v[to] & 0xc0) == 0x80) {
        to--;
    }

    if (json) {
        printf("{\"field\":\"%s\",\"start\":%u,\"end\":%u,\"text\":",
               cm_field_name(sp->field), sp->start, sp->end);
        cm_check_json_string(v + sp->start, sp->end - sp->start);
        printf(",\"context\":");
        cm_check_json_string(v + from, to - from);
        printf("}");
        return;
    }

    printf("    %s[%u,%u) \"%.*s\"  in \"%s", cm_field_name(sp->field),
           sp->start, sp->end, (int) (sp->end - sp->start), v + sp->start,
           from > 0 ? "..." : "");

    for (i = from; i < to; i++) {
        if (i == sp->start) {
            putchar('[');
        }

        putchar((v[i] == '\n' || v[i] == '\r' || v[i] == '\t') ? ' ' : v[i]);

        if (i + 1 == sp->end) {
            putchar(']');
        }
    }

    if (sp->start == sp->end) {
        printf("[]");
    }

    printf("%s\"\n", to < len ? "..." : "");
}


static const char *
cm_check_action(const cm_rule_def_t *rule)
{
    static const char  *names[] = { "score", "accept", "queue", "reject" };

    return rule->shadow ? "shadow" : names[rule->action];
}


/*
 * One comment per line (or NUL-terminated record): "DECISION<TAB>SCORE<TAB>
 * RULES" each, then on stderr how many and the mean engine time.
 */
static int
cm_check_batch(const cm_engine_t *engine, cm_check_opts_t *o)
{
    int             sep;
    char           *all, *p, *end, *eol, names[4096];
    size_t          len, n, count;
    double          t0, total;
    cm_alloc_t      a;
    cm_arena_t     *arena;
    cm_field_e      bad;
    cm_result_t     res;
    cm_engine_rc_e  erc;

    all = cm_check_read_all(stdin, &len);
    if (all == NULL) {
        fprintf(stderr, "cm-check: out of memory\n");
        return 2;
    }

    sep = o->nul ? '\0' : '\n';
    count = 0;
    total = 0;
    end = all + len;

    for (p = all; p < end; p = eol + 1) {
        eol = memchr(p, sep, end - p);
        if (eol == NULL) {
            eol = end;
        }

        o->in.value[CM_FIELD_TEXT] = p;
        o->in.len[CM_FIELD_TEXT] = eol - p;

        if (!o->nul && eol > p && eol[-1] == '\r') {
            o->in.len[CM_FIELD_TEXT]--;
        }

        arena = cm_arena_create();
        if (arena == NULL) {
            free(all);
            fprintf(stderr, "cm-check: out of memory\n");
            return 2;
        }

        a = cm_arena_allocator(arena);

        t0 = cm_check_now_us();
        erc = cm_engine_match(engine, &o->in, &a, &res, &bad);
        if (erc == CM_ENGINE_OK) {
            cm_engine_decide(engine, o->with, &res);
        }
        total += cm_check_now_us() - t0;
        count++;

        if (erc == CM_ENGINE_OK) {
            n = cm_result_rule_names(&res, names, sizeof(names));
            printf("%s\t%d\t%.*s\n", cm_decision_name(res.decision),
                   res.score, (int) n, names);

        } else {
            printf("invalid\t0\t%s\n", erc == CM_ENGINE_INVALID_UTF8
                   ? "invalid-utf8" : "out-of-memory");
        }

        cm_arena_destroy(arena);
    }

    fprintf(stderr, "%zu comments, %.2f us per comment (match+decide)\n",
            count, count ? total / count : 0.0);

    free(all);

    return 0;
}
