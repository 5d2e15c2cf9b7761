/*
 * mrc.c - Miss-ratio curves of an LRU cache from an access trace: exact
 * (Mattson stack distances counted with a Fenwick tree, O(n log n)) and
 * SHARDS (fixed-rate spatial sampling by key hash, distances scaled by
 * 1/rate, with the SHARDS-adj count correction). Pure: no I/O, no clocks.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/analyze.h>

#define SHARDS_MODULUS (UINT64_C(1) << 24)

struct pp_mrc {
    uint64_t *cum;   /* cum[d]: accesses with stack distance <= d (d >= 1), cum[0] = 0 */
    size_t maxd;     /* largest distance seen */
    double rate;     /* 1 for exact */
    double total;    /* accesses the curve stands for (n, or n * rate for SHARDS) */
    double adj;      /* SHARDS-adj: expected - actual sampled accesses, added to the first bucket */
    uint64_t unique; /* distinct keys among the processed accesses */
};

static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

typedef struct keymap {
    uint64_t *keys;
    uint32_t *pos; /* position + 1; 0 = empty slot */
    size_t mask;
} keymap;

static int keymap_init(keymap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap <<= 1;
    m->keys = malloc(cap * sizeof *m->keys);
    m->pos = calloc(cap, sizeof *m->pos);
    m->mask = cap - 1;
    return (m->keys && m->pos) ? PP_OK : PP_ENOMEM;
}

static void keymap_release(keymap *m)
{
    free(m->keys);
    free(m->pos);
}

/* Slot of key: its own, or the empty one where it would go. */
static size_t keymap_slot(const keymap *m, uint64_t key)
{
    size_t i = (size_t)mix64(key) & m->mask;
    while (m->pos[i] != 0 && m->keys[i] != key)
        i = (i + 1) & m->mask;
    return i;
}

static void fen_add(int32_t *t, size_t n, size_t i, int32_t v)
{
    for (i++; i <= n; i += i & (~i + 1))
        t[i] += v;
}

static int64_t fen_prefix(const int32_t *t, size_t i) /* sum of [0, i) */
{
    int64_t s = 0;
    for (; i > 0; i -= i & (~i + 1))
        s += t[i];
    return s;
}

/*
 * Stack distances of keys[k] for the k where sampled (NULL: all), into a
 * cumulative histogram. m must be zeroed except rate/total/adj.
 */
static int distances(const uint64_t *keys, size_t n, double rate, pp_mrc *m)
{
    int rc = PP_ENOMEM;
    uint64_t threshold = (uint64_t)(rate * (double)SHARDS_MODULUS);
    size_t ns = 0;
    if (rate >= 1.0) {
        ns = n;
    } else {
        for (size_t k = 0; k < n; k++)
            if ((mix64(keys[k] ^ UINT64_C(0x5851f42d4c957f2d)) % SHARDS_MODULUS) < threshold)
                ns++;
    }
    keymap map = {0};
    int32_t *fen = calloc(ns + 1, sizeof *fen);
    uint64_t *hist = calloc(ns + 2, sizeof *hist);
    if (!fen || !hist || keymap_init(&map, ns ? ns : 1) != PP_OK)
        goto out;
    size_t t = 0, maxd = 0;
    uint64_t unique = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t key = keys[k];
        if (rate < 1.0 && (mix64(key ^ UINT64_C(0x5851f42d4c957f2d)) % SHARDS_MODULUS) >= threshold)
            continue;
        size_t slot = keymap_slot(&map, key);
        if (map.pos[slot] != 0) {
            size_t prev = map.pos[slot] - 1;
            size_t d = (size_t)(fen_prefix(fen, t) - fen_prefix(fen, prev + 1)) + 1;
            hist[d]++;
            if (d > maxd)
                maxd = d;
            fen_add(fen, ns, prev, -1);
        } else {
            map.keys[slot] = key;
            unique++;
        }
        map.pos[slot] = (uint32_t)(t + 1);
        fen_add(fen, ns, t, 1);
        t++;
    }
    m->cum = calloc(maxd + 1, sizeof *m->cum);
    if (!m->cum)
        goto out;
    for (size_t d = 1; d <= maxd; d++)
        m->cum[d] = m->cum[d - 1] + hist[d];
    m->maxd = maxd;
    m->unique = unique;
    m->rate = rate;
    if (rate < 1.0) {
        m->total = (double)n * rate;
        m->adj = m->total - (double)ns;
    } else {
        m->total = (double)n;
    }
    rc = PP_OK;
