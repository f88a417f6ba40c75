/*
 * The request path: read the comment body without blocking, parse it,
 * let the engine judge it, then forward it (accept, or queue in mark mode)
 * or answer the client (reject, invalid).
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_live.h"


static void ngx_http_comment_moderation_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_comment_moderation_judge(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
static void ngx_http_comment_moderation_wait(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
static ngx_uint_t ngx_http_comment_moderation_hold(ngx_http_request_t *r);
static void ngx_http_comment_moderation_store_and_finish(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
static void ngx_http_comment_moderation_finish(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
static ngx_int_t ngx_http_comment_moderation_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_comment_moderation_input(ngx_http_request_t *r,
    ngx_http_comment_moderation_loc_conf_t *cmlcf, cm_fields_t *fields,
    cm_input_t *in, const char **error);
static void ngx_http_comment_moderation_invalid(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_uint_t message,
    const char *reason);
static ngx_int_t ngx_http_comment_moderation_forward(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
static ngx_int_t ngx_http_comment_moderation_set_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static void ngx_http_comment_moderation_cleanup(void *data);


static ngx_str_t  ngx_http_comment_moderation_header =
    ngx_string("X-Comment-Moderation");
static ngx_str_t  ngx_http_comment_moderation_header_score =
    ngx_string("X-Comment-Moderation-Score");
static ngx_str_t  ngx_http_comment_moderation_header_rules =
    ngx_string("X-Comment-Moderation-Rules");
static ngx_str_t  ngx_http_comment_moderation_header_error =
    ngx_string("X-Comment-Moderation-Error");
static ngx_str_t  ngx_http_comment_moderation_header_id =
    ngx_string("X-Comment-Moderation-Id");

/* what a release carries besides the id (_release.c): never the client's */
static ngx_str_t  ngx_http_comment_moderation_release_headers[] = {
    ngx_string("X-Comment-Moderation-Moderator"),
    ngx_string("X-Comment-Moderation-Client-IP"),
};

/* by NGX_HTTP_CM_*: headers, variables and logs */
ngx_str_t  ngx_http_comment_moderation_decision_names[] = {
    ngx_null_string,
    ngx_string("accept"),
    ngx_string("queue"),
    ngx_string("reject"),
    ngx_string("invalid")
};


