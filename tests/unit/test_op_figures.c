/*
 * test_op_figures.c - Per-operation on-CPU time and allocated bytes in the
 * performance profile (linked with libpostprof_malloc, as the postprof
 * command is): measured over a workload whose allocations are known exactly
 * and whose on-CPU time the workload clocks itself around each scope; and a
 * figure nobody measured reads "not measured" (JSON null, console, HTML),
 * never 0.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_test.h"
#include <postprof/postprof.h>

#define BLOCK 4096
#define BLOCKS 64
#define SPIN_NS 3000000ull /* on-CPU time each spin call burns, by the thread's own clock */
#define PASSES 3

#define MANY 40 /* calls of a cheap scope per pass */

typedef struct figures_toy {
    uint64_t own_spin_cpu_ns[PASSES + 1]; /* each spin call, clocked by the workload around it */
    uint64_t spin_calls;
} figures_toy;

static void *volatile sink;

static int toy_stage(void *ctx, pp_stage stage, unsigned index, pp_stage_result *out)
{
    figures_toy *t = ctx;
    (void)index, (void)out;
    if (stage != PP_STAGE_PASS)
        return PP_EUNAVAIL;
    {
        PP_SCOPE("figures.alloc");
        void *b[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            b[i] = malloc(BLOCK);
            if (!b[i])
                return PP_ENOMEM;
            memset(b[i], i, BLOCK);
            sink = b[i];
        }
        for (int i = 0; i < BLOCKS; i++)
            free(b[i]);
    }
    uint64_t c0 = pp_clock_thread_cpu_ns();
    {
        PP_SCOPE("figures.spin");
        uint64_t s0 = pp_clock_thread_cpu_ns();
        while (pp_clock_thread_cpu_ns() - s0 < SPIN_NS)
            ;
    }
    if (t->spin_calls <= PASSES)
        t->own_spin_cpu_ns[t->spin_calls] = pp_clock_thread_cpu_ns() - c0;
    t->spin_calls++;
    for (int i = 0; i < MANY; i++) {
        PP_SCOPE("figures.many");
        sink = t;
    }
    {
        /* a site that opts out of on-CPU time: its CPU figure is not measured */
        PP_SCOPE_CPU_EVERY("figures.no_cpu", UINT32_MAX);
        sink = t;
    }
    return PP_OK;
}

static int toy_set(void *ctx, pp_knob k, int64_t v)
{
    (void)ctx, (void)k, (void)v;
    return PP_EUNAVAIL;
}

static int toy_get(void *ctx, pp_knob k, int64_t *v)
{
    (void)ctx, (void)k, (void)v;
    return PP_EUNAVAIL;
}

static const pp_perf_op *find_op(const pp_perf_profile *p, const char *name)
{
    for (size_t i = 0; i < p->n_ops; i++)
        if (strcmp(p->ops[i].name, name) == 0)
            return &p->ops[i];
    return NULL;
}

static pp_report *profile_toy(figures_toy *t)
{
    pp_workload w;
    memset(&w, 0, sizeof w);
    w.version = PP_WORKLOAD_VERSION;
    w.name = "figures";
    w.ctx = t;
    w.network_source = -1;
    w.run_stage = toy_stage;
    w.set_knob = toy_set;
    w.get_knob = toy_get;
    pp_config cfg;
    pp_config_defaults(&cfg);
    cfg.profile.passes = PASSES;
    pp_report *r = pp_report_new();
    assert_non_null(r);
    assert_int_equal(pp_profiler_performance(&w, &cfg.profile, &r->perf), PP_OK);
    return r;
}

static void alloc_bytes_are_the_known_allocations(void **state)
{
    (void)state;
    assert_int_equal(pp_mem_accounting_active(), 1);
    figures_toy t = {0};
    pp_report *r = profile_toy(&t);
    const pp_perf_op *a = find_op(&r->perf, "figures.alloc");
    assert_non_null(a);
    assert_int_equal(a->count, PASSES);
    assert_true(a->alloc_measured);
    /* exactly what the scope requested: BLOCKS x BLOCK per pass, nothing else */
    assert_true(a->alloc_bytes == (double)PASSES * BLOCKS * BLOCK);
    /* the heap peak within one call: every block live at once */
    assert_true(a->mem_measured);
    assert_true(a->mem_delta_bytes >= (double)BLOCKS * BLOCK);
    assert_true(a->mem_delta_bytes < 2.0 * BLOCKS * BLOCK);
    const pp_perf_op *s = find_op(&r->perf, "figures.spin");
    assert_non_null(s);
    assert_true(s->alloc_measured);
    assert_true(s->alloc_bytes == 0); /* measured: none */
    /* the run's settings come back as they were */
    assert_int_equal(pp_alloc_counting(), 0);
    assert_int_equal(pp_cpu_sampling(), 0);
    /* counted in every call, not sampled */
    const pp_perf_op *m = find_op(&r->perf, "figures.many");
    assert_non_null(m);
    assert_true(m->alloc_measured && m->alloc_bytes == 0);
    pp_report_free(r);
}

