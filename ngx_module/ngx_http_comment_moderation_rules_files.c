/*
 * Where rule files come from when they are files: cm_rules_source_files
 * (open/read, and the sorted "*.rules" of a directory), and the path names
 * that includes and words-files are joined into.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_http_comment_moderation_rules_syntax.h"


#define CM_RULES_MAX_SIZE  (16 * 1024 * 1024)


static char *
cm_files_read(void *data, const char *name, size_t *len)
{
    int          fd, err;
    char        *buf, *nbuf;
    size_t       size, used;
    ssize_t      n;
    struct stat  sb;

    (void) data;

    fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        return NULL;
    }

    buf = NULL;
    used = 0;

    if (fstat(fd, &sb) == -1) {
        goto failed;
    }

    if (S_ISDIR(sb.st_mode)) {
        errno = EISDIR;
        goto failed;
    }

    /* the size is a hint: the file may change while it is read */
    size = (sb.st_size > 0 && sb.st_size < CM_RULES_MAX_SIZE)
           ? (size_t) sb.st_size + 1 : 4096;

    buf = malloc(size);
    if (buf == NULL) {
        goto failed;
    }

    for ( ;; ) {
        if (used == size) {
            if (size >= CM_RULES_MAX_SIZE) {
                errno = EFBIG;
                goto failed;
            }

            size *= 2;
            nbuf = realloc(buf, size);
            if (nbuf == NULL) {
                goto failed;
            }

            buf = nbuf;
        }

        n = read(fd, buf + used, size - used);

        if (n == 0) {
            break;
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            goto failed;
        }

        used += (size_t) n;
    }

    close(fd);
    *len = used;

    return buf;

failed:

    err = errno;
    free(buf);
    close(fd);
    errno = err;

    return NULL;
}


static int
cm_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static int
cm_is_rules_file(DIR *dir, const char *name)
{
    size_t       len;
    struct stat  sb;

    len = strlen(name);

    /* dot files: editor backups and lock files such as ".#judol.rules" */
    if (name[0] == '.' || len <= 6 || strcmp(name + len - 6, ".rules") != 0) {
        return 0;
    }

    /* a broken link stays in: reading it reports the problem */
    return fstatat(dirfd(dir), name, &sb, 0) == -1 || !S_ISDIR(sb.st_mode);
}


static char **
cm_files_list_dir(void *data, const char *name)
{
    DIR            *dir;
    char          **list, **nlist;
    size_t          n, nalloc, i;
    struct dirent  *de;

    (void) data;

    dir = opendir(name);
    if (dir == NULL) {
        return NULL;
    }

    list = NULL;
    n = 0;
    nalloc = 0;

    for ( ;; ) {
        /* room for one more name and the NULL at the end */
        nlist = cm_rules_grow(list, n + 1, &nalloc, sizeof(char *));
        if (nlist == NULL) {
            goto failed;
        }

        list = nlist;

        de = readdir(dir);
        if (de == NULL) {
            break;
        }

        if (!cm_is_rules_file(dir, de->d_name)) {
            continue;
        }

        list[n] = strdup(de->d_name);
        if (list[n] == NULL) {
            goto failed;
        }

        n++;
    }

    closedir(dir);

    qsort(list, n, sizeof(char *), cm_name_cmp);
    list[n] = NULL;

    return list;

failed:

    for (i = 0; i < n; i++) {
        free(list[i]);
    }

    free(list);
    closedir(dir);
    errno = ENOMEM;

    return NULL;
}


const cm_rules_source_t  cm_rules_source_files = {
    cm_files_read,
    cm_files_list_dir,
    NULL
};


/* Drops "." and empty segments and folds "dir/.." in place. */
void
cm_rules_path_clean(char *path)
{
    int      absolute;
    char    *r, *w, *seg, *last;
    size_t   len;

    absolute = (path[0] == '/');
    r = path;
    w = path + absolute;

    while (*r != '\0') {
        while (*r == '/') {
            r++;
        }

        seg = r;

        while (*r != '\0' && *r != '/') {
            r++;
        }

        len = (size_t) (r - seg);

        if (len == 0 || (len == 1 && seg[0] == '.')) {
            continue;
        }

        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            last = w;

            while (last > path + absolute && last[-1] != '/') {
                last--;
            }

            if (w > path + absolute
                && !(w - last == 2 && last[0] == '.' && last[1] == '.'))
            {
                w = (last > path + absolute) ? last - 1 : last;
                continue;
            }

            if (absolute) {
                continue;
            }
        }

        if (w > path + absolute) {
            *w++ = '/';
        }

        memmove(w, seg, len);
        w += len;
    }

    if (w == path) {
        *w++ = '.';
    }

    *w = '\0';
}


/*
 * "name" relative to the first "dir_len" bytes of "dir" (a directory, or a
 * file whose directory is meant when dir_len stops after its last slash).
 */
char *
cm_rules_path_join(const char *dir, size_t dir_len, const char *name,
    size_t len)
{
    char    *path;
    size_t   n;

    if (len > 0 && name[0] == '/') {
        dir_len = 0;
    }

    path = malloc(dir_len + 1 + len + 1);
    if (path == NULL) {
        return NULL;
    }

    memcpy(path, dir, dir_len);
    n = dir_len;

    if (n > 0) {
        path[n++] = '/';
    }

    memcpy(path + n, name, len);
    path[n + len] = '\0';

    cm_rules_path_clean(path);

    return path;
}


/* "rules/a.rules": 5 ("rules"), "/a.rules": 1 ("/"), "a.rules": 0 */
size_t
cm_rules_path_dir_len(const char *file)
{
    const char  *slash;

    slash = strrchr(file, '/');

    return slash == NULL ? 0 : (size_t) (slash - file) + (slash == file);
}
