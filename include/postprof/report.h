/*
 * postprof/report.h - The profiling report as plain data: what the profilers
 * measured, what analyze concluded (bottlenecks, suggestions, targets) and,
 * after --apply, predicted vs measured. Export renders it (JSON, console);
 * pp_report_read() loads a JSON report back for comparisons.
 *
 * All durations are in ns, sizes in bytes, ratios and improvements are
 * fractions (0.25 = 25 %). Fixed-size arrays keep the structure flat; every
 * string is NUL-terminated within its array.
 */
#ifndef POSTPROF_REPORT_H
#define POSTPROF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <postprof/error.h>
#include <postprof/export.h>
#include <postprof/stages.h>

#define PP_REPORT_SCHEMA_VERSION 1
#define PP_REPORT_NAME_MAX 64
#define PP_REPORT_TEXT_MAX 256
#define PP_REPORT_EVIDENCE_MAX 3072 /* the arithmetic behind a suggestion, every site it adds */
#define PP_REPORT_MAX_OPS 128
#define PP_REPORT_MAX_PASSES 32
#define PP_REPORT_MAX_BATCHES 16 /* batch sizes 1, 2, 4 ... 256 fit */
#define PP_REPORT_MAX_MRC 64
#define PP_REPORT_MAX_FINDINGS 64
#define PP_REPORT_MAX_SUGGESTIONS 16
#define PP_REPORT_MAX_EXPERIMENTS 16
#define PP_REPORT_MAX_TARGETS 8
#define PP_REPORT_MAX_SAMPLES 64  /* per-batch latencies kept per source and per sweep point */
#define PP_REPORT_MAX_SETTINGS 64 /* what a run was run with (pp_report.settings) */

/* System figures sampled at the end of the run. */
typedef struct pp_sysstats_summary {
    double cpu_percent;         /* process CPU time / wall time of the run, over all cores, % */
    double memory_percent;      /* used / total system memory, % */
    double memory_available_gb; /* MemAvailable, GiB */
    double rss_bytes;           /* resident set of this process */
    double peak_rss_bytes;      /* VmHWM */
    double disk_read_bytes;     /* /proc/self/io read_bytes */
    double disk_write_bytes;    /* /proc/self/io write_bytes */
    double timestamp;           /* seconds since the Unix epoch */
    int n_cpus;
} pp_sysstats_summary;

/* One operation (scope) of the performance profile, in call-tree order. */
typedef struct pp_perf_op {
    char name[PP_REPORT_NAME_MAX];
    int parent; /* index of the parent op, -1 for a root */
    int depth;
    uint64_t count;
    double total_ns, self_ns, mean_ns, max_ns;
    double p50_ns, p95_ns, p99_ns;
    double cpu_ns, cpu_wall_ns; /* on-CPU time and wall time of the calls whose CPU was measured */
    uint64_t cpu_calls;     /* those calls (a sample: every Nth per thread, the first one too) */
    double mem_delta_bytes; /* largest memory growth within one call (peak, else RSS) */
    double alloc_bytes;     /* bytes requested within the op's calls (its own thread's) */
    /* 1 when the figure was measured; 0: "not measured" (never read as 0) */
    int cpu_measured;   /* cpu_ns, cpu_wall_ns */
    int mem_measured;   /* mem_delta_bytes */
    int alloc_measured; /* alloc_bytes */
    double share;       /* total_ns / end-to-end wall time of the passes */
    int async; /* an async span (PP_ASYNC_*): spans overlap, so total_ns and share can exceed
                  the pass; not judged by share */
} pp_perf_op;

typedef struct pp_perf_profile {
    size_t n_ops;
    pp_perf_op ops[PP_REPORT_MAX_OPS];
    size_t n_passes;
    double pass_ns[PP_REPORT_MAX_PASSES];     /* wall time of each end-to-end pass */
    double pass_cpu_ns[PP_REPORT_MAX_PASSES]; /* process CPU time of each pass (0: not measured) */
    double end_to_end_ns;                     /* median of pass_ns */
    double stage_share[PP_STAGE_COUNT];       /* share of each stage in a pass, -1 unknown */
} pp_perf_profile;

