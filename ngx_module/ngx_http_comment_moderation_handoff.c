/*
 * Handoff: approvals that come through Redis rather than through the
 * moderation API, e.g. `scripts/cm-review approve ID` on a host with only
 * Redis at hand.  The tool pushes "ACTION ID MODERATOR" on the list
 * "<prefix>handoff"; a worker of an nginx with comment_moderation_admin
 * takes it and runs the very same action as the API (_admin_act.c): one
 * release path.
 *
 * The action needs a request to hang the release subrequest on: a request
 * of the worker's own, on a connection without a socket, configured as the
 * admin location.  Nothing is ever written to that connection: the
 * subrequest is header-only and the answer goes to the log.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_lua.h"


#define NGX_HTTP_CM_HANDOFF_POLL  1000     /* ms between looks at the list */


typedef struct {
    ngx_event_t                  timer;
    ngx_event_t                  close;     /* frees the finished request */
    ngx_http_conf_ctx_t         *conf;      /* of the admin location */
    ngx_http_request_t          *request;   /* the action under way */
    ngx_http_comment_moderation_redis_call_t    *call;
    ngx_http_comment_moderation_redis_script_t   script;
    ngx_str_t                    prefix;
    ngx_log_t                   *log;
} ngx_http_comment_moderation_handoff_t;


static void ngx_http_comment_moderation_handoff_poll(ngx_event_t *ev);
static void ngx_http_comment_moderation_handoff_job(void *data,
    redisReply *reply);
static ngx_http_request_t *ngx_http_comment_moderation_handoff_request(
    ngx_http_comment_moderation_handoff_t *ho);
static void ngx_http_comment_moderation_handoff_done(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json);
static void ngx_http_comment_moderation_handoff_close(ngx_event_t *ev);


static ngx_http_comment_moderation_handoff_t  ngx_http_comment_moderation_handoff;


ngx_int_t
ngx_http_comment_moderation_handoff_init_process(ngx_cycle_t *cycle,
    ngx_http_conf_ctx_t *conf, ngx_str_t *prefix)
{
    ngx_http_comment_moderation_handoff_t  *ho = &ngx_http_comment_moderation_handoff;

    ngx_memzero(ho, sizeof(ngx_http_comment_moderation_handoff_t));

    if (conf == NULL) {
        return NGX_OK;
    }

    ho->conf = conf;
    ho->prefix = *prefix;
    ho->log = cycle->log;

    ngx_http_comment_moderation_redis_script_init(&ho->script,
                                     ngx_http_comment_moderation_lua_admin_handoff);

    ho->timer.handler = ngx_http_comment_moderation_handoff_poll;
    ho->timer.log = cycle->log;
    ho->timer.cancelable = 1;

    ho->close.handler = ngx_http_comment_moderation_handoff_close;
    ho->close.log = cycle->log;

    ngx_add_timer(&ho->timer, NGX_HTTP_CM_HANDOFF_POLL);

    return NGX_OK;
}


void
ngx_http_comment_moderation_handoff_exit_process(void)
{
    ngx_http_comment_moderation_handoff_t  *ho = &ngx_http_comment_moderation_handoff;

    if (ho->timer.timer_set) {
        ngx_del_timer(&ho->timer);
    }

    ngx_http_comment_moderation_redis_cancel(ho->call);
    ho->call = NULL;
}


/* one action at a time per worker; the list waits in Redis meanwhile */
static void
ngx_http_comment_moderation_handoff_poll(ngx_event_t *ev)
{
    size_t                                  argvlen[4];
    const char                             *argv[4];
    ngx_http_comment_moderation_handoff_t  *ho = &ngx_http_comment_moderation_handoff;

    if (ho->request || ho->call || ngx_exiting) {
        return;
    }

    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = (char *) ho->prefix.data;
    argvlen[3] = ho->prefix.len;

    ho->call = ngx_http_comment_moderation_redis_eval(&ho->script, 4, argv,
                                   argvlen,
                                   ngx_http_comment_moderation_handoff_job,
                                   ho, 0);

    if (ho->call == NULL) {
        ngx_add_timer(&ho->timer, NGX_HTTP_CM_HANDOFF_POLL);
    }
}


