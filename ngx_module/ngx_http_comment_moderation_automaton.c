/*
 * Aho-Corasick automaton: a trie of the patterns whose missing edges are
 * filled with the failure function at build time (a DFA), stored as one
 * dense table of rows, one row per state, one column per byte class.
 *
 * A table entry is the next state's row offset shifted left by one, with
 * the low bit set when that state ends some pattern: the search loop is a
 * shift, an add and a load per byte, and only states that report are
 * turned back into state numbers.
 */

#include <stdlib.h>
#include <string.h>

#include "ngx_http_comment_moderation_automaton.h"


typedef struct {
    size_t           offset;    /* in the builder's bytes */
    uint32_t         len;
    uint32_t         id;
} cm_ac_pattern_t;


struct cm_automaton_builder_s {
    unsigned         flags;
    unsigned char   *bytes;
    size_t           nbytes;
    size_t           abytes;
    cm_ac_pattern_t *patterns;
    size_t           npatterns;
    size_t           apatterns;
};


typedef struct {
    uint32_t         id;
    uint32_t         len;
} cm_ac_output_t;


struct cm_automaton_s {
    uint16_t         cls[256];  /* byte -> class (column) */
    uint32_t         nclasses;
    uint32_t         row_shift;     /* a row offset, an exact multiple of */
    uint32_t         row_inverse;   /* nclasses, to its state: shifted by
                                       nclasses' factors of two, times the
                                       inverse of the odd rest mod 2^32 */
    uint32_t         nstates;
    uint32_t        *delta;     /* [nstates * nclasses], see above */
    uint32_t        *out_off;   /* [nstates + 1]: own outputs of a state */
    uint32_t        *match;     /* [nstates]: first state of the suffix
                                   chain with outputs, 0 if none */
    uint32_t        *dict;      /* [nstates]: next such state, 0 ends */
    cm_ac_output_t  *outs;
    size_t           nouts;
};


/* for counting the trie's states: patterns sorted by their bytes */
typedef struct {
    const unsigned char  *p;
    uint32_t              len;
} cm_ac_key_t;


static int cm_ac_report(const cm_automaton_t *ac, uint32_t e, size_t end,
    cm_automaton_match_pt match, void *data)
#if defined(__GNUC__)
    __attribute__((noinline))
#endif
    ;
static int cm_ac_key_cmp(const void *a, const void *b);
static size_t cm_ac_count_states(const cm_automaton_builder_t *b);
static void cm_ac_classes(cm_automaton_t *ac, const cm_automaton_builder_t *b);
static int cm_ac_trie(cm_automaton_t *ac, const cm_automaton_builder_t *b);
static int cm_ac_links(cm_automaton_t *ac);
static int cm_ac_renumber(cm_automaton_t *ac, const uint32_t *order);


cm_automaton_builder_t *
cm_automaton_builder_create(unsigned flags)
{
    cm_automaton_builder_t  *b;

    b = calloc(1, sizeof(cm_automaton_builder_t));
    if (b == NULL) {
        return NULL;
    }

    b->flags = flags;

    return b;
}


void
cm_automaton_builder_free(cm_automaton_builder_t *b)
{
    if (b == NULL) {
        return;
    }

    free(b->bytes);
    free(b->patterns);
    free(b);
}


int
cm_automaton_add(cm_automaton_builder_t *b, const char *pattern, size_t len,
    uint32_t id)
{
    void             *mem;
    size_t            i, n;
    unsigned char     c;
    cm_ac_pattern_t  *p;

    if (len == 0 || len > UINT32_MAX) {
        return -1;
    }

    if (b->nbytes + len > b->abytes) {
        n = b->abytes ? b->abytes * 2 : 1024;
        while (n < b->nbytes + len) {
            n *= 2;
        }

        mem = realloc(b->bytes, n);
        if (mem == NULL) {
            return -1;
        }

        b->bytes = mem;
        b->abytes = n;
    }

    if (b->npatterns == b->apatterns) {
        n = b->apatterns ? b->apatterns * 2 : 64;

        mem = realloc(b->patterns, n * sizeof(cm_ac_pattern_t));
        if (mem == NULL) {
            return -1;
        }

        b->patterns = mem;
        b->apatterns = n;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) pattern[i];

        if ((b->flags & CM_AUTOMATON_CASELESS) && c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        b->bytes[b->nbytes + i] = c;
    }

    p = &b->patterns[b->npatterns++];
    p->offset = b->nbytes;
    p->len = (uint32_t) len;
    p->id = id;

    b->nbytes += len;

    return 0;
}


