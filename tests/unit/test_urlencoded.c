/*
 * application/x-www-form-urlencoded: what browsers send, decoding, the
 * error offsets, limits and hostile bodies.
 */

#include <stdio.h>

#include "cm_body_test.h"


#define FORM  "application/x-www-form-urlencoded"


static void
test_demo_form(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    /* what Firefox sends for the demo article's comment form */
    assert_int_equal(cm_parse_lit(state, FORM,
                     "article_id=12&name=Siti+Aminah&email=siti%40example.id"
                     "&comment=Mantap%2C+beritanya+jelas+%F0%9F%91%8D+%E2%80"
                     "%94+terima+kasih%2C+Pak+Wartawan%21+100%25+setuju.",
                     &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "article_id", "12",
                  "name", "Siti Aminah",
                  "email", "siti@example.id",
                  "comment", "Mantap, beritanya jelas \xf0\x9f\x91\x8d "
                  "\xe2\x80\x94 terima kasih, Pak Wartawan! 100% setuju.");

    assert_ptr_equal(cm_fields_find(&f, "comment", 7), &f.fields[3]);
    assert_null(cm_fields_find(&f, "url", 3));
}


static void
test_decoding(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    /* raw UTF-8, lowercase hex, "%2B" is a plus, "+" a space */
    assert_int_equal(cm_parse_lit(state, FORM,
                     "comment=Pemerintah+daerah+\xe2\x80\x9cmenjamin\xe2\x80"
                     "\x9d+%e2%80%a6&sum=1%2B1+%3D+2&%6E%61%6D%65=Bu%C3%A9",
                     &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "comment", "Pemerintah daerah \xe2\x80\x9cmenjamin"
                  "\xe2\x80\x9d \xe2\x80\xa6",
                  "sum", "1+1 = 2",
                  "name", "Bu\xc3\xa9");

    /* any byte: %00, invalid UTF-8 (the normalizer judges it later) */
    assert_int_equal(cm_parse_lit(state, FORM, "a=x%00y&b=%FF%fe\xff", &f,
                                  &err),
                     CM_BODY_OK);
    cm_assert_field_bytes(&f, 0, "a", "x\0y", 3);
    cm_assert_field(&f, 1, "b", "\xff\xfe\xff");
}


static void
test_pairs(void **state)
{
    cm_fields_t       f;
    cm_body_error_t   err;
    const cm_field_t *c;

    /* empty pairs skipped, a name without "=" has an empty value */
    assert_int_equal(cm_parse_lit(state, FORM,
                     "&&subscribe&comment=halo&&name=&=&x==y&", &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "subscribe", "",
                  "comment", "halo",
                  "name", "",
                  "", "",
                  "x", "=y");

    /* ";" separates nothing */
    assert_int_equal(cm_parse_lit(state, FORM, "a=1;b=2", &f, &err),
                     CM_BODY_OK);
    cm_fields_are(&f,
                  "a", "1;b=2");

    /* repeated names are all kept, in order */
    assert_int_equal(cm_parse_lit(state, FORM,
                                  "comment=halo&comment=slot+gacor", &f, &err),
                     CM_BODY_OK);

    c = cm_fields_find(&f, "comment", 7);
    assert_ptr_equal(c, &f.fields[0]);
    c = cm_fields_find_next(&f, c, "comment", 7);
    assert_ptr_equal(c, &f.fields[1]);
    cm_assert_field(&f, 1, "comment", "slot gacor");
    assert_null(cm_fields_find_next(&f, c, "comment", 7));
}


static void
test_length_bounds(void **state)
{
    char             body[] = "comment=abc&name=Budi";
    cm_alloc_t       a;
    cm_fields_t      f;
    cm_body_error_t  err;

    a = cm_test_alloc(state);

    /* the length ends the body, not a NUL */
    assert_int_equal(cm_body_parse_urlencoded(body, 10, &a, &f, &err),
                     CM_BODY_OK);
    cm_fields_are(&f,
                  "comment", "ab");

    /* an escape cut by the length is broken */
    memcpy(body, "comment=%41", 11);
    assert_int_equal(cm_body_parse_urlencoded(body, 10, &a, &f, &err),
                     CM_BODY_BAD_ENCODING);
    assert_int_equal(err.offset, 8);

    assert_int_equal(cm_parse(state, FORM, "", 0, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 0);
}


static void
test_bad_escapes(void **state)
{
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    static const cm_bad_body_t  bad[] = {
        { "comment=abc%ZZdef", "%", 0, "bad %-escape" },
        { "comment=abc%4", "%", 0, "bad %-escape" },
        { "comment=abc%", "%", 0, "bad %-escape" },
        { "comment=%4&name=x", "%", 0, "bad %-escape" },
        { "comment=%G1", "%", 0, "bad %-escape" },
        { "comment=%1G", "%", 0, "bad %-escape" },
        { "com%6ment=x", "%", 0, "bad %-escape" },
        { "a%=1", "%", 0, "bad %-escape" },
        { "%", NULL, 0, "bad %-escape" },
        { "ok=1&bad=%%41", "%", 0, "bad %-escape" },
        { "ok=%41&bad=%+1", "%+", 0, "bad %-escape" },
    };

    cm_assert_bad_bodies(state, FORM, CM_BODY_BAD_ENCODING, bad,
                         sizeof(bad) / sizeof(bad[0]));

    /* what came before the error stays */
    rc = cm_parse_lit(state, FORM, "name=Budi&comment=%zz", &f, &err);
    assert_int_equal(rc, CM_BODY_BAD_ENCODING);
    cm_fields_are(&f,
                  "name", "Budi");
}


static void
test_too_many(void **state)
{
    char             *body;
    size_t            len;
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    body = cm_repeat("f=1&", CM_BODY_MAX_FIELDS, &len);

    assert_int_equal(cm_parse(state, FORM, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, CM_BODY_MAX_FIELDS);
    cm_assert_field(&f, 255, "f", "1");

    free(body);

    body = cm_repeat("f=1&", CM_BODY_MAX_FIELDS + 1, &len);

    rc = cm_parse(state, FORM, body, len, &f, &err);
    cm_assert_error(rc, &err, CM_BODY_TOO_MANY, 4 * CM_BODY_MAX_FIELDS,
                    "too many fields");

    free(body);

    /* empty pairs are not fields */
    body = cm_repeat("&", 64 * 1024, &len);
    assert_int_equal(cm_parse(state, FORM, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 0);
    free(body);
}


static void
test_big_and_hostile(void **state)
{
    char             *body;
    size_t            len;
    double            t;
    cm_fields_t       f;
    cm_body_error_t   err;

    /* a 64 KB comment of 3-byte escapes */
    body = cm_repeat("%e2%80%a6", 64 * 1024 / 9, &len);
    memcpy(body, "comment=", 8);
    memcpy(body + 8, "x", 1);

    assert_int_equal(cm_parse(state, FORM, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 1);
    assert_int_equal(f.fields[0].value_len, 1 + (len - 9) / 3);
    assert_memory_equal(f.fields[0].value + f.fields[0].value_len - 3,
                        "\xe2\x80\xa6", 3);
    free(body);

    /* one megabyte of "=" is one field with an empty name */
    t = cm_seconds();
    body = cm_repeat("=", 1024 * 1024, &len);
    assert_int_equal(cm_parse(state, FORM, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 1);
    assert_int_equal(f.fields[0].name_len, 0);
    assert_int_equal(f.fields[0].value_len, len - 1);
    free(body);

    body = cm_repeat("%", 1024 * 1024, &len);
    cm_assert_error(cm_parse(state, FORM, body, len, &f, &err), &err,
                    CM_BODY_BAD_ENCODING, 0, "bad %-escape");
    free(body);

    assert_true(cm_seconds() - t < 2.0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_demo_form),
        cm_test(test_decoding),
        cm_test(test_pairs),
        cm_test(test_length_bounds),
        cm_test(test_bad_escapes),
        cm_test(test_too_many),
        cm_test(test_big_and_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
