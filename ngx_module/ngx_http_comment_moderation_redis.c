/*
 * hiredis's async API inside nginx's event loop.
 *
 * hiredis 0.14 (Debian 12) has no timeouts of its own, frees the context
 * after a failed connect or a disconnect (calling every pending callback
 * with a NULL reply), and reads at most 16 KiB per call.  So: every timeout
 * is an nginx timer; the request's side of a call is a separate, cancelable
 * struct that hiredis alone frees; events are level-triggered so a large
 * reply is never stranded; and nothing touches the context after handing
 * control to hiredis.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_redis.h"

#include <ngx_sha1.h>
#include <hiredis/async.h>


#define NGX_HTTP_CM_REDIS_BACKOFF_MIN  100      /* ms */
#define NGX_HTTP_CM_REDIS_BACKOFF_MAX  5000     /* ms */


typedef enum {
    NGX_HTTP_CM_REDIS_DISCONNECTED = 0,
    NGX_HTTP_CM_REDIS_CONNECTING,
    NGX_HTTP_CM_REDIS_CONNECTED
} ngx_http_comment_moderation_redis_state_e;


struct ngx_http_comment_moderation_redis_call_s {
    ngx_http_comment_moderation_redis_handler_pt  handler;
    void                                         *data;
    ngx_event_t                                   timer;
    ngx_http_comment_moderation_redis_script_t   *script;  /* EVALSHA */
    int                                           argc;
    const char                                  **argv;    /* copies, for */
    size_t                                       *argvlen; /* EVAL after NOSCRIPT */
    uint64_t                                      sent;    /* us */
    unsigned                                      done:1;  /* answered or
                                                              cancelled */
    unsigned                                      retried:1;
};


/* one connection per worker process */
typedef struct {
    ngx_http_comment_moderation_redis_conf_t  *conf;
    redisAsyncContext                         *ac;
    ngx_uint_t                                 state;
    ngx_event_t                                reconnect;
    ngx_event_t                                connect_timer;
    ngx_msec_t                                 backoff;
    ngx_uint_t                                 failures;   /* in a row */
    ngx_msec_t                                 open_until; /* circuit */
    ngx_uint_t                                 open;
    ngx_log_t                                 *log;
} ngx_http_comment_moderation_redis_t;


static void ngx_http_comment_moderation_redis_connect(void);
static void ngx_http_comment_moderation_redis_schedule(void);
static void ngx_http_comment_moderation_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_on_connect(
    const redisAsyncContext *ac, int status);
static void ngx_http_comment_moderation_redis_on_disconnect(
    const redisAsyncContext *ac, int status);
static void ngx_http_comment_moderation_redis_setup_reply(redisAsyncContext *ac,
    void *reply, void *data);
static void ngx_http_comment_moderation_redis_reply(redisAsyncContext *ac,
    void *reply, void *data);
static void ngx_http_comment_moderation_redis_timeout(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_failed(const char *what);
static void ngx_http_comment_moderation_redis_succeeded(void);
static ngx_int_t ngx_http_comment_moderation_redis_attach(
    redisAsyncContext *ac);
static void ngx_http_comment_moderation_redis_add_read(void *data);
static void ngx_http_comment_moderation_redis_del_read(void *data);
static void ngx_http_comment_moderation_redis_add_write(void *data);
static void ngx_http_comment_moderation_redis_del_write(void *data);
static void ngx_http_comment_moderation_redis_cleanup(void *data);
static void ngx_http_comment_moderation_redis_read_handler(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_write_handler(ngx_event_t *ev);
static ngx_http_comment_moderation_redis_call_t *
    ngx_http_comment_moderation_redis_call(int argc, const char **argv,
    const size_t *argvlen, ngx_http_comment_moderation_redis_handler_pt handler,
    void *data, ngx_uint_t keep_args, ngx_uint_t for_request);
static ngx_int_t ngx_http_comment_moderation_redis_issue(
    ngx_http_comment_moderation_redis_call_t *call, int argc,
    const char **argv, const size_t *argvlen);


static ngx_http_comment_moderation_redis_t  ngx_http_comment_moderation_redis;


ngx_int_t
ngx_http_comment_moderation_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_comment_moderation_redis_conf_t *rcf)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    ngx_memzero(rd, sizeof(ngx_http_comment_moderation_redis_t));

    rd->conf = rcf;
    rd->log = cycle->log;
    rd->backoff = NGX_HTTP_CM_REDIS_BACKOFF_MIN;

    rd->reconnect.handler = ngx_http_comment_moderation_redis_reconnect_handler;
    rd->reconnect.log = cycle->log;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_comment_moderation_redis_connect_timeout;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.cancelable = 1;

    ngx_http_comment_moderation_redis_connect();

    return NGX_OK;
}