static void cpu_time_agrees_with_the_threads_own_clock(void **state)
{
    (void)state;
    figures_toy t = {0};
    pp_report *r = profile_toy(&t);
    const pp_perf_op *s = find_op(&r->perf, "figures.spin");
    assert_non_null(s);
    assert_true(s->cpu_measured);
    /* passes measured = the workload's calls minus the warm-up pass */
    assert_int_equal(s->count, PASSES);
    assert_int_equal(t.spin_calls, PASSES + 1); /* the warm-up pass, then the measured ones */
    /* the measured calls: the first of the passes, then every 64th on this thread */
    assert_int_equal(s->cpu_calls, 1);
    /* each measured call's reading lies inside the workload's own clocking of
     * the same call: at least the spin itself, at most the workload's reading
     * of the longest calls (the difference is the scope's own cost) */
    uint64_t own[PASSES];
    memcpy(own, t.own_spin_cpu_ns + 1, sizeof own);
    for (int i = 0; i < PASSES; i++) /* longest first */
        for (int k = i + 1; k < PASSES; k++)
            if (own[k] > own[i]) {
                uint64_t x = own[i];
                own[i] = own[k];
                own[k] = x;
            }
    double bound = 0;
    for (uint64_t i = 0; i < s->cpu_calls; i++)
        bound += (double)own[i];
    assert_true(s->cpu_ns >= (double)s->cpu_calls * SPIN_NS);
    assert_true(s->cpu_ns <= bound * 1.02 + 50e3 * (double)s->cpu_calls);
    /* a scope called MANY times a pass: its first call, then every 64th */
    const pp_perf_op *m = find_op(&r->perf, "figures.many");
    assert_non_null(m);
    assert_int_equal(m->count, PASSES * MANY);
    assert_int_equal(m->cpu_calls, (PASSES * MANY + 63) / 64);
    assert_true(m->cpu_measured);
    /* the wall time of the same calls is there too (its comparison with the CPU
     * clock depends on the tick calibration of a short process: not judged here) */
    assert_true(s->cpu_wall_ns > 0);
    const pp_perf_op *a = find_op(&r->perf, "figures.alloc");
    assert_non_null(a);
    assert_true(a->cpu_measured);
    assert_true(a->cpu_ns > 0);
    const pp_perf_op *n = find_op(&r->perf, "figures.no_cpu");
    assert_non_null(n);
    assert_false(n->cpu_measured);
    pp_report_free(r);
}

/* A report with one operation nobody measured and one measured at zero. */
static pp_report *unmeasured_report(void)
{
    pp_report *r = pp_report_new();
    assert_non_null(r);
    snprintf(r->workload, sizeof r->workload, "figures");
    r->perf.n_ops = 2;
    pp_perf_op *u = &r->perf.ops[0];
    snprintf(u->name, sizeof u->name, "figures.unmeasured");
    u->parent = -1;
    u->count = 4;
    u->total_ns = 4e6;
    u->mean_ns = 1e6;
    u->share = 0.5;
    pp_perf_op *z = &r->perf.ops[1];
    *z = *u;
    snprintf(z->name, sizeof z->name, "figures.zero");
    z->cpu_measured = z->alloc_measured = z->mem_measured = 1;
    z->cpu_ns = 1e6;
    z->cpu_wall_ns = 2e6;
    z->cpu_calls = 4;
    return r;
}

static void unmeasured_figures_read_not_measured(void **state)
{
    (void)state;
    pp_report *r = unmeasured_report();

    /* report.json: null, not 0 */
    char *js = NULL;
    assert_int_equal(pp_report_to_json_string(r, &js), PP_OK);
    json_error_t jerr;
    json_t *doc = json_loads(js, 0, &jerr);
    assert_non_null(doc);
    json_t *ops = json_object_get(json_object_get(doc, "performance"), "operations");
    assert_int_equal(json_array_size(ops), 2);
    json_t *u = json_array_get(ops, 0), *z = json_array_get(ops, 1);
    const char *keys[] = {"cpu_s", "cpu_wall_s", "alloc_bytes", "memory_delta_mb"};
    for (size_t i = 0; i < 4; i++) {
        assert_true(json_is_null(json_object_get(u, keys[i])));
        assert_true(json_is_number(json_object_get(z, keys[i])));
    }
    assert_true(json_number_value(json_object_get(z, "alloc_bytes")) == 0);
    json_decref(doc);

    /* read back: still not measured */
    pp_report *back = NULL;
    char err[256];
    assert_int_equal(pp_report_read_json(js, strlen(js), &back, err, sizeof err), PP_OK);
    assert_false(back->perf.ops[0].cpu_measured);
    assert_false(back->perf.ops[0].alloc_measured);
    assert_false(back->perf.ops[0].mem_measured);
    assert_true(back->perf.ops[1].cpu_measured);
    assert_true(back->perf.ops[1].alloc_measured);
    assert_true(back->perf.ops[1].mem_measured);
    pp_report_free(back);
    free(js);

    /* console */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(pp_report_print_console(r, f, 0), PP_OK);
    assert_int_equal(fclose(f), 0);
    const char *line = strstr(text, "  figures.unmeasured:");
    assert_non_null(line);
    const char *end = strchr(line, '\n');
    assert_non_null(end);
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(end - line), line);
    assert_non_null(strstr(buf, "CPU not measured"));
    assert_non_null(strstr(buf, "allocations not measured"));
    assert_non_null(strstr(buf, "memory not measured"));
    line = strstr(text, "  figures.zero:");
    assert_non_null(line);
    end = strchr(line, '\n');
    snprintf(buf, sizeof buf, "%.*s", (int)(end - line), line);
    assert_null(strstr(buf, "not measured"));
    assert_non_null(strstr(buf, "(50% of its wall time; 4 of 4 calls measured)"));
    assert_non_null(strstr(buf, "allocated 0.0 KB"));
    free(text);

    /* HTML: the page's data says null, and its table renders null as "not measured" */
    char *html = NULL;
    size_t hlen = 0;
    assert_int_equal(pp_report_render_html(r, NULL, &html, &hlen, err, sizeof err), PP_OK);
    assert_non_null(strstr(html, "\"alloc_bytes\": null"));
    assert_non_null(strstr(html, "'not measured'"));
    free(html);
    pp_report_free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_bytes_are_the_known_allocations),
        cmocka_unit_test(cpu_time_agrees_with_the_threads_own_clock),
        cmocka_unit_test(unmeasured_figures_read_not_measured),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