ngx_int_t
ngx_http_comment_moderation_handler(ngx_http_request_t *r)
{
    ngx_int_t                                rc;
    ngx_pool_cleanup_t                      *cln;
    ngx_http_comment_moderation_ctx_t       *ctx;
    ngx_http_comment_moderation_loc_conf_t  *cmlcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    if (!cmlcf->enable || !(r->method & NGX_HTTP_POST)) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_comment_moderation_get_ctx(r);

    if (ctx != NULL) {
        if (!ctx->checked) {
            /* still reading the body */
            return NGX_DONE;
        }

        if (ctx->decision == NGX_HTTP_CM_ACCEPT
            || (ctx->decision == NGX_HTTP_CM_QUEUE
                && cmlcf->queue == NGX_HTTP_CM_QUEUE_MARK))
        {
            rc = ngx_http_comment_moderation_forward(r, ctx);
            return rc == NGX_OK ? NGX_DECLINED : rc;
        }

        /* rejected, invalid, or held in Redis: the module answers */
        rc = ngx_http_comment_moderation_answer(r, ctx);
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "comment moderation handler");

    /*
     * The context lives in a pool cleanup too: an internal redirect zeroes
     * r->ctx, and the comment must not be judged (or counted) twice.
     */
    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_comment_moderation_ctx_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_comment_moderation_ctx_t));
    cln->handler = ngx_http_comment_moderation_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_comment_moderation_module);

    /* one id per decision: the backend, the logs and Redis share it */
    if (ngx_http_comment_moderation_new_id(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->headers_in.content_length_n > (off_t) cmlcf->max_body) {
        ctx->checked = 1;
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_TOO_LARGE,
                                            "body larger than "
                                            "comment_moderation_max_body");

        /* a body we do not read cannot be held for a moderator */
        if (ctx->decision == NGX_HTTP_CM_QUEUE
            && cmlcf->queue == NGX_HTTP_CM_QUEUE_HOLD)
        {
            ctx->decision = NGX_HTTP_CM_INVALID;
            ctx->message = NGX_HTTP_CM_MSG_TOO_LARGE;
            ctx->status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (ctx->decision == NGX_HTTP_CM_INVALID) {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            rc = ngx_http_comment_moderation_answer(r, ctx);
            ngx_http_finalize_request(r, rc);
            return NGX_DONE;
        }

        /* the on_invalid policy forwards it unread */
        rc = ngx_http_comment_moderation_forward(r, ctx);
        return rc == NGX_OK ? NGX_DECLINED : rc;
    }

    rc = ngx_http_read_client_request_body(r,
                                     ngx_http_comment_moderation_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /* balances the r->main->count++ of reading the body, as the mirror does */
    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


static void
ngx_http_comment_moderation_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                                 rc;
    ngx_http_comment_moderation_ctx_t        *ctx;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    ctx = ngx_http_comment_moderation_get_ctx(r);
    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    /* the upstream sends the body again, byte for byte */
    r->preserve_body = 1;

    rc = ngx_http_comment_moderation_judge(r, ctx);

    if (rc == NGX_DONE) {
        /* a swarm's copy, refused at once */
        ngx_http_comment_moderation_finish(r, ctx);
        return;
    }

    if (rc != NGX_OK) {
        /* a body that could not be judged, held for a moderator as sent */
        if (ctx->decision == NGX_HTTP_CM_QUEUE && cmcf->redis.name.len
            && ngx_http_comment_moderation_hold(r))
        {
            ngx_http_comment_moderation_store_and_finish(r, ctx);
            return;
        }

        ngx_http_comment_moderation_finish(r, ctx);
        return;
    }

    if (cmcf->redis.name.len
        && ngx_http_comment_moderation_check(r, ctx) == NGX_AGAIN)
    {
        ngx_http_comment_moderation_wait(r, ctx);
        return;
    }

    ngx_http_comment_moderation_decide(r, ctx, NULL);
}


/*
 * Reads and matches the comment.  NGX_OK: ctx->result holds the matches,
 * to be decided; NGX_DONE: a swarm's copy, rejected without matching;
 * otherwise the body was invalid and ctx says what to do.
 */
static ngx_int_t
ngx_http_comment_moderation_judge(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    ngx_int_t                                 rc;
    uint64_t                                  start;
    cm_alloc_t                                a;
    cm_field_e                                bad_field;
    cm_fields_t                               fields;
    cm_engine_rc_e                            erc;
    cm_body_error_t                           berr;
    const char                               *error;
    ngx_table_elt_t                          *ct;
    ngx_http_comment_moderation_loc_conf_t   *cmlcf;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);
    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    rc = ngx_http_comment_moderation_body(r, &ctx->body);

    if (rc == NGX_DECLINED) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_TOO_LARGE,
                                            "body larger than "
                                            "comment_moderation_max_body");
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            "the body could not be read");
        return NGX_DECLINED;
    }

    a.alloc = ngx_http_comment_moderation_palloc;
    a.data = r->pool;

    ngx_memzero(&fields, sizeof(cm_fields_t));
    ct = r->headers_in.content_type;

    if (cm_body_parse(ct ? (char *) ct->value.data : "",
                      ct ? ct->value.len : 0,
                      (char *) ctx->body.data, ctx->body.len, &a, &fields,
                      &berr)
        != CM_BODY_OK)
    {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            berr.reason);
        return NGX_DECLINED;
    }

    rc = ngx_http_comment_moderation_input(r, cmlcf, &fields, &ctx->input,
                                           &error);

    if (rc != NGX_OK) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            rc == NGX_DECLINED
                                            ? error : "out of memory");
        return NGX_DECLINED;
    }

    /* the set published to Redis, if any, else the rule files */
    if (cmcf->redis.name.len) {
        ctx->engine = ngx_http_comment_moderation_live_engine(r,
                                        cmlcf->rule_set->engine, &ctx->version);

        if (ngx_http_comment_moderation_flood_copy(r, ctx) == NGX_OK) {
            return NGX_DONE;
        }

    } else {
        ctx->engine = cmlcf->rule_set->engine;
    }

    ctx->result = ngx_palloc(r->pool, sizeof(cm_result_t));
    if (ctx->result == NULL) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            "out of memory");
        return NGX_DECLINED;
    }

    start = ngx_http_comment_moderation_clock_us();

    erc = cm_engine_match(ctx->engine, &ctx->input, &a, ctx->result,
                          &bad_field);

    ngx_http_comment_moderation_observe(NGX_HTTP_CM_H_ENGINE,
                                  ngx_http_comment_moderation_clock_us() - start);

    if (erc == CM_ENGINE_INVALID_UTF8) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            bad_field == CM_FIELD_TEXT
                                            ? "invalid UTF-8 in the comment"
                                            : "invalid UTF-8 in a field");
        return NGX_DECLINED;
    }

    if (erc != CM_ENGINE_OK) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            "out of memory");
        return NGX_DECLINED;
    }

    if (ctx->result->limit_rule != NULL) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "comment moderation: rule \"%s\" (%s:%ui) hit the "
                      "regex match limit", ctx->result->limit_rule->name,
                      ctx->result->limit_rule->file,
                      (ngx_uint_t) ctx->result->limit_rule->line);
    }

    return NGX_OK;
}


