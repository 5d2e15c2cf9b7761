/*
 * chrome_trace.c - Chrome trace event JSON (chrome://tracing, Perfetto):
 * per thread, the aggregated call tree laid out as nested "X" events (the
 * left-heavy view: siblings merged, durations = sampled time), "C" counter
 * events for RSS and heap in use over time, "M" metadata naming threads;
 * a target's instrumented scopes (libpostprof) as real-time "X" events of pid 2.
 */
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "export/formats/formats.h"

typedef struct {
    const pp_profile *p;
    uint32_t tid;
    size_t n;
    uint32_t *funcs;
    int64_t w;
} row;

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    size_t n = x->n < y->n ? x->n : y->n;
    for (size_t i = 0; i < n; i++)
        if (x->funcs[i] != y->funcs[i])
            return x->funcs[i] < y->funcs[i] ? -1 : 1;
    return (x->n > y->n) - (x->n < y->n);
}

static void close_event(pp__strbuf *b, const pp_profile *p, uint32_t tid, uint32_t func,
                        double start_us, double end_us, const char *cat)
{
    pp__strbuf_adds(b, ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":");
    pp__strbuf_printf(b, "%u,\"cat\":\"%s\",\"name\":", tid, cat);
    pp__strbuf_json_str(b, p->str[p->funcs[func].name], strlen(p->str[p->funcs[func].name]), 0);
    pp__strbuf_printf(b, ",\"ts\":%.3f,\"dur\":%.3f", start_us, end_us - start_us);
    if (p->str[p->funcs[func].file][0]) {
        pp__strbuf_adds(b, ",\"args\":{\"file\":");
        pp__strbuf_json_str(b, p->str[p->funcs[func].file], strlen(p->str[p->funcs[func].file]), 0);
        pp__strbuf_printf(b, ",\"line\":%lld}", (long long)p->funcs[func].start_line);
    }
    pp__strbuf_adds(b, "}");
}

void pp__chrome_render(const pp_profile *p, pp__strbuf *b)
{
    row *rows = calloc(p->nsamples + 1, sizeof *rows);
    uint32_t *all = malloc((p->nstack * 4 + 64) * sizeof *all);
    double *starts = malloc(PP__PROFILE_MAX_FRAMES * sizeof *starts);
    uint32_t *open = malloc(PP__PROFILE_MAX_FRAMES * sizeof *open);
    if (!rows || !all || !starts || !open) {
        b->err = PP_ENOMEM;
        goto out;
    }
    size_t used = 0, cap = p->nstack * 4 + 64, nrows = 0;
    /* ns (CPU, wall) or bytes (memory); counts when no period is known */
    size_t value = (p->kind == PP_PROFILE_MEM || p->period > 0) ? 1 : p->main_value;
    for (size_t i = 0; i < p->nsamples; i++) {
        const pp__psample *s = &p->samples[i];
        if (s->v[value] <= 0)
            continue;
        size_t room = cap - used;
        size_t n = pp__profile_frames(
            p, s, all + used, NULL, room < PP__PROFILE_MAX_FRAMES ? room : PP__PROFILE_MAX_FRAMES);
        rows[nrows++] = (row){p, s->tid, n, all + used, s->v[value]};
        used += n;
    }
    qsort(rows, nrows, sizeof *rows, cmp_row);
    const char *cat = p->kind == PP_PROFILE_MEM    ? "alloc_bytes"
                      : p->kind == PP_PROFILE_WALL ? "wall"
                                                   : "cpu";
    pp__strbuf_adds(b, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
    pp__strbuf_adds(b, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
                       "\"postprof record\"}}");
    for (size_t i = 0; i < p->nthreads; i++) {
        pp__strbuf_printf(b,
                          ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\","
                          "\"args\":{\"name\":",
                          p->threads[i].tid);
        pp__strbuf_json_str(b, p->str[p->threads[i].name], strlen(p->str[p->threads[i].name]), 0);
        pp__strbuf_adds(b, "}}");
    }
    size_t depth = 0;
    double now = 0;
    uint32_t cur_tid = nrows ? rows[0].tid : 0;
    for (size_t r = 0; r <= nrows; r++) {
        size_t common = 0;
        if (r < nrows && rows[r].tid == cur_tid)
            while (common < depth && common < rows[r].n && open[common] == rows[r].funcs[common])
                common++;
        while (depth > common) {
            depth--;
            close_event(b, p, cur_tid, open[depth], starts[depth], now, cat);
        }
        if (r == nrows)
            break;
        if (rows[r].tid != cur_tid) {
            cur_tid = rows[r].tid;
            now = 0;
        }
        for (size_t k = common; k < rows[r].n; k++) {
            open[depth] = rows[r].funcs[k];
            starts[depth++] = now;
        }
        /* ns -> us for time; bytes shown as 1 us per byte */
        now += value == 1 && p->kind != PP_PROFILE_MEM ? (double)rows[r].w / 1000.0
                                                       : (double)rows[r].w;
    }
    if (p->nscopes)
        pp__strbuf_adds(b,
                        ",\n{\"ph\":\"M\",\"pid\":2,\"name\":\"process_name\",\"args\":{\"name\":"
                        "\"instrumented scopes (libpostprof)\"}}");
    for (size_t i = 0; i < p->nscopes; i++) {
        const pp__pscope *sc = &p->scopes[i];
        pp__strbuf_printf(
            b, ",\n{\"ph\":\"X\",\"pid\":2,\"tid\":%u,\"cat\":\"scope\",\"name\":", sc->tid);
        pp__strbuf_json_strz(b, p->str[sc->name], 0);
        pp__strbuf_printf(b, ",\"ts\":%.3f,\"dur\":%.3f}", (double)sc->start_ns / 1000.0,
                          (double)sc->dur_ns / 1000.0);
    }
    for (size_t i = 0; i < p->nseries; i++)
        pp__strbuf_printf(b,
                          ",\n{\"ph\":\"C\",\"pid\":1,\"name\":\"memory\",\"ts\":%.3f,"
                          "\"args\":{\"rss_bytes\":%lld,\"heap_bytes\":%lld}}",
                          (double)p->series[i].t_ns / 1000.0, (long long)p->series[i].rss,
                          (long long)p->series[i].heap);
    pp__strbuf_adds(b, "\n],\"otherData\":{");
    for (size_t i = 0; i < p->nstats; i++) {
        if (i)
            pp__strbuf_adds(b, ",");
        pp__strbuf_json_str(b, p->str[p->stats[i].name], strlen(p->str[p->stats[i].name]), 0);
        pp__strbuf_printf(b, ":%lld", (long long)p->stats[i].value);
    }
    pp__strbuf_adds(b, "}}\n");
out:
    free(rows);
    free(all);
    free(starts);
    free(open);
}
