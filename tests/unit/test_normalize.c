/*
 * The normalizer: every disguise folds, ham survives, offsets map back.
 */

#include <stdio.h>
#include <stdlib.h>

#include "cm_test.h"
#include "ngx_http_comment_moderation_normalize.h"
#include "ngx_http_comment_moderation_unicode.h"


/* the data sets sit next to the project root, where the tests run */
#define CM_TEST_MAPPING                                                       \
    "../shared/data/id-judol-youtube/obfuscation_mapping.json"


static cm_text_t
norm(void **state, const char *s)
{
    cm_text_t     t;
    cm_alloc_t    a;
    cm_norm_rc_e  rc;

    a = cm_test_alloc(state);
    rc = cm_normalize(s, strlen(s), &a, &t, NULL);
    assert_int_equal(rc, CM_NORM_OK);

    return t;
}


static void
assert_view(const cm_text_t *t, cm_view_e v, const char *expect)
{
    char  got[4096];

    assert_true(t->view[v].len < sizeof(got));
    memcpy(got, t->view[v].text, t->view[v].len);
    got[t->view[v].len] = '\0';

    assert_string_equal(got, expect);
}


/* an input and what one of its views must be */
typedef struct {
    const char  *in;
    const char  *out;
} cm_test_case_t;


#define assert_views(state, v, cases)                                         \
    assert_cases(state, v, cases, sizeof(cases) / sizeof(cases[0]))


static void
assert_cases(void **state, cm_view_e v, const cm_test_case_t *cases,
    size_t n)
{
    size_t     i;
    cm_text_t  t;

    for (i = 0; i < n; i++) {
        t = norm(state, cases[i].in);
        assert_view(&t, v, cases[i].out);
    }
}


/* a compact view's words, "|" between them: "slot|gacor" */
static void
assert_words(const cm_text_t *t, cm_view_e v, const char *expect)
{
    char              got[4096];
    size_t            i, n;
    const cm_view_t  *view;

    view = &t->view[v];
    n = 0;

    for (i = 0; i < view->len; i++) {
        assert_true(n + 2 < sizeof(got));

        if (i > 0 && (view->flags[i] & CM_WORD_START)) {
            assert_true(view->flags[i - 1] & CM_WORD_END);
            got[n++] = '|';
        }

        got[n++] = view->text[i];
    }

    got[n] = '\0';

    assert_string_equal(got, expect);
}


/* the view span [start, end) comes from the raw span [raw_start, raw_end) */
static void
assert_span(const cm_text_t *t, cm_view_e v, size_t start, size_t end,
    size_t raw_start, size_t raw_end)
{
    size_t  s, e;

    cm_view_span_to_raw(&t->view[v], start, end, &s, &e);
    assert_int_equal(s, raw_start);
    assert_int_equal(e, raw_end);
}


static void
assert_invalid(void **state, const char *in, size_t len, size_t offset)
{
    size_t        bad;
    cm_text_t     t;
    cm_alloc_t    a;

    a = cm_test_alloc(state);
    bad = (size_t) -1;

    assert_int_equal(cm_normalize(in, len, &a, &t, &bad),
                     CM_NORM_INVALID_UTF8);
    assert_int_equal(bad, offset);

    bad = (size_t) -1;
    assert_int_equal(cm_utf8_valid(in, len, &bad), 0);
    assert_int_equal(bad, offset);
}


