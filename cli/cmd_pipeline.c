/*
 * cmd_pipeline.c - `postprof pipeline`: one run of the LinkedIn-posts pipeline
 * with every knob as a flag; prints name: value lines (posts_loaded,
 * rows_rejected, per-stage and end-to-end posts/s, cache figures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/file.h>
#include <postprof/postprof.h>

#include "cli.h"

static const char pipeline_usage[] =
    "usage: postprof pipeline [flags]\n"
    "       postprof pipeline --serve [--listen HOST:PORT] [--duration S] [--rate R] [flags]\n"
    "                                (a long-running service: see `pipeline --serve --help`)\n"
    "  --data DIR               data directory from `postprof datagen` (default data)\n"
    "  --sources LIST           comma list of database,file,api (default database)\n"
    "  --postgres URL           database source is PostgreSQL at this libpq URL\n"
    "  --api-url URL            API source at a running api-server (default: start one)\n"
    "  --batch-size N           posts per batch, 1..4096 (default 256)\n"
    "  --concurrent-load        read the sources at the same time (default: one by one)\n"
    "  --keep-alive 0|1         API connection reuse (default 1)\n"
    "  --api-concurrency N      API requests in flight (default 4)\n"
    "  --max-line BYTES         longest JSONL line (default 1M)\n"
    "  --preprocess-threads N   preprocessing threads (default 1)\n"
    "  --arena 0|1              per-batch arena (1, default) or malloc per token (0)\n"
    "  --model small|medium|large   (default medium)\n"
    "  --quantized              int8 per-channel model\n"
    "  --cache lru|none|redis://HOST:PORT   (default lru)\n"
    "  --cache-entries N        LRU capacity in entries (default 10000; 0 = unlimited)\n"
    "  --cache-bytes BYTES      LRU capacity in bytes (default 64M; 0 = unlimited)\n"
    "  --redis-pool N, --redis-pipeline N, --redis-timeout-ms MS\n"
    "  --requests N             feed requests (default 10000)\n"
    "  --candidates N           posts scored per request (default 50)\n"
    "  --top-k N                feed length (default 10)\n"
    "  --zipf-s S               popularity skew (default 1.0)\n"
    "  --limit N                stop after N posts (default: read every source to its end)\n"
    "  --limit-per-source N     read at most N posts from each source (default: no limit)\n"
    "  --seed S                 request generator seed (default 1)\n"
    "  --repeat N               run it N times in this process, the last run printed\n"
    "                           (default 1; 0: until stopped, as `run`'s causal phase does)\n"
    "  --trace-capacity N       cache accesses to trace (default 0; 2 x requests x candidates\n"
    "                           with --trace-out)\n"
    "  --trace-sample F         fraction of keys traced, chosen by key hash (default 1)\n"
    "  --extra-work F           test knob: compute on for F times the CPU time the run's\n"
    "                           work took (0.15: 15 % slower), to check a performance gate\n"
    "  --explain                with --postgres: print EXPLAIN ANALYZE of the source's\n"
    "                           statement (the slowest, as it is the only one)\n"
    "  --trace-out FILE         write the cache access trace as CSV\n"
    "                           (key_hash,key,op,hit,latency_ns) for miss-ratio curves\n"
    "  --log-level LEVEL        debug|info|warn|error|off (default warn)\n";

#ifdef PP_HAVE_POSTS
#include <posts/posts.h>

static double per_s(uint64_t n, uint64_t ns)
{
    return ns ? (double)n * 1e9 / (double)ns : 0.0;
}

/* The cache access trace as CSV (key_hash,key,op,hit,latency_ns), written atomically. */
static int write_trace(posts_cache *c, size_t cap, const char *path, posts_err *err)
{
    posts_cache_access *a = malloc((cap ? cap : 1) * sizeof *a);
    if (!a)
        return PP_ENOMEM;
    uint64_t dropped = 0;
    size_t n = posts_cache_trace_read(c, a, cap, &dropped);
    pp_file_out *o;
    int rc = pp_file_out_open(path, 0, &o, err->msg, sizeof err->msg);
    if (rc == PP_OK) {
        FILE *f = pp_file_out_stream(o);
        fprintf(f, "key_hash,key,op,hit,latency_ns\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%016llx,%s,%s,%u,%llu\n", (unsigned long long)a[i].key_hash, a[i].key,
                    a[i].op ? "put" : "get", (unsigned)a[i].hit,
                    (unsigned long long)a[i].latency_ns);
        rc = pp_file_out_commit(o, err->msg, sizeof err->msg);
    }
    if (rc == PP_OK) {
        printf("trace_accesses: %zu\n", n);
        printf("trace_dropped: %llu\n", (unsigned long long)dropped);
    }
    free(a);
    return rc;
}