#define PP_REPORT_MAX_FIGURES 8

/* A workload-defined figure (pp_figure), summed over the timed calls. */
typedef struct pp_named_figure {
    char name[32];
    double total;
} pp_named_figure;

/* Data loading of one source. */
typedef struct pp_load_profile {
    char name[PP_REPORT_NAME_MAX];
    uint64_t batch_size, batches, rows, bytes;
    double mean_ns, p50_ns, p95_ns, p99_ns; /* per batch */
    double rows_per_s, bytes_per_s;
    double cpu_share;        /* process CPU / wall while loading (every thread: above 1 when
                              * the source's own threads, or an in-process server, work meanwhile) */
    int thread_measured;     /* the next three were measured (reports of before: not) */
    double thread_cpu_share; /* the loading thread's own CPU / wall */
    /* the loading thread blocked (I/O, the network, a lock, another thread):
     * wall less its CPU and its wait for a CPU, / wall (without
     * thread_measured: 1 - cpu_share, floored at 0) */
    double wait_share;
    double cpu_wait_share; /* the loading thread runnable, waiting for a CPU / wall; -1: not
                              measured */
    double rss_delta_bytes;
    size_t n_figures; /* workload-defined figures of the timed batches */
    pp_named_figure figures[PP_REPORT_MAX_FIGURES];
    size_t n_batch_ns; /* each timed batch's latency, in order (the first PP_REPORT_MAX_SAMPLES) */
    double batch_ns[PP_REPORT_MAX_SAMPLES];
} pp_load_profile;

/* One setting against another, printed beside their two times: how many
 * times faster the second is (the first's time over the second's) with its
 * 95 % interval, from the same interleaved pairs as the times. */
typedef struct pp_ab {
    int known; /* 0: not measured, or a report from before these were kept */
    double speedup, speedup_low, speedup_high;
    int significant; /* the interval excludes 1 */
    unsigned pairs;
} pp_ab;

typedef struct pp_data_loading {
    size_t n_sources;
    pp_load_profile sources[PP_WORKLOAD_MAX_SOURCES];
    int has_concurrency;       /* sequential vs concurrent measured */
    double sequential_ns;      /* one batch from every source, one after another (median) */
    double concurrent_ns;      /* the same, all at once (median) */
    double sum_ns;             /* sum of the sources' mean batch times */
    double critical_path_ns;   /* max of them: the concurrent lower bound */
    uint64_t concurrency_rows; /* rows per batch from each source in sequential_ns (0: unknown) */
    pp_ab concurrency_ab;      /* all at once against one after another */
    int has_keep_alive;
    int keep_alive_source;
    double keep_alive_off_ns, keep_alive_on_ns; /* median batch time of the network source */
    pp_ab keep_alive_ab;                        /* on against off */
} pp_data_loading;

typedef struct pp_batch_point {
    uint64_t batch;
    double p50_ns, p99_ns, mean_ns;         /* per batch */
    double throughput;                      /* items per second at the typical batch latency */
    double throughput_low, throughput_high; /* its 95 % interval over the timed batches */
    unsigned samples;                       /* batches timed */
    size_t n_batch_ns; /* each timed batch's latency (the first PP_REPORT_MAX_SAMPLES) */
    double batch_ns[PP_REPORT_MAX_SAMPLES];
} pp_batch_point;

