/*
 * The Redis client: one persistent hiredis async connection per worker,
 * driven by nginx's event loop.  A request never waits on a socket: it
 * sends a command, returns, and is resumed by the reply or by the timeout.
 *
 * A circuit breaker answers "unavailable" at once while Redis is known to
 * be down or stalled, so requests do not each pay the full timeout.
 *
 * With Sentinel, the master's address is asked of the sentinels at each
 * connect, checked with ROLE, and asked again while connected, so a
 * failover is followed; a kept comment can be made to wait for replicas.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_REDIS_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>


/* a numeric address: hiredis's getaddrinfo() does not block on it */
typedef struct {
    ngx_str_t      host;        /* NUL-terminated */
    ngx_uint_t     port;
} ngx_http_comment_moderation_redis_addr_t;


typedef struct {
    ngx_str_t      name;        /* as configured, for logs */
    ngx_str_t      host;        /* numeric address, NUL-terminated; or */
    ngx_str_t      unix_path;   /* a unix socket, NUL-terminated */
    ngx_uint_t     port;
    ngx_str_t      password;    /* empty: no AUTH */
    ngx_uint_t     db;
    ngx_msec_t     connect_timeout;
    ngx_msec_t     timeout;     /* each command */
    ngx_uint_t     max_failures;  /* in a row, to open the circuit */
    ngx_msec_t     open_time;     /* how long it stays open */

    /* Sentinel: the master is asked for, not configured */
    ngx_array_t   *sentinels;     /* of _redis_addr_t; NULL: no Sentinel */
    ngx_str_t      master_name;
    ngx_str_t      sentinel_password;

    /* a kept comment counts as kept once this many replicas have it */
    ngx_uint_t     replicas;
} ngx_http_comment_moderation_redis_conf_t;


/* A Lua script called by EVALSHA, sent again with EVAL after NOSCRIPT. */
typedef struct {
    ngx_str_t      body;
    u_char         sha1[41];    /* hex, NUL-terminated */
} ngx_http_comment_moderation_redis_script_t;


typedef struct ngx_http_comment_moderation_redis_call_s
    ngx_http_comment_moderation_redis_call_t;

/*
 * Called once per call, from the event loop (never from inside _send):
 * with the reply, or with NULL after an error, a timeout or a disconnect.
 * The reply is freed after the handler returns: copy what you keep.
 */
typedef void (*ngx_http_comment_moderation_redis_handler_pt)(void *data,
    redisReply *reply);


/* comment_moderation_redis ADDRESS [password=P|password_file=F] [db=N]
       [connect_timeout=T] [timeout=T] [failures=N] [open_time=T]; */
char *ngx_http_comment_moderation_redis_parse(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf);

/* comment_moderation_redis_sentinel HOST:PORT ... MASTER_NAME [options of
       comment_moderation_redis] [sentinel_password=P] [replicas=N]; */
char *ngx_http_comment_moderation_redis_parse_sentinel(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf);

ngx_int_t ngx_http_comment_moderation_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_comment_moderation_redis_conf_t *rcf);
void ngx_http_comment_moderation_redis_exit_process(void);

/* 1 if a command sent now is expected to be answered (connected, circuit
   closed or half-open) */
ngx_uint_t ngx_http_comment_moderation_redis_available(void);

/*
 * Sends a command.  Returns NULL when Redis is unavailable (the caller
 * decides without it, synchronously); else the call, which the caller
 * cancels if it goes away first (its handler is then never called).
 * A call "for_request" holds a worker's graceful exit until it is answered
 * or times out; background calls (polls, the spool) do not.
 */
ngx_http_comment_moderation_redis_call_t *ngx_http_comment_moderation_redis_send(
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_comment_moderation_redis_handler_pt handler, void *data,
    ngx_uint_t for_request);

/* EVALSHA script's sha1 with argv[0..] = numkeys, keys..., args... */
ngx_http_comment_moderation_redis_call_t *ngx_http_comment_moderation_redis_eval(
    ngx_http_comment_moderation_redis_script_t *script,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_comment_moderation_redis_handler_pt handler, void *data,
    ngx_uint_t for_request);

/*
 * WAIT for the configured replicas after a write: NULL when none are asked
 * for (the write is as kept as it gets) or Redis is unavailable; see
 * _redis_replicas().  _redis_replicated() tells from WAIT's reply whether
 * enough replicas have the write; when not, it asks the sentinels whether
 * the master moved.
 */
ngx_uint_t ngx_http_comment_moderation_redis_replicas(void);
ngx_http_comment_moderation_redis_call_t *ngx_http_comment_moderation_redis_wait(
    ngx_http_comment_moderation_redis_handler_pt handler, void *data,
    ngx_uint_t for_request);
ngx_uint_t ngx_http_comment_moderation_redis_replicated(redisReply *reply);

void ngx_http_comment_moderation_redis_cancel(
    ngx_http_comment_moderation_redis_call_t *call);

void ngx_http_comment_moderation_redis_script_init(
    ngx_http_comment_moderation_redis_script_t *script, const char *body);


#endif /* _NGX_HTTP_COMMENT_MODERATION_REDIS_H_INCLUDED_ */
