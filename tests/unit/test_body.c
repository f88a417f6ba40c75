/*
 * The body front: Content-Type dispatch (case, parameters, boundaries),
 * the field list and the error names.
 */

#include <stdio.h>

#include "cm_body_test.h"


#define MP_BODY                                                              \
    "--b\r\nContent-Disposition: form-data; name=comment\r\n\r\nhalo\r\n"      \
    "--b--\r\n"


static void
test_dispatch(void **state)
{
    size_t            i;
    cm_fields_t       f;
    cm_body_error_t   err;

    static const struct {
        const char   *type;
        const char   *body;
    } ok[] = {
        { "application/x-www-form-urlencoded", "comment=halo" },
        { "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
          "comment=halo" },
        { "APPLICATION/X-WWW-FORM-URLENCODED", "comment=halo" },
        { " application/x-www-form-urlencoded ;charset=windows-1252",
          "comment=halo" },
        { "application/json", "{\"comment\": \"halo\"}" },
        { "application/json;charset=UTF-8;", "{\"comment\": \"halo\"}" },
        { "Application/JSON; charset=\"iso-8859-1\"",
          "{\"comment\": \"halo\"}" },
        { "multipart/form-data; boundary=b", MP_BODY },
        { "multipart/form-data; boundary=\"b\"", MP_BODY },
        { "Multipart/Form-Data;charset=utf-8;  BOUNDARY=b", MP_BODY },
        { "multipart/form-data; Boundary=b; charset=\"a;b\"", MP_BODY },
        { "multipart/form-data;\tboundary=b\t", MP_BODY },
    };

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (cm_parse(state, ok[i].type, ok[i].body, strlen(ok[i].body), &f,
                     &err)
            != CM_BODY_OK)
        {
            fail_msg("%s: %s", ok[i].type, err.reason);
        }

        assert_int_equal(f.nfields, 1);
        cm_assert_field(&f, 0, "comment", "halo");
    }
}


