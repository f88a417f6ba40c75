/*
 * Inside the engine (not a public interface): what matching (engine.c) and
 * deciding (decide.c) share.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_DECIDE_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_DECIDE_H_INCLUDED_


#include "ngx_http_comment_moderation_engine.h"


/* the index of the rule's limit window in windows[0, n); n if not there */
size_t cm_window_find(const cm_window_t *windows, size_t n,
    const cm_rule_def_t *rule);

/* engine.c: the order of res->spans, for qsort() */
int cm_span_cmp(const void *a, const void *b);


#endif /* _NGX_HTTP_COMMENT_MODERATION_DECIDE_H_INCLUDED_ */
