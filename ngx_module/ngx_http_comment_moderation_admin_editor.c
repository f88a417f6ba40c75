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
#include "ngx_http_comment_moderation_editor.h"


#define NGX_HTTP_CM_EDITOR_ERR       512
#define NGX_HTTP_CM_BACKTEST_LIMIT   1000
#define NGX_HTTP_CM_SAMPLE_FIELDS    10     /* per comment, admin_sample.lua */


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
static ngx_int_t ngx_http_comment_moderation_editor_matches(
    ngx_http_request_t *r, cm_fields_t *fields);
static ngx_int_t ngx_http_comment_moderation_editor_sample(
    ngx_http_request_t *r, cm_fields_t *fields, ngx_uint_t matches);
static void ngx_http_comment_moderation_editor_sample_input(redisReply **e,
    cm_input_t *in);
static u_char *ngx_http_comment_moderation_editor_flip(ngx_http_request_t *r,
    const cm_engine_t *active, ngx_http_comment_moderation_draft_t *draft,
    cm_input_t *in, redisReply **e, cm_result_t *res, u_char *p,
    ngx_uint_t *total, ngx_uint_t *changed, ngx_uint_t *agree);
static u_char *ngx_http_comment_moderation_editor_match(
    ngx_http_request_t *r, ngx_http_comment_moderation_draft_t *draft,
    cm_input_t *in, redisReply **e, cm_result_t *res, u_char *p,
    ngx_uint_t *total, ngx_uint_t *matched);
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
static ngx_int_t ngx_http_comment_moderation_editor_bundle(
    ngx_http_request_t *r, cm_fields_t *fields, cm_rules_bundle_t *bundle,
    ngx_str_t *entry);
static ngx_int_t ngx_http_comment_moderation_editor_judge(
    ngx_http_request_t *r, const cm_engine_t *engine, cm_input_t *in,
    cm_result_t *res);
static ngx_str_t *ngx_http_comment_moderation_editor_field(
    ngx_http_request_t *r, cm_fields_t *fields, const char *name);
static void ngx_http_comment_moderation_editor_free(void *data);
static void ngx_http_comment_moderation_editor_versioned(
    ngx_http_request_t *r, ngx_str_t *version, redisReply *previous);


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
    { ngx_string("matches"), 1, ngx_http_comment_moderation_editor_matches },
    { ngx_string("publish"), 1, ngx_http_comment_moderation_editor_publish },
    { ngx_string("rollback"), 1,
      ngx_http_comment_moderation_editor_rollback },
    { ngx_string("promote"), 1, ngx_http_comment_moderation_admin_promote },
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
    ngx_http_comment_moderation_admin_promote_init();
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
    static const struct {
        const char  *name;
        cm_field_e   field;
    } more[] = {
        { "ip", CM_FIELD_IP },
        { "article", CM_FIELD_ARTICLE },
        { "section", CM_FIELD_SECTION }
    };

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

    for (i = 0; i < 3; i++) {
        v = ngx_http_comment_moderation_editor_field(r, fields, more[i].name);
        if (v && v->len) {
            in.value[more[i].field] = (const char *) v->data;
            in.len[more[i].field] = v->len;
        }
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
    return ngx_http_comment_moderation_editor_sample(r, fields, 0);
}


/* the pending comments a draft's rule would fire on ("make a rule") */
static ngx_int_t
ngx_http_comment_moderation_editor_matches(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    return ngx_http_comment_moderation_editor_sample(r, fields, 1);
}


/*
 * Backtest (matches 0): the last stored comments of every state; matches
 * (1): the pending ones, for the draft's rule named in "rule".
 */
static ngx_int_t
ngx_http_comment_moderation_editor_sample(ngx_http_request_t *r,
    cm_fields_t *fields, ngx_uint_t matches)
{
    size_t                                    i;
    ngx_str_t                                 error, args[2], *v;
    ngx_http_comment_moderation_draft_t      *draft;

    if (ngx_http_comment_moderation_editor_compile(r, fields, &draft, &error)
        != NGX_OK)
    {
        return ngx_http_comment_moderation_editor_failed(r, &error);
    }

    ngx_str_set(&args[1], "");

    if (matches) {
        v = ngx_http_comment_moderation_editor_field(r, fields, "rule");
        if (v == NULL || v->len == 0) {
            return ngx_http_comment_moderation_admin_error(r,
                                NGX_HTTP_BAD_REQUEST,
                                "\"rule\": the name of the draft's rule");
        }

        for (i = 0; i < draft->rules->nrules; i++) {
            if (ngx_strlen(draft->rules->rules[i].name) == v->len
                && ngx_strncmp(draft->rules->rules[i].name, v->data, v->len)
                   == 0)
            {
                break;
            }
        }

        if (i == draft->rules->nrules) {
            ngx_str_set(&error, "the draft has no rule of that name");
            return ngx_http_comment_moderation_editor_failed(r, &error);
        }

        draft->rule = *v;
        ngx_str_set(&args[1], "pending");
    }

    v = ngx_http_comment_moderation_editor_field(r, fields, "limit");

    return ngx_http_comment_moderation_editor_run_sample(r, draft, v,
                                                         &args[1]);
}