void
ngx_http_comment_moderation_redis_exit_process(void)
{
    redisAsyncContext                    *ac;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf == NULL) {
        return;
    }

    rd->conf = NULL;    /* no reconnect from the callbacks that follow */

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    ac = rd->ac;
    rd->ac = NULL;

    if (ac != NULL) {
        /* calls every pending callback with NULL, then closes the socket */
        redisAsyncFree(ac);
    }
}


ngx_uint_t
ngx_http_comment_moderation_redis_available(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf == NULL || rd->state != NGX_HTTP_CM_REDIS_CONNECTED) {
        return 0;
    }

    if (rd->open) {
        /* half-open after open_time: let requests probe it again */
        if ((ngx_msec_int_t) (ngx_current_msec - rd->open_until) < 0) {
            return 0;
        }

        rd->open = 0;
        rd->failures = rd->conf->max_failures - 1;
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "comment moderation: redis %V circuit half-open",
                      &rd->conf->name);
    }

    return 1;
}


static void
ngx_http_comment_moderation_redis_connect(void)
{
    redisAsyncContext                         *ac;
    ngx_http_comment_moderation_redis_t       *rd;
    ngx_http_comment_moderation_redis_conf_t  *rcf;

    rd = &ngx_http_comment_moderation_redis;
    rcf = rd->conf;

    if (rcf->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) rcf->unix_path.data);

    } else {
        /* a numeric address: hiredis's getaddrinfo() does not block on it */
        ac = redisAsyncConnect((char *) rcf->host.data, (int) rcf->port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "comment moderation: redis %V: out of memory",
                      &rcf->name);
        ngx_http_comment_moderation_redis_schedule();
        return;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "comment moderation: redis %V: connect failed: %s",
                      &rcf->name, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_comment_moderation_redis_schedule();
        return;
    }

    if (ngx_http_comment_moderation_redis_attach(ac) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_http_comment_moderation_redis_schedule();
        return;
    }

    redisAsyncSetConnectCallback(ac,
                                 ngx_http_comment_moderation_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac,
                                  ngx_http_comment_moderation_redis_on_disconnect);

    rd->ac = ac;
    rd->state = NGX_HTTP_CM_REDIS_CONNECTING;

    ngx_add_timer(&rd->connect_timer, rcf->connect_timeout);
}


/* the next connect attempt, with exponential backoff and jitter */
static void
ngx_http_comment_moderation_redis_schedule(void)
{
    ngx_msec_t                            delay;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    rd->state = NGX_HTTP_CM_REDIS_DISCONNECTED;

    if (rd->conf == NULL || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    /* jitter: workers of many hosts must not reconnect in lockstep */
    delay = rd->backoff / 2 + (ngx_msec_t) ngx_random() % (rd->backoff / 2 + 1);

    rd->backoff *= 2;
    if (rd->backoff > NGX_HTTP_CM_REDIS_BACKOFF_MAX) {
        rd->backoff = NGX_HTTP_CM_REDIS_BACKOFF_MAX;
    }

    if (!rd->reconnect.timer_set) {
        ngx_add_timer(&rd->reconnect, delay);
    }
}


static void
ngx_http_comment_moderation_redis_reconnect_handler(ngx_event_t *ev)
{
    if (ngx_http_comment_moderation_redis.conf == NULL
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;
    }

    ngx_http_comment_moderation_redis_connect();
}


static void
ngx_http_comment_moderation_redis_connect_timeout(ngx_event_t *ev)
{
    redisAsyncContext                    *ac;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->state != NGX_HTTP_CM_REDIS_CONNECTING || rd->ac == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "comment moderation: redis %V: connect timed out",
                  &rd->conf->name);

    ac = rd->ac;
    rd->ac = NULL;

    /* a timer runs in the event loop, not in a hiredis callback: may free */
    redisAsyncFree(ac);

    ngx_http_comment_moderation_redis_schedule();
}