/* "ACTION ID MODERATOR", or nil when nothing waits */
static void
ngx_http_comment_moderation_handoff_job(void *data, redisReply *reply)
{
    ngx_http_comment_moderation_handoff_t *ho = data;

    u_char                                   *p, *last;
    ngx_int_t                                 rc;
    ngx_str_t                                 action, *id;
    ngx_connection_t                         *c;
    cm_fields_t                               none;
    ngx_http_request_t                       *r;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ho->call = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        ngx_add_timer(&ho->timer, NGX_HTTP_CM_HANDOFF_POLL);
        return;
    }

    r = ngx_http_comment_moderation_handoff_request(ho);
    if (r == NULL) {
        ngx_log_error(NGX_LOG_ERR, ho->log, 0,
                      "comment moderation: handoff \"%*s\" lost: no memory",
                      (size_t) reply->len, reply->str);
        ngx_add_timer(&ho->timer, NGX_HTTP_CM_HANDOFF_POLL);
        return;
    }

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    /* the action keeps pointers to its ids: they live in the pool */
    id = ngx_palloc(r->pool, sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, reply->len);
    if (p == NULL || id == NULL) {
        ngx_http_comment_moderation_handoff_done(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                                 NULL);
        return;
    }

    ngx_memcpy(p, reply->str, reply->len);
    last = p + reply->len;

    action.data = p;
    p = ngx_strlchr(p, last, ' ');
    id->data = p ? p + 1 : last;
    p = p ? ngx_strlchr(p + 1, last, ' ') : NULL;

    if (p == NULL || p + 1 == last) {
        id->len = 0;
    } else {
        id->len = p - id->data;
    }

    if (!ngx_http_comment_moderation_admin_valid_id(id)) {
        ngx_log_error(NGX_LOG_ERR, ho->log, 0,
                      "comment moderation: handoff \"%*s\" ignored: not "
                      "\"ACTION ID MODERATOR\"", (size_t) reply->len,
                      reply->str);
        ngx_http_comment_moderation_handoff_done(r, NGX_HTTP_BAD_REQUEST, NULL);
        return;
    }

    action.len = id->data - 1 - action.data;
    ctx->user.data = p + 1;
    ctx->user.len = last - p - 1;

    /* the name goes into a header of the released request */
    if (!ngx_http_comment_moderation_admin_valid_user(&ctx->user)) {
        ngx_log_error(NGX_LOG_ERR, ho->log, 0,
                      "comment moderation: handoff of comment %V ignored: "
                      "the moderator's name has control characters", id);
        ngx_http_comment_moderation_handoff_done(r, NGX_HTTP_BAD_REQUEST, NULL);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ho->log, 0,
                  "comment moderation: handoff: %V of comment %V by \"%V\"",
                  &action, id, &ctx->user);

    ngx_memzero(&none, sizeof(cm_fields_t));
    c = r->connection;

    /* only what the API's single actions take without arguments */
    if ((action.len == 7 && ngx_strncmp(action.data, "approve", 7) == 0)
        || (action.len == 13
            && ngx_strncmp(action.data, "approve-trust", 13) == 0)
        || (action.len == 6 && ngx_strncmp(action.data, "reject", 6) == 0))
    {
        rc = ngx_http_comment_moderation_admin_act(r, &action, id, 1, 0,
                                                   &none);
    } else {
        rc = NGX_HTTP_BAD_REQUEST;
    }

    if (rc != NGX_DONE) {
        ngx_http_comment_moderation_handoff_done(r, rc, NULL);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * A request of the worker's own, as if it had come to the admin location:
 * its configuration, no socket, no client.
 */
static ngx_http_request_t *
ngx_http_comment_moderation_handoff_request(
    ngx_http_comment_moderation_handoff_t *ho)
{
    ngx_pool_t                               *pool;
    ngx_time_t                               *tp;
    ngx_connection_t                         *c;
    ngx_http_request_t                       *r;
    ngx_http_log_ctx_t                       *lctx;
    ngx_http_core_main_conf_t                *cmcf;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    c = ngx_get_connection((ngx_socket_t) -1, ho->log);
    if (c == NULL) {
        return NULL;
    }

    c->pool = ngx_create_pool(1024, ho->log);
    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ho->log);

    if (c->pool == NULL || pool == NULL) {
        goto failed;
    }

    c->log = ngx_palloc(c->pool, sizeof(ngx_log_t));
    c->sockaddr = ngx_pcalloc(c->pool, sizeof(struct sockaddr_in));
    lctx = ngx_pcalloc(c->pool, sizeof(ngx_http_log_ctx_t));
    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));

    if (c->log == NULL || c->sockaddr == NULL || lctx == NULL || r == NULL) {
        goto failed;
    }

    /* nginx's request code notes the current request in the log's data */
    *c->log = *ho->log;
    c->log->data = lctx;
    c->log->handler = NULL;
    lctx->connection = c;
    lctx->request = r;
    lctx->current_request = r;
    c->read->log = c->log;
    c->write->log = c->log;
    c->sockaddr->sa_family = AF_INET;
    c->socklen = sizeof(struct sockaddr_in);
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    c->requests = 1;

    /* as if in epoll already: nginx would add this socketless connection */
    c->read->active = 1;
    c->write->active = 1;

    r->pool = pool;
    r->connection = c;
    c->data = r;

    r->signature = NGX_HTTP_MODULE;
    r->main = r;
    r->count = 1;

    r->main_conf = ho->conf->main_conf;
    r->srv_conf = ho->conf->srv_conf;
    r->loc_conf = ho->conf->loc_conf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    r->ctx = ngx_pcalloc(pool, sizeof(void *) * ngx_http_max_module);
    r->variables = ngx_pcalloc(pool, cmcf->variables.nelts
                                     * sizeof(ngx_http_variable_value_t));
    if (r->ctx == NULL || r->variables == NULL
        || ngx_list_init(&r->headers_in.headers, pool, 2,
                         sizeof(ngx_table_elt_t)) != NGX_OK
        || ngx_list_init(&r->headers_out.headers, pool, 2,
                         sizeof(ngx_table_elt_t)) != NGX_OK
        || ngx_http_comment_moderation_admin_ctx_add(r) != NGX_OK)
    {
        goto failed;
    }

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    ctx->done = ngx_http_comment_moderation_handoff_done;

    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");
    ngx_str_set(&r->uri, "/");
    ngx_str_set(&r->unparsed_uri, "/");
    ngx_str_set(&r->request_line, "comment moderation handoff");
    ngx_str_set(&r->http_protocol, "HTTP/1.0");
    r->http_version = NGX_HTTP_VERSION_10;
    r->headers_in.content_length_n = 0;
    r->headers_in.keep_alive_n = -1;
    r->uri_changes = NGX_HTTP_MAX_URI_CHANGES + 1;
    r->subrequests = NGX_HTTP_MAX_SUBREQUESTS + 1;
    r->http_state = NGX_HTTP_PROCESS_REQUEST_STATE;
    r->logged = 1;          /* no access log line: the outcome is logged */
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    tp = ngx_timeofday();
    r->start_sec = tp->sec;
    r->start_msec = tp->msec;

    ho->request = r;

    return r;

