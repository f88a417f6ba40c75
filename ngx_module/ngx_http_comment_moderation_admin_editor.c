/*
 * The editors' rule work, api/rules/VERB: a draft rule set (files in a JSON
 * body) checked by the module's own parser and compiler, tried on a text,
 * backtested against the last stored comments, published as the new live
 * version (every worker switches within a second, no reload), and rolled
 * back.  The published versions themselves are _live.c's; publish and
 * rollback are the scripts cm-rules runs (ngx_module/lua/publish.lua,
 * rollback.lua), so both ways leave the same trail in the audit log.
 *
 * A draft is compiled in the worker: a set of the shipped size takes a few
 * milliseconds, and only editors send them.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_lua.h"
#include "ngx_http_comment_moderation_rules_bundle.h"


#define NGX_HTTP_CM_EDITOR_ERR       512
#define NGX_HTTP_CM_BACKTEST_LIMIT   1000


typedef struct {
    cm_rules_t                  *rules;
    cm_engine_t                 *engine;
} ngx_http_comment_moderation_draft_t;


typedef ngx_int_t (*ngx_http_comment_moderation_verb_pt)(ngx_http_request_t *r,
    cm_fields_t *fields);


static ngx_uint_t ngx_http_comment_moderation_editor_verb(ngx_str_t *verb);
static ngx_int_t ngx_http_comment_moderation_editor_source(
    ngx_http_request_t *r, cm_fields_t *fields);
static ngx_int_t ngx_http_comment_moderation_editor_versions(
    ngx_http_request_t *r, cm_fields_t *fields);
static ngx_int_t ngx_http_comment_moderation_editor_diff(
    ngx_http_request_t *r, cm_fields_t *fields);
static ngx_int_t ngx_http_comment_moderation_editor_check(
    ngx_http_request_t *r, cm_fields_t *fields);
static ngx_int_t ngx_http_comment_moderation_editor_try(ngx_http_request_t *r,
    cm_fields_t *fields);
static ngx_int_t ngx_http_comment_moderation_editor_backtest(
    ngx_http_request_t *r, cm_fields_t *fields);
static void ngx_http_comment_moderation_editor_sampled(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_editor_publish(
    ngx_http_request_t *r, cm_fields_t *fields);
static void ngx_http_comment_moderation_editor_published(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_editor_rollback(
    ngx_http_request_t *r, cm_fields_t *fields);
static void ngx_http_comment_moderation_editor_rolled_back(void *data,
    redisReply *reply);
static ngx_uint_t ngx_http_comment_moderation_editor_safe_name(u_char *name,
    size_t len);
static ngx_int_t ngx_http_comment_moderation_editor_compile(
    ngx_http_request_t *r, cm_fields_t *fields,
    ngx_http_comment_moderation_draft_t **draft, ngx_str_t *error);
static ngx_int_t ngx_http_comment_moderation_editor_judge(
    ngx_http_request_t *r, const cm_engine_t *engine, cm_input_t *in,
    cm_result_t *res);
static ngx_int_t ngx_http_comment_moderation_editor_failed(
    ngx_http_request_t *r, ngx_str_t *error);
static ngx_str_t *ngx_http_comment_moderation_editor_field(
    ngx_http_request_t *r, cm_fields_t *fields, const char *name);
static ngx_int_t ngx_http_comment_moderation_editor_key(ngx_http_request_t *r,
    const char *name, ngx_str_t *key);
static void ngx_http_comment_moderation_editor_free(void *data);
static void ngx_http_comment_moderation_editor_versioned(
    ngx_http_request_t *r, ngx_str_t *version, redisReply *previous);
static void ngx_http_comment_moderation_editor_finish(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json);


static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_source_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_versions_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_sample_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_diff_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_publish_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_rollback_script;


static const struct {
    ngx_str_t                             name;
    ngx_uint_t                            post;
    ngx_http_comment_moderation_verb_pt   handler;
}  ngx_http_comment_moderation_verbs[] = {
    { ngx_string("source"), 0, ngx_http_comment_moderation_editor_source },
    { ngx_string("versions"), 0,
      ngx_http_comment_moderation_editor_versions },
    { ngx_string("diff"), 0, ngx_http_comment_moderation_editor_diff },
    { ngx_string("check"), 1, ngx_http_comment_moderation_editor_check },
    { ngx_string("try"), 1, ngx_http_comment_moderation_editor_try },
    { ngx_string("backtest"), 1,
      ngx_http_comment_moderation_editor_backtest },
    { ngx_string("publish"), 1, ngx_http_comment_moderation_editor_publish },
    { ngx_string("rollback"), 1,
      ngx_http_comment_moderation_editor_rollback },
    { ngx_null_string, 0, NULL }
};


void
ngx_http_comment_moderation_admin_editor_init(void)
{
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_source_script,
        ngx_http_comment_moderation_lua_admin_source);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_versions_script,
        ngx_http_comment_moderation_lua_admin_versions);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_sample_script,
        ngx_http_comment_moderation_lua_admin_sample);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_diff_script,
        ngx_http_comment_moderation_lua_admin_diff);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_publish_script,
        ngx_http_comment_moderation_lua_publish);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_rollback_script,
        ngx_http_comment_moderation_lua_rollback);
}


/* the verb's entry in the table, or its end */
static ngx_uint_t
ngx_http_comment_moderation_editor_verb(ngx_str_t *verb)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_comment_moderation_verbs[i].name.len; i++) {
        if (ngx_http_comment_moderation_verbs[i].name.len == verb->len
            && ngx_strncmp(ngx_http_comment_moderation_verbs[i].name.data,
                           verb->data, verb->len) == 0)
        {
            break;
        }
    }

    return i;
}


