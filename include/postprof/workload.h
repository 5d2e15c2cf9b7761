/*
 * postprof/workload.h - The interface a program implements so that the
 * profilers (postprof/profilers.h) can drive it: stages to run, named knobs to
 * turn, measured figures to read back and the cache's access trace.
 *
 * The LinkedIn-posts pipeline is one implementation; any program can be
 * another. The profilers time every callback themselves (wall and process
 * CPU), so a workload only does its work and reports what it processed.
 */
#ifndef POSTPROF_WORKLOAD_H
#define POSTPROF_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>
#include <postprof/histogram.h>
#include <postprof/stages.h>

/* Most workload-defined figures one stage call may report. */
#define PP_STAGE_MAX_FIGURES 8

/*
 * A workload-defined figure of one call, summed by name over the calls the
 * profiler times (e.g. a database's "fullscan_steps", "sorts", an HTTP
 * client's "connect_s", "ttfb_s", "connections_opened", "connections_reused").
 * name must stay valid for the life of the workload (a string literal).
 * One name has a meaning to the profilers: "setup_s", seconds of the call
 * spent preparing rather than doing the stage's work (e.g. emptying a remote
 * cache before a replay); the cache profiler takes it off the replay's time.
 */
typedef struct pp_figure {
    const char *name;
    double value;
} pp_figure;

/*
 * What one run_stage() call reports back. The caller zeroes it and may set
 * op_latency; the workload fills the rest.
 */
typedef struct pp_stage_result {
    uint64_t items; /* rows loaded, items preprocessed or inferred, cache ops */
    uint64_t bytes; /* bytes read (loading) */
    uint64_t hits;  /* PP_STAGE_CACHE: hits, misses, evictions of this replay */
    uint64_t misses;
    uint64_t evictions;
    pp_histogram *op_latency; /* set by the caller or NULL: when set, the workload records
                                 one value (ns) per item/op (e.g. each cache get) */
    size_t n_figures;         /* <= PP_STAGE_MAX_FIGURES; extra ones are ignored */
    pp_figure figures[PP_STAGE_MAX_FIGURES];
} pp_stage_result;

/*
 * The layout of pp_workload this header describes; a program sets
 * pp_workload.version to it. Members are only ever added at the end of the
 * struct, each new one optional and marked with the version that added it;
 * the library reads a member only from a workload whose version is at
 * least that one, so a program built against an older header keeps working
 * with a newer library, and a newer program with an older library (which
 * does not know, and so never calls, the newer members).
 *   1: every member up to on_phase.
 *   2: before_pass.
 */
#define PP_WORKLOAD_VERSION 2

/*
 * pp_workload - A program under profile. Static description plus callbacks;
 * every callback gets `ctx` first. Callbacks are called from one thread at a
 * time (the profiler's); they may use threads inside. A callback returns
 * PP_OK or a negative PP_E* code; the profilers stop and pass the code up.
 */
typedef struct pp_workload {
    int version;      /* PP_WORKLOAD_VERSION the program was built with; 0 (unset) is refused */
    const char *name; /* e.g. "linkedin-posts" */
    void *ctx;

    size_t n_sources; /* <= PP_WORKLOAD_MAX_SOURCES, e.g. database, file, api */
    const char *source_names[PP_WORKLOAD_MAX_SOURCES];
    int network_source; /* index of the source keep_alive affects, -1 if none */
    size_t n_models;    /* <= PP_WORKLOAD_MAX_MODELS, e.g. small_model ... */
    const char *model_names[PP_WORKLOAD_MAX_MODELS];
    /* Cache backends the cache_backend knob selects (e.g. "in-process", "redis");
     * 0 backends: no such knob. The cache profiler replays on each. */
    size_t n_cache_backends; /* <= PP_WORKLOAD_MAX_BACKENDS */
    const char *cache_backend_names[PP_WORKLOAD_MAX_BACKENDS];

    /*
     * Names of the scopes (PP_SCOPE) that time each stage inside one
     * PP_STAGE_PASS, so the performance profiler can read every stage's share
     * of end-to-end time from the snapshot. NULL: the stage is not part of
     * the pass (its suggestions then use an estimated share).
     */
    const char *stage_scopes[PP_STAGE_COUNT];

    /*
     * 1: inside PP_STAGE_PASS the workload loads batch_size rows per batch
     * (the load_batch knob only sizes PP_STAGE_LOAD calls), so a batch_size
     * change also changes loading; the profilers then measure loading at
     * both batch sizes for the prediction. 0: the two are independent.
     */
    int load_batch_is_batch_size;

    /* Run one stage. Required. */
    int (*run_stage)(void *ctx, pp_stage stage, unsigned index, pp_stage_result *out);
    /* Set a knob. Returns PP_EUNAVAIL for knobs the workload does not have,
     * PP_EINVAL for values out of range. Required. */
    int (*set_knob)(void *ctx, pp_knob knob, int64_t value);
    /* Read a knob's current value. Returns PP_EUNAVAIL like set_knob. Required. */
    int (*get_knob)(void *ctx, pp_knob knob, int64_t *out_value);
    /*
     * The cache's access trace: the keys of one PP_STAGE_CACHE replay, in
     * order. *out_keys stays owned by the workload and valid until the next
     * callback. NULL callback: the workload has no cache.
     */
    int (*cache_trace)(void *ctx, const uint64_t **out_keys, size_t *out_n);
    /*
     * Optional (NULL: none): told when pp_profiler_run()/pp_profiler_apply()
     * start a phase ("performance", "data_loading", "model_inference",
     * "cache", "experiments", "analyze", "apply"), e.g. to show progress.
     * Not timed as part of any stage.
     */
    void (*on_phase)(void *ctx, const char *phase);
    /*
     * Version 2. Optional (NULL: none): called right before each end-to-end
     * pass the performance profiler times (its warm-up pass included),
     * outside the pass's timing. The program may wait there: `postprof run`
     * under `postprof take-turns` waits for its turn while another process
     * runs its own pass, so two builds' passes alternate (docs/ci-gate.md).
     */
    void (*before_pass)(void *ctx);
} pp_workload;

/*
 * pp_workload_check() - Validate a workload description: a version set (1 or
 * more; members newer than the library's PP_WORKLOAD_VERSION are not read),
 * required callbacks present, counts within limits, names non-NULL. Returns
 * PP_OK or PP_EINVAL.
 */
PP_EXPORT PP_NODISCARD int pp_workload_check(const pp_workload *w);

#endif
