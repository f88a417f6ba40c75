/*
 * Live rule sets from Redis (see the header).
 *
 * Every NGX_HTTP_CM_LIVE_POLL ms a worker asks "GET <prefix>rules:active";
 * a version it does not run yet is fetched with HGETALL (the files of the
 * set, published by scripts/cm-rules) and compiled by a detached thread
 * that touches nothing of nginx's.  The timer sees the thread's result and
 * swaps it in; a set that does not compile is logged once and refused, the
 * last good set stays.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_live.h"
#include "ngx_http_comment_moderation_redis.h"
#include "ngx_http_comment_moderation_rules_bundle.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>


#define NGX_HTTP_CM_LIVE_POLL      500     /* ms */
#define NGX_HTTP_CM_LIVE_FILE      "file:"


typedef struct {
    ngx_int_t                                 version;
    char                                     *entry;
    cm_rules_bundle_t                         bundle;
    cm_rules_t                               *rules;    /* results */
    cm_engine_t                              *engine;
    char                                      err[512];
    ngx_msec_t                                took;
    int                                       done;     /* atomic */
} ngx_http_comment_moderation_live_job_t;


typedef struct {
    ngx_str_t                                 key_active;
    ngx_str_t                                 key_prefix;
    ngx_event_t                               timer;
    ngx_log_t                                *log;
    ngx_http_comment_moderation_redis_call_t *call;
    ngx_http_comment_moderation_live_job_t   *job;
    ngx_http_comment_moderation_live_set_t   *current;
    ngx_int_t                                 refused;  /* version */
} ngx_http_comment_moderation_live_t;


static void ngx_http_comment_moderation_live_poll(ngx_event_t *ev);
static void ngx_http_comment_moderation_live_active(void *data,
    redisReply *reply);
static void ngx_http_comment_moderation_live_fetched(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_live_start(ngx_int_t version,
    redisReply *reply);
static void *ngx_http_comment_moderation_live_compile(void *data);
static void ngx_http_comment_moderation_live_finish(void);
static void ngx_http_comment_moderation_live_job_free(
    ngx_http_comment_moderation_live_job_t *job);
static void ngx_http_comment_moderation_live_release(void *data);
static void *ngx_http_comment_moderation_live_drop(void *data);
static void ngx_http_comment_moderation_live_rearm(void);
static void ngx_http_comment_moderation_live_yield(void);
static void ngx_http_comment_moderation_live_pin(ngx_log_t *log);


static ngx_http_comment_moderation_live_t  ngx_http_comment_moderation_live;


ngx_int_t
ngx_http_comment_moderation_live_init_process(ngx_cycle_t *cycle,
    ngx_str_t *prefix)
{
    u_char                              *p;
    ngx_http_comment_moderation_live_t  *lv = &ngx_http_comment_moderation_live;

    ngx_memzero(lv, sizeof(ngx_http_comment_moderation_live_t));

    lv->log = cycle->log;

    ngx_http_comment_moderation_live_pin(cycle->log);

    /* "<prefix>rules:active" and "<prefix>rules:v:" */
    p = ngx_pnalloc(cycle->pool, 2 * prefix->len + sizeof("rules:active")
                                 + sizeof("rules:v:"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    lv->key_active.data = p;
    p = ngx_cpymem(p, prefix->data, prefix->len);
    p = ngx_cpymem(p, "rules:active", sizeof("rules:active") - 1);
    lv->key_active.len = p - lv->key_active.data;

    lv->key_prefix.data = p;
    p = ngx_cpymem(p, prefix->data, prefix->len);
    p = ngx_cpymem(p, "rules:v:", sizeof("rules:v:") - 1);
    lv->key_prefix.len = p - lv->key_prefix.data;

    lv->timer.handler = ngx_http_comment_moderation_live_poll;
    lv->timer.log = cycle->log;
    lv->timer.cancelable = 1;

    ngx_add_timer(&lv->timer, NGX_HTTP_CM_LIVE_POLL);

    return NGX_OK;
}


void
ngx_http_comment_moderation_live_exit_process(void)
{
    ngx_http_comment_moderation_live_t  *lv = &ngx_http_comment_moderation_live;

    if (lv->timer.timer_set) {
        ngx_del_timer(&lv->timer);
    }

    ngx_http_comment_moderation_redis_cancel(lv->call);
    lv->call = NULL;

    /* the worker's own hold on the set in use; no request is left */
    if (lv->current && --lv->current->refs == 0) {
        (void) ngx_http_comment_moderation_live_drop(lv->current);
    }

    lv->current = NULL;

    /* a compile still running owns its job; the process ends anyway */
    lv->job = NULL;
    lv->log = NULL;
}


/*
 * The compile and drop threads are detached: one may still run when the
 * worker exits, and the exit destroys the cycle's pool, whose cleanup
 * dlclose()s this module under the thread (SIGSEGV, seen in reload loops).
 * In a worker the module stays mapped until the process ends.
 */
static void
ngx_http_comment_moderation_live_pin(ngx_log_t *log)
{
    Dl_info  module, nginx;

    if (dladdr((void *) ngx_http_comment_moderation_live_compile, &module)
        == 0
        || dladdr((void *) &ngx_http_core_module, &nginx) == 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "comment moderation: dladdr() failed: %s", dlerror());
        return;
    }

    /* built into nginx: nothing to keep */
    if (module.dli_fbase == nginx.dli_fbase) {
        return;
    }

    /* loaded already: this only marks it not to be unloaded */
    if (dlopen(module.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)
        == NULL)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "comment moderation: dlopen(\"%s\", RTLD_NODELETE) "
                      "failed, a rule set compiling while the worker exits "
                      "may crash it: %s", module.dli_fname, dlerror());
    }
}


