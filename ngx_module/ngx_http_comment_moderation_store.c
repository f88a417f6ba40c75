/*
 * The comment's Redis work.
 *
 * check: one EVALSHA per comment before the decision (ngx_module/lua/
 *        check.lua): reputation of the author, address and network, the
 *        sliding windows the rules' limits need, and rule hit counters.
 * keep:  one more for a comment that is held or rejected (store.lua): the
 *        whole comment and the original request, indexed for moderators.
 *        When Redis cannot take it, it goes to the local spool instead.
 *
 * Identities are keyed hashes (HMAC-SHA1 with comment_moderation_secret),
 * so reputation keys hold no plain emails or addresses.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_lua.h"
#include "ngx_http_comment_moderation_spool.h"

#include <ngx_sha1.h>


#define NGX_HTTP_CM_CHECK_ARGS    (4 + 3 + 2 + 2 + 1 + CM_ENGINE_MAX_WINDOWS * 3 \
                                   + 4 + 64)
/* store.lua's arguments: 2 for EVALSHA, numkeys, 10 keys, 5 fixed ARGV, a
   pair per role present, 14 pairs more (author ... body) */
#define NGX_HTTP_CM_KEEP_ARGS     (2 + 1 + 10 + 5 + 2 * CM_FIELD_N + 2 * 14)


typedef struct {
    u_char   hash[CM_IDENT_N][NGX_HTTP_CM_HASH_LEN];
} ngx_http_comment_moderation_idents_t;


static void ngx_http_comment_moderation_checked(void *data, redisReply *reply);
static void ngx_http_comment_moderation_stored(void *data, redisReply *reply);
static void ngx_http_comment_moderation_sampled(void *data, redisReply *reply);
static int ngx_http_comment_moderation_keep_args(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const char **argv,
    size_t *argvlen);
static void ngx_http_comment_moderation_respool(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const char *why);
static ngx_int_t ngx_http_comment_moderation_spool_it(ngx_http_request_t *r,
    int argc, const char **argv, size_t *argvlen);
static void ngx_http_comment_moderation_idents(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx,
    ngx_http_comment_moderation_idents_t *id);
static u_char *ngx_http_comment_moderation_key(ngx_pool_t *pool,
    ngx_str_t *prefix, const char *name, const u_char *hash, size_t hash_len);
static u_char *ngx_http_comment_moderation_article_key(ngx_http_request_t *r,
    ngx_str_t *prefix, ngx_str_t *secret, u_char *article, size_t len);


/* the identity keys, KEYS[1..5] of check.lua and KEYS[4..8] of store.lua */
static const struct {
    const char  *name;
    cm_ident_e   ident;
}  ngx_http_comment_moderation_rep_keys[] = {
    { "rep:a:", CM_IDENT_AUTHOR }, { "rep:i:", CM_IDENT_IP },
    { "rep:n:", CM_IDENT_NETWORK }, { "rej24:a:", CM_IDENT_AUTHOR },
    { "rej24:n:", CM_IDENT_NETWORK }
};

#define NGX_HTTP_CM_REP_KEYS  5



static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_check_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_store_script;


ngx_http_comment_moderation_redis_script_t *
ngx_http_comment_moderation_store_scripts_init(void)
{
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_check_script,
        ngx_http_comment_moderation_lua_check);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_store_script,
        ngx_http_comment_moderation_lua_store);

    /* the spool replays keep calls */
    return &ngx_http_comment_moderation_store_script;
}


/*
 * Sends the check.  NGX_AGAIN: the reply (or the timeout) will call
 * ngx_http_comment_moderation_decide(); NGX_DECLINED: Redis is unavailable,
 * decide without it.
 */