static void
ngx_http_comment_moderation_redis_on_connect(const redisAsyncContext *cac,
    int status)
{
    int                                        argc;
    char                                       db[NGX_INT_T_LEN + 1];
    const char                                *argv[2];
    size_t                                     argvlen[2];
    redisAsyncContext                         *ac = (redisAsyncContext *) cac;
    ngx_http_comment_moderation_redis_t       *rd;
    ngx_http_comment_moderation_redis_conf_t  *rcf;

    rd = &ngx_http_comment_moderation_redis;
    rcf = rd->conf;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback */
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "comment moderation: redis %V: connect failed: %s",
                      rcf ? &rcf->name : NULL, cac->errstr);
        rd->ac = NULL;
        ngx_http_comment_moderation_redis_schedule();
        return;
    }

    if (rcf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (char *) rcf->password.data;
        argvlen[1] = rcf->password.len;
        argc = 2;

        redisAsyncCommandArgv(ac, ngx_http_comment_moderation_redis_setup_reply,
                              (void *) "AUTH", argc, argv, argvlen);
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%ui", rcf->db) - (u_char *) db;

        redisAsyncCommandArgv(ac, ngx_http_comment_moderation_redis_setup_reply,
                              (void *) "SELECT", 2, argv, argvlen);
    }

    ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                  "comment moderation: redis %V connected", &rcf->name);

    rd->state = NGX_HTTP_CM_REDIS_CONNECTED;
    rd->backoff = NGX_HTTP_CM_REDIS_BACKOFF_MIN;
    rd->failures = 0;
    rd->open = 0;
}


static void
ngx_http_comment_moderation_redis_setup_reply(redisAsyncContext *ac,
    void *r, void *data)
{
    redisReply                           *reply = r;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "comment moderation: redis %V: %s failed: %s",
                  rd->conf ? &rd->conf->name : NULL, (char *) data,
                  reply ? reply->str : "no reply");

    /* a wrong password or database: the commands that follow would fail */
    if (reply != NULL) {
        redisAsyncDisconnect(ac);
    }
}


static void
ngx_http_comment_moderation_redis_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->ac == ac) {
        rd->ac = NULL;
    }

    if (rd->conf == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "comment moderation: redis %V: disconnected: %s",
                  &rd->conf->name, status == REDIS_OK ? "closed" : ac->errstr);

    ngx_http_comment_moderation_redis_schedule();
}


