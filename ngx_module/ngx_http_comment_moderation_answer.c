/*
 * What the client is told when the module answers instead of the backend:
 * JSON for scripts (Accept: application/json, or X-Requested-With), a 303
 * back to the article when configured, otherwise a small HTML page.  The
 * message is localized and never names the rule that fired.
 */

#include "ngx_http_comment_moderation.h"


static ngx_int_t ngx_http_comment_moderation_wants_json(ngx_http_request_t *r);
static ngx_int_t ngx_http_comment_moderation_referer(ngx_http_request_t *r,
    ngx_str_t *referer);
static ngx_int_t ngx_http_comment_moderation_redirect(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_str_t *referer);
static ngx_int_t ngx_http_comment_moderation_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *body);
static u_char *ngx_http_comment_moderation_json_string(u_char *dst,
    ngx_str_t *src);
static size_t ngx_http_comment_moderation_json_len(ngx_str_t *src);


static ngx_str_t  ngx_http_comment_moderation_messages
    [NGX_HTTP_CM_LANG_N][NGX_HTTP_CM_MSG_N] =
{
    {
        ngx_string("Komentar Anda tidak dapat diterbitkan karena tidak "
                   "sesuai dengan pedoman komunitas kami."),
        ngx_string("Terima kasih. Komentar Anda menunggu moderasi dan akan "
                   "tampil setelah diperiksa."),
        ngx_string("Komentar Anda tidak dapat dibaca. Silakan periksa isinya "
                   "dan kirim ulang."),
        ngx_string("Komentar Anda terlalu panjang. Silakan persingkat dan "
                   "kirim ulang."),
        ngx_string("Komentar Anda belum dapat diproses saat ini. Silakan "
                   "coba lagi beberapa saat lagi.")
    },
    {
        ngx_string("Your comment cannot be published because it does not "
                   "follow our community guidelines."),
        ngx_string("Thank you. Your comment is awaiting moderation and will "
                   "appear once it has been reviewed."),
        ngx_string("Your comment could not be read. Please check it and send "
                   "it again."),
        ngx_string("Your comment is too long. Please shorten it and send it "
                   "again."),
        ngx_string("Your comment cannot be processed right now. Please try "
                   "again in a moment.")
    }
};

static ngx_str_t  ngx_http_comment_moderation_titles[NGX_HTTP_CM_LANG_N] = {
    ngx_string("Komentar"),
    ngx_string("Comment")
};

static ngx_str_t  ngx_http_comment_moderation_back[NGX_HTTP_CM_LANG_N] = {
    ngx_string("Kembali ke artikel"),
    ngx_string("Back to the article")
};

/* for JSON "decision" and the 303's "cm=" parameter, by NGX_HTTP_CM_MSG_* */
static ngx_str_t  ngx_http_comment_moderation_outcomes[NGX_HTTP_CM_MSG_N] = {
    ngx_string("reject"),
    ngx_string("queue"),
    ngx_string("invalid"),
    ngx_string("invalid"),
    ngx_string("unavailable")
};

static ngx_str_t  ngx_http_comment_moderation_cm_param[NGX_HTTP_CM_MSG_N] = {
    ngx_string("cm=rejected"),
    ngx_string("cm=queued"),
    ngx_string("cm=invalid"),
    ngx_string("cm=too_large"),
    ngx_string("cm=unavailable")
};

static ngx_str_t  ngx_http_comment_moderation_json_type =
    ngx_string("application/json");
static ngx_str_t  ngx_http_comment_moderation_html_type =
    ngx_string("text/html; charset=utf-8");


ngx_int_t
ngx_http_comment_moderation_answer(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    u_char                                  *p;
    size_t                                   len;
    ngx_str_t                                body, msg, back, *outcome;
    ngx_uint_t                               lang;
    ngx_http_comment_moderation_loc_conf_t  *cmlcf;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    lang = cmlcf->lang;
    msg = cmlcf->message[ctx->message];
    if (msg.data == NULL) {
        msg = ngx_http_comment_moderation_messages[lang][ctx->message];
    }

    outcome = &ngx_http_comment_moderation_outcomes[ctx->message];

    if (ngx_http_comment_moderation_wants_json(r)) {
        len = sizeof("{\"decision\":\"\",\"message\":\"\",\"reason\":\"\"}")
              + outcome->len + ngx_http_comment_moderation_json_len(&msg)
              + ngx_http_comment_moderation_json_len(&ctx->error);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        body.data = p;
        p = ngx_sprintf(p, "{\"decision\":\"%V\",\"message\":\"", outcome);
        p = ngx_http_comment_moderation_json_string(p, &msg);

        /* why a body is invalid helps the site's developers, not spammers */
        if (ctx->error.len) {
            p = ngx_cpymem(p, "\",\"reason\":\"", sizeof("\",\"reason\":\"") - 1);
            p = ngx_http_comment_moderation_json_string(p, &ctx->error);
        }

        p = ngx_cpymem(p, "\"}\n", 3);
        body.len = p - body.data;

        return ngx_http_comment_moderation_send(r, ctx->status,
                                   &ngx_http_comment_moderation_json_type,
                                   &body);
    }

    back.len = 0;

    if (ngx_http_comment_moderation_referer(r, &back) == NGX_OK
        && cmlcf->redirect)
    {
        return ngx_http_comment_moderation_redirect(r, ctx, &back);
    }

    if (back.len == 0) {
        ngx_str_set(&back, "/");
    }

    len = sizeof("<!DOCTYPE html>\n<html lang=\"xx\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width\">"
                 "<title></title></head>\n<body style=\"font-family:sans-serif;"
                 "max-width:40em;margin:3em auto;padding:0 1em\">\n<p></p>\n"
                 "<p><a href=\"\"></a></p>\n</body></html>\n")
          + ngx_http_comment_moderation_titles[lang].len
          + msg.len + ngx_escape_html(NULL, msg.data, msg.len)
          + back.len + ngx_escape_html(NULL, back.data, back.len)
          + ngx_http_comment_moderation_back[lang].len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;
    p = ngx_sprintf(p, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
                    "<meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width\">"
                    "<title>%V</title></head>\n<body style=\"font-family:"
                    "sans-serif;max-width:40em;margin:3em auto;padding:0 1em\">"
                    "\n<p>",
                    lang == NGX_HTTP_CM_LANG_ID ? "id" : "en",
                    &ngx_http_comment_moderation_titles[lang]);
    p = (u_char *) ngx_escape_html(p, msg.data, msg.len);
    p = ngx_cpymem(p, "</p>\n<p><a href=\"", sizeof("</p>\n<p><a href=\"") - 1);
    p = (u_char *) ngx_escape_html(p, back.data, back.len);
    p = ngx_sprintf(p, "\">%V</a></p>\n</body></html>\n",
                    &ngx_http_comment_moderation_back[lang]);
    body.len = p - body.data;

    return ngx_http_comment_moderation_send(r, ctx->status,
                                            &ngx_http_comment_moderation_html_type,
                                            &body);
}


