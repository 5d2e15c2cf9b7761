/*
 * posts/profile.h - The LinkedIn-posts pipeline as a pp_workload, so that
 * postprof's profilers (include/postprof/profilers.h) can drive each stage on
 * its own, turn its knobs and run whole passes. Owns a pipeline's worth of
 * state: the API server over the data, open sources, models, a feature pool.
 */
#ifndef POSTS_PROFILE_H
#define POSTS_PROFILE_H

#include <stddef.h>
#include <postprof/workload.h>
#include <posts/config.h>

typedef struct posts_prof posts_prof;

typedef struct posts_prof_opts {
    /* The pipeline as it is deployed: its knobs are the "current" settings the
     * profilers measure against and suggest changes to. base.api_url empty:
     * an API server over base.data_dir is started on 127.0.0.1 for the run. */
    posts_config base;
    size_t pass_posts_per_source; /* posts read from each source in one end-to-end pass */
    size_t pass_requests;         /* feed requests served in one pass */
    size_t trace_accesses;        /* cache accesses in the replayed trace */
    size_t trace_keys;            /* distinct posts the trace draws from (Zipf popularity) */
    size_t preprocess_posts;      /* posts per PP_STAGE_PREPROCESS call */
    int load_batch;               /* rows per PP_STAGE_LOAD batch (the 32) */
    void (*on_phase)(void *user, const char *phase); /* progress; may be NULL */
    void *user;
} posts_prof_opts;

/* posts_prof_opts_init() - Defaults sized for a default `postprof run`. Never fails. */
PP_EXPORT void posts_prof_opts_init(posts_prof_opts *o);

/*
 * posts_prof_new() - Open everything a profile needs: the API server (when
 * none is given), the models, a sample of posts and its features, the cache
 * access trace. PP_OK and *out, or the failing step's status with err->msg;
 * *out NULL on error.
 */
PP_EXPORT PP_NODISCARD int posts_prof_new(const posts_prof_opts *o, posts_prof **out,
                                          posts_err *err);

/* posts_prof_workload() - The pp_workload (owned by p, valid until posts_prof_free). */
PP_EXPORT const pp_workload *posts_prof_workload(posts_prof *p);

/* posts_prof_config() - The pipeline config with the knobs as they are now. */
PP_EXPORT const posts_config *posts_prof_config(const posts_prof *p);

/* posts_prof_api_url() - The API source's base URL (the in-process server's). */
PP_EXPORT const char *posts_prof_api_url(const posts_prof *p);

/* posts_prof_free() - Stop the server, close everything. NULL is a no-op. */
PP_EXPORT void posts_prof_free(posts_prof *p);

#endif
