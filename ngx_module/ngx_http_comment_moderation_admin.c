/*
 * The moderators' area: "comment_moderation_admin;" in a location serves
 * the review page and the JSON API of docs/admin-api.md.
 *
 * Who may come in is nginx's business (auth_basic, auth_request, allow/deny
 * in the same location); the module takes the moderator's name from
 * $remote_user or comment_moderation_admin_user and refuses without one.
 * Reads are one Redis script each (ngx_module/lua/admin_*.lua) whose JSON
 * goes to the page as is; actions are in _admin_act.c.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_lua.h"
#include "ngx_http_comment_moderation_admin_page.h"


#define NGX_HTTP_CM_ADMIN_MAX_LIMIT   200
#define NGX_HTTP_CM_ADMIN_MAX_OFFSET  1000000000


typedef enum {
    NGX_HTTP_CM_ADMIN_SESSION = 0,
    NGX_HTTP_CM_ADMIN_COUNTS,
    NGX_HTTP_CM_ADMIN_LIST,
    NGX_HTTP_CM_ADMIN_SHOW,
    NGX_HTTP_CM_ADMIN_AUDIT,
    NGX_HTTP_CM_ADMIN_RULES,
    NGX_HTTP_CM_ADMIN_EDITOR,
    NGX_HTTP_CM_ADMIN_ACT,
    NGX_HTTP_CM_ADMIN_BULK
} ngx_http_comment_moderation_admin_route_e;




static ngx_int_t ngx_http_comment_moderation_admin_route(ngx_http_request_t *r,
    ngx_http_comment_moderation_admin_ctx_t *ctx, ngx_str_t *path);
static ngx_int_t ngx_http_comment_moderation_admin_file(ngx_http_request_t *r,
    ngx_str_t *path);
static ngx_int_t ngx_http_comment_moderation_admin_csrf(ngx_http_request_t *r,
    ngx_str_t *user, ngx_str_t *token);
static ngx_int_t ngx_http_comment_moderation_admin_same_origin(
    ngx_http_request_t *r);
static void ngx_http_comment_moderation_admin_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_comment_moderation_admin_read(ngx_http_request_t *r,
    ngx_http_comment_moderation_admin_ctx_t *ctx);
static ngx_int_t ngx_http_comment_moderation_admin_list(ngx_http_request_t *r);
static ngx_int_t ngx_http_comment_moderation_admin_paging(ngx_http_request_t *r,
    ngx_str_t *args);
static ngx_int_t ngx_http_comment_moderation_admin_fields(ngx_http_request_t *r,
    cm_fields_t *fields, const char **error);
static ngx_int_t ngx_http_comment_moderation_admin_action(
    ngx_http_request_t *r, ngx_http_comment_moderation_admin_ctx_t *ctx);
static void ngx_http_comment_moderation_admin_replied(void *data,
    redisReply *reply);
static void ngx_http_comment_moderation_admin_cleanup(void *data);
static void ngx_http_comment_moderation_admin_counted(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_admin_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);


static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_admin_list_script;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_admin_show;
static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_admin_audit;


/* in admin_counts.lua's order */
const char  *ngx_http_comment_moderation_admin_states[] = {
    "pending", "rejected", "approved", "release-failed", "releasing", NULL
};


/* admin_counts.lua and the metrics share it */
ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_admin_counts_script;


void
ngx_http_comment_moderation_admin_scripts_init(void)
{
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_admin_counts_script,
        ngx_http_comment_moderation_lua_admin_counts);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_admin_list_script,
        ngx_http_comment_moderation_lua_admin_list);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_admin_show,
        ngx_http_comment_moderation_lua_admin_show);
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_admin_audit,
        ngx_http_comment_moderation_lua_admin_audit);
}


