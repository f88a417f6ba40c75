/*
 * The local spool file (see the header).
 *
 * Record: "CM1 <nargs>\n" then each argument as "<length>\n<bytes>\n".
 *
 * Writers open the file, take a shared flock, check that the path still
 * names the file they opened (a drainer may have just renamed it), append
 * one record with one write(), fsync and close.  A worker drains a file by
 * renaming it to PATH.<pid>.draining first, so writers start a new one, then
 * reads it under an exclusive flock (which waits out writers that opened it
 * before the rename) and sends the records one by one, in order.  Files left
 * by a worker that died are taken over by the next one.  With replicas=, a
 * record leaves the file only once WAIT says the replicas have it too.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_spool.h"

#include <glob.h>
#include <sys/file.h>


#define NGX_HTTP_CM_SPOOL_TICK      250     /* ms between drain attempts: a
                                               held comment reaches Redis
                                               soon after it is back */
#define NGX_HTTP_CM_SPOOL_MAX_ARGS  64


typedef struct {
    ngx_str_t                                    path;
    ngx_http_comment_moderation_redis_script_t  *script;
    ngx_event_t                                  timer;
    ngx_log_t                                   *log;

    u_char                                      *data;   /* file drained */
    size_t                                       len;
    size_t                                       pos;    /* next record */
    size_t                                       next;   /* after it */
    u_char                                       name[NGX_MAX_PATH];
    ngx_http_comment_moderation_redis_call_t    *call;   /* in flight */
} ngx_http_comment_moderation_spool_t;


static void ngx_http_comment_moderation_spool_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_comment_moderation_spool_take(void);
static ngx_int_t ngx_http_comment_moderation_spool_load(u_char *name);
static void ngx_http_comment_moderation_spool_send(void);
static void ngx_http_comment_moderation_spool_sent(void *data,
    redisReply *reply);
static void ngx_http_comment_moderation_spool_replicated(void *data,
    redisReply *reply);
static void ngx_http_comment_moderation_spool_next(void);
static ngx_int_t ngx_http_comment_moderation_spool_parse(u_char *p,
    u_char *last, int *argc, const char **argv, size_t *argvlen,
    u_char **next);
static void ngx_http_comment_moderation_spool_done(void);
static void ngx_http_comment_moderation_spool_rearm(void);


static ngx_http_comment_moderation_spool_t  ngx_http_comment_moderation_spool;


ngx_int_t
ngx_http_comment_moderation_spool_append(ngx_str_t *path, int argc,
    const char **argv, const size_t *argvlen, ngx_log_t *log)
{
    int           i;
    u_char       *buf, *p;
    size_t        size;
    ssize_t       n;
    ngx_fd_t      fd;
    ngx_uint_t    tries;
    struct stat   opened, named;

    size = sizeof("CM1 \n") + NGX_INT_T_LEN;
    for (i = 2; i < argc; i++) {
        size += NGX_SIZE_T_LEN + 2 + argvlen[i];
    }

    buf = ngx_alloc(size, log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(buf, "CM1 %d\n", argc - 2);
    for (i = 2; i < argc; i++) {
        p = ngx_sprintf(p, "%uz\n", argvlen[i]);
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = '\n';
    }

    for (tries = 0; tries < 5; tries++) {
        fd = open((char *) path->data, O_WRONLY|O_APPEND|O_CREAT, 0600);
        if (fd == NGX_INVALID_FILE) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "comment moderation: cannot open spool \"%V\"", path);
            break;
        }

        if (flock(fd, LOCK_SH) == -1
            || fstat(fd, &opened) == -1
            || stat((char *) path->data, &named) == -1
            || opened.st_ino != named.st_ino
            || opened.st_dev != named.st_dev)
        {
            /* renamed by a drainer between open() and flock(): again */
            close(fd);
            continue;
        }

        n = write(fd, buf, p - buf);

        if (n != p - buf || fsync(fd) == -1) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "comment moderation: cannot write spool \"%V\"",
                          path);
            close(fd);
            break;
        }

        close(fd);
        ngx_free(buf);
        ngx_http_comment_moderation_count(NGX_HTTP_CM_M_SPOOLED);

        return NGX_OK;
    }

    ngx_free(buf);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_comment_moderation_spool_init_process(ngx_cycle_t *cycle,
    ngx_str_t *path, ngx_http_comment_moderation_redis_script_t *script)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    ngx_memzero(sp, sizeof(ngx_http_comment_moderation_spool_t));

    sp->path = *path;
    sp->script = script;
    sp->log = cycle->log;

    sp->timer.handler = ngx_http_comment_moderation_spool_tick;
    sp->timer.log = cycle->log;
    sp->timer.cancelable = 1;

    ngx_add_timer(&sp->timer, NGX_HTTP_CM_SPOOL_TICK);

    return NGX_OK;
}


