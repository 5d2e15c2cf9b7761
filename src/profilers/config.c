/*
 * config.c - Thresholds, targets and profiler settings: the design's defaults,
 * overridden from INI text read with inih. Unknown keys and bad values are
 * errors that name the key and its line; nothing is printed.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include <postprof/file.h>
#include <postprof/config.h>
#include <postprof/error.h>

#define CONFIG_MAX_BYTES (1024 * 1024)

enum { T_DOUBLE, T_UINT, T_U64 };

typedef struct key_def {
    const char *section, *name;
    int type;
    size_t offset;
    double min, max;
} key_def;

#define TH(f) offsetof(pp_config, thresholds.f)
#define TG(f) offsetof(pp_config, targets.f)
#define PR(f) offsetof(pp_config, profile.f)

static const key_def keys[] = {
    {"thresholds", "slow_s", T_DOUBLE, TH(slow_s), 0, 1e6},
    {"thresholds", "moderate_s", T_DOUBLE, TH(moderate_s), 0, 1e6},
    {"thresholds", "mem_high_mb", T_DOUBLE, TH(mem_high_mb), 0, 1e9},
    {"thresholds", "mem_moderate_mb", T_DOUBLE, TH(mem_moderate_mb), 0, 1e9},
    {"thresholds", "cpu_high_percent", T_DOUBLE, TH(cpu_high_percent), 0, 100000},
    {"thresholds", "share", T_DOUBLE, TH(share), 0, 1},
    {"thresholds", "tail_ratio", T_DOUBLE, TH(tail_ratio), 1, 1e9},
    {"thresholds", "waiting_cpu_share", T_DOUBLE, TH(waiting_cpu_share), 0, 1},
    {"thresholds", "min_wait_share", T_DOUBLE, TH(min_wait_share), 0, 1},
    {"thresholds", "min_tail_share", T_DOUBLE, TH(min_tail_share), 0, 1},
    {"thresholds", "min_cpu_share", T_DOUBLE, TH(min_cpu_share), 0, 1},
    {"thresholds", "min_mem_share", T_DOUBLE, TH(min_mem_share), 0, 1},
    {"thresholds", "alloc_rate_mb_s", T_DOUBLE, TH(alloc_rate_mb_s), 0, 1e12},
    {"thresholds", "cache_hit_ratio", T_DOUBLE, TH(cache_hit_ratio), 0, 1},
    {"targets", "data_loading_ms", T_DOUBLE, TG(data_loading_ms), 0, 1e9},
    {"targets", "inference_ms", T_DOUBLE, TG(inference_ms), 0, 1e9},
    {"targets", "cache_hit_ratio", T_DOUBLE, TG(cache_hit_ratio), 0, 1},
    {"targets", "memory_gb", T_DOUBLE, TG(memory_gb), 0, 1e6},
    {"targets", "cpu_percent", T_DOUBLE, TG(cpu_percent), 0, 100000},
    {"profile", "load_batch", T_UINT, PR(load_batch), 1, 1e6},
    {"profile", "load_batches", T_UINT, PR(load_batches), 1, 1e6},
    {"profile", "repeats", T_UINT, PR(repeats), 1, 64},
    {"profile", "passes", T_UINT, PR(passes), 1, 32},
    {"profile", "sweep_max", T_UINT, PR(sweep_max), 1, 65536},
    {"profile", "sweep_min_gain", T_DOUBLE, PR(sweep_min_gain), 0, 10},
    {"profile", "sweep_patience", T_UINT, PR(sweep_patience), 1, 64},
    {"profile", "sweep_batches", T_UINT, PR(sweep_batches), 1, 100000},
    {"profile", "latency_target_ms", T_DOUBLE, PR(latency_target_ms), 0, 1e9},
    {"profile", "exact_mrc_max", T_U64, PR(exact_mrc_max), 0, 2147483647.0},
    {"profile", "shards_rate", T_DOUBLE, PR(shards_rate), 1e-6, 1},
    {"profile", "min_effect", T_DOUBLE, PR(min_effect), 0, 1},
    {"profile", "target_half_width", T_DOUBLE, PR(target_half_width), 1e-4, 1},
    {"profile", "max_pairs", T_UINT, PR(max_pairs), 6, 64},
    {"profile", "experiment_budget_s", T_DOUBLE, PR(experiment_budget_s), 0, 86400},
    {"profile", "apply_budget_s", T_DOUBLE, PR(apply_budget_s), 0, 86400},
    {"profile", "run_budget_s", T_DOUBLE, PR(run_budget_s), 0, 86400},
    {"profile", "experiments", T_UINT, PR(experiments), 0, 1},
};

void pp_config_defaults(pp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->thresholds = (pp_thresholds){
        .slow_s = 1.0,
        .moderate_s = 0.5,
        .mem_high_mb = 100,
        .mem_moderate_mb = 50,
        .cpu_high_percent = 80,
        .share = 0.40,
        .tail_ratio = 10,
        .waiting_cpu_share = 0.5,
        .min_wait_share = 0.05,
        .min_tail_share = 0.05,
        .min_cpu_share = 0.05,
        .min_mem_share = 0.05,
        .alloc_rate_mb_s = 1000,
        .cache_hit_ratio = 0.80,
    };
    cfg->targets = (pp_targets_cfg){
        .data_loading_ms = 100,
        .inference_ms = 200,
        .cache_hit_ratio = 0.80,
        .memory_gb = 2,
        .cpu_percent = 70,
    };
    cfg->profile = (pp_profiler_cfg){
        .load_batch = 32,
        .load_batches = 20,
        .repeats = 8, /* 6 is the fewest whose 95 % interval can exclude no change */
        .passes = 3,
        .sweep_max = 256,
        .sweep_min_gain = 0.05,
        .sweep_patience = 3,
        .sweep_batches = 8,
        .latency_target_ms = 200,
        .exact_mrc_max = 1000000,
        .shards_rate = 0.01,
        .min_effect = 0.01,
        .target_half_width = 0.01,
        .max_pairs = 40,
        .experiment_budget_s = 25,
        .apply_budget_s = 12,
        .experiments = 1,
        .run_budget_s = 88,
    };
}

