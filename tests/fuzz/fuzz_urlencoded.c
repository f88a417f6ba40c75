/*
 * Fuzzes the urlencoded parser: the invariants of every parse, and the
 * round trip: the fields written out again (some bytes %-escaped, spaces
 * as "+", empty pairs between them) parse to the same fields.
 */

#include "cm_fuzz_body.h"


#define CM_FUZZ_TYPE  "application/x-www-form-urlencoded"


static void
cm_fuzz_urlencode(cm_fuzz_buf_t *b, const char *s, size_t len)
{
    char           hex[4];
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == ' ') {
            cm_fuzz_put(b, "+", 1);

        } else if (c <= ' ' || c >= 0x7f || strchr("&=%+", c) != NULL
                   || i % 3 == 0)
        {
            hex[0] = '%';
            hex[1] = "0123456789ABCDEF"[c >> 4];
            hex[2] = "0123456789abcdef"[c & 0xf];
            cm_fuzz_put(b, hex, 3);

        } else {
            cm_fuzz_put(b, &s[i], 1);
        }
    }
}


static void
cm_fuzz_write(cm_fuzz_buf_t *b, const cm_fields_t *f, char *type,
    size_t size)
{
    size_t  i;

    snprintf(type, size, "Application/X-WWW-Form-Urlencoded; charset=UTF-8");

    for (i = 0; i < f->nfields; i++) {
        cm_fuzz_puts(b, i ? "&&" : "");
        cm_fuzz_urlencode(b, f->fields[i].name, f->fields[i].name_len);
        cm_fuzz_put(b, "=", 1);
        cm_fuzz_urlencode(b, f->fields[i].value, f->fields[i].value_len);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return cm_fuzz_body(CM_FUZZ_TYPE, sizeof(CM_FUZZ_TYPE) - 1, data, size,
                        cm_fuzz_write);
}
