/*
 * Shared by the rule-file parser tests: each test runs in a fresh temporary
 * directory (the current directory), so file names in errors are short;
 * helpers write files there and load them.
 */

#ifndef CM_RULES_TEST_H
#define CM_RULES_TEST_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_test.h"
#include "ngx_http_comment_moderation_rules.h"


static char         cm_test_err[1024];
static char         cm_test_home[PATH_MAX];
static char         cm_test_dir[64];
static cm_rules_t  *cm_test_rules;      /* from load_ok(), freed after */


static inline int
cm_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static inline int
cm_tmp_setup(void **state)
{
    (void) state;

    if (getcwd(cm_test_home, sizeof(cm_test_home)) == NULL) {
        return -1;
    }

    snprintf(cm_test_dir, sizeof(cm_test_dir), "/tmp/cm-test-rules-XXXXXX");

    if (mkdtemp(cm_test_dir) == NULL || chdir(cm_test_dir) != 0) {
        return -1;
    }

    return 0;
}


static inline int
cm_tmp_teardown(void **state)
{
    (void) state;

    cm_rules_free(cm_test_rules);
    cm_test_rules = NULL;

    if (chdir(cm_test_home) != 0) {
        return -1;
    }

    return nftw(cm_test_dir, cm_rm, 16, FTW_DEPTH | FTW_PHYS);
}


#define cm_tmp_test(f)  cmocka_unit_test_setup_teardown(f, cm_tmp_setup,      \
                                                        cm_tmp_teardown)


/* Writes "len" bytes to "name", creating its directories. */
static inline void
put_bytes(const char *name, const char *data, size_t len)
{
    char   dir[PATH_MAX], *slash;
    FILE  *f;

    snprintf(dir, sizeof(dir), "%s", name);

    for (slash = strchr(dir, '/'); slash != NULL;
         slash = strchr(slash + 1, '/'))
    {
        *slash = '\0';
        mkdir(dir, 0755);
        *slash = '/';
    }

    f = fopen(name, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}


static inline void
put(const char *name, const char *text)
{
    put_bytes(name, text, strlen(text));
}


static inline cm_rules_t *
load(const char *path)
{
    cm_test_err[0] = 'X';
    cm_test_err[1] = '\0';

    return cm_rules_load(&cm_rules_source_files, path, cm_test_err,
                         sizeof(cm_test_err));
}


/* The rules stay until the next load_ok() or the end of the test. */
static inline cm_rules_t *
load_ok(const char *path)
{
    cm_rules_free(cm_test_rules);

    cm_test_rules = load(path);
    if (cm_test_rules == NULL) {
        fail_msg("%s: unexpected error: %s", path, cm_test_err);
    }

    assert_string_equal(cm_test_err, "");

    return cm_test_rules;
}


/* x.rules holding "text", loaded */
static inline cm_rules_t *
load_text(const char *text)
{
    put("x.rules", text);

    return load_ok("x.rules");
}


static inline void
expect_error(const char *path, const char *expected)
{
    cm_rules_t  *rules;

    rules = load(path);
    if (rules != NULL) {
        cm_rules_free(rules);
        fail_msg("%s: loaded, expected: %s", path, expected);
    }

    assert_string_equal(cm_test_err, expected);
}


static inline const cm_rule_def_t *
rule(const cm_rules_t *rules, const char *name)
{
    size_t  i;

    for (i = 0; i < rules->nrules; i++) {
        if (strcmp(rules->rules[i].name, name) == 0) {
            return &rules->rules[i];
        }
    }

    fail_msg("no rule \"%s\"", name);

    return NULL;
}


/* a rule file's text and its error; a file's name and its text */
typedef struct {
    const char  *key;
    const char  *value;
} cm_test_pair_t;


/* Each case's text in x.rules must fail with exactly its message. */
static inline void
expect_errors(const cm_test_pair_t *cases, size_t n)
{
    size_t       i;
    cm_rules_t  *rules;

    for (i = 0; i < n; i++) {
        put("x.rules", cases[i].key);
        rules = load("x.rules");

        if (rules != NULL) {
            cm_rules_free(rules);
            fail_msg("case %zu loaded: %s", i, cases[i].key);
        }

        if (strcmp(cm_test_err, cases[i].value) != 0) {
            fail_msg("case %zu:\n  got      %s\n  expected %s", i,
                     cm_test_err, cases[i].value);
        }
    }
}


#endif /* CM_RULES_TEST_H */