typedef struct pp_model_profile {
    char name[PP_REPORT_NAME_MAX];
    double load_ns;
    size_t n_points;
    pp_batch_point points[PP_REPORT_MAX_BATCHES];
    int stopped_early;   /* sweep stopped: gains under the threshold for several steps */
    uint64_t best_batch; /* the smallest batch whose throughput interval overlaps that of the
                            highest throughput with p99 under the latency target (0: none) */
    uint64_t top_batch;  /* the highest throughput itself */
    double best_p99_ns, best_throughput;
    uint64_t current_batch; /* the workload's batch size before profiling */
    int has_int8;
    double fp32_throughput, int8_throughput; /* at best_batch (or current when none) */
    double fp32_p50_ns, int8_p50_ns;
    pp_ab int8_ab; /* int8 against fp32, per batch */
} pp_model_profile;

typedef struct pp_model_inference {
    size_t n_models;
    pp_model_profile models[PP_WORKLOAD_MAX_MODELS];
    double latency_target_ns;
    int current_model; /* the model PP_STAGE_PASS uses (knob model, 0 without it) */
} pp_model_inference;

typedef struct pp_mrc_point {
    uint64_t capacity;
    double miss_ratio;
} pp_mrc_point;

/* The cache backends are compared over interleaved replays only when the
 * pairs fit in this many seconds (a replay of the whole trace on a remote
 * cache can take seconds). */
#define PP_REPORT_BACKEND_PAIRS_S 20.0

/* One replay of the trace on one cache backend. */
typedef struct pp_cache_backend {
    char name[PP_REPORT_NAME_MAX];
    int current; /* the backend the workload uses */
    double hit_ratio, mean_ns, p99_ns, replay_ns;
    /* the current backend against this one, replays interleaved (not for
     * the current one): the current's replay in those pairs, this one's
     * (current_replay_ns / speedup), and how many times faster this one is */
    double pair_current_ns, pair_replay_ns;
    pp_ab against_current;
} pp_cache_backend;

typedef struct pp_cache_profile {
    int present;
    uint64_t capacity; /* entries, the workload's setting */
    uint64_t ops, hits, misses, evictions;
    double hit_ratio;
    double mean_ns, p99_ns; /* per op */
    double replay_ns;       /* one replay of the trace at the current capacity */
    uint64_t trace_len, unique_keys;
    char mrc_method[16];  /* "exact" or "shards" */
    double sampling_rate; /* 1 for exact */
    size_t n_mrc;
    pp_mrc_point mrc[PP_REPORT_MAX_MRC];
    uint64_t capacity_for[3]; /* entries for 80, 90, 95 % hit ratio (0: unreachable) */
    uint64_t recommended_capacity;
    int has_recommended; /* replay measured at recommended_capacity */
    double recommended_hit_ratio, recommended_replay_ns;
    double recommended_now_ns; /* the replay at the capacity now, in the same pairs (0: not kept) */
    pp_ab recommended_ab;      /* the replay at recommended_capacity against now */
    size_t n_backends;         /* every backend side by side (0: no cache_backend knob) */
    pp_cache_backend backends[PP_WORKLOAD_MAX_BACKENDS];
} pp_cache_profile;

#define PP_SITE_MAX_WITHIN 8   /* per site: the enclosing scopes remembered */
#define PP_REPORT_MAX_SITES 24 /* per experiment: the sites whose self time changed most */

/*
 * One instrumented site (or, where work overlaps, one stage scope taken
 * whole: its critical path) in a knob experiment: its self time per pass at
 * both settings from the same interleaved pairs, its share of a pass and its
 * speedup, each with its 95 % interval.
 */
typedef struct pp_site_change {
    char name[PP_REPORT_NAME_MAX];
    int stage;                           /* the pp_stage whose scope encloses the site, -1 none */
    int whole_stage;                     /* 1: a stage scope taken whole (its children overlap) */
    double base_ns;                      /* self time per pass at the current setting (median) */
    double cand_ns;                      /* base_ns / speedup: from the same pairs */
    double share, share_low, share_high; /* base self time / pass time */
    double speedup, speedup_low, speedup_high; /* base / cand self time */
    int significant;                           /* the speedup's interval excludes 1 */
    double gain;                               /* share * (1 - 1/speedup) */
    /* the scopes that enclose the site in the pass, innermost first, each
     * as the 64-bit FNV-1a hash of its name: where one setting takes a
     * scope whole, another setting's sites under it compose within it (all
     * settings at once, `--apply`). Not written to report.json. */
    uint64_t within[PP_SITE_MAX_WITHIN];
    unsigned n_within;
} pp_site_change;

