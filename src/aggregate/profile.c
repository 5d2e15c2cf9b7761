/*
 * profile.c - The sampled-profile model (see profile_impl.h): interning,
 * bounded growth, deduplicated functions, samples, counters. Pure memory
 * work; no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/file.h>

#include "aggregate/profile_impl.h"

static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *s = data;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int pp__profile_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return PP_OK;
    if (n >= PP__PROFILE_MAX_ITEMS)
        return PP_ERANGE;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap <= n)
        ncap *= 2;
    void *q = realloc(*arr, ncap * sz);
    if (!q)
        return PP_ENOMEM;
    *arr = q;
    *cap = ncap;
    return PP_OK;
}

static int rehash_strings(pp_profile *p)
{
    size_t cap = p->str_index_cap ? p->str_index_cap * 2 : 256;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return PP_ENOMEM;
    for (size_t i = 0; i < p->nstr; i++) {
        size_t h = hash_bytes(p->str[i], strlen(p->str[i]), 0) & (cap - 1);
        while (idx[h])
            h = (h + 1) & (cap - 1);
        idx[h] = (uint32_t)i + 1;
    }
    free(p->str_index);
    p->str_index = idx;
    p->str_index_cap = cap;
    return PP_OK;
}

int pp__profile_str(pp_profile *p, const char *s, size_t len, uint32_t *out)
{
    if ((p->nstr + 1) * 2 >= p->str_index_cap) {
        int rc = rehash_strings(p);
        if (rc)
            return rc;
    }
    size_t h = hash_bytes(s, len, 0) & (p->str_index_cap - 1);
    while (p->str_index[h]) {
        const char *t = p->str[p->str_index[h] - 1];
        if (strlen(t) == len && memcmp(t, s, len) == 0) {
            *out = p->str_index[h] - 1;
            return PP_OK;
        }
        h = (h + 1) & (p->str_index_cap - 1);
    }
    int rc = pp__profile_grow((void **)&p->str, &p->capstr, p->nstr, sizeof *p->str);
    if (rc)
        return rc;
    char *copy = malloc(len + 1);
    if (!copy)
        return PP_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = 0;
    p->str[p->nstr] = copy;
    p->str_index[h] = (uint32_t)p->nstr + 1;
    *out = (uint32_t)p->nstr++;
    return PP_OK;
}

int pp__profile_cstr(pp_profile *p, const char *s, uint32_t *out)
{
    return pp__profile_str(p, s ? s : "", s ? strlen(s) : 0, out);
}

static int rehash_funcs(pp_profile *p)
{
    size_t cap = p->func_index_cap ? p->func_index_cap * 2 : 256;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return PP_ENOMEM;
    for (size_t i = 0; i < p->nfuncs; i++) {
        uint32_t key[2] = {p->funcs[i].name, p->funcs[i].file};
        size_t h = hash_bytes(key, sizeof key, 1) & (cap - 1);
        while (idx[h])
            h = (h + 1) & (cap - 1);
        idx[h] = (uint32_t)i + 1;
    }
    free(p->func_index);
    p->func_index = idx;
    p->func_index_cap = cap;
    return PP_OK;
}

int pp__profile_func(pp_profile *p, const char *name, const char *file, int64_t start_line,
                     uint32_t *out)
{
    uint32_t key[2];
    int rc = pp__profile_cstr(p, name, &key[0]);
    if (rc == PP_OK)
        rc = pp__profile_cstr(p, file, &key[1]);
    if (rc)
        return rc;
    if ((p->nfuncs + 1) * 2 >= p->func_index_cap && (rc = rehash_funcs(p)) != PP_OK)
        return rc;
    size_t h = hash_bytes(key, sizeof key, 1) & (p->func_index_cap - 1);
    while (p->func_index[h]) {
        pp__pfunc *f = &p->funcs[p->func_index[h] - 1];
        if (f->name == key[0] && f->file == key[1]) {
            if (!f->start_line)
                f->start_line = start_line;
            *out = p->func_index[h] - 1;
            return PP_OK;
        }
        h = (h + 1) & (p->func_index_cap - 1);
    }
    rc = pp__profile_grow((void **)&p->funcs, &p->capfuncs, p->nfuncs, sizeof *p->funcs);
    if (rc)
        return rc;
    p->funcs[p->nfuncs] = (pp__pfunc){key[0], key[1], start_line};
    p->func_index[h] = (uint32_t)p->nfuncs + 1;
    *out = (uint32_t)p->nfuncs++;
    return PP_OK;
}

int pp__profile_loc(pp_profile *p, uint64_t address, uint32_t mapping, const pp__pline *lines,
                    size_t n, uint32_t *out)
{
    int rc = pp__profile_grow((void **)&p->locs, &p->caplocs, p->nlocs, sizeof *p->locs);
    if (rc == PP_OK && n)
        rc =
            pp__profile_grow((void **)&p->lines, &p->caplines, p->nlines + n - 1, sizeof *p->lines);
    if (rc)
        return rc;
    if (n)
        memcpy(p->lines + p->nlines, lines, n * sizeof *lines);
    p->locs[p->nlocs] = (pp__ploc){address, mapping, (uint32_t)p->nlines, (uint32_t)n};
    p->nlines += n;
    *out = (uint32_t)p->nlocs++;
    return PP_OK;
}

int pp__profile_sample(pp_profile *p, const uint32_t *locs, size_t n, uint32_t tid,
                       const int64_t *v)
{
    int rc =
        pp__profile_grow((void **)&p->samples, &p->capsamples, p->nsamples, sizeof *p->samples);
    if (rc == PP_OK && n)
        rc =
            pp__profile_grow((void **)&p->stack, &p->capstack, p->nstack + n - 1, sizeof *p->stack);
    if (rc)
        return rc;
    pp__psample *s = &p->samples[p->nsamples];
    memset(s, 0, sizeof *s);
    s->first = (uint32_t)p->nstack;
    s->n = (uint32_t)n;
    s->tid = tid;
    for (size_t i = 0; i < p->nvalues; i++)
        s->v[i] = v[i];
    if (n)
        memcpy(p->stack + p->nstack, locs, n * sizeof *locs);
    p->nstack += n;
    p->nsamples++;
    return PP_OK;
}

static pp__pstat *find_stat(const pp_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nstats; i++)
        if (strcmp(p->str[p->stats[i].name], name) == 0)
            return &p->stats[i];
    return NULL;
}

static int stat_op(pp_profile *p, const char *name, int64_t v, int add)
{
    pp__pstat *s = find_stat(p, name);
    if (s) {
        s->value = add ? s->value + v : v;
        return PP_OK;
    }
    uint32_t id;
    int rc = pp__profile_cstr(p, name, &id);
    if (rc == PP_OK)
        rc = pp__profile_grow((void **)&p->stats, &p->capstats, p->nstats, sizeof *p->stats);
    if (rc)
        return rc;
    p->stats[p->nstats++] = (pp__pstat){id, v};
    return PP_OK;
}

int pp__profile_set_stat(pp_profile *p, const char *name, int64_t v)
{
    return stat_op(p, name, v, 0);
}

int pp__profile_add_stat(pp_profile *p, const char *name, int64_t v)
{
    return stat_op(p, name, v, 1);
}

int pp__profile_set_types(pp_profile *p, size_t n, const char *const *types,
                          const char *const *units, size_t main_value)
{
    if (n == 0 || n > PP__PMAXV || main_value >= n)
        return PP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int rc = pp__profile_cstr(p, types[i], &p->vtype[i]);
        if (rc == PP_OK)
            rc = pp__profile_cstr(p, units[i], &p->vunit[i]);
        if (rc)
            return rc;
    }
    p->nvalues = n;
    p->main_value = main_value;
    return PP_OK;
}

pp_profile *pp__profile_new(pp_profile_kind kind)
{
    pp_profile *p = calloc(1, sizeof *p);
    uint32_t empty;
    if (!p || pp__profile_cstr(p, "", &empty) != PP_OK) {
        pp_profile_free(p);
        return NULL;
    }
    p->kind = kind;
    int rc;
    if (kind == PP_PROFILE_MEM) {
        static const char *const t[] = {"alloc_objects", "alloc_space", "inuse_objects",
                                        "inuse_space"};
        static const char *const u[] = {"count", "bytes", "count", "bytes"};
        rc = pp__profile_set_types(p, 4, t, u, 1);
        if (rc == PP_OK)
            rc = pp__profile_cstr(p, "space", &p->period_type);
        if (rc == PP_OK)
            rc = pp__profile_cstr(p, "bytes", &p->period_unit);
    } else {
        const char *t[] = {"samples", kind == PP_PROFILE_WALL ? "wall" : "cpu"};
        static const char *const u[] = {"count", "nanoseconds"};
        rc = pp__profile_set_types(p, 2, t, u, 0);
        if (rc == PP_OK)
            rc = pp__profile_cstr(p, kind == PP_PROFILE_WALL ? "wall" : "cpu", &p->period_type);
        if (rc == PP_OK)
            rc = pp__profile_cstr(p, "nanoseconds", &p->period_unit);
    }
    if (rc) {
        pp_profile_free(p);
        return NULL;
    }
    return p;
}

void pp_profile_free(pp_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nstr; i++)
        free(p->str[i]);
    free(p->str);
    free(p->str_index);
    free(p->funcs);
    free(p->func_index);
    free(p->locs);
    free(p->lines);
    free(p->maps);
    free(p->samples);
    free(p->stack);
    free(p->series);
    free(p->threads);
    free(p->stats);
    free(p->scopes);
    free(p);
}

pp_profile_kind pp_profile_kind_of(const pp_profile *p)
{
    return p->kind;
}

int64_t pp_profile_stat(const pp_profile *p, const char *name)
{
    pp__pstat *s = find_stat(p, name);
    return s ? s->value : 0;
}

int64_t pp_profile_value_total(const pp_profile *p, size_t i)
{
    int64_t sum = 0;
    if (i >= p->nvalues)
        return 0;
    for (size_t k = 0; k < p->nsamples; k++)
        sum += p->samples[k].v[i];
    return sum;
}

size_t pp_profile_sample_count(const pp_profile *p)
{
    return p->nsamples;
}

const char *pp_profile_value_name(const pp_profile *p)
{
    return p->str[p->vtype[p->main_value]];
}

const char *pp__profile_thread_name(const pp_profile *p, uint32_t tid)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (p->threads[i].tid == tid)
            return p->str[p->threads[i].name];
    return NULL;
}

int pp_profile_format_parse(const char *name)
{
    static const char *const names[] = {"folded", "speedscope", "pprof", "chrome"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

size_t pp__profile_frames(const pp_profile *p, const pp__psample *s, uint32_t *funcs,
                          int64_t *lines, size_t max)
{
    size_t n = 0;
    for (size_t i = s->n; i-- > 0;) {
        const pp__ploc *l = &p->locs[p->stack[s->first + i]];
        for (size_t k = l->nlines; k-- > 0;) {
            if (n == max)
                return n;
            funcs[n] = p->lines[l->first_line + k].func;
            if (lines)
                lines[n] = p->lines[l->first_line + k].line;
            n++;
        }
    }
    return n;
}

#define SCOPES_MAX_BYTES ((size_t)256 << 20) /* largest scope trace read */

