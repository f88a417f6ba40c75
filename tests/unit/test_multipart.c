/*
 * multipart/form-data: Chrome and Firefox bodies, file parts, and every
 * way a body can be refused, with its offset; limits and hostile bodies.
 */

#include <stdio.h>

#include "cm_body_test.h"


/* Chrome's boundary */
#define CB     "----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define CT     "multipart/form-data; boundary=" CB
#define DELIM  "--" CB "\r\n"
#define CLOSE  "--" CB "--\r\n"
#define PART(name)                                                           \
    DELIM "Content-Disposition: form-data; name=\"" name "\"\r\n\r\n"

#define HEADERS  (sizeof(DELIM) - 1)

/* Firefox's */
#define FB     "---------------------------9051914041544843365972754266"


static void
test_chrome(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    assert_int_equal(cm_parse_lit(state, CT,
                     PART("article_id") "12\r\n"
                     PART("name") "Siti Aminah\r\n"
                     PART("email") "siti@example.id\r\n"
                     PART("comment")
                     "Mantap, beritanya jelas \xf0\x9f\x91\x8d\r\n"
                     "Baris kedua -- dengan tanda\r\n"
                     "\r\n"
                     CLOSE, &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "article_id", "12",
                  "name", "Siti Aminah",
                  "email", "siti@example.id",
                  "comment", "Mantap, beritanya jelas \xf0\x9f\x91\x8d\r\n"
                  "Baris kedua -- dengan tanda\r\n");
}


static void
test_firefox_with_file(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    /* a file part's bytes are skipped, binary CRLF and "--" included */
    assert_int_equal(cm_parse_lit(state,
                     "multipart/form-data; boundary=" FB,
                     "--" FB "\r\n"
                     "Content-Disposition: form-data; name=\"name\"\r\n"
                     "\r\n"
                     "Budi\r\n"
                     "--" FB "\r\n"
                     "Content-Disposition: form-data; name=\"avatar\"; "
                     "filename=\"foto profil.png\"\r\n"
                     "Content-Type: image/png\r\n"
                     "\r\n"
                     "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\r\n--" "-----\r\n"
                     "\n--\r\n-" FB "\0\r\n"
                     "--" FB "\r\n"
                     "Content-Disposition: form-data; name=\"comment\"\r\n"
                     "\r\n"
                     "Warga bergotong royong \xe2\x80\x94 semoga cepat "
                     "surut.\r\n"
                     "--" FB "--\r\n", &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "name", "Budi",
                  "avatar", "",
                  "comment", "Warga bergotong royong \xe2\x80\x94 semoga "
                  "cepat surut.");
}


static void
test_part_forms(void **state)
{
    cm_fields_t      f;
    cm_body_error_t  err;

    assert_int_equal(cm_parse_lit(state, CT,
                     "This is the preamble.\r\n-- " CB "\r\n"
                     "\r\n"
                     DELIM
                     "content-disposition:FORM-DATA;NAME=comment\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8BIT\r\n"
                     "\r\n"
                     "\r\n"
                     DELIM
                     "Content-Disposition: form-data ; name=\"a\\\"b\\\\\"\t"
                     "; x=1;\r\n"
                     "\r\n"
                     "quoted\r\n"
                     DELIM
                     "X-Custom:\r\n"
                     "Content-Disposition: form-data; name=\"\"; "
                     "filename=\"\"\r\n"
                     "\r\n"
                     "\r\n"
                     DELIM
                     "Content-Disposition: form-data; name=\"note\"; "
                     "filename*=UTF-8''a.txt\r\n"
                     "\r\n"
                     "judged\r\n"
                     DELIM
                     "Content-Disposition: form-data; name=\"n\xc3\xa9\"\r\n"
                     "Content-Transfer-Encoding: binary\r\n"
                     "\r\n"
                     "\r\n\r\n"
                     "--" CB "--epilogue\r\n-- " CB "\r\n", &f, &err),
                     CM_BODY_OK);

    cm_fields_are(&f,
                  "comment", "",
                  "a\"b\\", "quoted",
                  "", "",
                  "note", "judged",
                  "n\xc3\xa9", "\r\n");

    /* a body starting right at the first delimiter, the close unended */
    assert_int_equal(cm_parse_lit(state, "multipart/form-data; boundary=b",
                     "--b\r\nContent-Disposition: form-data; name=c\r\n\r\n"
                     "x\r\n--b--", &f, &err),
                     CM_BODY_OK);
    cm_fields_are(&f,
                  "c", "x");

    /* no part at all */
    assert_int_equal(cm_parse_lit(state, "multipart/form-data; boundary=b",
                                  "--b--\r\n", &f, &err),
                     CM_BODY_OK);
    assert_int_equal(f.nfields, 0);
}


static void
test_errors(void **state)
{
    cm_fields_t       f;
    cm_body_error_t   err;
    cm_body_rc_e      rc;

    static const cm_bad_body_t  bad[] = {
        { "", NULL, 0, "no boundary in the body" },
        { "no delimiter here\r\n--" CB "-", NULL, CM_END, "no closing" },
        { PART("comment") "halo semua\r\n", NULL, CM_END, "no closing" },
        { PART("comment") "halo", NULL, CM_END, "no closing" },
        { DELIM "Content-Disposition: form-data; na", NULL, CM_END,
          "no end of part headers" },
        { "--" CB, NULL, CM_END, "no closing boundary" },
        { "--" CB "\r", NULL, CM_END, "no closing boundary" },

        { "--" CB " \r\n", " \r\n", 0, "text after a boundary" },
        { "--" CB "\n", "\n", 0, "text after a boundary" },
        { "preamble\r\n--" CB "x\r\n" DELIM, "x\r\n", 0,
          "text after a boundary" },
        { PART("c") "ham\r\n" CLOSE "\r\n" PART("c") "spam\r\n" CLOSE,
          "--\r\n\r\n--", 5, "after the closing boundary" },
        { PART("c") "x\r\n--" CB "--x\r\n" CLOSE, "--x\r\n", 4,
          "after the closing boundary" },

        { PART("c") "x\n" CLOSE, "x\n", 1, "bare LF before a boundary" },
        { PART("c") "\n" CLOSE, "\r\n\r\n\n", 4,
          "bare LF before a boundary" },
        { DELIM "Content-Disposition: form-data; name=c\n\r\n", "c\n", 1,
          "bare LF in part headers" },
        { DELIM "\n", NULL, HEADERS, "bare LF in part headers" },

        { DELIM "\r\nx\r\n" CLOSE, NULL, HEADERS,
          "without Content-Disposition" },
        { DELIM "Content-Type: text/plain\r\n\r\nx\r\n" CLOSE, NULL, HEADERS,
          "without Content-Disposition" },
        { DELIM "Content-Disposition: form-data\r\n\r\nx\r\n" CLOSE,
          "form-data", 0, "part without a name" },
        { DELIM "Content-Disposition: form-data; filename=a\r\n\r\n"
          "x\r\n" CLOSE, "form-data", 0, "part without a name" },
        { DELIM "Content-Disposition: attachment; name=c\r\n\r\nx\r\n"
          CLOSE, "attachment", 0, "not form-data" },
        { DELIM "Content-Disposition: form-data; name=c; name=d\r\n\r\n"
          "x\r\n" CLOSE, "d\r\n", 1, "two names" },
        { DELIM "Content-Disposition: form-data; name=c\r\n"
          "Content-Disposition: form-data; name=d\r\n\r\nx\r\n" CLOSE,
          "c\r\nContent", 3, "two Content-Disposition" },

        { DELIM "Content-Disposition: form-data; name=\"c\r\n\r\nx\r\n"
          CLOSE, "\"c\r\n", 2, "bad Content-Disposition" },
        { DELIM "Content-Disposition: form-data; name=\"c\"x\r\n\r\n"
          "x\r\n" CLOSE, "\"x", 1, "bad Content-Disposition" },
        { DELIM "Content-Disposition: form-data; name=c d\r\n\r\n"
          "x\r\n" CLOSE, "c d", 2, "bad Content-Disposition" },
        { DELIM "X-Note: a\r\n b\r\nContent-Disposition: form-data; "
          "name=c\r\n\r\nx\r\n" CLOSE, "\r\n b", 2, "bad part header" },
        { DELIM "Content-Disposition form-data; name=c\r\n\r\nx\r\n"
          CLOSE, " form-data", 0, "bad part header" },
        { DELIM ": form-data\r\n\r\nx\r\n" CLOSE, ": form", 0,
          "bad part header" },
        { DELIM "Content-Disposition: form-data; name=c\rx\r\n\r\n"
          "x\r\n" CLOSE, "c\rx", 1, "bad part header" },
        { PART("c") "x\r\n--" CB "\r\n--" CB "--\r\n", CB "--", sizeof(CB) + 1,
          "bad part header" },

        { DELIM "Content-Disposition: form-data; name=c\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\nc2xvdCBnYWNvcg==\r\n"
          CLOSE, "Content-Transfer", 0, "Content-Transfer-Encoding" },
        { DELIM "Content-Disposition: form-data; name=c\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
          "=73lot gacor\r\n" CLOSE, "Content-Transfer", 0,
          "Content-Transfer-Encoding" },
    };

    cm_assert_bad_bodies(state, CT, CM_BODY_BAD_MULTIPART, bad,
                         sizeof(bad) / sizeof(bad[0]));

    /* what came before the error stays */
    rc = cm_parse_lit(state, CT, PART("name") "Budi\r\n" PART("c") "x",
                      &f, &err);
    assert_int_equal(rc, CM_BODY_BAD_MULTIPART);
    cm_fields_are(&f,
                  "name", "Budi");
}


static void
test_header_limit(void **state)
{
    char              *body, *p;
    size_t             room, len;
    cm_fields_t        f;
    cm_body_error_t    err;
    cm_body_rc_e       rc;
    static const char  head[] = DELIM;
    static const char  cd[] = "Content-Disposition: form-data; name=c\r\n";

    body = malloc(20000);
    assert_non_null(body);

    /* 8 KB of header lines, empty line included, is the most */
    for (room = 8192; room <= 8193; room++) {
        p = body;
        p += sprintf(p, "%s%s", head, cd);
        len = room - (sizeof(cd) - 1) - 2 - 2;
        memcpy(p, "X:", 2);
        memset(p + 2, 'a', len - 2);
        p += len;
        p += sprintf(p, "\r\n\r\nvalue\r\n--" CB "--\r\n");

        rc = cm_parse(state, CT, body, (size_t) (p - body), &f, &err);

        if (room == 8192) {
            assert_int_equal(rc, CM_BODY_OK);
            cm_assert_field(&f, 0, "c", "value");

        } else {
            cm_assert_error(rc, &err, CM_BODY_BAD_MULTIPART,
                            sizeof(head) - 1 + 8192, "headers too long");
        }
    }

    free(body);
}


static void
test_too_many(void **state)
{
    char              *body;
    size_t             len, n;
    cm_fields_t        f;
    cm_body_error_t    err;
    cm_body_rc_e       rc;
    static const char  part[] = "--b\r\nContent-Disposition: form-data; "
                                "name=f\r\n\r\n1\r\n";

    for (n = CM_BODY_MAX_FIELDS; n <= CM_BODY_MAX_FIELDS + 1; n++) {
        body = cm_repeat(part, n + 1, &len);
        memcpy(body + (sizeof(part) - 1) * n, "--b--\r\n", 7);
        len = (sizeof(part) - 1) * n + 7;

        rc = cm_parse(state, "multipart/form-data; boundary=b", body, len, &f,
                      &err);

        if (n == CM_BODY_MAX_FIELDS) {
            assert_int_equal(rc, CM_BODY_OK);
            assert_int_equal(f.nfields, CM_BODY_MAX_FIELDS);
            cm_assert_field(&f, 255, "f", "1");

        } else {
            /* at the headers of the part one too many */
            cm_assert_error(rc, &err, CM_BODY_TOO_MANY,
                            (sizeof(part) - 1) * CM_BODY_MAX_FIELDS + 5,
                            "too many fields");
        }

        free(body);
    }
}


static void
test_big_and_hostile(void **state)
{
    char             *body;
    size_t            len;
    double            t;
    cm_fields_t       f;
    cm_body_error_t   err;

    /* a 64 KB comment */
    body = cm_repeat("Kabar duka dari Palu. ", 3000, &len);
    memcpy(body, PART("comment"), sizeof(PART("comment")) - 1);
    memcpy(body + len - sizeof(CLOSE) + 1 - 2, "\r\n" CLOSE,
           sizeof(CLOSE) + 1);

    assert_int_equal(cm_parse(state, CT, body, len, &f, &err), CM_BODY_OK);
    assert_int_equal(f.nfields, 1);
    assert_int_equal(f.fields[0].value_len,
                     len - (sizeof(PART("comment")) - 1)
                     - (sizeof(CLOSE) - 1) - 2);
    free(body);

    t = cm_seconds();

    /* a megabyte of dashes, of "\n--" and of near boundaries */
    body = cm_repeat("--", 512 * 1024, &len);
    cm_assert_error(cm_parse(state, CT, body, len, &f, &err), &err,
                    CM_BODY_BAD_MULTIPART, len, "no boundary in the body");
    free(body);

    body = cm_repeat("\r\n--", 256 * 1024, &len);
    cm_assert_error(cm_parse(state, CT, body, len, &f, &err), &err,
                    CM_BODY_BAD_MULTIPART, len, "no boundary in the body");
    free(body);

    body = cm_repeat("\n--" "----WebKitFormBoundary7MA4YWxkTrZu0g",
                     1024 * 1024 / 40, &len);
    cm_assert_error(cm_parse(state, CT, body, len, &f, &err), &err,
                    CM_BODY_BAD_MULTIPART, len, "no boundary in the body");

    /* the same inside a value */
    memcpy(body, PART("c"), sizeof(PART("c")) - 1);
    cm_assert_error(cm_parse(state, CT, body, len, &f, &err), &err,
                    CM_BODY_BAD_MULTIPART, len, "no closing boundary");
    free(body);

    assert_true(cm_seconds() - t < 2.0);
}


static void
test_boundary_argument(void **state)
{
    char             b[72];
    cm_alloc_t       a;
    cm_fields_t      f;
    cm_body_error_t  err;

    a = cm_test_alloc(state);
    memset(b, 'b', sizeof(b));

    /* called directly: 1 to 70 bytes */
    assert_int_equal(cm_body_parse_multipart(b, 0, "--\r\n", 4, &a, &f,
                                             &err),
                     CM_BODY_BAD_MULTIPART);
    assert_string_equal(err.reason, "bad boundary");
    assert_int_equal(cm_body_parse_multipart(b, 71, "--\r\n", 4, &a, &f,
                                             &err),
                     CM_BODY_BAD_MULTIPART);
    assert_string_equal(err.reason, "bad boundary");

    assert_int_equal(cm_body_parse_multipart(b, 1, "--b--", 5, &a, &f, &err),
                     CM_BODY_OK);

    /* RFC 2046 characters, no space at the end */
    assert_int_equal(cm_body_parse_multipart("a\nb", 3, "--a\nb--", 7, &a,
                                             &f, &err),
                     CM_BODY_BAD_MULTIPART);
    assert_string_equal(err.reason, "bad boundary");
    assert_int_equal(cm_body_parse_multipart("a ", 2, "--a --", 6, &a, &f,
                                             &err),
                     CM_BODY_BAD_MULTIPART);
    assert_int_equal(cm_body_parse_multipart("a b", 3, "--a b--", 7, &a, &f,
                                             &err),
                     CM_BODY_OK);

    /* the length ends the body, not a NUL */
    assert_int_equal(cm_body_parse_multipart(b, 1, "--b--", 4, &a, &f, &err),
                     CM_BODY_BAD_MULTIPART);
    assert_int_equal(err.offset, 4);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_chrome),
        cm_test(test_firefox_with_file),
        cm_test(test_part_forms),
        cm_test(test_errors),
        cm_test(test_header_limit),
        cm_test(test_too_many),
        cm_test(test_big_and_hostile),
        cm_test(test_boundary_argument),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