const cm_engine_t *
ngx_http_comment_moderation_live_engine(ngx_http_request_t *r,
    const cm_engine_t *files, ngx_int_t *version)
{
    ngx_pool_cleanup_t                      *cln;
    ngx_http_comment_moderation_live_set_t  *set;

    set = ngx_http_comment_moderation_live.current;

    if (set == NULL) {
        *version = 0;
        return files;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        *version = 0;
        return files;
    }

    cln->handler = ngx_http_comment_moderation_live_release;
    cln->data = set;
    set->refs++;

    *version = set->version;

    return set->engine;
}


/*
 * The last user of a set lets it go.  Freeing thousands of rules' regexes
 * takes milliseconds, so a detached thread does it, off the event loop
 * (here, if no thread can be started).
 */
static void
ngx_http_comment_moderation_live_release(void *data)
{
    ngx_http_comment_moderation_live_set_t  *set = data;

    pthread_t       tid;
    pthread_attr_t  attr;

    if (--set->refs) {
        return;
    }

    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

        if (pthread_create(&tid, &attr, ngx_http_comment_moderation_live_drop,
                           set)
            == 0)
        {
            pthread_attr_destroy(&attr);
            return;
        }

        pthread_attr_destroy(&attr);
    }

    (void) ngx_http_comment_moderation_live_drop(set);
}


/* Plain engine code and free(): nothing of nginx's state. */
static void *
ngx_http_comment_moderation_live_drop(void *data)
{
    ngx_http_comment_moderation_live_set_t  *set = data;

    ngx_http_comment_moderation_live_yield();

    cm_engine_free(set->engine);
    cm_rules_free(set->rules);
    ngx_free(set);

    return NULL;
}


static void
ngx_http_comment_moderation_live_rearm(void)
{
    ngx_http_comment_moderation_live_t  *lv = &ngx_http_comment_moderation_live;

    if (lv->log != NULL && !lv->timer.timer_set
        && !(ngx_exiting || ngx_quit || ngx_terminate))
    {
        ngx_add_timer(&lv->timer, NGX_HTTP_CM_LIVE_POLL);
    }
}


