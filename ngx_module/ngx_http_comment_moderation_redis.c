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
#define NGX_HTTP_CM_SENTINEL_VERIFY    1000     /* ms between questions */


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

    /* Sentinel: where the master is, and the question in flight */
    redisAsyncContext                         *sac;
    ngx_http_comment_moderation_redis_addr_t  *asked;
    ngx_event_t                                sentinel_timer;
    ngx_event_t                                verify;
    ngx_uint_t                                 sentinel_next;
    ngx_uint_t                                 sentinel_tries;
    u_char                                     master_host[NGX_SOCKADDR_STRLEN
                                                           + 1];
    ngx_uint_t                                 master_port;

    /* replicas= went unmet: requests do not WAIT until the spool's probe,
       once a second, finds them back */
    ngx_uint_t                                 unreplicated;
    ngx_msec_t                                 probed;
} ngx_http_comment_moderation_redis_t;


static void ngx_http_comment_moderation_redis_connect(void);
static void ngx_http_comment_moderation_redis_open(const char *host,
    ngx_uint_t port);
static void ngx_http_comment_moderation_redis_connected(void);
static void ngx_http_comment_moderation_redis_drop(void);
static void ngx_http_comment_moderation_redis_role_reply(
    redisAsyncContext *ac, void *reply, void *data);
static void ngx_http_comment_moderation_redis_sentinel_ask(void);
static void ngx_http_comment_moderation_redis_sentinel_reply(
    redisAsyncContext *ac, void *reply, void *data);
static void ngx_http_comment_moderation_redis_sentinel_found(u_char *host,
    ngx_uint_t port);
static void ngx_http_comment_moderation_redis_sentinel_timeout(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_verify_handler(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_verify_later(void);
static void ngx_http_comment_moderation_redis_suspect(void);
static void ngx_http_comment_moderation_redis_schedule(void);
static void ngx_http_comment_moderation_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_comment_moderation_redis_on_connect(
    const redisAsyncContext *ac, int status);
static void ngx_http_comment_moderation_redis_on_disconnect(
    const redisAsyncContext *ac, int status);
static void ngx_http_comment_moderation_redis_auth(redisAsyncContext *ac,
    ngx_str_t *password, redisCallbackFn *fn);
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

    /* a worker starts closed, whatever the one it replaces left */
    ngx_http_comment_moderation_metrics_circuit(0);

    rd->reconnect.handler = ngx_http_comment_moderation_redis_reconnect_handler;
    rd->reconnect.log = cycle->log;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_comment_moderation_redis_connect_timeout;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.cancelable = 1;

    rd->sentinel_timer.handler =
                          ngx_http_comment_moderation_redis_sentinel_timeout;
    rd->sentinel_timer.log = cycle->log;
    rd->sentinel_timer.cancelable = 1;

    rd->verify.handler = ngx_http_comment_moderation_redis_verify_handler;
    rd->verify.log = cycle->log;
    rd->verify.cancelable = 1;

    /* workers ask the sentinels in different orders */
    if (rcf->sentinels != NULL) {
        rd->sentinel_next = ngx_random() % rcf->sentinels->nelts;
    }

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

    if (rd->sentinel_timer.timer_set) {
        ngx_del_timer(&rd->sentinel_timer);
    }

    if (rd->verify.timer_set) {
        ngx_del_timer(&rd->verify);
    }

    ac = rd->sac;
    rd->sac = NULL;

    if (ac != NULL) {
        redisAsyncFree(ac);
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
        ngx_http_comment_moderation_metrics_circuit(0);
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
    ngx_http_comment_moderation_redis_t       *rd;
    ngx_http_comment_moderation_redis_conf_t  *rcf;

    rd = &ngx_http_comment_moderation_redis;
    rcf = rd->conf;

    rd->state = NGX_HTTP_CM_REDIS_CONNECTING;

    if (rcf->sentinels != NULL) {
        /* a question already in flight answers this connect too */
        if (rd->sac == NULL) {
            rd->sentinel_tries = 0;
            ngx_http_comment_moderation_redis_sentinel_ask();
        }

        return;
    }

    if (rcf->unix_path.len) {
        ngx_http_comment_moderation_redis_open((char *) rcf->unix_path.data, 0);
        return;
    }

    ngx_http_comment_moderation_redis_open((char *) rcf->host.data, rcf->port);
}


/* port 0: host is a unix socket's path */
static void
ngx_http_comment_moderation_redis_open(const char *host, ngx_uint_t port)
{
    redisAsyncContext                         *ac;
    ngx_http_comment_moderation_redis_t       *rd;
    ngx_http_comment_moderation_redis_conf_t  *rcf;

    rd = &ngx_http_comment_moderation_redis;
    rcf = rd->conf;

    if (port == 0) {
        ac = redisAsyncConnectUnix(host);

    } else {
        /* a numeric address: hiredis's getaddrinfo() does not block on it */
        ac = redisAsyncConnect(host, (int) port);
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
        ngx_http_comment_moderation_redis_auth(ac, &rcf->password,
                              ngx_http_comment_moderation_redis_setup_reply);
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%ui", rcf->db) - (u_char *) db;

        redisAsyncCommandArgv(ac, ngx_http_comment_moderation_redis_setup_reply,
                              (void *) "SELECT", 2, argv, argvlen);
    }

    if (rcf->sentinels == NULL) {
        ngx_http_comment_moderation_redis_connected();
        return;
    }

    /* a sentinel's word may be stale: never write to a replica */
    argv[0] = "ROLE";
    argvlen[0] = 4;

    redisAsyncCommandArgv(ac, ngx_http_comment_moderation_redis_role_reply,
                          NULL, 1, argv, argvlen);

    ngx_add_timer(&rd->connect_timer, rcf->timeout);
}


static void
ngx_http_comment_moderation_redis_connected(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf->sentinels != NULL) {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "comment moderation: redis %V connected to the master "
                      "at %s:%ui", &rd->conf->name, rd->master_host,
                      rd->master_port);
        ngx_http_comment_moderation_metrics_master(rd->master_host,
                                                   rd->master_port);
        ngx_http_comment_moderation_redis_verify_later();

    } else {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "comment moderation: redis %V connected",
                      &rd->conf->name);
    }

    rd->state = NGX_HTTP_CM_REDIS_CONNECTED;
    rd->backoff = NGX_HTTP_CM_REDIS_BACKOFF_MIN;
    rd->failures = 0;
    rd->open = 0;
    ngx_http_comment_moderation_metrics_circuit(0);
}