void
ngx_http_comment_moderation_spool_exit_process(void)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    if (sp->timer.timer_set) {
        ngx_del_timer(&sp->timer);
    }

    /* what was not confirmed stays in the .draining file for the next worker */
    ngx_http_comment_moderation_redis_cancel(sp->call);
    sp->call = NULL;

    if (sp->data) {
        ngx_free(sp->data);
        sp->data = NULL;
    }

    sp->path.len = 0;
}


static void
ngx_http_comment_moderation_spool_tick(ngx_event_t *ev)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (sp->call == NULL && ngx_http_comment_moderation_redis_available()) {
        if (sp->data != NULL
            || ngx_http_comment_moderation_spool_take() == NGX_OK)
        {
            ngx_http_comment_moderation_spool_send();
            return;
        }
    }

    ngx_http_comment_moderation_spool_rearm();
}


static void
ngx_http_comment_moderation_spool_rearm(void)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    if (sp->path.len && !sp->timer.timer_set
        && !(ngx_exiting || ngx_quit || ngx_terminate))
    {
        ngx_add_timer(&sp->timer, NGX_HTTP_CM_SPOOL_TICK);
    }
}


/* Claims a file to drain: one a dead worker left, else the live spool. */
static ngx_int_t
ngx_http_comment_moderation_spool_take(void)
{
    u_char                               *dot;
    size_t                                i;
    glob_t                                g;
    ngx_pid_t                             pid;
    u_char                                pattern[NGX_MAX_PATH];
    ngx_http_comment_moderation_spool_t  *sp;

    sp = &ngx_http_comment_moderation_spool;

    ngx_snprintf(sp->name, sizeof(sp->name) - 1, "%V.%P.draining%Z",
                 &sp->path, ngx_pid);
    ngx_snprintf(pattern, sizeof(pattern) - 1, "%V.*.draining%Z", &sp->path);

    if (glob((char *) pattern, 0, NULL, &g) == 0) {
        for (i = 0; i < g.gl_pathc; i++) {
            dot = (u_char *) g.gl_pathv[i] + sp->path.len + 1;
            pid = ngx_atoi(dot, ngx_strlen(dot) - sizeof(".draining") + 1);

            if (pid != NGX_ERROR && pid != ngx_pid
                && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH))
            {
                continue;   /* a live worker drains it */
            }

            if (rename(g.gl_pathv[i], (char *) sp->name) == 0) {
                globfree(&g);
                return ngx_http_comment_moderation_spool_load(sp->name);
            }
        }

        globfree(&g);
    }

    if (rename((char *) sp->path.data, (char *) sp->name) == -1) {
        if (ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                          "comment moderation: cannot rename spool \"%V\"",
                          &sp->path);
        }

        return NGX_DECLINED;
    }

    return ngx_http_comment_moderation_spool_load(sp->name);
}


static ngx_int_t
ngx_http_comment_moderation_spool_load(u_char *name)
{
    ssize_t                               n;
    ngx_fd_t                              fd;
    ngx_file_info_t                       fi;
    ngx_http_comment_moderation_spool_t  *sp;

    sp = &ngx_http_comment_moderation_spool;

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "comment moderation: cannot open \"%s\"", name);
        return NGX_ERROR;
    }

    /* writers that opened it before the rename finish first */
    if (flock(fd, LOCK_EX|LOCK_NB) == -1 || ngx_fd_info(fd, &fi) == -1) {
        ngx_close_file(fd);
        return NGX_DECLINED;
    }

    sp->len = ngx_file_size(&fi);
    sp->data = ngx_alloc(sp->len + 1, sp->log);

    if (sp->data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = read(fd, sp->data, sp->len);
    ngx_close_file(fd);

    if (n != (ssize_t) sp->len) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "comment moderation: short read of \"%s\"", name);
        ngx_free(sp->data);
        sp->data = NULL;
        return NGX_ERROR;
    }

    sp->pos = 0;

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "comment moderation: moving spool \"%s\" (%uz bytes) "
                  "into redis", name, sp->len);

    return NGX_OK;
}