static ngx_int_t
ngx_http_comment_moderation_wants_json(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    if (ngx_http_comment_moderation_header_in(r, "x-requested-with", NULL)) {
        return 1;
    }

    h = ngx_http_comment_moderation_header_in(r, "accept", NULL);

    return h != NULL
           && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                               (u_char *) "application/json",
                               sizeof("application/json") - 1 - 1)
              != NULL;
}


/*
 * The Referer, if it is on this site (same scheme-less host as the Host
 * header): a redirect elsewhere would make us an open redirector.
 */
static ngx_int_t
ngx_http_comment_moderation_referer(ngx_http_request_t *r, ngx_str_t *referer)
{
    u_char           *p, *last;
    ngx_str_t         host;
    ngx_table_elt_t  *ref;

    ref = r->headers_in.referer;
    host = r->headers_in.server;

    if (ref == NULL || host.len == 0) {
        return NGX_DECLINED;
    }

    p = ref->value.data;
    last = p + ref->value.len;

    if (last - p > 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        p += 8;

    } else if (last - p > 7
               && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0)
    {
        p += 7;

    } else {
        return NGX_DECLINED;
    }

    /* the Host header may carry a port; compare the whole authority */
    host = r->headers_in.host ? r->headers_in.host->value : host;

    if ((size_t) (last - p) < host.len
        || ngx_strncasecmp(p, host.data, host.len) != 0
        || (p + host.len < last && p[host.len] != '/' && p[host.len] != '?'
            && p[host.len] != '#'))
    {
        return NGX_DECLINED;
    }

    *referer = ref->value;

    return NGX_OK;
}


/* 303 to the article, with cm=rejected (or queued ...) for the page to show */
static ngx_int_t
ngx_http_comment_moderation_redirect(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx, ngx_str_t *referer)
{
    u_char           *p, *hash;
    size_t            len;
    ngx_str_t        *param;
    ngx_table_elt_t  *location;

    param = &ngx_http_comment_moderation_cm_param[ctx->message];

    hash = ngx_strlchr(referer->data, referer->data + referer->len, '#');
    if (hash == NULL) {
        hash = referer->data + referer->len;
    }

    len = referer->len + 1 + param->len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location = ngx_list_push(&r->headers_out.headers);
    if (location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location->hash = 1;
    ngx_str_set(&location->key, "Location");
    location->value.data = p;

    p = ngx_cpymem(p, referer->data, hash - referer->data);
    *p++ = ngx_strlchr(referer->data, hash, '?') ? '&' : '?';
    p = ngx_cpymem(p, param->data, param->len);
    p = ngx_cpymem(p, hash, referer->data + referer->len - hash);

    location->value.len = p - location->value.data;

#if (nginx_version >= 1023000)
    location->next = NULL;
#endif

    r->headers_out.location = location;

    return ngx_http_comment_moderation_send(r, NGX_HTTP_SEE_OTHER, NULL, NULL);
}


static ngx_int_t
ngx_http_comment_moderation_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body)
{
    r->headers_out.status = status;

    if (body == NULL) {
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = body->len;

    /* the answer names the decision for this request only */
    r->headers_out.last_modified_time = -1;

    return ngx_http_comment_moderation_send_body(r, body);
}


/* The header, then the body in one buffer; what to finalize with. */
ngx_int_t
ngx_http_comment_moderation_send_body(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static size_t
ngx_http_comment_moderation_json_len(ngx_str_t *src)
{
    /* every byte may become \u00XX */
    return src->len * 6;
}


static u_char *
ngx_http_comment_moderation_json_string(u_char *dst, ngx_str_t *src)
{
    u_char  *p, *last, c;

    static u_char  hex[] = "0123456789abcdef";

    last = src->data + src->len;

    for (p = src->data; p < last; p++) {
        c = *p;

        if (c == '"' || c == '\\') {
            *dst++ = '\\';
            *dst++ = c;

        } else if (c < 0x20 || c == '<' || c == '>') {
            /* < and > too, so the JSON is inert if shown as HTML */
            dst = ngx_cpymem(dst, "\\u00", 4);
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];

        } else {
            *dst++ = c;
        }
    }

    return dst;
}
