/*
 * posts/serve.h - The pipeline as a long-running service: the sources are
 * loaded, then reloaded every refresh interval (preprocessed and scored in
 * bulk, swapped in whole); feed requests are served continuously, at a fixed
 * rate or as fast as one worker can; and a detector runs the bottleneck rules
 * over a sliding window of what the instruments measured (e.g. every 10 s over
 * the last 60 s), counting each finding in bottleneck_detected_total and
 * setting cache_hit_ratio to the window's ratio. With a Redis cache shared by
 * several nodes, the window's hit ratio of the whole Redis (every node's
 * lookups, from INFO stats) is exported too.
 *
 * Threads: one request worker, one refresher (with its own model, as a model
 * serves one call at a time), one detector. Never prints; problems go to
 * pp_log (component "posts.serve").
 */
#ifndef POSTS_SERVE_H
#define POSTS_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/config.h>
#include <postprof/metrics.h>
#include <posts/config.h>

typedef struct posts_service posts_service;

typedef struct posts_service_opts {
    posts_config cfg;         /* the pipeline's knobs (sources, model, cache, candidates...) */
    double rate;              /* feed requests per second; 0 = as fast as it can */
    double refresh_s;         /* reload the sources every this many seconds; 0 = never */
    double window_s;          /* bottleneck rules and cache ratio over the last window_s (60) */
    double detect_every_s;    /* how often the window is judged (10) */
    pp_thresholds thresholds; /* the bottleneck rules' thresholds (pp_config_defaults) */
    pp_registry *registry;    /* where the live metrics go (must hold the standard metrics) */
} posts_service_opts;

/* posts_service_opts_init() - Defaults: posts_config_init, rate 0, refresh 30 s,
 * window 60 s every 10 s, default thresholds, registry NULL. */
PP_EXPORT void posts_service_opts_init(posts_service_opts *o);

/*
 * posts_service_new() - Load the model(s), create the cache, register the
 * service's metrics in o->registry and load the sources once. Nothing is
 * served yet. PP_OK and *out; PP_EINVAL (bad option, err says which), or the
 * failing step's status with err->msg; *out NULL on error.
 */
PP_EXPORT PP_NODISCARD int posts_service_new(const posts_service_opts *o, posts_service **out,
                                             posts_err *err);

/* posts_service_start() - Start the worker, refresher and detector threads. PP_OK, PP_EIO,
 * PP_ESTATE when already started. */
PP_EXPORT PP_NODISCARD int posts_service_start(posts_service *s);

/* posts_service_ready() - 1 while requests are being served (started, not draining). */
PP_EXPORT int posts_service_ready(posts_service *s);

/*
 * posts_service_stop() - Drain: no new request starts, the one in flight
 * finishes, a reload in progress is abandoned between batches; once the
 * threads are joined the last window (every request served) is judged.
 * Idempotent.
 */
PP_EXPORT void posts_service_stop(posts_service *s);

typedef struct posts_service_stats {
    uint64_t requests, request_errors;
    uint64_t refreshes, refresh_errors;
    uint64_t posts; /* posts being served now */
    uint64_t cache_hits, cache_misses, cache_errors;
    double window_hit_ratio;        /* this node, last window (-1: no lookup yet) */
    double shared_window_hit_ratio; /* the shared Redis, every node, last window (-1: none) */
    uint64_t windows;               /* windows judged */
    uint64_t findings;              /* findings over every window */
    double uptime_s;
    /* Beside a shared (Redis) cache, the same lookups replayed into an LRU of
     * this node's own cfg.cache_entries: what it would hit without the
     * shared cache (local_lru 0: no estimate, e.g. cache_entries 0). */
    int local_lru;
    uint64_t local_lru_entries, local_lru_hits, local_lru_misses;
    double local_lru_window_hit_ratio; /* last window (-1: none) */
    /* The shared cache's gain: this node's hit ratio minus the local LRU's,
     * over the run, with its 95 % interval (batch means over the detector's
     * ticks); gain_known 0 until 3 ticks with lookups. */
    int gain_known;
    uint64_t gain_batches;
    double gain, gain_lo, gain_hi;
} posts_service_stats;

/* posts_service_stats_get() - The figures so far. Thread-safe. */
PP_EXPORT void posts_service_stats_get(posts_service *s, posts_service_stats *out);

/* posts_service_gain_verdict() - "the shared cache pays" (interval above 0),
 * "a node-local LRU would hit more" (below 0), "no significant change", or
 * NULL when the gain is not known. */
PP_EXPORT const char *posts_service_gain_verdict(const posts_service_stats *st);

/*
 * posts_service_report_json() - The service's report as one JSON document
 * (node, run time, requests and rate, per-operation latency over the whole
 * run, the cache on this node and the shared cache across nodes, every
 * (operation, kind) the detector found with how many windows it fired in):
 * *out (free()). node is copied into it. PP_OK or PP_ENOMEM. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int posts_service_report_json(posts_service *s, const char *node,
                                                     char **out);

/* posts_service_free() - Stop (if running) and free. NULL is a no-op. */
PP_EXPORT void posts_service_free(posts_service *s);

#endif
