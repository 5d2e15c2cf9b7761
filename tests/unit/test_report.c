/*
 * test_report.c - The report's JSON writer (atomic: temp + rename, nothing
 * left behind on failure), its reader (round trip, errors naming the field),
 * and the console layout (the design's sections, colour only when asked).
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "near.h"

static pp_report *sample_report(void)
{
    pp_report *r = pp_report_new();
    strcpy(r->workload, "linkedin-posts");
    r->system.cpu_percent = 25.5;
    r->system.memory_percent = 45.2;
    r->system.memory_available_gb = 8.5;
    r->system.peak_rss_bytes = 300e6;
    r->system.timestamp = 1234567890;
    r->system.n_cpus = 2;
    r->perf.n_passes = 3;
    r->perf.pass_ns[0] = 1e9;
    r->perf.pass_ns[1] = 1.1e9;
    r->perf.pass_ns[2] = 0.9e9;
    r->perf.end_to_end_ns = 1e9;
    r->perf.stage_share[PP_STAGE_LOAD] = 0.5;
    r->perf.n_ops = 2;
    strcpy(r->perf.ops[0].name, "pipeline.pass");
    r->perf.ops[0].parent = -1;
    r->perf.ops[0].count = 3;
    r->perf.ops[0].total_ns = 3e9;
    strcpy(r->perf.ops[1].name, "pipeline.load");
    r->perf.ops[1].parent = 0;
    r->perf.ops[1].depth = 1;
    r->perf.ops[1].count = 3;
    r->perf.ops[1].total_ns = 1.5e9;
    r->perf.ops[1].mem_delta_bytes = 2 * 1048576.0;
    const char *src[3] = {"database", "file", "api"};
    r->loading.n_sources = 3;
    for (int i = 0; i < 3; i++) {
        pp_load_profile *l = &r->loading.sources[i];
        strcpy(l->name, src[i]);
        l->batch_size = 32;
        l->batches = 20;
        l->rows = 640;
        l->mean_ns = l->p50_ns = (i + 1) * 50e6;
        l->p95_ns = l->p99_ns = (i + 1) * 60e6;
        l->cpu_share = 0.3;
        l->wait_share = 0.7;
        /* the loading thread's own clocks; the api's as a report of before */
        l->thread_measured = i < 2;
        l->thread_cpu_share = i < 2 ? 0.25 : 0;
        l->cpu_wait_share = i == 0 ? 0.05 : -1.0;
    }
    r->loading.has_keep_alive = 1;
    r->loading.keep_alive_source = 2;
    r->inference.n_models = 1;
    r->inference.latency_target_ns = 200e6;
    pp_model_profile *m = &r->inference.models[0];
    strcpy(m->name, "small_model");
    m->load_ns = 5e6;
    m->n_points = 2;
    m->points[0] = (pp_batch_point){.batch = 1,
                                    .p50_ns = 1e6,
                                    .p99_ns = 2e6,
                                    .mean_ns = 1.2e6,
                                    .throughput = 1000,
                                    .throughput_low = 900,
                                    .throughput_high = 1100,
                                    .samples = 8};
    m->points[1] = (pp_batch_point){.batch = 2,
                                    .p50_ns = 1.5e6,
                                    .p99_ns = 3e6,
                                    .mean_ns = 1.6e6,
                                    .throughput = 1300,
                                    .throughput_low = 1200,
                                    .throughput_high = 1400,
                                    .samples = 8};
    m->best_batch = 2;
    m->current_batch = 1;
    m->has_int8 = 1;
    m->fp32_throughput = 1300;
    m->int8_throughput = 2000;
    r->cache.present = 1;
    r->cache.hit_ratio = 0.7;
    r->cache.ops = 100;
    r->cache.hits = 70;
    r->cache.misses = 30;
    r->cache.mean_ns = 1000;
    strcpy(r->cache.mrc_method, "exact");
    r->cache.sampling_rate = 1;
    r->cache.n_mrc = 2;
    r->cache.mrc[0] = (pp_mrc_point){1, 0.9};
    r->cache.mrc[1] = (pp_mrc_point){10, 0.3};
    r->cache.capacity_for[0] = 12;
    r->n_experiments = 1;
    strcpy(r->experiments[0].name, "keep_alive");
    r->experiments[0].stage = PP_STAGE_LOAD;
    r->experiments[0].index = 2;
    r->experiments[0].knob = PP_KNOB_KEEP_ALIVE;
    r->experiments[0].cand_value = 1;
    r->experiments[0].base_ns = 2e6;
    r->experiments[0].cand_ns = 1e6;
    r->experiments[0].speedup = 2;
    r->experiments[0].speedup_low = 1.8;
    r->experiments[0].speedup_high = 2.2;
    r->experiments[0].significant = 1;
    r->experiments[0].repeats = 10;
    r->experiments[0].set_aside = 2;
    r->experiments[0].predicted = 0.25;
    r->experiments[0].predicted_low = 0.2;
    r->experiments[0].predicted_high = 0.3;
    r->experiments[0].n_sites = 1;
    pp_site_change *sc = &r->experiments[0].sites[0];
    strcpy(sc->name, "load.api");
    sc->stage = PP_STAGE_LOAD;
    sc->base_ns = 1e6;
    sc->cand_ns = 0.5e6;
    sc->share = 0.5;
    sc->share_low = 0.45;
    sc->share_high = 0.55;
    sc->speedup = 2;
    sc->speedup_low = 1.8;
    sc->speedup_high = 2.2;
    sc->significant = 1;
    sc->gain = 0.25;
    pp_config c;
    pp_config_defaults(&c);
    pp_bottleneck_detect(r, &c.thresholds);
    pp_suggest(r, c.profile.min_effect);
    r->n_targets = pp_targets_evaluate(r, &c.targets, r->targets, PP_REPORT_MAX_TARGETS);
    return r;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_json_written_atomically_and_reads_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/pp_report_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/report.json", dir);
    pp_report *r = sample_report();
    assert_true(r->n_suggestions >= 1);
    r->experiments[0].others_speedup = 1.034; /* the machine's speed gauged */
    r->experiments[0].others_speedup_low = 1.01;
    r->experiments[0].others_speedup_high = 1.05;
    /* compared with the other settings' passes: alike, so gauged */
    r->experiments[0].others_own = 0.994;
    r->experiments[0].others_own_low = 0.976;
    r->experiments[0].others_own_high = 1.013;
    pp_suggest(r, 0.01);
    assert_non_null(strstr(r->suggestions[0].evidence,
                           "; the sites it left alone ran 1.034x faster in its passes (95% 1.010 "
                           "to 1.050 x): taken as the machine's speed"));
    char err[512];
    assert_int_equal(pp_report_write_json(r, path, err, sizeof err), PP_OK);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left */
    /* overwrite: still one file, replaced whole */
    r->cache.hit_ratio = 0.75;
    assert_int_equal(pp_report_write_json(r, path, err, sizeof err), PP_OK);
    assert_int_equal(count_entries(dir), 1);

    pp_report *back = NULL;
    assert_int_equal(pp_report_load_json(path, &back, err, sizeof err), PP_OK);
    assert_non_null(back);
    assert_string_equal(back->workload, "linkedin-posts");
    assert_double_equal(back->cache.hit_ratio, 0.75, 1e-12);
    assert_int_equal(back->loading.n_sources, 3);
    assert_string_equal(back->loading.sources[2].name, "api");
    assert_double_equal(back->loading.sources[2].p95_ns, 180e6, 1e-3);
    assert_true(back->loading.sources[0].thread_measured);
    assert_double_equal(back->loading.sources[0].thread_cpu_share, 0.25, 1e-12);
    assert_double_equal(back->loading.sources[0].cpu_wait_share, 0.05, 1e-12);
    assert_true(back->loading.sources[1].cpu_wait_share < 0); /* null: not measured */
    assert_false(back->loading.sources[2].thread_measured);   /* null: a report of before */
    assert_int_equal(back->loading.keep_alive_source, 2);
    assert_int_equal(back->inference.n_models, 1);
    assert_int_equal(back->inference.models[0].n_points, 2);
    assert_int_equal(back->inference.models[0].best_batch, 2);
    assert_int_equal(back->perf.n_passes, 3);
    assert_int_equal(back->perf.n_ops, 2);
    assert_int_equal(back->perf.ops[1].parent, 0);
    assert_double_equal(back->perf.stage_share[PP_STAGE_LOAD], 0.5, 1e-12);
    assert_double_equal(back->perf.stage_share[PP_STAGE_INFER], -1.0, 0);
    assert_int_equal(back->n_suggestions, r->n_suggestions);
    assert_double_equal(back->suggestions[0].expected_improvement,
                        r->suggestions[0].expected_improvement, 1e-9);
    assert_int_equal(back->suggestions[0].knob, r->suggestions[0].knob);
    assert_double_equal(back->suggestions[0].expected_improvement_low, 0.2, 1e-9);
    assert_double_equal(back->suggestions[0].expected_improvement_high, 0.3, 1e-9);
    assert_int_equal(back->experiments[0].n_sites, 1);
    assert_true(back->experiments[0].sites[0].significant);
    assert_double_equal(back->experiments[0].others_speedup, 1.034, 1e-12);
    assert_double_equal(back->experiments[0].others_speedup_low, 1.01, 1e-12);
    assert_double_equal(back->experiments[0].others_speedup_high, 1.05, 1e-12);
    assert_double_equal(back->experiments[0].others_own, 0.994, 1e-12);
    assert_double_equal(back->experiments[0].others_own_low, 0.976, 1e-12);
    assert_double_equal(back->experiments[0].others_own_high, 1.013, 1e-12);
    assert_int_equal(back->experiments[0].sites[0].stage, PP_STAGE_LOAD);
    assert_true(back->experiments[0].suggested);
    assert_int_equal(back->experiments[0].repeats, 10);
    assert_int_equal(back->experiments[0].set_aside, 2);
    /* the suggestion says so */
    assert_non_null(strstr(r->suggestions[0].evidence, "10 interleaved pairs of passes (2 more set "
                                                       "aside: the machine changed speed"));
    assert_int_equal(back->n_findings, r->n_findings);
    assert_int_equal(back->n_targets, 5);
    assert_int_equal(back->targets[2].pass, r->targets[2].pass);
    /* the reader's report writes the same JSON again (apply aside) */
    char *s1, *s2;
    assert_int_equal(pp_report_to_json_string(r, &s1), PP_OK);
    /* unreachable capacities are null, reachable ones numbers */
    assert_non_null(strstr(s1, "\"0.80\": 12"));
    assert_non_null(strstr(s1, "\"0.95\": null"));
    assert_int_equal(pp_report_to_json_string(back, &s2), PP_OK);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    pp_report_free(back);
    unlink(path);
    rmdir(dir);
    /* faster than in the other settings' passes too: its own, not gauged */
    r->experiments[0].others_speedup = 0.0;
    r->experiments[0].others_own = 1.19;
    r->experiments[0].others_own_low = 1.08;
    r->experiments[0].others_own_high = 1.30;
    pp_suggest(r, 0.01);
    assert_null(strstr(r->suggestions[0].evidence, "taken as the machine's speed"));
    assert_non_null(strstr(r->suggestions[0].evidence,
                           "; the sites it left alone ran faster in its passes, 1.190x faster than "
                           "in the other settings' passes of the same rounds too (95% 1.080 to "
                           "1.300 x): its own effect, counted"));
    pp_report_free(r);
}