int pp_profile_load_scopes(pp_profile *p, const char *path, char *msg, size_t msg_cap)
{
    char *text = NULL;
    size_t text_len = 0;
    int rc = pp_file_read(path, SCOPES_MAX_BYTES, &text, &text_len, msg, msg_cap);
    if (rc != PP_OK)
        return rc;
    size_t lineno = 0;
    int64_t base = p->start_mono_ns;
    for (char *line = text, *next; rc == PP_OK && line < text + text_len; line = next) {
        char *nl = memchr(line, '\n', (size_t)(text + text_len - line));
        next = nl ? nl + 1 : text + text_len;
        if (nl)
            *nl = '\0';
        lineno++;
        size_t len = strlen(line);
        unsigned long tid;
        long long start, dur;
        int off = 0;
        if (sscanf(line, "s %lu %lld %lld %n", &tid, &start, &dur, &off) != 3 || off <= 0 ||
            !line[off] || dur < 0 || tid > UINT32_MAX) {
            if (msg && msg_cap)
                snprintf(msg, msg_cap, "%s:%zu: not a scope event line", path, lineno);
            rc = PP_EFORMAT;
            break;
        }
        if (base == 0)
            base = start; /* no profile start: the first event is time zero */
        uint32_t name;
        rc = pp__profile_str(p, line + off, len - (size_t)off, &name);
        if (rc == PP_OK)
            rc =
                pp__profile_grow((void **)&p->scopes, &p->capscopes, p->nscopes, sizeof *p->scopes);
        if (rc == PP_OK)
            p->scopes[p->nscopes++] = (pp__pscope){(uint32_t)tid, name, start - base, dur};
    }
    free(text);
    return rc;
}

size_t pp_profile_scope_count(const pp_profile *p)
{
    return p->nscopes;
}