ngx_int_t
ngx_http_comment_moderation_check(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    int                                       argc, nkeys;
    u_char                                   *hour, *p;
    size_t                                    i, nwin, nrules;
    int64_t                                   now;
    size_t                                    argvlen[NGX_HTTP_CM_CHECK_ARGS];
    const char                               *argv[NGX_HTTP_CM_CHECK_ARGS];
    const cm_window_t                        *win;
    ngx_http_comment_moderation_idents_t      id;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    static const char  *ident_names[] = { "a", "i", "n", "t" };

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);


    ngx_http_comment_moderation_idents(r, ctx, &id);

    nwin = cm_engine_windows(ctx->engine, &win);

    /* EVALSHA sha numkeys: filled in by _redis_eval() at 0 and 1 */
    argc = 3;

    for (i = 0; i < NGX_HTTP_CM_REP_KEYS; i++) {
        argv[argc] = (char *) ngx_http_comment_moderation_key(r->pool,
                              &cmcf->prefix,
                              ngx_http_comment_moderation_rep_keys[i].name,
                              id.hash[ngx_http_comment_moderation_rep_keys[i].ident],
                              NGX_HTTP_CM_HASH_LEN);
        argvlen[argc] = ngx_strlen(argv[argc]);
        argc++;
    }

    /* a moderator's block of the author, of the network */
    for (i = 0; i < 2; i++) {
        argv[argc] = (char *) ngx_http_comment_moderation_key(r->pool,
                              &cmcf->prefix, i == 0 ? "block:a:" : "block:n:",
                              id.hash[i == 0 ? CM_IDENT_AUTHOR
                                             : CM_IDENT_NETWORK],
                              NGX_HTTP_CM_HASH_LEN);
        argvlen[argc] = ngx_strlen(argv[argc]);
        argc++;
    }

    hour = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (hour == NULL) {
        return NGX_DECLINED;
    }

    p = ngx_sprintf(hour, "%T", ngx_time() / 3600);
    argv[argc] = (char *) ngx_http_comment_moderation_key(r->pool,
                               &cmcf->prefix, "hits:", hour, p - hour);
    argvlen[argc++] = cmcf->prefix.len + 5 + (p - hour);

    for (i = 0; i < nwin; i++) {
        p = ngx_pnalloc(r->pool, cmcf->prefix.len + sizeof("rate:x::")
                                 + NGX_HTTP_CM_HASH_LEN + NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_DECLINED;
        }

        argv[argc] = (char *) p;
        p = ngx_sprintf(p, "%Vrate:%s:%*s:%ui", &cmcf->prefix,
                        ident_names[win[i].ident],
                        (size_t) NGX_HTTP_CM_HASH_LEN, id.hash[win[i].ident],
                        (ngx_uint_t) win[i].ms);
        argvlen[argc] = p - (u_char *) argv[argc];
        argc++;
    }

    nkeys = argc - 3;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN * (4 + 2 * nwin));
    if (p == NULL) {
        return NGX_DECLINED;
    }

    argv[2] = (char *) p;
    p = ngx_sprintf(p, "%d", nkeys);
    argvlen[2] = p - (u_char *) argv[2];

#define NGX_HTTP_CM_ARG_NUM(fmt, v)                                            \
    argv[argc] = (char *) p;                                                   \
    p = ngx_sprintf(p, fmt, v);                                                \
    argvlen[argc] = p - (u_char *) argv[argc];                                 \
    argc++

    now = ngx_http_comment_moderation_now_ms();

    NGX_HTTP_CM_ARG_NUM("%L", now);
    argv[argc] = (char *) ctx->id.data;
    argvlen[argc++] = ctx->id.len;
    NGX_HTTP_CM_ARG_NUM("%T", cmcf->reputation_ttl);
    NGX_HTTP_CM_ARG_NUM("%uz", nwin);

    for (i = 0; i < nwin; i++) {
        NGX_HTTP_CM_ARG_NUM("%ui", (ngx_uint_t) win[i].ms);
        NGX_HTTP_CM_ARG_NUM("%L", now - (int64_t) win[i].ms);
    }

#undef NGX_HTTP_CM_ARG_NUM

    /* the hit counters of every rule that fired, shadow rules too */
    nrules = ctx->result->nhits;
    for (i = 0; i < nrules && argc < NGX_HTTP_CM_CHECK_ARGS; i++) {
        argv[argc] = ctx->result->hits[i].rule->name;
        argvlen[argc++] = ngx_strlen(ctx->result->hits[i].rule->name);
    }

    ctx->call = ngx_http_comment_moderation_redis_eval(
                    &ngx_http_comment_moderation_check_script, argc, argv,
                    argvlen, ngx_http_comment_moderation_checked, r, 1);

    return ctx->call ? NGX_AGAIN : NGX_DECLINED;
}


