/*
 * A rule set as a bundle of files in memory: the form in which editors
 * publish rule sets to Redis.  A cm_rules_source_t over it lets
 * cm_rules_load() parse a published set exactly as it parses files.
 *
 * Plain C, no nginx types.
 */

#ifndef _NGX_HTTP_COMMENT_MODERATION_RULES_BUNDLE_H_INCLUDED_
#define _NGX_HTTP_COMMENT_MODERATION_RULES_BUNDLE_H_INCLUDED_


#include <stddef.h>

#include "ngx_http_comment_moderation_rules.h"


typedef struct {
    const char  *name;      /* relative path: "id-judol.rules", "lists/x.txt" */
    size_t       name_len;
    const char  *text;
    size_t       len;
} cm_bundle_file_t;


typedef struct {
    cm_bundle_file_t  *files;
    size_t             nfiles;
} cm_rules_bundle_t;


/* read() and list_dir() over the bundle; "." is its root directory */
cm_rules_source_t cm_rules_bundle_source(const cm_rules_bundle_t *bundle);


#endif /* _NGX_HTTP_COMMENT_MODERATION_RULES_BUNDLE_H_INCLUDED_ */
