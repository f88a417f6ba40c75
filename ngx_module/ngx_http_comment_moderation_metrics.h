/*
 * Counters every worker adds to, in shared memory, and what
 * "comment_moderation_metrics;" shows of them in Prometheus's text format.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_METRICS_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_CM_M_REDIS_ERRORS = 0,     /* no reply, timeout, LOADING ... */
    NGX_HTTP_CM_M_CIRCUIT_OPENED,       /* times a worker's circuit opened */
    NGX_HTTP_CM_M_DECIDED_WITHOUT_REDIS,
    NGX_HTTP_CM_M_SPOOLED,              /* comments written to the spool */
    NGX_HTTP_CM_M_UNSPOOLED,            /* ... and moved into Redis */
    NGX_HTTP_CM_M_RELEASED,             /* approved and taken by the backend */
    NGX_HTTP_CM_M_RELEASE_FAILED,
    NGX_HTTP_CM_M_FLOOD_COPIES,         /* refused by _flood.c, unjudged */
    NGX_HTTP_CM_M_FAILOVERS,            /* Sentinel: the master moved */
    NGX_HTTP_CM_M_READONLY,             /* READONLY replies */
    NGX_HTTP_CM_M_SENTINEL_ERRORS,      /* sentinel questions that failed */
    NGX_HTTP_CM_M_N
} ngx_http_comment_moderation_metric_e;


typedef enum {
    NGX_HTTP_CM_H_ENGINE = 0,           /* matching one comment, us */
    NGX_HTTP_CM_H_REDIS,                /* one Redis round trip, us */
    NGX_HTTP_CM_H_N
} ngx_http_comment_moderation_histogram_e;


ngx_int_t ngx_http_comment_moderation_metrics_zone(ngx_conf_t *cf);
char *ngx_http_comment_moderation_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

void ngx_http_comment_moderation_count(ngx_http_comment_moderation_metric_e m);
void ngx_http_comment_moderation_count_decision(ngx_uint_t decision);
/* Sentinel: the master a worker has just connected to, host and port */
void ngx_http_comment_moderation_metrics_master(u_char *host, ngx_uint_t port);
/* this worker's Redis circuit opened (1) or closed (0) */
void ngx_http_comment_moderation_metrics_circuit(ngx_uint_t open);
void ngx_http_comment_moderation_observe(
    ngx_http_comment_moderation_histogram_e h, uint64_t us);

/* a monotonic clock in microseconds, for the histograms */
uint64_t ngx_http_comment_moderation_clock_us(void);


#endif /* _NGX_HTTP_COMMENT_MODERATION_METRICS_H_INCLUDED_ */