/* 1 if the verb changes or computes something: a POST with the CSRF token */
ngx_int_t
ngx_http_comment_moderation_admin_editor_post(ngx_str_t *verb)
{
    ngx_uint_t  i;

    i = ngx_http_comment_moderation_editor_verb(verb);

    if (ngx_http_comment_moderation_verbs[i].handler == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_comment_moderation_verbs[i].post;
}


/* NGX_DONE, NGX_DECLINED (no Redis), or a status to finalize with */
ngx_int_t
ngx_http_comment_moderation_admin_editor(ngx_http_request_t *r,
    ngx_str_t *verb, cm_fields_t *fields)
{
    ngx_uint_t  i;

    i = ngx_http_comment_moderation_editor_verb(verb);

    if (ngx_http_comment_moderation_verbs[i].handler == NULL) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_FOUND,
                                                  "no such API call");
    }

    /* NGX_DECLINED: Redis is unavailable, the caller says so */
    return ngx_http_comment_moderation_verbs[i].handler(r, fields);
}


static ngx_int_t
ngx_http_comment_moderation_editor_source(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_source_script, NULL, 0,
               ngx_http_comment_moderation_admin_read_done);
}


static ngx_int_t
ngx_http_comment_moderation_editor_versions(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    ngx_str_t  limit;

    ngx_str_set(&limit, "100");

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_versions_script, &limit, 1,
               ngx_http_comment_moderation_admin_read_done);
}


/* api/rules/diff?from=A&to=B: lines added and removed, file by file */
static ngx_int_t
ngx_http_comment_moderation_editor_diff(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    ngx_str_t  args[2];

    ngx_http_comment_moderation_admin_arg(r, "from", &args[0]);
    ngx_http_comment_moderation_admin_arg(r, "to", &args[1]);

    if (ngx_atoi(args[0].data, args[0].len) <= 0
        || ngx_atoi(args[1].data, args[1].len) <= 0)
    {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                  "\"from\" and \"to\": published versions");
    }

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_diff_script, args, 2,
               ngx_http_comment_moderation_admin_read_done);
}


static ngx_int_t
ngx_http_comment_moderation_editor_check(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    ngx_str_t                             json, error;
    ngx_http_comment_moderation_draft_t  *draft;

    if (ngx_http_comment_moderation_editor_compile(r, fields, &draft, &error)
        != NGX_OK)
    {
        return ngx_http_comment_moderation_editor_failed(r, &error);
    }

    json.data = ngx_pnalloc(r->pool, sizeof("{\"ok\":true,\"rules\":}")
                                     + NGX_SIZE_T_LEN);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.len = ngx_sprintf(json.data, "{\"ok\":true,\"rules\":%uz}",
                           draft->rules->nrules)
               - json.data;

    return ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);
}