/*
 * A knob experiment: the pass (or, for section figures, one stage) at two
 * settings of one knob, interleaved pairs until the interval is narrow
 * enough or the time budget is spent. speedup is the Hodges-Lehmann
 * estimate of base / cand over the pairs with its 95 % interval; base_ns is
 * the median at the current setting and cand_ns = base_ns / speedup, so the
 * two times and the x-factor never disagree.
 */
typedef struct pp_experiment {
    char name[PP_REPORT_NAME_MAX];
    pp_stage stage;
    unsigned index;
    pp_knob knob;
    int64_t base_value, cand_value;
    int64_t current_value;   /* the knob's value before profiling (what a suggestion changes) */
    int per_item;            /* 1: base_ns/cand_ns are per item (batch size sweeps) */
    double base_ns, cand_ns; /* per call (or per item): see above */
    double base_spread, cand_spread; /* (max - min) / median of the repeats */
    unsigned repeats;                /* pairs the figures are from */
    unsigned set_aside; /* more pairs, left out: the machine changed speed within them */
    /* the sites the setting did not change, together, ran this many times
     * faster in its passes (95 %) while others changed: taken as the
     * machine's speed, every time of those passes was multiplied by it
     * before the sites were judged; 0 when not */
    double others_speedup, others_speedup_low, others_speedup_high;
    /* when they ran significantly faster so: the same sites' speedup in its
     * passes against the other settings' passes of the same rounds (95 %);
     * its low end above 1, the speed was the setting's own and nothing was
     * gauged (others_speedup 0); 0 when not compared */
    double others_own, others_own_low, others_own_high;
    double speedup, speedup_low, speedup_high; /* 95 % */
    int significant;                           /* the interval excludes 1 */
    /* per-site prediction of the gain in end-to-end time (90 %), from the
     * sites whose change is significant; suggested: it passed the noise gate */
    double predicted, predicted_low, predicted_high;
    int suggested;
    int cut_short; /* the run's time limit stopped it while it was still going */
    size_t n_sites;
    pp_site_change sites[PP_REPORT_MAX_SITES];
} pp_experiment;

typedef enum pp_severity { PP_SEV_MODERATE, PP_SEV_HIGH } pp_severity;

#define PP_FINDING_KIND_LIST(X)                                                                    \
    X(PP_FIND_SLOW, "slow")                                                                        \
    X(PP_FIND_MEMORY, "memory")                                                                    \
    X(PP_FIND_CPU, "cpu")                                                                          \
    X(PP_FIND_SHARE, "share")                                                                      \
    X(PP_FIND_TAIL, "tail")                                                                        \
    X(PP_FIND_WAITING, "waiting")                                                                  \
    X(PP_FIND_ALLOC_RATE, "alloc_rate")                                                            \
    X(PP_FIND_CACHE_HIT, "cache_hit")

typedef enum pp_finding_kind {
#define PP__FK_ENUM(id, name) id,
    PP_FINDING_KIND_LIST(PP__FK_ENUM)
#undef PP__FK_ENUM
        PP_FIND_KIND_COUNT
} pp_finding_kind;

typedef struct pp_finding {
    char operation[PP_REPORT_NAME_MAX];
    pp_finding_kind kind;
    pp_severity severity;
    double value;     /* the figure that crossed the threshold, in `unit` */
    double threshold; /* the threshold it crossed */
    char unit[16];    /* "s", "MB", "%", "ratio", "MB/s" */
    char message[PP_REPORT_TEXT_MAX];
} pp_finding;

