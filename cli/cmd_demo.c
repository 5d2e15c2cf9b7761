/*
 * cmd_demo.c - `postprof demo`: a small instrumented workload (sync scopes,
 * memory scopes, async spans across threads) and a table of what was measured.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char demo_usage[] = "usage: postprof demo [--items N]\n";

static int cmp_u32(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static void sort_batch(unsigned *v, size_t n, unsigned seed)
{
    PP_SCOPE("demo.sort_batch");
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = seed;
    }
    qsort(v, n, sizeof *v, cmp_u32);
}

static size_t build_strings(size_t n)
{
    PP_SCOPE_MEM("demo.build_strings");
    size_t total = 0;
    char **s = malloc(n * sizeof *s);
    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++) {
        s[i] = malloc(64);
        if (s[i])
            total += (size_t)snprintf(s[i], 64, "post-%zu", i);
    }
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
    return total;
}

typedef struct {
    pp_span span;
    unsigned *buf;
    size_t n;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    PP_SCOPE("demo.worker");
    sort_batch(j->buf, j->n, 7u);
    PP_ASYNC_END(j->span); /* begun on the main thread, ended here */
    return NULL;
}

int cmd_demo(int argc, char **argv)
{
    size_t items = 20000;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(demo_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
            items = strtoul(argv[++i], NULL, 10);
        } else {
            return cli_usage_error("demo", demo_usage, "unknown option '%s'", argv[i]);
        }
    }
    unsigned *buf = malloc(items * 4 * sizeof *buf);
    if (!buf)
        return cli_error("demo", "out of memory");
    {
        PP_SCOPE("demo.main");
        for (int r = 0; r < 20; r++)
            sort_batch(buf, items, (unsigned)r);
        build_strings(items);
        pthread_t th[4];
        job jobs[4];
        for (int i = 0; i < 4; i++) {
            jobs[i].buf = buf + (size_t)i * items;
            jobs[i].n = items;
            PP_ASYNC_BEGIN(jobs[i].span, "demo.async_job");
            pthread_create(&th[i], NULL, worker, &jobs[i]);
        }
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
    }
    free(buf);

    pp_snapshot *snap;
    if (pp_snapshot_take(&snap) != PP_OK)
        return cli_error("demo", "snapshot failed: out of memory");
    printf("%-22s %8s %12s %12s %12s %12s\n", "site", "count", "total_ms", "self_ms", "p50_us",
           "p99_us");
    for (size_t i = 0; i < pp_snapshot_count(snap); i++) {
        const pp_site_stats *s = pp_snapshot_site(snap, i);
        printf("%-22s %8llu %12.3f %12.3f %12.2f %12.2f\n", s->name, (unsigned long long)s->count,
               s->total_ns / 1e6, s->self_ns / 1e6, s->p50_ns / 1e3, s->p99_ns / 1e3);
    }
    pp_snapshot_info info;
    pp_snapshot_get_info(snap, &info);
    printf("clock: %s (%.4f ns/tick), threads exited: %llu, open spans: %llu\n", info.clock_source,
           info.ns_per_tick, (unsigned long long)info.threads_exited,
           (unsigned long long)info.open_spans);
    pp_snapshot_free(snap);
    return PP_EXIT_OK;
}
