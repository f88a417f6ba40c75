/*
 * The rule engine: compiling a rule set, matching a comment, deciding.
 *
 * Every word of every word rule is normalized like a comment, and its
 * compact views become keys of one automaton, so one pass over a field's
 * compact view finds every word of every rule.  Regexes run only on views
 * where one of their literals (found by a second automaton) occurs.
 *
 * Matches are gathered per request as raw spans, then sorted, so that the
 * same raw text found in two views, or by two words, counts once.
 *
 * Rules with "when" or "limit" are matched like the others, but wait for
 * the facts from Redis: deciding adds those whose facts hold.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_engine_internal.h"
#include "ngx_http_comment_moderation_decide.h"


const cm_engine_view_t  cm_engine_views[CM_ENGINE_NVIEWS] = {
    { CM_RULE_VIEW_RAW,    CM_VIEW_RAW,    CM_VIEW_N },
    { CM_RULE_VIEW_FOLDED, CM_VIEW_FOLDED, CM_VIEW_COMPACT },
    { CM_RULE_VIEW_DELEET, CM_VIEW_DELEET, CM_VIEW_COMPACT_DELEET },
};


static _Thread_local cm_engine_scratch_t  cm_engine_scratch;


static int cm_engine_compile_words(cm_engine_t *engine,
    cm_automaton_builder_t *b, char *err, size_t err_len);
static int cm_engine_add_words(cm_engine_t *engine, uint32_t r,
    cm_automaton_builder_t *b, size_t *akeys, char *err, size_t err_len);
static int cm_engine_add_key(cm_engine_t *engine, cm_automaton_builder_t *b,
    size_t *akeys, const cm_view_t *key, cm_word_key_t *wk);
static int cm_engine_compile_regexes(cm_engine_t *engine, char *err,
    size_t err_len);
static int cm_engine_compile_facts(cm_engine_t *engine, char *err,
    size_t err_len);
static void cm_engine_scan_words(cm_scan_t *sc, cm_field_e f);
static int cm_engine_word_found(void *data, uint32_t id, size_t start,
    size_t end);
static cm_engine_scratch_t *cm_engine_scratch_get(const cm_engine_t *engine);
static void cm_engine_add_match(cm_scan_t *sc, uint32_t rule, size_t start,
    size_t end);
static cm_engine_rc_e cm_engine_collect(cm_scan_t *sc);
static void cm_engine_hit(const cm_engine_t *engine, cm_hit_t *hit,
    uint32_t r, size_t count);
static int cm_engine_fires(const cm_scan_t *sc, uint32_t r, size_t count);
static size_t cm_engine_rule_end(const cm_match_t *m, size_t n, size_t i);
static int cm_match_cmp(const void *a, const void *b);


cm_engine_t *
cm_engine_compile(const cm_rules_t *rules, char *err, size_t err_len)
{
    int                      rc;
    size_t                   i;
    cm_engine_t             *engine;
    cm_automaton_builder_t  *words;

    engine = calloc(1, sizeof(cm_engine_t));
    words = cm_automaton_builder_create(0);

    rc = (engine && words) ? 0 : CM_ENGINE_NOMEM;

    if (rc == 0) {
        engine->rules = rules;
        rc = cm_engine_compile_words(engine, words, err, err_len);
    }

    if (rc == 0) {
        rc = cm_engine_compile_regexes(engine, err, err_len);
    }

    if (rc == 0) {
        rc = cm_prefilter_compile(engine);
    }

    if (rc == 0) {
        rc = cm_engine_compile_facts(engine, err, err_len);
    }

    if (rc == 0) {
        engine->words = cm_automaton_build(words);
        rc = engine->words ? 0 : CM_ENGINE_NOMEM;
    }

    cm_automaton_builder_free(words);

    if (rc != 0) {
        if (rc == CM_ENGINE_NOMEM) {
            snprintf(err, err_len, "out of memory");
        }

        cm_engine_free(engine);
        return NULL;
    }

    engine->fields = CM_FIELD_BIT(CM_FIELD_TEXT) | engine->word_fields;

    for (i = 0; i < CM_FIELD_N; i++) {
        if (engine->regex_views[i]) {
            engine->fields |= CM_FIELD_BIT(i);
        }
    }

    return engine;
}


void
cm_engine_free(cm_engine_t *engine)
{
    size_t  i;

    if (engine == NULL) {
        return;
    }

    for (i = 0; i < engine->nregexes; i++) {
        cm_regex_free(engine->regexes[i].re);
    }

    cm_prefilter_free(engine);
    cm_automaton_free(engine->words);
    free(engine->word_keys);
    free(engine->regexes);
    free(engine->facts_only);
    free(engine);
}


const cm_rules_t *
cm_engine_rules(const cm_engine_t *engine)
{
    return engine->rules;
}


size_t
cm_engine_windows(const cm_engine_t *engine, const cm_window_t **windows)
{
    if (windows != NULL) {
        *windows = engine->windows;
    }

    return engine->nwindows;
}


size_t
cm_engine_memory(const cm_engine_t *engine)
{
    size_t  i, size;

    size = sizeof(cm_engine_t)
           + cm_automaton_memory(engine->words)
           + cm_prefilter_memory(engine)
           + engine->nword_keys * sizeof(cm_word_key_t)
           + engine->nregexes * sizeof(cm_engine_regex_t)
           + engine->nfacts_only * sizeof(uint32_t);

    for (i = 0; i < engine->nregexes; i++) {
        size += cm_regex_memory(engine->regexes[i].re);
    }

    return size;
}


/* The words of every word rule, for one automaton. */
static int
cm_engine_compile_words(cm_engine_t *engine, cm_automaton_builder_t *b,
    char *err, size_t err_len)
{
    int                   rc;
    size_t                r, akeys;
    const cm_rule_def_t  *rule;

    akeys = 0;

    for (r = 0; r < engine->rules->nrules; r++) {
        rule = &engine->rules->rules[r];

        if (rule->kind != CM_RULE_WORDS) {
            continue;
        }

        if ((rule->views & CM_RULE_VIEW_TEXT) == 0) {
            snprintf(err, err_len, "%s:%u: rule %s: word lists match the "
                     "folded or deleet view", rule->file, rule->line,
                     rule->name);
            return -1;
        }

        engine->word_fields |= rule->fields;

        rc = cm_engine_add_words(engine, (uint32_t) r, b, &akeys, err,
                                 err_len);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


/*
 * A word is normalized like a comment: its compact view is its key in the
 * compact view of a text, its compact deleet view in the compact deleet
 * view (one key for both when they are the same).
 */
static int
cm_engine_add_words(cm_engine_t *engine, uint32_t r,
    cm_automaton_builder_t *b, size_t *akeys, char *err, size_t err_len)
{
    int                   rc;
    size_t                i;
    cm_text_t             t;
    cm_alloc_t            a;
    cm_arena_t           *arena;
    cm_norm_rc_e          nrc;
    cm_word_key_t         wk;
    const char           *file;
    const cm_word_t      *w;
    const cm_view_t      *c, *d;
    const cm_rule_def_t  *rule;

    rule = &engine->rules->rules[r];

    arena = cm_arena_create();
    if (arena == NULL) {
        return CM_ENGINE_NOMEM;
    }

    a = cm_arena_allocator(arena);
    rc = 0;

    for (i = 0; i < rule->nwords && rc == 0; i++) {
        w = &rule->words[i];
        file = w->file ? w->file : rule->file;     /* a words-file, or not */

        nrc = cm_normalize(w->text, w->len, &a, &t, NULL);

        if (nrc == CM_NORM_NO_MEMORY) {
            rc = CM_ENGINE_NOMEM;
            break;
        }

        if (nrc == CM_NORM_INVALID_UTF8) {
            snprintf(err, err_len, "%s:%u: word \"%.*s\" is not valid UTF-8",
                     file, w->line, (int) w->len, w->text);
            rc = -1;
            break;
        }

        c = &t.view[CM_VIEW_COMPACT];
        d = &t.view[CM_VIEW_COMPACT_DELEET];

        if (c->len == 0) {
            snprintf(err, err_len, "%s:%u: word \"%.*s\" has no letters or "
                     "digits", file, w->line, (int) w->len, w->text);
            rc = -1;
            break;
        }

        wk.rule = r;
        wk.prefix = w->prefix;
        wk.suffix = w->suffix;

        if ((rule->views & CM_RULE_VIEW_TEXT) == CM_RULE_VIEW_TEXT
            && c->len == d->len && memcmp(c->text, d->text, c->len) == 0)
        {
            wk.views = CM_RULE_VIEW_TEXT;
            rc = cm_engine_add_key(engine, b, akeys, c, &wk);

        } else {
            wk.views = CM_RULE_VIEW_FOLDED;
            if (rule->views & CM_RULE_VIEW_FOLDED) {
                rc = cm_engine_add_key(engine, b, akeys, c, &wk);
            }

            wk.views = CM_RULE_VIEW_DELEET;
            if (rc == 0 && (rule->views & CM_RULE_VIEW_DELEET)) {
                rc = cm_engine_add_key(engine, b, akeys, d, &wk);
            }
        }
    }

    cm_arena_destroy(arena);

    return rc;
}


static int
cm_engine_add_key(cm_engine_t *engine, cm_automaton_builder_t *b,
    size_t *akeys, const cm_view_t *key, cm_word_key_t *wk)
{
    cm_word_key_t  *keys;

    if (key->len == 0) {
        return 0;
    }

    keys = cm_engine_grow(engine->word_keys, akeys, engine->nword_keys + 1,
                          sizeof(cm_word_key_t));
    if (keys == NULL) {
        return CM_ENGINE_NOMEM;
    }

    engine->word_keys = keys;

    if (cm_automaton_add(b, key->text, key->len,
                         (uint32_t) engine->nword_keys)
        != 0)
    {
        return CM_ENGINE_NOMEM;
    }

    keys[engine->nword_keys++] = *wk;

    return 0;
}


/* Every regex, and the literals that prefilter them for one automaton. */
static int
cm_engine_compile_regexes(cm_engine_t *engine, char *err, size_t err_len)
{
    size_t                r, n, off;
    cm_regex_t           *re;
    cm_engine_regex_t    *er;
    const cm_rule_def_t  *rule;
    char                  msg[256];

    n = 0;
    for (r = 0; r < engine->rules->nrules; r++) {
        n += (engine->rules->rules[r].kind == CM_RULE_REGEX);
    }

    engine->regexes = calloc(n ? n : 1, sizeof(cm_engine_regex_t));
    if (engine->regexes == NULL) {
        return CM_ENGINE_NOMEM;
    }

    for (r = 0; r < engine->rules->nrules; r++) {
        rule = &engine->rules->rules[r];

        if (rule->kind != CM_RULE_REGEX) {
            continue;
        }

        re = cm_regex_compile(rule->regex, strlen(rule->regex), msg,
                              sizeof(msg), &off);
        if (re == NULL) {
            snprintf(err, err_len, "%s:%u: rule %s: regex error at offset "
                     "%zu: %s", rule->file, rule->regex_line, rule->name, off,
                     msg);
            return -1;
        }

        er = &engine->regexes[engine->nregexes++];
        er->re = re;
        er->rule = (uint32_t) r;
        er->fields = rule->fields;
        er->views = rule->views;

        for (n = 0; n < CM_FIELD_N; n++) {
            if (rule->fields & CM_FIELD_BIT(n)) {
                engine->regex_views[n] |= rule->views;
            }
        }
    }

    return 0;
}


/*
 * The distinct windows of the rules' limits, in rule order, and the rules
 * that look at nothing but facts.
 */
static int
cm_engine_compile_facts(cm_engine_t *engine, char *err, size_t err_len)
{
    size_t                r, n, w;
    const cm_rule_def_t  *rule;

    n = engine->rules->nrules;

    engine->facts_only = calloc(n ? n : 1, sizeof(uint32_t));
    if (engine->facts_only == NULL) {
        return CM_ENGINE_NOMEM;
    }

    for (r = 0; r < n; r++) {
        rule = &engine->rules->rules[r];

        if (rule->kind == CM_RULE_FACTS) {
            engine->facts_only[engine->nfacts_only++] = (uint32_t) r;
        }

        if (rule->limit_max == 0) {
            continue;
        }

        w = cm_window_find(engine->windows, engine->nwindows, rule);

        if (w < engine->nwindows) {
            continue;
        }

        if (engine->nwindows == CM_ENGINE_MAX_WINDOWS) {
            snprintf(err, err_len, "%s:%u: too many different limit windows "
                     "(max %d)", rule->file, rule->line,
                     CM_ENGINE_MAX_WINDOWS);
            return -1;
        }

        engine->windows[engine->nwindows].ident = rule->limit_ident;
        engine->windows[engine->nwindows].ms = rule->limit_ms;
        engine->nwindows++;
    }

    return 0;
}


/* realloc to hold "need" elements, doubling; NULL when out of memory */
void *
cm_engine_grow(void *p, size_t *n, size_t need, size_t size)
{
    size_t  cap;

    if (need <= *n) {
        return p;
    }

    cap = *n ? *n * 2 : 64;

    p = realloc(p, cap * size);
    if (p != NULL) {
        *n = cap;
    }

    return p;
}


cm_engine_rc_e
cm_engine_match(const cm_engine_t *engine, const cm_input_t *in,
    const cm_alloc_t *a, cm_result_t *res, cm_field_e *bad_field)
{
    cm_engine_rc_e  rc;

    rc = cm_engine_normalize(engine, in, a, res, bad_field);
    if (rc != CM_ENGINE_OK) {
        return rc;
    }

    /* for the thresholds of stricter articles and sections, when deciding */
    res->article = in->value[CM_FIELD_ARTICLE];
    res->article_len = in->len[CM_FIELD_ARTICLE];
    res->section = in->value[CM_FIELD_SECTION];
    res->section_len = in->len[CM_FIELD_SECTION];

    return cm_engine_scan(engine, a, res);
}


cm_engine_rc_e
cm_engine_scan(const cm_engine_t *engine, const cm_alloc_t *a,
    cm_result_t *res)
{
    size_t          f;
    cm_scan_t       sc;

    /* what an earlier scan of the same texts found */
    res->hits = NULL;
    res->nhits = 0;
    res->spans = NULL;
    res->nspans = 0;
    res->npending = 0;
    res->npending_spans = 0;
    res->limit_rule = NULL;
    res->limit_errors = 0;

    memset(&sc, 0, sizeof(cm_scan_t));
    sc.engine = engine;
    sc.alloc = a;
    sc.res = res;

    sc.scratch = cm_engine_scratch_get(engine);
    if (sc.scratch == NULL) {
        return CM_ENGINE_NO_MEMORY;
    }

    sc.candidates = sc.scratch->candidates;

    for (f = 0; f < CM_FIELD_N; f++) {
        if (!(res->present & CM_FIELD_BIT(f))) {
            continue;
        }

        if (engine->word_fields & CM_FIELD_BIT(f)) {
            cm_engine_scan_words(&sc, f);
        }

        if (engine->regex_views[f]) {
            cm_prefilter_scan(&sc, f);
        }
    }

    if (sc.failed) {
        return CM_ENGINE_NO_MEMORY;
    }

    return cm_engine_collect(&sc);
}


/*
 * Normalizes the fields some rule reads (the text always); other body
 * fields are only checked for valid UTF-8.
 */
cm_engine_rc_e
cm_engine_normalize(const cm_engine_t *engine, const cm_input_t *in,
    const cm_alloc_t *a, cm_result_t *res, cm_field_e *bad_field)
{
    size_t        f;
    cm_norm_rc_e  rc;

    memset(res, 0, sizeof(cm_result_t));
    res->decision = CM_DECISION_ACCEPT;
    res->reason = "";

    for (f = 0; f < CM_FIELD_N; f++) {
        if (in->value[f] == NULL) {
            continue;
        }

        if (engine->fields & CM_FIELD_BIT(f)) {
            rc = cm_normalize(in->value[f], in->len[f], a, &res->text[f],
                              NULL);

            if (rc == CM_NORM_NO_MEMORY) {
                return CM_ENGINE_NO_MEMORY;
            }

            if (rc == CM_NORM_OK) {
                res->present |= CM_FIELD_BIT(f);
                continue;
            }

        } else if (!(CM_BODY_FIELDS & CM_FIELD_BIT(f))
                   || cm_utf8_valid(in->value[f], in->len[f], NULL))
        {
            continue;
        }

        if (bad_field != NULL) {
            *bad_field = f;
        }

        return CM_ENGINE_INVALID_UTF8;
    }

    return CM_ENGINE_OK;
}


/* The word automaton over the field's compact views. */
static void
cm_engine_scan_words(cm_scan_t *sc, cm_field_e f)
{
    int               same;
    size_t            i;
    const cm_view_t  *c, *d;

    sc->field = f;

    /*
     * Without leetspeak the two compact views are the same bytes, flags and
     * sources: one search serves both (each still counts its own spans).
     */
    c = &sc->res->text[f].view[CM_VIEW_COMPACT];
    d = &sc->res->text[f].view[CM_VIEW_COMPACT_DELEET];

    same = c->len == d->len && memcmp(c->text, d->text, c->len) == 0
           && memcmp(c->flags, d->flags, c->len) == 0;

    /* cm_engine_views[0], the raw view, has no compact form */
    for (i = 1; i < CM_ENGINE_NVIEWS; i++) {
        sc->view = &sc->res->text[f].view[cm_engine_views[i].compact];
        sc->view_bit = cm_engine_views[i].bit;

        if (same) {
            if (sc->view_bit == CM_RULE_VIEW_DELEET) {
                break;
            }

            sc->view_bit |= CM_RULE_VIEW_DELEET;
        }

        if (sc->view->len == 0) {
            continue;
        }

        sc->gen = cm_engine_next_gen(sc->scratch);
        (void) cm_automaton_search(sc->engine->words, sc->view->text,
                                   sc->view->len, cm_engine_word_found, sc);
    }
}


static int
cm_engine_word_found(void *data, uint32_t id, size_t start, size_t end)
{
    int                   add;
    unsigned              bits;
    uint32_t             *mark;
    cm_scan_t            *sc = data;
    const uint8_t        *flags;
    const cm_word_key_t  *wk;

    wk = &sc->engine->word_keys[id];
    flags = sc->view->flags;
    bits = wk->views & sc->view_bit;

    /*
     * A key only carries the views its rule reads; whole words at the ends
     * of the key, inside it any boundaries.  Most hits (a key inside a
     * longer word) end here, before the rule is looked at.
     */
    if (bits == 0
        || (!wk->suffix && !(flags[start] & CM_WORD_START))
        || (!wk->prefix && !(flags[end - 1] & CM_WORD_END))
        || !(sc->engine->rules->rules[wk->rule].fields
             & CM_FIELD_BIT(sc->field)))
    {
        return 0;
    }

    /* spans per view: the folded view's count in bits 0-7, deleet's 8-15 */
    mark = &sc->scratch->rule_mark[wk->rule];

    if ((*mark >> CM_ENGINE_GEN_SHIFT) != sc->gen) {
        *mark = sc->gen << CM_ENGINE_GEN_SHIFT;
    }

    add = 0;

    if ((bits & CM_RULE_VIEW_FOLDED)
        && (*mark & 0xff) < CM_ENGINE_MAX_SPANS)
    {
        *mark += 1;
        add = 1;
    }

    if ((bits & CM_RULE_VIEW_DELEET)
        && ((*mark >> 8) & 0xff) < CM_ENGINE_MAX_SPANS)
    {
        *mark += 1 << 8;
        add = 1;
    }

    if (add) {
        cm_engine_add_match(sc, wk->rule, start, end);
    }

    return sc->failed;
}


/* Every match of one regex in the current view, up to the span cap. */
void
cm_engine_run_regex(cm_scan_t *sc, uint32_t rule, const cm_regex_t *re)
{
    size_t          n, off, start, end;
    cm_regex_rc_e   rc;
    cm_result_t    *res;

    res = sc->res;
    off = 0;

    for (n = 0; n < CM_ENGINE_MAX_SPANS; n++) {
        rc = cm_regex_exec(re, sc->view->text, sc->view->len, off, &start,
                           &end);

        if (rc == CM_REGEX_NOMATCH) {
            return;
        }

        if (rc != CM_REGEX_MATCH) {
            /* a limit, or pcre2 failing: the rule cannot be trusted */
            if (sc->limited == NULL) {
                sc->limited = cm_alloc(sc->alloc, sc->engine->nregexes
                                                  * sizeof(uint32_t));
                if (sc->limited == NULL) {
                    sc->failed = 1;
                    return;
                }
            }

            sc->limited[sc->nlimited++] = rule;
            res->limit_errors++;
            if (res->limit_rule == NULL) {
                res->limit_rule = &sc->engine->rules->rules[rule];
            }
            return;
        }

        cm_engine_add_match(sc, rule, start, end);

        if (sc->failed) {
            return;
        }

        off = end;

        if (start == end) {
            /* an empty match: go on after the next character */
            if (off == sc->view->len) {
                return;
            }

            do {
                off++;
            } while (off < sc->view->len
                     && (sc->view->text[off] & 0xc0) == 0x80);
        }
    }
}


/* 1 if the current view holds a byte >= 0x80, found out on first use */
int
cm_engine_view_non_ascii(cm_scan_t *sc)
{
    size_t                i;
    uint64_t              w, any;
    const unsigned char  *p;

    if (sc->non_ascii_gen == sc->gen) {
        return sc->non_ascii;
    }

    p = (const unsigned char *) sc->view->text;
    any = 0;

    for (i = 0; i + 8 <= sc->view->len; i += 8) {
        memcpy(&w, p + i, 8);
        any |= w;
    }

    for ( /* void */ ; i < sc->view->len; i++) {
        any |= p[i];
    }

    sc->non_ascii = (any & 0x8080808080808080ull) != 0;
    sc->non_ascii_gen = sc->gen;

    return sc->non_ascii;
}


/* Records a match of the current view as its raw span. */
static void
cm_engine_add_match(cm_scan_t *sc, uint32_t rule, size_t start, size_t end)
{
    size_t       rs, re, cap;
    cm_match_t  *m;

    if (sc->nmatches == sc->amatches) {
        cap = sc->amatches ? sc->amatches * 2 : 32;

        m = cm_alloc(sc->alloc, cap * sizeof(cm_match_t));
        if (m == NULL) {
            sc->failed = 1;
            return;
        }

        if (sc->nmatches) {
            memcpy(m, sc->matches, sc->nmatches * sizeof(cm_match_t));
        }

        sc->matches = m;
        sc->amatches = cap;
    }

    if (start == end) {
        rs = (start < sc->view->len)
             ? sc->view->src_start[start]
             : (start ? sc->view->src_end[start - 1] : 0);
        re = rs;

    } else {
        cm_view_span_to_raw(sc->view, start, end, &rs, &re);
    }

    m = &sc->matches[sc->nmatches++];
    m->rule = rule;
    m->field = sc->field;
    m->start = (uint32_t) rs;
    m->end = (uint32_t) re;
}


/*
 * The matches sorted by rule and span, duplicates dropped: a rule with
 * enough of them fires (unless a limit made it unreliable), and its spans
 * go into the result.  A rule with "when" or "limit" waits after the others
 * for decide, with the rules that look at nothing but facts.
 */
static cm_engine_rc_e
cm_engine_collect(cm_scan_t *sc)
{
    size_t                i, j, k, n, nhits, nspans, npending, npending_spans;
    cm_hit_t             *hit, *pending;
    cm_span_t            *span, *pending_span, **to;
    cm_match_t           *m;
    cm_result_t          *res;
    const cm_engine_t    *engine;
    const cm_rule_def_t  *rule;

    res = sc->res;
    engine = sc->engine;
    m = sc->matches;
    n = 0;

    if (sc->nmatches > 0) {
        qsort(m, sc->nmatches, sizeof(cm_match_t), cm_match_cmp);

        for (i = 0; i < sc->nmatches; i++) {
            if (n == 0 || cm_match_cmp(&m[n - 1], &m[i]) != 0) {
                m[n++] = m[i];
            }
        }
    }

    nhits = 0;
    nspans = 0;
    npending = engine->nfacts_only;
    npending_spans = 0;

    for (i = 0; i < n; i = j) {
        j = cm_engine_rule_end(m, n, i);

        if (!cm_engine_fires(sc, m[i].rule, j - i)) {
            continue;
        }

        if (cm_rule_has_facts(&engine->rules->rules[m[i].rule])) {
            npending++;
            npending_spans += j - i;

        } else {
            nhits++;
            nspans += j - i;
        }
    }

    if (nhits + npending == 0) {
        return CM_ENGINE_OK;
    }

    res->hits = cm_alloc(sc->alloc, (nhits + npending) * sizeof(cm_hit_t));
    res->spans = cm_alloc(sc->alloc,
                          (nspans + npending_spans + 1) * sizeof(cm_span_t));

    if (res->hits == NULL || res->spans == NULL) {
        return CM_ENGINE_NO_MEMORY;
    }

    hit = res->hits;
    pending = res->hits + nhits;
    span = res->spans;
    pending_span = res->spans + nspans;

    for (i = 0; i < n; i = j) {
        j = cm_engine_rule_end(m, n, i);

        if (!cm_engine_fires(sc, m[i].rule, j - i)) {
            continue;
        }

        rule = &engine->rules->rules[m[i].rule];

        if (cm_rule_has_facts(rule)) {
            cm_engine_hit(engine, pending++, m[i].rule, j - i);
            to = &pending_span;

        } else {
            cm_engine_hit(engine, hit++, m[i].rule, j - i);
            to = &span;
        }

        for ( ; i < j; i++) {
            (*to)->rule = rule;
            (*to)->field = m[i].field;
            (*to)->start = m[i].start;
            (*to)->end = m[i].end;
            (*to)++;
        }
    }

    for (k = 0; k < engine->nfacts_only; k++) {
        cm_engine_hit(engine, pending++, engine->facts_only[k], 0);
    }

    res->nhits = nhits;
    res->nspans = nspans;
    res->npending = npending;
    res->npending_spans = npending_spans;

    qsort(res->spans, nspans, sizeof(cm_span_t), cm_span_cmp);

    return CM_ENGINE_OK;
}


static void
cm_engine_hit(const cm_engine_t *engine, cm_hit_t *hit, uint32_t r,
    size_t count)
{
    const cm_rule_def_t  *rule;

    rule = &engine->rules->rules[r];
    hit->rule = rule;
    hit->count = (unsigned) count;
    hit->contribution = (rule->action == CM_ACTION_SCORE
                         && !cm_rule_silent(rule))
                        ? rule->score : 0;
}


/* A rule fires with enough matches, unless a limit made it unreliable. */
static int
cm_engine_fires(const cm_scan_t *sc, uint32_t r, size_t count)
{
    unsigned  min;

    min = sc->engine->rules->rules[r].min_count;

    return !cm_engine_is_limited(sc, r) && count >= (min ? min : 1);
}


/* a regex limit made rule r unreliable (rare: the list is short) */
int
cm_engine_is_limited(const cm_scan_t *sc, uint32_t r)
{
    size_t  i;

    for (i = 0; i < sc->nlimited; i++) {
        if (sc->limited[i] == r) {
            return 1;
        }
    }

    return 0;
}


/* The calling thread's marks, with room for the engine's rules and regexes. */
static cm_engine_scratch_t *
cm_engine_scratch_get(const cm_engine_t *engine)
{
    size_t                nrules, nregexes, nliterals;
    cm_engine_scratch_t  *s;

    s = &cm_engine_scratch;
    nrules = engine->rules->nrules + 1;
    nregexes = engine->nregexes + 1;
    nliterals = engine->nliterals + 1;

    if (s->nrules >= nrules && s->nregexes >= nregexes
        && s->nliterals >= nliterals)
    {
        return s;
    }

    nrules = nrules > s->nrules ? nrules : s->nrules;
    nregexes = nregexes > s->nregexes ? nregexes : s->nregexes;
    nliterals = nliterals > s->nliterals ? nliterals : s->nliterals;

    cm_engine_thread_cleanup();

    s->rule_mark = calloc(nrules, sizeof(uint32_t));
    s->regex_mark = calloc(nregexes, sizeof(uint32_t));
    s->candidates = calloc(nregexes, sizeof(uint32_t));
    s->literal_mark = calloc(nliterals, sizeof(uint32_t));

    if (s->rule_mark == NULL || s->regex_mark == NULL
        || s->candidates == NULL || s->literal_mark == NULL)
    {
        cm_engine_thread_cleanup();
        return NULL;
    }

    s->nrules = nrules;
    s->nregexes = nregexes;
    s->nliterals = nliterals;

    return s;
}


/* a generation no mark carries yet */
uint32_t
cm_engine_next_gen(cm_engine_scratch_t *s)
{
    if (++s->gen > CM_ENGINE_GEN_MAX) {
        memset(s->rule_mark, 0, s->nrules * sizeof(uint32_t));
        memset(s->regex_mark, 0, s->nregexes * sizeof(uint32_t));
        memset(s->literal_mark, 0, s->nliterals * sizeof(uint32_t));
        s->gen = 1;
    }

    return s->gen;
}


void
cm_engine_thread_cleanup(void)
{
    cm_engine_scratch_t  *s;

    s = &cm_engine_scratch;

    free(s->rule_mark);
    free(s->regex_mark);
    free(s->candidates);
    free(s->literal_mark);
    memset(s, 0, sizeof(cm_engine_scratch_t));
}


/* the end of the matches of m[i]'s rule */
static size_t
cm_engine_rule_end(const cm_match_t *m, size_t n, size_t i)
{
    size_t  j;

    for (j = i; j < n && m[j].rule == m[i].rule; j++) {
        /* void */
    }

    return j;
}


static int
cm_match_cmp(const void *a, const void *b)
{
    const cm_match_t  *x = a, *y = b;

    if (x->rule != y->rule) {
        return x->rule < y->rule ? -1 : 1;
    }

    if (x->field != y->field) {
        return x->field < y->field ? -1 : 1;
    }

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }

    return (x->end > y->end) - (x->end < y->end);
}


/* by field, then position, then rule (the rules sit in one array) */
int
cm_span_cmp(const void *a, const void *b)
{
    const cm_span_t  *x = a, *y = b;

    if (x->field != y->field) {
        return x->field < y->field ? -1 : 1;
    }

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }

    if (x->end != y->end) {
        return x->end < y->end ? -1 : 1;
    }

    return (x->rule > y->rule) - (x->rule < y->rule);
}