ngx_int_t
ngx_http_comment_moderation_admin_handler(ngx_http_request_t *r)
{
    ngx_int_t                                 rc;
    ngx_int_t                                 post;
    ngx_str_t                                 path;
    ngx_http_core_loc_conf_t                 *clcf;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;
    ngx_http_comment_moderation_loc_conf_t   *cmlcf;

    if (r != r->main) {
        return NGX_HTTP_NOT_FOUND;
    }

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (ngx_http_comment_moderation_admin_ctx_add(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    /* the moderator: without a name, nobody is let in */
    if (cmlcf->admin_user) {
        if (ngx_http_complex_value(r, cmlcf->admin_user, &ctx->user)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (ngx_http_auth_basic_user(r) == NGX_OK) {
        ctx->user = r->headers_in.user;
    }

    if (ctx->user.len == 0) {
        return ngx_http_comment_moderation_admin_error(r,
                                                  NGX_HTTP_UNAUTHORIZED,
                                                  "no moderator: log in");
    }

    /* the name goes into a header of the released request and the audit
       log: CR or LF there would write a header line of its own */
    if (!ngx_http_comment_moderation_admin_valid_user(&ctx->user)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "comment moderation: refused a moderator name with "
                      "control characters or over 256 bytes");

        return ngx_http_comment_moderation_admin_error(r,
                                                  NGX_HTTP_UNAUTHORIZED,
                                                  "the moderator's name has "
                                                  "control characters");
    }

    path.len = 0;
    path.data = r->uri.data;

    if (r->uri.len >= clcf->name.len
        && ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
    {
        path.data = r->uri.data + clcf->name.len;
        path.len = r->uri.len - clcf->name.len;
    }

    if (path.len < 4 || ngx_strncmp(path.data, "api/", 4) != 0) {
        return ngx_http_comment_moderation_admin_file(r, &path);
    }

    path.data += 4;
    path.len -= 4;

    /* the route only names what is missing: one answer per request */
    rc = ngx_http_comment_moderation_admin_route(r, ctx, &path);
    if (rc != NGX_OK) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_FOUND,
                                                  ctx->id.len
                                                  ? "no such comment"
                                                  : "no such API call");
    }

    post = (ctx->route == NGX_HTTP_CM_ADMIN_ACT
            || ctx->route == NGX_HTTP_CM_ADMIN_BULK);

    if (ctx->route == NGX_HTTP_CM_ADMIN_EDITOR) {
        post = ngx_http_comment_moderation_admin_editor_post(&ctx->action);

        if (post == NGX_DECLINED) {
            return ngx_http_comment_moderation_admin_error(r,
                                                  NGX_HTTP_NOT_FOUND,
                                                  "no such API call");
        }
    }

    if (post) {
        if (r->method != NGX_HTTP_POST) {
            return ngx_http_comment_moderation_admin_error(r,
                                              NGX_HTTP_NOT_ALLOWED,
                                              "actions are POST requests");
        }

        /* a page of another site can neither know the token nor send it */
        if (ngx_http_comment_moderation_admin_same_origin(r) != NGX_OK) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "comment moderation: refused a \"%V\" action of "
                          "moderator \"%V\" without the CSRF token of its "
                          "session or from another origin",
                          &ctx->action, &ctx->user);

            return ngx_http_comment_moderation_admin_error(r,
                                          NGX_HTTP_FORBIDDEN,
                                          "missing or wrong X-CSRF-Token, "
                                          "or another origin");
        }

    } else if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_ALLOWED,
                                                  "reads are GET requests");
    }

    rc = ngx_http_read_client_request_body(r,
                                       ngx_http_comment_moderation_admin_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* api/session | counts | comments | comments/ID | comments/ID/ACTION |
   bulk | audit; NGX_DECLINED for anything else (ctx->id set if it named a
   comment) */
static ngx_int_t
ngx_http_comment_moderation_admin_route(ngx_http_request_t *r,
    ngx_http_comment_moderation_admin_ctx_t *ctx, ngx_str_t *path)
{
    u_char  *slash, *last;

    static const struct {
        ngx_str_t   name;
        ngx_uint_t  route;
    }  routes[] = {
        { ngx_string("session"), NGX_HTTP_CM_ADMIN_SESSION },
        { ngx_string("counts"), NGX_HTTP_CM_ADMIN_COUNTS },
        { ngx_string("comments"), NGX_HTTP_CM_ADMIN_LIST },
        { ngx_string("audit"), NGX_HTTP_CM_ADMIN_AUDIT },
        { ngx_string("rules"), NGX_HTTP_CM_ADMIN_RULES },
        { ngx_string("bulk"), NGX_HTTP_CM_ADMIN_BULK },
    };

    ngx_uint_t  i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (path->len == routes[i].name.len
            && ngx_strncmp(path->data, routes[i].name.data, path->len) == 0)
        {
            ctx->route = routes[i].route;
            return NGX_OK;
        }
    }

    /* rules/VERB: the editors' calls */
    if (path->len > sizeof("rules/") - 1
        && ngx_strncmp(path->data, "rules/", sizeof("rules/") - 1) == 0)
    {
        ctx->route = NGX_HTTP_CM_ADMIN_EDITOR;
        ctx->action.data = path->data + sizeof("rules/") - 1;
        ctx->action.len = path->len - (sizeof("rules/") - 1);
        return NGX_OK;
    }

    if (path->len <= sizeof("comments/") - 1
        || ngx_strncmp(path->data, "comments/", sizeof("comments/") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    ctx->id.data = path->data + sizeof("comments/") - 1;
    last = path->data + path->len;
    slash = ngx_strlchr(ctx->id.data, last, '/');

    ctx->id.len = (slash ? slash : last) - ctx->id.data;
    ctx->route = NGX_HTTP_CM_ADMIN_SHOW;

    if (slash) {
        ctx->route = NGX_HTTP_CM_ADMIN_ACT;
        ctx->action.data = slash + 1;
        ctx->action.len = last - slash - 1;
    }

    if (!ngx_http_comment_moderation_admin_valid_id(&ctx->id)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the review page's files, carried in the module */
static ngx_int_t
ngx_http_comment_moderation_admin_file(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_int_t                                  rc;
    ngx_str_t                                  name;
    ngx_http_comment_moderation_admin_file_t  *f;

    static ngx_str_t  policy = ngx_string(
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'");

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    name = *path;
    if (name.len == 0) {
        ngx_str_set(&name, "index.html");
    }

    for (f = ngx_http_comment_moderation_admin_files; f->name.len; f++) {
        if (f->name.len == name.len
            && ngx_strncmp(f->name.data, name.data, name.len) == 0)
        {
            break;
        }
    }

    if (f->name.len == 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* every field of a comment is shown as text; this policy is the net
       under that: no inline script, nothing from elsewhere */
    if (ngx_http_comment_moderation_admin_header(r, "Content-Security-Policy",
                                                 &policy)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_type = f->type;
    r->headers_out.content_type_len = f->type.len;

    return ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &f->body);
}


/* the moderator's token: their name and credentials, keyed by the secret */
static ngx_int_t
ngx_http_comment_moderation_admin_csrf(ngx_http_request_t *r,
    ngx_str_t *user, ngx_str_t *token)
{
    u_char                                   *p;
    ngx_str_t                                 auth;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    auth.len = 0;
    auth.data = (u_char *) "";
    if (r->headers_in.authorization) {
        auth = r->headers_in.authorization->value;
    }

    p = ngx_pnalloc(r->pool, user->len + 1 + auth.len + NGX_HTTP_CM_HASH_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, user->data, user->len);
    p[user->len] = '\n';
    ngx_memcpy(p + user->len + 1, auth.data, auth.len);

    token->data = p + user->len + 1 + auth.len;
    token->len = NGX_HTTP_CM_HASH_LEN;

    ngx_http_comment_moderation_hmac(&cmcf->secret, "csrf", p,
                                     user->len + 1 + auth.len, token->data);

    return NGX_OK;
}


/* the X-CSRF-Token of the moderator's session, from the page's own origin */
static ngx_int_t
ngx_http_comment_moderation_admin_same_origin(ngx_http_request_t *r)
{
    u_char                                   *p, diff;
    size_t                                    i;
    ngx_str_t                                 token, *host;
    ngx_table_elt_t                          *h;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    if (ngx_http_comment_moderation_admin_csrf(r, &ctx->user, &token)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    h = ngx_http_comment_moderation_header_in(r, "x-csrf-token", NULL);
    if (h == NULL || h->value.len != token.len) {
        return NGX_DECLINED;
    }

    /* every byte compared: the time taken says nothing of the token */
    diff = 0;
    for (i = 0; i < token.len; i++) {
        diff |= h->value.data[i] ^ token.data[i];
    }

    if (diff != 0) {
        return NGX_DECLINED;
    }

    /* browsers say where a request comes from; tools send no Origin */
    h = ngx_http_comment_moderation_header_in(r, "origin", NULL);
    if (h == NULL) {
        return NGX_OK;
    }

    host = r->headers_in.host ? &r->headers_in.host->value : NULL;

    if (host == NULL) {
        return NGX_DECLINED;
    }

    for (p = h->value.data; p + 3 <= h->value.data + h->value.len; p++) {
        if (ngx_strncmp(p, "://", 3) == 0) {
            p += 3;

            if ((size_t) (h->value.data + h->value.len - p) == host->len
                && ngx_strncasecmp(p, host->data, host->len) == 0)
            {
                return NGX_OK;
            }

            break;
        }
    }

    return NGX_DECLINED;
}


static void
ngx_http_comment_moderation_admin_body(ngx_http_request_t *r)
{
    ngx_int_t                                 rc;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    if (ctx->route == NGX_HTTP_CM_ADMIN_ACT
        || ctx->route == NGX_HTTP_CM_ADMIN_BULK
        || ctx->route == NGX_HTTP_CM_ADMIN_EDITOR)
    {
        rc = ngx_http_comment_moderation_admin_action(r, ctx);

    } else {
        rc = ngx_http_comment_moderation_admin_read(r, ctx);
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_comment_moderation_admin_error(r,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "Redis is unavailable");
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* NGX_DONE: Redis was asked; NGX_DECLINED: it is unavailable */
static ngx_int_t
ngx_http_comment_moderation_admin_read(ngx_http_request_t *r,
    ngx_http_comment_moderation_admin_ctx_t *ctx)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   json, token, args[2];

    switch (ctx->route) {

    case NGX_HTTP_CM_ADMIN_SESSION:
        if (ngx_http_comment_moderation_admin_csrf(r, &ctx->user, &token)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = ctx->user.len + ngx_escape_json(NULL, ctx->user.data,
                                              ctx->user.len);
        p = ngx_pnalloc(r->pool, sizeof("{\"user\":\"\",\"csrf\":\"\"}")
                                 + len + token.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        json.data = p;
        p = ngx_cpymem(p, "{\"user\":\"", sizeof("{\"user\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, ctx->user.data, ctx->user.len);
        p = ngx_sprintf(p, "\",\"csrf\":\"%V\"}", &token);
        json.len = p - json.data;

        return ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);

    case NGX_HTTP_CM_ADMIN_COUNTS:
        return ngx_http_comment_moderation_admin_eval(r,
                   &ngx_http_comment_moderation_admin_counts_script, NULL, 0,
                   ngx_http_comment_moderation_admin_counted);

    case NGX_HTTP_CM_ADMIN_SHOW:
        return ngx_http_comment_moderation_admin_eval(r,
                   &ngx_http_comment_moderation_admin_show, &ctx->id, 1,
                   ngx_http_comment_moderation_admin_read_done);

    case NGX_HTTP_CM_ADMIN_AUDIT:
        if (ngx_http_comment_moderation_admin_paging(r, args) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_comment_moderation_admin_eval(r,
                   &ngx_http_comment_moderation_admin_audit, args, 2,
                   ngx_http_comment_moderation_admin_read_done);

    case NGX_HTTP_CM_ADMIN_RULES:
        return ngx_http_comment_moderation_admin_rules(r);

    default: /* NGX_HTTP_CM_ADMIN_LIST */
        return ngx_http_comment_moderation_admin_list(r);
    }
}


/* api/comments?state=&order=&offset=&limit=&article=&rule=&author=&ip=&q= */
static ngx_int_t
ngx_http_comment_moderation_admin_list(ngx_http_request_t *r)
{
    ngx_str_t    args[9];
    ngx_uint_t   i;

    static const char  *names[] = {
        "state", "order", NULL, NULL, "article", "rule", "author", "ip", "q"
    };

    for (i = 0; i < 9; i++) {
        if (names[i]) {
            ngx_http_comment_moderation_admin_arg(r, names[i], &args[i]);
        }
    }

    /* offset and limit: args[2], args[3] */
    if (ngx_http_comment_moderation_admin_paging(r, &args[2]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (args[0].len == 0) {
        ngx_str_set(&args[0], "pending");
    }

    /* the state names a Redis key: only the known ones */
    for (i = 0; ngx_http_comment_moderation_admin_states[i]; i++) {
        if (ngx_strlen(ngx_http_comment_moderation_admin_states[i])
            == args[0].len
            && ngx_strncmp(ngx_http_comment_moderation_admin_states[i],
                           args[0].data, args[0].len) == 0)
        {
            break;
        }
    }

    if (ngx_http_comment_moderation_admin_states[i] == NULL) {
        return ngx_http_comment_moderation_admin_error(r,
                                                  NGX_HTTP_BAD_REQUEST,
                                                  "unknown state");
    }

    if (args[1].len == 0) {
        ngx_str_set(&args[1], "oldest");
    }

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_admin_list_script, args, 9,
               ngx_http_comment_moderation_admin_read_done);
}


/*
 * offset= and limit= of a list, as the decimal numbers the scripts take:
 * offset 0 to NGX_HTTP_CM_ADMIN_MAX_OFFSET (past 2^53 Lua's doubles print
 * as "1e+17", which Redis refuses: 503), limit 1 to
 * NGX_HTTP_CM_ADMIN_MAX_LIMIT, 50 unless asked.
 */
static ngx_int_t
ngx_http_comment_moderation_admin_paging(ngx_http_request_t *r,
    ngx_str_t *args)
{
    u_char      *p;
    ngx_int_t    offset, limit;
    ngx_str_t    raw;
    ngx_uint_t   i;

    ngx_http_comment_moderation_admin_arg(r, "offset", &raw);
    offset = raw.len ? ngx_atoi(raw.data, raw.len) : 0;
    if (offset == NGX_ERROR) {
        offset = 0;

    } else if (offset > NGX_HTTP_CM_ADMIN_MAX_OFFSET) {
        offset = NGX_HTTP_CM_ADMIN_MAX_OFFSET;
    }

    ngx_http_comment_moderation_admin_arg(r, "limit", &raw);
    limit = raw.len ? ngx_atoi(raw.data, raw.len) : 0;
    if (limit == NGX_ERROR || limit == 0) {
        limit = 50;

    } else if (limit > NGX_HTTP_CM_ADMIN_MAX_LIMIT) {
        limit = NGX_HTTP_CM_ADMIN_MAX_LIMIT;
    }

    p = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 2; i++) {
        args[i].data = p;
        p = ngx_sprintf(p, "%i", i ? limit : offset);
        args[i].len = p - args[i].data;
    }

    return NGX_OK;
}


/*
 * The arguments of a POST: a JSON object or a form, as fields.  NGX_OK, or
 * the status to answer with and *error saying why: nothing is sent here,
 * the caller answers once.
 */
static ngx_int_t
ngx_http_comment_moderation_admin_fields(ngx_http_request_t *r,
    cm_fields_t *fields, const char **error)
{
    u_char                                   *p;
    size_t                                    i;
    ngx_str_t                                 body, ct;
    cm_alloc_t                                a;
    ngx_chain_t                              *cl;
    cm_body_rc_e                              rc;
    cm_body_error_t                           err;
    const cm_field_t                         *f;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    ngx_memzero(fields, sizeof(cm_fields_t));
    ngx_memzero(&err, sizeof(cm_body_error_t));
    a.alloc = ngx_http_comment_moderation_palloc;
    a.data = r->pool;

    /* the arguments are small: in memory, in the part read with the
       headers and the rest, joined here */
    body.len = 0;
    body.data = (u_char *) "";

    if (r->request_body && r->request_body->bufs) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            if (cl->buf->in_file) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "comment moderation: refused the arguments of "
                              "moderator \"%V\": larger than "
                              "client_body_buffer_size", &ctx->user);

                *error = "the arguments do not fit in "
                         "client_body_buffer_size";
                return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
            }

            body.len += cl->buf->last - cl->buf->pos;
        }

        body.data = ngx_pnalloc(r->pool, body.len + 1);
        if (body.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = body.data;
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    if (body.len) {
        ct.len = 0;
        ct.data = NULL;
        if (r->headers_in.content_type) {
            ct = r->headers_in.content_type->value;
        }

        rc = cm_body_parse((char *) ct.data, ct.len, (char *) body.data,
                           body.len, &a, fields, &err);
        if (rc != CM_BODY_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "comment moderation: refused the arguments of "
                          "moderator \"%V\": %s at byte %uz",
                          &ctx->user, cm_body_rc_text(rc), err.offset);

            *error = cm_body_rc_text(rc);
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    /* one value per name (but "ids"): which of two would count is a guess
       a reader of the audit log should not have to make */
    for (i = 0; i < fields->nfields; i++) {
        f = &fields->fields[i];

        if (f->name_len == 3 && ngx_strncmp(f->name, "ids", 3) == 0) {
            continue;
        }

        if (cm_fields_find(fields, f->name, f->name_len) != f) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "comment moderation: refused the arguments of "
                          "moderator \"%V\": \"%*s\" given twice",
                          &ctx->user, f->name_len, f->name);

            *error = "an argument was given twice";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    return NGX_OK;
}


/* api/comments/ID/ACTION, or api/bulk with {"action": .., "ids": [..]} */
static ngx_int_t
ngx_http_comment_moderation_admin_action(ngx_http_request_t *r,
    ngx_http_comment_moderation_admin_ctx_t *ctx)
{
    ngx_int_t         rc;
    ngx_str_t        *ids, action;
    ngx_uint_t        n;
    const char       *error;
    cm_fields_t       fields;
    const cm_field_t *f;

    error = "out of memory";

    rc = ngx_http_comment_moderation_admin_fields(r, &fields, &error);
    if (rc != NGX_OK) {
        return ngx_http_comment_moderation_admin_error(r, rc, error);
    }

    if (ctx->route == NGX_HTTP_CM_ADMIN_EDITOR) {
        return ngx_http_comment_moderation_admin_editor(r, &ctx->action,
                                                        &fields);
    }

    if (ctx->route == NGX_HTTP_CM_ADMIN_ACT) {
        return ngx_http_comment_moderation_admin_act(r, &ctx->action,
                                                     &ctx->id, 1, 0, &fields);
    }

    f = cm_fields_find(&fields, "action", 6);
    if (f == NULL) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                                  "no \"action\"");
    }

    action.data = (u_char *) f->value;
    action.len = f->value_len;

    /* "ids": [..] in JSON is ids.0, ids.1, ...; a form repeats "ids" */
    ids = ngx_palloc(r->pool, fields.nfields * sizeof(ngx_str_t) + 1);
    if (ids == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;
    for (f = fields.fields; f < fields.fields + fields.nfields; f++) {
        if ((f->name_len == 3 && ngx_strncmp(f->name, "ids", 3) == 0)
            || (f->name_len > 4 && ngx_strncmp(f->name, "ids.", 4) == 0))
        {
            ids[n].data = (u_char *) f->value;
            ids[n].len = f->value_len;

            if (!ngx_http_comment_moderation_admin_valid_id(&ids[n])) {
                return ngx_http_comment_moderation_admin_error(r,
                                          NGX_HTTP_BAD_REQUEST,
                                          "an id is not a comment id");
            }

            n++;
        }
    }

    if (n == 0 || n > NGX_HTTP_CM_ADMIN_MAX_LIMIT) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                                  "\"ids\": 1 to 200 ids");
    }

    return ngx_http_comment_moderation_admin_act(r, &action, ids, n, 1,
                                                 &fields);
}


/*
 * Sends script(P, args...) to Redis; "handler" gets the request and the
 * reply.  NGX_DONE: sent; NGX_DECLINED: Redis is unavailable; else a
 * status to finalize with.
 */
ngx_int_t
ngx_http_comment_moderation_admin_eval(ngx_http_request_t *r,
    ngx_http_comment_moderation_redis_script_t *script, ngx_str_t *args,
    ngx_uint_t nargs, ngx_http_comment_moderation_redis_handler_pt handler)
{
    ngx_str_t                                *all;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_comment_moderation_module);

    all = ngx_palloc(r->pool, (1 + nargs) * sizeof(ngx_str_t));
    if (all == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the admin scripts' ARGV[1] is the key prefix */
    all[0] = cmcf->prefix;
    if (nargs) {
        ngx_memcpy(&all[1], args, nargs * sizeof(ngx_str_t));
    }

    return ngx_http_comment_moderation_admin_eval_keys(r, script, 0, all,
                                                       1 + nargs, handler);
}


/* script(KEYS = args[0 .. nkeys), ARGV = the rest) */
ngx_int_t
ngx_http_comment_moderation_admin_eval_keys(ngx_http_request_t *r,
    ngx_http_comment_moderation_redis_script_t *script, ngx_uint_t nkeys,
    ngx_str_t *args, ngx_uint_t nargs,
    ngx_http_comment_moderation_redis_handler_pt handler)
{
    u_char                                   *p;
    size_t                                   *argvlen;
    ngx_uint_t                                i;
    const char                              **argv;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    argv = ngx_palloc(r->pool, (3 + nargs) * (sizeof(char *) + sizeof(size_t)));
    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (argv == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argvlen = (size_t *) (argv + 3 + nargs);

    /* argv[0..1] are EVALSHA and the script's sha1 */
    argv[2] = (char *) p;
    argvlen[2] = ngx_sprintf(p, "%ui", nkeys) - p;

    for (i = 0; i < nargs; i++) {
        argv[3 + i] = (char *) args[i].data;
        argvlen[3 + i] = args[i].len;
    }

    ctx->reply = handler;
    ctx->call = ngx_http_comment_moderation_redis_eval(script, 3 + nargs,
                                   argv, argvlen,
                                   ngx_http_comment_moderation_admin_replied,
                                   r, 1);

    return ctx->call ? NGX_DONE : NGX_DECLINED;
}


/* a reply comes from the event loop: nginx's posted requests run after it */
static void
ngx_http_comment_moderation_admin_replied(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_connection_t                         *c;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_comment_moderation_admin_ctx(r);
    ctx->call = NULL;

    ctx->reply(r, reply);

    ngx_http_run_posted_requests(c);
}


/* a read's JSON: a string, or {status, JSON} */
void
ngx_http_comment_moderation_admin_read_done(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    ngx_int_t    rc;
    ngx_str_t    json;
    ngx_uint_t   status;
    redisReply  *body;

    status = NGX_HTTP_OK;
    body = reply;

    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
        && reply->element[0]->type == REDIS_REPLY_INTEGER)
    {
        status = reply->element[0]->integer;
        body = reply->element[1];
    }

    if (body == NULL || body->type != REDIS_REPLY_STRING
        || status < NGX_HTTP_OK || status > 599)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "comment moderation: admin read \"%V\": Redis %s%s",
                      &r->uri, reply ? "answered " : "did not answer",
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : "");

        rc = ngx_http_comment_moderation_admin_error(r,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "Redis did not answer");
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* the reply is freed after this: the body is copied as it is sent */
    json.len = body->len;
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(json.data, body->str, json.len);

    rc = ngx_http_comment_moderation_admin_send(r, status, &json);
    ngx_http_finalize_request(r, rc);
}


/* admin_counts.lua's numbers as {"pending": 3, ...} */
static void
ngx_http_comment_moderation_admin_counted(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    u_char      *p;
    ngx_int_t    rc;
    ngx_str_t    json;
    ngx_uint_t   i;

    if (!ngx_http_comment_moderation_admin_counts_valid(reply)) {
        rc = ngx_http_comment_moderation_admin_error(r,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "Redis did not answer");
        ngx_http_finalize_request(r, rc);
        return;
    }

    p = ngx_pnalloc(r->pool, 128 + reply->elements * NGX_INT64_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    json.data = p;
    *p++ = '{';

    for (i = 0; i < reply->elements; i++) {
        p = ngx_sprintf(p, "%s\"%s\":%L", i ? "," : "",
                        ngx_http_comment_moderation_admin_states[i],
                        (int64_t) reply->element[i]->integer);
    }

    *p++ = '}';
    json.len = p - json.data;

    rc = ngx_http_comment_moderation_admin_send(r, NGX_HTTP_OK, &json);
    ngx_http_finalize_request(r, rc);
}


/* an answer of admin_counts.lua: one integer per state */
ngx_uint_t
ngx_http_comment_moderation_admin_counts_valid(redisReply *reply)
{
    size_t  i;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != NGX_HTTP_CM_ADMIN_STATES)
    {
        return 0;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            return 0;
        }
    }

    return 1;
}


/* Sends a whole answer (JSON unless a type is set); returns what to finalize
   with. */
ngx_int_t
ngx_http_comment_moderation_admin_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body)
{
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    static ngx_str_t  no_store = ngx_string("no-store");
    static ngx_str_t  nosniff = ngx_string("nosniff");

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    if (ctx && ctx->done) {
        ctx->done(r, status, body);
        return NGX_DONE;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;

    if (r->headers_out.content_type.len == 0) {
        ngx_str_set(&r->headers_out.content_type,
                    "application/json; charset=utf-8");
        r->headers_out.content_type_len = sizeof("application/json") - 1;
    }

    /* moderators always see the queue as it is now */
    if (ngx_http_comment_moderation_admin_header(r, "Cache-Control",
                                                 &no_store)
        != NGX_OK
        || ngx_http_comment_moderation_admin_header(r,
                                                "X-Content-Type-Options",
                                                &nosniff)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_comment_moderation_send_body(r, body);
}


static ngx_int_t
ngx_http_comment_moderation_admin_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


ngx_int_t
ngx_http_comment_moderation_admin_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *text)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   json;

    len = ngx_strlen(text);
    p = ngx_pnalloc(r->pool, sizeof("{\"error\":\"\"}") + 2 * len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.data = p;
    p = ngx_cpymem(p, "{\"error\":\"", sizeof("{\"error\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) text, len);
    p = ngx_cpymem(p, "\"}", 2);
    json.len = p - json.data;

    ngx_http_discard_request_body(r);

    return ngx_http_comment_moderation_admin_send(r, status, &json);
}


/* a query argument, %-decoded */
void
ngx_http_comment_moderation_admin_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src, *plus;
    size_t      i;
    ngx_str_t   raw;

    value->len = 0;
    value->data = (u_char *) "";

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK
        || raw.len == 0)
    {
        return;
    }

    dst = ngx_pnalloc(r->pool, 2 * raw.len);
    if (dst == NULL) {
        return;
    }

    /* a form's '+' is a space (and %2B a plus) */
    plus = dst + raw.len;
    for (i = 0; i < raw.len; i++) {
        plus[i] = raw.data[i] == '+' ? ' ' : raw.data[i];
    }

    value->data = dst;
    src = plus;
    ngx_unescape_uri(&dst, &src, raw.len, 0);
    value->len = dst - value->data;
}


/* ids are the module's: hex digits.  Nothing else names a Redis key. */
ngx_uint_t
ngx_http_comment_moderation_admin_valid_id(ngx_str_t *id)
{
    size_t  i;

    if (id->len == 0 || id->len > 64) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        if (!((id->data[i] >= '0' && id->data[i] <= '9')
              || (id->data[i] >= 'a' && id->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


/* a moderator's name: 1 to 256 bytes, none of them a control character
   (UTF-8 is welcome) */
ngx_uint_t
ngx_http_comment_moderation_admin_valid_user(ngx_str_t *user)
{
    size_t  i;

    if (user->len == 0 || user->len > 256) {
        return 0;
    }

    for (i = 0; i < user->len; i++) {
        if (user->data[i] < 0x20 || user->data[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/*
 * The moderator's request's context lives in its pool cleanup, not in
 * r->ctx: the module's variables read r->ctx as a comment's.
 */
ngx_int_t
ngx_http_comment_moderation_admin_ctx_add(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_comment_moderation_admin_ctx_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(cln->data, sizeof(ngx_http_comment_moderation_admin_ctx_t));
    cln->handler = ngx_http_comment_moderation_admin_cleanup;

    return NGX_OK;
}


/* the end of a moderator's request, or of a handoff */
void
ngx_http_comment_moderation_admin_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    ctx = ngx_http_comment_moderation_admin_ctx(r);

    if (ctx->done) {
        if (rc != NGX_DONE) {
            ctx->done(r, rc, NULL);
        }

        return;
    }

    ngx_http_finalize_request(r, rc);
}


ngx_http_comment_moderation_admin_ctx_t *
ngx_http_comment_moderation_admin_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_comment_moderation_admin_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


/* the moderator's request is going: a Redis reply must not find it */
static void
ngx_http_comment_moderation_admin_cleanup(void *data)
{
    ngx_http_comment_moderation_admin_ctx_t  *ctx = data;

    ngx_http_comment_moderation_redis_cancel(ctx->call);
    ctx->call = NULL;
}