static void
ngx_http_comment_moderation_live_poll(ngx_event_t *ev)
{
    const char                          *argv[2];
    size_t                               argvlen[2];
    ngx_http_comment_moderation_live_t  *lv = &ngx_http_comment_moderation_live;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (lv->job != NULL) {
        if (__atomic_load_n(&lv->job->done, __ATOMIC_ACQUIRE)) {
            ngx_http_comment_moderation_live_finish();
        }

        ngx_http_comment_moderation_live_rearm();
        return;
    }

    if (lv->call == NULL) {
        argv[0] = "GET";
        argvlen[0] = 3;
        argv[1] = (char *) lv->key_active.data;
        argvlen[1] = lv->key_active.len;

        lv->call = ngx_http_comment_moderation_redis_send(2, argv, argvlen,
                                     ngx_http_comment_moderation_live_active,
                                     NULL, 0);
    }

    ngx_http_comment_moderation_live_rearm();
}


static void
ngx_http_comment_moderation_live_active(void *data, redisReply *reply)
{
    u_char                               key[NGX_INT_T_LEN + 64];
    ngx_int_t                            version;
    const char                          *argv[2];
    size_t                               argvlen[2];
    ngx_http_comment_moderation_live_t  *lv = &ngx_http_comment_moderation_live;

    lv->call = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        /* nothing published yet, or Redis away: the current set serves */
        return;
    }

    version = ngx_atoi((u_char *) reply->str, reply->len);

    if (version <= 0 || version == lv->refused
        || (lv->current && lv->current->version == version)
        || lv->key_prefix.len + NGX_INT_T_LEN > sizeof(key))
    {
        return;
    }

    argv[0] = "HGETALL";
    argvlen[0] = 7;
    argv[1] = (char *) key;
    argvlen[1] = ngx_sprintf(key, "%V%i", &lv->key_prefix, version) - key;

    lv->call = ngx_http_comment_moderation_redis_send(2, argv, argvlen,
                                    ngx_http_comment_moderation_live_fetched,
                                    (void *) (intptr_t) version, 0);
}


static void
ngx_http_comment_moderation_live_fetched(void *data, redisReply *reply)
{
    ngx_int_t                            version = (intptr_t) data;
    ngx_http_comment_moderation_live_t  *lv = &ngx_http_comment_moderation_live;

    lv->call = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0 || lv->job != NULL)
    {
        return;
    }

    if (ngx_http_comment_moderation_live_start(version, reply) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, lv->log, 0,
                      "comment moderation: cannot start compiling rule set "
                      "version %i", version);
    }
}


/* Copies the set out of the reply (freed after this) and starts the thread. */
static ngx_int_t
ngx_http_comment_moderation_live_start(ngx_int_t version, redisReply *reply)
{
    size_t                                   i, n, size, flen;
    u_char                                  *p;
    redisReply                              *k, *v;
    pthread_t                                tid;
    pthread_attr_t                           attr;
    cm_bundle_file_t                        *f;
    ngx_http_comment_moderation_live_t      *lv;
    ngx_http_comment_moderation_live_job_t  *job;

    lv = &ngx_http_comment_moderation_live;
    flen = sizeof(NGX_HTTP_CM_LIVE_FILE) - 1;

    size = sizeof(ngx_http_comment_moderation_live_job_t) + sizeof(".");
    n = 0;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        size += reply->element[i]->len + reply->element[i + 1]->len + 2;
        n++;
    }

    size += n * sizeof(cm_bundle_file_t);

    job = ngx_calloc(size, lv->log);
    if (job == NULL) {
        return NGX_ERROR;
    }

    job->version = version;
    job->bundle.files = (cm_bundle_file_t *) (job + 1);
    p = (u_char *) (job->bundle.files + n);
    job->entry = (char *) p;
    p = ngx_cpymem(p, ".", sizeof("."));

    for (i = 0; i + 1 < reply->elements; i += 2) {
        k = reply->element[i];
        v = reply->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        if (k->len == sizeof("@entry") - 1
            && ngx_strncmp(k->str, "@entry", k->len) == 0)
        {
            job->entry = (char *) p;
            p = ngx_cpymem(p, v->str, v->len);
            *p++ = '\0';
            continue;
        }

        if ((size_t) k->len <= flen
            || ngx_strncmp(k->str, NGX_HTTP_CM_LIVE_FILE, flen) != 0)
        {
            continue;
        }

        f = &job->bundle.files[job->bundle.nfiles++];
        f->name = (char *) p;
        f->name_len = k->len - flen;
        p = ngx_cpymem(p, k->str + flen, f->name_len);
        *p++ = '\0';
        f->text = (char *) p;
        f->len = v->len;
        p = ngx_cpymem(p, v->str, v->len);
        *p++ = '\0';
    }

    if (pthread_attr_init(&attr) != 0) {
        ngx_free(job);
        return NGX_ERROR;
    }

    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

    if (pthread_create(&tid, &attr, ngx_http_comment_moderation_live_compile,
                       job)
        != 0)
    {
        pthread_attr_destroy(&attr);
        ngx_free(job);
        return NGX_ERROR;
    }

    pthread_attr_destroy(&attr);
    lv->job = job;

    return NGX_OK;
}


