/*
 * The local spool: Redis writes that must not be lost (held and rejected
 * comments) while Redis is down or slow.  Each record is one call of a Redis
 * script, appended and fsync'ed before the client is answered; a timer in
 * each worker moves the records into Redis, in order, when it is back.  The
 * script makes every record idempotent (by comment id), so a record sent
 * twice (a timeout whose write still happened) lands once.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_SPOOL_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_SPOOL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_comment_moderation_redis.h"


/* appends one record: argv[2..argc) of a call of "script"; NGX_OK once on disk */
ngx_int_t ngx_http_comment_moderation_spool_append(ngx_str_t *path,
    int argc, const char **argv, const size_t *argvlen, ngx_log_t *log);

/* starts the per-worker timer that drains "path" into Redis with "script" */
ngx_int_t ngx_http_comment_moderation_spool_init_process(ngx_cycle_t *cycle,
    ngx_str_t *path, ngx_http_comment_moderation_redis_script_t *script);
void ngx_http_comment_moderation_spool_exit_process(void);


#endif /* _NGX_HTTP_COMMENT_MODERATION_SPOOL_H_INCLUDED_ */