cm_automaton_t *
cm_automaton_build(const cm_automaton_builder_t *b)
{
    size_t           nstates;
    cm_automaton_t  *ac;

    nstates = cm_ac_count_states(b);
    if (nstates == 0) {
        return NULL;
    }

    ac = calloc(1, sizeof(cm_automaton_t));
    if (ac == NULL) {
        return NULL;
    }

    cm_ac_classes(ac, b);

    /* entries hold row offsets shifted left by one: they must fit */
    if (nstates > (UINT32_MAX >> 1) / ac->nclasses) {
        free(ac);
        return NULL;
    }

    ac->nstates = (uint32_t) nstates;
    ac->nouts = b->npatterns;

    ac->delta = calloc(nstates * ac->nclasses, sizeof(uint32_t));
    ac->out_off = calloc(nstates + 1, sizeof(uint32_t));
    ac->match = calloc(nstates, sizeof(uint32_t));
    ac->dict = calloc(nstates, sizeof(uint32_t));
    ac->outs = calloc(b->npatterns ? b->npatterns : 1,
                      sizeof(cm_ac_output_t));

    if (ac->delta == NULL || ac->out_off == NULL || ac->match == NULL
        || ac->dict == NULL || ac->outs == NULL
        || cm_ac_trie(ac, b) != 0
        || cm_ac_links(ac) != 0)
    {
        cm_automaton_free(ac);
        return NULL;
    }

    return ac;
}


void
cm_automaton_free(cm_automaton_t *ac)
{
    if (ac == NULL) {
        return;
    }

    free(ac->delta);
    free(ac->out_off);
    free(ac->match);
    free(ac->dict);
    free(ac->outs);
    free(ac);
}


size_t
cm_automaton_memory(const cm_automaton_t *ac)
{
    return sizeof(cm_automaton_t)
           + (size_t) ac->nstates * ac->nclasses * sizeof(uint32_t)
           + ((size_t) ac->nstates * 3 + 1) * sizeof(uint32_t)
           + ac->nouts * sizeof(cm_ac_output_t);
}


size_t
cm_automaton_states(const cm_automaton_t *ac)
{
    return ac->nstates;
}