/*
 * The decision, with what Redis knew (facts NULL: nothing).  A comment held
 * or rejected is then kept in Redis, or in the spool, before the answer.
 */
void
ngx_http_comment_moderation_decide(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const cm_facts_t *facts)
{
    u_char                                   *p;
    size_t                                    len;
    cm_result_t                              *res;
    ngx_http_comment_moderation_loc_conf_t   *cmlcf;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);
    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);
    res = ctx->result;

    cm_engine_decide(ctx->engine, facts, res);

    ctx->score = res->score;

    len = cm_result_rule_names(res, NULL, 0);
    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        ngx_http_comment_moderation_invalid(r, ctx, NGX_HTTP_CM_MSG_INVALID,
                                            "out of memory");
        ngx_http_comment_moderation_finish(r, ctx);
        return;
    }

    ctx->rules.len = cm_result_rule_names(res, (char *) p, len + 1);
    ctx->rules.data = p;

    switch (res->decision) {

    case CM_DECISION_REJECT:
        ctx->decision = NGX_HTTP_CM_REJECT;
        ctx->message = NGX_HTTP_CM_MSG_REJECT;
        ctx->status = cmlcf->reject_status;
        ngx_http_comment_moderation_flood_learn(r, ctx);
        break;

    case CM_DECISION_QUEUE:
        ctx->decision = NGX_HTTP_CM_QUEUE;
        ctx->message = NGX_HTTP_CM_MSG_QUEUE;
        ctx->status = NGX_HTTP_ACCEPTED;
        break;

    default: /* CM_DECISION_ACCEPT */
        ctx->decision = NGX_HTTP_CM_ACCEPT;

        if (cmcf->redis.name.len
            && (ngx_uint_t) (ngx_random() % 100) < cmcf->sample_accepted)
        {
            ngx_http_comment_moderation_keep_accepted(r, ctx);
        }

        ngx_http_comment_moderation_finish(r, ctx);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "comment moderation: %V, score %i, rules: %V (%s)%s%V",
                  &ngx_http_comment_moderation_decision_names[ctx->decision],
                  ctx->score, &ctx->rules, res->reason,
                  ctx->id.len ? ", id " : "", &ctx->id);

    if (cmcf->redis.name.len == 0
        || (ctx->decision == NGX_HTTP_CM_QUEUE
            && !ngx_http_comment_moderation_hold(r)))
    {
        ngx_http_comment_moderation_finish(r, ctx);
        return;
    }

    ngx_http_comment_moderation_store_and_finish(r, ctx);
}