static void
ngx_http_comment_moderation_checked(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    size_t                              i, n, want;
    cm_facts_t                          facts, *known;
    ngx_http_comment_moderation_ctx_t  *ctx;

    /* the check's counters, in check.lua's order */
    static const struct {
        cm_ident_e  ident;
        cm_count_e  count;
    }  order[] = {
        { CM_IDENT_AUTHOR, CM_COUNT_SEEN }, { CM_IDENT_AUTHOR, CM_COUNT_QUEUED },
        { CM_IDENT_AUTHOR, CM_COUNT_APPROVED },
        { CM_IDENT_AUTHOR, CM_COUNT_REJECTED },
        { CM_IDENT_IP, CM_COUNT_SEEN }, { CM_IDENT_IP, CM_COUNT_QUEUED },
        { CM_IDENT_IP, CM_COUNT_APPROVED }, { CM_IDENT_IP, CM_COUNT_REJECTED },
        { CM_IDENT_NETWORK, CM_COUNT_SEEN },
        { CM_IDENT_NETWORK, CM_COUNT_QUEUED },
        { CM_IDENT_NETWORK, CM_COUNT_APPROVED },
        { CM_IDENT_NETWORK, CM_COUNT_REJECTED },
        { CM_IDENT_AUTHOR, CM_COUNT_REJECTED_24H },
        { CM_IDENT_NETWORK, CM_COUNT_REJECTED_24H },
        { CM_IDENT_AUTHOR, CM_COUNT_TRUSTED },
        { CM_IDENT_AUTHOR, CM_COUNT_BLOCKED },
        { CM_IDENT_NETWORK, CM_COUNT_BLOCKED }
    };

    ctx = ngx_http_comment_moderation_get_ctx(r);
    ctx->call = NULL;

    ngx_memzero(&facts, sizeof(cm_facts_t));
    known = NULL;

    n = sizeof(order) / sizeof(order[0]);
    want = n + cm_engine_windows(ctx->engine, NULL);

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements == want)
    {
        for (i = 0; i < want; i++) {
            if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
                break;
            }

            if (i < n) {
                facts.count[order[i].ident][order[i].count] =
                                                 reply->element[i]->integer;
            } else {
                facts.window[i - n] = reply->element[i]->integer;
            }
        }

        if (i == want) {
            for (i = 0; i < CM_IDENT_TEXT; i++) {
                facts.count[i][CM_COUNT_ACCEPTED] =
                    ngx_max(0, facts.count[i][CM_COUNT_SEEN]
                               - facts.count[i][CM_COUNT_QUEUED]
                               - facts.count[i][CM_COUNT_REJECTED]);
            }

            facts.known = 1;
            known = &facts;
        }
    }

    if (known == NULL) {
        /* keeping this comment goes straight to the spool: no second wait */
        ctx->redis_failed = 1;
        ngx_http_comment_moderation_count(NGX_HTTP_CM_M_DECIDED_WITHOUT_REDIS);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "comment moderation: redis check %s: reputation and "
                      "limits unknown for comment %V",
                      reply ? "answered unexpectedly" : "failed", &ctx->id);
    }

    ngx_http_comment_moderation_decide(r, ctx, known);
}


/*
 * Keeps a held or rejected comment.  NGX_AGAIN: sent, the reply calls
 * ngx_http_comment_moderation_kept(); NGX_OK: spooled on disk (Redis is
 * away); NGX_ERROR: neither could take it.
 */
ngx_int_t
ngx_http_comment_moderation_keep(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    int          argc;
    size_t       argvlen[NGX_HTTP_CM_KEEP_ARGS];
    const char  *argv[NGX_HTTP_CM_KEEP_ARGS];

    argc = ngx_http_comment_moderation_keep_args(r, ctx, argv, argvlen);
    if (argc == 0) {
        return NGX_ERROR;
    }

    if (ctx->redis_failed) {
        return ngx_http_comment_moderation_spool_it(r, argc, argv, argvlen);
    }

    ctx->call = ngx_http_comment_moderation_redis_eval(
                    &ngx_http_comment_moderation_store_script, argc, argv,
                    argvlen, ngx_http_comment_moderation_stored, r, 1);

    if (ctx->call != NULL) {
        /* if the reply fails, the same call goes to the spool: keep it */
        ctx->keep_argc = argc;
        ctx->keep_argv = ngx_pnalloc(r->pool, argc * (sizeof(char *)
                                                      + sizeof(size_t)));
        if (ctx->keep_argv == NULL) {
            return NGX_ERROR;
        }

        ctx->keep_argvlen = (size_t *) (ctx->keep_argv + argc);
        ngx_memcpy(ctx->keep_argv, argv, argc * sizeof(char *));
        ngx_memcpy(ctx->keep_argvlen, argvlen, argc * sizeof(size_t));

        return NGX_AGAIN;
    }

    return ngx_http_comment_moderation_spool_it(r, argc, argv, argvlen);
}


