/*
 * ngx_http_comment_moderation_module: what the nginx-facing files share.
 *
 *   _module.c     directives, configuration, registration
 *   _handler.c    the precontent-phase handler: read the body, decide, act
 *   _answer.c     what the client gets for reject / queue / invalid
 *   _variables.c  $comment_moderation_* variables
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_comment_moderation_body.h"
#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_redis.h"


/* the comment's roles that come from the body; the rest is request metadata */
#define NGX_HTTP_CM_BODY_ROLES  (CM_FIELD_ARTICLE + 1)


typedef enum {
    NGX_HTTP_CM_ON_INVALID_REJECT = 0,
    NGX_HTTP_CM_ON_INVALID_QUEUE,
    NGX_HTTP_CM_ON_INVALID_ACCEPT
} ngx_http_comment_moderation_on_invalid_e;


typedef enum {
    NGX_HTTP_CM_QUEUE_MARK = 0,     /* forward, marked, to the backend */
    NGX_HTTP_CM_QUEUE_HOLD          /* keep in Redis for the moderators */
} ngx_http_comment_moderation_queue_e;


typedef enum {
    NGX_HTTP_CM_LANG_ID = 0,
    NGX_HTTP_CM_LANG_EN,
    NGX_HTTP_CM_LANG_N
} ngx_http_comment_moderation_lang_e;


/* what the client is told; each has a localized default message */
typedef enum {
    NGX_HTTP_CM_MSG_REJECT = 0,
    NGX_HTTP_CM_MSG_QUEUE,
    NGX_HTTP_CM_MSG_INVALID,
    NGX_HTTP_CM_MSG_TOO_LARGE,
    NGX_HTTP_CM_MSG_UNAVAILABLE,
    NGX_HTTP_CM_MSG_N
} ngx_http_comment_moderation_msg_e;


/* a rule file (or folder) compiled at configuration time */
typedef struct {
    ngx_str_t                    path;
    cm_rules_t                  *rules;
    cm_engine_t                 *engine;
} ngx_http_comment_moderation_rule_set_t;


typedef struct {
    ngx_array_t                  rule_sets;  /* of ngx_http_comment_moderation_
                                                rule_set_t *, one per path */
    ngx_http_comment_moderation_redis_conf_t  redis;  /* name.len 0: none */
    ngx_str_t                    prefix;     /* of every Redis key */
    ngx_str_t                    secret;     /* keys the identity hashes */
    ngx_path_t                  *spool_path; /* created for the workers */
    ngx_str_t                    spool;      /* the file in it */
    time_t                       keep_rejected;
    time_t                       reputation_ttl;
} ngx_http_comment_moderation_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;
    ngx_http_comment_moderation_rule_set_t  *rule_set;
    ngx_str_t                    field[NGX_HTTP_CM_BODY_ROLES];
    ngx_http_complex_value_t    *user;
    size_t                       max_body;
    ngx_uint_t                   on_invalid;
    ngx_uint_t                   reject_status;
    ngx_flag_t                   redirect;
    ngx_uint_t                   lang;
    ngx_str_t                    message[NGX_HTTP_CM_MSG_N];
    ngx_uint_t                   queue;
} ngx_http_comment_moderation_loc_conf_t;


/* the outcome for one request; also what the variables show */
typedef enum {
    NGX_HTTP_CM_UNCHECKED = 0,
    NGX_HTTP_CM_ACCEPT,
    NGX_HTTP_CM_QUEUE,
    NGX_HTTP_CM_REJECT,
    NGX_HTTP_CM_INVALID
} ngx_http_comment_moderation_decision_e;


typedef struct {
    ngx_uint_t                   decision;   /* NGX_HTTP_CM_* */
    ngx_uint_t                   checked;    /* the body was read and judged */
    ngx_uint_t                   waiting;    /* for Redis */
    ngx_uint_t                   redis_failed;  /* its check did */
    ngx_uint_t                   message;    /* NGX_HTTP_CM_MSG_*, to answer */
    ngx_uint_t                   status;     /* HTTP status, to answer */
    ngx_int_t                    score;
    ngx_str_t                    rules;      /* "a,b" non-shadow rules fired */
    ngx_str_t                    error;      /* why the body is invalid */

    /* for Redis: what was judged, and by which rule set */
    const cm_engine_t           *engine;
    ngx_int_t                    version;
    cm_input_t                   input;
    cm_result_t                 *result;
    ngx_str_t                    body;
    ngx_str_t                    id;         /* the comment's id */
    ngx_http_comment_moderation_redis_call_t  *call;
    int                          keep_argc;  /* the keep call, for the spool */
    const char                 **keep_argv;
    size_t                      *keep_argvlen;
} ngx_http_comment_moderation_ctx_t;


extern ngx_module_t  ngx_http_comment_moderation_module;
extern ngx_str_t     ngx_http_comment_moderation_decision_names[];


ngx_int_t ngx_http_comment_moderation_handler(ngx_http_request_t *r);
ngx_http_comment_moderation_ctx_t *ngx_http_comment_moderation_get_ctx(
    ngx_http_request_t *r);

ngx_int_t ngx_http_comment_moderation_answer(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
ngx_table_elt_t *ngx_http_comment_moderation_header_in(ngx_http_request_t *r,
    const char *lowcase_name, ngx_str_t *value);

ngx_int_t ngx_http_comment_moderation_add_variables(ngx_conf_t *cf);
char *ngx_http_comment_moderation_conf_file_line(ngx_conf_t *cf,
    ngx_str_t *arg, size_t skip, ngx_str_t *line);

/* Redis on the request path: _store.c calls back into the handler */
ngx_int_t ngx_http_comment_moderation_check(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
ngx_int_t ngx_http_comment_moderation_keep(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
void ngx_http_comment_moderation_decide(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const cm_facts_t *facts);
void ngx_http_comment_moderation_kept(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_int_t rc);
ngx_http_comment_moderation_redis_script_t *
    ngx_http_comment_moderation_store_scripts_init(void);


#endif /* _NGX_HTTP_COMMENT_MODERATION_H_INCLUDED_ */