/*
 * The draft against the last "limit" stored comments of "state" (empty:
 * all): the backtest's answer, or the matches' when draft->rule is set.
 */
ngx_int_t
ngx_http_comment_moderation_editor_run_sample(ngx_http_request_t *r,
    ngx_http_comment_moderation_draft_t *draft, ngx_str_t *limit,
    ngx_str_t *state)
{
    ngx_int_t                                 n;
    ngx_str_t                                 args[2];
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    n = limit ? ngx_atoi(limit->data, limit->len) : 200;
    if (n <= 0 || n > NGX_HTTP_CM_BACKTEST_LIMIT) {
        n = 200;
    }

    args[0].data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (args[0].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args[0].len = ngx_sprintf(args[0].data, "%i", n) - args[0].data;
    args[1] = *state;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    ctx->act = draft;

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_sample_script, args, 2,
               ngx_http_comment_moderation_editor_sampled);
}


/*
 * The sample: id, state, moderator, text, name, email, url, rules, article,
 * section each; the backtest's or the matches' answer.
 */
static void
ngx_http_comment_moderation_editor_sampled(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    u_char                                   *p;
    size_t                                    i, len;
    ngx_str_t                                 json, list;
    ngx_uint_t                                total, listed, agree;
    cm_input_t                                in;
    cm_result_t                              *res;
    redisReply                              **e;
    ngx_int_t                                 version;
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
        || reply->elements % NGX_HTTP_CM_SAMPLE_FIELDS)
    {
        ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    len = 0;

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
            return;
        }

        len += reply->element[i]->len
               + ngx_escape_json(NULL, (u_char *) reply->element[i]->str,
                                 reply->element[i]->len);
    }

    len += (reply->elements / NGX_HTTP_CM_SAMPLE_FIELDS)
           * (sizeof("{\"id\":\"\",\"state\":\"\",\"moderator\":\"\","
                    "\"outcome\":\"accept\",\"was\":\"accept\","
                    "\"now\":\"accept\",\"score\":,\"text\":\"\","
                    "\"author\":\"\",\"article\":\"\",\"section\":\"\","
                    "\"rules\":\"\"},") + NGX_INT_T_LEN);

    res = ngx_palloc(r->pool, sizeof(cm_result_t));
    list.data = ngx_pnalloc(r->pool, len);
    json.data = ngx_pnalloc(r->pool, len + 2 * NGX_INT_T_LEN
                                     + sizeof("{\"ok\":true,\"total\":,"
                                              "\"changed\":,\"agree\":,"
                                              "\"disagree\":,"
                                              "\"comments\":[]}")
                                     + 2 * NGX_INT_T_LEN);
    if (res == NULL || list.data == NULL || json.data == NULL) {
        ngx_http_comment_moderation_editor_finish(r,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    p = list.data;
    total = listed = agree = 0;

    for (i = 0; i < reply->elements; i += NGX_HTTP_CM_SAMPLE_FIELDS) {
        e = &reply->element[i];

        ngx_http_comment_moderation_editor_sample_input(e, &in);

        if (draft->rule.len) {
            p = ngx_http_comment_moderation_editor_match(r, draft, &in, e,
                                                         res, p, &total,
                                                         &listed);
        } else {
            p = ngx_http_comment_moderation_editor_flip(r, active, draft,
                                                        &in, e, res, p,
                                                        &total, &listed,
                                                        &agree);
        }
    }

    list.len = p - list.data;

    if (draft->rule.len) {
        p = ngx_sprintf(json.data, "{\"ok\":true,\"total\":%ui,"
                        "\"matched\":%ui,\"comments\":[%V]}",
                        total, listed, &list);
    } else {
        p = ngx_sprintf(json.data, "{\"ok\":true,\"total\":%ui,"
                        "\"changed\":%ui,\"agree\":%ui,\"disagree\":%ui,"
                        "\"comments\":[%V]}",
                        total, listed, agree, total - agree, &list);
    }

    json.len = p - json.data;

    ngx_http_comment_moderation_editor_finish(r, NGX_HTTP_OK, &json);
}


/* a sampled comment as the engine reads it; empty fields are absent */
static void
ngx_http_comment_moderation_editor_sample_input(redisReply **e,
    cm_input_t *in)
{
    ngx_uint_t  j;

    static const struct {
        ngx_uint_t   element;
        cm_field_e   field;
    } roles[] = {
        { 3, CM_FIELD_TEXT }, { 4, CM_FIELD_NAME }, { 5, CM_FIELD_EMAIL },
        { 6, CM_FIELD_URL }, { 8, CM_FIELD_ARTICLE }, { 9, CM_FIELD_SECTION }
    };

    ngx_memzero(in, sizeof(cm_input_t));

    for (j = 0; j < sizeof(roles) / sizeof(roles[0]); j++) {
        if (j == 0 || e[roles[j].element]->len) {
            in->value[roles[j].field] = e[roles[j].element]->str;
            in->len[roles[j].field] = e[roles[j].element]->len;
        }
    }
}


/* the backtest: listed when the draft changes the active set's decision */
static u_char *
ngx_http_comment_moderation_editor_flip(ngx_http_request_t *r,
    const cm_engine_t *active, ngx_http_comment_moderation_draft_t *draft,
    cm_input_t *in, redisReply **e, cm_result_t *res, u_char *p,
    ngx_uint_t *total, ngx_uint_t *changed, ngx_uint_t *agree)
{
    const char  *was, *now, *outcome;

    if (ngx_http_comment_moderation_editor_judge(r, active, in, res)
        != NGX_OK)
    {
        return p;
    }

    was = cm_decision_name(res->decision);

    if (ngx_http_comment_moderation_editor_judge(r, draft->engine, in, res)
        != NGX_OK)
    {
        return p;
    }

    (*total)++;
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
        (*agree)++;
    }

    if (ngx_strcmp(was, now) == 0) {
        return p;
    }

    (*changed)++;
    p = ngx_sprintf(p, "%s{\"id\":\"%*s\",\"state\":\"%*s\","
                    "\"moderator\":\"", *changed > 1 ? "," : "",
                    e[0]->len, e[0]->str, e[1]->len, e[1]->str);
    p = (u_char *) ngx_escape_json(p, (u_char *) e[2]->str, e[2]->len);
    p = ngx_sprintf(p, "\",\"outcome\":\"%s\",\"was\":\"%s\","
                    "\"now\":\"%s\",\"text\":\"", outcome, was, now);
    p = (u_char *) ngx_escape_json(p, (u_char *) e[3]->str, e[3]->len);

    return ngx_sprintf(p, "\",\"rules\":\"%*s\"}", e[7]->len, e[7]->str);
}