/*
 * A sample of accepted comments is kept too, for the editors' backtests
 * (comment_moderation_sample_accepted): sent and not waited for; if Redis
 * is away the sample is simply smaller.
 */
void
ngx_http_comment_moderation_keep_accepted(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    int          argc;
    size_t       argvlen[NGX_HTTP_CM_KEEP_ARGS];
    const char  *argv[NGX_HTTP_CM_KEEP_ARGS];

    if (ctx->redis_failed || ctx->result == NULL) {
        return;
    }

    argc = ngx_http_comment_moderation_keep_args(r, ctx, argv, argvlen);
    if (argc == 0) {
        return;
    }

    (void) ngx_http_comment_moderation_redis_eval(
                &ngx_http_comment_moderation_store_script, argc, argv,
                argvlen, ngx_http_comment_moderation_sampled, NULL, 0);
}


static void
ngx_http_comment_moderation_sampled(void *data, redisReply *reply)
{
    /* nobody waits: a lost sample is one comment less to backtest */
}


/* store.lua's call for the comment: its argc, 0 if out of memory */
static int
ngx_http_comment_moderation_keep_args(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const char **argv,
    size_t *argvlen)
{
    int                                       argc;
    u_char                                   *p;
    size_t                                    i;
    ngx_str_t                                 spans, hits, num[4], *ct;
    cm_result_t                              *res;
    const cm_view_t                          *folded;
    ngx_http_comment_moderation_idents_t     *id;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    /* in cm_field_e order, one per field */
    static const char  *names[CM_FIELD_N + 1] = {
        "text", "name", "email", "url", "article", "section", "ip",
        "user_agent", "referer", "user", NULL
    };


    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);
    res = ctx->result;

    /* the arguments point into it until the call is sent: not the stack */
    id = ngx_palloc(r->pool, sizeof(ngx_http_comment_moderation_idents_t));
    if (id == NULL) {
        return 0;
    }

    ngx_http_comment_moderation_idents(r, ctx, id);

    /* an invalid body held as sent has no result: no spans, its error */
    p = ngx_pnalloc(r->pool, 4 * NGX_INT64_LEN);
    if (p == NULL
        || ngx_http_comment_moderation_result_json(r, res, &spans, &hits)
           != NGX_OK)
    {
        return 0;
    }

    for (i = 0; i < 4; i++) {
        num[i].data = p;
        p = ngx_sprintf(p, "%L",
                        i == 0 ? ngx_http_comment_moderation_now_ms()
                        : i == 1 ? (int64_t) (ctx->decision == NGX_HTTP_CM_QUEUE
                                              ? 0 : cmcf->keep_rejected)
                        : i == 2 ? (int64_t) cmcf->reputation_ttl
                        : (int64_t) ctx->score);
        num[i].len = p - num[i].data;
    }

    argc = 2;

#define NGX_HTTP_CM_ARG(s, l)                                                  \
    argv[argc] = (char *) (s);                                                 \
    argvlen[argc++] = (l)