/* the draft's decision on one text, with its explanation */
static ngx_int_t
ngx_http_comment_moderation_editor_try(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    u_char                               *p;
    size_t                                len;
    ngx_str_t                             json, error, spans, hits, *v;
    cm_input_t                            in;
    cm_result_t                          *res;
    ngx_uint_t                            i;
    const cm_view_t                      *folded;
    ngx_http_comment_moderation_draft_t  *draft;

    static const char  *roles[] = { "text", "name", "email", "url" };

    if (ngx_http_comment_moderation_editor_compile(r, fields, &draft, &error)
        != NGX_OK)
    {
        return ngx_http_comment_moderation_editor_failed(r, &error);
    }

    ngx_memzero(&in, sizeof(cm_input_t));

    for (i = 0; i < 4; i++) {
        v = ngx_http_comment_moderation_editor_field(r, fields, roles[i]);
        if (v) {
            in.value[CM_FIELD_TEXT + i] = (const char *) v->data;
            in.len[CM_FIELD_TEXT + i] = v->len;
        }
    }

    v = ngx_http_comment_moderation_editor_field(r, fields, "ip");
    if (v) {
        in.value[CM_FIELD_IP] = (const char *) v->data;
        in.len[CM_FIELD_IP] = v->len;
    }

    if (in.value[CM_FIELD_TEXT] == NULL) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                                  "\"text\" is missing");
    }

    res = ngx_palloc(r->pool, sizeof(cm_result_t));
    if (res == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_comment_moderation_editor_judge(r, draft->engine, &in, res)
        != NGX_OK)
    {
        ngx_str_set(&error, "the text is not valid UTF-8");
        return ngx_http_comment_moderation_editor_failed(r, &error);
    }

    if (ngx_http_comment_moderation_result_json(r, res, &spans, &hits)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    folded = &res->text[CM_FIELD_TEXT].view[CM_VIEW_FOLDED];
    len = sizeof("{\"ok\":true,\"decision\":\"reject\",\"reason\":\"\","
                 "\"score\":,\"folded\":\"\",\"hits\":,\"spans\":}")
          + NGX_INT_T_LEN + 2 * ngx_strlen(res->reason)
          + (folded->text ? folded->len + ngx_escape_json(NULL,
                                            (u_char *) folded->text,
                                            folded->len) : 0)
          + spans.len + hits.len;

    json.data = ngx_pnalloc(r->pool, len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data, "{\"ok\":true,\"decision\":\"%s\",\"reason\":\"",
                    cm_decision_name(res->decision));
    p = (u_char *) ngx_escape_json(p, (u_char *) res->reason,
                                   ngx_strlen(res->reason));
    p = ngx_sprintf(p, "\",\"score\":%d,\"folded\":\"", res->score);

    if (folded->text) {
        p = (u_char *) ngx_escape_json(p, (u_char *) folded->text,
                                       folded->len);
    }

    p = ngx_sprintf(p, "\",\"hits\":%V,\"spans\":%V}", &hits, &spans);
    json.len = p - json.data;

    return ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);
}


static ngx_int_t
ngx_http_comment_moderation_editor_backtest(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    ngx_int_t                                 n;
    ngx_str_t                                 error, limit, *v;
    ngx_http_comment_moderation_draft_t      *draft;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    if (ngx_http_comment_moderation_editor_compile(r, fields, &draft, &error)
        != NGX_OK)
    {
        return ngx_http_comment_moderation_editor_failed(r, &error);
    }

    v = ngx_http_comment_moderation_editor_field(r, fields, "limit");
    n = v ? ngx_atoi(v->data, v->len) : 200;
    if (n <= 0 || n > NGX_HTTP_CM_BACKTEST_LIMIT) {
        n = 200;
    }

    limit.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (limit.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    limit.len = ngx_sprintf(limit.data, "%i", n) - limit.data;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    ctx->act = draft;

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_sample_script, &limit, 1,
               ngx_http_comment_moderation_editor_sampled);
}


