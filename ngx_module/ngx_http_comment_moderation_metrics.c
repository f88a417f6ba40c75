/*
 * Metrics: counters and histograms in one shared memory zone that every
 * worker adds to with atomics (no lock on the request path), kept across
 * reloads, and "comment_moderation_metrics;" in a location to read them in
 * Prometheus's text format, with the queue's depth by state from Redis.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_metrics.h"

#include <time.h>


#define NGX_HTTP_CM_BUCKETS  8

/* workers whose circuit state is shown: worker_processes up to this */
#define NGX_HTTP_CM_WORKER_SLOTS  64

/* "[address]:65535" */
#define NGX_HTTP_CM_MASTER_LEN  (NGX_SOCKADDR_STRLEN + sizeof("[]:65535"))


typedef struct {
    ngx_atomic_t   decisions[NGX_HTTP_CM_INVALID + 1];
    ngx_atomic_t   counter[NGX_HTTP_CM_M_N];
    ngx_atomic_t   bucket[NGX_HTTP_CM_H_N][NGX_HTTP_CM_BUCKETS + 1];
    ngx_atomic_t   sum_us[NGX_HTTP_CM_H_N];

    /* 1 while that worker's Redis circuit is open, by worker number */
    ngx_atomic_t   circuit_open[NGX_HTTP_CM_WORKER_SLOTS];

    /* Sentinel: where the workers last found the master; under the zone's
       mutex, which the master process frees if a worker dies holding it */
    size_t         master_len;
    u_char         master[NGX_HTTP_CM_MASTER_LEN];
} ngx_http_comment_moderation_shm_t;


static ngx_int_t ngx_http_comment_moderation_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_int_t ngx_http_comment_moderation_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_comment_moderation_metrics_handler(
    ngx_http_request_t *r);
static void ngx_http_comment_moderation_metrics_counted(void *data,
    redisReply *reply);
static u_char *ngx_http_comment_moderation_metrics_gauges(
    ngx_http_request_t *r, u_char *p, u_char *last);
static ngx_int_t ngx_http_comment_moderation_metrics_send(
    ngx_http_request_t *r, redisReply *counts);


static ngx_http_comment_moderation_shm_t  *ngx_http_comment_moderation_shm;
static ngx_slab_pool_t                    *ngx_http_comment_moderation_shpool;


/* upper bounds of the buckets, us */
static const uint64_t  ngx_http_comment_moderation_bounds[NGX_HTTP_CM_H_N]
                                                     [NGX_HTTP_CM_BUCKETS] = {
    { 10, 25, 50, 100, 250, 500, 1000, 5000 },
    { 250, 500, 1000, 2500, 5000, 10000, 50000, 200000 }
};


static const struct {
    const char  *name;
    const char  *help;
}  ngx_http_comment_moderation_counters[NGX_HTTP_CM_M_N] = {
    { "redis_errors_total",
      "Redis calls that failed: no reply, timeout, LOADING, READONLY, BUSY." },
    { "redis_circuit_opened_total",
      "Times a worker stopped asking Redis after failures in a row." },
    { "decided_without_redis_total",
      "Comments decided without reputation and limits (Redis away)." },
    { "spool_written_total",
      "Held or rejected comments written to the local spool (Redis away)." },
    { "spool_moved_total",
      "Spooled comments moved into Redis since." },
    { "released_total",
      "Approved comments the backend took." },
    { "release_failed_total",
      "Approved comments the backend did not take (release-failed)." },
    { "flood_copies_total",
      "Copies of a text a swarm rule rejected, refused before any rule or Redis." },
    { "redis_failovers_total",
      "Times a worker found the master at another address than the last "
      "one (Sentinel): failovers followed." },
    { "redis_readonly_total",
      "READONLY replies: a replica answered where the master was expected." },
    { "redis_sentinel_errors_total",
      "Sentinel questions that failed: no connection, no answer, timeout, "
      "master unknown or not an address." }
};


