/*
 * Release: an approved comment's original request goes to the backend
 * through nginx, as a subrequest of the moderator's request to the internal
 * location "comment_moderation_release_to" names (its proxy_pass is the
 * backend).
 *
 * ngx_http_subrequest() gives the subrequest the parent's headers, body and
 * GET: here it gets the comment's method, body, Content-Type and
 * Content-Length, and none of the moderator's headers (their credentials
 * and cookies are not the backend's business).  It is a background,
 * header-only subrequest: the backend's answer is read for its status and
 * never reaches the moderator's page.
 */

#include "ngx_http_comment_moderation.h"


typedef struct {
    ngx_http_comment_moderation_released_pt   handler;
    void                                     *data;
    ngx_uint_t                                done;
} ngx_http_comment_moderation_release_ctx_t;


static ngx_int_t ngx_http_comment_moderation_release_headers(
    ngx_http_request_t *sr, ngx_http_comment_moderation_release_t *rel);
static ngx_int_t ngx_http_comment_moderation_release_header(
    ngx_http_request_t *sr, const char *name, ngx_str_t *value);
static ngx_uint_t ngx_http_comment_moderation_release_unsafe(ngx_str_t *value);
static ngx_int_t ngx_http_comment_moderation_released(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);


static ngx_str_t  ngx_http_comment_moderation_approved = ngx_string("approved");


/*
 * Starts the release; the handler is called once with the backend's status.
 * The caller runs the posted requests afterwards if it is not inside
 * nginx's request code.
 */
