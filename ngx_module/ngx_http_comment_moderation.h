/*
 * ngx_http_comment_moderation_module: what the nginx-facing files share.
 *
 *   _module.c     directives, configuration, registration
 *   _handler.c    the precontent-phase handler: read the body, decide, act
 *   _answer.c     what the client gets for reject / queue / invalid
 *   _variables.c  $comment_moderation_* variables
 *   _store.c      the comment's Redis calls (check, keep), identity hashes
 *   _admin.c      the moderators' area: review page and JSON API
 *   _admin_act.c  the moderators' actions: approve (release), reject, bulk
 *   _admin_rules.c  the rules as editors see them, with hits and overturns
 *   _admin_editor.c the editors' drafts: check, try, backtest, publish
 *   _release.c    an approved comment's request, sent to the backend
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_comment_moderation_body.h"
#include "ngx_http_comment_moderation_engine.h"
#include "ngx_http_comment_moderation_redis.h"
#include "ngx_http_comment_moderation_metrics.h"


/* the comment's roles that come from the body; the rest is request metadata */
#define NGX_HTTP_CM_BODY_ROLES  (CM_FIELD_SECTION + 1)


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
    ngx_flag_t                   regex_jit;
    time_t                       reputation_ttl;
    ngx_uint_t                   sample_accepted;  /* percent kept */
    ngx_http_conf_ctx_t         *admin;      /* the first admin location's,
                                                for handoffs */
} ngx_http_comment_moderation_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;
    ngx_http_comment_moderation_rule_set_t  *rule_set;
    ngx_str_t                    field[NGX_HTTP_CM_BODY_ROLES];
    ngx_http_complex_value_t    *user;
    ngx_http_complex_value_t    *section;      /* wins over the body's */
    size_t                       max_body;
    ngx_uint_t                   on_invalid;
    ngx_uint_t                   reject_status;
    ngx_flag_t                   redirect;
    ngx_uint_t                   lang;
    ngx_str_t                    message[NGX_HTTP_CM_MSG_N];
    ngx_uint_t                   queue;

    /* comment_moderation_admin: the location is the moderators' area */
    ngx_flag_t                   admin;
    ngx_http_complex_value_t    *admin_user;   /* else $remote_user */
    ngx_str_t                    release_to;   /* URI prefix of the internal
                                                  location to the backend */
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
    ngx_uint_t                   keep_stored;  /* waiting for the replicas */
} ngx_http_comment_moderation_ctx_t;


/* what an approval sends to the backend: the comment's original request */
typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    moderator;
    ngx_str_t                    method;
    ngx_str_t                    uri;        /* with its arguments */
    ngx_str_t                    content_type;
    ngx_str_t                    body;
    ngx_str_t                    ip;         /* of the commenter */
    ngx_str_t                    user_agent;
    ngx_str_t                    referer;
} ngx_http_comment_moderation_release_t;

/* status: the backend's HTTP status, or 0 if none came (error, timeout) */
typedef void (*ngx_http_comment_moderation_released_pt)(ngx_http_request_t *r,
    void *data, ngx_uint_t status);


typedef void (*ngx_http_comment_moderation_admin_done_pt)(
    ngx_http_request_t *r, ngx_uint_t status, ngx_str_t *json);

/* a moderator's request */
typedef struct {
    ngx_str_t                    user;
    ngx_uint_t                   route;
    ngx_str_t                    id;        /* of api/comments/ID[/ACTION] */
    ngx_str_t                    action;
    void                        *act;       /* the action under way */
    ngx_http_comment_moderation_admin_done_pt      done;  /* a handoff's:
                                               takes the answer instead */
    ngx_http_comment_moderation_redis_call_t      *call;
    ngx_http_comment_moderation_redis_handler_pt   reply;
} ngx_http_comment_moderation_admin_ctx_t;


#define NGX_HTTP_CM_HASH_LEN  32        /* hex of an identity's HMAC */


extern ngx_module_t  ngx_http_comment_moderation_module;
extern ngx_str_t     ngx_http_comment_moderation_decision_names[];


ngx_int_t ngx_http_comment_moderation_handler(ngx_http_request_t *r);

