/*
 * ngx_http_comment_moderation_module: directives, configuration levels,
 * rule sets compiled at configuration time, and registration of the handler.
 */

#include "ngx_http_comment_moderation.h"
#include "ngx_http_comment_moderation_live.h"
#include "ngx_http_comment_moderation_spool.h"
#include "ngx_http_comment_moderation_regex.h"


static ngx_int_t ngx_http_comment_moderation_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_comment_moderation_init(ngx_conf_t *cf);
static void *ngx_http_comment_moderation_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_comment_moderation_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_comment_moderation_redis(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_comment_moderation_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_comment_moderation_init_process(ngx_cycle_t *cycle);
static char *ngx_http_comment_moderation_admin(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_comment_moderation_sample(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_comment_moderation_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_comment_moderation_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_comment_moderation_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_comment_moderation_rules(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_comment_moderation_fields(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_comment_moderation_message(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_comment_moderation_free_rule_set(void *data);


static ngx_conf_enum_t  ngx_http_comment_moderation_on_invalid[] = {
    { ngx_string("reject"), NGX_HTTP_CM_ON_INVALID_REJECT },
    { ngx_string("queue"), NGX_HTTP_CM_ON_INVALID_QUEUE },
    { ngx_string("accept"), NGX_HTTP_CM_ON_INVALID_ACCEPT },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_comment_moderation_langs[] = {
    { ngx_string("id"), NGX_HTTP_CM_LANG_ID },
    { ngx_string("en"), NGX_HTTP_CM_LANG_EN },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_comment_moderation_queues[] = {
    { ngx_string("mark"), NGX_HTTP_CM_QUEUE_MARK },
    { ngx_string("hold"), NGX_HTTP_CM_QUEUE_HOLD },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_comment_moderation_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


/* the names of the messages, as comment_moderation_message takes them */
static ngx_str_t  ngx_http_comment_moderation_message_names[] = {
    ngx_string("reject"),
    ngx_string("queue"),
    ngx_string("invalid"),
    ngx_string("too_large"),
    ngx_string("unavailable")
};


/*
 * default body field name of each role (text, name, email, url, article,
 * section); the section has none: only a site that sends one names it
 */
static ngx_str_t  ngx_http_comment_moderation_default_fields[] = {
    ngx_string("comment"),
    ngx_string("name"),
    ngx_string("email"),
    ngx_string("url"),
    ngx_string("article_id"),
    ngx_null_string
};


static ngx_command_t  ngx_http_comment_moderation_commands[] = {

    { ngx_string("comment_moderation"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, enable),
      NULL },

    { ngx_string("comment_moderation_rules"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_comment_moderation_rules,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_fields"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_comment_moderation_fields,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, user),
      NULL },

    { ngx_string("comment_moderation_section"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, section),
      NULL },

    { ngx_string("comment_moderation_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, max_body),
      NULL },

    { ngx_string("comment_moderation_on_invalid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, on_invalid),
      &ngx_http_comment_moderation_on_invalid },

    { ngx_string("comment_moderation_reject_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, reject_status),
      &ngx_http_comment_moderation_status_bounds },

    { ngx_string("comment_moderation_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, redirect),
      NULL },

    { ngx_string("comment_moderation_lang"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, lang),
      &ngx_http_comment_moderation_langs },

    { ngx_string("comment_moderation_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_comment_moderation_message,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, queue),
      &ngx_http_comment_moderation_queues },

    { ngx_string("comment_moderation_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_comment_moderation_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_redis_sentinel"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_comment_moderation_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_main_conf_t, prefix),
      NULL },

    { ngx_string("comment_moderation_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_comment_moderation_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_spool_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_path_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_main_conf_t, spool_path),
      NULL },

    { ngx_string("comment_moderation_keep_rejected"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_main_conf_t, keep_rejected),
      NULL },

    { ngx_string("comment_moderation_admin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_comment_moderation_admin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_comment_moderation_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_admin_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, admin_user),
      NULL },

    { ngx_string("comment_moderation_release_to"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_loc_conf_t, release_to),
      NULL },

    { ngx_string("comment_moderation_regex_jit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_main_conf_t, regex_jit),
      NULL },

    { ngx_string("comment_moderation_sample_accepted"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_comment_moderation_sample,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("comment_moderation_reputation_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_comment_moderation_main_conf_t, reputation_ttl),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_comment_moderation_module_ctx = {
    ngx_http_comment_moderation_preconfiguration, /* preconfiguration */
    ngx_http_comment_moderation_init,      /* postconfiguration */

    ngx_http_comment_moderation_create_main_conf, /* create main configuration */
    ngx_http_comment_moderation_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_comment_moderation_create_loc_conf, /* create location configuration */
    ngx_http_comment_moderation_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_comment_moderation_module = {
    NGX_MODULE_V1,
    &ngx_http_comment_moderation_module_ctx, /* module context */
    ngx_http_comment_moderation_commands,  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_comment_moderation_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_comment_moderation_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_comment_moderation_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_comment_moderation_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&cmcf->rule_sets, cf->pool, 4,
                       sizeof(ngx_http_comment_moderation_rule_set_t *))
        != NGX_OK)
    {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->redis.name = { 0, NULL };
     *     cmcf->prefix = { 0, NULL };
     *     cmcf->secret = { 0, NULL };
     *     cmcf->spool_path = NULL;
     */

    cmcf->keep_rejected = NGX_CONF_UNSET;
    cmcf->regex_jit = NGX_CONF_UNSET;
    cmcf->sample_accepted = NGX_CONF_UNSET_UINT;
    cmcf->reputation_ttl = NGX_CONF_UNSET;

    return cmcf;
}


static char *
ngx_http_comment_moderation_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_comment_moderation_main_conf_t *cmcf = conf;

    u_char  *p;

    static ngx_path_init_t  ngx_http_comment_moderation_spool_default = {
        ngx_string("comment_moderation_spool"), { 0, 0, 0 }
    };

    if (cmcf->prefix.data == NULL) {
        ngx_str_set(&cmcf->prefix, "cm:");
    }

    ngx_conf_init_value(cmcf->keep_rejected, 14 * 86400);
    ngx_conf_init_value(cmcf->reputation_ttl, 90 * 86400);
    ngx_conf_init_uint_value(cmcf->sample_accepted, 5);
    ngx_conf_init_value(cmcf->regex_jit, 1);

    /* workers inherit it; compiled code keeps its JIT part either way */
    cm_regex_use_jit(cmcf->regex_jit);

    if (cmcf->redis.name.len == 0) {
        return NGX_CONF_OK;
    }

    if (cmcf->secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"comment_moderation_redis\" needs "
                           "\"comment_moderation_secret\": a long random "
                           "string, the same on every nginx host");
        return NGX_CONF_ERROR;
    }

    /* nginx creates the folder at start, owned by the worker user */
    if (ngx_conf_merge_path_value(cf, &cmcf->spool_path, NULL,
                                  &ngx_http_comment_moderation_spool_default)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    cmcf->spool.len = cmcf->spool_path->name.len + sizeof("/comments.spool") - 1;
    p = ngx_pnalloc(cf->pool, cmcf->spool.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    cmcf->spool.data = p;
    ngx_sprintf(p, "%V/comments.spool%Z", &cmcf->spool_path->name);

    return NGX_CONF_OK;
}


static char *
ngx_http_comment_moderation_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_main_conf_t *cmcf = conf;

    /* one Redis: an address, or the sentinels that know it */
    if (cmcf->redis.name.len) {
        return "is duplicate";
    }

    if (cmd->name.len == sizeof("comment_moderation_redis_sentinel") - 1) {
        return ngx_http_comment_moderation_redis_parse_sentinel(cf,
                                                                &cmcf->redis);
    }

    return ngx_http_comment_moderation_redis_parse(cf, &cmcf->redis);
}


/* comment_moderation_sample_accepted 5%: accepted comments kept for the
   editors' backtests */
static char *
ngx_http_comment_moderation_sample(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_main_conf_t *cmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (cmcf->sample_accepted != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = NGX_ERROR;
    if (value[1].len > 1 && value[1].data[value[1].len - 1] == '%') {
        n = ngx_atoi(value[1].data, value[1].len - 1);
    }

    if (n == NGX_ERROR || n > 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"comment_moderation_sample_accepted\" takes a "
                           "percentage from 0%% to 100%%, not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    cmcf->sample_accepted = n;

    return NGX_CONF_OK;
}


/* comment_moderation_admin: the location serves the moderators' area */
static char *
ngx_http_comment_moderation_admin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_loc_conf_t *cmlcf = conf;

    ngx_http_core_loc_conf_t                 *clcf;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    if (cmlcf->admin) {
        return "is duplicate";
    }

    cmlcf->admin = 1;

    /* handoffs from Redis run as if they came to the first admin location */
    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_comment_moderation_module);
    if (cmcf->admin == NULL) {
        cmcf->admin = cf->ctx;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_comment_moderation_admin_handler;

    return NGX_CONF_OK;
}


/* comment_moderation_secret TEXT | file=PATH (the first line of the file) */
static char *
ngx_http_comment_moderation_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_main_conf_t *cmcf = conf;

    char       *rv;
    ngx_str_t  *value;

    if (cmcf->secret.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "file=", 5) == 0) {
        rv = ngx_http_comment_moderation_conf_file_line(cf, &value[1], 5,
                                                        &cmcf->secret);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

    } else {
        cmcf->secret = value[1];
    }

    if (cmcf->secret.len < 16) {
        return "is too short: use at least 16 random characters";
    }

    return NGX_CONF_OK;
}


/*
 * The first line of the file named by arg after "skip" bytes ("file=..."),
 * relative to the configuration's folder: secrets kept out of nginx.conf.
 */
char *
ngx_http_comment_moderation_conf_file_line(ngx_conf_t *cf, ngx_str_t *arg,
    size_t skip, ngx_str_t *line)
{
    u_char      *p, *last;
    ssize_t      n;
    ngx_str_t    name;
    ngx_file_t   file;
    u_char       buf[1024];

    name.data = arg->data + skip;
    name.len = arg->len - skip;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;
    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &name);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, buf, sizeof(buf), 0);
    ngx_close_file(file.fd);

    if (n == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    last = buf + n;
    for (p = buf; p < last && *p != CR && *p != LF; p++) { /* void */ }

    line->len = p - buf;
    line->data = ngx_pnalloc(cf->pool, line->len);
    if (line->data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(line->data, buf, line->len);

    return NGX_CONF_OK;
}


static void *
ngx_http_comment_moderation_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_comment_moderation_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_comment_moderation_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->rule_set = NULL;
     *     conf->field[] = { 0, NULL };
     *     conf->user = NULL;
     *     conf->section = NULL;
     *     conf->message[] = { 0, NULL };
     *     conf->admin = 0;
     *     conf->admin_user = NULL;
     *     conf->release_to = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->max_body = NGX_CONF_UNSET_SIZE;
    conf->on_invalid = NGX_CONF_UNSET_UINT;
    conf->reject_status = NGX_CONF_UNSET_UINT;
    conf->redirect = NGX_CONF_UNSET;
    conf->lang = NGX_CONF_UNSET_UINT;
    conf->queue = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_comment_moderation_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_comment_moderation_loc_conf_t *prev = parent;
    ngx_http_comment_moderation_loc_conf_t *conf = child;

    ngx_uint_t  i;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body, 64 * 1024);
    ngx_conf_merge_uint_value(conf->on_invalid, prev->on_invalid,
                              NGX_HTTP_CM_ON_INVALID_REJECT);
    ngx_conf_merge_uint_value(conf->reject_status, prev->reject_status,
                              NGX_HTTP_FORBIDDEN);
    ngx_conf_merge_value(conf->redirect, prev->redirect, 0);
    ngx_conf_merge_uint_value(conf->lang, prev->lang, NGX_HTTP_CM_LANG_ID);
    ngx_conf_merge_uint_value(conf->queue, prev->queue, NGX_HTTP_CM_QUEUE_MARK);

    if (conf->rule_set == NULL) {
        conf->rule_set = prev->rule_set;
    }

    if (conf->user == NULL) {
        conf->user = prev->user;
    }

    if (conf->section == NULL) {
        conf->section = prev->section;
    }

    if (conf->admin_user == NULL) {
        conf->admin_user = prev->admin_user;
    }

    ngx_conf_merge_str_value(conf->release_to, prev->release_to, "");

    /* the fields directive sets every role at once, so inherit all or none */
    if (conf->field[0].data == NULL) {
        for (i = 0; i < NGX_HTTP_CM_BODY_ROLES; i++) {
            conf->field[i] = prev->field[i].data
                             ? prev->field[i]
                             : ngx_http_comment_moderation_default_fields[i];
        }
    }

    for (i = 0; i < NGX_HTTP_CM_MSG_N; i++) {
        if (conf->message[i].data == NULL) {
            conf->message[i] = prev->message[i];
        }
    }

    if (conf->queue == NGX_HTTP_CM_QUEUE_HOLD
        && ((ngx_http_comment_moderation_main_conf_t *)
            ngx_http_conf_get_module_main_conf(cf,
                ngx_http_comment_moderation_module))->redis.name.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"comment_moderation_queue hold\" keeps comments "
                           "in Redis: it needs \"comment_moderation_redis\"");
        return NGX_CONF_ERROR;
    }

    if (conf->admin) {
        if (((ngx_http_comment_moderation_main_conf_t *)
             ngx_http_conf_get_module_main_conf(cf,
                 ngx_http_comment_moderation_module))->redis.name.len == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"comment_moderation_admin\" shows the queue "
                               "kept in Redis: it needs "
                               "\"comment_moderation_redis\"");
            return NGX_CONF_ERROR;
        }

        if (conf->release_to.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"comment_moderation_admin\" needs "
                               "\"comment_moderation_release_to\": the "
                               "internal location that proxies approved "
                               "comments to the backend");
            return NGX_CONF_ERROR;
        }

        if (conf->enable == 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"comment_moderation_admin\" and "
                               "\"comment_moderation on\" cannot share a "
                               "location");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->enable && conf->rule_set == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"comment_moderation\" is on but no "
                           "\"comment_moderation_rules\" are set");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * comment_moderation_rules PATH: the file or folder is parsed and compiled
 * here, so that "nginx -t" reports a broken rule with its file and line.
 * Each path is compiled once however many locations name it.
 */
static char *
ngx_http_comment_moderation_rules(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_loc_conf_t *cmlcf = conf;

    char                                      err[512];
    ngx_str_t                                *value, path;
    ngx_uint_t                                i;
    ngx_pool_cleanup_t                       *cln;
    ngx_http_comment_moderation_rule_set_t   *rs, **rsp;
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    if (cmlcf->rule_set != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_comment_moderation_module);

    rsp = cmcf->rule_sets.elts;
    for (i = 0; i < cmcf->rule_sets.nelts; i++) {
        if (rsp[i]->path.len == path.len
            && ngx_strncmp(rsp[i]->path.data, path.data, path.len) == 0)
        {
            cmlcf->rule_set = rsp[i];
            return NGX_CONF_OK;
        }
    }

    rs = ngx_pcalloc(cf->pool, sizeof(ngx_http_comment_moderation_rule_set_t));
    if (rs == NULL) {
        return NGX_CONF_ERROR;
    }

    rs->path = path;    /* ngx_conf_full_name() NUL-terminates it */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_comment_moderation_free_rule_set;
    cln->data = rs;

    rs->rules = cm_rules_load(&cm_rules_source_files, (char *) path.data,
                              err, sizeof(err));
    if (rs->rules == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    rs->engine = cm_engine_compile(rs->rules, err, sizeof(err));
    if (rs->engine == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    rsp = ngx_array_push(&cmcf->rule_sets);
    if (rsp == NULL) {
        return NGX_CONF_ERROR;
    }

    *rsp = rs;
    cmlcf->rule_set = rs;

    return NGX_CONF_OK;
}


static void
ngx_http_comment_moderation_free_rule_set(void *data)
{
    ngx_http_comment_moderation_rule_set_t *rs = data;

    /* the engine points into the rules: free it first */
    cm_engine_free(rs->engine);
    cm_rules_free(rs->rules);
}


/* comment_moderation_fields text=comment name=author article=post.id ... */
static char *
ngx_http_comment_moderation_fields(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_loc_conf_t *cmlcf = conf;

    u_char      *eq;
    ngx_str_t   *value;
    ngx_uint_t   i, j;
    cm_field_e   role;

    if (cmlcf->field[0].data != NULL) {
        return "is duplicate";
    }

    for (j = 0; j < NGX_HTTP_CM_BODY_ROLES; j++) {
        cmlcf->field[j] = ngx_http_comment_moderation_default_fields[j];
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL || eq == value[i].data
            || eq == value[i].data + value[i].len - 1)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is not ROLE=FIELD", &value[i]);
            return NGX_CONF_ERROR;
        }

        role = cm_field_by_name((char *) value[i].data, eq - value[i].data);

        if (role >= NGX_HTTP_CM_BODY_ROLES) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown role in \"%V\" (roles are: text, name, "
                               "email, url, article, section)", &value[i]);
            return NGX_CONF_ERROR;
        }

        cmlcf->field[role].data = eq + 1;
        cmlcf->field[role].len = value[i].data + value[i].len - (eq + 1);
    }

    return NGX_CONF_OK;
}


/* comment_moderation_message reject|queue|invalid|too_large "TEXT" */
static char *
ngx_http_comment_moderation_message(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_comment_moderation_loc_conf_t *cmlcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 0; i < NGX_HTTP_CM_MSG_N; i++) {
        if (value[1].len == ngx_http_comment_moderation_message_names[i].len
            && ngx_strncmp(value[1].data,
                           ngx_http_comment_moderation_message_names[i].data,
                           value[1].len) == 0)
        {
            if (cmlcf->message[i].data != NULL) {
                return "is duplicate";
            }

            if (value[2].len == 0) {
                return "needs a non-empty message";
            }

            cmlcf->message[i] = value[2];
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown message \"%V\" (messages are: reject, queue, "
                       "invalid, too_large, unavailable)", &value[1]);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_comment_moderation_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_comment_moderation_add_variables(cf);
}


/*
 * The handler runs in the precontent phase, after every access check (so
 * "satisfy any" cannot skip it, and bodies of unauthorized requests are not
 * read), and before the content handler (proxy_pass) forwards the comment.
 */
static ngx_int_t
ngx_http_comment_moderation_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                      *h;
    ngx_http_core_main_conf_t                *cmcf;
    ngx_http_comment_moderation_main_conf_t  *cmmcf;

    if (ngx_http_comment_moderation_metrics_zone(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a swarm's text is learnt from what Redis counts */
    cmmcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_comment_moderation_module);

    if (cmmcf->redis.name.len
        && ngx_http_comment_moderation_flood_add_zone(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_comment_moderation_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_comment_moderation_init_process(ngx_cycle_t *cycle)
{
    ngx_http_comment_moderation_main_conf_t     *cmcf;
    ngx_http_comment_moderation_redis_script_t  *keep;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                            ngx_http_comment_moderation_module);

    if (cmcf == NULL || cmcf->redis.name.len == 0) {
        return NGX_OK;
    }

    keep = ngx_http_comment_moderation_store_scripts_init();
    ngx_http_comment_moderation_admin_scripts_init();
    ngx_http_comment_moderation_admin_act_init();
    ngx_http_comment_moderation_admin_rules_init();
    ngx_http_comment_moderation_admin_editor_init();

    if (ngx_http_comment_moderation_redis_init_process(cycle, &cmcf->redis)
        != NGX_OK
        || ngx_http_comment_moderation_live_init_process(cycle, &cmcf->prefix)
           != NGX_OK
        || ngx_http_comment_moderation_spool_init_process(cycle, &cmcf->spool,
                                                          keep)
           != NGX_OK
        || ngx_http_comment_moderation_handoff_init_process(cycle, cmcf->admin,
                                                            &cmcf->prefix)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_comment_moderation_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_comment_moderation_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                            ngx_http_comment_moderation_module);

    if (cmcf == NULL || cmcf->redis.name.len == 0) {
        return;
    }

    ngx_http_comment_moderation_spool_exit_process();
    ngx_http_comment_moderation_live_exit_process();
    ngx_http_comment_moderation_handoff_exit_process();

    /* last: what the others cancelled is freed by hiredis here */
    ngx_http_comment_moderation_redis_exit_process();
}
