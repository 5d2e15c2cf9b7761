/*
 * span_record.c - OTLP spans from scopes, recorded on the instrumented
 * thread: ids, the head sampler of root spans, and one bounded queue per
 * thread that src/telemetry/'s sender drains. Runs only when recording is on
 * (one bit of pp__begin_extra, so no cost at all otherwise); never locks on
 * the hot path, never blocks: a full queue drops the span, counts it, and
 * pauses recording until the sender has drained (so an unreachable endpoint
 * costs a scope no more than recording off). A root the sampler leaves out
 * still gets ids (one more draw of the generator), so a request made under
 * it carries a traceparent with flags 00; its children copy its span id. Async
 * spans take the span open on their thread when they begin as parent.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <postprof/causal.h>

#include "capture.h"
#include "common/clock_impl.h"

pthread_mutex_t pp__spanq_lock = PTHREAD_MUTEX_INITIALIZER;
pp__span_queue *pp__spanqs;
pp__a64 pp__g_spans_dropped, pp__g_spans_suspended, pp__g_async_seen;
pp__span_ctx pp__span_ctxs[PP__SPAN_POOL];

static _Atomic uint32_t queue_cap; /* 0: not configured */
static _Atomic int sampler;
static _Atomic uint64_t ratio_bound; /* sampled when trace_lo < bound (RATIO samplers) */
static _Atomic int ratio_all;        /* ratio >= 1 */

static uint64_t next_id(pp__thread *t)
{
    uint64_t x = t->span_rng;
    if (!x) {
        /* seeded per thread from the clock, the thread id and its address */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec << 20 ^
            (uint64_t)(uintptr_t)t ^ (uint64_t)t->tid << 40;
        x |= 1;
    }
    /* xorshift64*: never 0 */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->span_rng = x;
    uint64_t v = x * 0x2545f4914f6cdd1dull;
    return v ? v : 1;
}

static int ratio_sampled(uint64_t trace_lo)
{
    return atomic_load_explicit(&ratio_all, memory_order_relaxed) ||
           trace_lo < atomic_load_explicit(&ratio_bound, memory_order_relaxed);
}

/* The head sampler's decision for a new root span. */
static int sample_root(uint64_t trace_lo, int has_parent, int parent_sampled)
{
    switch (atomic_load_explicit(&sampler, memory_order_relaxed)) {
    case PP__SAMPLER_ALWAYS_OFF:
        return 0;
    case PP__SAMPLER_RATIO:
        return ratio_sampled(trace_lo);
    case PP__SAMPLER_PARENT_ON:
        return has_parent ? parent_sampled : 1;
    case PP__SAMPLER_PARENT_OFF:
        return has_parent ? parent_sampled : 0;
    case PP__SAMPLER_PARENT_RATIO:
        return has_parent ? parent_sampled : ratio_sampled(trace_lo);
    default:
        return 1;
    }
}

/* A new root (a root scope, or an async span begun outside any): the remote
 * parent this thread continues, or a new trace; returns the head sampler's
 * decision. */
static int root_context(pp__thread *t, uint64_t *hi, uint64_t *lo, uint64_t *parent,
                        uint32_t *flags)
{
    int has_remote = (t->remote_flags & 0x100u) != 0;
    if (has_remote) {
        *hi = t->remote_trace_hi;
        *lo = t->remote_trace_lo;
        *parent = t->remote_span;
        *flags = PP__SPANREC_REMOTE;
    } else {
        *hi = next_id(t);
        *lo = next_id(t);
        *parent = 0;
        *flags = 0;
    }
    return sample_root(*lo, has_remote, (t->remote_flags & 1u) != 0);
}

void pp__span_begin(pp__thread *t, pp__frame *f, int32_t depth)
{
    pp__memframe *m = &t->mstack[depth];
    if (depth > 0) {
        /* a child is recorded when its parent is; under a root the sampler
         * left out it carries that root's ids (a traceparent names the
         * root); under a parent recording never saw (begun while paused) it
         * is not counted as seen, so it counts as skipped */
        uint32_t pf = t->stack[depth - 1].flags;
        if (pf & PP__FRAME_SPAN) {
            m->span_parent = t->mstack[depth - 1].span_id;
            m->span_flags = 0;
            m->span_id = next_id(t);
            f->flags |= PP__FRAME_SPAN;
        } else if (pf & PP__FRAME_SPANCTX) {
            m->span_id = t->mstack[depth - 1].span_id;
            f->flags |= PP__FRAME_SPANCTX;
        } else {
            return;
        }
        pp__add(&f->slot->span_seen, 1);
        return;
    }
    pp__add(&f->slot->span_seen, 1);
    int sampled = root_context(t, &t->trace_hi, &t->trace_lo, &m->span_parent, &m->span_flags);
    m->span_id = next_id(t);
    f->flags |= sampled ? PP__FRAME_SPAN : PP__FRAME_SPANCTX;
}

