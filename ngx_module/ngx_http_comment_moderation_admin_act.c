/*
 * The moderators' actions, on one comment or a selection, one comment after
 * the other:
 *
 *   approve, approve-trust   admin_claim.lua (the comment is "releasing",
 *                            nobody else can release it), the release to
 *                            the backend (_release.c), admin_settle.lua
 *                            ("approved", or "release-failed" to retry)
 *   reject, reject-block     admin_reject.lua
 *
 * Each script writes the audit log and feeds the reputation counters.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_lua.h"


typedef struct {
    ngx_str_t                    action;
    ngx_uint_t                   release;    /* approve or approve-trust */
    ngx_str_t                   *ids;
    ngx_uint_t                   nids;
    ngx_uint_t                   next;
    ngx_uint_t                   bulk;
    ngx_str_t                    block;      /* author | network | "" */
    ngx_str_t                    hours;
    ngx_str_t                    keep;
    ngx_str_t                   *results;    /* JSON, one per id */
    ngx_uint_t                   status;     /* of the last result */

    /* the release in flight */
    ngx_str_t                    token;
    ngx_str_t                    from;
    ngx_http_comment_moderation_release_t  rel;
} ngx_http_comment_moderation_act_t;


static ngx_int_t ngx_http_comment_moderation_act_next(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act);
static void ngx_http_comment_moderation_act_continue(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, ngx_int_t rc);
static void ngx_http_comment_moderation_act_claimed(void *data,
    redisReply *reply);
static void ngx_http_comment_moderation_act_unclaim(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act);
static void ngx_http_comment_moderation_act_unclaimed(void *data,
    redisReply *reply);
static void ngx_http_comment_moderation_act_released(ngx_http_request_t *r,
    void *data, ngx_uint_t status);
static ngx_int_t ngx_http_comment_moderation_act_settle(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, ngx_uint_t status,
    const char *error);
static void ngx_http_comment_moderation_act_decided(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_act_result(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_act_failed(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, ngx_uint_t status,
    const char *error);
static ngx_int_t ngx_http_comment_moderation_act_answer(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act);
static ngx_int_t ngx_http_comment_moderation_act_copy(ngx_http_request_t *r,
    ngx_str_t *dst, redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_act_now(ngx_http_request_t *r,
    ngx_str_t *now);


static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_claim_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_settle_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_reject_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_unclaim_script;


void
ngx_http_comment_moderation_admin_act_init(void)
{
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_claim_script,
        ngx_http_comment_moderation_lua_admin_claim);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_settle_script,
        ngx_http_comment_moderation_lua_admin_settle);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_reject_script,
        ngx_http_comment_moderation_lua_admin_reject);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_unclaim_script,
        ngx_http_comment_moderation_lua_admin_unclaim);
}