static void
ngx_http_comment_moderation_redis_role_reply(redisAsyncContext *ac, void *r,
    void *data)
{
    redisReply                           *reply = r;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    /* NULL: the context is going, its timer or disconnect handler acts */
    if (reply == NULL || rd->ac != ac || rd->conf == NULL
        || rd->state != NGX_HTTP_CM_REDIS_CONNECTING)
    {
        return;
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && ngx_strcmp(reply->element[0]->str, "master") == 0)
    {
        ngx_http_comment_moderation_redis_connected();
        return;
    }

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "comment moderation: redis %V: %s:%ui is not the master "
                  "(%s), asking the sentinels again", &rd->conf->name,
                  rd->master_host, rd->master_port,
                  reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
                  && reply->element[0]->type == REDIS_REPLY_STRING
                  ? reply->element[0]->str
                  : reply->type == REDIS_REPLY_ERROR ? reply->str : "?");

    /* on_disconnect schedules the next attempt */
    redisAsyncDisconnect(ac);
}


/*
 * Leaves the master: the replies pending still come (or their calls time
 * out), no new command goes there, and the disconnect reconnects through
 * the sentinels.  The connect timer bounds a master that stopped answering.
 */
static void
ngx_http_comment_moderation_redis_drop(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->ac == NULL || rd->state != NGX_HTTP_CM_REDIS_CONNECTED) {
        return;
    }

    rd->state = NGX_HTTP_CM_REDIS_CONNECTING;
    rd->backoff = NGX_HTTP_CM_REDIS_BACKOFF_MIN;

    if (rd->verify.timer_set) {
        ngx_del_timer(&rd->verify);
    }

    ngx_add_timer(&rd->connect_timer, rd->conf->timeout);

    /* may free the context and call on_disconnect at once */
    redisAsyncDisconnect(rd->ac);
}


/* --- Sentinel ------------------------------------------------------------- */

/*
 * Asks the next sentinel not yet asked this round where the master is:
 * SENTINEL get-master-addr-by-name, on a connection of its own, bounded by
 * connect_timeout + timeout.  When none could tell, a worker that is
 * connected keeps its master, one that is not tries again after a backoff.
 */
