/*
 * folded.c - Folded stacks (flamegraph.pl / inferno input): one line per
 * stack, frames root first separated by ';', a space, an integer count.
 * Writes the profile's main value (samples, or bytes allocated for --mem);
 * reads such files back for `postprof top`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "export/formats/formats.h"

#define FOLDED_MAX_LINE (1024u * 1024)

static void put_name(pp__strbuf *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == ';')
            c = ':';
        else if (c == '\n' || c == '\r')
            c = ' ';
        pp__strbuf_add(b, &c, 1);
    }
}

typedef struct {
    char *stack;
    int64_t v;
} folded_line;

static int cmp_line(const void *a, const void *b)
{
    return strcmp(((const folded_line *)a)->stack, ((const folded_line *)b)->stack);
}

/* identical stacks (e.g. from different threads) are merged into one line */
void pp__folded_render(const pp_profile *p, pp__strbuf *b)
{
    uint32_t *funcs = malloc(PP__PROFILE_MAX_FRAMES * sizeof *funcs);
    folded_line *lines = calloc(p->nsamples + 1, sizeof *lines);
    size_t n_lines = 0;
    if (!funcs || !lines) {
        b->err = PP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < p->nsamples && !b->err; i++) {
        const pp__psample *s = &p->samples[i];
        int64_t v = s->v[p->main_value];
        if (v <= 0)
            continue;
        pp__strbuf one;
        pp__strbuf_init(&one, PP__FORMAT_MAX_BYTES);
        size_t n = pp__profile_frames(p, s, funcs, NULL, PP__PROFILE_MAX_FRAMES);
        if (n == 0)
            pp__strbuf_adds(&one, "[unknown]");
        for (size_t k = 0; k < n; k++) {
            if (k)
                pp__strbuf_add(&one, ";", 1);
            put_name(&one, p->str[p->funcs[funcs[k]].name]);
        }
        int one_err = one.err;
        char *stack = pp__strbuf_detach(&one, NULL); /* allocated even when every name is empty */
        if (!stack) {
            b->err = one_err ? one_err : PP_ENOMEM;
            break;
        }
        lines[n_lines++] = (folded_line){stack, v};
    }
    qsort(lines, n_lines, sizeof *lines, cmp_line);
    for (size_t i = 0; i < n_lines;) {
        size_t j = i;
        int64_t v = 0;
        for (; j < n_lines && strcmp(lines[j].stack, lines[i].stack) == 0; j++)
            v += lines[j].v;
        pp__strbuf_printf(b, "%s %lld\n", lines[i].stack, (long long)v);
        i = j;
    }
out:
    for (size_t i = 0; lines && i < n_lines; i++)
        free(lines[i].stack);
    free(lines);
    free(funcs);
}

int pp__folded_parse(const char *data, size_t len, pp_profile **out, char *msg, size_t cap)
{
    pp_profile *p = pp__profile_new(PP_PROFILE_CPU);
    uint32_t *locs = malloc(PP__PROFILE_MAX_FRAMES * sizeof *locs);
    int rc = (p && locs) ? PP_OK : PP_ENOMEM;
    size_t lineno = 0;
    const char *s = data, *end = data + len;
    while (rc == PP_OK && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        lineno++;
        const char *ls = s;
        s = nl ? nl + 1 : end;
        while (le > ls && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
            le--;
        if (le == ls || *ls == '#')
            continue;
        if ((size_t)(le - ls) > FOLDED_MAX_LINE) {
            rc = PP_ERANGE;
            snprintf(msg, cap, "line %zu: longer than %u bytes", lineno, FOLDED_MAX_LINE);
            break;
        }
        const char *sp = le;
        while (sp > ls && sp[-1] != ' ')
            sp--;
        if (sp == ls || sp == le) {
            rc = PP_EFORMAT;
            snprintf(msg, cap, "line %zu: expected 'frame;frame COUNT'", lineno);
            break;
        }
        int64_t v = 0;
        for (const char *d = sp; d < le; d++) {
            if (*d < '0' || *d > '9' || v > (INT64_MAX - 9) / 10) {
                rc = PP_EFORMAT;
                snprintf(msg, cap, "line %zu: count is not a non-negative integer", lineno);
                break;
            }
            v = v * 10 + (*d - '0');
        }
        if (rc)
            break;
        const char *fe = sp - 1; /* frames: [ls, fe) */
        size_t n = 0;
        const char *f = ls;
        while (rc == PP_OK && f <= fe) {
            const char *semi = memchr(f, ';', (size_t)(fe - f));
            const char *e = semi ? semi : fe;
            if (n == PP__PROFILE_MAX_FRAMES) {
                rc = PP_ERANGE;
                snprintf(msg, cap, "line %zu: more than %d frames", lineno, PP__PROFILE_MAX_FRAMES);
                break;
            }
            char *name = strndup(f, (size_t)(e - f));
            pp__pline l = {0, 0};
            rc = name ? pp__profile_func(p, name, "", 0, &l.func) : PP_ENOMEM;
            free(name);
            /* one location per function: reuse by function id */
            if (rc == PP_OK) {
                if (l.func < p->nlocs && p->lines[p->locs[l.func].first_line].func == l.func) {
                    locs[n++] = l.func;
                } else {
                    uint32_t id;
                    rc = pp__profile_loc(p, 0, 0, &l, 1, &id);
                    locs[n++] = id;
                }
            }
            f = e + 1;
        }
        if (rc)
            break;
        /* leaf first */
        for (size_t i = 0; i < n / 2; i++) {
            uint32_t t = locs[i];
            locs[i] = locs[n - 1 - i];
            locs[n - 1 - i] = t;
        }
        int64_t vals[PP__PMAXV] = {v, 0};
        rc = pp__profile_sample(p, locs, n, 0, vals);
    }
    if (rc == PP_OK && p->nsamples == 0) {
        rc = PP_EFORMAT;
        snprintf(msg, cap, "no stacks found");
    }
    free(locs);
    if (rc) {
        pp_profile_free(p);
        return rc;
    }
    *out = p;
    return PP_OK;
}