failed:

    if (pool) {
        ngx_destroy_pool(pool);
    }

    if (c->pool) {
        ngx_destroy_pool(c->pool);
    }

    ngx_free_connection(c);

    return NULL;
}


/* the action's answer: logged, then the request goes */
static void
ngx_http_comment_moderation_handoff_done(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json)
{
    ngx_uint_t                              level;
    ngx_http_comment_moderation_handoff_t  *ho = &ngx_http_comment_moderation_handoff;

    level = (status == NGX_HTTP_OK) ? NGX_LOG_INFO : NGX_LOG_WARN;
    ngx_log_error(level, ho->log, 0,
                  "comment moderation: handoff answered %ui %V",
                  status, json ? json : &r->uri);

    /* not now: the caller may still be inside the request's code */
    ngx_post_event(&ho->close, &ngx_posted_events);
}


static void
ngx_http_comment_moderation_handoff_close(ngx_event_t *ev)
{
    ngx_connection_t                       *c;
    ngx_http_request_t                     *r;
    ngx_http_comment_moderation_handoff_t  *ho = &ngx_http_comment_moderation_handoff;

    r = ho->request;
    ho->request = NULL;

    if (r == NULL) {
        return;
    }

    c = r->connection;

    ngx_http_free_request(r, 0);

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    ngx_free_connection(c);
    ngx_destroy_pool(c->pool);

    /* the next job at once: a list of approvals is worked through */
    ngx_add_timer(&ho->timer, 1);
}