static void test_unwritable_dir_leaves_nothing(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    char err[512];
    int rc = pp_report_write_json(r, "/nonexistent-dir/sub/report.json", err, sizeof err);
    assert_int_equal(rc, PP_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent-dir/sub/report.json"));
    /* a directory where the file should be: rename fails, temp removed */
    char dir[] = "/tmp/pp_report_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/report.json", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/x", path);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fclose(f);
    rc = pp_report_write_json(r, path, err, sizeof err);
    assert_true(rc != PP_OK);
    assert_non_null(strstr(err, path));
    assert_int_equal(count_entries(dir), 1); /* just the directory in the way */
    unlink(inner);
    rmdir(path);
    rmdir(dir);
    pp_report_free(r);
}

static void expect_read_error(const char *json, const char *want)
{
    pp_report *r = (pp_report *)1;
    char err[512];
    assert_int_equal(pp_report_read_json(json, strlen(json), &r, err, sizeof err), PP_EFORMAT);
    assert_null(r);
    if (!strstr(err, want))
        print_error("error was: %s\n", err);
    assert_non_null(strstr(err, want));
}

/* json with the first `from` replaced by `to` is refused with `want` in the message */
static void expect_replaced_error(const char *json, const char *from, const char *to,
                                  const char *want)
{
    const char *p = strstr(json, from);
    assert_non_null(p);
    char buf[16384];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - json), json, to, p + strlen(from));
    expect_read_error(buf, want);
}

