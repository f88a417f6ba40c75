/*
 * $comment_moderation_decision, $comment_moderation_score and
 * $comment_moderation_rules, for log_format and the rest of the config.
 * Empty for requests the module did not judge.
 */

#include "ngx_http_comment_moderation.h"


static ngx_int_t ngx_http_comment_moderation_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


typedef enum {
    NGX_HTTP_CM_VAR_DECISION = 0,
    NGX_HTTP_CM_VAR_SCORE,
    NGX_HTTP_CM_VAR_RULES,
    NGX_HTTP_CM_VAR_ID
} ngx_http_comment_moderation_var_e;


static ngx_http_variable_t  ngx_http_comment_moderation_vars[] = {

    { ngx_string("comment_moderation_decision"), NULL,
      ngx_http_comment_moderation_variable, NGX_HTTP_CM_VAR_DECISION,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("comment_moderation_score"), NULL,
      ngx_http_comment_moderation_variable, NGX_HTTP_CM_VAR_SCORE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("comment_moderation_rules"), NULL,
      ngx_http_comment_moderation_variable, NGX_HTTP_CM_VAR_RULES,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* the decision's id: sent to the backend, kept with held comments */
    { ngx_string("comment_moderation_id"), NULL,
      ngx_http_comment_moderation_variable, NGX_HTTP_CM_VAR_ID,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_comment_moderation_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_comment_moderation_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                             *p;
    ngx_str_t                           s;
    ngx_http_comment_moderation_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_get_ctx(r->main);

    if (ctx == NULL || !ctx->checked) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_CM_VAR_DECISION:
        s = ngx_http_comment_moderation_decision_names[ctx->decision];
        break;

    case NGX_HTTP_CM_VAR_SCORE:
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%i", ctx->score) - p;
        break;

    case NGX_HTTP_CM_VAR_ID:
        s = ctx->id;
        break;

    default: /* NGX_HTTP_CM_VAR_RULES */
        s = ctx->rules;
    }

    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s.data;

    return NGX_OK;
}
