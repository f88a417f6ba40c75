/*
 * application/json: dotted paths, scalars as text, string escapes, every
 * error with its offset, the depth and field limits, hostile bodies.
 */

#include <stdio.h>

#include "cm_body_test.h"


#define JSON  "application/json"


static void
test_demo_fields(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    assert_int_equal(cm_parse_lit(state, JSON,
                     "{\"name\": \"Siti\", \"email\": \"siti@example.id\",\n"
                     " \"comment\": \"Mantap \xf0\x9f\x91\x8d beritanya "
                     "jelas\", \"article_id\": 42}", &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "name", "Siti",
                  "email", "siti@example.id",
                  "comment", "Mantap \xf0\x9f\x91\x8d beritanya jelas",
                  "article_id", "42");
}


static void
test_paths(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    assert_int_equal(cm_parse_lit(state, JSON,
                     "\xef\xbb\xbf \r\n\t{\"comment\": {\"author\": {"
                     "\"name\": \"Budi\"}, \"body\": \"Semoga banjir cepat surut\"},"
                     "\"tags\": [\"banjir\", [1, [true]], {\"k\": false}],"
                     "\"meta\": {\"n\": null, \"x\": -1.5e+3, \"e\": {},"
                     "\"a\": [], \"z\": 0, \"y\": 2E-2, \"w\": 0.25},"
                     "\"a.b\": \"dot\", \"\": \"empty\", \"dup\": 1,"
                     "\"dup\": 2} \n", &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "comment.author.name", "Budi",
                  "comment.body", "Semoga banjir cepat surut",
                  "tags.0", "banjir",
                  "tags.1.0", "1",
                  "tags.1.1.0", "true",
                  "tags.2.k", "false",
                  "meta.n", "null",
                  "meta.x", "-1.5e+3",
                  "meta.z", "0",
                  "meta.y", "2E-2",
                  "meta.w", "0.25",
                  "a.b", "dot",
                  "", "empty",
                  "dup", "1",
                  "dup", "2");
    assert_ptr_equal(cm_fields_find(&f, "dup", 3), &f.fields[13]);

    /* no field at all */
    assert_int_equal(cm_parse_lit(state, JSON, "{}", &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 0);
    assert_int_equal(cm_parse_lit(state, JSON, "{\"a\":{\"b\":[]}}", &f,
                                  &err),
                     CM_BODY_OK);
    assert_int_equal(f.nfields, 0);
}


static void
test_array_indexes(void **state)
{
    char             *body, *p;
    size_t            i;
    cm_fields_t       f;
    cm_body_error_t   err;

    body = malloc(4096);
    assert_non_null(body);

    p = body + sprintf(body, "{\"items\": [");

    for (i = 0; i < 120; i++) {
        p += sprintf(p, "%s{\"a\": %zu}", i ? "," : "", i);
    }

    p += sprintf(p, "]}");

    assert_int_equal(cm_parse(state, JSON, body, (size_t) (p - body), &f,
                              &err),
                     CM_BODY_OK);
    assert_int_equal(f.nfields, 120);
    cm_assert_field(&f, 0, "items.0.a", "0");
    cm_assert_field(&f, 9, "items.9.a", "9");
    cm_assert_field(&f, 10, "items.10.a", "10");
    cm_assert_field(&f, 119, "items.119.a", "119");

    free(body);
}


static void
test_escapes(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    assert_int_equal(cm_parse_lit(state, JSON,
                     "{\"s\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
                     " \"u\": \"caf\\u00e9 \\u20AC \\uD83D\\udc4D \\u0041\","
                     " \"n\": \"a\\u0000b\","
                     " \"spam\": \"\\u0073lot g\\u0061cor\","
                     " \"k\\u00e9y\\n\": \"raw \xe2\x80\x94 \xff bytes\x7f\"}",
                     &f, &err),
                     CM_BODY_OK);

    assert_int_equal(f.nfields, 5);
    cm_assert_field(&f, 0, "s", "\"\\/\b\f\n\r\t");
    cm_assert_field(&f, 1, "u", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x91\x8d A");
    cm_assert_field_bytes(&f, 2, "n", "a\0b", 3);
    cm_assert_field(&f, 3, "spam", "slot gacor");
    cm_assert_field(&f, 4, "k\xc3\xa9y\n", "raw \xe2\x80\x94 \xff bytes\x7f");

    /* the extremes of the 2-, 3- and 4-byte forms */
    assert_int_equal(cm_parse_lit(state, JSON,
                     "{\"x\": \"\\u007f\\u0080\\u07ff\\u0800\\uffff"
                     "\\ud800\\udc00\\udbff\\udfff\"}", &f, &err),
                     CM_BODY_OK);
    cm_assert_field(&f, 0, "x",
                    "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
                    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
}


static void
test_errors(void **state)
{
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    static const cm_bad_body_t  bad[] = {
        { "", NULL, CM_END, "empty body" },
        { " \r\n\t", NULL, CM_END, "empty body" },
        { "\xef\xbb\xbf", NULL, CM_END, "empty body" },
        { "\"halo\"", "\"", 0, "top level is not an object" },
        { "[{\"comment\": \"x\"}]", "[", 0, "top level is not an object" },
        { "42", "4", 0, "top level is not an object" },
        { "\xef\xbb\xbf\xef\xbb\xbf{}", "\xef", 3, "not an object" },
        { "{\"comment\": \"halo\"", NULL, CM_END, "unexpected end" },
        { "{\"comment\": \"halo", NULL, CM_END, "unterminated string" },
        { "{\"comment\": \"halo\\", NULL, CM_END, "unterminated string" },
        { "{\"comment\":", NULL, CM_END, "unexpected end" },
        { "{", NULL, CM_END, "unexpected end" },
        { "{\"comment\": \"halo\",}", "}", 0, "expected a string key" },
        { "{\"a\": [1,]}", "]", 0, "unexpected character" },
        { "{\"a\": [1 2]}", "2", 0, "expected ',' or ']'" },
        { "{\"a\": 1 \"b\": 2}", "\"b", 0, "expected ',' or '}'" },
        { "{\"a\" 1}", "1", 0, "expected ':'" },
        { "{a: 1}", "a", 0, "expected a string key" },
        { "{'a': 1}", "'", 0, "expected a string key" },
        { "{\"a\": 'x'}", "'", 0, "unexpected character" },
        { "{\"a\": 1} x", "x", 0, "data after the object" },
        { "{}{}", "{}", 2, "data after the object" },
        { "{\"a\": 01}", "1}", 0, "expected ',' or '}'" },
        { "{\"a\": -}", "-", 0, "bad number" },
        { "{\"a\": 1.}", "1", 0, "bad number" },
        { "{\"a\": 1e}", "1", 0, "bad number" },
        { "{\"a\": 1e+}", "1", 0, "bad number" },
        { "{\"a\": .5}", ".", 0, "unexpected character" },
        { "{\"a\": +1}", "+", 0, "unexpected character" },
        { "{\"a\": NaN}", "N", 0, "unexpected character" },
        { "{\"a\": tru}", "t", 0, "unexpected character" },
        { "{\"a\": nul", "n", 0, "unexpected character" },
        { "{\"a\": truex}", "x", 0, "expected ',' or '}'" },
        { "{\"a\": /* c */ 1}", "/", 0, "unexpected character" },
        { "{\"comment\": \"\\u00zz\"}", "\\", 0, "bad \\u escape" },
        { "{\"comment\": \"\\u00", "\\", 0, "bad \\u escape" },
        { "{\"comment\": \"\\x41\"}", "\\", 0, "bad escape" },
        { "{\"comment\": \"\\'\"}", "\\", 0, "bad escape" },
        { "{\"comment\": \"\\ud800\"}", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\ud800", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\ud800x\"}", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\ud800\\n\"}", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\ud800\\u0041\"}", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\ud800\\ud800\"}", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\udc00\"}", "\\", 0, "lone surrogate" },
        { "{\"comment\": \"\\ud800\\u12\"}", "\\u12", 0, "bad \\u escape" },
        { "{\"comment\": \"line\nbreak\"}", "\n", 0, "control character" },
        { "{\"comment\": \"tab\tx\"}", "\t", 0, "control character" },
        { "{\"k\x01\": 1}", "\x01", 0, "control character" },
        { "{\"comment\": \"\x1f\"}", "\x1f", 0, "control character" },
        { "{\"comment\": \"\\udfff\"}", "\\", 0, "lone surrogate" },
    };

    cm_assert_bad_bodies(state, JSON, CM_BODY_BAD_JSON, bad,
                         sizeof(bad) / sizeof(bad[0]));

    /* what came before the error stays */
    rc = cm_parse_lit(state, JSON, "{\"name\": \"Budi\", \"comment\": [1,}",
                      &f, &err);
    assert_int_equal(rc, CM_BODY_BAD_JSON);
    cm_fields_are(&f,
                  "name", "Budi",
                  "comment.0", "1");
}


/* {"a":{"a":...{"a":"deep"}...}} with "depth" objects */
static char *
nested(size_t depth, const char *open, const char *close, size_t *len)
{
    char    *s, *p;
    size_t   i;

    s = malloc(depth * (strlen(open) + strlen(close)) + 16);
    assert_non_null(s);
    p = s;

    for (i = 0; i < depth; i++) {
        p += sprintf(p, "%s", i ? open : "{\"a\":");
    }

    p += sprintf(p, "\"deep\"");

    for (i = 0; i < depth; i++) {
        p += sprintf(p, "%s", i + 1 < depth ? close : "}");
    }

    *len = (size_t) (p - s);

    return s;
}


static void
test_depth(void **state)
{
    char             *body;
    size_t            len;
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    body = nested(CM_BODY_MAX_DEPTH, "{\"a\":", "}", &len);
    assert_int_equal(cm_parse(state, JSON, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 1);
    assert_int_equal(f.fields[0].name_len, 2 * CM_BODY_MAX_DEPTH - 1);
    assert_memory_equal(f.fields[0].value, "deep", 4);
    free(body);

    body = nested(CM_BODY_MAX_DEPTH + 1, "{\"a\":", "}", &len);
    rc = cm_parse(state, JSON, body, len, &f, &err);
    cm_assert_error(rc, &err, CM_BODY_TOO_DEEP, 5 * CM_BODY_MAX_DEPTH,
                    "nested too deeply");
    free(body);

    /* arrays count as levels */
    body = nested(CM_BODY_MAX_DEPTH, "[", "]", &len);
    assert_int_equal(cm_parse(state, JSON, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.fields[0].name_len, 1 + 2 * (CM_BODY_MAX_DEPTH - 1));
    assert_memory_equal(f.fields[0].name, "a.0.0.0", 7);
    free(body);

    body = nested(CM_BODY_MAX_DEPTH + 1, "[", "]", &len);
    rc = cm_parse(state, JSON, body, len, &f, &err);
    cm_assert_error(rc, &err, CM_BODY_TOO_DEEP, 5 + CM_BODY_MAX_DEPTH - 1,
                    "nested too deeply");
    free(body);

    /* a megabyte of "[" stops at the limit */
    body = cm_repeat("[", 1024 * 1024, &len);
    memcpy(body, "{\"a\":", 5);
    rc = cm_parse(state, JSON, body, len, &f, &err);
    cm_assert_error(rc, &err, CM_BODY_TOO_DEEP, 5 + CM_BODY_MAX_DEPTH - 1,
                    "nested too deeply");
    free(body);
}


static void
test_too_many(void **state)
{
    char             *body;
    size_t            len;
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    /* {"f":[1,1,...,1]} */
    body = cm_repeat("1,", CM_BODY_MAX_FIELDS + 8, &len);
    memcpy(body, "{\"f\":[", 6);
    memcpy(body + 2 * CM_BODY_MAX_FIELDS + 5, "]}", 2);

    rc = cm_parse(state, JSON, body, 2 * CM_BODY_MAX_FIELDS + 7, &f, &err);
    assert_int_equal(rc, CM_BODY_OK);
    assert_int_equal(f.nfields, CM_BODY_MAX_FIELDS);
    cm_assert_field(&f, 255, "f.255", "1");

    memcpy(body + 2 * CM_BODY_MAX_FIELDS + 5, ",1]}", 4);
    rc = cm_parse(state, JSON, body, 2 * CM_BODY_MAX_FIELDS + 9, &f, &err);
    cm_assert_error(rc, &err, CM_BODY_TOO_MANY, 2 * CM_BODY_MAX_FIELDS + 6,
                    "too many fields");
    free(body);

    /* containers are no fields: 64 KB of empty ones are fine */
    body = cm_repeat("[],", 64 * 1024 / 3, &len);
    memcpy(body, "{\"a\":[", 6);
    memcpy(body + len - 1, "]}", 2);
    rc = cm_parse(state, JSON, body, len + 1, &f, &err);
    assert_int_equal(rc, CM_BODY_OK);
    assert_int_equal(f.nfields, 0);
    free(body);
}


static void
test_big(void **state)
{
    char             *body;
    size_t            len;
    double            t;
    cm_fields_t       f;
    cm_body_error_t   err;

    t = cm_seconds();

    /* a 64 KB comment of escapes, a megabyte key */
    body = cm_repeat("\\u00e9", 64 * 1024 / 6, &len);
    memcpy(body, "{\"c\":\"", 6);
    memcpy(body + len - 6, "a\"}   ", 6);

    assert_int_equal(cm_parse(state, JSON, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.fields[0].value_len, 1 + 2 * (len - 12) / 6);
    free(body);

    body = cm_repeat("k", 1024 * 1024, &len);
    memcpy(body, "{\"", 2);
    memcpy(body + len - 5, "\":1}", 4);
    assert_int_equal(cm_parse(state, JSON, body, len - 1, &f, &err),
                     CM_BODY_OK);
    assert_int_equal(f.fields[0].name_len, len - 7);
    free(body);

    assert_true(cm_seconds() - t < 2.0);
}


static void
test_length_bounds(void **state)
{
    cm_alloc_t       a;
    cm_fields_t      f;
    cm_body_error_t  err;

    a = cm_test_alloc(state);

    /* the length ends the body, not a NUL */
    assert_int_equal(cm_body_parse_json("{\"a\":1}", 6, &a, &f, &err),
                     CM_BODY_BAD_JSON);
    assert_string_equal(err.reason, "unexpected end");
    assert_int_equal(cm_body_parse_json("{\"a\":12}", 7, &a, &f, &err),
                     CM_BODY_BAD_JSON);
    assert_int_equal(cm_body_parse_json("{\"a\":true}", 8, &a, &f, &err),
                     CM_BODY_BAD_JSON);
    assert_string_equal(err.reason, "unexpected character");
    assert_int_equal(cm_body_parse_json("{\"a\":\"\\u0041\"}", 10, &a, &f,
                                        &err),
                     CM_BODY_BAD_JSON);
    assert_string_equal(err.reason, "bad \\u escape");
    assert_int_equal(cm_body_parse_json("\xef\xbb\xbf{}", 2, &a, &f, &err),
                     CM_BODY_BAD_JSON);
    assert_string_equal(err.reason, "top level is not an object");

    assert_int_equal(cm_body_parse_json("{\"a\":1}\0", 8, &a, &f, &err),
                     CM_BODY_BAD_JSON);
    assert_string_equal(err.reason, "data after the object");
    assert_int_equal(err.offset, 7);

    /* no err is fine */
    assert_int_equal(cm_body_parse_json("[]", 2, &a, &f, NULL),
                     CM_BODY_BAD_JSON);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_demo_fields),
        cm_test(test_paths),
        cm_test(test_array_indexes),
        cm_test(test_escapes),
        cm_test(test_errors),
        cm_test(test_depth),
        cm_test(test_too_many),
        cm_test(test_big),
        cm_test(test_length_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