typedef enum pp_category {
    PP_CAT_PERFORMANCE,
    PP_CAT_MEMORY,
    PP_CAT_DATA_LOADING,
    PP_CAT_MODEL_INFERENCE,
    PP_CAT_CACHE
} pp_category;

typedef enum pp_impact { PP_IMPACT_LOW, PP_IMPACT_MEDIUM, PP_IMPACT_HIGH } pp_impact;
typedef enum pp_basis { PP_BASIS_MEASURED, PP_BASIS_ESTIMATED } pp_basis;

typedef struct pp_suggestion {
    pp_category category;
    char description[PP_REPORT_TEXT_MAX];
    pp_impact impact;
    char implementation[PP_REPORT_TEXT_MAX];
    double expected_improvement; /* fraction of end-to-end time saved, in [0, 1] */
    double expected_improvement_low, expected_improvement_high; /* its 90 % interval */
    pp_basis basis;
    char model[PP_REPORT_NAME_MAX]; /* how the figure was computed: "amdahl", "critical_path" ... */
    char evidence[PP_REPORT_EVIDENCE_MAX];
    double stage_share;   /* p of Amdahl's law */
    double stage_speedup; /* s of Amdahl's law */
    int knob;             /* the setting to apply: a pp_knob, -1 when none */
    int64_t value;
    double design_gain; /* the design target: the expected gain for this category, -1 none */
} pp_suggestion;

typedef struct pp_target {
    char name[PP_REPORT_NAME_MAX]; /* data_loading_latency, inference_latency, ... */
    double value, limit;
    char unit[16];
    int upper;    /* 1: value must stay below limit; 0: above */
    int measured; /* 0: no data (counts as FAIL) */
    int pass;
} pp_target;

/*
 * How an --apply measurement was adjusted for the machine's speed: the
 * self time of the stages the setting does not change (stages[], by the
 * experiments) gauges it in each pass, and the measured gain is taken with
 * that gauge's change removed (weight theta, docs/profilers.md). used 0:
 * not adjusted (why in `why`); the unadjusted figures are always kept.
 */
typedef struct pp_apply_gauge {
    int used;
    char stages[PP_REPORT_NAME_MAX]; /* "preprocess, cache"; "" none */
    double theta, share;             /* slope applied; the gauge's share of a pass */
    double gauge_ratio, gauge_low,
        gauge_high;                /* the gauge's own ratio, setting over current (95 %) */
    double raw, raw_low, raw_high; /* the gain over every pair, unadjusted (95 %) */
    unsigned set_aside;            /* pairs left out: the machine changed speed within them */
    char why[PP_REPORT_NAME_MAX];  /* when not used */
} pp_apply_gauge;

/*
 * A prediction made again at --apply's speed of the machine: the
 * experiment's site speedups (what the setting does) with each site's
 * share of --apply's own passes at the current settings (where the time
 * goes at this speed), 90 %. Used to judge the measurement only when the
 * machine's speed differed from the experiments' (pp_apply_speed.differs).
 */
typedef struct pp_apply_at_speed {
    int known; /* 0: not made (no experiment's sites, a site that did not run) */
    double predicted, predicted_low, predicted_high;
    int hit;    /* the measurement lies inside this interval */
    int judged; /* 1: the result's hit is this one (the speed differed) */
} pp_apply_at_speed;

typedef struct pp_apply_result {
    pp_category category;
    char description[PP_REPORT_TEXT_MAX];
    int knob;
    int64_t value;
    double predicted_improvement, predicted_low, predicted_high; /* 90 % */
    double measured_improvement, measured_low, measured_high;    /* 95 %, interleaved pairs */
    int hit; /* inside the prediction that holds at --apply's speed */
    unsigned pairs;
    double before_ns, after_ns;    /* from the same pairs: after = before * (1 - measured) */
    double noise;                  /* half-width of the measured interval */
    char note[PP_REPORT_TEXT_MAX]; /* why a miss happened, empty for a hit */
    pp_apply_gauge gauge;
    int hit_as_predicted; /* measured inside the interval the run printed */
    pp_apply_at_speed at_speed;
    int cut_short; /* the run's time limit stopped it while it was still going */
} pp_apply_result;