static void test_reader_names_the_fault(void **state)
{
    (void)state;
    expect_read_error("{\"schema_version\": 1,\n \"x\": }", "invalid JSON at line 2");
    expect_read_error("[]", "not a JSON object");
    expect_read_error("{}", "report.schema_version: missing");
    expect_read_error("{\"schema_version\": 99}", "unsupported version");
    char *s;
    pp_report *r = sample_report();
    /* a second experiment, gauged: a fault in it is named with its index */
    r->experiments[1] = r->experiments[0];
    r->n_experiments = 2;
    r->experiments[1].others_speedup = 1.034;
    r->experiments[1].others_speedup_low = 1.01;
    r->experiments[1].others_speedup_high = 1.05;
    assert_int_equal(pp_report_to_json_string(r, &s), PP_OK);
    pp_report_free(r);
    /* break one field deep inside */
    char *p = strstr(s, "\"loading_time\"");
    assert_non_null(p);
    char *colon = strchr(p, ':');
    char buf[16384];
    snprintf(buf, sizeof buf, "%.*s: \"slow\"%s", (int)(colon - s), s, strchr(colon, ','));
    expect_read_error(buf, "data_loading.database.loading_time: not a number");
    p = strstr(s, "\"thread_cpu_share\"");
    assert_non_null(p);
    colon = strchr(p, ':');
    snprintf(buf, sizeof buf, "%.*s: -0.5%s", (int)(colon - s), s, strchr(colon, ','));
    expect_read_error(buf, "data_loading.database.thread_cpu_share: negative");
    p = strstr(s, "\"others_speedup\": 1.034");
    assert_non_null(p);
    colon = strchr(p, ':');
    snprintf(buf, sizeof buf, "%.*s: -1.034%s", (int)(colon - s), s, strchr(colon, ','));
    expect_read_error(buf, "experiments[1].others_speedup: not positive");
    p = strstr(s, "\"expected_improvement\"");
    colon = strchr(p, ':');
    snprintf(buf, sizeof buf, "%.*s: 1.5%s", (int)(colon - s), s, strchr(colon, ','));
    expect_read_error(buf, "optimization_suggestions[0].expected_improvement: outside [0, 1]");
    /* the second point of a batch sweep, and a site of the second experiment */
    p = strstr(s, "\"throughput\": 1300");
    assert_non_null(p);
    colon = strchr(p, ':');
    snprintf(buf, sizeof buf, "%.*s: \"fast\"%s", (int)(colon - s), s, strchr(colon, ','));
    expect_read_error(buf, "model_inference.small_model.batch_sweep[1].throughput: not a number");
    p = strstr(strstr(s, "\"others_speedup\": 1.034"), "\"share\"");
    assert_non_null(p);
    colon = strchr(p, ':');
    snprintf(buf, sizeof buf, "%.*s: []%s", (int)(colon - s), s, strchr(colon, ','));
    expect_read_error(buf, "experiments[1].sites[0].share: not a number");
    free(s);
}