ngx_http_comment_moderation_redis_call_t *
ngx_http_comment_moderation_redis_send(int argc, const char **argv,
    const size_t *argvlen, ngx_http_comment_moderation_redis_handler_pt handler,
    void *data, ngx_uint_t for_request)
{
    ngx_http_comment_moderation_redis_call_t  *call;

    if (!ngx_http_comment_moderation_redis_available()) {
        return NULL;
    }

    call = ngx_http_comment_moderation_redis_call(argc, argv, argvlen,
                                                  handler, data, 0,
                                                  for_request);
    if (call == NULL) {
        return NULL;
    }

    if (ngx_http_comment_moderation_redis_issue(call, argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_free(call);
        return NULL;
    }

    return call;
}


ngx_http_comment_moderation_redis_call_t *
ngx_http_comment_moderation_redis_eval(
    ngx_http_comment_moderation_redis_script_t *script, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_comment_moderation_redis_handler_pt handler, void *data,
    ngx_uint_t for_request)
{
    ngx_http_comment_moderation_redis_call_t  *call;

    if (!ngx_http_comment_moderation_redis_available()) {
        return NULL;
    }

    /* argv[0] and [1] are filled here: EVALSHA sha1 | EVAL body */
    call = ngx_http_comment_moderation_redis_call(argc, argv, argvlen,
                                                  handler, data, 1,
                                                  for_request);
    if (call == NULL) {
        return NULL;
    }

    call->script = script;

    call->argv[0] = "EVALSHA";
    call->argvlen[0] = sizeof("EVALSHA") - 1;
    call->argv[1] = (char *) script->sha1;
    call->argvlen[1] = 40;

    if (ngx_http_comment_moderation_redis_issue(call, call->argc, call->argv,
                                                call->argvlen)
        != NGX_OK)
    {
        ngx_free(call);
        return NULL;
    }

    return call;
}


/*
 * A call lives in malloc'ed memory until hiredis calls back (always, at
 * the latest when the context is freed), whatever happened to the request.
 * For EVALSHA it keeps a copy of the arguments, to send EVAL on NOSCRIPT.
 */
static ngx_http_comment_moderation_redis_call_t *
ngx_http_comment_moderation_redis_call(int argc, const char **argv,
    const size_t *argvlen, ngx_http_comment_moderation_redis_handler_pt handler,
    void *data, ngx_uint_t keep_args, ngx_uint_t for_request)
{
    int                                        i;
    u_char                                    *p;
    size_t                                     size;
    ngx_http_comment_moderation_redis_call_t  *call;
    ngx_http_comment_moderation_redis_t       *rd;

    rd = &ngx_http_comment_moderation_redis;

    size = sizeof(ngx_http_comment_moderation_redis_call_t);

    if (keep_args) {
        size += argc * (sizeof(char *) + sizeof(size_t));
        for (i = 2; i < argc; i++) {
            size += argvlen[i];
        }
    }

    call = ngx_alloc(size, rd->log);
    if (call == NULL) {
        return NULL;
    }

    ngx_memzero(call, sizeof(ngx_http_comment_moderation_redis_call_t));

    call->handler = handler;
    call->data = data;
    call->timer.handler = ngx_http_comment_moderation_redis_timeout;
    call->timer.data = call;
    call->timer.log = rd->log;
    /* a worker leaving gracefully waits for the requests' calls */
    call->timer.cancelable = !for_request;

    if (keep_args) {
        call->argc = argc;
        call->argv = (const char **) (call + 1);
        call->argvlen = (size_t *) (call->argv + argc);
        p = (u_char *) (call->argvlen + argc);

        for (i = 2; i < argc; i++) {
            call->argv[i] = (char *) p;
            call->argvlen[i] = argvlen[i];
            p = ngx_cpymem(p, argv[i], argvlen[i]);
        }
    }

    return call;
}


static ngx_int_t
ngx_http_comment_moderation_redis_issue(
    ngx_http_comment_moderation_redis_call_t *call, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (redisAsyncCommandArgv(rd->ac, ngx_http_comment_moderation_redis_reply,
                              call, argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "comment moderation: redis %V: command not sent",
                      &rd->conf->name);
        return NGX_ERROR;
    }

    /* a call nobody waits for has no timeout: hiredis frees it */
    if (!call->done) {
        ngx_add_timer(&call->timer, rd->conf->timeout);
    }

    call->sent = ngx_http_comment_moderation_clock_us();

    return NGX_OK;
}


void
ngx_http_comment_moderation_redis_cancel(
    ngx_http_comment_moderation_redis_call_t *call)
{
    if (call == NULL || call->done) {
        return;
    }

    /* hiredis still owns the call: its callback frees it */
    call->done = 1;
    call->data = NULL;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }
}