/* Every suggestion at once: the prediction composed per site, and measured. */
typedef struct pp_apply_combined {
    double predicted, predicted_low, predicted_high;
    double measured, measured_low, measured_high;
    unsigned pairs;
    pp_apply_gauge gauge;
    pp_apply_at_speed at_speed;
    int cut_short; /* the run's time limit stopped it while it was still going */
} pp_apply_combined;

/*
 * The machine's speed in --apply against the experiments': the passes at
 * the current settings in each phase (wall time less the pass thread's CPU
 * waits), ratio = --apply's over the experiments' (Hodges-Lehmann over
 * every pair of the two groups, 95 %). A site's share of a pass moves with
 * the machine's speed (not every site slows alike), and each prediction
 * was made at the experiments' speed.
 */
/* The passes at the current settings of one phase, by the CPU the pass's
 * thread ran on (start to end, not moved): the two CPUs with the most
 * passes, the slower one's median time over the quicker one's with its 95 %
 * interval (unpaired). */
typedef struct pp_cpu_split {
    int known; /* 0: fewer than 3 passes on each of two CPUs */
    int slow_cpu, quick_cpu;
    unsigned slow_passes, quick_passes, moved_passes; /* moved: changed CPU within the pass */
    double slow_ns, quick_ns; /* quick_ns: the quicker one's median; slow = quick x ratio */
    double ratio, ratio_low, ratio_high; /* slow over quick */
    int differs;                         /* the interval lies wholly above 1.05x */
} pp_cpu_split;

typedef struct pp_apply_speed {
    int known; /* 0: one of the phases had no pass to compare */
    double experiments_ns,
        apply_ns; /* experiments: their median pass; apply = experiments x ratio */
    double ratio, ratio_low, ratio_high; /* apply over experiments (95 %) */
    int differs;                         /* the interval lies wholly outside 0.95x to 1.05x */
} pp_apply_speed;

typedef struct pp_apply {
    int done;
    pp_apply_speed speed;
    pp_cpu_split cpus;            /* --apply's passes at the current settings by CPU */
    double before_ns, after_ns;   /* end to end, all suggestions applied together */
    double coverage;              /* hits / suggestions measured */
    double coverage_as_predicted; /* the same, each against the interval the run printed */
    /* the coverage expected of predictions exactly as right as their
     * intervals say, measured with these measurements' noise (the mean of
     * each one's chance; NAN: not known) */
    double coverage_expected;
    pp_apply_combined combined;
    size_t n_before_targets, n_after_targets;
    pp_target before_targets[PP_REPORT_MAX_TARGETS], after_targets[PP_REPORT_MAX_TARGETS];
    size_t n;
    pp_apply_result results[PP_REPORT_MAX_SUGGESTIONS];
} pp_apply;

/*
 * One thing a run was run with, as text: "data.bytes", "knob.batch_size",
 * "profile.passes", "machine.cpu" ... (the part before the first '.' groups
 * them). Two runs are comparable when their settings agree (`postprof
 * compare`). Names and values are NUL-terminated within their arrays.
 */
typedef struct pp_setting {
    char name[PP_REPORT_NAME_MAX];
    char value[PP_REPORT_TEXT_MAX];
} pp_setting;

/* ---- causal predictions for the workload's stages (`postprof run`, docs/causal.md) ---- */

#define PP_REPORT_MAX_CAUSAL_SITES 8
#define PP_REPORT_MAX_CAUSAL_POINTS 4
#define PP_REPORT_MAX_CAUSAL_CHECKS 4

