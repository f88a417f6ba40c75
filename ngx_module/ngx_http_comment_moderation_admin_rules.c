/*
 * api/rules: the active rule set as the editors see it - each rule's kind,
 * effect, note, shadow flag, file and line - with its hits in the last
 * hour, day and week and how often moderators overturned it, so that stale
 * and noisy rules stand out.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_lua.h"
#include "ngx_http_comment_moderation_live.h"


typedef struct {
    ngx_str_t                    defs;      /* {"version":N,"rules":[...] */
} ngx_http_comment_moderation_rules_json_t;


static ngx_int_t ngx_http_comment_moderation_rules_defs(ngx_http_request_t *r,
    const cm_rules_t *rules, ngx_int_t version, ngx_str_t *json);
static void ngx_http_comment_moderation_rules_counted(void *data,
    redisReply *reply);


static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_rules_script;


static const char  *ngx_http_comment_moderation_rule_kinds[] = {
    "words", "regex", "reputation"
};


void
ngx_http_comment_moderation_admin_rules_init(void)
{
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_rules_script,
        ngx_http_comment_moderation_lua_admin_rules);
}


/* NGX_DONE: asked Redis for the counts; NGX_DECLINED: Redis is away */
ngx_int_t
ngx_http_comment_moderation_admin_rules(ngx_http_request_t *r)
{
    ngx_int_t                                  version;
    ngx_str_t                                 *args;
    ngx_uint_t                                 i;
    const cm_rules_t                          *rules;
    const cm_engine_t                         *engine;
    ngx_http_comment_moderation_admin_ctx_t   *ctx;
    ngx_http_comment_moderation_rules_json_t  *rj;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    engine = ngx_http_comment_moderation_active_engine(r, &version);

    if (engine == NULL) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_FOUND,
                                                  "no rule set is loaded");
    }

    rules = cm_engine_rules(engine);

    rj = ngx_palloc(r->pool, sizeof(ngx_http_comment_moderation_rules_json_t));
    args = ngx_palloc(r->pool, (rules->nrules + 1) * sizeof(ngx_str_t));
    if (rj == NULL || args == NULL
        || ngx_http_comment_moderation_rules_defs(r, rules, version, &rj->defs)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args[0].data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (args[0].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* check.lua counts hits by the hour */
    args[0].len = ngx_sprintf(args[0].data, "%T", ngx_time() / 3600)
                  - args[0].data;

    for (i = 0; i < rules->nrules; i++) {
        args[1 + i].data = (u_char *) rules->rules[i].name;
        args[1 + i].len = ngx_strlen(rules->rules[i].name);
    }

    ctx->act = rj;

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_rules_script, args,
               1 + rules->nrules,
               ngx_http_comment_moderation_rules_counted);
}


/* the set comments are judged by now: the live one, else the first file */
const cm_engine_t *
ngx_http_comment_moderation_active_engine(ngx_http_request_t *r,
    ngx_int_t *version)
{
    const cm_engine_t                         *files;
    ngx_http_comment_moderation_rule_set_t   **sets;
    ngx_http_comment_moderation_main_conf_t   *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    sets = cmcf->rule_sets.elts;
    files = cmcf->rule_sets.nelts ? sets[0]->engine : NULL;

    return ngx_http_comment_moderation_live_engine(r, files, version);
}


/* {"version":N,"rules":[{"name","kind","effect","note","shadow","file",
   "line"}... (the closing "]" and "}" come with the counts) */
static ngx_int_t
ngx_http_comment_moderation_rules_defs(ngx_http_request_t *r,
    const cm_rules_t *rules, ngx_int_t version, ngx_str_t *json)
{
    u_char               *p;
    size_t                len, note_len;
    ngx_uint_t            i;
    const cm_rule_def_t  *rule;

    len = sizeof("{\"version\":,\"rules\":[") + NGX_INT_T_LEN;

    for (i = 0; i < rules->nrules; i++) {
        rule = &rules->rules[i];
        note_len = rule->note ? ngx_strlen(rule->note) : 0;

        len += sizeof("{\"name\":\"\",\"kind\":\"reputation\",\"effect\":"
                      "\"score \",\"note\":\"\",\"shadow\":false,\"file\":"
                      "\"\",\"line\":},")
               + ngx_strlen(rule->name) + 2 * NGX_INT_T_LEN
               + note_len + ngx_escape_json(NULL, (u_char *) rule->note,
                                            note_len)
               + 2 * ngx_strlen(rule->file ? rule->file : "");
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    json->data = p;
    p = ngx_sprintf(p, "{\"version\":%i,\"rules\":[", version);

    for (i = 0; i < rules->nrules; i++) {
        rule = &rules->rules[i];
        note_len = rule->note ? ngx_strlen(rule->note) : 0;

        /* rule names are [A-Za-z0-9._-]: nothing to escape */
        p = ngx_sprintf(p, "%s{\"name\":\"%s\",\"kind\":\"%s\",\"effect\":\"",
                        i ? "," : "", rule->name,
                        rule->kind < 3
                        ? ngx_http_comment_moderation_rule_kinds[rule->kind]
                        : "rule");

        if (rule->action == CM_ACTION_SCORE) {
            p = ngx_sprintf(p, "score %d", rule->score);

        } else {
            p = ngx_sprintf(p, "%s", rule->action == CM_ACTION_REJECT
                                     ? "reject"
                                     : rule->action == CM_ACTION_QUEUE
                                     ? "queue" : "accept");
        }

        p = ngx_cpymem(p, "\",\"note\":\"", sizeof("\",\"note\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, (u_char *) rule->note, note_len);
        p = ngx_sprintf(p, "\",\"shadow\":%s,\"file\":\"",
                        rule->shadow ? "true" : "false");
        p = (u_char *) ngx_escape_json(p, (u_char *) (rule->file ? rule->file
                                                                 : ""),
                                       ngx_strlen(rule->file ? rule->file
                                                             : ""));
        p = ngx_sprintf(p, "\",\"line\":%ud}", rule->line);
    }

    json->len = p - json->data;

    return NGX_OK;
}


static void
ngx_http_comment_moderation_rules_counted(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    u_char                                    *p;
    ngx_int_t                                  rc;
    ngx_str_t                                  json;
    ngx_http_comment_moderation_admin_ctx_t   *ctx;
    ngx_http_comment_moderation_rules_json_t  *rj;

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    rj = ctx->act;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        rc = ngx_http_comment_moderation_admin_error(r,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "Redis did not answer");
        ngx_http_finalize_request(r, rc);
        return;
    }

    json.len = rj->defs.len + sizeof("],\"counts\":}") + reply->len;
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(json.data, rj->defs.data, rj->defs.len);
    p = ngx_cpymem(p, "],\"counts\":", sizeof("],\"counts\":") - 1);
    p = ngx_cpymem(p, reply->str, reply->len);
    *p++ = '}';
    json.len = p - json.data;

    rc = ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);
    ngx_http_finalize_request(r, rc);
}