static void
ngx_http_comment_moderation_redis_sentinel_ask(void)
{
    const char                                *argv[3];
    size_t                                     argvlen[3];
    redisAsyncContext                         *ac;
    ngx_http_comment_moderation_redis_t       *rd;
    ngx_http_comment_moderation_redis_addr_t  *addr;
    ngx_http_comment_moderation_redis_conf_t  *rcf;

    rd = &ngx_http_comment_moderation_redis;
    rcf = rd->conf;

    while (rd->sentinel_tries < rcf->sentinels->nelts) {
        addr = (ngx_http_comment_moderation_redis_addr_t *)
                   rcf->sentinels->elts + rd->sentinel_next;
        rd->sentinel_next = (rd->sentinel_next + 1) % rcf->sentinels->nelts;
        rd->sentinel_tries++;

        ac = redisAsyncConnect((char *) addr->host.data, (int) addr->port);
        if (ac == NULL) {
            continue;
        }

        if (ac->err) {
            ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                          "comment moderation: redis %V: sentinel %V:%ui: %s",
                          &rcf->name, &addr->host, addr->port, ac->errstr);
            ngx_http_comment_moderation_count(NGX_HTTP_CM_M_SENTINEL_ERRORS);
            redisAsyncFree(ac);
            continue;
        }

        if (ngx_http_comment_moderation_redis_attach(ac) != NGX_OK) {
            redisAsyncFree(ac);
            continue;
        }

        if (rcf->sentinel_password.len) {
            /* a refusal shows in the answer to the question */
            ngx_http_comment_moderation_redis_auth(ac, &rcf->sentinel_password,
                                                   NULL);
        }

        argv[0] = "SENTINEL";
        argvlen[0] = 8;
        argv[1] = "get-master-addr-by-name";
        argvlen[1] = 23;
        argv[2] = (char *) rcf->master_name.data;
        argvlen[2] = rcf->master_name.len;

        if (redisAsyncCommandArgv(ac,
                                  ngx_http_comment_moderation_redis_sentinel_reply,
                                  NULL, 3, argv, argvlen)
            != REDIS_OK)
        {
            redisAsyncFree(ac);
            continue;
        }

        rd->sac = ac;
        rd->asked = addr;
        ngx_add_timer(&rd->sentinel_timer,
                      rcf->connect_timeout + rcf->timeout);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "comment moderation: redis %V: no sentinel told where "
                  "the master is", &rcf->name);

    if (rd->state == NGX_HTTP_CM_REDIS_CONNECTED) {
        ngx_http_comment_moderation_redis_verify_later();
        return;
    }

    ngx_http_comment_moderation_redis_schedule();
}


static void
ngx_http_comment_moderation_redis_sentinel_reply(redisAsyncContext *ac,
    void *r, void *data)
{
    u_char                                host[NGX_SOCKADDR_STRLEN + 1];
    ngx_int_t                             port;
    redisReply                           *reply = r, *h, *p;
    struct in6_addr                       any;
    ngx_http_comment_moderation_redis_t  *rd;

    rd = &ngx_http_comment_moderation_redis;

    /* abandoned: timed out, or the worker is leaving */
    if (rd->sac != ac || rd->conf == NULL) {
        return;
    }

    rd->sac = NULL;

    if (rd->sentinel_timer.timer_set) {
        ngx_del_timer(&rd->sentinel_timer);
    }

    if (reply == NULL) {
        /* refused or closed: hiredis frees the context after this */
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "comment moderation: redis %V: sentinel %V:%ui did not "
                      "answer: %s", &rd->conf->name, &rd->asked->host,
                      rd->asked->port, ac->errstr[0] ? ac->errstr : "closed");
        ngx_http_comment_moderation_count(NGX_HTTP_CM_M_SENTINEL_ERRORS);
        ngx_http_comment_moderation_redis_sentinel_ask();
        return;
    }

    /* closed once this callback returns */
    redisAsyncDisconnect(ac);

    h = NULL;
    p = NULL;
    port = NGX_ERROR;

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[1]->type == REDIS_REPLY_STRING)
    {
        h = reply->element[0];
        p = reply->element[1];
        port = ngx_atoi((u_char *) p->str, p->len);
    }

    if (h == NULL || h->len > NGX_SOCKADDR_STRLEN || port < 1 || port > 65535) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "comment moderation: redis %V: sentinel %V:%ui does "
                      "not know the master%s%s", &rd->conf->name,
                      &rd->asked->host, rd->asked->port,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        ngx_http_comment_moderation_count(NGX_HTTP_CM_M_SENTINEL_ERRORS);
        ngx_http_comment_moderation_redis_sentinel_ask();
        return;
    }

    ngx_cpystrn(host, (u_char *) h->str, h->len + 1);

    /* a name would make hiredis block on getaddrinfo() */
    if (inet_pton(AF_INET, (char *) host, &any) != 1
        && inet_pton(AF_INET6, (char *) host, &any) != 1)
    {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "comment moderation: redis %V: sentinel %V:%ui names "
                      "the master \"%s\", not an address (\"sentinel "
                      "resolve-hostnames\" is not supported)",
                      &rd->conf->name, &rd->asked->host, rd->asked->port,
                      host);
        ngx_http_comment_moderation_count(NGX_HTTP_CM_M_SENTINEL_ERRORS);
        ngx_http_comment_moderation_redis_sentinel_ask();
        return;
    }

    ngx_http_comment_moderation_redis_sentinel_found(host, port);
}