static const char  *ngx_http_comment_moderation_histograms[NGX_HTTP_CM_H_N] = {
    "engine_seconds", "redis_seconds"
};


ngx_int_t
ngx_http_comment_moderation_metrics_zone(ngx_conf_t *cf)
{
    ngx_str_t                   name;
    ngx_shm_zone_t             *zone;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    ngx_str_set(&name, "comment_moderation_metrics");

    zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                 &ngx_http_comment_moderation_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_comment_moderation_metrics_init_zone;

    /* each request's decision is counted once, when it is logged */
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_comment_moderation_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    ngx_http_comment_moderation_shpool = shpool;

    /* a reload keeps the counts */
    if (data) {
        shm_zone->data = data;
        ngx_http_comment_moderation_shm = data;
        return NGX_OK;
    }

    ngx_http_comment_moderation_shm = ngx_slab_calloc(shpool,
                                  sizeof(ngx_http_comment_moderation_shm_t));
    if (ngx_http_comment_moderation_shm == NULL) {
        return NGX_ERROR;
    }

    shm_zone->data = ngx_http_comment_moderation_shm;

    return NGX_OK;
}


void
ngx_http_comment_moderation_count(ngx_http_comment_moderation_metric_e m)
{
    if (ngx_http_comment_moderation_shm) {
        (void) ngx_atomic_fetch_add(&ngx_http_comment_moderation_shm->counter[m],
                                    1);
    }
}


/*
 * The master's address as the workers last found it.  Another address than
 * the one shown is a failover followed: counted once, by the first worker
 * that finds it (the others find it shown already).
 */
void
ngx_http_comment_moderation_metrics_circuit(ngx_uint_t open)
{
    if (ngx_http_comment_moderation_shm) {
        ngx_http_comment_moderation_shm->circuit_open[
                                    ngx_worker % NGX_HTTP_CM_WORKER_SLOTS] = open;
    }
}


/* the circuits open now, and the spool's size: what a scrape finds */
static u_char *
ngx_http_comment_moderation_metrics_gauges(ngx_http_request_t *r, u_char *p,
    u_char *last)
{
    off_t                                     spool;
    ngx_uint_t                                i, n, open;
    ngx_file_info_t                           fi;
    ngx_core_conf_t                          *ccf;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);
    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    /* slots of workers a reload left behind are not counted */
    n = ngx_min((ngx_uint_t) ccf->worker_processes, NGX_HTTP_CM_WORKER_SLOTS);
    open = 0;

    for (i = 0; i < n; i++) {
        open += ngx_http_comment_moderation_shm->circuit_open[i] ? 1 : 0;
    }

    spool = 0;

    if (cmcf->spool.len
        && ngx_file_info(cmcf->spool.data, &fi) != NGX_FILE_ERROR)
    {
        spool = ngx_file_size(&fi);
    }

    return ngx_slprintf(p, last,
                        "# HELP comment_moderation_redis_circuit_open Workers "
                        "whose Redis circuit is open now.\n"
                        "# TYPE comment_moderation_redis_circuit_open gauge\n"
                        "comment_moderation_redis_circuit_open %ui\n"
                        "# HELP comment_moderation_spool_bytes Held and "
                        "rejected comments in the spool, waiting for Redis.\n"
                        "# TYPE comment_moderation_spool_bytes gauge\n"
                        "comment_moderation_spool_bytes %O\n", open, spool);
}