static void
ngx_http_comment_moderation_spool_send(void)
{
    int                                   argc;
    u_char                               *next;
    size_t                                argvlen[NGX_HTTP_CM_SPOOL_MAX_ARGS];
    const char                           *argv[NGX_HTTP_CM_SPOOL_MAX_ARGS];
    ngx_http_comment_moderation_spool_t  *sp;

    sp = &ngx_http_comment_moderation_spool;

    while (sp->pos < sp->len) {
        if (ngx_http_comment_moderation_spool_parse(sp->data + sp->pos,
                                                    sp->data + sp->len,
                                                    &argc, argv, argvlen,
                                                    &next)
            != NGX_OK)
        {
            /* a record torn by a crash was never confirmed to a client */
            ngx_log_error(NGX_LOG_ERR, sp->log, 0,
                          "comment moderation: spool \"%s\": broken record "
                          "at offset %uz skipped", sp->name, sp->pos);
            break;
        }

        sp->next = next - sp->data;

        sp->call = ngx_http_comment_moderation_redis_eval(sp->script, argc,
                                         argv, argvlen,
                                         ngx_http_comment_moderation_spool_sent,
                                         NULL, 0);
        if (sp->call == NULL) {
            ngx_http_comment_moderation_spool_rearm();
        }

        return;
    }

    ngx_http_comment_moderation_spool_done();
    ngx_http_comment_moderation_spool_rearm();
}


static void
ngx_http_comment_moderation_spool_sent(void *data, redisReply *reply)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    sp->call = NULL;

    if (reply == NULL) {
        /* Redis went away again: resume from this record later */
        ngx_http_comment_moderation_spool_rearm();
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, 0,
                      "comment moderation: spool \"%s\": record at offset %uz "
                      "refused by redis: %s; kept in the file",
                      sp->name, sp->pos, reply->str);
        ngx_http_comment_moderation_spool_rearm();
        return;
    }

    /* a record leaves the file once the replicas have it too */
    sp->call = ngx_http_comment_moderation_redis_wait(
                   ngx_http_comment_moderation_spool_replicated, NULL, 0);

    if (sp->call != NULL) {
        return;
    }

    if (ngx_http_comment_moderation_redis_replicas()) {
        ngx_http_comment_moderation_spool_rearm();
        return;
    }

    ngx_http_comment_moderation_spool_next();
}


static void
ngx_http_comment_moderation_spool_replicated(void *data, redisReply *reply)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    sp->call = NULL;

    /* not on enough replicas: the record is sent again later (store.lua
       keeps a comment once) */
    if (!ngx_http_comment_moderation_redis_replicated(reply)) {
        ngx_http_comment_moderation_spool_rearm();
        return;
    }

    ngx_http_comment_moderation_spool_next();
}


static void
ngx_http_comment_moderation_spool_next(void)
{
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    sp->pos = sp->next;
    ngx_http_comment_moderation_count(NGX_HTTP_CM_M_UNSPOOLED);

    ngx_http_comment_moderation_spool_send();
}


/* Everything confirmed: the file goes. */
static void
ngx_http_comment_moderation_spool_done(void)
{
    u_char                                broken[NGX_MAX_PATH];
    ngx_http_comment_moderation_spool_t  *sp = &ngx_http_comment_moderation_spool;

    if (sp->data == NULL) {
        return;
    }

    if (sp->pos >= sp->len) {
        if (ngx_delete_file(sp->name) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                          "comment moderation: cannot delete \"%s\"", sp->name);
        }

    } else {
        /* keep what could not be read, for a person to look at */
        ngx_snprintf(broken, sizeof(broken) - 1, "%V.%P.broken%Z",
                     &sp->path, ngx_pid);

        if (ngx_rename_file(sp->name, broken) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                          "comment moderation: cannot rename \"%s\"",
                          sp->name);
        }

        ngx_log_error(NGX_LOG_ALERT, sp->log, 0,
                      "comment moderation: spool records from offset %uz "
                      "kept in \"%s\"", sp->pos, broken);
    }

    ngx_free(sp->data);
    sp->data = NULL;
}


static ngx_int_t
ngx_http_comment_moderation_spool_parse(u_char *p, u_char *last, int *argc,
    const char **argv, size_t *argvlen, u_char **next)
{
    u_char     *nl;
    ngx_int_t   n, len, i;

    if (last - p < 6 || ngx_strncmp(p, "CM1 ", 4) != 0) {
        return NGX_ERROR;
    }

    p += 4;
    nl = ngx_strlchr(p, last, '\n');
    if (nl == NULL) {
        return NGX_ERROR;
    }

    n = ngx_atoi(p, nl - p);
    if (n == NGX_ERROR || n + 2 > NGX_HTTP_CM_SPOOL_MAX_ARGS) {
        return NGX_ERROR;
    }

    p = nl + 1;

    for (i = 0; i < n; i++) {
        nl = ngx_strlchr(p, last, '\n');
        if (nl == NULL) {
            return NGX_ERROR;
        }

        len = ngx_atoi(p, nl - p);
        if (len == NGX_ERROR || last - (nl + 1) < len + 1
            || nl[1 + len] != '\n')
        {
            return NGX_ERROR;
        }

        argv[i + 2] = (char *) nl + 1;
        argvlen[i + 2] = len;
        p = nl + 1 + len + 1;
    }

    *argc = n + 2;
    *next = p;

    return NGX_OK;
}
