/*
 * toy_workload.c - The synthetic workload of toy_workload.h: fixed, known
 * costs per stage and knob setting, one real LRU cache, one real thread per
 * source when loading concurrently.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/scope.h>

#include "toy_workload.h"

struct toy {
    int64_t knobs[PP_KNOB_COUNT];
    uint64_t trace[TOY_TRACE];
    /* LRU over keys < TOY_KEYS: doubly linked list by key */
    int prev[TOY_KEYS], next[TOY_KEYS];
    char in[TOY_KEYS];
    int head, tail;
    size_t size;
    unsigned long calls[PP_STAGE_COUNT];
    unsigned long pass_misses; /* cache misses inside passes */
    unsigned wobble_pct;       /* toy_set_wobble() */
    uint64_t wobble_state;
    /* one loader thread per source, started once: concurrent loads pay no
     * thread creation */
    pthread_t workers[3];
    int started;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long generation;
    int pending, quit;
    unsigned nworkers;
    struct job {
        toy *t;
        unsigned s;
    } jobs[3];
};

/*
 * Short CPU costs are a fixed amount of work, not a spin until a clock says
 * the time is up: reading this thread's CPU clock is a system call (2 to 4
 * us on a VM, more under load), so a spin overshoots by up to one read and
 * its cost is quantised by the read's (spin_us(3) cost 6.1 us and
 * spin_us(6) 9.6 us of CPU at load 16; spin_us(53) cost more than
 * spin_us(56)), which took int8's analytic 1.19x at toy.model.predict to
 * 1.09x. A loop of work costs in proportion to its length on a quiet or a
 * loaded machine, so short costs keep their ratios to each other.
 * `work_per_us` is measured once per process (on this thread's CPU clock,
 * over long intervals where a read's cost is noise). Costs of SPIN_MIN_US
 * and more spin on the CPU clock: one read is within 4 % of them, and they
 * cost at least what they say however fast the CPU runs later.
 */
#define SPIN_MIN_US 100
static double work_per_us;
/* how much longer every CPU cost takes in this pass, x 1000 (toy_set_wobble) */
static _Atomic unsigned slow_milli = 1000;

static uint64_t work(uint64_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        __asm__ volatile("" : "+r"(x)); /* each step is done, in order */
    }
    return x;
}

static void calibrate_once(void)
{
    double best = 0;
    for (int k = 0; k < 5; k++) { /* the fastest of five: the least disturbed */
        uint64_t n = 1u << 20, t0 = pp_clock_thread_cpu_ns();
        (void)work(n);
        uint64_t dt = pp_clock_thread_cpu_ns() - t0;
        double r = dt > 0 ? (double)n / ((double)dt / 1000.0) : 0;
        if (r > best)
            best = r;
    }
    work_per_us = best > 0 ? best : 100.0;
}

static void calibrate(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, calibrate_once);
}

static void spin_us(unsigned us)
{
    us = (unsigned)((uint64_t)us * atomic_load_explicit(&slow_milli, memory_order_relaxed) / 1000u);
    if (us < SPIN_MIN_US) {
        (void)work((uint64_t)((double)us * work_per_us + 0.5));
        return;
    }
    uint64_t t0 = pp_clock_thread_cpu_ns();
    while (pp_clock_thread_cpu_ns() - t0 < (uint64_t)us * 1000u) {
    }
}

static void wait_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static const unsigned src_us[3] = {TOY_DB_US, TOY_FILE_US, TOY_API_US};

static void load_source(toy *t, unsigned s, pp_stage_result *out)
{
    if (s == 2)
        wait_us(src_us[s] + (t->knobs[PP_KNOB_KEEP_ALIVE] ? 0 : TOY_CONNECT_US));
    else if (s == 1)
        wait_us(src_us[s]); /* file: waits on storage */
    else
        spin_us(src_us[s]); /* database: parses on the CPU */
    if (out && s == 2 && out->n_figures + 2 <= PP_STAGE_MAX_FIGURES) {
        int reuse = t->knobs[PP_KNOB_KEEP_ALIVE] != 0;
        out->figures[out->n_figures++] = (pp_figure){"connections_opened", reuse ? 0.0 : 1.0};
        out->figures[out->n_figures++] =
            (pp_figure){"connect_s", reuse ? 0.0 : TOY_CONNECT_US / 1e6};
    }
    if (out) {
        out->items += (uint64_t)t->knobs[PP_KNOB_LOAD_BATCH];
        out->bytes += (uint64_t)t->knobs[PP_KNOB_LOAD_BATCH] * 200u;
    }
}