/* per-batch samples and the run's settings survive the round trip; bad ones are named */
static void test_samples_and_settings_read_back(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    pp_load_profile *l = &r->loading.sources[0];
    l->n_batch_ns = 3;
    l->batch_ns[0] = 1.5e6;
    l->batch_ns[1] = 2.5e6;
    l->batch_ns[2] = 9e6;
    r->inference.models[0].points[1].n_batch_ns = 1;
    r->inference.models[0].points[1].batch_ns[0] = 3e6;
    /* sub-second end times survive: `compare --paired` orders runs by them */
    r->system.timestamp = 1796464724.123456;
    assert_int_equal(pp_report_setting_set(r, "knob.batch_size", "8"), PP_OK);
    assert_int_equal(pp_report_setting_set(r, "machine.cpu", "Some CPU @ 2.0GHz"), PP_OK);
    assert_int_equal(pp_report_setting_set(r, "knob.batch_size", "16"), PP_OK); /* replaced */
    assert_int_equal(pp_report_setting_set(r, "", "x"), PP_EINVAL);
    assert_int_equal(r->n_settings, 2);
    char *s = NULL;
    assert_int_equal(pp_report_to_json_string(r, &s), PP_OK);
    pp_report *back = NULL;
    char err[512];
    assert_int_equal(pp_report_read_json(s, strlen(s), &back, err, sizeof err), PP_OK);
    assert_int_equal(back->loading.sources[0].n_batch_ns, 3);
    assert_double_equal(back->loading.sources[0].batch_ns[2], 9e6, 1e-3);
    assert_double_equal(back->system.timestamp, 1796464724.123456, 1e-5);
    assert_int_equal(back->inference.models[0].points[1].n_batch_ns, 1);
    assert_int_equal(back->inference.models[0].points[0].n_batch_ns, 0);
    assert_string_equal(pp_report_setting_get(back, "knob.batch_size"), "16");
    assert_string_equal(pp_report_setting_get(back, "machine.cpu"), "Some CPU @ 2.0GHz");
    assert_null(pp_report_setting_get(back, "knob.model"));
    pp_report_free(back);
    /* a negative sample and a setting that is not text are named */
    char buf[32768];
    char *p = strstr(s, "\"batch_s\": [");
    assert_non_null(p);
    p += strlen("\"batch_s\": [");
    snprintf(buf, sizeof buf, "%.*s-1, %s", (int)(p - s), s, p);
    expect_read_error(buf, "data_loading.database.batch_s: element not a non-negative number");
    p = strstr(s, "\"knob.batch_size\": \"16\"");
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s\"knob.batch_size\": 16%s", (int)(p - s), s,
             p + strlen("\"knob.batch_size\": \"16\""));
    expect_read_error(buf, "settings.knob.batch_size: not a string");
    free(s);
    pp_report_free(r);
}

/* the design's expected gain reads back under its name, and under the name older reports used */
static void test_design_gain_reads_under_old_name(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    assert_true(r->n_suggestions >= 1);
    r->suggestions[0].design_gain = 0.6;
    char *s = NULL;
    assert_int_equal(pp_report_to_json_string(r, &s), PP_OK);
    pp_report_free(r);
    char err[512];
    pp_report *back = NULL;
    assert_int_equal(pp_report_read_json(s, strlen(s), &back, err, sizeof err), PP_OK);
    assert_double_equal(back->suggestions[0].design_gain, 0.6, 1e-12);
    pp_report_free(back);
    char *p = strstr(s, "\"design_gain\"");
    assert_non_null(p);
    char buf[32768];
    snprintf(buf, sizeof buf, "%.*s\"seed_expectation\"%s", (int)(p - s), s,
             p + strlen("\"design_gain\""));
    free(s);
    back = NULL;
    assert_int_equal(pp_report_read_json(buf, strlen(buf), &back, err, sizeof err), PP_OK);
    assert_double_equal(back->suggestions[0].design_gain, 0.6, 1e-12);
    pp_report_free(back);
}