#define NGX_HTTP_CM_ARG_STR(str)  NGX_HTTP_CM_ARG((str).data, (str).len)

    NGX_HTTP_CM_ARG("10", 2);

    /* KEYS: the comment, its state's and article's index, reputation */
    p = ngx_http_comment_moderation_key(r->pool, &cmcf->prefix, "c:",
                                        ctx->id.data, ctx->id.len);
    NGX_HTTP_CM_ARG(p, cmcf->prefix.len + 2 + ctx->id.len);

    p = ngx_http_comment_moderation_key(r->pool, &cmcf->prefix,
                                        ctx->decision == NGX_HTTP_CM_REJECT
                                        ? "q:rejected"
                                        : ctx->decision == NGX_HTTP_CM_ACCEPT
                                        ? "q:accepted" : "q:pending", NULL, 0);
    NGX_HTTP_CM_ARG(p, ngx_strlen(p));

    p = ngx_http_comment_moderation_article_key(r, &cmcf->prefix,
                          &cmcf->secret,
                          (u_char *) (ctx->input.value[CM_FIELD_ARTICLE]
                                      ? ctx->input.value[CM_FIELD_ARTICLE] : ""),
                          ctx->input.len[CM_FIELD_ARTICLE]);
    NGX_HTTP_CM_ARG(p, ngx_strlen(p));

    for (i = 0; i < NGX_HTTP_CM_REP_KEYS; i++) {
        p = ngx_http_comment_moderation_key(r->pool, &cmcf->prefix,
                              ngx_http_comment_moderation_rep_keys[i].name,
                              id->hash[ngx_http_comment_moderation_rep_keys[i].ident],
                              NGX_HTTP_CM_HASH_LEN);
        NGX_HTTP_CM_ARG(p, ngx_strlen(p));
    }

    for (i = 0; i < 2; i++) {
        p = ngx_http_comment_moderation_key(r->pool, &cmcf->prefix,
                                            i == 0 ? "hist:a:" : "hist:i:",
                                            id->hash[i == 0 ? CM_IDENT_AUTHOR
                                                           : CM_IDENT_IP],
                                            NGX_HTTP_CM_HASH_LEN);
        NGX_HTTP_CM_ARG(p, ngx_strlen(p));
    }

    /* ARGV: id, state, time, keep, reputation TTL, then the fields */
    NGX_HTTP_CM_ARG_STR(ctx->id);

    if (ctx->decision == NGX_HTTP_CM_REJECT) {
        NGX_HTTP_CM_ARG("rejected", 8);
    } else if (ctx->decision == NGX_HTTP_CM_ACCEPT) {
        NGX_HTTP_CM_ARG("accepted", 8);
    } else {
        NGX_HTTP_CM_ARG("pending", 7);
    }

    NGX_HTTP_CM_ARG_STR(num[0]);
    NGX_HTTP_CM_ARG_STR(num[1]);
    NGX_HTTP_CM_ARG_STR(num[2]);

    for (i = 0; i < CM_FIELD_N; i++) {
        if (ctx->input.value[i] != NULL) {
            NGX_HTTP_CM_ARG(names[i], ngx_strlen(names[i]));
            NGX_HTTP_CM_ARG(ctx->input.value[i], ctx->input.len[i]);
        }
    }

    /* the identities' hashes: the moderators' actions feed their reputation */
    NGX_HTTP_CM_ARG("author", 6);
    NGX_HTTP_CM_ARG(id->hash[CM_IDENT_AUTHOR], NGX_HTTP_CM_HASH_LEN);
    NGX_HTTP_CM_ARG("address", 7);
    NGX_HTTP_CM_ARG(id->hash[CM_IDENT_IP], NGX_HTTP_CM_HASH_LEN);
    NGX_HTTP_CM_ARG("network", 7);
    NGX_HTTP_CM_ARG(id->hash[CM_IDENT_NETWORK], NGX_HTTP_CM_HASH_LEN);
    NGX_HTTP_CM_ARG("score", 5);
    NGX_HTTP_CM_ARG_STR(num[3]);
    NGX_HTTP_CM_ARG("rules", 5);
    NGX_HTTP_CM_ARG_STR(ctx->rules);
    NGX_HTTP_CM_ARG("reason", 6);
    if (res != NULL) {
        NGX_HTTP_CM_ARG(res->reason, ngx_strlen(res->reason));
    } else {
        NGX_HTTP_CM_ARG_STR(ctx->error);
    }

    NGX_HTTP_CM_ARG("spans", 5);
    NGX_HTTP_CM_ARG_STR(spans);
    NGX_HTTP_CM_ARG("hits", 4);
    NGX_HTTP_CM_ARG_STR(hits);

    folded = res ? &res->text[CM_FIELD_TEXT].view[CM_VIEW_FOLDED] : NULL;
    NGX_HTTP_CM_ARG("folded", 6);
    NGX_HTTP_CM_ARG(folded && folded->text ? folded->text : "",
                    folded ? folded->len : 0);

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    NGX_HTTP_CM_ARG("version", 7);
    NGX_HTTP_CM_ARG(p, ngx_sprintf(p, "%i", ctx->version) - p);

    /* the original request, to be released later exactly as it was sent */
    NGX_HTTP_CM_ARG("method", 6);
    NGX_HTTP_CM_ARG_STR(r->method_name);
    NGX_HTTP_CM_ARG("uri", 3);
    NGX_HTTP_CM_ARG_STR(r->unparsed_uri);

    ct = r->headers_in.content_type ? &r->headers_in.content_type->value : NULL;
    NGX_HTTP_CM_ARG("content_type", 12);
    NGX_HTTP_CM_ARG(ct ? ct->data : (u_char *) "", ct ? ct->len : 0);
    NGX_HTTP_CM_ARG("body", 4);
    NGX_HTTP_CM_ARG_STR(ctx->body);

