/*
 * profile_merge.c - Profiles of many nodes merged into one (`postprof
 * merge`): every sample of each input is kept, with a `node` label naming
 * where it was recorded, so per-function totals of the result are the sums
 * of the inputs'. Functions (by name and file), mappings and locations
 * identical to ones already merged are shared, not repeated, so the result
 * is no bigger than the distinct code it names. Profiles that count
 * different things are refused before anything is added. Pure memory work;
 * no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "aggregate/profile_impl.h"

/* same value types (names and units) in the same order */
static int same_types(const pp_profile *a, const pp_profile *b)
{
    if (a->nvalues != b->nvalues)
        return 0;
    for (size_t i = 0; i < a->nvalues; i++)
        if (strcmp(a->str[a->vtype[i]], b->str[b->vtype[i]]) != 0 ||
            strcmp(a->str[a->vunit[i]], b->str[b->vunit[i]]) != 0)
            return 0;
    return 1;
}

static void types_text(const pp_profile *p, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < p->nvalues && len < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s/%s", i ? ", " : "", p->str[p->vtype[i]],
                         p->str[p->vunit[i]]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static pp_profile *new_like(const pp_profile *src)
{
    pp_profile *p = pp__profile_new(src->kind);
    if (!p)
        return NULL;
    const char *types[PP__PMAXV], *units[PP__PMAXV];
    for (size_t i = 0; i < src->nvalues; i++) {
        types[i] = src->str[src->vtype[i]];
        units[i] = src->str[src->vunit[i]];
    }
    int rc = pp__profile_set_types(p, src->nvalues, types, units, src->main_value);
    if (rc == PP_OK)
        rc = pp__profile_cstr(p, src->str[src->period_type], &p->period_type);
    if (rc == PP_OK)
        rc = pp__profile_cstr(p, src->str[src->period_unit], &p->period_unit);
    if (rc != PP_OK) {
        pp_profile_free(p);
        return NULL;
    }
    p->period = src->period;
    return p;
}

/* the span of time both cover: earliest start to latest end, when known */
static void merge_time(pp_profile *dst, const pp_profile *src, int first)
{
    if (first) {
        dst->time_ns = src->time_ns;
        dst->duration_ns = src->duration_ns;
        return;
    }
    if (dst->time_ns > 0 && src->time_ns > 0) {
        int64_t end = dst->time_ns + dst->duration_ns, send = src->time_ns + src->duration_ns;
        dst->time_ns = src->time_ns < dst->time_ns ? src->time_ns : dst->time_ns;
        dst->duration_ns = (send > end ? send : end) - dst->time_ns;
    } else if (src->duration_ns > dst->duration_ns) {
        dst->duration_ns = src->duration_ns;
    }
    if (dst->period == 0)
        dst->period = src->period;
}

/* ---- locations already in the merged profile, by content ---- */

typedef struct locindex {
    uint32_t *slot; /* location index + 1, 0 = empty */
    size_t cap;     /* a power of two */
} locindex;

static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t loc_hash(uint64_t address, uint32_t mapping, const pp__pline *lines, size_t n)
{
    uint64_t h = mix(mix(mix(1469598103934665603ull, address), mapping), n);
    for (size_t k = 0; k < n; k++)
        h = mix(mix(h, lines[k].func), (uint64_t)lines[k].line);
    return h;
}

static int loc_equal(const pp_profile *p, uint32_t idx, uint64_t address, uint32_t mapping,
                     const pp__pline *lines, size_t n)
{
    const pp__ploc *l = &p->locs[idx];
    if (l->address != address || l->mapping != mapping || l->nlines != n)
        return 0;
    for (size_t k = 0; k < n; k++) {
        const pp__pline *a = &p->lines[l->first_line + k];
        if (a->func != lines[k].func || a->line != lines[k].line)
            return 0;
    }
    return 1;
}

static uint32_t *loc_find(locindex *x, const pp_profile *p, uint64_t address, uint32_t mapping,
                          const pp__pline *lines, size_t n)
{
    size_t h = loc_hash(address, mapping, lines, n) & (x->cap - 1);
    while (x->slot[h] && !loc_equal(p, x->slot[h] - 1, address, mapping, lines, n))
        h = (h + 1) & (x->cap - 1);
    return &x->slot[h];
}

/* An index of dst's locations, with room for more of them. */
static int loc_index(locindex *x, const pp_profile *dst, size_t more)
{
    x->cap = 16;
    while (x->cap < 2 * (dst->nlocs + more) + 2)
        x->cap *= 2;
    x->slot = calloc(x->cap, sizeof *x->slot);
    if (!x->slot)
        return PP_ENOMEM;
    for (size_t i = 0; i < dst->nlocs; i++) {
        const pp__ploc *l = &dst->locs[i];
        uint32_t *e =
            loc_find(x, dst, l->address, l->mapping, dst->lines + l->first_line, l->nlines);
        if (!*e)
            *e = (uint32_t)i + 1;
    }
    return PP_OK;
}

/* A mapping of dst identical to m (strings as dst's ids), 1-based; 0 when none. */
static uint32_t map_find(const pp_profile *dst, const pp__pmap *m)
{
    for (size_t i = 0; i < dst->nmaps; i++) {
        const pp__pmap *d = &dst->maps[i];
        if (d->start == m->start && d->limit == m->limit && d->offset == m->offset &&
            d->file == m->file && d->build_id == m->build_id)
            return (uint32_t)i + 1;
    }
    return 0;
}

/* src's functions, mappings, locations and samples added to dst, sharing
 * those dst has already */
static int add_samples(pp_profile *dst, const pp_profile *src, uint32_t node)
{
    uint32_t *fmap = calloc(src->nfuncs + 1, sizeof *fmap);
    uint32_t *mmap_ = calloc(src->nmaps + 1, sizeof *mmap_);
    uint32_t *lmap = calloc(src->nlocs + 1, sizeof *lmap);
    uint32_t *stack = calloc(PP__PROFILE_MAX_FRAMES, sizeof *stack);
    pp__pline *lines = calloc(src->nlines + 1, sizeof *lines);
    locindex lx = {0};
    int rc = fmap && mmap_ && lmap && stack && lines ? PP_OK : PP_ENOMEM;
    if (rc == PP_OK)
        rc = loc_index(&lx, dst, src->nlocs);
    for (size_t i = 0; rc == PP_OK && i < src->nfuncs; i++)
        rc = pp__profile_func(dst, src->str[src->funcs[i].name], src->str[src->funcs[i].file],
                              src->funcs[i].start_line, &fmap[i]);
    for (size_t i = 0; rc == PP_OK && i < src->nmaps; i++) {
        const pp__pmap *m = &src->maps[i];
        pp__pmap nm = {m->start, m->limit, m->offset, 0, 0};
        rc = pp__profile_cstr(dst, src->str[m->file], &nm.file);
        if (rc == PP_OK)
            rc = pp__profile_cstr(dst, src->str[m->build_id], &nm.build_id);
        if (rc == PP_OK && (mmap_[i] = map_find(dst, &nm)) != 0)
            continue;
        if (rc == PP_OK)
            rc = pp__profile_grow((void **)&dst->maps, &dst->capmaps, dst->nmaps, sizeof nm);
        if (rc == PP_OK) {
            dst->maps[dst->nmaps++] = nm;
            mmap_[i] = (uint32_t)dst->nmaps; /* 1-based */
        }
    }
    for (size_t i = 0; rc == PP_OK && i < src->nlocs; i++) {
        const pp__ploc *l = &src->locs[i];
        for (size_t k = 0; k < l->nlines; k++) {
            lines[k] = src->lines[l->first_line + k];
            lines[k].func = fmap[lines[k].func];
        }
        uint32_t mapping = l->mapping && l->mapping <= src->nmaps ? mmap_[l->mapping - 1] : 0;
        uint32_t *e = loc_find(&lx, dst, l->address, mapping, lines, l->nlines);
        if (*e) {
            lmap[i] = *e - 1;
            continue;
        }
        rc = pp__profile_loc(dst, l->address, mapping, lines, l->nlines, &lmap[i]);
        if (rc == PP_OK)
            *e = lmap[i] + 1;
    }
    for (size_t i = 0; rc == PP_OK && i < src->nsamples; i++) {
        const pp__psample *s = &src->samples[i];
        size_t n = s->n < PP__PROFILE_MAX_FRAMES ? s->n : PP__PROFILE_MAX_FRAMES;
        for (size_t k = 0; k < n; k++)
            stack[k] = lmap[src->stack[s->first + k]];
        uint32_t sn = node; /* a merged input keeps the nodes it has */
        if (s->node)
            rc = pp__profile_cstr(dst, src->str[s->node], &sn);
        if (rc == PP_OK)
            rc = pp__profile_sample(dst, stack, n, s->tid, s->v);
        if (rc == PP_OK)
            dst->samples[dst->nsamples - 1].node = sn;
    }
    for (size_t i = 0; rc == PP_OK && i < src->nstats; i++)
        rc = pp__profile_add_stat(dst, src->str[src->stats[i].name], src->stats[i].value);
    free(fmap);
    free(mmap_);
    free(lmap);
    free(stack);
    free(lines);
    free(lx.slot);
    return rc;
}

int pp_profile_merge_add(pp_profile **io, const pp_profile *src, const char *node, char *msg,
                         size_t msg_cap)
{
    char local[8];
    if (!msg || msg_cap == 0) {
        msg = local;
        msg_cap = sizeof local;
    }
    msg[0] = 0;
    if (!io || !src)
        return PP_EINVAL;
    pp_profile *dst = *io;
    if (dst && !same_types(dst, src)) {
        char a[256], b[256];
        types_text(dst, a, sizeof a);
        types_text(src, b, sizeof b);
        snprintf(msg, msg_cap, "it counts %s but the profiles before it count %s", b, a);
        return PP_EINVAL;
    }
    int first = dst == NULL;
    if (first && !(dst = new_like(src)))
        return PP_ENOMEM;
    uint32_t node_id = 0;
    int rc = node && node[0] ? pp__profile_cstr(dst, node, &node_id) : PP_OK;
    if (rc == PP_OK)
        rc = add_samples(dst, src, node_id);
    if (rc != PP_OK) {
        snprintf(msg, msg_cap, "%s",
                 rc == PP_ERANGE ? "the merged profile would be too large" : pp_strerror(rc));
        if (first)
            pp_profile_free(dst);
        return rc;
    }
    merge_time(dst, src, first);
    *io = dst;
    return PP_OK;
}

int64_t pp_profile_node_total(const pp_profile *p, const char *node)
{
    int64_t sum = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const pp__psample *s = &p->samples[i];
        if (node ? s->node && strcmp(p->str[s->node], node) == 0 : s->node == 0)
            sum += s->v[p->main_value];
    }
    return sum;
}

int pp_profile_nodes(const pp_profile *p, const char **out, size_t cap, size_t *out_n)
{
    *out_n = 0;
    unsigned char *seen = calloc(p->nstr + 1, 1);
    if (!seen)
        return PP_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        uint32_t id = p->samples[i].node;
        if (!id || seen[id])
            continue;
        seen[id] = 1;
        if (n < cap)
            out[n] = p->str[id];
        n++;
    }
    free(seen);
    *out_n = n;
    return PP_OK;
}