/* Starts the action; NGX_DONE, or a status to finalize the request with. */
ngx_int_t
ngx_http_comment_moderation_admin_act(ngx_http_request_t *r,
    ngx_str_t *action, ngx_str_t *ids, ngx_uint_t nids, ngx_uint_t bulk,
    cm_fields_t *args)
{
    u_char                                   *p;
    ngx_int_t                                 hours;
    ngx_uint_t                                i;
    const cm_field_t                         *f;
    ngx_http_comment_moderation_act_t        *act;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    static const char  *actions[] = {
        "approve", "approve-trust", "reject", "reject-block", NULL
    };

    for (i = 0; actions[i]; i++) {
        if (ngx_strlen(actions[i]) == action->len
            && ngx_strncmp(actions[i], action->data, action->len) == 0)
        {
            break;
        }
    }

    if (actions[i] == NULL) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_FOUND,
                                                  "unknown action");
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    act = ngx_pcalloc(r->pool, sizeof(ngx_http_comment_moderation_act_t));
    if (act == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    act->action = *action;
    act->release = (i < 2);
    act->ids = ids;
    act->nids = nids;
    act->bulk = bulk;

    act->results = ngx_pcalloc(r->pool, nids * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN);
    if (act->results == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    act->keep.data = p;
    act->keep.len = ngx_sprintf(p, "%T", cmcf->keep_rejected) - p;
    p += act->keep.len;

    hours = 0;

    if (i == 3) {
        f = cm_fields_find(args, "block", 5);
        if (f == NULL
            || !((f->value_len == 6 && ngx_strncmp(f->value, "author", 6) == 0)
                 || (f->value_len == 7
                     && ngx_strncmp(f->value, "network", 7) == 0)))
        {
            return ngx_http_comment_moderation_admin_error(r,
                                      NGX_HTTP_BAD_REQUEST,
                                      "\"block\": author or network");
        }

        act->block.data = (u_char *) f->value;
        act->block.len = f->value_len;

        f = cm_fields_find(args, "hours", 5);
        hours = f ? ngx_atoi((u_char *) f->value, f->value_len) : 24;

        if (hours <= 0 || hours > 24 * 365) {
            return ngx_http_comment_moderation_admin_error(r,
                                      NGX_HTTP_BAD_REQUEST,
                                      "\"hours\": 1 to 8760");
        }
    }

    act->hours.data = p;
    act->hours.len = ngx_sprintf(p, "%i", hours) - p;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    ctx->act = act;

    return ngx_http_comment_moderation_act_next(r, act);
}


/* The next comment, or the answer when all are done. */
static ngx_int_t
ngx_http_comment_moderation_act_next(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act)
{
    ngx_int_t                                 rc;
    ngx_str_t                                 args[7];
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    while (act->next < act->nids) {
        args[0] = act->ids[act->next];
        args[2] = ctx->user;

        if (ngx_http_comment_moderation_act_now(r, &args[1]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (act->release) {
            act->token.data = ngx_pnalloc(r->pool, 32);
            if (act->token.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            /* this release's own: a late settle of another cannot end it */
            act->token.len = ngx_sprintf(act->token.data, "%xi%08xD%08xD",
                                         (ngx_int_t) ngx_pid,
                                         (uint32_t) ngx_random(),
                                         (uint32_t) ngx_random())
                             - act->token.data;
            args[3] = act->token;

            rc = ngx_http_comment_moderation_admin_eval(r,
                     &ngx_http_comment_moderation_claim_script, args, 4,
                     ngx_http_comment_moderation_act_claimed);

        } else {
            args[3] = act->action;
            args[4] = act->block;
            args[5] = act->hours;
            args[6] = act->keep;

            rc = ngx_http_comment_moderation_admin_eval(r,
                     &ngx_http_comment_moderation_reject_script, args, 7,
                     ngx_http_comment_moderation_act_decided);
        }

        if (rc != NGX_DECLINED) {
            return rc;
        }

        /* Redis is away: this comment stays as it was, and so do the rest */
        rc = ngx_http_comment_moderation_act_failed(r, act,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "Redis is unavailable");
        if (rc != NGX_OK) {
            return rc;
        }

        act->next++;
    }

    return ngx_http_comment_moderation_act_answer(r, act);
}


/* NGX_OK: this comment is done, on to the next; else finalize with rc */
static void
ngx_http_comment_moderation_act_continue(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, ngx_int_t rc)
{
    if (rc == NGX_OK) {
        act->next++;
        rc = ngx_http_comment_moderation_act_next(r, act);
    }

    if (rc != NGX_DONE) {
        ngx_http_comment_moderation_admin_finalize(r, rc);
    }
}


/* admin_claim.lua answered: release the comment, or record why not */
static void
ngx_http_comment_moderation_act_claimed(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_int_t                                 rc;
    ngx_uint_t                                i;
    ngx_str_t                                *dst[8];
    ngx_http_comment_moderation_act_t        *act;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    act = ctx->act;

    if (reply == NULL) {
        ngx_http_comment_moderation_act_unclaim(r, act);
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 9
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer != NGX_HTTP_OK)
    {
        rc = ngx_http_comment_moderation_act_result(r, act, reply);
        goto next;
    }

    dst[0] = &act->from;
    dst[1] = &act->rel.method;
    dst[2] = &act->rel.uri;
    dst[3] = &act->rel.content_type;
    dst[4] = &act->rel.body;
    dst[5] = &act->rel.ip;
    dst[6] = &act->rel.user_agent;
    dst[7] = &act->rel.referer;

    for (i = 0; i < 8; i++) {
        if (ngx_http_comment_moderation_act_copy(r, dst[i],
                                                 reply->element[1 + i])
            != NGX_OK)
        {
            ngx_http_comment_moderation_admin_finalize(r,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    act->rel.id = act->ids[act->next];
    act->rel.moderator = ctx->user;

    if (ngx_http_comment_moderation_release(r, &act->rel,
                                        ngx_http_comment_moderation_act_released,
                                        act)
        == NGX_OK)
    {
        return;
    }

    /* claimed, not sent: release-failed, so that it can be retried */
    rc = ngx_http_comment_moderation_act_settle(r, act, 0,
                                                "the release did not start");
    if (rc == NGX_DONE) {
        return;
    }

next:

    ngx_http_comment_moderation_act_continue(r, act, rc);
}


/*
 * The claim's answer was lost (Redis too slow, or gone): if Redis made it,
 * nobody releases the comment, and it would wait "releasing" until the
 * claim goes stale.  The unclaim follows the claim on the connection, so
 * Redis runs it after; it needs no request to answer to.
 */
static void
ngx_http_comment_moderation_act_unclaim(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act)
{
    size_t                                    argvlen[7];
    const char                               *argv[7];
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    /* argv[0..1] are EVALSHA and the script's sha1 */
    argv[2] = "0";
    argvlen[2] = 1;
    argv[3] = (char *) cmcf->prefix.data;
    argvlen[3] = cmcf->prefix.len;
    argv[4] = (char *) act->ids[act->next].data;
    argvlen[4] = act->ids[act->next].len;
    argv[5] = (char *) act->token.data;
    argvlen[5] = act->token.len;
    argv[6] = (char *) act->keep.data;
    argvlen[6] = act->keep.len;

    if (ngx_http_comment_moderation_redis_eval(
            &ngx_http_comment_moderation_unclaim_script, 7, argv, argvlen,
            ngx_http_comment_moderation_act_unclaimed, NULL, 0)
        == NULL)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "comment moderation: comment %V: Redis is away, its "
                      "claim (if made) stays until it goes stale",
                      &act->ids[act->next]);
    }
}


static void
ngx_http_comment_moderation_act_unclaimed(void *data, redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "comment moderation: a claim whose answer was lost "
                      "was given back");
    }
}


/* the backend answered (status), or did not (0) */
static void
ngx_http_comment_moderation_act_released(ngx_http_request_t *r, void *data,
    ngx_uint_t status)
{
    ngx_http_comment_moderation_act_t *act = data;

    ngx_int_t  rc;

    rc = ngx_http_comment_moderation_act_settle(r, act, status, NULL);

    ngx_http_comment_moderation_act_continue(r, act, rc);
}


/* Records the release's outcome with admin_settle.lua. */
static ngx_int_t
ngx_http_comment_moderation_act_settle(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, ngx_uint_t status,
    const char *error)
{
    u_char                                   *p;
    ngx_int_t                                 rc;
    ngx_str_t                                 args[10];
    ngx_uint_t                                delivered, level;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    /* a form post answered with a redirect was taken, as with 2xx */
    delivered = (error == NULL && status >= 200 && status < 400);

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 64);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args[7].data = p;
    p = ngx_sprintf(p, "%ui", status);
    args[7].len = p - args[7].data;

    args[8].data = p;
    if (error) {
        p = ngx_sprintf(p, "%s", error);

    } else if (status == 0) {
        p = ngx_sprintf(p, "no answer from the backend");

    } else if (!delivered) {
        p = ngx_sprintf(p, "the backend answered %ui", status);
    }

    args[8].len = p - args[8].data;

    args[0] = act->rel.id;
    args[2] = act->token;

    if (ngx_http_comment_moderation_act_now(r, &args[1]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&args[3], "approved");
    if (!delivered) {
        ngx_str_set(&args[3], "release-failed");
    }

    args[4] = ctx->user;
    args[5] = act->action;
    args[6] = act->from;
    args[9] = act->keep;

    level = delivered ? NGX_LOG_INFO : NGX_LOG_ERR;
    ngx_http_comment_moderation_count(delivered ? NGX_HTTP_CM_M_RELEASED
                                                : NGX_HTTP_CM_M_RELEASE_FAILED);
    ngx_log_error(level, r->connection->log,
                  0, "comment moderation: comment %V approved by \"%V\" %s%V",
                  &act->rel.id, &ctx->user,
                  delivered ? "reached the backend" : "was not released: ",
                  &args[8]);

    rc = ngx_http_comment_moderation_admin_eval(r,
             &ngx_http_comment_moderation_settle_script, args, 10,
             ngx_http_comment_moderation_act_decided);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    /* the backend has it (or not) and Redis cannot be told: say so loudly,
       the comment stays "releasing" until a moderator approves it again */
    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "comment moderation: comment %V: the outcome of its release "
                  "(status %V) could not be recorded in Redis",
                  &act->rel.id, &args[7]);

    return ngx_http_comment_moderation_act_failed(r, act,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "released or not, Redis could "
                                              "not record it");
}


/* admin_settle.lua or admin_reject.lua answered */
static void
ngx_http_comment_moderation_act_decided(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_int_t                                 rc;
    ngx_http_comment_moderation_act_t        *act;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    act = ctx->act;

    rc = ngx_http_comment_moderation_act_result(r, act, reply);

    ngx_http_comment_moderation_act_continue(r, act, rc);
}


/* {status, JSON} of a script: the result of the current comment */
static ngx_int_t
ngx_http_comment_moderation_act_result(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "comment moderation: \"%V\" of comment %V: Redis %s%s",
                      &act->action, &act->ids[act->next],
                      reply ? "answered " : "did not answer",
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : "");

        return ngx_http_comment_moderation_act_failed(r, act,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "Redis did not answer");
    }

    act->status = reply->element[0]->integer;

    return ngx_http_comment_moderation_act_copy(r, &act->results[act->next],
                                                reply->element[1]);
}


