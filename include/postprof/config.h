/*
 * postprof/config.h - Thresholds, performance targets and profiler settings,
 * with the default thresholds and design targets as defaults, read from an INI file (inih).
 *
 * [thresholds] slow_s moderate_s mem_high_mb mem_moderate_mb cpu_high_percent
 *              share tail_ratio waiting_cpu_share min_wait_share min_tail_share
 *              min_cpu_share min_mem_share alloc_rate_mb_s cache_hit_ratio
 * [targets]    data_loading_ms inference_ms cache_hit_ratio memory_gb cpu_percent
 * [profile]    load_batch load_batches repeats passes sweep_max sweep_min_gain
 *              sweep_patience latency_target_ms exact_mrc_max shards_rate min_effect
 *              target_half_width max_pairs experiment_budget_s apply_budget_s
 *              experiments run_budget_s
 * Every key is documented in docs/report-schema.md.
 */
#ifndef POSTPROF_CONFIG_H
#define POSTPROF_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>

typedef struct pp_thresholds {
    double slow_s;            /* mean call duration > this: slow, high (default: 1 s) */
    double moderate_s;        /* > this: slow, moderate (default: 0.5 s) */
    double mem_high_mb;       /* memory delta of a call > this: high (default: 100 MB) */
    double mem_moderate_mb;   /* > this: moderate (default: 50 MB) */
    double cpu_high_percent;  /* CPU > this: high (default: 80 %) */
    double share;             /* share of end-to-end time >= this: bottleneck (0.40) */
    double tail_ratio;        /* p99 / p50 >= this: tail (10) */
    double waiting_cpu_share; /* CPU / wall <= this (wall >> CPU): waiting (0.5) */
    double min_wait_share;    /* waiting only counts for ops with share >= this (0.05) */
    double min_tail_share;    /* tail only counts for ops with share >= this (0.05) */
    double min_cpu_share;     /* cpu only counts for ops with share >= this (0.05) */
    double min_mem_share;     /* memory only counts for ops with share >= this (0.05) */
    double alloc_rate_mb_s;   /* bytes allocated / wall >= this: allocation rate (1000) */
    double cache_hit_ratio;   /* hit ratio < this: cache (0.80) */
} pp_thresholds;

typedef struct pp_targets_cfg {
    double data_loading_ms; /* < 100 */
    double inference_ms;    /* < 200 */
    double cache_hit_ratio; /* > 0.80 */
    double memory_gb;       /* < 2 */
    double cpu_percent;     /* < 70 */
} pp_targets_cfg;

typedef struct pp_profiler_cfg {
    unsigned load_batch;        /* rows per loading batch (32) */
    unsigned load_batches;      /* batches timed per source (20) */
    unsigned repeats;           /* repeats of each experiment setting (5) */
    unsigned passes;            /* end-to-end passes of the performance profile (3) */
    unsigned sweep_max;         /* largest batch size of the sweep (256) */
    double sweep_min_gain;      /* throughput gain under this counts as flat (0.05) */
    unsigned sweep_patience;    /* flat steps in a row that stop the sweep (3) */
    unsigned sweep_batches;     /* batches timed per batch size (8) */
    double latency_target_ms;   /* best batch: p99 under this (200) */
    uint64_t exact_mrc_max;     /* traces up to this length get the exact MRC (1000000) */
    double shards_rate;         /* SHARDS sampling rate for longer traces (0.01) */
    double min_effect;          /* suggest only when the gain's interval starts above this (0.01) */
    double target_half_width;   /* pairs are added until a speedup's 95 % interval is this narrow
                                   (0.01, on the ratio) */
    unsigned max_pairs;         /* most interleaved pairs of passes per experiment (40) */
    double experiment_budget_s; /* time for all knob experiments' passes together (25) */
    double apply_budget_s;      /* time for --apply's measurements together (12) */
    unsigned experiments;       /* 1: run the knob experiments (1); 0: measure only (the CI gate) */
    double run_budget_s;        /* `postprof run` from the data set ready to the report written
                                   (88; --quick 19; 0: no limit): the program splits it into the
                                   two ends below */
    /* Set by the program, not by a file: pp_clock_now_ns() past which the
     * experiments' (--apply's) rounds start no more, whatever the budgets
     * above and their fewest pairs want (each setting has 6 pairs at the
     * least); 0: none. */
    uint64_t experiments_end_ns, apply_end_ns;
} pp_profiler_cfg;

typedef struct pp_config {
    pp_thresholds thresholds;
    pp_targets_cfg targets;
    pp_profiler_cfg profile;
} pp_config;

/* pp_config_defaults() - Fill cfg with the default thresholds and design targets. Never fails. */
PP_EXPORT void pp_config_defaults(pp_config *cfg);

/* pp_config_quick() - Smaller profile sizes for `run --quick` (about 20 s): fewer
 * batches, passes and repeats, the fewest pairs and a short budget for more. */
PP_EXPORT void pp_config_quick(pp_config *cfg);

/*
 * pp_config_parse_string() - Apply INI text over cfg (keys not in the text
 * keep their values). Unknown sections or keys, values that are not numbers
 * or are out of range are errors.
 *
 * Returns PP_OK, or PP_EFORMAT with err set to "line N: unknown key 'x' in
 * [section]" (or the bad value) and *out_line = N (out_line may be NULL);
 * cfg then holds the values of the lines before the error. Thread-safe for
 * distinct cfg.
 */
PP_EXPORT PP_NODISCARD int pp_config_parse_string(pp_config *cfg, const char *text, char *err,
                                                  size_t errcap, int *out_line);

/*
 * pp_config_load() - pp_config_parse_string() on a file (at most 1 MiB).
 * Returns PP_ENOTFOUND/PP_EIO when it cannot be read (err names the path),
 * otherwise like pp_config_parse_string() with err prefixed by the path.
 */
PP_EXPORT PP_NODISCARD int pp_config_load(pp_config *cfg, const char *path, char *err,
                                          size_t errcap, int *out_line);

#endif
