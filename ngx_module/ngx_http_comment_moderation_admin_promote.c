/*
 * api/rules/promote: a shadow rule of the active set starts deciding.  The
 * active version's files are read from Redis, the rule's "shadow" key is
 * taken out of its file (cm_rules_unshadow(), the rest byte for byte), the
 * result compiled as nginx would load it, and published as a new version
 * with the publish verb's script, so the audit log and the versions list
 * show it as any publish.  scripts/cm-rules promote does the same.
 * With "preview", nothing is published: the promoted set is backtested
 * against the stored comments instead, listing what the rule would change.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_editor.h"
#include "ngx_http_comment_moderation_lua.h"


#define NGX_HTTP_CM_PROMOTE_ERR  512


typedef struct {
    ngx_str_t   rule;
    ngx_str_t   note;
    ngx_str_t  *preview;    /* the backtest's "limit": only show what
                               promoting would change */
} ngx_http_comment_moderation_promote_t;


static void ngx_http_comment_moderation_promote_files(void *data,
    redisReply *reply);
static ngx_int_t ngx_http_comment_moderation_promote_load(
    ngx_http_request_t *r, ngx_http_comment_moderation_promote_t *pr,
    cm_rules_bundle_t *bundle, ngx_str_t *entry,
    ngx_http_comment_moderation_draft_t **draft, const cm_rule_def_t **def);
static ngx_int_t ngx_http_comment_moderation_promote_unshadow(
    ngx_http_request_t *r, ngx_http_comment_moderation_promote_t *pr,
    cm_rules_bundle_t *bundle, ngx_str_t *entry,
    ngx_http_comment_moderation_draft_t **promoted);
static ngx_int_t ngx_http_comment_moderation_promote_answer(
    ngx_http_request_t *r, ngx_int_t rc);
static const cm_rule_def_t *ngx_http_comment_moderation_promote_find(
    cm_rules_t *rules, ngx_str_t *name);
static ngx_int_t ngx_http_comment_moderation_promote_refuse(
    ngx_http_request_t *r, ngx_uint_t status, const char *fmt,
    ngx_str_t *name);


static ngx_http_comment_moderation_redis_script_t  ngx_http_comment_moderation_files_script;


void
ngx_http_comment_moderation_admin_promote_init(void)
{
    ngx_http_comment_moderation_redis_script_init(
        &ngx_http_comment_moderation_files_script,
        ngx_http_comment_moderation_lua_admin_files);
}


