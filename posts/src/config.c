/*
 * config.c - Defaults of the pipeline knobs and setting them by name, so the
 * CLI flags and a profiler's knob sweeps go through one parser. No I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <posts/config.h>

void posts_config_init(posts_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data_dir, sizeof c->data_dir, "data");
    c->sources = POSTS_SRC_DATABASE;
    c->batch_size = 256;
    c->keep_alive = 1;
    c->api_concurrency = 4;
    c->max_line = 1u << 20;
    c->preprocess_threads = 1;
    c->arena = 1;
    c->model = POSTS_MODEL_MEDIUM;
    c->cache_kind = POSTS_CACHE_LRU;
    c->cache_entries = 10000;
    c->cache_bytes = 64u << 20;
    c->redis_pool = 4;
    c->redis_pipeline = 32;
    c->redis_timeout_ms = 200;
    c->requests = 10000;
    c->candidates = 50;
    c->top_k = 10;
    c->zipf_s = 1.0;
    c->seed = 1;
    c->trace_sample = 1.0;
}

static const char *const knobs[] = {"data",
                                    "sources",
                                    "postgres",
                                    "api_url",
                                    "batch_size",
                                    "concurrent_load",
                                    "keep_alive",
                                    "api_concurrency",
                                    "max_line",
                                    "preprocess_threads",
                                    "arena",
                                    "model",
                                    "quantized",
                                    "cache",
                                    "cache_entries",
                                    "cache_bytes",
                                    "redis_pool",
                                    "redis_pipeline",
                                    "redis_timeout_ms",
                                    "requests",
                                    "candidates",
                                    "top_k",
                                    "zipf_s",
                                    "limit",
                                    "limit_per_source",
                                    "seed",
                                    "trace_capacity",
                                    "trace_sample",
                                    "extra_work",
                                    NULL};

const char *const *posts_config_knobs(void)
{
    return knobs;
}

const char *posts_model_name(int model)
{
    static const char *const n[3] = {"small", "medium", "large"};
    return (model >= 0 && model < 3) ? n[model] : "unknown";
}

int posts_model_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, posts_model_name(i)) == 0)
            return i;
    return -1;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!v || !*v || *v == '-')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1000, end++;
    else if (*end == 'M')
        mul = 1u << 20, end++;
    else if (*end == 'G')
        mul = 1u << 30, end++;
    if (errno || *end || x > max / mul || x * mul < min || x * mul > max)
        return -1;
    *out = x * mul;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int posts_config_set(posts_config *cfg, const char *name, const char *value, posts_err *err)
{
    posts_config c = *cfg;
    uint64_t u = 0;
    const char *v = value ? value : "";
    int bad = 0;
    const char *want = "";
#define U(field, lo, hi, what)                                                                     \
    do {                                                                                           \
        want = what;                                                                               \
        if (parse_u64(v, (lo), (hi), &u))                                                          \
            bad = 1;                                                                               \
        else                                                                                       \
            c.field = (__typeof__(c.field))u;                                                      \
    } while (0)
    if (strcmp(name, "data") == 0) {
        want = "a directory path";
        bad = !*v || copy_str(c.data_dir, sizeof c.data_dir, v);
    } else if (strcmp(name, "sources") == 0) {
        want = "a comma list of database, file, api";
        c.sources = 0;
        char buf[128];
        if (copy_str(buf, sizeof buf, v)) {
            bad = 1;
        } else {
            char *save = NULL;
            for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "database") == 0 || strcmp(t, "db") == 0)
                    c.sources |= POSTS_SRC_DATABASE;
                else if (strcmp(t, "file") == 0)
                    c.sources |= POSTS_SRC_FILE;
                else if (strcmp(t, "api") == 0)
                    c.sources |= POSTS_SRC_API;
                else
                    bad = 1;
            }
            bad |= c.sources == 0;
        }
    } else if (strcmp(name, "postgres") == 0) {
        want = "a libpq URL (postgresql://...)";
        bad = copy_str(c.postgres_url, sizeof c.postgres_url, v);
    } else if (strcmp(name, "api_url") == 0) {
        want = "http://HOST:PORT";
        bad = copy_str(c.api_url, sizeof c.api_url, v) ||
              (*v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0);
    } else if (strcmp(name, "batch_size") == 0) {
        U(batch_size, 1, 4096, "an integer 1..4096");
    } else if (strcmp(name, "concurrent_load") == 0) {
        U(concurrent_load, 0, 1, "0 or 1");
    } else if (strcmp(name, "keep_alive") == 0) {
        U(keep_alive, 0, 1, "0 or 1");
    } else if (strcmp(name, "api_concurrency") == 0) {
        U(api_concurrency, 1, 64, "an integer 1..64");
    } else if (strcmp(name, "max_line") == 0) {
        U(max_line, 64, 1u << 30, "bytes, 64..1G");
    } else if (strcmp(name, "preprocess_threads") == 0) {
        U(preprocess_threads, 1, 64, "an integer 1..64");
    } else if (strcmp(name, "arena") == 0) {
        U(arena, 0, 1, "0 or 1");
    } else if (strcmp(name, "model") == 0) {
        want = "small, medium or large";
        c.model = posts_model_parse(v);
        bad = c.model < 0;
    } else if (strcmp(name, "quantized") == 0) {
        U(quantized, 0, 1, "0 or 1");
    } else if (strcmp(name, "cache") == 0) {
        want = "lru, none or redis://HOST:PORT";
        if (strcmp(v, "lru") == 0)
            c.cache_kind = POSTS_CACHE_LRU;
        else if (strcmp(v, "none") == 0)
            c.cache_kind = POSTS_CACHE_NONE;
        else if (strncmp(v, "redis://", 8) == 0 && v[8]) {
            c.cache_kind = POSTS_CACHE_REDIS;
            bad = copy_str(c.redis_url, sizeof c.redis_url, v);
        } else
            bad = 1;
    } else if (strcmp(name, "cache_entries") == 0) {
        U(cache_entries, 0, (uint64_t)1 << 40, "an integer (0 = unlimited)");
    } else if (strcmp(name, "cache_bytes") == 0) {
        U(cache_bytes, 0, (uint64_t)1 << 46, "bytes (0 = unlimited)");
    } else if (strcmp(name, "redis_pool") == 0) {
        U(redis_pool, 1, 64, "an integer 1..64");
    } else if (strcmp(name, "redis_pipeline") == 0) {
        U(redis_pipeline, 1, 1024, "an integer 1..1024");
    } else if (strcmp(name, "redis_timeout_ms") == 0) {
        U(redis_timeout_ms, 1, 60000, "milliseconds 1..60000");
    } else if (strcmp(name, "requests") == 0) {
        U(requests, 0, (uint64_t)1 << 40, "an integer");
    } else if (strcmp(name, "candidates") == 0) {
        U(candidates, 1, 4096, "an integer 1..4096");
    } else if (strcmp(name, "top_k") == 0) {
        U(top_k, 1, 4096, "an integer 1..4096");
    } else if (strcmp(name, "zipf_s") == 0) {
        want = "a number in [0, 5]";
        char *end;
        double d = strtod(v, &end);
        bad = !*v || *end || !(d >= 0 && d <= 5);
        if (!bad)
            c.zipf_s = d;
    } else if (strcmp(name, "limit") == 0) {
        U(limit, 0, (uint64_t)1 << 40, "an integer (0 = no limit)");
    } else if (strcmp(name, "limit_per_source") == 0) {
        U(limit_per_source, 0, (uint64_t)1 << 40, "an integer (0 = no limit)");
    } else if (strcmp(name, "seed") == 0) {
        U(seed, 0, UINT64_MAX, "an integer");
    } else if (strcmp(name, "trace_capacity") == 0) {
        U(trace_capacity, 0, (uint64_t)1 << 28, "an integer");
    } else if (strcmp(name, "trace_sample") == 0) {
        want = "a fraction in (0, 1]";
        char *end;
        double d = strtod(v, &end);
        bad = !*v || *end || !(d > 0 && d <= 1);
        if (!bad)
            c.trace_sample = d;
    } else if (strcmp(name, "extra_work") == 0) {
        want = "a fraction in [0, 10]";
        char *end;
        double d = strtod(v, &end);
        bad = !*v || *end || !(d >= 0 && d <= 10);
        if (!bad)
            c.extra_work = d;
    } else {
        posts_err_set(err, "unknown knob '%s'", name);
        return PP_ENOTFOUND;
    }
#undef U
    if (bad) {
        posts_err_set(err, "bad value '%s' for %s: want %s", v, name, want);
        return PP_EINVAL;
    }
    *cfg = c;
    return PP_OK;
}
