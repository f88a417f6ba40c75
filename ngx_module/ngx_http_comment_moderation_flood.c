/*
 * Copies of a swarm, refused before any work.
 *
 * A bot swarm posts one text from many accounts and addresses, thousands a
 * second in a spam wave.  The first copies go the whole way: rules, then
 * Redis counts the text across the site ("limit text 4/10m") and a rule
 * rejects it.  From then on, for that rule's window, every worker of this
 * host knows the text by a hash of its bytes, and refuses the next copies
 * as soon as their body is parsed: no rule matching, no Redis round trip,
 * nothing kept again.  A copy judged by another version of the rules is
 * judged again.  Each copy is still answered as rejected, logged, and
 * counted in the metrics; the first copies are kept for the moderators as
 * every rejected comment is.
 *
 * The table is a fixed array in shared memory, open-addressed over a few
 * slots: an old or expired entry is simply overwritten, as a cache may be.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_metrics.h"


#define NGX_HTTP_CM_FLOOD_SIZE    (256 * 1024)
#define NGX_HTTP_CM_FLOOD_PROBES  8
#define NGX_HTTP_CM_FLOOD_RULE    48


typedef struct {
    uint64_t                     hash;      /* of the comment's text; 0: free */
    int64_t                      until;     /* ms; refused until then */
    size_t                       len;       /* of the text */
    ngx_int_t                    version;   /* of the live rule set */
    u_char                       rule[NGX_HTTP_CM_FLOOD_RULE];  /* NUL-ended */
} ngx_http_comment_moderation_flood_entry_t;


typedef struct {
    ngx_uint_t                   nentries;
    ngx_http_comment_moderation_flood_entry_t  entry[1];
} ngx_http_comment_moderation_flood_t;


static ngx_int_t ngx_http_comment_moderation_flood_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static uint64_t ngx_http_comment_moderation_flood_hash(const u_char *p,
    size_t len);
static const cm_rule_def_t *ngx_http_comment_moderation_flood_rule(
    const cm_result_t *res);


static ngx_shm_zone_t  *ngx_http_comment_moderation_flood_zone;


ngx_int_t
ngx_http_comment_moderation_flood_add_zone(ngx_conf_t *cf)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *zone;

    ngx_str_set(&name, "comment_moderation_flood");

    zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_CM_FLOOD_SIZE,
                                 &ngx_http_comment_moderation_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_comment_moderation_flood_init_zone;
    ngx_http_comment_moderation_flood_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_flood_init_zone(ngx_shm_zone_t *shm_zone,
    void *data)
{
    size_t                                size;
    ngx_slab_pool_t                      *shpool;
    ngx_http_comment_moderation_flood_t  *flood;

    /* a reload keeps what the workers learnt */
    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* the slab allocator's own pages take a part of the zone */
    size = NGX_HTTP_CM_FLOOD_SIZE / 2;

    flood = ngx_slab_calloc(shpool, size);
    if (flood == NULL) {
        return NGX_ERROR;
    }

    flood->nentries = (size - sizeof(ngx_http_comment_moderation_flood_t))
                      / sizeof(ngx_http_comment_moderation_flood_entry_t) + 1;

    shm_zone->data = flood;

    return NGX_OK;
}


/*
 * NGX_OK: the comment is a copy of a text a swarm rule rejected, and ctx
 * now says "rejected" by that rule; NGX_DECLINED: judge it.
 */