/* {"rule": NAME, "note": optional} */
ngx_int_t
ngx_http_comment_moderation_admin_promote(ngx_http_request_t *r,
    cm_fields_t *fields)
{
    const cm_field_t                         *f;
    ngx_http_comment_moderation_promote_t    *pr;
    ngx_http_comment_moderation_admin_ctx_t  *ctx;

    f = cm_fields_find(fields, "rule", 4);
    if (f == NULL || f->value_len == 0) {
        return ngx_http_comment_moderation_admin_error(r, NGX_HTTP_BAD_REQUEST,
                                "\"rule\": the name of the shadow rule");
    }

    pr = ngx_palloc(r->pool, sizeof(ngx_http_comment_moderation_promote_t));
    if (pr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pr->rule.data = (u_char *) f->value;
    pr->rule.len = f->value_len;
    pr->preview = NULL;

    f = cm_fields_find(fields, "preview", 7);

    /* "preview": true (JSON's true arrives as the text "true") */
    if (f != NULL
        && ((f->value_len == 4 && ngx_strncmp(f->value, "true", 4) == 0)
            || (f->value_len == 1 && f->value[0] == '1')))
    {
        pr->preview = ngx_palloc(r->pool, sizeof(ngx_str_t));
        if (pr->preview == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        f = cm_fields_find(fields, "limit", 5);
        pr->preview->data = (u_char *) (f ? f->value : "200");
        pr->preview->len = f ? f->value_len : 3;
    }

    f = cm_fields_find(fields, "note", 4);

    if (f != NULL && f->value_len) {
        pr->note.data = (u_char *) f->value;
        pr->note.len = f->value_len;

    } else {
        /* the versions list says what happened even without a note */
        pr->note.data = ngx_pnalloc(r->pool, sizeof("promoted  from shadow")
                                             + pr->rule.len);
        if (pr->note.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        pr->note.len = ngx_sprintf(pr->note.data, "promoted %V from shadow",
                                   &pr->rule)
                       - pr->note.data;
    }

    ctx = ngx_http_comment_moderation_admin_ctx(r);
    ctx->act = pr;

    return ngx_http_comment_moderation_admin_eval(r,
               &ngx_http_comment_moderation_files_script, NULL, 0,
               ngx_http_comment_moderation_promote_files);
}


/* the active version: {version, entry, path, text, ...}, or {} */
static void
ngx_http_comment_moderation_promote_files(void *data, redisReply *reply)
{
    ngx_http_request_t *r = data;

    size_t                                    i;
    ngx_int_t                                 rc;
    ngx_str_t                                 entry, all;
    cm_rules_bundle_t                         bundle;
    cm_bundle_file_t                         *file;
    ngx_http_comment_moderation_draft_t      *promoted;
    ngx_http_comment_moderation_promote_t    *pr;

    pr = ngx_http_comment_moderation_admin_ctx(r)->act;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements % 2)
    {
        ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
            return;
        }
    }

    if (reply->elements == 0) {
        ngx_http_finalize_request(r,
            ngx_http_comment_moderation_admin_error(r, NGX_HTTP_NOT_FOUND,
                                   "no rule set is published yet"));
        return;
    }

    /* the reply is freed after this call; publishing copies what it sends */
    entry.data = (u_char *) reply->element[1]->str;
    entry.len = reply->element[1]->len;

    bundle.nfiles = 0;
    bundle.files = ngx_palloc(r->pool, (reply->elements / 2)
                                       * sizeof(cm_bundle_file_t));
    if (bundle.files == NULL) {
        ngx_http_comment_moderation_editor_finish(r,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }

    for (i = 2; i < reply->elements; i += 2) {
        file = &bundle.files[bundle.nfiles++];
        file->name = reply->element[i]->str;
        file->name_len = reply->element[i]->len;
        file->text = reply->element[i + 1]->str;
        file->len = reply->element[i + 1]->len;
    }

    promoted = NULL;
    rc = ngx_http_comment_moderation_promote_unshadow(r, pr, &bundle, &entry,
                                                      &promoted);

    if (rc == NGX_OK && pr->preview) {
        /* the backtest of the promoted set: the comments it would change */
        ngx_str_set(&all, "");
        rc = ngx_http_comment_moderation_editor_run_sample(r, promoted,
                                                       pr->preview, &all);

    } else if (rc == NGX_OK) {
        rc = ngx_http_comment_moderation_editor_publish_bundle(r, &bundle,
                                                           &entry, &pr->note);
    }

    if (rc == NGX_DECLINED) {
        /* Redis went away between the two calls */
        ngx_http_comment_moderation_editor_finish(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        return;
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * The rule's file in the bundle without its "shadow": NGX_OK, or NGX_DONE
 * when the request got its answer (why not) already.
 */
static ngx_int_t
ngx_http_comment_moderation_promote_unshadow(ngx_http_request_t *r,
    ngx_http_comment_moderation_promote_t *pr, cm_rules_bundle_t *bundle,
    ngx_str_t *entry, ngx_http_comment_moderation_draft_t **promoted)
{
    char                                 *err, *text, *name;
    size_t                                i, len;
    ngx_str_t                             error;
    cm_bundle_file_t                     *file;
    const cm_rule_def_t                  *def;
    ngx_http_comment_moderation_draft_t  *draft;

    if (ngx_http_comment_moderation_promote_load(r, pr, bundle, entry, &draft,
                                                 &def)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    if (def == NULL) {
        return ngx_http_comment_moderation_promote_answer(r,
               ngx_http_comment_moderation_promote_refuse(r,
                   NGX_HTTP_NOT_FOUND, "the active rules have no rule %V",
                   &pr->rule));
    }

    if (!def->shadow) {
        return ngx_http_comment_moderation_promote_answer(r,
               ngx_http_comment_moderation_promote_refuse(r,
                   NGX_HTTP_CONFLICT, "rule %V is not a shadow", &pr->rule));
    }

    /* the file names of the rules are as loaded: the bundle's paths */
    file = NULL;

    for (i = 0; i < bundle->nfiles; i++) {
        if (bundle->files[i].name_len == ngx_strlen(def->file)
            && ngx_strncmp(bundle->files[i].name, def->file,
                           bundle->files[i].name_len) == 0)
        {
            file = &bundle->files[i];
            break;
        }
    }

    err = ngx_pcalloc(r->pool, NGX_HTTP_CM_PROMOTE_ERR);
    name = ngx_pnalloc(r->pool, pr->rule.len + 1);
    if (err == NULL || name == NULL) {
        return ngx_http_comment_moderation_promote_answer(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    if (file == NULL) {
        return ngx_http_comment_moderation_promote_answer(r,
               ngx_http_comment_moderation_promote_refuse(r,
                   NGX_HTTP_CONFLICT, "the file of rule %V is not in the "
                   "published set", &pr->rule));
    }

    ngx_cpystrn((u_char *) name, pr->rule.data, pr->rule.len + 1);

    if (cm_rules_unshadow(def->file, file->text, file->len, name, &text, &len,
                          err, NGX_HTTP_CM_PROMOTE_ERR)
        != 0)
    {
        error.data = (u_char *) err;
        error.len = ngx_strlen(err);
        return ngx_http_comment_moderation_promote_answer(r,
                   ngx_http_comment_moderation_editor_failed(r, &error));
    }

    file->text = ngx_pnalloc(r->pool, len + 1);
    if (file->text == NULL) {
        free(text);
        return ngx_http_comment_moderation_promote_answer(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    ngx_memcpy((char *) file->text, text, len);
    file->len = len;
    free(text);

    /* what is published compiles, and the rule in it decides */
    if (ngx_http_comment_moderation_promote_load(r, pr, bundle, entry, &draft,
                                                 &def)
        != NGX_OK)
    {
        return NGX_DONE;
    }

    if (def == NULL || def->shadow) {
        return ngx_http_comment_moderation_promote_answer(r,
               ngx_http_comment_moderation_promote_refuse(r,
                   NGX_HTTP_CONFLICT, "the \"shadow\" of rule %V could not "
                   "be taken out: edit it in the rules tab", &pr->rule));
    }

    *promoted = draft;

    return NGX_OK;
}


static const cm_rule_def_t *
ngx_http_comment_moderation_promote_find(cm_rules_t *rules, ngx_str_t *name)
{
    size_t  i;

    for (i = 0; i < rules->nrules; i++) {
        if (ngx_strlen(rules->rules[i].name) == name->len
            && ngx_strncmp(rules->rules[i].name, name->data, name->len) == 0)
        {
            return &rules->rules[i];
        }
    }

    return NULL;
}


/*
 * The bundle compiled as nginx would load it, and its rule named in the
 * request (*def NULL if it has none).  NGX_DONE: it did not compile, and
 * the answer saying why is given.
 */
static ngx_int_t
ngx_http_comment_moderation_promote_load(ngx_http_request_t *r,
    ngx_http_comment_moderation_promote_t *pr, cm_rules_bundle_t *bundle,
    ngx_str_t *entry, ngx_http_comment_moderation_draft_t **draft,
    const cm_rule_def_t **def)
{
    ngx_str_t  error;

    if (ngx_http_comment_moderation_editor_load(r, bundle, entry, draft,
                                                &error)
        != NGX_OK)
    {
        return ngx_http_comment_moderation_promote_answer(r,
                   ngx_http_comment_moderation_editor_failed(r, &error));
    }

    *def = ngx_http_comment_moderation_promote_find((*draft)->rules,
                                                    &pr->rule);

    return NGX_OK;
}


/* a refusal's answer finalizes the request: the caller has nothing to do */
static ngx_int_t
ngx_http_comment_moderation_promote_answer(ngx_http_request_t *r,
    ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* {"error": "..."} naming the rule */
static ngx_int_t
ngx_http_comment_moderation_promote_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ngx_str_t *name)
{
    u_char  *text;

    text = ngx_pnalloc(r->pool, ngx_strlen(fmt) + name->len + 1);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf(text, fmt, name) = '\0';

    return ngx_http_comment_moderation_admin_error(r, status, (char *) text);
}
