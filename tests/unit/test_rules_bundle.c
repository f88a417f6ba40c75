/*
 * A rule set published to Redis is parsed from memory exactly like files.
 */

#include "cm_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "ngx_http_comment_moderation_rules_bundle.h"


#define FILE_OF(n, t)  { n, sizeof(n) - 1, t, sizeof(t) - 1 }


static cm_bundle_file_t  site[] = {
    FILE_OF("default.rules",
            "include judol.rules\nthreshold queue 4\n"),
    FILE_OF("judol.rules",
            "rule judol-brands\n    words-file lists/brands.txt\n"
            "    action reject\n"),
    FILE_OF("lists/brands.txt", "sultan88\n# a comment\nmpo777\n"),
    FILE_OF("extra.rules", "rule extra words halo score 1\n")
};


static void
test_entry_file_and_includes(void **state)
{
    char               err[256];
    cm_rules_t        *rules;
    cm_rules_bundle_t  b = { site, 4 };
    cm_rules_source_t  src = cm_rules_bundle_source(&b);

    (void) state;

    rules = cm_rules_load(&src, "default.rules", err, sizeof(err));
    assert_non_null(rules);
    assert_int_equal(rules->nrules, 1);
    assert_string_equal(rules->rules[0].name, "judol-brands");
    assert_int_equal(rules->rules[0].nwords, 2);
    assert_string_equal(rules->rules[0].words[1].text, "mpo777");
    assert_int_equal(rules->queue_at, 4);
    cm_rules_free(rules);
}


static void
test_root_directory(void **state)
{
    char               err[256];
    cm_rules_t        *rules;
    cm_rules_bundle_t  b = { site, 4 };
    cm_rules_source_t  src = cm_rules_bundle_source(&b);

    (void) state;

    /* "." is every *.rules at the root, in name order; lists/ is not one */
    rules = cm_rules_load(&src, ".", err, sizeof(err));
    assert_non_null(rules);
    assert_int_equal(rules->nrules, 2);
    assert_string_equal(rules->rules[0].name, "judol-brands");
    assert_string_equal(rules->rules[1].name, "extra");
    cm_rules_free(rules);
}


static void
test_missing_file_names_includer(void **state)
{
    char               err[256];
    cm_rules_t        *rules;
    cm_bundle_file_t   files[] = { FILE_OF("a.rules", "include b.rules\n") };
    cm_rules_bundle_t  b = { files, 1 };
    cm_rules_source_t  src = cm_rules_bundle_source(&b);

    (void) state;

    rules = cm_rules_load(&src, "a.rules", err, sizeof(err));
    assert_null(rules);
    assert_non_null(strstr(err, "a.rules:1:"));
    assert_non_null(strstr(err, "b.rules"));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cm_test(test_entry_file_and_includes),
        cm_test(test_root_directory),
        cm_test(test_missing_file_names_includer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
