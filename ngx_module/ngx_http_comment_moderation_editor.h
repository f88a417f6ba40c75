/*
 * The editors' API files share these: _admin_editor.c (the verbs on a
 * draft, publish, rollback) and _admin_promote.c (a shadow rule promoted
 * on the server, for the page and cm-rules alike).
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_EDITOR_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_EDITOR_H_INCLUDED_


#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_rules_bundle.h"


/* a draft rule set compiled in the worker, freed with the request */
typedef struct {
    cm_rules_t                  *rules;
    cm_engine_t                 *engine;
    ngx_str_t                    rule;      /* "matches": the draft rule */
} ngx_http_comment_moderation_draft_t;


ngx_int_t ngx_http_comment_moderation_editor_load(ngx_http_request_t *r,
    cm_rules_bundle_t *bundle, ngx_str_t *entry,
    ngx_http_comment_moderation_draft_t **draft, ngx_str_t *error);
ngx_int_t ngx_http_comment_moderation_editor_publish_bundle(
    ngx_http_request_t *r, cm_rules_bundle_t *bundle, ngx_str_t *entry,
    ngx_str_t *note);
ngx_int_t ngx_http_comment_moderation_editor_run_sample(ngx_http_request_t *r,
    ngx_http_comment_moderation_draft_t *draft, ngx_str_t *limit,
    ngx_str_t *state);
ngx_int_t ngx_http_comment_moderation_editor_failed(ngx_http_request_t *r,
    ngx_str_t *error);
ngx_int_t ngx_http_comment_moderation_editor_key(ngx_http_request_t *r,
    const char *name, ngx_str_t *key);
void ngx_http_comment_moderation_editor_finish(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json);

void ngx_http_comment_moderation_admin_promote_init(void);
ngx_int_t ngx_http_comment_moderation_admin_promote(ngx_http_request_t *r,
    cm_fields_t *fields);


#endif /* _NGX_HTTP_COMMENT_MODERATION_EDITOR_H_INCLUDED_ */