/* One virtual speedup of one stage scope. Gains are fractions of the phase's time per
 * progress point; decided: the 95 % interval exists and is within the run's precision. */
typedef struct pp_report_causal_point {
    double speedup;                   /* fraction of the scope's time removed */
    double gain, gain_low, gain_high; /* 95 %; low/high NaN while too few experiments */
    unsigned experiments;
    int decided;
    double share_gain; /* what the scope's share of the phase predicts: min(share, 1) x speedup */
    int agree;         /* 1: share_gain inside [gain_low, gain_high]; 0: outside; -1: not decided */
} pp_report_causal_point;

/* A knob experiment that changed this scope, against the causal curve at the same fraction
 * of the scope's time removed; both in end-to-end terms (fractions of a pass). */
typedef struct pp_report_causal_check {
    char experiment[PP_REPORT_NAME_MAX];
    double removed;                         /* 1 - 1/speedup of the scope in that experiment */
    double knob, knob_low, knob_high;       /* the experiment's per-site prediction (share model) */
    double causal, causal_low, causal_high; /* the causal curve at `removed`, x phase share */
    int agree;                              /* the two intervals overlap */
} pp_report_causal_check;

typedef struct pp_report_causal_site {
    char name[PP_REPORT_NAME_MAX];
    int stage;    /* the pp_stage this scope times, -1 none */
    double slope; /* gain per unit of speedup (least squares through 0) */
    double share; /* the scope's time over the phase's in the profiled passes, -1 unknown */
    size_t n_points;
    pp_report_causal_point points[PP_REPORT_MAX_CAUSAL_POINTS];
    size_t n_checks;
    pp_report_causal_check checks[PP_REPORT_MAX_CAUSAL_CHECKS];
    char verdict[PP_REPORT_EVIDENCE_MAX]; /* which prediction to believe and why */
} pp_report_causal_site;

typedef struct pp_report_causal {
    int done; /* 0: no causal phase ran (note says why when it was tried) */
    char progress[PP_REPORT_NAME_MAX]; /* the progress point measured */
    char phase[PP_REPORT_NAME_MAX];    /* the scope enclosing the experiments' work */
    double phase_share;                /* that scope's share of a pass, -1 unknown */
    double budget_s, seconds;          /* the time allowed, the time taken */
    double precision;                  /* the half-width that decides a point */
    unsigned runs;
    size_t experiments, baselines;
    double baseline_ns; /* time per progress point of the baselines (median) */
    size_t undecided;   /* points left undecided when the budget ran out */
    char note[PP_REPORT_TEXT_MAX];
    size_t n_sites;
    pp_report_causal_site sites[PP_REPORT_MAX_CAUSAL_SITES];
} pp_report_causal;

typedef struct pp_report {
    int schema_version;
    char workload[PP_REPORT_NAME_MAX];
    size_t n_settings; /* what the run was run with, in the order they were set */
    pp_setting settings[PP_REPORT_MAX_SETTINGS];
    pp_sysstats_summary system;
    pp_perf_profile perf;
    pp_data_loading loading;
    pp_model_inference inference;
    pp_cache_profile cache;
    size_t n_experiments;
    pp_experiment experiments[PP_REPORT_MAX_EXPERIMENTS];
    /* the experiments' passes at the current settings (ns, wall time less
     * the pass thread's CPU waits), for --apply's speed check; not in
     * report.json */
    size_t n_experiment_passes;
    double experiment_passes_ns[64];
    int experiment_pass_cpu[64];  /* the CPU each of them ran on; -1: it moved, or unknown */
    pp_cpu_split experiment_cpus; /* the experiments' passes at the current settings by CPU */
    size_t n_findings;
    pp_finding findings[PP_REPORT_MAX_FINDINGS];
    size_t n_suggestions;
    pp_suggestion suggestions[PP_REPORT_MAX_SUGGESTIONS];
    size_t n_targets;
    pp_target targets[PP_REPORT_MAX_TARGETS];
    pp_apply apply;
    pp_report_causal causal; /* the causal phase of `postprof run` */
} pp_report;

