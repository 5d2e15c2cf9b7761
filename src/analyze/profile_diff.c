/*
 * profile_diff.c - Which functions changed their share between two profiles:
 * each function's self and total value as a share of its own profile's
 * total (so profiles of different lengths compare), matched by name, ranked
 * by the largest change. Pure: no I/O; never modifies either profile.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/profile.h>

#include "aggregate/profile_impl.h"

typedef struct {
    const char *name;
    int side; /* 0 base, 1 candidate */
    int64_t self, total;
} entry;

static int cmp_name(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->side - y->side;
}

static int cmp_change(const void *a, const void *b)
{
    const pp_profile_diff_row *x = a, *y = b;
    double dx = fabs(x->cand_self - x->base_self), dy = fabs(y->cand_self - y->base_self);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    dx = fabs(x->cand_total - x->base_total);
    dy = fabs(y->cand_total - y->base_total);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->function, y->function);
}

/* Every function of p with a non-zero total, appended to e at *n. */
static int collect(const pp_profile *p, int side, entry *e, size_t cap, size_t *n, int64_t *sum)
{
    pp_profile_row *rows = calloc(cap ? cap : 1, sizeof *rows);
    if (!rows)
        return PP_ENOMEM;
    size_t got = 0;
    int rc = pp_profile_top(p, rows, cap, &got, sum);
    for (size_t i = 0; rc == PP_OK && i < got; i++)
        e[(*n)++] = (entry){rows[i].function, side, rows[i].self, rows[i].total};
    free(rows);
    return rc;
}

int pp_profile_diff(const pp_profile *base, const pp_profile *cand, pp_profile_diff_row *out,
                    size_t cap, size_t *out_n, int64_t *out_base_sum, int64_t *out_cand_sum)
{
    *out_n = 0;
    *out_base_sum = *out_cand_sum = 0;
    if (strcmp(pp_profile_value_name(base), pp_profile_value_name(cand)) != 0)
        return PP_EINVAL;
    size_t nb = base->nfuncs, nc = cand->nfuncs;
    entry *e = malloc((nb + nc + 1) * sizeof *e);
    pp_profile_diff_row *rows = calloc(nb + nc + 1, sizeof *rows);
    size_t n = 0, nrows = 0;
    int rc = e && rows ? PP_OK : PP_ENOMEM;
    if (rc == PP_OK)
        rc = collect(base, 0, e, nb, &n, out_base_sum);
    if (rc == PP_OK)
        rc = collect(cand, 1, e, nc, &n, out_cand_sum);
    if (rc != PP_OK)
        goto out;
    qsort(e, n, sizeof *e, cmp_name);
    double sb = *out_base_sum > 0 ? (double)*out_base_sum : 1.0;
    double sc = *out_cand_sum > 0 ? (double)*out_cand_sum : 1.0;
    /* a name seen twice on one side (same name, different files) is summed */
    for (size_t i = 0; i < n;) {
        pp_profile_diff_row *r = &rows[nrows++];
        r->function = e[i].name;
        size_t j = i;
        for (; j < n && strcmp(e[j].name, e[i].name) == 0; j++) {
            double s = e[j].side ? sc : sb;
            double *self = e[j].side ? &r->cand_self : &r->base_self;
            double *total = e[j].side ? &r->cand_total : &r->base_total;
            *self += (double)e[j].self / s;
            *total += (double)e[j].total / s;
        }
        i = j;
    }
    qsort(rows, nrows, sizeof *rows, cmp_change);
    for (size_t i = 0; i < nrows && i < cap; i++)
        out[i] = rows[i];
    *out_n = nrows < cap ? nrows : cap;
out:
    free(e);
    free(rows);
    return rc;
}