static void
test_bad_types(void **state)
{
    size_t            i;
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    static const struct {
        const char   *type;
        cm_body_rc_e  rc;
        const char   *reason;
    } bad[] = {
        { "", CM_BODY_UNSUPPORTED_TYPE, "no Content-Type" },
        { "  ; charset=utf-8", CM_BODY_UNSUPPORTED_TYPE, "no Content-Type" },
        { "text/plain", CM_BODY_UNSUPPORTED_TYPE, "unsupported" },
        { "application/jsonx", CM_BODY_UNSUPPORTED_TYPE, "unsupported" },
        { "application/json-patch+json", CM_BODY_UNSUPPORTED_TYPE,
          "unsupported" },
        { "application", CM_BODY_UNSUPPORTED_TYPE, "unsupported" },
        { "multipart/mixed; boundary=b", CM_BODY_UNSUPPORTED_TYPE,
          "unsupported" },
        { "multipart/form-data", CM_BODY_BAD_MULTIPART,
          "no boundary in Content-Type" },
        { "multipart/form-data; charset=utf-8", CM_BODY_BAD_MULTIPART,
          "no boundary in Content-Type" },
        { "multipart/form-data; boundary=", CM_BODY_BAD_MULTIPART,
          "bad Content-Type parameters" },
        { "multipart/form-data; boundary", CM_BODY_BAD_MULTIPART,
          "bad Content-Type parameters" },
        { "multipart/form-data; boundary=\"b", CM_BODY_BAD_MULTIPART,
          "bad Content-Type parameters" },
        { "multipart/form-data; boundary=b c", CM_BODY_BAD_MULTIPART,
          "bad Content-Type parameters" },
        { "multipart/form-data; boundary=a/b", CM_BODY_BAD_MULTIPART,
          "bad Content-Type parameters" },
        { "multipart/form-data boundary=b", CM_BODY_BAD_MULTIPART,
          "bad Content-Type parameters" },
        { "multipart/form-data; boundary=\"\"", CM_BODY_BAD_MULTIPART,
          "bad boundary" },
        { "multipart/form-data; boundary=\"b \"", CM_BODY_BAD_MULTIPART,
          "bad boundary" },
        { "multipart/form-data; boundary=\"a\\\\b\"", CM_BODY_BAD_MULTIPART,
          "bad boundary" },
        { "multipart/form-data; boundary=\"a;b\"", CM_BODY_BAD_MULTIPART,
          "bad boundary" },
        { "multipart/form-data; boundary=a!b", CM_BODY_BAD_MULTIPART,
          "bad boundary" },
        { "multipart/form-data; boundary=b; boundary=c",
          CM_BODY_BAD_MULTIPART, "two boundary parameters" },
        { "multipart/form-data; x=\"boundary=c\"; boundary=b",
          CM_BODY_BAD_MULTIPART, "ambiguous boundary" },
        { "multipart/form-data; xboundary=c; boundary=b",
          CM_BODY_BAD_MULTIPART, "ambiguous boundary" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = cm_parse(state, bad[i].type, MP_BODY, sizeof(MP_BODY) - 1, &f,
                      &err);
        cm_assert_error(rc, &err, bad[i].rc, 0, bad[i].reason);
        assert_int_equal(f.nfields, 0);
    }
}


static void
test_boundary_length(void **state)
{
    char             ct[160], body[256];
    size_t           n, len;
    cm_fields_t      f;
    cm_body_error_t  err;
    cm_body_rc_e     rc;

    /* RFC 2046: at most 70 characters, quoted or not, of its own set */
    for (n = 69; n <= 71; n++) {
        len = (size_t) sprintf(ct, "multipart/form-data; boundary=\"%.*s\"",
                               (int) n,
                               "'()+_,-./:=? 0123456789abcdefghijklmnopqrstuv"
                               "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        assert_true(len < sizeof(ct));

        len = (size_t) sprintf(body, "--%.*s\r\nContent-Disposition: "
                               "form-data; name=comment\r\n\r\nhalo\r\n"
                               "--%.*s--", (int) n, ct + 31, (int) n,
                               ct + 31);

        rc = cm_parse(state, ct, body, len, &f, &err);

        if (n <= 70) {
            assert_int_equal(rc, CM_BODY_OK);
            cm_assert_field(&f, 0, "comment", "halo");

        } else {
            cm_assert_error(rc, &err, CM_BODY_BAD_MULTIPART, 0,
                            "bad boundary");
        }
    }
}


static void
test_type_length(void **state)
{
    cm_alloc_t       a;
    cm_fields_t      f;
    cm_body_error_t  err;

    a = cm_test_alloc(state);

    /* the length ends the Content-Type, not a NUL */
    assert_int_equal(cm_body_parse("application/jsonp", 16, "{\"a\":1}", 7,
                                   &a, &f, &err),
                     CM_BODY_OK);
    cm_assert_field(&f, 0, "a", "1");

    assert_int_equal(cm_body_parse("multipart/form-data; boundary=bc", 31,
                                   MP_BODY, sizeof(MP_BODY) - 1, &a, &f,
                                   &err),
                     CM_BODY_OK);
    cm_assert_field(&f, 0, "comment", "halo");

    assert_int_equal(cm_body_parse("text/plain", 0, "", 0, &a, &f, &err),
                     CM_BODY_UNSUPPORTED_TYPE);

    /* zero-length bodies: no fields, or no object, or no boundary */
    assert_int_equal(cm_body_parse("application/x-www-form-urlencoded", 33,
                                   "", 0, &a, &f, &err),
                     CM_BODY_OK);
    assert_int_equal(f.nfields, 0);

    assert_int_equal(cm_body_parse("application/json", 16, "", 0, &a, &f,
                                   &err),
                     CM_BODY_BAD_JSON);
    assert_int_equal(cm_body_parse("multipart/form-data; boundary=b", 31, "",
                                   0, &a, &f, &err),
                     CM_BODY_BAD_MULTIPART);

    /* no body at all */
    assert_int_equal(cm_body_parse(NULL, 0, NULL, 0, &a, &f, &err),
                     CM_BODY_UNSUPPORTED_TYPE);
    assert_int_equal(cm_body_parse("application/x-www-form-urlencoded", 33,
                                   NULL, 0, &a, &f, &err),
                     CM_BODY_OK);
    assert_int_equal(cm_body_parse("application/json", 16, NULL, 0, &a, &f,
                                   &err),
                     CM_BODY_BAD_JSON);
    assert_int_equal(cm_body_parse("multipart/form-data; boundary=b", 31,
                                   NULL, 0, &a, &f, &err),
                     CM_BODY_BAD_MULTIPART);

    /* and no error report is needed */
    assert_int_equal(cm_body_parse("text/plain", 10, "", 0, &a, &f, NULL),
                     CM_BODY_UNSUPPORTED_TYPE);
}


static void
test_fields(void **state)
{
    char               name[CM_BODY_MAX_FIELDS][8];
    size_t             i;
    cm_alloc_t         a;
    cm_fields_t        f;
    const cm_field_t  *c;

    a = cm_test_alloc(state);
    memset(&f, 0, sizeof(cm_fields_t));

    assert_null(cm_fields_find(&f, "", 0));

    /* the array grows by copying; what was added stays */
    for (i = 0; i < CM_BODY_MAX_FIELDS; i++) {
        snprintf(name[i], sizeof(name[i]), "f%zu", i);
        assert_int_equal(cm_fields_add(&f, &a, name[i], strlen(name[i]),
                                       "v", i % 2),
                         CM_BODY_OK);
        assert_true(f.nfields <= f.nalloc);
    }

    assert_int_equal(cm_fields_add(&f, &a, "x", 1, "v", 1),
                     CM_BODY_TOO_MANY);
    assert_int_equal(f.nfields, CM_BODY_MAX_FIELDS);
    assert_int_equal(f.nalloc, CM_BODY_MAX_FIELDS);

    for (i = 0; i < CM_BODY_MAX_FIELDS; i++) {
        c = cm_fields_find(&f, name[i], strlen(name[i]));
        assert_ptr_equal(c, &f.fields[i]);
        assert_int_equal(c->value_len, i % 2);
    }

    /* exact names only: no prefix, no NUL termination */
    assert_null(cm_fields_find(&f, "f1", 1));
    assert_null(cm_fields_find(&f, "f10x", 4));
    assert_ptr_equal(cm_fields_find(&f, "f10x", 3), &f.fields[10]);
    assert_null(cm_fields_find(&f, "", 0));
    assert_null(cm_fields_find_next(&f, &f.fields[10], "f10", 3));

    /* an empty name is a name */
    memset(&f, 0, sizeof(cm_fields_t));
    assert_int_equal(cm_fields_add(&f, &a, "a", 1, "1", 1), CM_BODY_OK);
    assert_int_equal(cm_fields_add(&f, &a, "", 0, "2", 1), CM_BODY_OK);
    assert_int_equal(cm_fields_add(&f, &a, "", 0, "3", 1), CM_BODY_OK);
    c = cm_fields_find(&f, "", 0);
    assert_ptr_equal(c, &f.fields[1]);
    assert_ptr_equal(cm_fields_find_next(&f, c, "", 0), &f.fields[2]);
}


static void *
no_memory(void *data, size_t size)
{
    (void) data;
    (void) size;

    return NULL;
}


static void
test_no_memory(void **state)
{
    size_t            i;
    cm_alloc_t        a;
    cm_fields_t       f;
    cm_body_error_t   err;

    static const char  *cases[][2] = {
        { "application/x-www-form-urlencoded", "comment=halo" },
        { "application/json", "{\"comment\": \"halo\"}" },
        { "multipart/form-data; boundary=b", MP_BODY },
    };

    (void) state;

    a.alloc = no_memory;
    a.data = NULL;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(cm_body_parse(cases[i][0], strlen(cases[i][0]),
                                       cases[i][1], strlen(cases[i][1]), &a,
                                       &f, &err),
                         CM_BODY_NO_MEMORY);
        assert_string_equal(err.reason, "out of memory");
    }

    assert_int_equal(cm_fields_add(&f, &a, "a", 1, "b", 1),
                     CM_BODY_NO_MEMORY);
}


static void
test_rc_text(void **state)
{
    (void) state;

    assert_string_equal(cm_body_rc_text(CM_BODY_OK), "ok");
    assert_string_equal(cm_body_rc_text(CM_BODY_UNSUPPORTED_TYPE),
                        "unsupported Content-Type");
    assert_string_equal(cm_body_rc_text(CM_BODY_BAD_ENCODING),
                        "bad %-encoding");
    assert_string_equal(cm_body_rc_text(CM_BODY_BAD_MULTIPART),
                        "bad multipart body");
    assert_string_equal(cm_body_rc_text(CM_BODY_BAD_JSON), "bad JSON");
    assert_string_equal(cm_body_rc_text(CM_BODY_TOO_DEEP),
                        "nested too deeply");
    assert_string_equal(cm_body_rc_text(CM_BODY_TOO_MANY), "too many fields");
    assert_string_equal(cm_body_rc_text(CM_BODY_NO_MEMORY), "out of memory");
    assert_string_equal(cm_body_rc_text((cm_body_rc_e) 99), "unknown error");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_dispatch),
        cm_test(test_bad_types),
        cm_test(test_boundary_length),
        cm_test(test_type_length),
        cm_test(test_fields),
        cm_test(test_no_memory),
        cm_test(test_rc_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