out:
    free(fen);
    free(hist);
    keymap_release(&map);
    return rc;
}

static int build(const uint64_t *keys, size_t n, double rate, pp_mrc **out)
{
    *out = NULL;
    if (!keys || n == 0 || n > (size_t)INT32_MAX || !(rate > 0.0) || rate > 1.0)
        return PP_EINVAL;
    pp_mrc *m = calloc(1, sizeof *m);
    if (!m)
        return PP_ENOMEM;
    int rc = distances(keys, n, rate, m);
    if (rc != PP_OK) {
        pp_mrc_free(m);
        return rc;
    }
    *out = m;
    return PP_OK;
}

int pp_mrc_exact(const uint64_t *keys, size_t n, pp_mrc **out)
{
    return build(keys, n, 1.0, out);
}

int pp_mrc_shards(const uint64_t *keys, size_t n, double rate, pp_mrc **out)
{
    return build(keys, n, rate, out);
}

void pp_mrc_free(pp_mrc *m)
{
    if (!m)
        return;
    free(m->cum);
    free(m);
}

/* Hits (in sampled units) for a sampled distance bound x (may be fractional). */
static double hits_at(const pp_mrc *m, double x)
{
    if (x < 1.0) {
        /* below the first bucket: interpolate from 0 hits at distance 0 */
        double first = m->maxd >= 1 ? (double)m->cum[1] + m->adj : 0.0;
        return first > 0 ? first * x : 0.0;
    }
    size_t d = (size_t)x;
    if (d >= m->maxd)
        return (double)(m->maxd ? m->cum[m->maxd] : 0) + m->adj;
    double frac = x - (double)d;
    double h = (double)m->cum[d] + frac * (double)(m->cum[d + 1] - m->cum[d]);
    return h + m->adj;
}

double pp_mrc_miss_ratio(const pp_mrc *m, uint64_t capacity)
{
    if (!m || m->total <= 0)
        return 1.0;
    double x = m->rate >= 1.0 ? (double)capacity : (double)capacity * m->rate;
    if (m->rate >= 1.0) {
        size_t d = capacity > m->maxd ? m->maxd : (size_t)capacity;
        return 1.0 - (double)m->cum[d] / m->total;
    }
    double mr = 1.0 - hits_at(m, x) / m->total;
    return mr < 0 ? 0 : (mr > 1 ? 1 : mr);
}

uint64_t pp_mrc_unique(const pp_mrc *m)
{
    if (!m)
        return 0;
    return m->rate >= 1.0 ? m->unique : (uint64_t)llround((double)m->unique / m->rate);
}

uint64_t pp_mrc_capacity_for(const pp_mrc *m, double hit_ratio)
{
    if (!m)
        return 0;
    uint64_t hi = pp_mrc_unique(m) + 1;
    if (1.0 - pp_mrc_miss_ratio(m, hi) < hit_ratio)
        return 0;
    uint64_t lo = 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (1.0 - pp_mrc_miss_ratio(m, mid) >= hit_ratio)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

size_t pp_mrc_sample(const pp_mrc *m, pp_mrc_point *out, size_t cap)
{
    if (!m || cap == 0)
        return 0;
    uint64_t u = pp_mrc_unique(m);
    if (u < 1)
        u = 1;
    size_t n = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < cap; i++) {
        double f = cap > 1 ? (double)i / (double)(cap - 1) : 1.0;
        uint64_t c = (uint64_t)llround(pow((double)u, f));
        if (c <= last)
            continue;
        out[n].capacity = c;
        out[n].miss_ratio = pp_mrc_miss_ratio(m, c);
        last = c;
        n++;
    }
    return n;
}