static char *render(const pp_report *r, unsigned flags)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(pp_report_print_console(r, f, flags), PP_OK);
    fclose(f);
    return buf;
}

static void test_console_layout(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    char *out = render(r, 0);
    const char *order[] = {"LINKEDIN POSTS PROFILING REPORT",
                           "System Stats:",
                           "  CPU Usage: 25.5%",
                           "  Available Memory: 8.5 GB",
                           "Data Loading Performance:",
                           "  database: 0.050s",
                           "Model Inference Performance:",
                           "  small_model: ",
                           "Cache Performance:",
                           "  Hit Ratio: 70.00%",
                           "Optimization Suggestions (",
                           "  1. [",
                           "     Implementation: ",
                           "     Expected Improvement: ",
                           "Bottlenecks (",
                           "Performance Targets:"};
    const char *at = out;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *p = strstr(at, order[i]);
        if (!p)
            print_error("missing or out of order: %s\n", order[i]);
        assert_non_null(p);
        at = p;
    }
    /* waiting is the loading thread's own, the process's CPU beside it;
     * a report of before keeps its one figure */
    assert_non_null(strstr(out, "CPU 25%, waiting 70%, queued for a CPU 5%; process CPU 30%"));
    assert_non_null(strstr(out, "CPU 25%, waiting 70%; process CPU 30%"));
    assert_non_null(strstr(out, "CPU 30%, waiting 70%)"));
    /* capacities no cache size reaches (compulsory misses) say so */
    assert_non_null(strstr(out, "Capacity for 80/90/95% hits: 12 / unreachable / unreachable"));
    assert_null(strchr(out, '\033')); /* no colour unless asked */
    free(out);
    out = render(r, PP_CONSOLE_COLOR);
    assert_non_null(strstr(out, "\033[1m"));
    free(out);
    pp_report_free(r);
}

/* The comparisons the sections print beside two times (sources loaded at
 * once against one after another, keep-alive, int8 against fp32) carry
 * their x-factor's interval and what it says; they survive the round trip,
 * and a speedup outside its own interval is refused with where. */