/* a result of the module's own, when Redis could not give one */
static ngx_int_t
ngx_http_comment_moderation_act_failed(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act, ngx_uint_t status,
    const char *error)
{
    u_char     *p;
    ngx_str_t  *id, *res;

    id = &act->ids[act->next];
    res = &act->results[act->next];

    p = ngx_pnalloc(r->pool, id->len + ngx_strlen(error) + 64);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    res->data = p;
    res->len = ngx_sprintf(p, "{\"id\":\"%V\",\"ok\":false,"
                           "\"state\":\"unknown\",\"error\":\"%s\"}",
                           id, error)
               - p;

    act->status = status;

    return NGX_OK;
}


/* one result as it is; a selection's as {"results": [...]} */
static ngx_int_t
ngx_http_comment_moderation_act_answer(ngx_http_request_t *r,
    ngx_http_comment_moderation_act_t *act)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   json;
    ngx_uint_t  i;

    if (!act->bulk) {
        return ngx_http_comment_moderation_admin_send(r, act->status,
                                                      &act->results[0]);
    }

    len = sizeof("{\"results\":[]}");
    for (i = 0; i < act->nids; i++) {
        len += act->results[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.data = p;
    p = ngx_cpymem(p, "{\"results\":[", sizeof("{\"results\":[") - 1);

    for (i = 0; i < act->nids; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, act->results[i].data, act->results[i].len);
    }

    p = ngx_cpymem(p, "]}", 2);
    json.len = p - json.data;

    return ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);
}


/* the reply is freed after its handler: what is kept is copied */
static ngx_int_t
ngx_http_comment_moderation_act_copy(ngx_http_request_t *r, ngx_str_t *dst,
    redisReply *reply)
{
    dst->len = 0;
    dst->data = (u_char *) "";

    if (reply->type != REDIS_REPLY_STRING || reply->len == 0) {
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(r->pool, reply->len);
    if (dst->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(dst->data, reply->str, reply->len);
    dst->len = reply->len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_act_now(ngx_http_request_t *r, ngx_str_t *now)
{
    now->data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (now->data == NULL) {
        return NGX_ERROR;
    }

    now->len = ngx_sprintf(now->data, "%L",
                           ngx_http_comment_moderation_now_ms())
               - now->data;

    return NGX_OK;
}
