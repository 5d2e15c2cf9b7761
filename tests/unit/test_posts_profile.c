/*
 * test_posts_profile.c - The pipeline as postprof's workload (posts/src/profile.c)
 * runs the pipeline's own code: each stage hits the very scope sites
 * `postprof pipeline` hits (one site per name in the process: no copy), the
 * cache replay is the pass's own feed requests (same hits and misses as a
 * pass with the same settings), and concurrent loading goes through the
 * pipeline's loader.
 */
#include <string.h>

#include "pp_test.h"
#include "posts_test_util.h"
#include <postprof/snapshot.h>
#include <posts/profile.h>

#define N 600
#define PER_SOURCE 200
#define REQUESTS 120
#define LOAD_BATCH 16

static char dir[64];

PT_DATA_FIXTURE(dir, N, 21, 1, NULL)

static posts_prof *prof_new(void)
{
    posts_prof_opts o;
    posts_prof_opts_init(&o);
    snprintf(o.base.data_dir, sizeof o.base.data_dir, "%s", dir);
    o.base.cache_bytes = 0;
    o.base.cache_entries = 150; /* smaller than the pass's posts: evictions too */
    o.pass_posts_per_source = PER_SOURCE;
    o.pass_requests = REQUESTS;
    o.load_batch = LOAD_BATCH;
    o.preprocess_posts = 64;
    posts_prof *p = NULL;
    posts_err err = {{0}};
    int rc = posts_prof_new(&o, &p, &err);
    if (rc != PP_OK)
        fail_msg("posts_prof_new: %s (%s)", err.msg, pp_strerror(rc));
    return p;
}

/* The settings of the workload's PP_STAGE_PASS, for posts_pipeline_run. */
static void pass_cfg(posts_prof *p, posts_config *c)
{
    *c = *posts_prof_config(p);
    c->sources = POSTS_SRC_DATABASE | POSTS_SRC_FILE | POSTS_SRC_API;
    c->limit_per_source = PER_SOURCE;
    c->limit = 0;
    c->requests = REQUESTS;
    c->trace_capacity = 0;
}

static void run_pipeline(const posts_config *c, posts_pipeline_result *res)
{
    posts_err err = {{0}};
    int rc = posts_pipeline_run(c, res, &err);
    if (rc != PP_OK)
        fail_msg("pipeline: %s (%s)", err.msg, pp_strerror(rc));
}

static void cache_replay_is_the_pass_serving(void **state)
{
    (void)state;
    posts_prof *p = prof_new();
    const pp_workload *w = posts_prof_workload(p);
    pp_stage_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(w->run_stage(w->ctx, PP_STAGE_CACHE, 0, &r), PP_OK);
    posts_config c;
    pass_cfg(p, &c);
    c.concurrent_load = 0; /* the pass's posts in source order, as the trace has them */
    posts_pipeline_result res;
    run_pipeline(&c, &res);
    assert_int_equal(res.requests, REQUESTS);
    assert_int_equal(r.items, REQUESTS * c.candidates);
    /* the same candidates, the same cache, the same requests: the same outcome */
    assert_int_equal(r.hits, res.cache_hits);
    assert_int_equal(r.misses, res.cache_misses);
    assert_true(r.hits > 0 && r.misses > 0);
    posts_prof_free(p);
}

/* Sites whose count grew between two snapshots, by id. */
typedef struct hits {
    uint32_t id[256];
    const char *name[256];
    size_t n;
} hits;

static void hits_between(const pp_snapshot *a, const pp_snapshot *b, hits *h)
{
    h->n = 0;
    for (size_t i = 0; i < pp_snapshot_count(b) && h->n < 256; i++) {
        const pp_site_stats *s = pp_snapshot_site(b, i);
        const pp_site_stats *before = pp_snapshot_by_id(a, s->id);
        if (s->count > (before ? before->count : 0)) {
            h->id[h->n] = s->id;
            h->name[h->n] = s->name;
            h->n++;
        }
    }
}

static uint32_t hit_id(const hits *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->name[i] && strcmp(h->name[i], name) == 0)
            return h->id[i];
    return 0;
}

