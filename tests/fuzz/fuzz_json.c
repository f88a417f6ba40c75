/*
 * Fuzzes the JSON parser: the invariants of every parse, and the round
 * trip: the fields written out as one flat object (their paths as keys,
 * every value a string, control bytes and quotes \u-escaped) parse to the
 * same fields.
 */

#include "cm_fuzz_body.h"


#define CM_FUZZ_TYPE  "application/json"


static void
cm_fuzz_json_string(cm_fuzz_buf_t *b, const char *s, size_t len)
{
    char           esc[7];
    size_t         i;
    unsigned char  c;

    cm_fuzz_put(b, "\"", 1);

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == '"' || c == '\\') {
            memcpy(esc, "\\u00", 4);
            esc[4] = "0123456789abcdef"[c >> 4];
            esc[5] = "0123456789ABCDEF"[c & 0xf];
            cm_fuzz_put(b, esc, 6);

        } else {
            cm_fuzz_put(b, &s[i], 1);
        }
    }

    cm_fuzz_put(b, "\"", 1);
}


static void
cm_fuzz_write(cm_fuzz_buf_t *b, const cm_fields_t *f, char *type,
    size_t size)
{
    size_t  i;

    snprintf(type, size, "application/json; charset=utf-8");
    cm_fuzz_puts(b, " {");

    for (i = 0; i < f->nfields; i++) {
        cm_fuzz_puts(b, i ? ",\n" : "");
        cm_fuzz_json_string(b, f->fields[i].name, f->fields[i].name_len);
        cm_fuzz_puts(b, ": ");
        cm_fuzz_json_string(b, f->fields[i].value, f->fields[i].value_len);
    }

    cm_fuzz_puts(b, "}\r\n");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return cm_fuzz_body(CM_FUZZ_TYPE, sizeof(CM_FUZZ_TYPE) - 1, data, size,
                        cm_fuzz_write);
}