int
cm_automaton_search(const cm_automaton_t *ac, const char *text, size_t len,
    cm_automaton_match_pt match, void *data)
{
    int                   rc;
    size_t                i;
    uint32_t              e;
    const uint16_t       *cls;
    const uint32_t       *delta;
    const unsigned char  *p;

    p = (const unsigned char *) text;
    cls = ac->cls;
    delta = ac->delta;
    e = 0;
    i = 0;

    while (i < len) {
        /*
         * The hot loop: one dependent load per byte, nothing else, so the
         * state stays in a register; reporting is out of line.
         */
        do {
            e = delta[(e >> 1) + cls[p[i++]]];
        } while (!(e & 1) && i < len);

        if (!(e & 1)) {
            break;
        }

        rc = cm_ac_report(ac, e, i, match, data);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


/* Every pattern that ends at "end" in the state that entry e leads to. */
static int
cm_ac_report(const cm_automaton_t *ac, uint32_t e, size_t end,
    cm_automaton_match_pt match, void *data)
{
    int       rc;
    uint32_t  s, k;

    for (s = ac->match[((e >> 1) >> ac->row_shift) * ac->row_inverse];
         s;
         s = ac->dict[s])
    {
        for (k = ac->out_off[s]; k < ac->out_off[s + 1]; k++) {
            rc = match(data, ac->outs[k].id, end - ac->outs[k].len, end);
            if (rc != 0) {
                return rc;
            }
        }
    }

    return 0;
}


static int
cm_ac_key_cmp(const void *a, const void *b)
{
    int                 rc;
    const cm_ac_key_t  *x = a, *y = b;

    rc = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    if (rc != 0) {
        return rc;
    }

    return (x->len > y->len) - (x->len < y->len);
}


/*
 * The trie has one state per distinct prefix: in sorted order, each pattern
 * adds the bytes it does not share with the one before.  Counting first
 * lets the table be allocated once at its final size.  0 on failure.
 */
static size_t
cm_ac_count_states(const cm_automaton_builder_t *b)
{
    size_t        i, n, common;
    cm_ac_key_t  *keys;

    keys = malloc((b->npatterns ? b->npatterns : 1) * sizeof(cm_ac_key_t));
    if (keys == NULL) {
        return 0;
    }

    for (i = 0; i < b->npatterns; i++) {
        keys[i].p = b->bytes + b->patterns[i].offset;
        keys[i].len = b->patterns[i].len;
    }

    qsort(keys, b->npatterns, sizeof(cm_ac_key_t), cm_ac_key_cmp);

    n = 1;

    for (i = 0; i < b->npatterns; i++) {
        common = 0;

        if (i > 0) {
            while (common < keys[i].len && common < keys[i - 1].len
                   && keys[i].p[common] == keys[i - 1].p[common])
            {
                common++;
            }
        }

        n += keys[i].len - common;
    }

    free(keys);

    return n;
}


/*
 * Every byte that occurs in a pattern gets a class of its own; all other
 * bytes share class 0, whose column always leads back to the root.
 */
static void
cm_ac_classes(cm_automaton_t *ac, const cm_automaton_builder_t *b)
{
    size_t    i;
    unsigned  c, n;
    uint8_t   used[256];

    memset(used, 0, sizeof(used));

    for (i = 0; i < b->nbytes; i++) {
        used[b->bytes[i]] = 1;
    }

    n = 1;

    for (c = 0; c < 256; c++) {
        ac->cls[c] = used[c] ? n++ : 0;
    }

    if (b->flags & CM_AUTOMATON_CASELESS) {
        for (c = 'A'; c <= 'Z'; c++) {
            ac->cls[c] = ac->cls[c | 0x20];
        }
    }

    ac->nclasses = n;

    /* dividing by n without a division: see row_shift */
    for (ac->row_shift = 0; !(n & 1); ac->row_shift++) {
        n >>= 1;
    }

    /* Newton's iteration doubles the correct low bits: 3, 6, 12, 24, 48 */
    ac->row_inverse = n;

    for (c = 0; c < 4; c++) {
        ac->row_inverse *= 2 - n * ac->row_inverse;
    }
}


/* The trie (with plain state numbers in delta) and each state's outputs. */
static int
cm_ac_trie(cm_automaton_t *ac, const cm_automaton_builder_t *b)
{
    size_t                  i, j, at;
    uint32_t                s, next, *term, *fill;
    const unsigned char    *p;
    const cm_ac_pattern_t  *pat;

    term = malloc((b->npatterns ? b->npatterns : 1) * sizeof(uint32_t));
    fill = calloc(ac->nstates + 1, sizeof(uint32_t));

    if (term == NULL || fill == NULL) {
        free(term);
        free(fill);
        return -1;
    }

    next = 1;

    for (i = 0; i < b->npatterns; i++) {
        pat = &b->patterns[i];
        p = b->bytes + pat->offset;
        s = 0;

        for (j = 0; j < pat->len; j++) {
            at = (size_t) s * ac->nclasses + ac->cls[p[j]];

            if (ac->delta[at] == 0) {
                ac->delta[at] = next++;
            }

            s = ac->delta[at];
        }

        term[i] = s;
        ac->out_off[s + 1]++;
    }

    for (s = 0; s < ac->nstates; s++) {
        ac->out_off[s + 1] += ac->out_off[s];
        fill[s] = ac->out_off[s];
    }

    /* outputs of a state in the order their patterns were added */
    for (i = 0; i < b->npatterns; i++) {
        ac->outs[fill[term[i]]].id = b->patterns[i].id;
        ac->outs[fill[term[i]]].len = b->patterns[i].len;
        fill[term[i]]++;
    }

    free(term);
    free(fill);

    return 0;
}


/*
 * Breadth first, so a state's failure state (shallower) is complete when
 * the state is reached: a missing edge takes the failure state's edge, a
 * trie edge's target fails to where the failure state's edge leads.  Then
 * every entry becomes a tagged row offset.
 */
static int
cm_ac_links(cm_automaton_t *ac)
{
    size_t     head, tail, i, n;
    uint32_t   s, t, c, f, C, *fail, *queue;
    uint32_t  *row, *frow;

    C = ac->nclasses;
    fail = calloc(ac->nstates, sizeof(uint32_t));
    queue = malloc(ac->nstates * sizeof(uint32_t));

    if (fail == NULL || queue == NULL) {
        free(fail);
        free(queue);
        return -1;
    }

    head = 0;
    tail = 0;
    queue[tail++] = 0;

    while (head < tail) {
        s = queue[head++];
        row = &ac->delta[(size_t) s * C];
        frow = &ac->delta[(size_t) fail[s] * C];

        for (c = 0; c < C; c++) {
            t = row[c];

            if (t == 0) {
                row[c] = (s == 0) ? 0 : frow[c];
                continue;
            }

            f = (s == 0) ? 0 : frow[c];
            fail[t] = f;
            ac->dict[t] = ac->match[f];
            ac->match[t] = (ac->out_off[t] != ac->out_off[t + 1])
                           ? t : ac->dict[t];
            queue[tail++] = t;
        }
    }

    free(fail);

    if (cm_ac_renumber(ac, queue) != 0) {
        free(queue);
        return -1;
    }

    free(queue);

    n = (size_t) ac->nstates * C;

    for (i = 0; i < n; i++) {
        t = ac->delta[i];
        ac->delta[i] = ((t * C) << 1) | (ac->match[t] != 0);
    }

    return 0;
}


/*
 * States renumbered in breadth-first order ("order"): a search spends most
 * of its time in the few shallow states, whose rows then share the first
 * part of the table instead of being spread over all of it.
 */
static int
cm_ac_renumber(cm_automaton_t *ac, const uint32_t *order)
{
    size_t           i, c, C, n;
    uint32_t         old, *perm, *delta, *out_off, *match, *dict;
    cm_ac_output_t  *outs;

    C = ac->nclasses;
    n = ac->nstates;

    perm = malloc(n * sizeof(uint32_t));
    delta = malloc(n * C * sizeof(uint32_t));
    out_off = calloc(n + 1, sizeof(uint32_t));
    match = malloc(n * sizeof(uint32_t));
    dict = malloc(n * sizeof(uint32_t));
    outs = malloc((ac->nouts ? ac->nouts : 1) * sizeof(cm_ac_output_t));

    if (perm == NULL || delta == NULL || out_off == NULL || match == NULL
        || dict == NULL || outs == NULL)
    {
        free(perm);
        free(delta);
        free(out_off);
        free(match);
        free(dict);
        free(outs);
        return -1;
    }

    for (i = 0; i < n; i++) {
        perm[order[i]] = (uint32_t) i;
    }

    /* the root stays 0, so 0 still means "none" in match and dict */
    for (i = 0; i < n; i++) {
        old = order[i];

        for (c = 0; c < C; c++) {
            delta[i * C + c] = perm[ac->delta[(size_t) old * C + c]];
        }

        match[i] = perm[ac->match[old]];
        dict[i] = perm[ac->dict[old]];
        out_off[i + 1] = out_off[i] + ac->out_off[old + 1] - ac->out_off[old];

        memcpy(&outs[out_off[i]], &ac->outs[ac->out_off[old]],
               (out_off[i + 1] - out_off[i]) * sizeof(cm_ac_output_t));
    }

    free(perm);
    free(ac->delta);
    free(ac->out_off);
    free(ac->match);
    free(ac->dict);
    free(ac->outs);

    ac->delta = delta;
    ac->out_off = out_off;
    ac->match = match;
    ac->dict = dict;
    ac->outs = outs;

    return 0;
}
