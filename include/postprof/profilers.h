/*
 * postprof/profilers.h - The four profilers (performance, data
 * loading, model inference, cache) driving any pp_workload, the knob
 * experiments, the whole profiling run and --apply.
 *
 * Every function here runs the workload (so it takes time and may change its
 * knobs; each restores the knobs it touched before returning, also on error).
 * None is thread-safe with respect to the same workload. On error the report
 * section being filled is left partially filled and the workload's status
 * code (or PP_E*) is returned.
 */
#ifndef POSTPROF_PROFILERS_H
#define POSTPROF_PROFILERS_H

#include <postprof/analyze.h>
#include <postprof/config.h>
#include <postprof/export.h>
#include <postprof/report.h>
#include <postprof/workload.h>

/*
 * pp_profiler_performance() - Run cfg->passes end-to-end passes
 * (PP_STAGE_PASS) between two snapshots (pp_snapshot_take) and fill r->perf
 * with every scope that ran: count, total and self time, percentiles, CPU vs
 * wall, memory, share of end-to-end time, in call-tree order; and
 * stage_share from w->stage_scopes. Percentiles are those of the scope's
 * whole life (the snapshot's histograms are cumulative); counts and times
 * are the passes' own. During the measured passes (not the warm-up) every
 * scope call measures its thread's on-CPU time and, where malloc accounting
 * runs, its thread's allocations (pp_set_cpu_sampling(1),
 * pp_set_alloc_counting(1); the previous settings are restored); an op whose
 * figure no call measured has cpu_measured/alloc_measured/mem_measured 0.
 * Returns PP_OK, the workload's code, or PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int pp_profiler_performance(const pp_workload *w, const pp_profiler_cfg *cfg,
                                                   pp_perf_profile *out);

/*
 * pp_profiler_data_loading() - Per source: cfg->load_batches batches of
 * cfg->load_batch rows (after one warm-up): batch latency p50/p95/p99,
 * rows/s, bytes/s, CPU vs waiting share, RSS delta. Then, when the workload
 * has the concurrency knob, PP_STAGE_LOAD_ALL sequential (1) vs concurrent
 * (n_sources), and with keep_alive and a network source, that source's
 * batches with keep-alive off vs on (each cfg->repeats times; recorded as
 * experiments in r too). Fills r->loading and appends experiments.
 */
PP_EXPORT PP_NODISCARD int pp_profiler_data_loading(const pp_workload *w,
                                                    const pp_profiler_cfg *cfg, pp_report *r);

/*
 * pp_profiler_model_inference() - Per model: load time (PP_STAGE_MODEL_LOAD),
 * then a batch sweep 1, 2, 4 ... cfg->sweep_max (cfg->sweep_batches batches
 * each: p50/p99 per batch, throughput), stopping once the throughput gain
 * stays under cfg->sweep_min_gain for cfg->sweep_patience steps in a row;
 * the best batch with p99 under cfg->latency_target_ms; with the quantized
 * knob, fp32 vs int8 at that batch. Fills r->inference.
 */
PP_EXPORT PP_NODISCARD int pp_profiler_model_inference(const pp_workload *w,
                                                       const pp_profiler_cfg *cfg, pp_report *r);

/*
 * pp_profiler_cache() - Replay the cache trace once at the current capacity
 * (hit ratio, op latency mean/p99, misses, evictions), build its miss-ratio
 * curve (exact up to cfg->exact_mrc_max accesses, SHARDS at cfg->shards_rate
 * beyond), the capacities for 80/90/95 % hit ratio, and replay again at the
 * recommended capacity (the 90 % one, when larger than the current one).
 * A workload without cache_trace leaves r->cache.present = 0 and returns PP_OK.
 */
PP_EXPORT PP_NODISCARD int pp_profiler_cache(const pp_workload *w, const pp_profiler_cfg *cfg,
                                             pp_report *r);

/*
 * pp_experiment_run() - Time `stage`/`index` cfg->repeats times with knob at
 * base, then at cand (interleaved, after one warm-up each), and record the
 * medians, spreads and speedup in *out. The knob is restored. Returns
 * PP_EUNAVAIL when the workload lacks the knob (*out zeroed).
 */
PP_EXPORT PP_NODISCARD int pp_experiment_run(const pp_workload *w, const char *name, pp_stage stage,
                                             unsigned index, pp_knob knob, int64_t base,
                                             int64_t cand, unsigned repeats, pp_experiment *out);

/*
 * pp_profiler_run() - The whole profiling run: system stats, performance,
 * data loading, model inference, cache, then a knob experiment over
 * interleaved pairs of whole passes for every setting the profilers found
 * (per-site predictions with intervals, docs/profilers.md), then
 * bottlenecks, suggestions (noise gate: cfg->profile.min_effect) and
 * targets (analyze). Each finding increments bottleneck_detected_total
 * {operation,kind} and the hit ratio sets cache_hit_ratio in the default
 * metrics registry (pp_metrics_default). Fills r. Returns PP_OK or the
 * first error.
 */
PP_EXPORT PP_NODISCARD int pp_profiler_run(const pp_workload *w, const pp_config *cfg,
                                           pp_report *r);

/*
 * pp_profiler_apply() - --apply: for each suggestion with a knob, that knob
 * alone at the suggested value against the current one over interleaved
 * pairs of passes (measured gain with its 95 % interval; a hit when it lies
 * in the predicted interval; a note on a miss), coverage, then all of them
 * together against the prediction composed per site, and the targets
 * measured in an after window with every suggestion applied. Leaves the workload with every
 * suggestion applied. Fills r->apply. Returns PP_OK or the first error (knobs restored).
 */
PP_EXPORT PP_NODISCARD int pp_profiler_apply(const pp_workload *w, const pp_config *cfg,
                                             pp_report *r);

/* pp_sysstats_summary_read() - Sample /proc into *out (fields it cannot read stay 0). */
PP_EXPORT void pp_sysstats_summary_read(pp_sysstats_summary *out);

#endif