static void
ngx_http_comment_moderation_redis_sentinel_found(u_char *host, ngx_uint_t port)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->state == NGX_HTTP_CM_REDIS_CONNECTED) {
        if (port == rd->master_port
            && ngx_strcmp(host, rd->master_host) == 0)
        {
            ngx_http_comment_moderation_redis_verify_later();
            return;
        }

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "comment moderation: redis %V: the master moved from "
                      "%s:%ui to %s:%ui", &rd->conf->name, rd->master_host,
                      rd->master_port, host, port);

        ngx_cpystrn(rd->master_host, host, sizeof(rd->master_host));
        rd->master_port = port;

        ngx_http_comment_moderation_redis_drop();
        return;
    }

    ngx_cpystrn(rd->master_host, host, sizeof(rd->master_host));
    rd->master_port = port;

    /* an answer to a question asked while connected: the old connection is
       still closing, or the reconnect timer will ask again */
    if (rd->state != NGX_HTTP_CM_REDIS_CONNECTING || rd->ac != NULL) {
        return;
    }

    ngx_http_comment_moderation_redis_open((char *) rd->master_host,
                                           rd->master_port);
}


static void
ngx_http_comment_moderation_redis_sentinel_timeout(ngx_event_t *ev)
{
    redisAsyncContext                    *ac;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    ac = rd->sac;
    if (ac == NULL || rd->conf == NULL) {
        return;
    }

    rd->sac = NULL;

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "comment moderation: redis %V: sentinel %V:%ui timed out",
                  &rd->conf->name, &rd->asked->host, rd->asked->port);
    ngx_http_comment_moderation_count(NGX_HTTP_CM_M_SENTINEL_ERRORS);

    /* a timer, not a hiredis callback: may free */
    redisAsyncFree(ac);

    ngx_http_comment_moderation_redis_sentinel_ask();
}


/* while connected, the sentinels are asked again now and then: a failover
   does not always close our connection to the old master at once */
static void
ngx_http_comment_moderation_redis_verify_later(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf == NULL || rd->conf->sentinels == NULL || rd->verify.timer_set
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;
    }

    ngx_add_timer(&rd->verify, NGX_HTTP_CM_SENTINEL_VERIFY);
}


static void
ngx_http_comment_moderation_redis_verify_handler(ngx_event_t *ev)
{
    ngx_http_comment_moderation_redis_suspect();
}


/* asks the sentinels whether the master is still the one we write to */
static void
ngx_http_comment_moderation_redis_suspect(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf == NULL || rd->conf->sentinels == NULL || rd->sac != NULL
        || rd->state != NGX_HTTP_CM_REDIS_CONNECTED
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;
    }

    if (rd->verify.timer_set) {
        ngx_del_timer(&rd->verify);
    }

    rd->sentinel_tries = 0;
    ngx_http_comment_moderation_redis_sentinel_ask();
}