void
ngx_http_comment_moderation_metrics_master(u_char *host, ngx_uint_t port)
{
    u_char                              address[NGX_HTTP_CM_MASTER_LEN];
    size_t                              len;
    ngx_uint_t                          moved;
    ngx_http_comment_moderation_shm_t  *shm = ngx_http_comment_moderation_shm;

    if (shm == NULL) {
        return;
    }

    len = ngx_snprintf(address, sizeof(address),
                       ngx_strlchr(host, host + ngx_strlen(host), ':')
                       ? "[%s]:%ui" : "%s:%ui", host, port)
          - address;

    ngx_shmtx_lock(&ngx_http_comment_moderation_shpool->mutex);

    moved = shm->master_len != 0
            && (shm->master_len != len
                || ngx_memcmp(shm->master, address, len) != 0);

    ngx_memcpy(shm->master, address, len);
    shm->master_len = len;

    ngx_shmtx_unlock(&ngx_http_comment_moderation_shpool->mutex);

    if (moved) {
        ngx_http_comment_moderation_count(NGX_HTTP_CM_M_FAILOVERS);
    }
}


void
ngx_http_comment_moderation_observe(ngx_http_comment_moderation_histogram_e h,
    uint64_t us)
{
    ngx_uint_t                          i;
    ngx_http_comment_moderation_shm_t  *shm = ngx_http_comment_moderation_shm;

    if (shm == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_CM_BUCKETS; i++) {
        if (us <= ngx_http_comment_moderation_bounds[h][i]) {
            break;
        }
    }

    /* counted in its own bucket; the cumulative sums are made when shown */
    (void) ngx_atomic_fetch_add(&shm->bucket[h][i], 1);
    (void) ngx_atomic_fetch_add(&shm->sum_us[h], us);
}


