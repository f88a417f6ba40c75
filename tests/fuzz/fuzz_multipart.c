/*
 * Fuzzes the multipart parser: the input's first line is the Content-Type's
 * boundary parameter (quoted or not), the rest the body.  Checks the
 * invariants of every parse, and the round trip: the fields written out
 * again with a boundary none of them holds parse to the same fields (file
 * parts come back as empty values).
 */

#include "cm_fuzz_body.h"


#define CM_FUZZ_TYPE  "multipart/form-data; boundary="


/* A boundary that no value holds. */
static void
cm_fuzz_boundary(const cm_fields_t *f, char *bnd, size_t size)
{
    size_t  i, n, len;

    for (n = 0; /* void */ ; n++) {
        len = (size_t) snprintf(bnd, size, "--cmfuzz%zu", n);

        for (i = 0; i < f->nfields; i++) {
            if (memmem(f->fields[i].value, f->fields[i].value_len, bnd, len)
                != NULL)
            {
                break;
            }
        }

        if (i == f->nfields) {
            memmove(bnd, bnd + 2, len - 1);
            return;
        }
    }
}


static void
cm_fuzz_write(cm_fuzz_buf_t *b, const cm_fields_t *f, char *type,
    size_t size)
{
    char               bnd[32];
    size_t             i, k;
    const cm_field_t  *field;

    cm_fuzz_boundary(f, bnd, sizeof(bnd));
    snprintf(type, size, "multipart/form-data; boundary=\"%s\"", bnd);

    cm_fuzz_puts(b, "preamble\r\n");

    for (i = 0; i < f->nfields; i++) {
        field = &f->fields[i];

        cm_fuzz_puts(b, "--");
        cm_fuzz_puts(b, bnd);
        cm_fuzz_puts(b, "\r\nContent-Disposition: form-data; name=\"");

        for (k = 0; k < field->name_len; k++) {
            if (field->name[k] == '"' || field->name[k] == '\\') {
                cm_fuzz_put(b, "\\", 1);
            }

            cm_fuzz_put(b, &field->name[k], 1);
        }

        cm_fuzz_puts(b, "\"\r\nContent-Type: text/plain\r\n\r\n");
        cm_fuzz_put(b, field->value, field->value_len);
        cm_fuzz_puts(b, "\r\n");
    }

    cm_fuzz_puts(b, "--");
    cm_fuzz_puts(b, bnd);
    cm_fuzz_puts(b, "--\r\nepilogue");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            type[sizeof(CM_FUZZ_TYPE) + 256];
    size_t          line;
    const uint8_t  *nl;

    nl = memchr(data, '\n', size < 256 ? size : 256);
    if (nl == NULL) {
        return 0;
    }

    line = (size_t) (nl - data);

    memcpy(type, CM_FUZZ_TYPE, sizeof(CM_FUZZ_TYPE) - 1);
    memcpy(type + sizeof(CM_FUZZ_TYPE) - 1, data, line);

    return cm_fuzz_body(type, sizeof(CM_FUZZ_TYPE) - 1 + line, nl + 1,
                        size - line - 1, cm_fuzz_write);
}
