/*
 * cm_rules_source_t over a bundle of files in memory (see the header).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_rules_bundle.h"


static const char *
cm_bundle_strip(const char *name, size_t *len)
{
    *len = strlen(name);

    /* the parser's paths are clean, but "./x" and "x" are one file */
    while (*len >= 2 && name[0] == '.' && name[1] == '/') {
        name += 2;
        *len -= 2;
    }

    if (*len == 1 && name[0] == '.') {
        *len = 0;
    }

    return name;
}


static char *
cm_bundle_read(void *data, const char *name, size_t *len)
{
    char                     *copy;
    size_t                    i, nlen;
    const cm_bundle_file_t   *f;
    const cm_rules_bundle_t  *b = data;

    name = cm_bundle_strip(name, &nlen);

    for (i = 0; i < b->nfiles; i++) {
        f = &b->files[i];

        if (f->name_len != nlen || memcmp(f->name, name, nlen) != 0) {
            continue;
        }

        copy = malloc(f->len + 1);
        if (copy == NULL) {
            return NULL;
        }

        memcpy(copy, f->text, f->len);
        copy[f->len] = '\0';
        *len = f->len;

        return copy;
    }

    errno = ENOENT;

    return NULL;
}


static int
cm_bundle_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


/* the "*.rules" files directly in directory "name" of the bundle */
static char **
cm_bundle_list_dir(void *data, const char *name)
{
    char                     **list;
    size_t                     i, n, dlen, rest;
    const char                *dir, *tail;
    const cm_bundle_file_t    *f;
    const cm_rules_bundle_t   *b = data;

    dir = cm_bundle_strip(name, &dlen);

    list = calloc(b->nfiles + 1, sizeof(char *));
    if (list == NULL) {
        return NULL;
    }

    n = 0;

    for (i = 0; i < b->nfiles; i++) {
        f = &b->files[i];

        if (dlen) {
            if (f->name_len <= dlen + 1 || memcmp(f->name, dir, dlen) != 0
                || f->name[dlen] != '/')
            {
                continue;
            }

            tail = f->name + dlen + 1;

        } else {
            tail = f->name;
        }

        rest = f->name_len - (size_t) (tail - f->name);

        if (rest <= 6 || tail[0] == '.' || memchr(tail, '/', rest) != NULL
            || memcmp(tail + rest - 6, ".rules", 6) != 0)
        {
            continue;
        }

        list[n] = strndup(tail, rest);
        if (list[n] == NULL) {
            goto failed;
        }

        n++;
    }

    if (n == 0) {
        /* not a directory of the bundle */
        free(list);
        return NULL;
    }

    qsort(list, n, sizeof(char *), cm_bundle_name_cmp);

    return list;

failed:

    for (i = 0; i < n; i++) {
        free(list[i]);
    }

    free(list);

    return NULL;
}


cm_rules_source_t
cm_rules_bundle_source(const cm_rules_bundle_t *bundle)
{
    cm_rules_source_t  src;

    src.read = cm_bundle_read;
    src.list_dir = cm_bundle_list_dir;
    src.data = (void *) bundle;

    return src;
}