static void
test_mathematical_letters(void **state)
{
    cm_text_t  t;

    static const char  in[] = "𝐒𝐋𝐎𝐓 𝐆𝐀𝐂𝐎𝐑";

    t = norm(state, in);
    assert_view(&t, CM_VIEW_FOLDED, "slot gacor");
    assert_view(&t, CM_VIEW_COMPACT, "slotgacor");
    assert_words(&t, CM_VIEW_COMPACT, "slot|gacor");

    /* "gacor" of the compact view is the raw 𝐆𝐀𝐂𝐎𝐑 */
    assert_span(&t, CM_VIEW_COMPACT, 4, 9, strlen("𝐒𝐋𝐎𝐓 "), strlen(in));

    /* and "o" of "slot" is 𝐎 */
    assert_span(&t, CM_VIEW_FOLDED, 2, 3, 8, 12);

    static const cm_test_case_t  alphabets[] = {
        { "𝔰𝔩𝔬𝔱 𝖘𝖑𝖔𝖙 𝓈𝓁𝑜𝓉 𝕤𝕝𝕠𝕥", "slot slot slot slot" },
        { "𝗌𝗅𝗈𝗍 𝙨𝙡𝙤𝙩 𝚜𝚕𝚘𝚝 𝟏𝟐𝟑", "slot slot slot 123" },
    };

    t = norm(state, "𝐿𝐸𝒮𝒯𝐼𝟩𝟩");
    assert_view(&t, CM_VIEW_FOLDED, "lesti77");
    assert_words(&t, CM_VIEW_COMPACT, "lesti|77");

    assert_views(state, CM_VIEW_FOLDED, alphabets);
}


