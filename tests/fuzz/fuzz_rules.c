/*
 * The rule-file parser on arbitrary input: the input is the content of one
 * file in memory.  Includes and words-files whose last path component starts
 * with "input" read the same input again; a name whose last component is
 * "dir" is a directory holding "input.rules"; everything else is missing.
 * A loaded rule set must hold what the engine relies on.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_rules.h"


typedef struct {
    const uint8_t  *data;
    size_t          size;
} cm_fuzz_input_t;


static const char *
cm_fuzz_base(const char *name)
{
    const char  *slash;

    slash = strrchr(name, '/');

    return slash == NULL ? name : slash + 1;
}


static char *
cm_fuzz_read(void *data, const char *name, size_t *len)
{
    char             *copy;
    cm_fuzz_input_t  *in = data;

    if (strncmp(cm_fuzz_base(name), "input", 5) != 0) {
        errno = ENOENT;
        return NULL;
    }

    /* exactly the input's bytes: no NUL after them */
    copy = malloc(in->size ? in->size : 1);
    if (copy == NULL) {
        return NULL;
    }

    if (in->size > 0) {
        memcpy(copy, in->data, in->size);
    }

    *len = in->size;

    return copy;
}


static char **
cm_fuzz_list_dir(void *data, const char *name)
{
    char  **list;

    (void) data;

    if (strcmp(cm_fuzz_base(name), "dir") != 0) {
        return NULL;
    }

    list = calloc(2, sizeof(char *));
    if (list == NULL) {
        return NULL;
    }

    list[0] = strdup("input.rules");
    if (list[0] == NULL) {
        free(list);
        return NULL;
    }

    return list;
}


static int
cm_fuzz_owned(const cm_rules_t *rules, const char *file)
{
    size_t  i;

    for (i = 0; i < rules->nfiles; i++) {
        if (rules->files[i] == file) {
            return 1;
        }
    }

    return 0;
}


/* "when", "limit", "when-unknown": values the engine can index with */
static void
cm_fuzz_check_facts(const cm_rule_def_t *r)
{
    size_t                 i;
    const cm_condition_t  *c;

    for (i = 0; i < r->nconditions; i++) {
        c = &r->conditions[i];

        if ((unsigned) c->ident >= CM_IDENT_TEXT
            || (unsigned) c->count >= CM_COUNT_N
            || (unsigned) c->op > CM_OP_GT || c->value < 0
            || (c->ident == CM_IDENT_IP && c->count == CM_COUNT_REJECTED_24H))
        {
            abort();
        }
    }

    if (r->limit_max > 0
        && ((unsigned) r->limit_ident >= CM_IDENT_N || r->limit_ms < 1000
            || r->limit_ms > CM_LIMIT_WINDOW_MAX || r->limit_ms % 1000 != 0))
    {
        abort();
    }

    if (r->unknown_match && !cm_rule_has_facts(r)) {
        abort();
    }
}


static void
cm_fuzz_check(const cm_rules_t *rules)
{
    size_t                i, j;
    const cm_rule_def_t  *r;

    if (rules->queue_at >= rules->reject_at || rules->nfiles == 0) {
        abort();
    }

    for (i = 0; i < rules->nrules; i++) {
        r = &rules->rules[i];

        if (r->name == NULL || r->name[0] == '\0' || r->line == 0
            || !cm_fuzz_owned(rules, r->file)
            || r->fields >= CM_FIELD_BIT(CM_FIELD_N)
            || r->min_count == 0
            || (r->action != CM_ACTION_SCORE && r->score != 0))
        {
            abort();
        }

        cm_fuzz_check_facts(r);

        /* a rule on facts alone looks at nothing */
        if (r->kind == CM_RULE_FACTS) {
            if (!cm_rule_has_facts(r) || r->regex != NULL || r->nwords != 0
                || r->views != 0 || r->fields != 0)
            {
                abort();
            }

            continue;
        }

        if (r->views == 0 || r->fields == 0) {
            abort();
        }

        if (r->kind == CM_RULE_REGEX) {
            if (r->regex == NULL || r->regex[0] == '\0' || r->nwords != 0
                || r->regex_line == 0)
            {
                abort();
            }

            continue;
        }

        if (r->regex != NULL || (r->views & CM_RULE_VIEW_RAW))
        {
            abort();
        }

        for (j = 0; j < r->nwords; j++) {
            if (r->words[j].len == 0
                || strlen(r->words[j].text) != r->words[j].len
                || r->words[j].line == 0
                || !cm_fuzz_owned(rules, r->words[j].file))
            {
                abort();
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               err[256];
    cm_rules_t        *rules;
    cm_fuzz_input_t    in;
    cm_rules_source_t  src;

    in.data = data;
    in.size = size;

    src.read = cm_fuzz_read;
    src.list_dir = cm_fuzz_list_dir;
    src.data = &in;

    rules = cm_rules_load(&src, "input.rules", err, sizeof(err));

    if (rules == NULL) {
        /* an error says where, unless a long path filled the buffer */
        if (err[0] == '\0'
            || (strchr(err, ':') == NULL && strlen(err) < sizeof(err) - 1))
        {
            abort();
        }

        return 0;
    }

    cm_fuzz_check(rules);
    cm_rules_free(rules);

    return 0;
}
