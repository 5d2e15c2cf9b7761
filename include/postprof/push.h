/*
 * postprof/push.h - Profiles pushed to a continuous-profiling server: one
 * profile to Pyroscope's `POST /ingest` (`postprof record --push URL`), or
 * the CPU profile of this process every N seconds from a background thread
 * (POSTPROF_PUSH_URL), with the OTLP exporter's retry rules: 429, 502, 503,
 * 504 and lost connections are retried (Retry-After honoured, else
 * exponential backoff with jitter), anything else (a 400) never is.
 * Grafana Alloy's `pyroscope.receive_http` takes the same requests.
 * docs/pyroscope.md.
 */
#ifndef POSTPROF_PUSH_H
#define POSTPROF_PUSH_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>
#include <postprof/profile.h>

/* Where and as what a profile goes. Strings are copied by the calls. */
typedef struct pp_push_opts {
    const char *url; /* the server (http://host:4040, /ingest is added) or its /ingest URL */
    const char *app; /* application name: letters, digits, '_', '.', '/', '-' (NULL: "postprof") */
    const char *labels; /* "key=value,..." (NULL: none); keys: letters, digits, '_', '.';
                           values: no ',', '{', '}' or control characters */
    const char *tenant; /* X-Scope-OrgID of a multi-tenant server (NULL: none) */
    unsigned
        sample_rate;  /* samples per second, sent as sampleRate (0: from the profile's period) */
    double timeout_s; /* the whole push, retries included (0: 15 s) */
} pp_push_opts;

/* What a push came to. */
typedef struct pp_push_result {
    long status;    /* the last HTTP status, 0 when no answer came */
    int attempts;   /* requests made */
    char url[2048]; /* the request's URL, query included (for messages) */
} pp_push_result;

/*
 * pp_push_check() - Whether opts would be accepted (URL is http(s), the
 * application name and labels as above). Returns PP_OK or PP_EINVAL with err
 * saying what is wrong. Pure.
 */
PP_EXPORT PP_NODISCARD int pp_push_check(const pp_push_opts *opts, char *err, size_t errcap);

/*
 * pp_push_profile() - POST p as pprof to opts->url's /ingest with
 * format=pprof, name=APP.KIND{labels} (KIND: cpu, wall or alloc_space),
 * from/until (Unix seconds: the given ones, or when both are 0 those the
 * profile covers, else the seconds up to now), sampleRate and
 * spyName=postprof; retried as above within opts->timeout_s.
 * Returns PP_OK on a 2xx answer; PP_EINVAL (bad opts, err says which);
 * PP_EIO when the server refused the profile (an answer not retried: a 4xx
 * other than 429, most 5xx); PP_ENET when it could not be reached or kept
 * answering 429/502/503/504 until the time or the attempts ran out (err: the
 * URL, the HTTP status or the connection error, the attempts made); PP_ENOMEM. *out (may be NULL)
 * is filled on every path. Blocks the calling thread for at most timeout_s. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int pp_push_profile(const pp_push_opts *opts, const pp_profile *p,
                                           int64_t from_unix, int64_t until_unix,
                                           pp_push_result *out, char *err, size_t errcap);

/* Continuous pushing: this process's CPU profile every interval. */
typedef struct pp_push_every_opts {
    pp_push_opts target;    /* where and as what; target.timeout_s bounds each interval's
                               push, retries included (0: 15 s) */
    double interval_s;      /* seconds each profile covers (0: 15) */
    unsigned long long hz;  /* samples per second of each thread's CPU time (0: 99) */
    double flush_timeout_s; /* at pp_push_stop(): the most the last push may take (0: 5) */
} pp_push_every_opts;

/*
 * pp_push_start() - Start pushing: a sampler thread records this process
 * (pp_record_attach() on its own pid: perf events, no signals in the
 * program's threads) for interval_s at a time and a sender thread pushes
 * each interval's profile as pp_push_profile() does. Nothing the program
 * does waits on them: when the server falls behind, the oldest of 4 waiting
 * profiles is dropped. Every outcome is counted in the default registry's
 * postprof_profile_pushes_total{outcome=sent|refused|unreachable|dropped|
 * sampling_failed} and in pp_push_stats(); failures are logged (pp_log).
 * Returns PP_OK; PP_EINVAL (bad options, err says which); PP_EBUSY when
 * already pushing; PP_EIO (no temporary directory), PP_ENOMEM (no thread).
 * A forked child does not push. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int pp_push_start(const pp_push_every_opts *opts, char *err, size_t errcap);

/*
 * pp_push_stop() - Stop sampling, push what the current interval holds and
 * whatever still waits, within flush_timeout_s, then end the threads.
 * Returns PP_OK (also when not pushing), or PP_ETIMEOUT when the deadline
 * passed first: the threads are then left to end on their own (at exit they
 * die with the process). Thread-safe; call it from one thread at a time.
 */
PP_EXPORT int pp_push_stop(void);

/*
 * pp_push_start_from_env() - pp_push_start() from the environment:
 * POSTPROF_PUSH_URL (required), POSTPROF_PUSH_APP (default: the program's
 * name), POSTPROF_PUSH_LABELS (key=value,...), POSTPROF_PUSH_TENANT,
 * POSTPROF_PUSH_INTERVAL (s, default 15), POSTPROF_PUSH_HZ (default 99),
 * POSTPROF_PUSH_FLUSH_TIMEOUT (s, default 5). libpostprof calls it from a
 * constructor (stopping at exit, with the flush) when the shared library is
 * loaded or this file is linked in; call it (or pp_push_start) from a
 * statically linked program that uses no other push function.
 * Returns PP_ENOTFOUND when POSTPROF_PUSH_URL is not set; else as
 * pp_push_start() (PP_EBUSY when the constructor already started it).
 */
PP_EXPORT PP_NODISCARD int pp_push_start_from_env(char *err, size_t errcap);

/* What the continuous pusher has done so far. */
typedef struct pp_push_counts {
    int64_t sent, refused, unreachable, dropped, sampling_failed;
    long last_status;     /* the last answer's HTTP status, 0: none */
    char last_error[512]; /* the last failure, "" when none */
    int running;
} pp_push_counts;

/* pp_push_stats() - A copy of the counts. Thread-safe. */
PP_EXPORT void pp_push_stats(pp_push_counts *out);

#endif