/* The depth of the innermost frame carrying a span context, -1 when none. */
static int32_t context_depth(const pp__thread *t)
{
    int32_t d = t->depth - 1;
    while (d >= 0 && !(t->stack[d].flags & (PP__FRAME_SPAN | PP__FRAME_SPANCTX)))
        d--;
    return d;
}

static pp__span_queue *queue_new(pp__thread *t)
{
    uint32_t cap = atomic_load_explicit(&queue_cap, memory_order_relaxed);
    if (!cap)
        return NULL;
    pp__span_queue *q = pp__map_zero(sizeof *q + (size_t)cap * sizeof(pp__span_rec));
    if (!q)
        return NULL;
    q->mask = cap - 1;
    pthread_mutex_lock(&pp__spanq_lock);
    q->next = pp__spanqs;
    pp__spanqs = q;
    pthread_mutex_unlock(&pp__spanq_lock);
    t->spanq = q;
    return q;
}

static void push(pp__thread *t, const pp__span_rec *r)
{
    pp__span_queue *q = t->spanq;
    if (PP_UNLIKELY(q && q->mask + 1 != atomic_load_explicit(&queue_cap, memory_order_relaxed))) {
        /* reconfigured with another capacity: the sender frees the old one */
        atomic_store_explicit(&q->orphaned, 1, memory_order_release);
        t->spanq = q = NULL;
    }
    if (PP_UNLIKELY(!q) && !(q = queue_new(t))) {
        atomic_fetch_add_explicit(&pp__g_spans_dropped, 1, memory_order_relaxed);
        return;
    }
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head - tail > q->mask) {
        atomic_fetch_add_explicit(&pp__g_spans_dropped, 1, memory_order_relaxed);
        /* pause: scopes go back to the fast path until the sender drains */
        if (atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_SPANS) & PP__BEGIN_SPANS)
            atomic_fetch_add_explicit(&pp__g_spans_suspended, 1, memory_order_relaxed);
        return;
    }
    q->rec[head & q->mask] = *r;
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
}

void pp__span_end(pp__thread *t, const pp__frame *f, uint64_t end_ticks)
{
    const pp__memframe *m = &t->mstack[t->depth];
    pp__span_rec r = {.trace_hi = t->trace_hi,
                      .trace_lo = t->trace_lo,
                      .span_id = m->span_id,
                      .parent_id = m->span_parent,
                      .start = f->start,
                      .end = end_ticks,
                      .site = f->site,
                      .flags =
                          m->span_flags | ((f->flags & PP__FRAME_FAILED) ? PP__SPANREC_FAILED : 0)};
    push(t, &r);
}

void pp__span_async_begin(pp__thread *t, uint32_t idx)
{
    pp__span_ctx *c = &pp__span_ctxs[idx];
    atomic_fetch_add_explicit(&pp__g_async_seen, 1, memory_order_relaxed);
    uint64_t hi, lo, parent;
    uint32_t flags = 0;
    int sampled;
    int32_t d = context_depth(t);
    if (d >= 0) { /* the span open here when it began is its parent */
        hi = t->trace_hi;
        lo = t->trace_lo;
        parent = t->mstack[d].span_id;
        sampled = (t->stack[d].flags & PP__FRAME_SPAN) != 0;
    } else {
        sampled = root_context(t, &hi, &lo, &parent, &flags);
    }
    atomic_store_explicit(&c->trace_hi, hi, memory_order_relaxed);
    atomic_store_explicit(&c->trace_lo, lo, memory_order_relaxed);
    atomic_store_explicit(&c->parent_id, parent, memory_order_relaxed);
    atomic_store_explicit(&c->span_id, next_id(t), memory_order_relaxed);
    atomic_store_explicit(&c->flags, PP__ACTX_ON | (sampled ? PP__ACTX_SAMPLED : 0u) | flags,
                          memory_order_relaxed);
}

void pp__span_async_end(const pp__span_rec *c, uint32_t site, uint64_t start, uint64_t end,
                        int failed)
{
    pp__thread *t = pp__thread_get();
    if (!t) {
        atomic_fetch_add_explicit(&pp__g_spans_dropped, 1, memory_order_relaxed);
        return;
    }
    pp__span_rec r = *c;
    r.start = start;
    r.end = end;
    r.site = site;
    r.flags =
        (c->flags & PP__SPANREC_REMOTE) | PP__SPANREC_ASYNC | (failed ? PP__SPANREC_FAILED : 0);
    push(t, &r);
}