/* the matches: listed when the draft's rule fires, with the draft's
   decision */
static u_char *
ngx_http_comment_moderation_editor_match(ngx_http_request_t *r,
    ngx_http_comment_moderation_draft_t *draft, cm_input_t *in,
    redisReply **e, cm_result_t *res, u_char *p, ngx_uint_t *total,
    ngx_uint_t *matched)
{
    size_t        i;
    redisReply   *author;

    if (ngx_http_comment_moderation_editor_judge(r, draft->engine, in, res)
        != NGX_OK)
    {
        return p;
    }

    (*total)++;

    for (i = 0; i < res->nhits; i++) {
        if (ngx_strlen(res->hits[i].rule->name) == draft->rule.len
            && ngx_strncmp(res->hits[i].rule->name, draft->rule.data,
                           draft->rule.len) == 0)
        {
            break;
        }
    }

    if (i == res->nhits) {
        return p;
    }

    (*matched)++;
    author = e[4]->len ? e[4] : e[5];

    p = ngx_sprintf(p, "%s{\"id\":\"%*s\",\"state\":\"%*s\",\"now\":\"%s\","
                    "\"score\":%d,\"author\":\"", *matched > 1 ? "," : "",
                    e[0]->len, e[0]->str, e[1]->len, e[1]->str,
                    cm_decision_name(res->decision), res->score);
    p = (u_char *) ngx_escape_json(p, (u_char *) author->str, author->len);
    p = ngx_cpymem(p, "\",\"article\":\"", sizeof("\",\"article\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) e[8]->str, e[8]->len);
    p = ngx_cpymem(p, "\",\"section\":\"", sizeof("\",\"section\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) e[9]->str, e[9]->len);
    p = ngx_cpymem(p, "\",\"text\":\"", sizeof("\",\"text\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) e[3]->str, e[3]->len);

    return ngx_sprintf(p, "\",\"rules\":\"%*s\"}", e[7]->len, e[7]->str);
}


static ngx_int_t
ngx_http_comment_moderation_editor_publish(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    ngx_str_t                             error, *note, entry;
    cm_rules_bundle_t                     bundle;
    ngx_http_comment_moderation_draft_t  *draft;

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

    if (ngx_http_comment_moderation_editor_bundle(r, fields, &bundle, &entry)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_comment_moderation_editor_publish_bundle(r, &bundle,
                                                             &entry, note);
}


/* publish.lua with the files of a rule set that compiled */
ngx_int_t
ngx_http_comment_moderation_editor_publish_bundle(ngx_http_request_t *r,
    cm_rules_bundle_t *bundle, ngx_str_t *entry, ngx_str_t *note)
{
    u_char                                   *p;
    size_t                                    i;
    ngx_str_t                                *args;
    ngx_uint_t                                n;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    static const char  *keys[] = {
        "rules:seq", "rules:versions", "rules:active", "audit", "rules:v:",
        "rules"
    };

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    args = ngx_palloc(r->pool, (10 + 2 * bundle->nfiles) * sizeof(ngx_str_t));
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
    args[9] = *entry;
    n = 10;

    for (i = 0; i < bundle->nfiles; i++) {
        args[n].len = 5 + bundle->files[i].name_len;     /* "file:" + path */
        args[n].data = ngx_pnalloc(r->pool, args[n].len);
        if (args[n].data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(args[n].data, "file:", 5);
        ngx_memcpy(p, bundle->files[i].name, bundle->files[i].name_len);

        args[n + 1].data = (u_char *) bundle->files[i].text;
        args[n + 1].len = bundle->files[i].len;
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
    ngx_str_t           entry;
    cm_rules_bundle_t   bundle;

    if (ngx_http_comment_moderation_editor_bundle(r, fields, &bundle, &entry)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_comment_moderation_editor_load(r, &bundle, &entry, draft,
                                                   error);
}


/* the draft's files and entry, as the body's JSON names them */
static ngx_int_t
ngx_http_comment_moderation_editor_bundle(ngx_http_request_t *r,
    cm_fields_t *fields, cm_rules_bundle_t *bundle, ngx_str_t *entry)
{
    ngx_str_t         *v;
    const cm_field_t  *f;

    bundle->files = ngx_palloc(r->pool, (fields->nfields + 1)
                                        * sizeof(cm_bundle_file_t));
    if (bundle->files == NULL) {
        return NGX_ERROR;
    }

    bundle->nfiles = 0;

    for (f = fields->fields; f < fields->fields + fields->nfields; f++) {
        if (f->name_len > 6 && ngx_strncmp(f->name, "files.", 6) == 0) {
            bundle->files[bundle->nfiles].name = f->name + 6;
            bundle->files[bundle->nfiles].name_len = f->name_len - 6;
            bundle->files[bundle->nfiles].text = f->value;
            bundle->files[bundle->nfiles].len = f->value_len;
            bundle->nfiles++;
        }
    }

    v = ngx_http_comment_moderation_editor_field(r, fields, "entry");
    if (v) {
        *entry = *v;
    } else {
        ngx_str_set(entry, "default.rules");
    }

    return NGX_OK;
}


/* a rule set's files compiled as nginx would load them; see above */
ngx_int_t
ngx_http_comment_moderation_editor_load(ngx_http_request_t *r,
    cm_rules_bundle_t *bundle, ngx_str_t *entry,
    ngx_http_comment_moderation_draft_t **draft, ngx_str_t *error)
{
    char                                 *path, *err;
    size_t                                i;
    cm_rules_source_t                     src;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_comment_moderation_draft_t  *d;

    err = ngx_pcalloc(r->pool, NGX_HTTP_CM_EDITOR_ERR);
    path = ngx_pnalloc(r->pool, entry->len + 1);
    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_comment_moderation_draft_t));
    if (err == NULL || path == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    d = cln->data;
    ngx_memzero(d, sizeof(ngx_http_comment_moderation_draft_t));
    cln->handler = ngx_http_comment_moderation_editor_free;

    error->data = (u_char *) err;

    if (bundle->nfiles == 0) {
        error->len = ngx_sprintf(error->data, "the draft has no \"files\"")
                     - error->data;
        return NGX_DECLINED;
    }

    /* cm-rules export writes these names under a folder */
    for (i = 0; i < bundle->nfiles; i++) {
        if (!ngx_http_comment_moderation_editor_safe_name(
                        (u_char *) bundle->files[i].name,
                        bundle->files[i].name_len))
        {
            error->len = ngx_snprintf(error->data, NGX_HTTP_CM_EDITOR_ERR,
                                      "unsafe file name in the rule set: "
                                      "\"%*s\"",
                                      ngx_min(bundle->files[i].name_len, 200),
                                      bundle->files[i].name)
                         - error->data;
            return NGX_DECLINED;
        }
    }

    ngx_cpystrn((u_char *) path, entry->data, entry->len + 1);

    src = cm_rules_bundle_source(bundle);

    d->rules = cm_rules_load(&src, path, err, NGX_HTTP_CM_EDITOR_ERR);
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
ngx_int_t
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
ngx_int_t
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


void
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