int cli_pipeline_flag(posts_config *cfg, const char *usage, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--quantized") == 0 || strcmp(a, "--concurrent-load") == 0) {
        *(a[2] == 'q' ? &cfg->quantized : &cfg->concurrent_load) = 1;
        return PP_EXIT_OK;
    }
    if (strncmp(a, "--", 2) != 0)
        return cli_usage_error("pipeline", usage, "unexpected argument '%s'", a);
    if (*i + 1 >= argc)
        return cli_usage_error("pipeline", usage, "option needs a value: '%s'", a);
    char name[64];
    size_t n = strlen(a + 2);
    if (n == 0 || n >= sizeof name)
        return cli_usage_error("pipeline", usage, "unknown option '%s'", a);
    for (size_t k = 0; k <= n; k++)
        name[k] = a[2 + k] == '-' ? '_' : a[2 + k];
    posts_err err = {{0}};
    int rc = posts_config_set(cfg, name, argv[++*i], &err);
    if (rc == PP_ENOTFOUND)
        return cli_usage_error("pipeline", usage, "unknown option '%s'", a);
    if (rc != PP_OK)
        return cli_usage_error("pipeline", usage, "%s", err.msg);
    return PP_EXIT_OK;
}

int cmd_pipeline(int argc, char **argv)
{
    posts_config cfg;
    posts_config_init(&cfg);
    posts_err err = {{0}};
    int trace_failed = 0;
    const char *trace_out = NULL;
    int explain = 0;
    unsigned long repeat = 1; /* runs in this process, 0: until stopped */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--serve") == 0)
            return cmd_pipeline_serve(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(pipeline_usage, stdout);
            return PP_EXIT_OK;
        }
        if (strcmp(a, "--explain") == 0) {
            explain = 1;
            continue;
        }
        if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
            char *end;
            repeat = strtoul(argv[++i], &end, 10);
            if (*end || argv[i][0] == '-' || argv[i][0] == 0)
                return cli_usage_error("pipeline", pipeline_usage, "bad --repeat '%s'", argv[i]);
            continue;
        }
        if (strcmp(a, "--trace-out") == 0 && i + 1 < argc) {
            trace_out = argv[++i];
            continue;
        }
        if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
            int lvl = pp_log_parse_level(argv[++i]);
            if (lvl < 0)
                return cli_usage_error("pipeline", pipeline_usage, "bad --log-level '%s'", argv[i]);
            pp_log_set_level(lvl);
            continue;
        }
        int ec = cli_pipeline_flag(&cfg, pipeline_usage, argc, argv, &i);
        if (ec != PP_EXIT_OK)
            return ec;
    }
    if (explain) {
        if (!cfg.postgres_url[0])
            return cli_usage_error("pipeline", pipeline_usage, "--explain needs --postgres URL");
        char *plan = NULL;
        int erc = posts_pg_explain(cfg.postgres_url, cfg.batch_size, &plan, &err);
        if (erc != PP_OK)
            return cli_error("pipeline", "%s", err.msg);
        printf("explain_analyze:\n%s", plan);
        free(plan);
    }
    if (trace_out && cfg.trace_capacity == 0) {
        uint64_t want = (uint64_t)cfg.requests * cfg.candidates * 2;
        cfg.trace_capacity = (size_t)(want < (1u << 22) ? want : (1u << 22));
    }
    posts_pipeline_result r;
    memset(&r, 0, sizeof r);
    posts_pipeline *pl;
    int rc = posts_pipeline_new(&cfg, &pl, &err);
    /* repeats load into the same pipeline (its model, cache and API server
     * made once), its posts emptied before each */
    for (unsigned long k = 0; rc == PP_OK && (repeat == 0 || k < repeat); k++) {
        memset(&r, 0, sizeof r);
        posts_feature_batch_clear(posts_pipeline_features(pl));
        rc = posts_pipeline_load(pl, &r, &err);
        if (rc == PP_OK && cfg.requests && r.posts_loaded)
            rc = posts_pipeline_serve(pl, &r, &err);
        if (rc == PP_OK && trace_out) {
            rc = write_trace(posts_pipeline_cache(pl), cfg.trace_capacity, trace_out, &err);
            trace_failed = rc != PP_OK && rc != PP_ENOMEM;
        }
    }
    if (pl)
        posts_pipeline_free(pl);
    if (trace_failed)
        return cli_output_error("pipeline", err.msg);
    if (rc != PP_OK)
        return cli_error("pipeline", "%s", err.msg[0] ? err.msg : pp_strerror(rc));
    uint64_t stage_ns = r.load_ns + r.preprocess_ns + r.infer_ns;
    uint64_t e2e_ns = r.total_ns - r.serve_ns;
    printf("posts_loaded: %llu\n", (unsigned long long)r.posts_loaded);
    printf("rows_rejected: %llu\n", (unsigned long long)r.rows_rejected);
    printf("duplicate_ids: %llu\n", (unsigned long long)r.duplicate_ids);
    printf("posts_checksum: %016llx\n", (unsigned long long)r.posts_checksum);
    printf("bytes_loaded: %llu\n", (unsigned long long)r.bytes_loaded);
    printf("db_fullscan_steps: %llu\n", (unsigned long long)r.db_fullscan_steps);
    printf("api_connections_opened: %llu\n", (unsigned long long)r.connections_opened);
    printf("api_connections_reused: %llu\n", (unsigned long long)r.connections_reused);
    printf("invalid_utf8_replaced: %llu\n", (unsigned long long)r.invalid_utf8);
    printf("tokens: %llu\n", (unsigned long long)r.tokens);
    printf("model: %s%s\n", posts_model_name(cfg.model), cfg.quantized ? "-int8" : "");
    printf("mean_score: %.6f\n", r.mean_score);
    printf("load_posts_per_s: %.0f\n", per_s(r.posts_loaded, r.load_ns));
    printf("preprocess_posts_per_s: %.0f\n", per_s(r.posts_loaded, r.preprocess_ns));
    printf("infer_posts_per_s: %.0f\n", per_s(r.posts_loaded, r.infer_ns));
    printf("stages_posts_per_s: %.0f\n", per_s(r.posts_loaded, stage_ns));
    printf("end_to_end_posts_per_s: %.0f\n", per_s(r.posts_loaded, e2e_ns));
    printf("requests: %llu\n", (unsigned long long)r.requests);
    printf("requests_per_s: %.0f\n", per_s(r.requests, r.serve_ns));
    printf("serve_scores_per_s: %.0f\n", per_s(r.scored, r.serve_ns));
    printf("cache: %s\n", cfg.cache_kind == 0 ? "lru" : cfg.cache_kind == 1 ? "none" : "redis");
    printf("cache_hits: %llu\n", (unsigned long long)r.cache_hits);
    printf("cache_misses: %llu\n", (unsigned long long)r.cache_misses);
    printf("cache_errors: %llu\n", (unsigned long long)r.cache_errors);
    printf("cache_hit_ratio: %.4f\n", cli_hit_ratio(r.cache_hits, r.cache_misses));
    printf("feed_mean_score: %.6f\n", r.feed_mean_score);
    printf("first_feed_top: %lld\n", (long long)r.first_feed_top);
    printf("total_s: %.3f\n", r.total_ns / 1e9);
    return PP_EXIT_OK;
}
#else
int cmd_pipeline(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_error("pipeline", "this build has no posts pipeline");
}
#endif