static ngx_uint_t
ngx_http_comment_moderation_hold(ngx_http_request_t *r)
{
    ngx_http_comment_moderation_loc_conf_t  *cmlcf;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    return cmlcf->queue == NGX_HTTP_CM_QUEUE_HOLD;
}


/* keeps the comment in Redis (or the spool), then the answer */
static void
ngx_http_comment_moderation_store_and_finish(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->decision == NGX_HTTP_CM_QUEUE) {
        ctx->message = NGX_HTTP_CM_MSG_QUEUE;
        ctx->status = NGX_HTTP_ACCEPTED;
    }

    rc = ngx_http_comment_moderation_keep(r, ctx);

    if (rc == NGX_AGAIN) {
        ngx_http_comment_moderation_wait(r, ctx);
        return;
    }

    ngx_http_comment_moderation_kept(r, ctx, rc);
}


/* After keeping a held or rejected comment: NGX_OK in Redis or the spool. */
void
ngx_http_comment_moderation_kept(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "comment moderation: comment %V could be kept neither "
                      "in redis nor in the spool", &ctx->id);

        /* never say "held" for a comment nobody will see */
        if (ctx->decision == NGX_HTTP_CM_QUEUE) {
            ctx->decision = NGX_HTTP_CM_INVALID;
            ctx->message = NGX_HTTP_CM_MSG_UNAVAILABLE;
            ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        }
    }

    ngx_http_comment_moderation_finish(r, ctx);
}


/* The request waits for Redis without a socket of its own to watch. */
static void
ngx_http_comment_moderation_wait(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    ctx->waiting = 1;

    /* a client that goes away ends the request: the cleanup cancels the call */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
}


/* Judged: the phases go on, and the handler acts on the decision. */
static void
ngx_http_comment_moderation_finish(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    ngx_uint_t         waiting;
    ngx_connection_t  *c;

    c = r->connection;
    ctx->checked = 1;

    /* the phases may end the request and free its pool, ctx with it (a
       client gone over HTTP/2): what comes after must not read ctx */
    waiting = ctx->waiting;
    ctx->waiting = 0;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);

    if (waiting) {
        /* resumed from a Redis callback, not from nginx's request code */
        ngx_http_run_posted_requests(c);
    }
}


/*
 * The whole body in one piece: in memory as nginx read it, or read back from
 * the temp file nginx spooled it to.  NGX_DECLINED if over max_body.
 */
