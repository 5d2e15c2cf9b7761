/*
 * run.h - `postprof run`, in two files: cmd_run.c (the options and the order
 * of the steps) and run_steps.c (each step: configuration, data, serving,
 * profiling, reports).
 */
#ifndef PP_CLI_RUN_H
#define PP_CLI_RUN_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/postprof.h>
#include <posts/posts.h>

/* Everything `run` was asked for. */
typedef struct {
    const char *data, *out, *config_path, *listen;
    size_t posts;
    int quick, apply, no_color, serve, explain, measure_only;
    int take_turns; /* started by postprof take-turns */
    posts_prof_opts po;
    uint64_t start_ns; /* pp_clock_now_ns(), the data set ready: the time limit counts from here */
    double run_budget_s; /* [profile] run_budget_s (0: no limit) */
} run_opts;

/* The causal phase's seconds: its own (40; --quick 8), less when the run's
 * time limit leaves less, never under its fewest (15; --quick 3). */
#define RUN_CAUSAL_S 40.0
#define RUN_CAUSAL_QUICK_S 8.0
#define RUN_CAUSAL_MIN_S 15.0
#define RUN_CAUSAL_QUICK_MIN_S 3.0

/* pp_clock_now_ns() at which the run's time limit is reached when reserve_s
 * seconds are kept for what comes after; 0 when the run has no limit. */
uint64_t run_end_ns(const run_opts *o, double reserve_s);

/* [%6.1fs] PHASE on stderr; user is the run's start (struct timespec, CLOCK_MONOTONIC). */
void run_progress(void *user, const char *phase);

/* The output directory exists (or is created) and a file can be written in it; 0 or -1. */
int run_check_out_dir(const char *dir, char *err, size_t cap);

/* The profilers' settings: defaults, smaller with --quick, then --config (which wins). */
int run_load_config(run_opts *o, pp_config *cfg);

/* Generate the data set when it is missing. */
int run_ensure_data(const run_opts *o);

/* --serve: metrics collector, HTTP server and dashboard; stopped by run_stop_serving(). */
int run_start_serving(const run_opts *o, pp_sysstats **ss, pp_http_server **srv);
void run_stop_serving(int serve, pp_sysstats *ss, pp_http_server *srv);

/* Profile the pipeline (and with --apply, apply and verify) into r. */
int run_profile(const run_opts *o, const pp_config *cfg, posts_prof *prof, pp_report *r, int argc,
                char **argv);

/* The console report, OUT/report.json and OUT/report.html. */
int run_write_reports(const run_opts *o, const pp_report *r);

/* --explain: EXPLAIN ANALYZE of the database source's statement, printed and in OUT/explain.txt. */
int run_write_explain(const run_opts *o, const pp_config *cfg);

/* The causal phase: the pipeline's stage scopes through virtual speedups, into r->causal
 * (a failure is a note there). After run_profile(): it reads the profiled passes' shares. */
void run_causal(const run_opts *o, const pp_workload *w, pp_report *r, int argc, char **argv);

#endif