ngx_int_t
ngx_http_comment_moderation_flood_copy(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    u_char                                     *p;
    size_t                                      len, n;
    uint64_t                                    hash;
    int64_t                                     now;
    ngx_uint_t                                  i, found;
    ngx_slab_pool_t                            *shpool;
    ngx_http_comment_moderation_flood_t        *flood;
    ngx_http_comment_moderation_flood_entry_t  *e;
    ngx_http_comment_moderation_loc_conf_t     *cmlcf;
    u_char                                      rule[NGX_HTTP_CM_FLOOD_RULE];

    if (ngx_http_comment_moderation_flood_zone == NULL
        || ngx_http_comment_moderation_flood_zone->data == NULL
        || ctx->input.value[CM_FIELD_TEXT] == NULL)
    {
        return NGX_DECLINED;
    }

    flood = ngx_http_comment_moderation_flood_zone->data;
    shpool = (ngx_slab_pool_t *)
                 ngx_http_comment_moderation_flood_zone->shm.addr;

    p = (u_char *) ctx->input.value[CM_FIELD_TEXT];
    len = ctx->input.len[CM_FIELD_TEXT];
    hash = ngx_http_comment_moderation_flood_hash(p, len);
    now = ngx_http_comment_moderation_now_ms();
    found = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_HTTP_CM_FLOOD_PROBES; i++) {
        e = &flood->entry[(hash + i) % flood->nentries];

        if (e->hash == hash && e->len == len && e->until > now
            && e->version == ctx->version)
        {
            ngx_memcpy(rule, e->rule, NGX_HTTP_CM_FLOOD_RULE);
            found = 1;
            break;
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (!found) {
        return NGX_DECLINED;
    }

    n = ngx_strlen(rule);

    ctx->rules.data = ngx_pnalloc(r->pool, n);
    if (ctx->rules.data == NULL) {
        return NGX_DECLINED;
    }

    ngx_memcpy(ctx->rules.data, rule, n);
    ctx->rules.len = n;

    cmlcf = ngx_http_get_module_loc_conf(r, ngx_http_comment_moderation_module);

    ctx->decision = NGX_HTTP_CM_REJECT;
    ctx->message = NGX_HTTP_CM_MSG_REJECT;
    ctx->status = cmlcf->reject_status;

    ngx_http_comment_moderation_count(NGX_HTTP_CM_M_FLOOD_COPIES);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "comment moderation: reject, rules: %V (a copy of a text "
                  "that rule rejected, refused at once), id %V",
                  &ctx->rules, &ctx->id);

    return NGX_OK;
}


/* After a decision: a text rejected by a swarm rule is remembered. */
void
ngx_http_comment_moderation_flood_learn(ngx_http_request_t *r,
    ngx_http_comment_moderation_ctx_t *ctx)
{
    size_t                                      len;
    uint64_t                                    hash;
    int64_t                                     until;
    ngx_uint_t                                  i;
    ngx_slab_pool_t                            *shpool;
    const cm_rule_def_t                        *rule;
    ngx_http_comment_moderation_flood_t        *flood;
    ngx_http_comment_moderation_flood_entry_t  *e, *victim;

    if (ngx_http_comment_moderation_flood_zone == NULL
        || ngx_http_comment_moderation_flood_zone->data == NULL
        || ctx->input.value[CM_FIELD_TEXT] == NULL
        || ctx->result == NULL)
    {
        return;
    }

    rule = ngx_http_comment_moderation_flood_rule(ctx->result);
    if (rule == NULL) {
        return;
    }

    flood = ngx_http_comment_moderation_flood_zone->data;
    shpool = (ngx_slab_pool_t *)
                 ngx_http_comment_moderation_flood_zone->shm.addr;

    len = ctx->input.len[CM_FIELD_TEXT];
    hash = ngx_http_comment_moderation_flood_hash(
               (u_char *) ctx->input.value[CM_FIELD_TEXT], len);
    until = ngx_http_comment_moderation_now_ms() + rule->limit_ms;

    ngx_shmtx_lock(&shpool->mutex);

    /* the same text, else the entry that ends first */
    victim = &flood->entry[hash % flood->nentries];

    for (i = 0; i < NGX_HTTP_CM_FLOOD_PROBES; i++) {
        e = &flood->entry[(hash + i) % flood->nentries];

        if (e->hash == hash && e->len == len) {
            victim = e;
            break;
        }

        if (e->until < victim->until) {
            victim = e;
        }
    }

    victim->hash = hash;
    victim->len = len;
    victim->until = until;
    victim->version = ctx->version;
    ngx_cpystrn(victim->rule, (u_char *) rule->name, NGX_HTTP_CM_FLOOD_RULE);

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "comment moderation: rule \"%s\" rejected a swarm's text: "
                  "its copies are refused at once for %ui s",
                  rule->name, (ngx_uint_t) (rule->limit_ms / 1000));
}


/* the rule that rejected the comment by counting its text, if one did */
static const cm_rule_def_t *
ngx_http_comment_moderation_flood_rule(const cm_result_t *res)
{
    size_t                i;
    const cm_rule_def_t  *rule;

    if (res->decision != CM_DECISION_REJECT) {
        return NULL;
    }

    for (i = 0; i < res->nhits; i++) {
        rule = res->hits[i].rule;

        if (rule->limit_max > 0 && rule->limit_ident == CM_IDENT_TEXT
            && rule->action == CM_ACTION_REJECT && !cm_rule_silent(rule))
        {
            return rule;
        }
    }

    return NULL;
}


/* two independent 32-bit hashes of nginx's: 0 is kept for a free slot */
static uint64_t
ngx_http_comment_moderation_flood_hash(const u_char *p, size_t len)
{
    uint64_t  h;

    h = ((uint64_t) ngx_murmur_hash2((u_char *) p, len) << 32)
        | ngx_crc32_long((u_char *) p, len);

    return h ? h : 1;
}