/* pp_report_new() - A zeroed report (schema_version set, shares unknown). NULL when out of memory.
 */
PP_EXPORT pp_report *pp_report_new(void);

/* pp_report_free() - Release a report. NULL is a no-op. */
PP_EXPORT void pp_report_free(pp_report *r);

/*
 * pp_report_setting_set() - Set setting name to value (replacing an earlier
 * value of the same name). Returns PP_OK; PP_EINVAL for an empty name or one
 * or a value too long for pp_setting; PP_ERANGE when PP_REPORT_MAX_SETTINGS
 * are already set (r unchanged on error).
 */
PP_EXPORT PP_NODISCARD int pp_report_setting_set(pp_report *r, const char *name, const char *value);

/* pp_report_setting_get() - The value of setting name, NULL when not set. */
PP_EXPORT const char *pp_report_setting_get(const pp_report *r, const char *name);

/* Names used in the JSON and console output; "?" when out of range. */
PP_EXPORT const char *pp_finding_kind_name(pp_finding_kind kind);
PP_EXPORT const char *pp_severity_name(pp_severity sev);
PP_EXPORT const char *pp_category_name(pp_category cat);
PP_EXPORT const char *pp_impact_name(pp_impact impact);
PP_EXPORT const char *pp_basis_name(pp_basis basis);

/*
 * pp_report_write_json() - Write the report as JSON to path by
 * pp_file_write() (postprof/file.h): a regular file atomically (temporary
 * file in the same directory, fsync, rename over path); a device, FIFO or
 * "-" in place.
 *
 * Returns PP_OK; pp_file_write()'s codes when path cannot be written
 * (nothing is left behind: the temporary file is removed, path is
 * untouched); PP_ENOMEM. err (may be NULL) receives a message naming the path
 * and the reason. Thread-safe for distinct reports.
 */
PP_EXPORT PP_NODISCARD int pp_report_write_json(const pp_report *r, const char *path, char *err,
                                                size_t errcap);

/*
 * pp_report_to_json_string() - The report's JSON as a string owned by the
 * caller (free()). Returns PP_OK or PP_ENOMEM (*out = NULL).
 */
PP_EXPORT PP_NODISCARD int pp_report_to_json_string(const pp_report *r, char **out);

/* Console rendering options. */
#define PP_CONSOLE_COLOR 1u /* ANSI colours; the CLI sets it only when stdout is a terminal */

/*
 * pp_report_print_console() - Render the report in the console layout
 * (banner, System Stats, Data Loading Performance, Model Inference
 * Performance, Cache Performance, Optimization Suggestions, then bottlenecks,
 * targets and predicted vs measured) to f. Returns PP_OK or PP_EIO.
 */
PP_EXPORT PP_NODISCARD int pp_report_print_console(const pp_report *r, FILE *f, unsigned flags);

/*
 * pp_report_read_json() - Parse a JSON report (as written by
 * pp_report_write_json) from a buffer back into a new report. Checks the
 * schema version and the types of every field it reads; unknown fields are
 * ignored. Input over 64 MiB is refused (PP_ERANGE).
 *
 * Returns PP_OK and *out (free with pp_report_free), or PP_EFORMAT with err
 * naming the field (or JSON line/column) at fault and *out = NULL; PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int pp_report_read_json(const char *data, size_t len, pp_report **out,
                                               char *err, size_t errcap);

/* pp_report_load_json() - pp_report_read_json() on a file. PP_EIO/PP_ENOTFOUND when unreadable. */
PP_EXPORT PP_NODISCARD int pp_report_load_json(const char *path, pp_report **out, char *err,
                                               size_t errcap);

#endif