static void
ngx_http_comment_moderation_redis_reply(redisAsyncContext *ac, void *r,
    void *data)
{
    redisReply                                *reply = r;
    ngx_http_comment_moderation_redis_call_t  *call = data;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }

    /*
     * After a Redis restart or SCRIPT FLUSH: send the body once.  Also when
     * nobody waits for the answer any more (a moderator who left while the
     * outcome of a release was being recorded): a script that was sent has
     * its effect whether Redis had it cached or not.
     */
    if (reply != NULL && call->script != NULL && !call->retried
        && reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        call->retried = 1;
        call->argv[0] = "EVAL";
        call->argvlen[0] = 4;
        call->argv[1] = (char *) call->script->body.data;
        call->argvlen[1] = call->script->body.len;

        if (ngx_http_comment_moderation_redis_issue(call, call->argc,
                                                    call->argv, call->argvlen)
            == NGX_OK)
        {
            return;
        }

        reply = NULL;
    }

    if (call->done) {
        ngx_free(call);
        return;
    }

    if (reply == NULL) {
        ngx_http_comment_moderation_redis_failed("no reply");

    } else if (reply->type == REDIS_REPLY_ERROR
               && (ngx_strncmp(reply->str, "LOADING", 7) == 0
                   || ngx_strncmp(reply->str, "READONLY", 8) == 0
                   || ngx_strncmp(reply->str, "BUSY", 4) == 0))
    {
        /* Redis is there but cannot serve us now: as good as down */
        ngx_http_comment_moderation_redis_failed(reply->str);
        reply = NULL;

    } else {
        ngx_http_comment_moderation_redis_succeeded();
        ngx_http_comment_moderation_observe(NGX_HTTP_CM_H_REDIS,
                          ngx_http_comment_moderation_clock_us() - call->sent);
    }

    call->done = 1;
    call->handler(call->data, reply);

    ngx_free(call);
}


static void
ngx_http_comment_moderation_redis_timeout(ngx_event_t *ev)
{
    ngx_http_comment_moderation_redis_call_t  *call = ev->data;

    /* the reply may still come: the hiredis callback frees the call then */
    call->done = 1;

    ngx_http_comment_moderation_redis_failed("timed out");

    call->handler(call->data, NULL);
    call->data = NULL;
}


static void
ngx_http_comment_moderation_redis_failed(const char *what)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf == NULL) {
        return;
    }

    rd->failures++;
    ngx_http_comment_moderation_count(NGX_HTTP_CM_M_REDIS_ERRORS);

    if (rd->open || rd->failures < rd->conf->max_failures) {
        return;
    }

    rd->open = 1;
    ngx_http_comment_moderation_count(NGX_HTTP_CM_M_CIRCUIT_OPENED);
    rd->open_until = ngx_current_msec + rd->conf->open_time;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "comment moderation: redis %V: %s, %ui failures in a row: "
                  "circuit open for %M ms", &rd->conf->name, what,
                  rd->failures, rd->conf->open_time);
}


static void
ngx_http_comment_moderation_redis_succeeded(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    rd->failures = 0;
}


/* --- the adapter: hiredis's socket as an nginx connection ---------------- */

static ngx_int_t
ngx_http_comment_moderation_redis_attach(redisAsyncContext *ac)
{
    ngx_connection_t                     *c;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = ac;
    c->read->handler = ngx_http_comment_moderation_redis_read_handler;
    c->write->handler = ngx_http_comment_moderation_redis_write_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_comment_moderation_redis_add_read;
    ac->ev.delRead = ngx_http_comment_moderation_redis_del_read;
    ac->ev.addWrite = ngx_http_comment_moderation_redis_add_write;
    ac->ev.delWrite = ngx_http_comment_moderation_redis_del_write;
    ac->ev.cleanup = ngx_http_comment_moderation_redis_cleanup;

    return NGX_OK;
}


/*
 * Level-triggered: hiredis reads at most 16 KiB per call, and an edge-
 * triggered epoll would not report the rest of a larger reply.
 */
