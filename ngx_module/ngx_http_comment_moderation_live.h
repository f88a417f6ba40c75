/*
 * Rule sets published to Redis, swapped in live: each worker polls the
 * active version, compiles a new one in a thread of its own (a large set
 * takes long enough to stall requests otherwise) and swaps it in between
 * requests.  A request keeps the set it started with until it ends.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_LIVE_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_LIVE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_comment_moderation_engine.h"


typedef struct {
    cm_rules_t    *rules;
    cm_engine_t   *engine;
    ngx_uint_t     refs;        /* requests using it, and 1 while current */
    ngx_int_t      version;
} ngx_http_comment_moderation_live_set_t;


ngx_int_t ngx_http_comment_moderation_live_init_process(ngx_cycle_t *cycle,
    ngx_str_t *prefix);
void ngx_http_comment_moderation_live_exit_process(void);

/*
 * The engine for this request: the live set if Redis gave one, else
 * "files" (the set compiled from comment_moderation_rules).  *version is
 * the live set's version, 0 for the files.
 */
const cm_engine_t *ngx_http_comment_moderation_live_engine(
    ngx_http_request_t *r, const cm_engine_t *files, ngx_int_t *version);


#endif /* _NGX_HTTP_COMMENT_MODERATION_LIVE_H_INCLUDED_ */