int pp__span_async_context(pp_span span, uint64_t *out_trace_hi, uint64_t *out_trace_lo,
                           uint64_t *out_span_id, int *out_sampled)
{
    uint64_t idx = span >> 32;
    if (span == 0 || idx == 0 || idx > PP__SPAN_POOL)
        return 0;
    const pp__span_slot *s = &pp__spans[idx - 1];
    const pp__span_ctx *c = &pp__span_ctxs[idx - 1];
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    if (!(st & 1u) || ((st >> 1) & 0xffffffffu) != (span & 0xffffffffu))
        return 0;
    uint32_t f = atomic_load_explicit(&c->flags, memory_order_relaxed);
    *out_trace_hi = atomic_load_explicit(&c->trace_hi, memory_order_relaxed);
    *out_trace_lo = atomic_load_explicit(&c->trace_lo, memory_order_relaxed);
    *out_span_id = atomic_load_explicit(&c->span_id, memory_order_relaxed);
    *out_sampled = (f & PP__ACTX_SAMPLED) != 0;
    /* still the same span (not ended and begun again meanwhile) */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->state, memory_order_relaxed) != st)
        return 0;
    return (f & PP__ACTX_ON) != 0;
}

void pp__span_thread_exit(pp__thread *t)
{
    if (t->spanq) {
        atomic_store_explicit(&t->spanq->orphaned, 1, memory_order_release);
        t->spanq = NULL;
    }
}

void pp__span_after_fork(void)
{
    /* the sender thread did not come along: a child records no spans */
    atomic_store(&queue_cap, 0);
    atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_SPANS);
}

void pp__spans_configure(uint32_t capacity, int kind, double ratio)
{
    atomic_store(&sampler, kind);
    atomic_store(&ratio_all, ratio >= 1.0);
    double b = ratio <= 0 ? 0 : ratio * 18446744073709551616.0;
    atomic_store(&ratio_bound, b >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)b);
    atomic_store(&queue_cap, capacity);
    if (capacity)
        atomic_fetch_or(&pp__begin_extra, PP__BEGIN_SPANS);
    else
        atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_SPANS);
}

void pp__spans_resume(void)
{
    if (atomic_load(&queue_cap))
        atomic_fetch_or(&pp__begin_extra, PP__BEGIN_SPANS);
}

size_t pp__span_queue_take(pp__span_queue *q, pp__span_rec *out, size_t max)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    size_t n = 0;
    while (tail + n < head && n < max) {
        out[n] = q->rec[(tail + n) & q->mask];
        n++;
    }
    atomic_store_explicit(&q->tail, tail + n, memory_order_release);
    return n;
}

void pp__span_set_remote(uint64_t trace_hi, uint64_t trace_lo, uint64_t span_id, uint32_t flags)
{
    pp__thread *t = pp__thread_get();
    if (!t)
        return;
    t->remote_trace_hi = trace_hi;
    t->remote_trace_lo = trace_lo;
    t->remote_span = span_id;
    t->remote_flags = (flags & 0xffu) | 0x100u;
}

void pp__span_clear_remote(void)
{
    pp__thread *t = pp__thread_peek();
    if (t)
        t->remote_flags = 0;
}

int pp__span_current(uint64_t *out_trace_hi, uint64_t *out_trace_lo, uint64_t *out_span_id,
                     int *out_sampled)
{
    pp__thread *t = pp__thread_peek();
    if (!t)
        return 0;
    int32_t d = context_depth(t);
    if (d < 0)
        return 0;
    *out_trace_hi = t->trace_hi;
    *out_trace_lo = t->trace_lo;
    *out_span_id = t->mstack[d].span_id;
    *out_sampled = (t->stack[d].flags & PP__FRAME_SPAN) != 0;
    return 1;
}

static uint64_t slot_ends(const pp__slot *s)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++)
        n += pp__load(&s->hist[i]);
    return n;
}

int64_t pp__spans_unseen_ends(void)
{
    pp__capture_init();
    uint64_t ends = 0, seen = 0;
    pthread_mutex_lock(&pp__registry_lock);
    uint32_t n = atomic_load_explicit(&pp__nsites, memory_order_acquire);
    for (uint32_t id = 1; id < n; id++) {
        const pp_site *site = pp__sites[id];
        if (!site || (site->flags & PP_SITE_PROGRESS)) /* hits, not scopes */
            continue;
        for (pp__thread *t = pp__threads; t; t = t->next) {
            const pp__slot *s =
                atomic_load_explicit((_Atomic(pp__slot *) *)&t->slots[id], memory_order_acquire);
            if (s) {
                ends += slot_ends(s);
                seen += pp__load(&s->span_seen);
            }
        }
        if (pp__retired && pp__retired[id]) {
            ends += slot_ends(pp__retired[id]);
            seen += pp__load(&pp__retired[id]->span_seen);
        }
    }
    pthread_mutex_unlock(&pp__registry_lock);
    seen += pp__load(&pp__g_async_seen);
    return (int64_t)(ends - seen);
}