static void
test_combining_marks(void **state)
{
    static const cm_test_case_t  cases[] = {
        { "P͓̽U͓̽L͓̽A͓̽U͓̽W͓̽I͓̽N͓̽", "pulauwin" },
        { "S̶L̶O̶T̶ g̲a̲c̲o̲r̲", "slot gacor" },
        { "café naïve Ångström", "cafe naive angstrom" },
        { "0⃣ 7️⃣", "0 7" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_look_alikes(void **state)
{
    static const cm_test_case_t  cases[] = {
        { "ѕlot", "slot" },
        { "ѕаоесрхуі", "saoecpxyi" },
        { "οανικ", "oavik" },
        { "ЅLОТ GАСОR", "slot gacor" },
        { "ΜΛΝDALIKΛ", "mandalika" },
        { "ᔕᒪOT ᘜᗩᑕOᖇ", "slot gacor" },

        /* ASCII is never a look-alike: 0 and 1 stay digits, rn stays rn */
        { "01 rn Il", "01 rn il" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_letter_like_symbols(void **state)
{
    static const cm_test_case_t  cases[] = {
        { "ｓｌｏｔ ＧＡＣＯＲ", "slot gacor" },
        { "ⓢⓛⓞⓣ Ⓢ", "slot s" },
        { "🅢🅛🅞🅣 🆂🅻🅾🆃 🄶🄰🄲🄾🅁", "slot slot gacor" },
        { "ꜱʟᴏᴛ ɢᴀᴄᴏʀ", "slot gacor" },
        { "ˢˡᵒᵗ ₛₗₒₜ ²⁴", "slot slot 24" },
        { "⒮⒧⒪⒯", "(slot)" },
        { "ﬁ ß Ⅻ ⑳", "fi ss xii 20" },
        { "٠٨١٢ ०८१२", "0812 0812" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_spaced_letters(void **state)
{
    cm_text_t  t;

    static const cm_test_case_t  cases[] = {
        { "s.l.o.t", "slot" },
        { "s-l-o-t g.a.c.o.r", "slot gacor" },
        { "s  l  o  t", "slot" },
        { "main s l o t yuk", "main slot yuk" },
        { "Λ L E X I S 1 7", "alexis17" },
        { "𝑩 0 𝑺 𝑺 𝑾 𝑫", "b0sswd" },
        { "【P】【U】【L】【A】【U】【7】【7】【7】", "【pulau777】" },
    };

    t = norm(state, "s l o t  g a c o r");
    assert_view(&t, CM_VIEW_FOLDED, "slot gacor");
    assert_view(&t, CM_VIEW_COMPACT, "slotgacor");
    assert_words(&t, CM_VIEW_COMPACT, "s|l|o|t|g|a|c|o|r");

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_spaced_letters_kept(void **state)
{
    static const cm_test_case_t  cases[] = {
        /* not spaced-apart words */
        { "a b", "a b" },
        { "I am a boy", "i am a boy" },
        { "di a b", "di a b" },

        /* numbers: more digits than letters */
        { "3 a 4", "3 a 4" },
        { "jam 7 5 menit", "jam 7 5 menit" },
        { "0 8 1 2", "0 8 1 2" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_letter_runs(void **state)
{
    static const cm_test_case_t  cases[] = {
        { "sloooot gaaacor maxwiiin", "slot gacor maxwin" },
        { "maaf tinggi saat", "maaf tinggi saat" },
        { "SLOOOT", "slot" },
        { "s l o o o t", "slot" },

        /* a word that is one letter repeated is left alone */
        { "www.example.com ppp", "www.example.com ppp" },

        /* digits and punctuation are not squeezed */
        { "777 !!!", "777 !!!" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_invisible(void **state)
{
    static const cm_test_case_t  cases[] = {
        { "sl\xe2\x80\x8bot", "slot" },
        { "s\xc2\xadl\xe2\x80\x8co\xe2\x80\x8dt\xe2\x81\xa0\xef\xbb\xbf",
          "slot" },
        { "\xe2\x80\xaeslot\xe2\x80\xac \xe2\x81\xa6gacor\xe2\x81\xa9",
          "slot gacor" },
        { "ᆢSᆢᆢLᆢᆢOᆢᆢTᆢ", "ᆢslotᆢ" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_white_space(void **state)
{
    static const cm_test_case_t  cases[] = {
        { "  slot\t\n gacor\xc2\xa0\xe3\x80\x80x  ", "slot gacor x" },
        { "\xc2\xa0 \t", "" },
    };

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_deleet(void **state)
{
    cm_text_t  t;

    static const cm_test_case_t  cases[] = {
        { "m4xw1n 4ku $lot p@ss", "maxwin aku slot pass" },
        { "sultan88 gacor77 slot777 toto4d 4D",
          "sultan88 gacor77 slot777 toto4d 4d" },
        { "anak2 0812 100rb @budi", "anak2 0812 100rb @budi" },
        { "sl0t88", "slot88" },
        { "s l 0 t  g 4 c 0 r, 4 k u", "slot gacor, aku" },
    };

    t = norm(state, "sl0t g4c0r");
    assert_view(&t, CM_VIEW_FOLDED, "sl0t g4c0r");
    assert_view(&t, CM_VIEW_DELEET, "slot gacor");
    assert_words(&t, CM_VIEW_COMPACT, "sl|0|t|g|4|c|0|r");
    assert_words(&t, CM_VIEW_COMPACT_DELEET, "slot|gacor");

    assert_views(state, CM_VIEW_DELEET, cases);

    t = norm(state, "gacor77 slot2");
    assert_words(&t, CM_VIEW_COMPACT_DELEET, "gacor|77|slot|2");
}


static void
test_ham_survives(void **state)
{
    cm_text_t  t;

    static const cm_test_case_t  cases[] = {
        { "Terima kasih, Bapak! Sampai jumpa di Jakarta.",
          "terima kasih, bapak! sampai jumpa di jakarta." },
        { "ولا تقربوا الزنا", "ولا تقربوا الزنا" },
    };

    static const char  ham[] =
        "anak2 hati-hati Rp 10.000 0812-3456-7890 \xf0\x9f\x98\x82"
        "\xf0\x9f\x91\x8d\xf0\x9f\x87\xae\xf0\x9f\x87\xa9";
    static const char  folded[] =
        "anak2 hati-hati rp 10.000 0812-3456-7890 \xf0\x9f\x98\x82"
        "\xf0\x9f\x91\x8d\xf0\x9f\x87\xae\xf0\x9f\x87\xa9";

    t = norm(state, ham);
    assert_view(&t, CM_VIEW_FOLDED, folded);
    assert_view(&t, CM_VIEW_DELEET, folded);
    assert_words(&t, CM_VIEW_COMPACT,
                 "anak|2|hati|hati|rp|10|000|0812|3456|7890");

    assert_views(state, CM_VIEW_FOLDED, cases);
}


static void
test_invalid_utf8(void **state)
{
    assert_invalid(state, "ab\xc0\xaf", 4, 2);
    assert_invalid(state, "\xe0\x80\xaf", 3, 0);
    assert_invalid(state, "x\xed\xa0\x80", 4, 1);
    assert_invalid(state, "\xf4\x90\x80\x80", 4, 0);
    assert_invalid(state, "ok \xe2\x82", 5, 3);
    assert_invalid(state, "ok \xf0\x9f\x98", 6, 3);
    assert_invalid(state, "\x80", 1, 0);
    assert_invalid(state, "slot\xff", 5, 4);
    assert_invalid(state, "\xc3(", 2, 0);

    assert_int_equal(cm_utf8_valid("s\xc3\xa9\xf0\x9f\x98\x82", 7, NULL), 1);
    assert_int_equal(cm_utf8_valid("\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7, NULL),
                     1);
}


static void
test_offsets(void **state)
{
    size_t     v, i;
    cm_text_t  t;

    static const char  in[] = "  Ｓ l o t\xe2\x80\x8b 𝟕𝟕  ";

    t = norm(state, in);
    assert_view(&t, CM_VIEW_FOLDED, "slot 77");

    for (v = 0; v < CM_VIEW_N; v++) {
        for (i = 0; i < t.view[v].len; i++) {
            assert_true(t.view[v].src_start[i] < t.view[v].src_end[i]);
            assert_true(t.view[v].src_end[i] <= strlen(in));

            if (i > 0) {
                assert_true(t.view[v].src_start[i - 1]
                            <= t.view[v].src_start[i]);
            }
        }

        assert_true((v >= CM_VIEW_COMPACT) == (t.view[v].flags != NULL));
    }

    /* the raw view is the identity */
    assert_span(&t, CM_VIEW_RAW, 3, 7, 3, 7);

    /* "s" is the fullwidth Ｓ at 2, "77" the two 𝟕 after the zero width */
    assert_span(&t, CM_VIEW_FOLDED, 0, 1, 2, 5);
    assert_span(&t, CM_VIEW_COMPACT, 4, 6, 15, 23);

    /* the space between "slot" and "77" is the raw white space there */
    assert_span(&t, CM_VIEW_FOLDED, 4, 5, 14, 15);

    /* empty spans */
    assert_span(&t, CM_VIEW_FOLDED, 1, 1, 6, 6);
    assert_span(&t, CM_VIEW_FOLDED, 7, 7, 23, 23);
}


static void
test_empty(void **state)
{
    size_t     v;
    cm_text_t  t;

    t = norm(state, "");

    for (v = 0; v < CM_VIEW_N; v++) {
        assert_int_equal(t.view[v].len, 0);
        assert_non_null(t.view[v].text);

        assert_span(&t, v, 0, 0, 0, 0);
    }

    t = norm(state, "\xe2\x80\x8b\xcc\x81 ");
    assert_int_equal(t.view[CM_VIEW_RAW].len, 6);
    assert_int_equal(t.view[CM_VIEW_FOLDED].len, 0);
    assert_int_equal(t.view[CM_VIEW_COMPACT].len, 0);
}


static void
test_idempotent(void **state)
{
    size_t      i;
    cm_text_t   t, again;
    char        folded[1024];

    static const char  *samples[] = {
        "𝐒𝐋𝐎𝐓 𝐆𝐀𝐂𝐎𝐑 sloooot", "s l o t  g a c o r", "a a a  b  c c c",
        "aaa b c", "x  y  z s l o t", "s s s", "a b", "sl0t g4c0r 4ku",
        "⒮⒧⒪⒯ ﷺ ǅ", "P͓̽U͓̽L͓̽A͓̽U͓̽", "  hati-hati  Rp 10.000  ", "a . b . c",
        "s-l-o-t g.a.c.o.r", "b  a a a  b", "q w e r t y u i o p",
    };

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        t = norm(state, samples[i]);

        assert_true(t.view[CM_VIEW_FOLDED].len < sizeof(folded));
        memcpy(folded, t.view[CM_VIEW_FOLDED].text,
               t.view[CM_VIEW_FOLDED].len);
        folded[t.view[CM_VIEW_FOLDED].len] = '\0';

        again = norm(state, folded);
        assert_view(&again, CM_VIEW_FOLDED, folded);
    }
}


static void
test_rule_word(void **state)
{
    cm_text_t  t;

    /* a word list entry and its disguises meet in the compact views */
    t = norm(state, "Slot-Gacor");
    assert_view(&t, CM_VIEW_COMPACT, "slotgacor");

    t = norm(state, "𝕤𝕝𝕠𝕥 𝕘𝕒𝕔𝕠𝕣");
    assert_view(&t, CM_VIEW_COMPACT, "slotgacor");

    t = norm(state, "s1ot_g4cor");
    assert_view(&t, CM_VIEW_COMPACT_DELEET, "siotgacor");
}


static void
test_expansion(void **state)
{
    size_t      i, n;
    cm_text_t   t;
    cm_alloc_t  a;
    char       *in;

    /* U+FDFA folds to 33 bytes */
    n = 2000;
    a = cm_test_alloc(state);
    in = cm_alloc(&a, 3 * n);
    assert_non_null(in);

    for (i = 0; i < n; i++) {
        memcpy(in + 3 * i, "\xef\xb7\xba", 3);
    }

    assert_int_equal(cm_normalize(in, 3 * n, &a, &t, NULL), CM_NORM_OK);
    assert_int_equal(t.view[CM_VIEW_FOLDED].len, 33 * n);
    assert_int_equal(t.view[CM_VIEW_FOLDED].src_end[33 * n - 1], 3 * n);
}


typedef struct {
    cm_arena_t  *arena;
    int          left;
} cm_test_failing_t;


static void *
cm_test_failing_alloc(void *data, size_t size)
{
    cm_alloc_t          a;
    cm_test_failing_t  *f = data;

    if (f->left-- <= 0) {
        return NULL;
    }

    a = cm_arena_allocator(f->arena);

    return cm_alloc(&a, size);
}


static void
test_no_memory(void **state)
{
    int                 n, ok;
    cm_text_t           t;
    cm_alloc_t          a;
    cm_norm_rc_e        rc;
    cm_test_failing_t   f;

    f.arena = *state;
    a.alloc = cm_test_failing_alloc;
    a.data = &f;
    ok = 0;

    for (n = 0; n < 64 && !ok; n++) {
        f.left = n;
        rc = cm_normalize("s l o t 4ku", 11, &a, &t, NULL);

        assert_true(rc == CM_NORM_OK || rc == CM_NORM_NO_MEMORY);
        ok = rc == CM_NORM_OK;
    }

    assert_true(ok);
    assert_true(n > 1);
    assert_view(&t, CM_VIEW_DELEET, "slot aku");
}


static void
test_unicode_tables(void **state)
{
    size_t           len;
    uint32_t         cp, back;
    unsigned char    buf[4];
    const char      *f;

    (void) state;

    assert_int_equal(cm_unicode_class('a'), CM_UCLASS_LETTER);
    assert_int_equal(cm_unicode_class('7'), CM_UCLASS_DIGIT);
    assert_int_equal(cm_unicode_class('\t'), CM_UCLASS_SPACE);
    assert_int_equal(cm_unicode_class('!'), CM_UCLASS_OTHER);
    assert_int_equal(cm_unicode_class(0x00e9), CM_UCLASS_LETTER);
    assert_int_equal(cm_unicode_class(0x0301), CM_UCLASS_MARK);
    assert_int_equal(cm_unicode_class(0x200b), CM_UCLASS_FORMAT);
    assert_int_equal(cm_unicode_class(0x00ad), CM_UCLASS_FORMAT);
    assert_int_equal(cm_unicode_class(0xfeff), CM_UCLASS_FORMAT);
    assert_int_equal(cm_unicode_class(0x3000), CM_UCLASS_SPACE);
    assert_int_equal(cm_unicode_class(0x1f602), CM_UCLASS_OTHER);
    assert_int_equal(cm_unicode_class(0x0663), CM_UCLASS_DIGIT);
    assert_int_equal(cm_unicode_class(0x4e00), CM_UCLASS_LETTER);
    assert_int_equal(cm_unicode_class(0x10ffff), CM_UCLASS_OTHER);

    assert_null(cm_unicode_fold('a', &len));
    assert_null(cm_unicode_fold(0x4e00, &len));

    f = cm_unicode_fold('Q', &len);
    assert_non_null(f);
    assert_int_equal(len, 1);
    assert_int_equal(f[0], 'q');

    f = cm_unicode_fold(0x1d412, &len);   /* MATHEMATICAL BOLD CAPITAL S */
    assert_non_null(f);
    assert_int_equal(len, 1);
    assert_int_equal(f[0], 's');

    for (cp = 0; cp <= 0x10ffff; cp += (cp < 0x800 ? 1 : 0x3f)) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        len = cm_utf8_encode(cp, buf);
        assert_int_equal(len, cm_utf8_length(cp));
        assert_int_equal(cm_utf8_decode(buf, len, &back), len);
        assert_int_equal(back, cp);

        if (len > 1) {
            assert_int_equal(cm_utf8_decode(buf, len - 1, &back), 0);
        }
    }
}


/*
 * Every disguise of the judol data set's obfuscation map ("𝕒" -> "a",
 * "【0】" -> "0") folds to its plain letter or digit.
 */

static char *
cm_test_json_string(char *p, char *out, size_t size)
{
    char      *last;
    unsigned   u, lo;

    last = out + size - 5;

    if (*p++ != '"') {
        return NULL;
    }

    while (*p != '"') {
        if (*p == '\0' || out >= last) {
            return NULL;
        }

        if (*p != '\\') {
            *out++ = *p++;
            continue;
        }

        p++;

        if (*p != 'u') {
            *out++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            p++;
            continue;
        }

        if (sscanf(p + 1, "%4x", &u) != 1) {
            return NULL;
        }

        p += 5;

        if (u >= 0xd800 && u <= 0xdbff && p[0] == '\\' && p[1] == 'u'
            && sscanf(p + 2, "%4x", &lo) == 1)
        {
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }

        out += cm_utf8_encode(u, (unsigned char *) out);
    }

    *out = '\0';

    return p + 1;
}


static void
test_obfuscation_mapping(void **state)
{
    FILE       *fp;
    char       *data, *p, key[256], value[256], expect[256];
    long        size;
    size_t      i, checked;
    cm_text_t   t;

    fp = fopen(CM_TEST_MAPPING, "rb");
    if (fp == NULL) {
        skip();
    }

    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    size = ftell(fp);
    assert_true(size > 0 && size < 1024 * 1024);
    rewind(fp);

    data = malloc(size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, size, fp), (size_t) size);
    data[size] = '\0';
    fclose(fp);

    checked = 0;
    p = strchr(data, '"');

    while (p != NULL) {
        p = cm_test_json_string(p, key, sizeof(key));
        assert_non_null(p);

        p = strchr(p, '"');
        assert_non_null(p);
        p = cm_test_json_string(p, value, sizeof(value));
        assert_non_null(p);

        p = strchr(p, '"');

        for (i = 0; value[i]; i++) {
            expect[i] = (value[i] >= 'A' && value[i] <= 'Z')
                        ? value[i] - 'A' + 'a' : value[i];
        }

        expect[i] = '\0';

        t = norm(state, key);
        assert_view(&t, CM_VIEW_COMPACT, expect);
        checked++;
    }

    free(data);

    assert_true(checked > 300);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_test(test_mathematical_letters),
        cm_test(test_combining_marks),
        cm_test(test_look_alikes),
        cm_test(test_letter_like_symbols),
        cm_test(test_spaced_letters),
        cm_test(test_spaced_letters_kept),
        cm_test(test_letter_runs),
        cm_test(test_invisible),
        cm_test(test_white_space),
        cm_test(test_deleet),
        cm_test(test_ham_survives),
        cm_test(test_invalid_utf8),
        cm_test(test_offsets),
        cm_test(test_empty),
        cm_test(test_idempotent),
        cm_test(test_rule_word),
        cm_test(test_expansion),
        cm_test(test_no_memory),
        cm_test(test_unicode_tables),
        cm_test(test_obfuscation_mapping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