/* copies of a text a swarm rule rejected: _flood.c */
ngx_int_t ngx_http_comment_moderation_flood_add_zone(ngx_conf_t *cf);
ngx_int_t ngx_http_comment_moderation_flood_copy(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
void ngx_http_comment_moderation_flood_learn(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
ngx_http_comment_moderation_ctx_t *ngx_http_comment_moderation_get_ctx(
    ngx_http_request_t *r);

ngx_int_t ngx_http_comment_moderation_answer(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
ngx_int_t ngx_http_comment_moderation_send_body(ngx_http_request_t *r,
    ngx_str_t *body);
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
void ngx_http_comment_moderation_keep_accepted(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);
void ngx_http_comment_moderation_decide(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, const cm_facts_t *facts);
void ngx_http_comment_moderation_kept(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_int_t rc);
ngx_http_comment_moderation_redis_script_t *
    ngx_http_comment_moderation_store_scripts_init(void);
void *ngx_http_comment_moderation_palloc(void *pool, size_t size);
void ngx_http_comment_moderation_hmac(ngx_str_t *secret, const char *kind,
    const u_char *data, size_t len, u_char *hex);
int64_t ngx_http_comment_moderation_now_ms(void);
ngx_int_t ngx_http_comment_moderation_new_id(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx);

/* the moderators' area */
ngx_int_t ngx_http_comment_moderation_admin_handler(ngx_http_request_t *r);
void ngx_http_comment_moderation_admin_scripts_init(void);
ngx_int_t ngx_http_comment_moderation_admin_act(ngx_http_request_t *r,
    ngx_str_t *action, ngx_str_t *ids, ngx_uint_t nids, ngx_uint_t bulk,
    cm_fields_t *args);
ngx_int_t ngx_http_comment_moderation_admin_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *text);
ngx_int_t ngx_http_comment_moderation_admin_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json);
ngx_int_t ngx_http_comment_moderation_admin_eval(ngx_http_request_t *r,
    ngx_http_comment_moderation_redis_script_t *script, ngx_str_t *args,
    ngx_uint_t nargs, ngx_http_comment_moderation_redis_handler_pt handler);
void ngx_http_comment_moderation_admin_act_init(void);
void ngx_http_comment_moderation_admin_rules_init(void);
void ngx_http_comment_moderation_admin_editor_init(void);
ngx_int_t ngx_http_comment_moderation_admin_editor_post(ngx_str_t *verb);
ngx_int_t ngx_http_comment_moderation_admin_editor(ngx_http_request_t *r,
    ngx_str_t *verb, cm_fields_t *fields);
ngx_int_t ngx_http_comment_moderation_admin_eval_keys(ngx_http_request_t *r,
    ngx_http_comment_moderation_redis_script_t *script, ngx_uint_t nkeys,
    ngx_str_t *args, ngx_uint_t nargs,
    ngx_http_comment_moderation_redis_handler_pt handler);
void ngx_http_comment_moderation_admin_read_done(void *data,
    redisReply *reply);
ngx_uint_t ngx_http_comment_moderation_admin_counts_valid(redisReply *reply);

/* the comments' states, as admin_counts.lua counts them */
#define NGX_HTTP_CM_ADMIN_STATES  5
extern const char  *ngx_http_comment_moderation_admin_states[];
extern ngx_http_comment_moderation_redis_script_t
    ngx_http_comment_moderation_admin_counts_script;
void ngx_http_comment_moderation_admin_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
ngx_int_t ngx_http_comment_moderation_result_json(ngx_http_request_t *r,
    cm_result_t *res, ngx_str_t *spans, ngx_str_t *hits);
ngx_int_t ngx_http_comment_moderation_admin_rules(ngx_http_request_t *r);
const cm_engine_t *ngx_http_comment_moderation_active_engine(
    ngx_http_request_t *r, ngx_int_t *version);
ngx_http_comment_moderation_admin_ctx_t *ngx_http_comment_moderation_admin_ctx(
    ngx_http_request_t *r);
ngx_int_t ngx_http_comment_moderation_admin_ctx_add(ngx_http_request_t *r);
ngx_uint_t ngx_http_comment_moderation_admin_valid_id(ngx_str_t *id);
ngx_uint_t ngx_http_comment_moderation_admin_valid_user(ngx_str_t *user);
void ngx_http_comment_moderation_admin_finalize(ngx_http_request_t *r,
    ngx_int_t rc);
ngx_int_t ngx_http_comment_moderation_handoff_init_process(ngx_cycle_t *cycle,
    ngx_http_conf_ctx_t *conf, ngx_str_t *prefix);
void ngx_http_comment_moderation_handoff_exit_process(void);
ngx_int_t ngx_http_comment_moderation_release(ngx_http_request_t *r,
    ngx_http_comment_moderation_release_t *rel,
    ngx_http_comment_moderation_released_pt handler, void *data);


#endif /* _NGX_HTTP_COMMENT_MODERATION_H_INCLUDED_ */