#define AT_MOST(field, v) ((field) = (field) > (v) ? (v) : (field))

void pp_config_quick(pp_config *cfg)
{
    pp_profiler_cfg *p = &cfg->profile;
    AT_MOST(p->load_batches, 6u);
    AT_MOST(p->repeats, 6u);
    AT_MOST(p->passes, 2u);
    AT_MOST(p->sweep_batches, 6u);
    AT_MOST(p->experiment_budget_s, 3.0);
    AT_MOST(p->apply_budget_s, 3.0);
    AT_MOST(p->max_pairs, 16u);
    AT_MOST(p->run_budget_s, 19.0);
}

typedef struct parse_state {
    pp_config *cfg;
    char *err;
    size_t errcap;
    int failed;
} parse_state;

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;
    if (st->failed)
        return 1; /* report only the first error */
    const key_def *k = NULL;
    int section_known = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].section, section) != 0)
            continue;
        section_known = 1;
        if (strcmp(keys[i].name, name) == 0)
            k = &keys[i];
    }
    st->failed = 1;
    if (!k) {
        if (section_known)
            snprintf(st->err, st->errcap, "unknown key '%s' in [%s]", name, section);
        else
            snprintf(st->err, st->errcap, "unknown key '%s' in unknown section [%s]", name,
                     section);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno != 0 || !isfinite(v)) {
        snprintf(st->err, st->errcap, "key '%s' in [%s]: '%s' is not a number", name, section,
                 value);
        return 0;
    }
    if (v < k->min || v > k->max || (k->type != T_DOUBLE && v != floor(v))) {
        snprintf(st->err, st->errcap, "key '%s' in [%s]: %s is out of range [%g, %g]%s", name,
                 section, value, k->min, k->max, k->type != T_DOUBLE ? " (an integer)" : "");
        return 0;
    }
    char *base = (char *)st->cfg + k->offset;
    if (k->type == T_DOUBLE)
        memcpy(base, &v, sizeof v);
    else if (k->type == T_UINT) {
        unsigned u = (unsigned)v;
        memcpy(base, &u, sizeof u);
    } else {
        uint64_t u = (uint64_t)v;
        memcpy(base, &u, sizeof u);
    }
    st->failed = 0;
    return 1;
}

int pp_config_parse_string(pp_config *cfg, const char *text, char *err, size_t errcap,
                           int *out_line)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (out_line)
        *out_line = 0;
    parse_state st = {cfg, err, errcap, 0};
    int line = ini_parse_string(text, handler, &st);
    if (line == 0)
        return PP_OK;
    if (line < 0) {
        snprintf(err, errcap, "out of memory while parsing");
        return PP_ENOMEM;
    }
    if (out_line)
        *out_line = line;
    char msg[256];
    if (err[0])
        snprintf(msg, sizeof msg, "line %d: %s", line, err);
    else
        snprintf(msg, sizeof msg, "line %d: syntax error (expected [section] or key = value)",
                 line);
    snprintf(err, errcap, "%s", msg);
    return PP_EFORMAT;
}

int pp_config_load(pp_config *cfg, const char *path, char *err, size_t errcap, int *out_line)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    if (out_line)
        *out_line = 0;
    char *buf = NULL;
    size_t n = 0;
    int rc = pp_file_read(path, CONFIG_MAX_BYTES, &buf, &n, err, errcap);
    if (rc != PP_OK)
        return rc;
    char msg[256];
    if (memchr(buf, '\0', n)) {
        snprintf(err, errcap, "%s: contains a NUL byte", path);
        rc = PP_EFORMAT;
    } else if ((rc = pp_config_parse_string(cfg, buf, msg, sizeof msg, out_line)) != PP_OK) {
        snprintf(err, errcap, "%s: %s", path, msg);
    }
    free(buf);
    return rc;
}
