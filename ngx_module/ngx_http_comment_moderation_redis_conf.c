/*
 * comment_moderation_redis and comment_moderation_redis_sentinel: the
 * addresses and options, checked and resolved once, at configuration time.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_redis.h"


static void ngx_http_comment_moderation_redis_defaults(
    ngx_http_comment_moderation_redis_conf_t *rcf);
static ngx_int_t ngx_http_comment_moderation_redis_parse_addr(ngx_conf_t *cf,
    ngx_str_t *text, ngx_str_t *host, ngx_uint_t *port);
static ngx_int_t ngx_http_comment_moderation_redis_parse_option(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf, ngx_str_t *value);


static void
ngx_http_comment_moderation_redis_defaults(
    ngx_http_comment_moderation_redis_conf_t *rcf)
{
    rcf->connect_timeout = 500;
    rcf->timeout = 200;
    rcf->max_failures = 3;
    rcf->open_time = 2000;
}


char *
ngx_http_comment_moderation_redis_parse(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf)
{
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    rcf->name = value[1];
    ngx_http_comment_moderation_redis_defaults(rcf);

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        rcf->unix_path.len = value[1].len - 5;
        rcf->unix_path.data = ngx_pnalloc(cf->pool, rcf->unix_path.len + 1);
        if (rcf->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(rcf->unix_path.data, value[1].data + 5,
                    rcf->unix_path.len + 1);

    } else if (ngx_http_comment_moderation_redis_parse_addr(cf, &value[1],
                   &rcf->host, &rcf->port) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_comment_moderation_redis_parse_option(cf, rcf, &value[i])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* comment_moderation_redis_sentinel HOST:PORT ... MASTER_NAME [options] */
char *
ngx_http_comment_moderation_redis_parse_sentinel(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf)
{
    ngx_str_t                                 *value;
    ngx_uint_t                                 i, last;
    ngx_http_comment_moderation_redis_addr_t  *addr;

    value = cf->args->elts;

    ngx_http_comment_moderation_redis_defaults(rcf);
    rcf->replicas = 1;

    rcf->sentinels = ngx_array_create(cf->pool, 3,
                             sizeof(ngx_http_comment_moderation_redis_addr_t));
    if (rcf->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the master's name is the last argument that is not an option */
    last = 0;
    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            == NULL)
        {
            last = i;
        }
    }

    /* "host:port ... host:port": the name was forgotten */
    if (last < 2
        || ngx_strlchr(value[last].data, value[last].data + value[last].len,
                       ':')
           != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs at least one sentinel address and "
                           "the master's name, last", &value[0]);
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (i == last) {
            rcf->master_name = value[i];
            continue;
        }

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            != NULL)
        {
            if (ngx_http_comment_moderation_redis_parse_option(cf, rcf,
                                                               &value[i])
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        addr = ngx_array_push(rcf->sentinels);
        if (addr == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_comment_moderation_redis_parse_addr(cf, &value[i],
                                                         &addr->host,
                                                         &addr->port)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    /* for logs: "sentinel mymaster" */
    rcf->name.len = sizeof("sentinel ") - 1 + rcf->master_name.len;
    rcf->name.data = ngx_pnalloc(cf->pool, rcf->name.len);
    if (rcf->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(rcf->name.data, "sentinel %V", &rcf->master_name);

    return NGX_CONF_OK;
}


/* names are resolved here, once: hiredis would block on them */
static ngx_int_t
ngx_http_comment_moderation_redis_parse_addr(ngx_conf_t *cf, ngx_str_t *text,
    ngx_str_t *host, ngx_uint_t *port)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *text;
    u.default_port = 6379;

    /* a sentinel's "unix:" would pass ngx_parse_url(): they are TCP here */
    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0
        || u.family == AF_UNIX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\"%s%s", text,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_ERROR;
    }

    *port = u.port;
    host->data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (host->data == NULL) {
        return NGX_ERROR;
    }

    host->len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                              host->data, NGX_SOCKADDR_STRLEN, 0);
    host->data[host->len] = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_redis_parse_option(ngx_conf_t *cf,
    ngx_http_comment_moderation_redis_conf_t *rcf, ngx_str_t *value)
{
    ngx_str_t    s;
    ngx_int_t    num;
    ngx_msec_t  *msp;

    s = *value;

    if (ngx_strncmp(s.data, "password=", 9) == 0) {
        rcf->password.data = s.data + 9;
        rcf->password.len = s.len - 9;
        return NGX_OK;
    }

    if (ngx_strncmp(s.data, "password_file=", 14) == 0) {
        if (ngx_http_comment_moderation_conf_file_line(cf, &s, 14,
                                                       &rcf->password)
            != NGX_CONF_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (rcf->sentinels != NULL
        && ngx_strncmp(s.data, "sentinel_password=", 18) == 0)
    {
        rcf->sentinel_password.data = s.data + 18;
        rcf->sentinel_password.len = s.len - 18;
        return NGX_OK;
    }

    if (ngx_strncmp(s.data, "db=", 3) == 0) {
        num = ngx_atoi(s.data + 3, s.len - 3);
        if (num == NGX_ERROR) {
            goto invalid;
        }

        rcf->db = num;
        return NGX_OK;
    }

    if (ngx_strncmp(s.data, "failures=", 9) == 0) {
        num = ngx_atoi(s.data + 9, s.len - 9);
        if (num == NGX_ERROR || num == 0) {
            goto invalid;
        }

        rcf->max_failures = num;
        return NGX_OK;
    }

    if (ngx_strncmp(s.data, "replicas=", 9) == 0) {
        num = ngx_atoi(s.data + 9, s.len - 9);
        if (num == NGX_ERROR) {
            goto invalid;
        }

        rcf->replicas = num;
        return NGX_OK;
    }

    if (ngx_strncmp(s.data, "connect_timeout=", 16) == 0) {
        msp = &rcf->connect_timeout;
        s.data += 16;
        s.len -= 16;

    } else if (ngx_strncmp(s.data, "timeout=", 8) == 0) {
        msp = &rcf->timeout;
        s.data += 8;
        s.len -= 8;

    } else if (ngx_strncmp(s.data, "open_time=", 10) == 0) {
        msp = &rcf->open_time;
        s.data += 10;
        s.len -= 10;

    } else {
        goto invalid;
    }

    *msp = ngx_parse_time(&s, 0);
    if (*msp != (ngx_msec_t) NGX_ERROR && *msp != 0) {
        return NGX_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", value);

    return NGX_ERROR;
}