static void test_comparisons_carry_their_interval(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    pp_data_loading *dl = &r->loading;
    dl->has_concurrency = 1;
    dl->sequential_ns = 3e6;
    dl->concurrent_ns = 3e6 / 0.86;
    dl->sum_ns = 9e6;
    dl->critical_path_ns = 6e6;
    dl->concurrency_rows = 8;
    dl->concurrency_ab = (pp_ab){1, 0.86, 0.80, 0.93, 1, 12};
    dl->has_keep_alive = 1;
    dl->keep_alive_off_ns = 2e6;
    dl->keep_alive_on_ns = 1e6;
    dl->keep_alive_ab = (pp_ab){1, 2.0, 1.8, 2.2, 1, 10};
    r->inference.models[0].int8_ab = (pp_ab){1, 1.02, 0.97, INFINITY, 0, 9};
    r->inference.models[0].int8_throughput = 1326;
    /* two cache backends, the current one the slower: its replay against
     * the other's, interleaved */
    pp_cache_profile *k = &r->cache;
    k->n_backends = 4;
    k->backends[0] =
        (pp_cache_backend){.name = "redis", .current = 1, .mean_ns = 30e3, .replay_ns = 1.5e9};
    /* replays too long to pair in the time allowed: no x-factor */
    k->backends[3] = (pp_cache_backend){.name = "far", .mean_ns = 300e3, .replay_ns = 15e9};
    k->backends[1] = (pp_cache_backend){.name = "in-process",
                                        .mean_ns = 1e3,
                                        .pair_current_ns = 1.5e9,
                                        .pair_replay_ns = 0.05e9,
                                        .against_current = {1, 30.0, 28.0, 32.0, 1, 6}};
    k->backends[2] = (pp_cache_backend){.name = "memcached",
                                        .mean_ns = 29e3,
                                        .pair_current_ns = 1.5e9,
                                        .pair_replay_ns = 1.47e9,
                                        .against_current = {1, 1.02, 0.95, 1.09, 0, 6}};
    char *out = render(r, 0);
    assert_non_null(strstr(out,
                           "  redis against in-process, the same trace in 6 interleaved pairs: "
                           "replay 1.500s against 0.050s (30.00x the time, 95% 28.00 to 32.00 "
                           "x): a shared remote cache pays only when"));
    assert_non_null(strstr(out,
                           "  memcached against redis, the same trace in 6 interleaved pairs: "
                           "replay 1.470s against 1.500s (0.98x the time, 95% 0.92 to 1.05 x): "
                           "no significant change"));
    assert_null(strstr(out, "x the op latency of")); /* the unpaired x-factor of before */
    assert_non_null(strstr(out,
                           "  Backend far: avg 0.300ms, p99 0.00us, hit ratio 0.00%\n"
                           "    not compared with redis over interleaved replays (a replay "
                           "here took 15.000s, 1.500s there; the pairs would take over 20 s)"));
    assert_null(strstr(out, "far against"));
    assert_non_null(
        strstr(out, "  the batches above: slowest source 6.000ms, all sources 9.000ms"));
    assert_non_null(strstr(out,
                           "  a batch of 8 rows from every source: one after another 3.000ms, "
                           "all at once 3.488ms (0.86x, 95% 0.80 to 0.93 x, 12 pairs: slower)"));
    assert_non_null(strstr(out, "  keep-alive (api): off 2.000ms, on 1.000ms per batch (2.00x, 95% "
                                "1.80 to 2.20 x, 10 pairs: faster)"));
    assert_non_null(strstr(out, "    fp32 1300 items/s vs int8 1326 items/s (int8 1.02x, 95% at "
                                "least 0.97 x, 9 pairs: no significant change)"));
    free(out);
    char *js = NULL;
    assert_int_equal(pp_report_to_json_string(r, &js), PP_OK);
    pp_report *back = NULL;
    char err[512] = "";
    assert_int_equal(pp_report_read_json(js, strlen(js), &back, err, sizeof err), PP_OK);
    assert_true(back->loading.concurrency_ab.known);
    assert_double_equal(back->loading.concurrency_ab.speedup_low, 0.80, 1e-12);
    assert_int_equal(back->loading.concurrency_rows, 8);
    assert_int_equal(back->loading.keep_alive_ab.pairs, 10);
    assert_true(back->loading.keep_alive_ab.significant);
    assert_true(isinf(back->inference.models[0].int8_ab.speedup_high)); /* null: unbounded */
    assert_false(back->inference.models[0].int8_ab.significant);
    assert_false(back->cache.backends[0].against_current.known); /* the current one: null */
    assert_double_equal(back->cache.backends[1].against_current.speedup_low, 28.0, 1e-12);
    assert_double_equal(back->cache.backends[1].pair_current_ns, 1.5e9, 1e-3);
    pp_report_free(back);
    expect_replaced_error(js, "\"speedup\": 2.0", "\"speedup\": 2.5",
                          "data_loading.keep_alive.speedup: outside [speedup_low, speedup_high]");
    free(js);
    /* a report from before: no interval, the x-factor as it was */
    memset(&r->inference.models[0].int8_ab, 0, sizeof r->inference.models[0].int8_ab);
    out = render(r, 0);
    assert_non_null(strstr(out, "    fp32 1300 items/s vs int8 1326 items/s (1.02x)\n"));
    free(out);
    pp_report_free(r);
}

/* The experiments' passes on two CPUs of different speed: said with the
 * interval, read back, and a ratio outside its own interval refused; CPUs
 * alike are not mentioned. */
static void test_cpu_split_said_and_read_back(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    r->experiment_cpus = (pp_cpu_split){.known = 1,
                                        .slow_cpu = 0,
                                        .quick_cpu = 1,
                                        .slow_passes = 12,
                                        .quick_passes = 11,
                                        .moved_passes = 1,
                                        .slow_ns = 196e6,
                                        .quick_ns = 140e6,
                                        .ratio = 1.4,
                                        .ratio_low = 1.35,
                                        .ratio_high = 1.45,
                                        .differs = 1};
    char *out = render(r, 0);
    assert_non_null(strstr(out, "  The CPUs: the experiments' passes at the current settings took "
                                "0.196s on CPU 0 (12 passes) and 0.140s on CPU 1 (11): 1.40x (95% "
                                "1.35 to 1.45 x). This machine's CPUs differ in speed"));
    free(out);
    char *js = NULL;
    assert_int_equal(pp_report_to_json_string(r, &js), PP_OK);
    pp_report *back = NULL;
    char err[512] = "";
    assert_int_equal(pp_report_read_json(js, strlen(js), &back, err, sizeof err), PP_OK);
    assert_true(back->experiment_cpus.known && back->experiment_cpus.differs);
    assert_int_equal(back->experiment_cpus.quick_cpu, 1);
    assert_int_equal(back->experiment_cpus.moved_passes, 1);
    assert_double_equal(back->experiment_cpus.slow_ns, 196e6, 1e-3);
    assert_false(back->apply.cpus.known);
    pp_report_free(back);
    expect_replaced_error(js, "\"ratio\": 1.4", "\"ratio\": 1.6",
                          "experiment_cpus.ratio: outside [ratio_low, ratio_high]");
    free(js);
    /* alike: nothing said */
    r->experiment_cpus.differs = 0;
    r->experiment_cpus.ratio_low = 0.98;
    out = render(r, 0);
    assert_null(strstr(out, "The CPUs:"));
    free(out);
    pp_report_free(r);
}