static ngx_int_t
ngx_http_comment_moderation_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char                                  *p;
    off_t                                    len;
    ssize_t                                  n;
    ngx_buf_t                               *b;
    ngx_chain_t                             *cl;
    ngx_http_comment_moderation_loc_conf_t  *cmlcf;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    if (len > (off_t) cmlcf->max_body) {
        return NGX_DECLINED;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "comment moderation: short read of the body "
                          "from \"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


/* Picks the comment's roles out of the body and adds request metadata. */
static ngx_int_t
ngx_http_comment_moderation_input(ngx_http_request_t *r,
    ngx_http_comment_moderation_loc_conf_t *cmlcf, cm_fields_t *fields,
    cm_input_t *in, const char **error)
{
    size_t             j;
    ngx_str_t          user, section;
    ngx_uint_t         i;
    ngx_table_elt_t   *h;
    const cm_field_t  *f;

    ngx_memzero(in, sizeof(cm_input_t));

    /*
     * A role's field sent twice is refused: we would judge one copy and
     * the backend might publish the other (PHP keeps the last).
     */
    for (j = 0; j < fields->nfields; j++) {
        f = &fields->fields[j];

        for (i = 0; i < NGX_HTTP_CM_BODY_ROLES; i++) {
            if (cmlcf->field[i].len == 0    /* a role not in the body */
                || f->name_len != cmlcf->field[i].len
                || ngx_strncmp(f->name, cmlcf->field[i].data, f->name_len) != 0)
            {
                continue;
            }

            if (in->value[i] != NULL) {
                *error = "a field was sent more than once";
                return NGX_DECLINED;
            }

            in->value[i] = f->value;
            in->len[i] = f->value_len;
        }
    }

    if (in->value[CM_FIELD_TEXT] == NULL) {
        *error = "no comment text field";
        return NGX_DECLINED;
    }

    /* c->addr_text is the client's address after the realip module */
    in->value[CM_FIELD_IP] = (char *) r->connection->addr_text.data;
    in->len[CM_FIELD_IP] = r->connection->addr_text.len;

    h = r->headers_in.user_agent;
    if (h != NULL) {
        in->value[CM_FIELD_USER_AGENT] = (char *) h->value.data;
        in->len[CM_FIELD_USER_AGENT] = h->value.len;
    }

    h = r->headers_in.referer;
    if (h != NULL) {
        in->value[CM_FIELD_REFERER] = (char *) h->value.data;
        in->len[CM_FIELD_REFERER] = h->value.len;
    }

    if (cmlcf->user != NULL) {
        if (ngx_http_complex_value(r, cmlcf->user, &user) != NGX_OK) {
            return NGX_ERROR;
        }

        if (user.len) {
            in->value[CM_FIELD_USER] = (char *) user.data;
            in->len[CM_FIELD_USER] = user.len;
        }
    }

    /*
     * The site's configuration knows its sections better than a form field
     * a reader could change: a non-empty comment_moderation_section wins
     * over the body's section= field; an empty one leaves the body's.
     */
    if (cmlcf->section != NULL) {
        if (ngx_http_complex_value(r, cmlcf->section, &section) != NGX_OK) {
            return NGX_ERROR;
        }

        if (section.len) {
            in->value[CM_FIELD_SECTION] = (char *) section.data;
            in->len[CM_FIELD_SECTION] = section.len;
        }
    }

    return NGX_OK;
}


/* A body we cannot judge: the on_invalid policy says what becomes of it. */
static void
ngx_http_comment_moderation_invalid(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_uint_t message,
    const char *reason)
{
    ngx_http_comment_moderation_loc_conf_t  *cmlcf;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    ctx->error.data = (u_char *) reason;
    ctx->error.len = ngx_strlen(reason);

    switch (cmlcf->on_invalid) {

    case NGX_HTTP_CM_ON_INVALID_ACCEPT:
        ctx->decision = NGX_HTTP_CM_ACCEPT;
        break;

    case NGX_HTTP_CM_ON_INVALID_QUEUE:
        ctx->decision = NGX_HTTP_CM_QUEUE;
        break;

    default: /* NGX_HTTP_CM_ON_INVALID_REJECT */
        ctx->decision = NGX_HTTP_CM_INVALID;
        ctx->message = message;
        ctx->status = message == NGX_HTTP_CM_MSG_TOO_LARGE
                      ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                      : NGX_HTTP_BAD_REQUEST;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "comment moderation: invalid comment (%V): %V",
                  &ctx->error,
                  &ngx_http_comment_moderation_decision_names[ctx->decision]);
}


/* The comment goes on to the backend, with the verdict in request headers. */
static ngx_int_t
ngx_http_comment_moderation_forward(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    u_char      *p;
    ngx_str_t    score, none;
    ngx_uint_t   i;

    if (ngx_http_comment_moderation_set_header(r,
                &ngx_http_comment_moderation_header,
                &ngx_http_comment_moderation_decision_names[ctx->decision])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    score.data = p;
    score.len = ngx_sprintf(p, "%i", ctx->score) - p;

    if (ngx_http_comment_moderation_set_header(r,
                &ngx_http_comment_moderation_header_score, &score)
        != NGX_OK
        || ngx_http_comment_moderation_set_header(r,
                &ngx_http_comment_moderation_header_rules, &ctx->rules)
        != NGX_OK
        || ngx_http_comment_moderation_set_header(r,
                &ngx_http_comment_moderation_header_error, &ctx->error)
        != NGX_OK
        || ngx_http_comment_moderation_set_header(r,
                &ngx_http_comment_moderation_header_id, &ctx->id)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a comment that poses as approved by a moderator: emptied */
    ngx_str_null(&none);

    for (i = 0; i < sizeof(ngx_http_comment_moderation_release_headers)
                    / sizeof(ngx_str_t); i++)
    {
        if (ngx_http_comment_moderation_set_header(r,
                    &ngx_http_comment_moderation_release_headers[i], &none)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Sets a request header for the upstream.  A client could send these
 * headers itself to pose as judged: every copy it sent is overwritten.
 */
static ngx_int_t
ngx_http_comment_moderation_set_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char           *low;
    ngx_table_elt_t  *h;

    low = ngx_pnalloc(r->pool, name->len + 1);
    if (low == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(low, name->data, name->len);
    low[name->len] = '\0';

    if (ngx_http_comment_moderation_header_in(r, (char *) low, value) != NULL
        || value->len == 0)
    {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key = *name;
    h->value = *value;
    h->lowcase_key = low;
    h->hash = ngx_hash_key(low, name->len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


ngx_http_comment_moderation_ctx_t *
ngx_http_comment_moderation_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                 *cln;
    ngx_http_comment_moderation_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_comment_moderation_module);
    if (ctx != NULL) {
        return ctx;
    }

    /* after an internal redirect: find it in the pool cleanups */
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_comment_moderation_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_comment_moderation_module);
            return ctx;
        }
    }

    return NULL;
}


/* the request is going: a Redis reply must not find it */
static void
ngx_http_comment_moderation_cleanup(void *data)
{
    ngx_http_comment_moderation_ctx_t  *ctx = data;

    ngx_http_comment_moderation_redis_cancel(ctx->call);
    ctx->call = NULL;
}


void *
ngx_http_comment_moderation_palloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/*
 * The first request header "lowcase_name" the client sent, or NULL.  With
 * "value", that copy gets the value, and every further copy is renamed
 * X-Forged-<name> so the upstream sees one header of the name, ours.
 */
ngx_table_elt_t *
ngx_http_comment_moderation_header_in(ngx_http_request_t *r,
    const char *lowcase_name, ngx_str_t *value)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *first;

    len = ngx_strlen(lowcase_name);
    first = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return first;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != len
            || ngx_strncmp(h[i].lowcase_key, lowcase_name, len) != 0)
        {
            continue;
        }

        if (value == NULL) {
            return &h[i];
        }

        if (first == NULL) {
            first = &h[i];
            first->value = *value;
            continue;
        }

        p = ngx_pnalloc(r->pool, sizeof("x-forged-") - 1 + len);
        if (p == NULL) {
            return NULL;
        }

        h[i].key.data = p;
        h[i].key.len = sizeof("x-forged-") - 1 + len;
        ngx_memcpy(ngx_cpymem(p, "X-Forged-", sizeof("X-Forged-") - 1),
                   first->key.data, len);

        h[i].lowcase_key = ngx_pnalloc(r->pool, h[i].key.len);
        if (h[i].lowcase_key == NULL) {
            return NULL;
        }

        ngx_strlow(h[i].lowcase_key, h[i].key.data, h[i].key.len);
        h[i].hash = ngx_hash_key(h[i].lowcase_key, h[i].key.len);
    }
}
