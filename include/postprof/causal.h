/*
 * postprof/causal.h - Progress points and causal profiling: which scope,
 * made faster, would make the whole program faster, and by how much.
 *
 *     for (;;) {
 *         handle_one_request();
 *         PP_PROGRESS("request");    // one unit of useful work done
 *     }
 *
 * `postprof causal -- PROGRAM` runs PROGRAM through short experiments. Each
 * picks one scope site and a virtual speedup s: whenever a thread ends a
 * scope of that site having spent t inside it, every other thread owes a
 * delay s*t, paid at its next scope boundary (or before it blocks or wakes
 * another thread). The program then runs as if the site were s faster,
 * relative to everything else; the inserted delay is subtracted when the
 * time per progress point is measured. Method, limits, cost: docs/causal.md.
 *
 * Building with -DPP_DISABLE_INSTRUMENTATION compiles PP_PROGRESS to nothing.
 */
#ifndef POSTPROF_CAUSAL_H
#define POSTPROF_CAUSAL_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/export.h>
#include <postprof/scope.h>

#define PP_SITE_PROGRESS 0x8u /* a progress point, not a scope */
#define PP_SITE_LATENCY 0x10u /* a latency point (with PP_SITE_PROGRESS): begin/end pairs */

/* A unit of work in flight between pp_latency_begin() and pp_latency_end(). */
typedef struct pp_latency {
    uint64_t start; /* clock ticks at the begin */
    uint64_t delay; /* causal delay owed by every thread at the begin */
    uint32_t epoch; /* the causal experiment in force at the begin */
    pp_site *site;  /* NULL: not recording */
} pp_latency;

/*
 * pp_progress_hit() - Count one pass through a progress point on this
 * thread (no lock, no system call; registers the site on its first use).
 * No-op while instrumentation is switched off.
 */
PP_EXPORT void pp_progress_hit(pp_site *site);

/*
 * pp_latency_begin() / pp_latency_end() - A latency point: one unit of work
 * begins, and ends (on any thread). `postprof causal --progress NAME` on a
 * latency point measures the mean time from begin to end, less the causal
 * delay inserted meanwhile, instead of the time between progress hits: the
 * gain is then the fraction of latency saved. A unit counts in an experiment
 * when it began and ended within it. Snapshots show each unit as a call of
 * the site with its duration. Begin is a no-op (site NULL) while
 * instrumentation is off; end of such a pair does nothing.
 */
PP_EXPORT pp_latency pp_latency_begin(pp_site *site);
PP_EXPORT void pp_latency_end(pp_latency *l);

static inline void pp__latency_cleanup(pp_latency *l)
{
    if (l->site)
        pp_latency_end(l);
}

#ifndef PP_DISABLE_INSTRUMENTATION
#define PP__LATENCY_AT(site, var, name)                                                            \
    static pp_site site = PP_SITE_INIT(name, PP_SITE_PROGRESS | PP_SITE_LATENCY, UINT32_MAX);      \
    pp_latency var __attribute__((cleanup(pp__latency_cleanup), unused)) =                         \
        atomic_load_explicit(&pp__enabled, memory_order_relaxed) ? pp_latency_begin(&site)         \
                                                                 : (pp_latency)                    \
    {                                                                                              \
        0, 0, 0, NULL                                                                              \
    }
/* PP_LATENCY("name") - One unit of work from here to the end of the block (a latency point). */
#define PP_LATENCY(name)                                                                           \
    PP__LATENCY_AT(PP__CAT(pp__lsite_, __COUNTER__), PP__CAT(pp__lat_, __COUNTER__), name)
/* PP_PROGRESS("name") - One unit of the program's useful work was done here. */
#define PP_PROGRESS(name)                                                                          \
    do {                                                                                           \
        static pp_site pp__psite_ = PP_SITE_INIT(name, PP_SITE_PROGRESS, UINT32_MAX);              \
        if (PP_LIKELY(atomic_load_explicit(&pp__enabled, memory_order_relaxed)))                   \
            pp_progress_hit(&pp__psite_);                                                          \
    } while (0)
#else
#define PP_PROGRESS(name) ((void)0)
#define PP_LATENCY(name) ((void)0)
#endif

/* ---- the results of a causal run (what `postprof causal` writes) ---- */

/* One virtual speedup of one site. Gains are fractions (0.12 = 12 % less time per point). */
typedef struct pp_causal_point {
    double speedup;             /* fraction of the site's time removed, 0..1 */
    double gain;                /* fraction of the time per progress point saved */
    double gain_low, gain_high; /* 95 % interval (gain_low = -INFINITY, gain_high = INFINITY
                                 * while too few experiments give no interval) */
    size_t experiments;         /* experiments at this site and speedup */
} pp_causal_point;