#undef NGX_HTTP_CM_ARG_STR
#undef NGX_HTTP_CM_ARG

    return argc;
}


/* the reply to store.lua, then (with replicas=) to WAIT */
static void
ngx_http_comment_moderation_stored(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_http_comment_moderation_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_get_ctx(r);
    ctx->call = NULL;

    if (ctx->keep_stored) {
        if (ngx_http_comment_moderation_redis_replicated(reply)) {
            ngx_http_comment_moderation_kept(r, ctx, NGX_OK);
            return;
        }

        ngx_http_comment_moderation_respool(r, ctx, "no replica has it");
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_http_comment_moderation_respool(r, ctx,
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        return;
    }

    if (ngx_http_comment_moderation_redis_replicas() == 0) {
        ngx_http_comment_moderation_kept(r, ctx, NGX_OK);
        return;
    }

    /*
     * Replication is asynchronous: a master replaced by a failover loses
     * what its replicas had not received.  WAIT tells us they have it.
     */
    ctx->keep_stored = 1;
    ctx->call = ngx_http_comment_moderation_redis_wait(
                    ngx_http_comment_moderation_stored, r, 1);

    if (ctx->call == NULL) {
        ngx_http_comment_moderation_respool(r, ctx, "not confirmed");
    }
}


/*
 * A write that failed, timed out or was not replicated may still be, or
 * become, in Redis: the spool replays it with the same id, and store.lua
 * keeps a comment only once.
 */
static void
ngx_http_comment_moderation_respool(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const char *why)
{
    ngx_int_t  rc;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "comment moderation: redis could not keep comment %V%s%s, "
                  "spooling it", &ctx->id, why[0] ? ": " : "", why);

    rc = ngx_http_comment_moderation_spool_it(r, ctx->keep_argc,
                                              ctx->keep_argv,
                                              ctx->keep_argvlen);

    ngx_http_comment_moderation_kept(r, ctx, rc);
}


static ngx_int_t
ngx_http_comment_moderation_spool_it(ngx_http_request_t *r, int argc,
    const char **argv, size_t *argvlen)
{
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    return ngx_http_comment_moderation_spool_append(&cmcf->spool, argc, argv,
                                                    argvlen,
                                                    r->connection->log);
}


/*
 * The author is the logged-in user if the site says who that is, else the
 * email, else the address; the network is the address's /24 or /64; the
 * text is its compact normalized view, so disguised copies are one text.
 */
