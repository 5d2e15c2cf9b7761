/*
 * profile_top.c - Ranks a profile's functions by self value (the leaf frame)
 * with their total (anywhere on the stack, counted once per stack), like
 * `perf report --stdio`. Pure: no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "aggregate/profile_impl.h"

typedef struct {
    int64_t self, total;
    int64_t line;
    uint64_t seen; /* sample index + 1 of the last total update */
} acc;

static int cmp_rank(const void *a, const void *b, void *ctx)
{
    const acc *base = ctx;
    const acc *x = &base[*(const uint32_t *)a], *y = &base[*(const uint32_t *)b];
    if (x->self != y->self)
        return x->self > y->self ? -1 : 1;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return (*(const uint32_t *)a > *(const uint32_t *)b) -
           (*(const uint32_t *)a < *(const uint32_t *)b);
}

int pp_profile_top(const pp_profile *p, pp_profile_row *out, size_t cap, size_t *out_n,
                   int64_t *out_sum)
{
    *out_n = 0;
    *out_sum = 0;
    acc *a = calloc(p->nfuncs + 1, sizeof *a);
    uint32_t *order = malloc((p->nfuncs + 1) * sizeof *order);
    uint32_t *funcs = malloc(PP__PROFILE_MAX_FRAMES * sizeof *funcs);
    int64_t *lines = malloc(PP__PROFILE_MAX_FRAMES * sizeof *lines);
    int rc = (a && order && funcs && lines) ? PP_OK : PP_ENOMEM;
    if (rc)
        goto out;
    size_t mv = p->main_value;
    for (size_t i = 0; i < p->nsamples; i++) {
        const pp__psample *s = &p->samples[i];
        int64_t v = s->v[mv];
        *out_sum += v;
        size_t n = pp__profile_frames(p, s, funcs, lines, PP__PROFILE_MAX_FRAMES);
        if (n == 0)
            continue;
        a[funcs[n - 1]].self += v;
        if (!a[funcs[n - 1]].line)
            a[funcs[n - 1]].line = lines[n - 1];
        for (size_t k = 0; k < n; k++) {
            acc *f = &a[funcs[k]];
            if (f->seen != i + 1) {
                f->seen = i + 1;
                f->total += v;
            }
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < p->nfuncs; i++)
        if (a[i].total != 0)
            order[n++] = (uint32_t)i;
    qsort_r(order, n, sizeof *order, cmp_rank, a);
    for (size_t i = 0; i < n && i < cap; i++) {
        const pp__pfunc *f = &p->funcs[order[i]];
        out[i].function = p->str[f->name];
        out[i].file = p->str[f->file];
        out[i].line = f->start_line ? f->start_line : a[order[i]].line;
        out[i].self = a[order[i]].self;
        out[i].total = a[order[i]].total;
        *out_n = i + 1;
    }
out:
    free(a);
    free(order);
    free(funcs);
    free(lines);
    return rc;
}