static void
ngx_http_comment_moderation_redis_auth(redisAsyncContext *ac,
    ngx_str_t *password, redisCallbackFn *fn)
{
    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = "AUTH";
    argvlen[0] = 4;
    argv[1] = (char *) password->data;
    argvlen[1] = password->len;

    redisAsyncCommandArgv(ac, fn, (void *) "AUTH", 2, argv, argvlen);
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
    ngx_uint_t                            level;
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->ac == ac) {
        rd->ac = NULL;

        if (rd->connect_timer.timer_set) {
            ngx_del_timer(&rd->connect_timer);
        }
    }

    if (rd->conf == NULL) {
        return;
    }

    /* REDIS_OK: we closed it (a failover, a replica, a wrong password) */
    level = (status == REDIS_OK) ? NGX_LOG_NOTICE : NGX_LOG_ERR;

    ngx_log_error(level, rd->log, 0,
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


ngx_uint_t
ngx_http_comment_moderation_redis_replicas(void)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    return rd->conf ? rd->conf->replicas : 0;
}


/*
 * WAIT blocks this connection's later commands until it answers: a short
 * bound (a quarter of timeout=), as replicas on a LAN answer in a round trip.
 * While the replicas are known to be missing, only background calls (the
 * spool's) probe, once a second: a request's write is spooled at once.
 */
ngx_http_comment_moderation_redis_call_t *
ngx_http_comment_moderation_redis_wait(
    ngx_http_comment_moderation_redis_handler_pt handler, void *data,
    ngx_uint_t for_request)
{
    u_char                                     num[NGX_INT_T_LEN];
    u_char                                     ms[NGX_INT_T_LEN];
    size_t                                     argvlen[3];
    const char                                *argv[3];
    ngx_http_comment_moderation_redis_conf_t  *rcf;

    rcf = ngx_http_comment_moderation_redis.conf;

    if (rcf == NULL || rcf->replicas == 0) {
        return NULL;
    }

    if (ngx_http_comment_moderation_redis.unreplicated) {
        if (for_request
            || ngx_current_msec - ngx_http_comment_moderation_redis.probed
               < NGX_HTTP_CM_SENTINEL_VERIFY)
        {
            return NULL;
        }

        ngx_http_comment_moderation_redis.probed = ngx_current_msec;
    }

    argv[0] = "WAIT";
    argvlen[0] = 4;
    argv[1] = (char *) num;
    argvlen[1] = ngx_sprintf(num, "%ui", rcf->replicas) - num;
    argv[2] = (char *) ms;
    argvlen[2] = ngx_sprintf(ms, "%M", ngx_max(rcf->timeout / 4, 1)) - ms;

    return ngx_http_comment_moderation_redis_send(3, argv, argvlen, handler,
                                                  data, for_request);
}


ngx_uint_t
ngx_http_comment_moderation_redis_replicated(redisReply *reply)
{
    ngx_http_comment_moderation_redis_t  *rd = &ngx_http_comment_moderation_redis;

    if (rd->conf == NULL) {
        return 0;
    }

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER
        && reply->integer >= (long long) rd->conf->replicas)
    {
        if (rd->unreplicated) {
            rd->unreplicated = 0;
            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "comment moderation: redis %V: writes reach %ui "
                          "replicas again", &rd->conf->name,
                          rd->conf->replicas);
        }

        return 1;
    }

    if (!rd->unreplicated) {
        rd->unreplicated = 1;
        rd->probed = ngx_current_msec;
    }

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "comment moderation: redis %V: a write reached %L of "
                  "%ui replicas", &rd->conf->name,
                  reply && reply->type == REDIS_REPLY_INTEGER
                  ? (int64_t) reply->integer : (int64_t) -1,
                  rd->conf->replicas);

    /* the master we write to may have been replaced */
    ngx_http_comment_moderation_redis_suspect();

    return 0;
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

        if (reply->str[0] == 'R') {
            ngx_http_comment_moderation_count(NGX_HTTP_CM_M_READONLY);
        }

        /* a replica now: the master is elsewhere, ask the sentinels */
        if (reply->str[0] == 'R' && ac == ngx_http_comment_moderation_redis.ac
            && ngx_http_comment_moderation_redis.conf != NULL
            && ngx_http_comment_moderation_redis.conf->sentinels != NULL)
        {
            ngx_log_error(NGX_LOG_WARN, ngx_http_comment_moderation_redis.log,
                          0, "comment moderation: redis %V: %s:%ui answered "
                          "READONLY, asking the sentinels again",
                          &ngx_http_comment_moderation_redis.conf->name,
                          ngx_http_comment_moderation_redis.master_host,
                          ngx_http_comment_moderation_redis.master_port);
            ngx_http_comment_moderation_redis_drop();
        }

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
    ngx_http_comment_moderation_metrics_circuit(1);
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