ngx_int_t
ngx_http_comment_moderation_release(ngx_http_request_t *r,
    ngx_http_comment_moderation_release_t *rel,
    ngx_http_comment_moderation_released_pt handler, void *data)
{
    u_char                                   *p, *q, *src;
    size_t                                    len;
    ngx_buf_t                                *b;
    ngx_str_t                                 uri, args;
    ngx_chain_t                              *cl;
    ngx_http_request_t                       *sr;
    ngx_http_post_subrequest_t               *ps;
    ngx_http_request_body_t                  *rb;
    ngx_http_comment_moderation_loc_conf_t   *cmlcf;
    ngx_http_comment_moderation_release_ctx_t  *rctx;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    /* the arguments go to the request line as they are (see the headers) */
    if (ngx_http_comment_moderation_release_unsafe(&rel->uri)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "comment moderation: comment %V not released: its "
                      "URI has CR, LF or NUL", &rel->id);
        return NGX_ERROR;
    }

    /*
     * release_to + the original path; its arguments stay arguments.  The
     * path was kept as the client sent it, %-escaped; a subrequest's URI is
     * a decoded one, which proxy_pass escapes again: decoded here, or
     * "%C3%A9" would reach the backend as "%25C3%25A9".
     */
    q = ngx_strlchr(rel->uri.data, rel->uri.data + rel->uri.len, '?');
    len = q ? (size_t) (q - rel->uri.data) : rel->uri.len;

    uri.data = ngx_pnalloc(r->pool, cmlcf->release_to.len + len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri.data, cmlcf->release_to.data, cmlcf->release_to.len);
    src = rel->uri.data;
    ngx_unescape_uri(&p, &src, len, NGX_UNESCAPE_URI);
    uri.len = p - uri.data;

    args.len = q ? rel->uri.data + rel->uri.len - q - 1 : 0;
    args.data = q ? q + 1 : NULL;

    rctx = ngx_pcalloc(r->pool, sizeof(ngx_http_comment_moderation_release_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rctx == NULL || ps == NULL || rb == NULL) {
        return NGX_ERROR;
    }

    rctx->handler = handler;
    rctx->data = data;
    ps->handler = ngx_http_comment_moderation_released;
    ps->data = rctx;

    if (rel->body.len) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        b->pos = b->start = rel->body.data;
        b->last = b->end = rel->body.data + rel->body.len;
        b->memory = 1;
        b->last_buf = 1;
        b->last_in_chain = 1;

        cl->buf = b;
        cl->next = NULL;
        rb->bufs = cl;
    }

    if (ngx_http_subrequest(r, &uri, args.len ? &args : NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->header_only = 1;
    sr->request_body = rb;

    /* a comment came as POST, PUT or PATCH; the name sent is one of them */
    if (rel->method.len == 3 && ngx_strncmp(rel->method.data, "PUT", 3) == 0) {
        sr->method = NGX_HTTP_PUT;
        ngx_str_set(&sr->method_name, "PUT");

    } else if (rel->method.len == 5
               && ngx_strncmp(rel->method.data, "PATCH", 5) == 0)
    {
        sr->method = NGX_HTTP_PATCH;
        ngx_str_set(&sr->method_name, "PATCH");

    } else {
        sr->method = NGX_HTTP_POST;
        ngx_str_set(&sr->method_name, "POST");
    }

    if (ngx_http_comment_moderation_release_headers(sr, rel) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "comment moderation: releasing comment %V approved by "
                  "\"%V\" to \"%V\"", &rel->id, &rel->moderator, &uri);

    return NGX_OK;
}


/* the comment's own headers, as it was sent, and who approved it */
static ngx_int_t
ngx_http_comment_moderation_release_headers(ngx_http_request_t *sr,
    ngx_http_comment_moderation_release_t *rel)
{
    u_char     *p;
    ngx_str_t   len;

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, sr->pool, 8,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = rel->body.len;
    sr->headers_in.keep_alive_n = -1;

    p = ngx_pnalloc(sr->pool, NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len.data = p;
    len.len = ngx_sprintf(p, "%uz", rel->body.len) - p;

    if (ngx_http_comment_moderation_release_header(sr, "Content-Length", &len)
        != NGX_OK
        || ngx_http_comment_moderation_release_header(sr, "Content-Type",
                                                      &rel->content_type)
           != NGX_OK
        || ngx_http_comment_moderation_release_header(sr, "User-Agent",
                                                      &rel->user_agent)
           != NGX_OK
        || ngx_http_comment_moderation_release_header(sr, "Referer",
                                                      &rel->referer)
           != NGX_OK
        || ngx_http_comment_moderation_release_header(sr,
                              "X-Comment-Moderation",
                              &ngx_http_comment_moderation_approved)
           != NGX_OK
        || ngx_http_comment_moderation_release_header(sr,
                              "X-Comment-Moderation-Moderator", &rel->moderator)
           != NGX_OK
        || ngx_http_comment_moderation_release_header(sr,
                              "X-Comment-Moderation-Id", &rel->id)
           != NGX_OK
        || ngx_http_comment_moderation_release_header(sr,
                              "X-Comment-Moderation-Client-IP", &rel->ip)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_release_header(ngx_http_request_t *sr,
    const char *name, ngx_str_t *value)
{
    size_t            len;
    ngx_table_elt_t  *h;

    if (value->len == 0) {
        return NGX_OK;
    }

    if (ngx_http_comment_moderation_release_unsafe(value)) {
        ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                      "comment moderation: the released request goes "
                      "without its \"%s\" header: its value has CR, LF "
                      "or NUL", name);
        return NGX_OK;
    }

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(name);

    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value = *value;
    h->lowcase_key = ngx_pnalloc(sr->pool, len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    /* proxy_pass sends Content-Length itself, from content_length_n */
    if (ngx_strcmp(name, "Content-Length") == 0) {
        sr->headers_in.content_length = h;

    } else if (ngx_strcmp(name, "Content-Type") == 0) {
        sr->headers_in.content_type = h;

    } else if (ngx_strcmp(name, "User-Agent") == 0) {
        sr->headers_in.user_agent = h;
    }

    return NGX_OK;
}


/*
 * proxy_pass copies header values and the arguments as they are: CR or LF
 * would end the line and start a header (or a request) of the value's
 * choosing.  nginx never parses one into them; a value read back from
 * Redis is checked all the same.
 */
static ngx_uint_t
ngx_http_comment_moderation_release_unsafe(ngx_str_t *value)
{
    size_t  i;

    for (i = 0; i < value->len; i++) {
        if (value->data[i] == CR || value->data[i] == LF
            || value->data[i] == '\0')
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The subrequest ends; nginx may call this twice for an error (with the
 * error, then with the error page's result): the first call counts.
 */
static ngx_int_t
ngx_http_comment_moderation_released(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_comment_moderation_release_ctx_t *rctx = data;

    ngx_uint_t  status;

    if (rctx->done) {
        return rc;
    }

    rctx->done = 1;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        status = rc;

    } else if (rc == NGX_ERROR || sr->connection->error) {
        status = 0;

    } else {
        status = sr->headers_out.status;
    }

    rctx->handler(sr->parent, rctx->data, status);

    return rc;
}