typedef struct pp_causal_site {
    char *name;
    pp_causal_point *points; /* by increasing speedup */
    size_t npoints;
    double slope; /* least-squares gain per unit of speedup through (0, 0) */
} pp_causal_site;

typedef struct pp_causal_result {
    char *progress;        /* the progress point's name */
    pp_causal_site *sites; /* ranked by slope, largest first */
    size_t nsites;
    size_t baselines;   /* experiments at speedup 0 */
    double baseline_ns; /* median time per progress point of the baselines */
} pp_causal_result;

/* The experiments of one or more causal runs, before any statistics. */
typedef struct pp_causal_log pp_causal_log;

/* pp_causal_log_new() - An empty set of experiments. NULL when out of memory. */
PP_EXPORT pp_causal_log *pp_causal_log_new(void);
PP_EXPORT void pp_causal_log_free(pp_causal_log *log);

/*
 * pp_causal_log_parse() - Add the experiments of one experiment log (the
 * file a program writes under `postprof causal`) to log. Lines that are not
 * experiments of the same progress point are skipped and counted in
 * *skipped (may be NULL); the first such line's number and reason go to err.
 * Returns PP_OK, PP_EFORMAT (text is not a causal log at all: err says why),
 * PP_EINVAL (log NULL), PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int pp_causal_log_parse(pp_causal_log *log, const char *text, size_t len,
                                               size_t *skipped, char *err, size_t errcap);

/* pp_causal_log_count() - Experiments held, each with its baseline. */
PP_EXPORT size_t pp_causal_log_count(const pp_causal_log *log);

/*
 * pp_causal_analyze() - Gains with 95 % intervals for every (site, speedup)
 * of the log: each experiment is paired with the baseline run beside it
 * (the same site at speedup 0); Hodges-Lehmann ratio of time per progress
 * point over the pairs, Wilcoxon signed-rank interval. *widest (may be
 * NULL) gets the largest half-width of any point's interval (INFINITY while
 * any point has none). Returns PP_OK, PP_EINVAL (no complete pair),
 * PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int pp_causal_analyze(const pp_causal_log *log, pp_causal_result **out,
                                             double *widest);
PP_EXPORT void pp_causal_result_free(pp_causal_result *r);

/* pp_causal_json_write() - causal.json, written atomically. PP_EIO with err filled. */
PP_EXPORT PP_NODISCARD int pp_causal_json_write(const pp_causal_result *r, const char *path,
                                                char *err, size_t errcap);

/* pp_causal_json_parse() - causal.json read back. PP_EFORMAT with err saying where and why. */
PP_EXPORT PP_NODISCARD int pp_causal_json_parse(const char *text, size_t len,
                                                pp_causal_result **out, char *err, size_t errcap);

/*
 * pp_causal_render_html() - The results as one self-contained HTML page
 * (gain against speedup per site with its 95 % band, the ranking table) in
 * a new NUL-terminated buffer (*out_html, free() it). Returns PP_OK,
 * PP_EINVAL, PP_ENOMEM; err (may be NULL) says why.
 */
PP_EXPORT PP_NODISCARD int pp_causal_render_html(const pp_causal_result *r, char **out_html,
                                                 size_t *out_len, char *err, size_t errcap);

/* pp_causal_write_html() - The page written to path by pp_file_write() (atomically). */
PP_EXPORT PP_NODISCARD int pp_causal_write_html(const pp_causal_result *r, const char *path,
                                                char *err, size_t errcap);

/*
 * pp_report_causal_set() - The causal section of report r (r->causal) from a
 * causal run of its workload: res's gains per stage scope, phase (the scope
 * enclosing the work between two progress points, whose share of a pass
 * converts gains to end-to-end terms), each scope's stage from stage_scopes
 * (PP_STAGE_COUNT names, may be NULL), a point decided when its 95 %
 * interval is within +-precision. Sets each point beside what the scope's
 * share predicts and each scope beside the knob experiments that changed it,
 * with a verdict saying which prediction to believe and why. Call it after
 * the profilers filled r. Returns PP_OK or PP_EINVAL.
 */
struct pp_report;
PP_EXPORT PP_NODISCARD int pp_report_causal_set(struct pp_report *r, const pp_causal_result *res,
                                                const char *phase, const char *const *stage_scopes,
                                                double precision);

#endif