/* Intervals print as "LOW to HIGH %", so a negative end cannot read as a
 * subtraction ("-340.5-72.0%"); every interval the console prints does. */
static void test_console_intervals_read_low_to_high(void **state)
{
    (void)state;
    pp_report *r = sample_report();
    /* a second experiment without a significant effect, its gain interval
     * reaching far below zero */
    pp_experiment *e = &r->experiments[r->n_experiments++];
    *e = r->experiments[0];
    strcpy(e->name, "arena");
    e->knob = PP_KNOB_ARENA;
    e->suggested = 0;
    e->speedup = 1.0 / 0.95;
    e->speedup_low = 1.0 / 4.405; /* gain -340.5 % */
    e->speedup_high = 1.0 / 0.28; /* gain 72.0 % */
    e->cand_ns = e->base_ns * 0.95;
    e->predicted = 0.01;
    e->predicted_low = -0.02;
    e->predicted_high = 0.04;
    r->apply.done = 1;
    r->apply.n = 1;
    pp_apply_result *a = &r->apply.results[0];
    a->category = PP_CAT_DATA_LOADING;
    a->knob = PP_KNOB_KEEP_ALIVE;
    a->value = 1;
    a->predicted_improvement = 0.25;
    a->predicted_low = 0.2;
    a->predicted_high = 0.3;
    a->measured_improvement = 0.05;
    a->measured_low = -0.125;
    a->measured_high = 0.2;
    a->pairs = 8;
    a->gauge.set_aside = 3;
    a->gauge.raw = 0.02;
    a->gauge.raw_low = -0.3;
    a->gauge.raw_high = 0.25;
    r->apply.combined = (pp_apply_combined){.predicted = 0.25,
                                            .predicted_low = 0.2,
                                            .predicted_high = 0.3,
                                            .measured = -0.01,
                                            .measured_low = -0.03,
                                            .measured_high = 0.01,
                                            .pairs = 8};
    char *out = render(r, 0);
    assert_non_null(strstr(out, "(95% -340.5 to 72.0 %)"));
    assert_non_null(strstr(out, "(90% -2.0 to 4.0 %): no significant change\n"));
    /* all at once, said against the interval that judges it */
    assert_non_null(strstr(out, "measured -1.0% (95% -3.0 to 1.0 %, 8 pairs): below the "
                                "predicted interval\n"));
    free(out);
    /* its passes faster beyond doubt, a site of it too, the prediction
     * from it reaching no gain: said so, not that nothing predicts */
    e->speedup_low = 1.05;
    e->speedup_high = 1.2;
    assert_true(e->n_sites == 1 && e->sites[0].significant);
    out = render(r, 0);
    assert_non_null(strstr(out, "(90% -2.0 to 4.0 %): the passes were faster, but what the sites "
                                "that changed predict is too uncertain to vouch for"));
    assert_null(strstr(out, "stood out from the noise"));
    free(out);
    /* its passes faster beyond doubt, its sites not: said, no prediction */
    e->sites[0].significant = 0;
    out = render(r, 0);
    assert_non_null(strstr(out, "the predicted gain's 90% interval reaches the minimum effect"));
    assert_non_null(strstr(out, "(90% -2.0 to 4.0 %): the passes were faster, but no change of "
                                "the sites it runs stood out from the noise"));
    assert_non_null(strstr(out, "measured 5.0% (95% -12.5 to 20.0 %, 8 pairs)"));
    assert_non_null(strstr(out, "measured -1.0% (95% -3.0 to 1.0 %, 8 pairs)"));
    assert_non_null(strstr(out, "Expected Improvement: 25.0% (90% 20.0 to 30.0 %)"));
    assert_non_null(strstr(out, "3 pairs set aside: the machine changed speed"));
    assert_non_null(strstr(out, "over every pair 2.0% (95% -30.0 to 25.0 %)"));
    assert_non_null(strstr(out, "items/s (95% 1200 to 1400 items/s)"));
    assert_null(strstr(out, "-340.5-"));
    free(out);
    /* its passes slower beyond doubt: said so, not "no significant change" */
    e->speedup_low = 1.0 / 1.27;
    e->speedup_high = 1.0 / 1.08;
    out = render(r, 0);
    assert_non_null(strstr(out, "Tested and not suggested"));
    assert_non_null(strstr(out, "(95% -27.0 to -8.0 %), predicted 1.0% (90% -2.0 to 4.0 %): "
                                "slower with it: the passes' 95% interval lies below no change\n"));
    assert_null(strstr(out, "no significant change"));
    free(out);
    /* faster beyond doubt, and its sites predict a gain, but too small */
    e->speedup_low = 1.001;
    e->speedup_high = 1.02;
    e->predicted_low = 0.001;
    out = render(r, 0);
    assert_non_null(strstr(out, "faster, by less than the minimum effect can be vouched for\n"));
    /* no "NUMBER-NUMBER" range anywhere after a confidence level */
    size_t len = strlen(out), checked = 0;
    for (size_t i = 3; i + 2 < len; i++) {
        if (out[i] != '%' || out[i + 1] != ' ' || out[i - 3] != '(' ||
            (strncmp(out + i - 2, "95", 2) != 0 && strncmp(out + i - 2, "90", 2) != 0))
            continue;
        double lo = 0;
        int used = 0;
        if (sscanf(out + i + 2, "%lf%n", &lo, &used) == 1) {
            assert_int_equal(strncmp(out + i + 2 + used, " to ", 4), 0);
            checked++;
        }
    }
    assert_true(checked >= 6);
    free(out);

    /* --apply at another speed of the machine: judged by the prediction made
     * again at that speed, the printed one's count beside it; both read back */
    r->apply.speed = (pp_apply_speed){.known = 1,
                                      .experiments_ns = 180e6,
                                      .apply_ns = 130e6,
                                      .ratio = 130.0 / 180.0,
                                      .ratio_low = 0.70,
                                      .ratio_high = 0.74,
                                      .differs = 1};
    a->at_speed = (pp_apply_at_speed){.known = 1,
                                      .predicted = 0.06,
                                      .predicted_low = 0.03,
                                      .predicted_high = 0.08,
                                      .hit = 1,
                                      .judged = 1};
    a->hit = 1;
    a->hit_as_predicted = 0;
    r->apply.coverage = 1.0;
    r->apply.coverage_as_predicted = 0.0;
    r->apply.coverage_expected = 0.74;
    r->apply.combined.at_speed = (pp_apply_at_speed){
        .known = 1, .predicted = 0.02, .predicted_low = -0.01, .predicted_high = 0.04, .judged = 1};
    out = render(r, 0);
    assert_non_null(strstr(out, "Measured inside the prediction made at this speed: 1 of 1 "
                                "(coverage 100%); inside the intervals printed with the "
                                "suggestions: 0 of 1"));
    assert_non_null(strstr(out, "at this speed of the machine: predicted 2.0% (90% -1.0 to 4.0 "
                                "%): measured inside it\n"));
    assert_non_null(strstr(out, "8 pairs)\n     at this speed")); /* judged there, not above */
    assert_non_null(strstr(out, "so each is made again at this speed"));
    assert_non_null(strstr(out, "Coverage expected of right predictions, given the predictions' "
                                "and the measurements' noise: 74%"));
    free(out);
    char *js = NULL;
    assert_int_equal(pp_report_to_json_string(r, &js), PP_OK);
    pp_report *back = NULL;
    char err[512];
    assert_int_equal(pp_report_read_json(js, strlen(js), &back, err, sizeof err), PP_OK);
    const pp_apply_result *b = &back->apply.results[0];
    assert_true(b->hit && !b->hit_as_predicted);
    assert_true(b->at_speed.known && b->at_speed.hit && b->at_speed.judged);
    assert_double_equal(b->at_speed.predicted_low, 0.03, 1e-9);
    assert_double_equal(back->apply.coverage_as_predicted, 0.0, 1e-12);
    assert_double_equal(back->apply.coverage_expected, 0.74, 1e-12);
    assert_true(back->apply.combined.at_speed.known && !back->apply.combined.at_speed.hit);
    assert_double_equal(back->apply.combined.at_speed.predicted_high, 0.04, 1e-9);
    pp_report_free(back);
    /* a report from before the check: hit stands for both */
    char *p = strstr(js, "\"hit_as_predicted\": false,");
    assert_non_null(p);
    memmove(p, p + strlen("\"hit_as_predicted\": false,"),
            strlen(p + strlen("\"hit_as_predicted\": false,")) + 1);
    assert_int_equal(pp_report_read_json(js, strlen(js), &back, err, sizeof err), PP_OK);
    assert_true(back->apply.results[0].hit_as_predicted);
    pp_report_free(back);
    free(js);
    pp_report_free(r);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_json_written_atomically_and_reads_back),
    cmocka_unit_test(test_unwritable_dir_leaves_nothing),
    cmocka_unit_test(test_reader_names_the_fault),
    cmocka_unit_test(test_samples_and_settings_read_back),
    cmocka_unit_test(test_design_gain_reads_under_old_name),
    cmocka_unit_test(test_console_layout),
    cmocka_unit_test(test_comparisons_carry_their_interval),
    cmocka_unit_test(test_cpu_split_said_and_read_back),
    cmocka_unit_test(test_console_intervals_read_low_to_high),
};
PP_TEST_MAIN(tests)