uint64_t
ngx_http_comment_moderation_clock_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static ngx_int_t
ngx_http_comment_moderation_metrics_log(ngx_http_request_t *r)
{
    ngx_http_comment_moderation_ctx_t  *ctx;

    if (r != r->main || ngx_http_comment_moderation_shm == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_comment_moderation_get_ctx(r);

    if (ctx && ctx->decision > NGX_HTTP_CM_UNCHECKED
        && ctx->decision <= NGX_HTTP_CM_INVALID)
    {
        (void) ngx_atomic_fetch_add(
                    &ngx_http_comment_moderation_shm->decisions[ctx->decision],
                    1);
    }

    return NGX_OK;
}


/* comment_moderation_metrics: this location answers with the metrics */
char *
ngx_http_comment_moderation_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_comment_moderation_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_comment_moderation_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                                 rc;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    if (cmcf->redis.name.len == 0) {
        return ngx_http_comment_moderation_metrics_send(r, NULL);
    }

    /* the queue's depth is Redis's to tell: one call, as the review page */
    if (ngx_http_comment_moderation_admin_ctx_add(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_comment_moderation_admin_eval(r,
             &ngx_http_comment_moderation_admin_counts_script, NULL, 0,
             ngx_http_comment_moderation_metrics_counted);

    if (rc == NGX_DECLINED) {
        return ngx_http_comment_moderation_metrics_send(r, NULL);
    }

    if (rc == NGX_DONE) {
        r->main->count++;
    }

    return rc;
}


static void
ngx_http_comment_moderation_metrics_counted(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_http_finalize_request(r,
        ngx_http_comment_moderation_metrics_send(r,
            ngx_http_comment_moderation_admin_counts_valid(reply)
            ? reply : NULL));
}


static ngx_int_t
ngx_http_comment_moderation_metrics_send(ngx_http_request_t *r,
    redisReply *counts)
{
    u_char                             *p, *last;
    u_char                              master[NGX_HTTP_CM_MASTER_LEN];
    size_t                              master_len;
    uint64_t                            cumulative;
    ngx_str_t                           body;
    ngx_uint_t                          i, h;
    ngx_http_comment_moderation_shm_t  *shm = ngx_http_comment_moderation_shm;

    if (shm == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    body.data = ngx_pnalloc(r->pool, 8192);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body.data;
    last = body.data + 8192;

    p = ngx_slprintf(p, last,
                     "# HELP comment_moderation_decisions_total Comments "
                     "decided, by outcome.\n"
                     "# TYPE comment_moderation_decisions_total counter\n");

    for (i = NGX_HTTP_CM_ACCEPT; i <= NGX_HTTP_CM_INVALID; i++) {
        p = ngx_slprintf(p, last, "comment_moderation_decisions_total"
                         "{decision=\"%V\"} %uA\n",
                         &ngx_http_comment_moderation_decision_names[i],
                         shm->decisions[i]);
    }

    for (i = 0; i < NGX_HTTP_CM_M_N; i++) {
        p = ngx_slprintf(p, last, "# HELP comment_moderation_%s %s\n"
                         "# TYPE comment_moderation_%s counter\n"
                         "comment_moderation_%s %uA\n",
                         ngx_http_comment_moderation_counters[i].name,
                         ngx_http_comment_moderation_counters[i].help,
                         ngx_http_comment_moderation_counters[i].name,
                         ngx_http_comment_moderation_counters[i].name,
                         shm->counter[i]);
    }

    for (h = 0; h < NGX_HTTP_CM_H_N; h++) {
        p = ngx_slprintf(p, last, "# TYPE comment_moderation_%s histogram\n",
                         ngx_http_comment_moderation_histograms[h]);
        cumulative = 0;

        for (i = 0; i <= NGX_HTTP_CM_BUCKETS; i++) {
            cumulative += shm->bucket[h][i];

            if (i == NGX_HTTP_CM_BUCKETS) {
                p = ngx_slprintf(p, last, "comment_moderation_%s_bucket"
                                 "{le=\"+Inf\"} %uL\n",
                                 ngx_http_comment_moderation_histograms[h],
                                 cumulative);
                break;
            }

            p = ngx_slprintf(p, last, "comment_moderation_%s_bucket"
                             "{le=\"%uL.%06uL\"} %uL\n",
                             ngx_http_comment_moderation_histograms[h],
                             ngx_http_comment_moderation_bounds[h][i] / 1000000,
                             ngx_http_comment_moderation_bounds[h][i] % 1000000,
                             cumulative);
        }

        p = ngx_slprintf(p, last, "comment_moderation_%s_sum %uA.%06uA\n"
                         "comment_moderation_%s_count %uL\n",
                         ngx_http_comment_moderation_histograms[h],
                         shm->sum_us[h] / 1000000, shm->sum_us[h] % 1000000,
                         ngx_http_comment_moderation_histograms[h],
                         cumulative);
    }

    ngx_shmtx_lock(&ngx_http_comment_moderation_shpool->mutex);
    master_len = shm->master_len;
    ngx_memcpy(master, shm->master, master_len);
    ngx_shmtx_unlock(&ngx_http_comment_moderation_shpool->mutex);

    if (master_len) {
        p = ngx_slprintf(p, last, "# HELP comment_moderation_redis_master "
                         "The master the workers last found through the "
                         "sentinels.\n"
                         "# TYPE comment_moderation_redis_master gauge\n"
                         "comment_moderation_redis_master{address=\"%*s\"} 1\n",
                         master_len, master);
    }

    p = ngx_http_comment_moderation_metrics_gauges(r, p, last);

    p = ngx_slprintf(p, last, "# HELP comment_moderation_redis_up Redis "
                     "answered this scrape.\n"
                     "# TYPE comment_moderation_redis_up gauge\n"
                     "comment_moderation_redis_up %d\n", counts ? 1 : 0);

    /* admin_counts.lua: one number per state */
    if (counts) {
        p = ngx_slprintf(p, last, "# HELP comment_moderation_queue Comments "
                         "kept in Redis, by state.\n"
                         "# TYPE comment_moderation_queue gauge\n");

        for (i = 0; i < counts->elements; i++) {
            p = ngx_slprintf(p, last, "comment_moderation_queue"
                             "{state=\"%s\"} %L\n",
                             ngx_http_comment_moderation_admin_states[i],
                             (int64_t) counts->element[i]->integer);
        }
    }

    body.len = p - body.data;

    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = body.len;

    return ngx_http_comment_moderation_send_body(r, &body);
}