typedef struct job job;

static void *worker(void *arg)
{
    job *j = arg;
    toy *t = j->t;
    unsigned long seen = 0;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->quit && t->generation == seen)
            pthread_cond_wait(&t->go, &t->mu);
        if (t->quit)
            break;
        seen = t->generation;
        pthread_mutex_unlock(&t->mu);
        load_source(t, j->s, NULL);
        pthread_mutex_lock(&t->mu);
        if (--t->pending == 0)
            pthread_cond_signal(&t->done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static int load_all(toy *t, pp_stage_result *out)
{
    if (t->knobs[PP_KNOB_CONCURRENCY] >= 3 && t->started) {
        pthread_mutex_lock(&t->mu);
        t->pending = 3;
        t->generation++;
        pthread_cond_broadcast(&t->go);
        while (t->pending > 0)
            pthread_cond_wait(&t->done, &t->mu);
        pthread_mutex_unlock(&t->mu);
    } else {
        for (unsigned s = 0; s < 3; s++)
            load_source(t, s, NULL);
    }
    if (out)
        out->items += 3u * (uint64_t)t->knobs[PP_KNOB_LOAD_BATCH];
    return PP_OK;
}

/* The model: one site used by two stages (inference, and the cache's misses). */
static void predict(toy *t, unsigned m, uint64_t items, unsigned fixed_us)
{
    PP_SCOPE("toy.model.predict");
    unsigned per = TOY_INFER_ITEM_US * (m + 1);
    if (t->knobs[PP_KNOB_QUANTIZED])
        per /= 2;
    spin_us(fixed_us + (unsigned)items * per);
}

static void infer(toy *t, unsigned m, uint64_t items)
{
    predict(t, m, items, TOY_INFER_FIXED_US);
}

static void lru_unlink(toy *t, int k)
{
    if (t->prev[k] >= 0)
        t->next[t->prev[k]] = t->next[k];
    else
        t->head = t->next[k];
    if (t->next[k] >= 0)
        t->prev[t->next[k]] = t->prev[k];
    else
        t->tail = t->prev[k];
}

static void lru_push_front(toy *t, int k)
{
    t->prev[k] = -1;
    t->next[k] = t->head;
    if (t->head >= 0)
        t->prev[t->head] = k;
    t->head = k;
    if (t->tail < 0)
        t->tail = k;
}

static void lru_clear(toy *t)
{
    memset(t->in, 0, sizeof t->in);
    t->head = t->tail = -1;
    t->size = 0;
}

/* One cache get; a miss pays TOY_MISS_US and inserts. */
static void cache_get(toy *t, int k, pp_stage_result *out)
{
    uint64_t t0 = out && out->op_latency ? pp_clock_now_ns() : 0;
    if (t->knobs[PP_KNOB_CACHE_BACKEND])
        spin_us(TOY_REMOTE_US); /* a remote cache: one round trip per op */
    if (t->in[k]) {
        lru_unlink(t, k);
        lru_push_front(t, k);
        if (out)
            out->hits++;
    } else {
        /* a miss computes the item: the model again, for one item */
        predict(t, (unsigned)t->knobs[PP_KNOB_MODEL], 1, 0);
        if (out)
            out->misses++;
        if (t->size >= (size_t)t->knobs[PP_KNOB_CACHE_CAPACITY] && t->tail >= 0) {
            int v = t->tail;
            lru_unlink(t, v);
            t->in[v] = 0;
            t->size--;
            if (out)
                out->evictions++;
        }
        if (t->knobs[PP_KNOB_CACHE_CAPACITY] > 0) {
            lru_push_front(t, k);
            t->in[k] = 1;
            t->size++;
        }
    }
    if (out) {
        out->items++;
        if (out->op_latency)
            pp_histogram_record(out->op_latency, pp_clock_now_ns() - t0);
    }
}

static int pass(toy *t)
{
    if (t->wobble_pct) { /* this pass's speed: 1 to 1 + pct/100 times the CPU costs */
        t->wobble_state = t->wobble_state * 6364136223846793005ull + 1442695040888963407ull;
        unsigned u = (unsigned)(t->wobble_state >> 33) % 1001u; /* 0..1000 */
        atomic_store_explicit(&slow_milli, 1000u + u * t->wobble_pct / 100u, memory_order_relaxed);
    }
    PP_SCOPE("toy.pass");
    uint64_t rows = 3u * (uint64_t)t->knobs[PP_KNOB_LOAD_BATCH];
    {
        PP_SCOPE("toy.load");
        int rc = load_all(t, NULL);
        if (rc != PP_OK)
            return rc;
    }
    {
        PP_SCOPE("toy.preprocess");
        spin_us(TOY_PRE_US / (unsigned)t->knobs[PP_KNOB_THREADS]);
    }
    {
        PP_SCOPE("toy.infer");
        uint64_t b = (uint64_t)t->knobs[PP_KNOB_BATCH_SIZE];
        for (uint64_t done = 0; done < rows; done += b)
            infer(t, (unsigned)t->knobs[PP_KNOB_MODEL], rows - done < b ? rows - done : b);
    }
    {
        PP_SCOPE("toy.cache");
        static const size_t window = TOY_PASS_WINDOW;
        static size_t pos = 0;
        pp_stage_result res;
        memset(&res, 0, sizeof res);
        for (size_t i = 0; i < window; i++)
            cache_get(t, (int)t->trace[(pos + i) % TOY_TRACE], &res);
        t->pass_misses += res.misses;
        pos = (pos + window) % TOY_TRACE;
    }
    return PP_OK;
}

static int run_stage(void *ctx, pp_stage stage, unsigned index, pp_stage_result *out)
{
    toy *t = ctx;
    if ((unsigned)stage >= PP_STAGE_COUNT)
        return PP_EINVAL;
    t->calls[stage]++;
    switch (stage) {
    case PP_STAGE_LOAD:
        if (index >= 3)
            return PP_EINVAL;
        load_source(t, index, out);
        return PP_OK;
    case PP_STAGE_LOAD_ALL:
        return load_all(t, out);
    case PP_STAGE_PREPROCESS:
        spin_us(TOY_PRE_US / (unsigned)t->knobs[PP_KNOB_THREADS]);
        out->items = 3u * (uint64_t)t->knobs[PP_KNOB_LOAD_BATCH];
        return PP_OK;
    case PP_STAGE_MODEL_LOAD:
        if (index >= 2)
            return PP_EINVAL;
        spin_us(200u * (index + 1));
        return PP_OK;
    case PP_STAGE_INFER:
        if (index >= 2)
            return PP_EINVAL;
        infer(t, index, (uint64_t)t->knobs[PP_KNOB_BATCH_SIZE]);
        out->items = (uint64_t)t->knobs[PP_KNOB_BATCH_SIZE];
        return PP_OK;
    case PP_STAGE_CACHE:
        lru_clear(t);
        for (size_t i = 0; i < TOY_TRACE; i++)
            cache_get(t, (int)t->trace[i], out);
        return PP_OK;
    case PP_STAGE_PASS:
        return pass(t);
    case PP_STAGE_COUNT:
        break;
    }
    return PP_EINVAL;
}

static int set_knob(void *ctx, pp_knob knob, int64_t value)
{
    toy *t = ctx;
    switch (knob) {
    case PP_KNOB_BATCH_SIZE:
    case PP_KNOB_LOAD_BATCH:
    case PP_KNOB_CONCURRENCY:
    case PP_KNOB_THREADS:
        if (value < 1 || value > 4096)
            return PP_EINVAL;
        break;
    case PP_KNOB_KEEP_ALIVE:
    case PP_KNOB_QUANTIZED:
        if (value != 0 && value != 1)
            return PP_EINVAL;
        break;
    case PP_KNOB_ARENA:
        /* a knob with no effect anywhere */
        if (value != 0 && value != 1)
            return PP_EINVAL;
        break;
    case PP_KNOB_MODEL:
    case PP_KNOB_CACHE_BACKEND:
        if (value < 0 || value > 1)
            return PP_EINVAL;
        break;
    case PP_KNOB_CACHE_CAPACITY:
        if (value < 0 || value > TOY_KEYS)
            return PP_EINVAL;
        if (value < t->knobs[knob])
            lru_clear(t);
        break;
    default:
        return PP_EUNAVAIL;
    }
    t->knobs[knob] = value;
    return PP_OK;
}

static int get_knob(void *ctx, pp_knob knob, int64_t *out)
{
    toy *t = ctx;
    if ((unsigned)knob >= PP_KNOB_COUNT)
        return PP_EUNAVAIL;
    *out = t->knobs[knob];
    return PP_OK;
}

static int cache_trace(void *ctx, const uint64_t **keys, size_t *n)
{
    toy *t = ctx;
    *keys = t->trace;
    *n = TOY_TRACE;
    return PP_OK;
}

toy *toy_new(void)
{
    toy *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    calibrate();
    t->knobs[PP_KNOB_BATCH_SIZE] = 1;
    t->knobs[PP_KNOB_LOAD_BATCH] = 32;
    t->knobs[PP_KNOB_CONCURRENCY] = 1;
    t->knobs[PP_KNOB_KEEP_ALIVE] = 0;
    t->knobs[PP_KNOB_CACHE_CAPACITY] = 50;
    t->knobs[PP_KNOB_THREADS] = 1;
    t->knobs[PP_KNOB_MODEL] = 0;
    t->knobs[PP_KNOB_QUANTIZED] = 0;
    uint64_t s = 42;
    for (size_t i = 0; i < TOY_TRACE; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        double u = (double)(s >> 11) / 9007199254740992.0;
        t->trace[i] = (uint64_t)(TOY_KEYS * u * u * u);
    }
    lru_clear(t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->go, NULL);
    pthread_cond_init(&t->done, NULL);
    t->started = 1;
    for (unsigned k = 0; k < 3; k++) {
        t->jobs[k] = (job){t, k};
        if (pthread_create(&t->workers[k], NULL, worker, &t->jobs[k]) != 0) {
            t->nworkers = k;
            toy_free(t);
            return NULL;
        }
        t->nworkers = k + 1;
    }
    return t;
}

void toy_set_wobble(toy *t, unsigned pct)
{
    t->wobble_pct = pct;
    t->wobble_state = 42;
    if (!pct)
        atomic_store_explicit(&slow_milli, 1000u, memory_order_relaxed);
}

void toy_free(toy *t)
{
    if (!t)
        return;
    if (t->wobble_pct)
        atomic_store_explicit(&slow_milli, 1000u, memory_order_relaxed);
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
    for (unsigned k = 0; k < t->nworkers; k++)
        pthread_join(t->workers[k], NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->go);
    pthread_cond_destroy(&t->done);
    free(t);
}

void toy_workload(toy *t, pp_workload *out)
{
    memset(out, 0, sizeof *out);
    out->version = PP_WORKLOAD_VERSION;
    out->name = "toy";
    out->ctx = t;
    out->n_sources = 3;
    out->source_names[0] = "database";
    out->source_names[1] = "file";
    out->source_names[2] = "api";
    out->network_source = 2;
    out->n_models = 2;
    out->model_names[0] = "small_model";
    out->model_names[1] = "large_model";
    out->stage_scopes[PP_STAGE_LOAD] = "toy.load";
    out->stage_scopes[PP_STAGE_PREPROCESS] = "toy.preprocess";
    out->stage_scopes[PP_STAGE_INFER] = "toy.infer";
    out->stage_scopes[PP_STAGE_CACHE] = "toy.cache";
    out->run_stage = run_stage;
    out->set_knob = set_knob;
    out->get_knob = get_knob;
    out->cache_trace = cache_trace;
    out->n_cache_backends = 2;
    out->cache_backend_names[0] = "in-process";
    out->cache_backend_names[1] = "remote";
}

unsigned long toy_pass_misses(const toy *t)
{
    return t->pass_misses;
}

unsigned long toy_calls(const toy *t, pp_stage stage)
{
    return (unsigned)stage < PP_STAGE_COUNT ? t->calls[stage] : 0;
}