static void
ngx_http_comment_moderation_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_comment_moderation_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_comment_moderation_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->write->active) {
        ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_comment_moderation_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis frees the context: give the nginx connection back (hiredis
   closes the socket itself) */
static void
ngx_http_comment_moderation_redis_cleanup(void *data)
{
    ngx_connection_t  *c = data;

    if (c == NULL) {
        return;
    }

    ngx_http_comment_moderation_redis_del_read(c);
    ngx_http_comment_moderation_redis_del_write(c);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->data = NULL;
    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


static void
ngx_http_comment_moderation_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    if (c->data != NULL) {
        /* may free the context (and so c): touch nothing afterwards */
        redisAsyncHandleRead(c->data);
    }
}


static void
ngx_http_comment_moderation_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    if (c->data != NULL) {
        redisAsyncHandleWrite(c->data);
    }
}


void
ngx_http_comment_moderation_redis_script_init(
    ngx_http_comment_moderation_redis_script_t *script, const char *body)
{
    u_char      digest[20];
    ngx_sha1_t  sha1;

    script->body.data = (u_char *) body;
    script->body.len = ngx_strlen(body);

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, script->body.data, script->body.len);
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(script->sha1, digest, 20);
    script->sha1[40] = '\0';
}


/* --- configuration -------------------------------------------------------- */

char *
ngx_http_comment_moderation_redis_parse(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf)
{
    ngx_str_t   *value, s;
    ngx_int_t    num;
    ngx_url_t    u;
    ngx_uint_t   i;
    ngx_msec_t  *msp;

    value = cf->args->elts;

    rcf->name = value[1];
    rcf->connect_timeout = 500;
    rcf->timeout = 200;
    rcf->max_failures = 3;
    rcf->open_time = 2000;

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        rcf->unix_path.len = value[1].len - 5;
        rcf->unix_path.data = ngx_pnalloc(cf->pool, rcf->unix_path.len + 1);
        if (rcf->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(rcf->unix_path.data, value[1].data + 5,
                    rcf->unix_path.len + 1);

    } else {
        /* names are resolved here, once: hiredis would block on them */
        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[1];
        u.default_port = 6379;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis address \"%V\"%s%s", &value[1],
                               u.err ? ": " : "", u.err ? u.err : "");
            return NGX_CONF_ERROR;
        }

        rcf->port = u.port;
        rcf->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        rcf->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                      rcf->host.data, NGX_SOCKADDR_STRLEN, 0);
        rcf->host.data[rcf->host.len] = '\0';
    }

    for (i = 2; i < cf->args->nelts; i++) {
        s = value[i];
        msp = NULL;

        if (ngx_strncmp(s.data, "password=", 9) == 0) {
            rcf->password.data = s.data + 9;
            rcf->password.len = s.len - 9;
            continue;
        }

        if (ngx_strncmp(s.data, "password_file=", 14) == 0) {
            if (ngx_http_comment_moderation_conf_file_line(cf, &s, 14,
                                                           &rcf->password)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(s.data, "db=", 3) == 0) {
            num = ngx_atoi(s.data + 3, s.len - 3);
            if (num == NGX_ERROR) {
                goto invalid;
            }

            rcf->db = num;
            continue;
        }

        if (ngx_strncmp(s.data, "failures=", 9) == 0) {
            num = ngx_atoi(s.data + 9, s.len - 9);
            if (num == NGX_ERROR || num == 0) {
                goto invalid;
            }

            rcf->max_failures = num;
            continue;
        }

        if (ngx_strncmp(s.data, "connect_timeout=", 16) == 0) {
            msp = &rcf->connect_timeout;
            s.data += 16;
            s.len -= 16;

        } else if (ngx_strncmp(s.data, "timeout=", 8) == 0) {
            msp = &rcf->timeout;
            s.data += 8;
            s.len -= 8;

        } else if (ngx_strncmp(s.data, "open_time=", 10) == 0) {
            msp = &rcf->open_time;
            s.data += 10;
            s.len -= 10;

        } else {
            goto invalid;
        }

        *msp = ngx_parse_time(&s, 0);
        if (*msp == (ngx_msec_t) NGX_ERROR || *msp == 0) {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}