/*
 * A compiling (or freeing) thread gives way to the worker's event loop: on a
 * machine with few cores, a thread of equal priority takes the core the
 * loop would have had, and requests wait tens of milliseconds for it.
 * Linux's nice applies to one thread when given its id.
 */
static void
ngx_http_comment_moderation_live_yield(void)
{
#if (NGX_LINUX)
    (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), 19);
#endif
}


/* In the compile thread: plain engine code, nothing of nginx. */
static void *
ngx_http_comment_moderation_live_compile(void *data)
{
    ngx_http_comment_moderation_live_job_t  *job = data;

    struct timespec    start, end;
    cm_rules_source_t  src;

    ngx_http_comment_moderation_live_yield();

    src = cm_rules_bundle_source(&job->bundle);

    clock_gettime(CLOCK_MONOTONIC, &start);

    job->rules = cm_rules_load(&src, job->entry, job->err, sizeof(job->err));

    if (job->rules != NULL) {
        job->engine = cm_engine_compile(job->rules, job->err,
                                        sizeof(job->err));
    }

    clock_gettime(CLOCK_MONOTONIC, &end);
    job->took = (end.tv_sec - start.tv_sec) * 1000
                + (end.tv_nsec - start.tv_nsec) / 1000000;

    __atomic_store_n(&job->done, 1, __ATOMIC_RELEASE);

    return NULL;
}


static void
ngx_http_comment_moderation_live_finish(void)
{
    ngx_http_comment_moderation_live_t      *lv;
    ngx_http_comment_moderation_live_job_t  *job;
    ngx_http_comment_moderation_live_set_t  *set, *old;

    lv = &ngx_http_comment_moderation_live;
    job = lv->job;
    lv->job = NULL;

    if (job->engine == NULL) {
        ngx_log_error(NGX_LOG_ERR, lv->log, 0,
                      "comment moderation: rule set version %i from redis "
                      "refused, the current set stays: %s",
                      job->version, job->err);
        lv->refused = job->version;
        ngx_http_comment_moderation_live_job_free(job);
        return;
    }

    set = ngx_alloc(sizeof(ngx_http_comment_moderation_live_set_t), lv->log);
    if (set == NULL) {
        ngx_http_comment_moderation_live_job_free(job);
        return;
    }

    set->rules = job->rules;
    set->engine = job->engine;
    set->version = job->version;
    set->refs = 1;

    ngx_log_error(NGX_LOG_NOTICE, lv->log, 0,
                  "comment moderation: rule set version %i from redis in "
                  "use: %uz rules, compiled in %M ms", set->version,
                  set->rules->nrules, job->took);

    old = lv->current;
    lv->current = set;

    if (old != NULL) {
        ngx_http_comment_moderation_live_release(old);
    }

    job->rules = NULL;
    job->engine = NULL;
    ngx_http_comment_moderation_live_job_free(job);
}


static void
ngx_http_comment_moderation_live_job_free(
    ngx_http_comment_moderation_live_job_t *job)
{
    if (job->engine != NULL) {
        cm_engine_free(job->engine);
    }

    if (job->rules != NULL) {
        cm_rules_free(job->rules);
    }

    ngx_free(job);
}