static void
ngx_http_comment_moderation_idents(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx,
    ngx_http_comment_moderation_idents_t *id)
{
    u_char                                   *p, email[256];
    size_t                                    len;
    ngx_str_t                                *secret;
    cm_input_t                               *in;
    const cm_view_t                          *compact;
    struct sockaddr                          *sa;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);
    secret = &cmcf->secret;
    in = &ctx->input;

    if (in->value[CM_FIELD_USER] != NULL) {
        ngx_http_comment_moderation_hmac(secret, "u",
                                         (u_char *) in->value[CM_FIELD_USER],
                                         in->len[CM_FIELD_USER],
                                         id->hash[CM_IDENT_AUTHOR]);

    } else if (in->len[CM_FIELD_EMAIL]) {
        len = ngx_min(in->len[CM_FIELD_EMAIL], sizeof(email));
        ngx_strlow(email, (u_char *) in->value[CM_FIELD_EMAIL], len);
        ngx_http_comment_moderation_hmac(secret, "e", email, len,
                                         id->hash[CM_IDENT_AUTHOR]);

    } else {
        ngx_http_comment_moderation_hmac(secret, "i",
                                         r->connection->addr_text.data,
                                         r->connection->addr_text.len,
                                         id->hash[CM_IDENT_AUTHOR]);
    }

    ngx_http_comment_moderation_hmac(secret, "i", r->connection->addr_text.data,
                                     r->connection->addr_text.len,
                                     id->hash[CM_IDENT_IP]);

    /* r->connection->sockaddr is the client's after the realip module */
    sa = r->connection->sockaddr;

    if (sa->sa_family == AF_INET) {
        p = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
        len = 3;

#if (NGX_HAVE_INET6)
    } else if (sa->sa_family == AF_INET6) {
        p = ((struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
        len = 8;
#endif

    } else {
        p = r->connection->addr_text.data;
        len = r->connection->addr_text.len;
    }

    ngx_http_comment_moderation_hmac(secret, "n", p, len,
                                     id->hash[CM_IDENT_NETWORK]);

    if (ctx->result != NULL) {
        compact = &ctx->result->text[CM_FIELD_TEXT].view[CM_VIEW_COMPACT];
        ngx_http_comment_moderation_hmac(secret, "t",
                                         (u_char *) (compact->text
                                                     ? compact->text : ""),
                                         compact->len,
                                         id->hash[CM_IDENT_TEXT]);
    } else {
        ngx_http_comment_moderation_hmac(secret, "t", ctx->body.data,
                                         ctx->body.len,
                                         id->hash[CM_IDENT_TEXT]);
    }
}


/*
 * HMAC-SHA1(secret, kind ":" data), first 16 bytes in hex.  The key's inner
 * and outer pads are hashed once per secret: four identities per comment.
 */
void
ngx_http_comment_moderation_hmac(ngx_str_t *secret, const char *kind,
    const u_char *data, size_t len, u_char *hex)
{
    u_char      key[64], pad[64], inner[20], digest[20];
    size_t      i;
    ngx_sha1_t  sha1;

    static ngx_str_t   padded;          /* the secret the pads are of */
    static ngx_sha1_t  ipad, opad;

    if (padded.data != secret->data || padded.len != secret->len) {
        ngx_memzero(key, sizeof(key));

        if (secret->len > sizeof(key)) {
            ngx_sha1_init(&sha1);
            ngx_sha1_update(&sha1, secret->data, secret->len);
            ngx_sha1_final(key, &sha1);

        } else {
            ngx_memcpy(key, secret->data, secret->len);
        }

        for (i = 0; i < 64; i++) {
            pad[i] = key[i] ^ 0x36;
        }

        ngx_sha1_init(&ipad);
        ngx_sha1_update(&ipad, pad, 64);

        for (i = 0; i < 64; i++) {
            pad[i] = key[i] ^ 0x5c;
        }

        ngx_sha1_init(&opad);
        ngx_sha1_update(&opad, pad, 64);

        padded = *secret;
    }

    sha1 = ipad;
    ngx_sha1_update(&sha1, kind, ngx_strlen(kind));
    ngx_sha1_update(&sha1, ":", 1);
    ngx_sha1_update(&sha1, data, len);
    ngx_sha1_final(inner, &sha1);

    sha1 = opad;
    ngx_sha1_update(&sha1, inner, 20);
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(hex, digest, NGX_HTTP_CM_HASH_LEN / 2);
}


/*
 * "P q:article:<article>": a plain article id (letters, digits, '.', '_',
 * '-', at most 64) names its index as it is; anything else is the
 * commenter's to choose (':', '*', '{', CR/LF, a megabyte) and names it by
 * its HMAC, "q:article:#<hex>", which no plain id can be.
 */
static u_char *
ngx_http_comment_moderation_article_key(ngx_http_request_t *r,
    ngx_str_t *prefix, ngx_str_t *secret, u_char *article, size_t len)
{
    size_t  i;
    u_char  hex[1 + NGX_HTTP_CM_HASH_LEN];

    for (i = 0; i < len && len <= 64; i++) {
        if (!((article[i] >= '0' && article[i] <= '9')
              || ((article[i] | 0x20) >= 'a' && (article[i] | 0x20) <= 'z')
              || article[i] == '.' || article[i] == '_' || article[i] == '-'))
        {
            break;
        }
    }

    if (i == len && len <= 64) {
        return ngx_http_comment_moderation_key(r->pool, prefix, "q:article:",
                                               article, len);
    }

    hex[0] = '#';
    ngx_http_comment_moderation_hmac(secret, "article", article, len,
                                     hex + 1);

    return ngx_http_comment_moderation_key(r->pool, prefix, "q:article:",
                                           hex, sizeof(hex));
}


/* "<prefix><name><hash>", NUL-terminated, from the pool */
static u_char *
ngx_http_comment_moderation_key(ngx_pool_t *pool, ngx_str_t *prefix,
    const char *name, const u_char *hash, size_t hash_len)
{
    u_char  *key, *p;
    size_t   len;

    len = ngx_strlen(name);

    key = ngx_pnalloc(pool, prefix->len + len + hash_len + 1);
    if (key == NULL) {
        return (u_char *) "";
    }

    p = ngx_cpymem(key, prefix->data, prefix->len);
    p = ngx_cpymem(p, name, len);
    p = ngx_cpymem(p, hash, hash_len);
    *p = '\0';

    return key;
}


/*
 * For the moderators: every match, [{"rule":"x","field":"text","start":0,
 * "end":4}, ...], and every rule that fired with what it added to the score,
 * [{"rule":"x","contribution":3}, ...].  Rule names are [A-Za-z0-9._-]:
 * nothing to escape.
 */
ngx_int_t
ngx_http_comment_moderation_result_json(ngx_http_request_t *r,
    cm_result_t *res, ngx_str_t *spans, ngx_str_t *hits)
{
    u_char           *p;
    size_t            i, len, nspans, nhits;
    const cm_span_t  *s;
    const cm_hit_t   *h;

    nspans = res ? res->nspans : 0;
    nhits = res ? res->nhits : 0;

    len = 4;
    for (i = 0; i < nspans; i++) {
        len += sizeof("{\"rule\":\"\",\"field\":\"\",\"start\":,\"end\":},")
               + ngx_strlen(res->spans[i].rule->name) + 16 + 2 * NGX_INT_T_LEN;
    }

    for (i = 0; i < nhits; i++) {
        len += sizeof("{\"rule\":\"\",\"contribution\":},")
               + ngx_strlen(res->hits[i].rule->name) + NGX_INT_T_LEN;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    spans->data = p;
    *p++ = '[';

    for (i = 0; i < nspans; i++) {
        s = &res->spans[i];
        p = ngx_sprintf(p, "%s{\"rule\":\"%s\",\"field\":\"%s\","
                        "\"start\":%uD,\"end\":%uD}", i ? "," : "",
                        s->rule->name, cm_field_name(s->field),
                        s->start, s->end);
    }

    *p++ = ']';
    spans->len = p - spans->data;

    hits->data = p;
    *p++ = '[';

    for (i = 0; i < nhits; i++) {
        h = &res->hits[i];
        p = ngx_sprintf(p, "%s{\"rule\":\"%s\",\"contribution\":%d}",
                        i ? "," : "", h->rule->name, h->contribution);
    }

    *p++ = ']';
    hits->len = p - hits->data;

    return NGX_OK;
}


/* Ids sort by time and are unique across workers and hosts. */
ngx_int_t
ngx_http_comment_moderation_new_id(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    u_char  *p;

    static ngx_uint_t  seq;

    p = ngx_pnalloc(r->pool, 48);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->id.data = p;
    p = ngx_sprintf(p, "%011xL%04xi%06xi%04xi",
                    ngx_http_comment_moderation_now_ms(),
                    (ngx_int_t) (ngx_pid & 0xffff),
                    (ngx_int_t) (ngx_random() & 0xffffff),
                    (ngx_int_t) (seq++ & 0xffff));
    ctx->id.len = p - ctx->id.data;

    return NGX_OK;
}


int64_t
ngx_http_comment_moderation_now_ms(void)
{
    ngx_time_t  *tp;

    /* not ngx_time() * 1000 + ngx_timeofday()->msec: the macro's cast
       binds to the sum */
    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}