/* the sample: id, state, moderator, text, name, email, url, rules each */
static void
ngx_http_comment_moderation_editor_sampled(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    u_char                                   *p, *last;
    size_t                                    i, j, len;
    ngx_str_t                                 json;
    ngx_uint_t                                total, changed, agree;
    cm_input_t                                in;
    cm_result_t                              *res;
    redisReply                              **e;
    ngx_int_t                                 version;
    const char                               *was, *now, *outcome;
    const cm_engine_t                        *active;
    ngx_http_comment_moderation_draft_t      *draft;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    draft = ctx->act;
    active = ngx_http_comment_moderation_active_engine(r, &version);

    if (active == NULL) {
        active = draft->engine;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements % 8)
    {
        ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    res = ngx_palloc(r->pool, sizeof(cm_result_t));

    len = sizeof("{\"ok\":true,\"total\":,\"changed\":,\"agree\":,"
                 "\"disagree\":,\"comments\":[]}") + 4 * NGX_INT_T_LEN;

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
            return;
        }

        len += 2 * reply->element[i]->len;
    }

    len += (reply->elements / 8)
           * sizeof("{\"id\":\"\",\"state\":\"\",\"moderator\":\"\","
                    "\"outcome\":\"accept\",\"was\":\"accept\","
                    "\"now\":\"accept\",\"text\":\"\",\"rules\":\"\"},");

    json.data = ngx_pnalloc(r->pool, len);
    if (res == NULL || json.data == NULL) {
        ngx_http_comment_moderation_editor_finish(r,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    /* the list goes first into the buffer's end half; copied after */
    p = json.data + len / 2;
    last = p;
    total = changed = agree = 0;

    for (i = 0; i < reply->elements; i += 8) {
        e = &reply->element[i];

        ngx_memzero(&in, sizeof(cm_input_t));

        for (j = 0; j < 4; j++) {
            in.value[CM_FIELD_TEXT + j] = e[3 + j]->str;
            in.len[CM_FIELD_TEXT + j] = e[3 + j]->len;
        }

        /* the active set's decision beside the draft's: only what the
           draft changes is listed */
        if (ngx_http_comment_moderation_editor_judge(r, active, &in, res)
            != NGX_OK)
        {
            continue;
        }

        was = cm_decision_name(res->decision);

        if (ngx_http_comment_moderation_editor_judge(r, draft->engine, &in,
                                                     res)
            != NGX_OK)
        {
            continue;
        }

        total++;
        now = cm_decision_name(res->decision);

        /* what happened to it in the end */
        outcome = (ngx_strcmp(e[1]->str, "approved") == 0
                   || ngx_strcmp(e[1]->str, "accepted") == 0) ? "accept"
                  : ngx_strcmp(e[1]->str, "rejected") == 0 ? "reject"
                  : "queue";

        if (ngx_strcmp(outcome, "accept") == 0
            ? res->decision == CM_DECISION_ACCEPT
            : res->decision != CM_DECISION_ACCEPT)
        {
            agree++;
        }

        if (ngx_strcmp(was, now) == 0) {
            continue;
        }

        changed++;
        p = ngx_sprintf(p, "%s{\"id\":\"%*s\",\"state\":\"%*s\","
                        "\"moderator\":\"", changed > 1 ? "," : "",
                        e[0]->len, e[0]->str, e[1]->len, e[1]->str);
        p = (u_char *) ngx_escape_json(p, (u_char *) e[2]->str, e[2]->len);
        p = ngx_sprintf(p, "\",\"outcome\":\"%s\",\"was\":\"%s\","
                        "\"now\":\"%s\",\"text\":\"", outcome, was, now);
        p = (u_char *) ngx_escape_json(p, (u_char *) e[3]->str, e[3]->len);
        p = ngx_sprintf(p, "\",\"rules\":\"%*s\"}", e[7]->len, e[7]->str);
    }

    len = p - last;
    p = ngx_sprintf(json.data, "{\"ok\":true,\"total\":%ui,\"changed\":%ui,"
                    "\"agree\":%ui,\"disagree\":%ui,\"comments\":[",
                    total, changed, agree, total - agree);
    p = ngx_movemem(p, last, len);
    p = ngx_cpymem(p, "]}", 2);
    json.len = p - json.data;

    ngx_http_comment_moderation_editor_finish(r, NGX_HTTP_OK, &json);
}


static ngx_int_t
ngx_http_comment_moderation_editor_publish(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    u_char                                   *p;
    ngx_str_t                                 error, *note, *entry, *args;
    ngx_uint_t                                n;
    const cm_field_t                         *f;
    ngx_http_comment_moderation_draft_t      *draft;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    static const char  *keys[] = {
        "rules:seq", "rules:versions", "rules:active", "audit", "rules:v:",
        "rules"
    };

    note = ngx_http_comment_moderation_editor_field(r, fields, "note");
    if (note == NULL || note->len == 0) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                      "a \"note\" says what changed and why");
    }

    /* only what compiles is published */
    if (ngx_http_comment_moderation_editor_compile(r, fields, &draft, &error)
        != NGX_OK)
    {
        return ngx_http_comment_moderation_editor_failed(r, &error);
    }

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    args = ngx_palloc(r->pool, (10 + 2 * fields->nfields) * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (args == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* publish.lua: KEYS seq, versions, active, audit; ARGV version prefix,
       channel, now, author, note, entry, ("file:" path, text)... */
    for (n = 0; n < 6; n++) {
        if (ngx_http_comment_moderation_editor_key(r, keys[n], &args[n])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    args[6].data = p;
    args[6].len = ngx_sprintf(p, "%T", ngx_time()) - p;
    args[7] = ctx->user;
    args[8] = *note;

    entry = ngx_http_comment_moderation_editor_field(r, fields, "entry");
    if (entry == NULL) {
        entry = &args[9];
        ngx_str_set(entry, "default.rules");
    }

    args[9] = *entry;
    n = 10;

    for (f = fields->fields; f < fields->fields + fields->nfields; f++) {
        if (f->name_len <= 6 || ngx_strncmp(f->name, "files.", 6) != 0) {
            continue;
        }

        args[n].len = f->name_len - 1;          /* "file:" + path */
        args[n].data = ngx_pnalloc(r->pool, args[n].len);
        if (args[n].data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(args[n].data, "file:", 5);
        ngx_memcpy(p, f->name + 6, f->name_len - 6);

        args[n + 1].data = (u_char *) f->value;
        args[n + 1].len = f->value_len;
        n += 2;
    }

    return ngx_http_comment_moderation_admin_eval_keys(r,
               &ngx_http_comment_moderation_publish_script, 4, args, n,
               ngx_http_comment_moderation_editor_published);
}


/* {N, the version active before} */
static void
ngx_http_comment_moderation_editor_published(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_str_t  version;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    version.data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (version.data == NULL) {
        ngx_http_comment_moderation_editor_finish(r,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    version.len = ngx_sprintf(version.data, "%L",
                              (int64_t) reply->element[0]->integer)
                  - version.data;

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "comment moderation: rule set version %V published by "
                  "\"%V\"", &version,
                  &ngx_http_comment_moderation_admin_ctx(r)->user);

    ngx_http_comment_moderation_editor_versioned(r, &version,
                                      reply->elements > 1 ? reply->element[1]
                                                          : NULL);
}


static ngx_int_t
ngx_http_comment_moderation_editor_rollback(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    u_char                                   *p;
    ngx_int_t                                 n;
    ngx_str_t                                 args[8], prefix, *version, *note;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    version = ngx_http_comment_moderation_editor_field(r, fields, "version");
    n = version ? ngx_atoi(version->data, version->len) : NGX_ERROR;

    if (n <= 0) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                      "\"version\": a published version");
    }

    note = ngx_http_comment_moderation_editor_field(r, fields, "note");
    ctx = ngx_http_comment_moderation_admin_ctx(r);

    if (ngx_http_comment_moderation_editor_key(r, "rules:v:", &prefix)
        != NGX_OK
        || ngx_http_comment_moderation_editor_key(r, "rules:active", &args[1])
           != NGX_OK
        || ngx_http_comment_moderation_editor_key(r, "audit", &args[2])
           != NGX_OK
        || ngx_http_comment_moderation_editor_key(r, "rules", &args[4])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, prefix.len + 3 * NGX_INT64_LEN + 3);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* rollback.lua: KEYS the version, active, audit; ARGV N, channel, now,
       who, note */
    args[0].data = p;
    p = ngx_sprintf(p, "%V%i", &prefix, n);
    args[0].len = p - args[0].data;
    args[3].data = p;
    p = ngx_sprintf(p, "%i", n);
    args[3].len = p - args[3].data;
    *p++ = '\0';
    args[5].data = p;
    p = ngx_sprintf(p, "%T", ngx_time());
    args[5].len = p - args[5].data;
    args[6] = ctx->user;

    if (note) {
        args[7] = *note;
    } else {
        ngx_str_null(&args[7]);
    }

    ctx->act = args[3].data;

    return ngx_http_comment_moderation_admin_eval_keys(r,
               &ngx_http_comment_moderation_rollback_script, 3, args, 8,
               ngx_http_comment_moderation_editor_rolled_back);
}


static void
ngx_http_comment_moderation_editor_rolled_back(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_str_t  version;

    if (reply && reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOVERSION", 9) == 0)
    {
        ngx_http_finalize_request(r,
            ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_FOUND,
                                                    reply->str + 10));
        return;
    }

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    version.data = ngx_http_comment_moderation_admin_ctx(r)->act;
    version.len = ngx_strlen(version.data);

    ngx_http_comment_moderation_editor_versioned(r, &version, reply);
}


/*
 * A draft's file name: a relative path of plain segments ("lists/x.txt"),
 * as scripts/cmlib/bundle.py check_name() wants it: no "/" first, no
 * empty, "." or ".." segment, no backslash, no control character.
 */
static ngx_uint_t
ngx_http_comment_moderation_editor_safe_name(u_char *name, size_t len)
{
    u_char  *p, *seg, *last;

    if (len == 0 || len > 255) {
        return 0;
    }

    last = name + len;
    seg = name;

    for (p = name; p <= last; p++) {
        if (p < last && *p != '/') {
            if (*p < 0x20 || *p == 0x7f || *p == '\\') {
                return 0;
            }

            continue;
        }

        /* the segment [seg, p) */
        if (p == seg
            || (p - seg == 1 && seg[0] == '.')
            || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            return 0;
        }

        seg = p + 1;
    }

    return 1;
}


/*
 * The draft in the body - "files.<path>" and "entry" fields of its JSON -
 * parsed and compiled as nginx would load it.  NGX_DECLINED: "error" says
 * FILE:LINE: why.  The draft is freed with the request.
 */
static ngx_int_t
ngx_http_comment_moderation_editor_compile(ngx_http_request_t *r,
    cm_fields_t *fields, ngx_http_comment_moderation_draft_t **draft,
    ngx_str_t *error)
{
    char                                 *entry, *err;
    ngx_str_t                            *v;
    cm_rules_bundle_t                     bundle;
    cm_rules_source_t                     src;
    const cm_field_t                     *f;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_comment_moderation_draft_t  *d;

    err = ngx_pcalloc(r->pool, NGX_HTTP_CM_EDITOR_ERR);
    bundle.files = ngx_palloc(r->pool, (fields->nfields + 1)
                                       * sizeof(cm_bundle_file_t));
    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_comment_moderation_draft_t));
    if (err == NULL || bundle.files == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    d = cln->data;
    ngx_memzero(d, sizeof(ngx_http_comment_moderation_draft_t));
    cln->handler = ngx_http_comment_moderation_editor_free;

    bundle.nfiles = 0;

    for (f = fields->fields; f < fields->fields + fields->nfields; f++) {
        if (f->name_len > 6 && ngx_strncmp(f->name, "files.", 6) == 0) {

            /* cm-rules export writes these names under a folder */
            if (!ngx_http_comment_moderation_editor_safe_name(
                                   (u_char *) f->name + 6, f->name_len - 6))
            {
                error->data = (u_char *) err;
                error->len = ngx_snprintf(error->data,
                                          NGX_HTTP_CM_EDITOR_ERR,
                                          "unsafe file name in the rule "
                                          "set: \"%*s\"",
                                          ngx_min(f->name_len - 6, 200),
                                          f->name + 6)
                             - error->data;
                return NGX_DECLINED;
            }

            bundle.files[bundle.nfiles].name = f->name + 6;
            bundle.files[bundle.nfiles].name_len = f->name_len - 6;
            bundle.files[bundle.nfiles].text = f->value;
            bundle.files[bundle.nfiles].len = f->value_len;
            bundle.nfiles++;
        }
    }

    error->data = (u_char *) err;

    if (bundle.nfiles == 0) {
        error->len = ngx_sprintf(error->data, "the draft has no \"files\"")
                     - error->data;
        return NGX_DECLINED;
    }

    v = ngx_http_comment_moderation_editor_field(r, fields, "entry");
    entry = ngx_pnalloc(r->pool, v ? v->len + 1 : sizeof("default.rules"));
    if (entry == NULL) {
        return NGX_ERROR;
    }

    if (v) {
        ngx_cpystrn((u_char *) entry, v->data, v->len + 1);
    } else {
        ngx_cpystrn((u_char *) entry, (u_char *) "default.rules",
                    sizeof("default.rules"));
    }

    src = cm_rules_bundle_source(&bundle);

    d->rules = cm_rules_load(&src, entry, err, NGX_HTTP_CM_EDITOR_ERR);
    if (d->rules != NULL) {
        d->engine = cm_engine_compile(d->rules, err, NGX_HTTP_CM_EDITOR_ERR);
    }

    if (d->engine == NULL) {
        error->len = ngx_strlen(err);
        return NGX_DECLINED;
    }

    *draft = d;

    return NGX_OK;
}


/* the draft's decision, Redis's facts unknown */
static ngx_int_t
ngx_http_comment_moderation_editor_judge(ngx_http_request_t *r,
    const cm_engine_t *engine, cm_input_t *in, cm_result_t *res)
{
    cm_alloc_t  a;
    cm_field_e  bad_field;

    a.alloc = ngx_http_comment_moderation_palloc;
    a.data = r->pool;

    if (cm_engine_match(engine, in, &a, res, &bad_field) != CM_ENGINE_OK) {
        return NGX_DECLINED;
    }

    cm_engine_decide(engine, NULL, res);

    return NGX_OK;
}


/* {"ok": false, "error": "FILE:LINE: why"}: the editor fixes the draft */
static ngx_int_t
ngx_http_comment_moderation_editor_failed(ngx_http_request_t *r,
    ngx_str_t *error)
{
    u_char     *p;
    ngx_str_t   json;

    if (error->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("{\"ok\":false,\"error\":\"\"}")
                             + 6 * error->len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.data = p;
    p = ngx_cpymem(p, "{\"ok\":false,\"error\":\"",
                   sizeof("{\"ok\":false,\"error\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, error->data, error->len);
    p = ngx_cpymem(p, "\"}", 2);
    json.len = p - json.data;

    return ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);
}


/* a field of the body's JSON, or NULL (also when out of memory) */
static ngx_str_t *
ngx_http_comment_moderation_editor_field(ngx_http_request_t *r,
    cm_fields_t *fields, const char *name)
{
    ngx_str_t         *v;
    const cm_field_t  *f;

    f = cm_fields_find(fields, name, ngx_strlen(name));
    if (f == NULL) {
        return NULL;
    }

    v = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (v == NULL) {
        return NULL;
    }

    v->data = (u_char *) f->value;
    v->len = f->value_len;

    return v;
}


/* "<prefix><name>" */
static ngx_int_t
ngx_http_comment_moderation_editor_key(ngx_http_request_t *r,
    const char *name, ngx_str_t *key)
{
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    key->len = cmcf->prefix.len + ngx_strlen(name);
    key->data = ngx_pnalloc(r->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(key->data, cmcf->prefix.data, cmcf->prefix.len),
               name, key->len - cmcf->prefix.len);

    return NGX_OK;
}


static void
ngx_http_comment_moderation_editor_free(void *data)
{
    ngx_http_comment_moderation_draft_t  *d = data;

    /* the engine points into the rules: it goes first */
    if (d->engine) {
        cm_engine_free(d->engine);
    }

    if (d->rules) {
        cm_rules_free(d->rules);
    }
}


/* {"ok": true, "version": N, "previous": M or null} */
static void
ngx_http_comment_moderation_editor_versioned(ngx_http_request_t *r,
    ngx_str_t *version, redisReply *previous)
{
    ngx_str_t  json, prev;

    ngx_str_set(&prev, "null");

    if (previous && previous->type == REDIS_REPLY_STRING) {
        prev.data = (u_char *) previous->str;
        prev.len = previous->len;
    }

    json.data = ngx_pnalloc(r->pool, sizeof("{\"ok\":true,\"version\":,"
                                            "\"previous\":}")
                                     + version->len + prev.len);
    if (json.data == NULL) {
        ngx_http_comment_moderation_editor_finish(r,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    json.len = ngx_sprintf(json.data, "{\"ok\":true,\"version\":%V,"
                           "\"previous\":%V}", version, &prev)
               - json.data;

    ngx_http_comment_moderation_editor_finish(r, NGX_HTTP_OK, &json);
}


static void
ngx_http_comment_moderation_editor_finish(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json)
{
    ngx_int_t  rc;

    if (json == NULL) {
        rc = ngx_http_comment_moderation_admin_error(r, status,
                                              status == NGX_HTTP_SERVICE_UNAVAILABLE
                                              ? "Redis did not answer"
                                              : "out of memory");
    } else {
        rc = ngx_http_comment_moderation_admin_send(r, status, json);
    }

    ngx_http_finalize_request(r, rc);
}