/* Run what, and the sites it hit. */
#define HITS(h, what)                                                                              \
    do {                                                                                           \
        pp_snapshot *a_, *b_;                                                                      \
        assert_int_equal(pp_snapshot_take(&a_), PP_OK);                                            \
        what;                                                                                      \
        assert_int_equal(pp_snapshot_take(&b_), PP_OK);                                            \
        hits_between(a_, b_, (h));                                                                 \
        pp_snapshot_free(a_);                                                                      \
        pp_snapshot_free(b_);                                                                      \
    } while (0)

static void stage(const pp_workload *w, pp_stage s, unsigned index, uint64_t want_items)
{
    pp_stage_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(w->run_stage(w->ctx, s, index, &r), PP_OK);
    if (want_items)
        assert_int_equal(r.items, want_items);
}

static void stages_hit_the_pipelines_scope_sites(void **state)
{
    (void)state;
    posts_prof *p = prof_new();
    const pp_workload *w = posts_prof_workload(p);
    int64_t model = 0;
    assert_int_equal(w->get_knob(w->ctx, PP_KNOB_MODEL, &model), PP_OK);
    hits seq, conc, one, inf, cache, pass_seq, pass_conc;
    assert_int_equal(w->set_knob(w->ctx, PP_KNOB_CONCURRENCY, 1), PP_OK);
    HITS(&seq, stage(w, PP_STAGE_LOAD_ALL, 0, 3 * LOAD_BATCH));
    assert_int_equal(w->set_knob(w->ctx, PP_KNOB_CONCURRENCY, 3), PP_OK);
    HITS(&conc, for (int i = 0; i < 3; i++) stage(w, PP_STAGE_LOAD_ALL, 0, 3 * LOAD_BATCH));
    HITS(&one, stage(w, PP_STAGE_LOAD, 0, LOAD_BATCH));
    HITS(&inf, stage(w, PP_STAGE_INFER, (unsigned)model, 0));
    HITS(&cache, stage(w, PP_STAGE_CACHE, 0, 0));
    posts_config c;
    posts_pipeline_result res;
    pass_cfg(p, &c);
    c.concurrent_load = 0;
    HITS(&pass_seq, run_pipeline(&c, &res));
    c.concurrent_load = 1;
    HITS(&pass_conc, run_pipeline(&c, &res));

    /* each stage's sites are the ones a pass hits */
    const struct {
        const hits *stage, *pass;
        const char *name;
    } want[] = {
        {&seq, &pass_seq, "posts.load.batch"},
        {&seq, &pass_seq, "posts.load.source"},
        {&conc, &pass_conc, "posts.load.batch"},
        {&conc, &pass_conc, "posts.load.source_async"},
        {&one, &pass_seq, "posts.load.batch"},
        {&inf, &pass_seq, "posts.infer.batch"},
        {&cache, &pass_seq, "posts.serve.request"},
        {&cache, &pass_seq, "posts.serve.infer_misses"},
        {&cache, &pass_seq, "posts.cache.get_many"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint32_t s = hit_id(want[i].stage, want[i].name), q = hit_id(want[i].pass, want[i].name);
        if (s == 0 || s != q)
            fail_msg("%s: site %u in the stage, %u in the pass", want[i].name, s, q);
    }
    /* and no copy of them anywhere: one site per name in the process */
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t same = 0;
        const char *file = NULL;
        for (size_t k = 0; k < pp_snapshot_count(snap); k++) {
            const pp_site_stats *s = pp_snapshot_site(snap, k);
            if (s->name && strcmp(s->name, want[i].name) == 0) {
                same++;
                file = s->file;
            }
        }
        assert_int_equal(same, 1);
        if (strcmp(want[i].name, "posts.cache.get_many") != 0) {
            assert_non_null(file);
            size_t fl = strlen(file);
            assert_true(fl >= 11 && strcmp(file + fl - 11, "/pipeline.c") == 0);
        }
    }
    pp_snapshot_free(snap);
    posts_prof_free(p);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_replay_is_the_pass_serving),
        cmocka_unit_test(stages_hit_the_pipelines_scope_sites),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
