/*
 * span_record.c - OTLP spans from scopes, recorded on the instrumented
 * thread: ids, the head sampler of root spans, and one bounded queue per
 * thread that src/telemetry/'s sender drains. Runs only when recording is on
 * (one bit of pp__begin_extra, so no cost at all otherwise); never locks on
 * the hot path, never blocks: a full queue drops the span, counts it, and
 * pauses recording until the sender has drained (so an unreachable endpoint
 * costs a scope no more than recording off).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "capture.h"
#include "common/clock_impl.h"

pthread_mutex_t pp__spanq_lock = PTHREAD_MUTEX_INITIALIZER;
pp__span_queue *pp__spanqs;
pp__a64 pp__g_spans_dropped, pp__g_spans_suspended;

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

void pp__span_begin(pp__thread *t, pp__frame *f, int32_t depth)
{
    pp__memframe *m = &t->mstack[depth];
    if (depth > 0) {
        /* a child is recorded when its parent is */
        if (!(t->stack[depth - 1].flags & PP__FRAME_SPAN))
            return;
        m->span_parent = t->mstack[depth - 1].span_id;
        m->span_flags = 0;
    } else {
        int has_remote = (t->remote_flags & 0x100u) != 0;
        if (has_remote) {
            t->trace_hi = t->remote_trace_hi;
            t->trace_lo = t->remote_trace_lo;
            m->span_parent = t->remote_span;
            m->span_flags = PP__SPANREC_REMOTE;
        } else {
            t->trace_hi = next_id(t);
            t->trace_lo = next_id(t);
            m->span_parent = 0;
            m->span_flags = 0;
        }
        if (!sample_root(t->trace_lo, has_remote, (t->remote_flags & 1u) != 0))
            return;
    }
    m->span_id = next_id(t);
    f->flags |= PP__FRAME_SPAN;
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
        pp__add(&pp__g_spans_dropped, 1);
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

void pp__span_async(uint32_t site, uint64_t start, uint64_t end, int failed)
{
    pp__thread *t = pp__thread_get();
    if (!t)
        return;
    pp__span_rec r = {.start = start,
                      .end = end,
                      .site = site,
                      .flags = PP__SPANREC_ASYNC | (failed ? PP__SPANREC_FAILED : 0)};
    r.trace_hi = next_id(t);
    r.trace_lo = next_id(t);
    if (!sample_root(r.trace_lo, 0, 0))
        return;
    r.span_id = next_id(t);
    push(t, &r);
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

int pp__span_current(uint64_t *out_trace_hi, uint64_t *out_trace_lo, uint64_t *out_span_id)
{
    pp__thread *t = pp__thread_peek();
    if (!t)
        return 0;
    for (int32_t d = t->depth - 1; d >= 0; d--) {
        if (t->stack[d].flags & PP__FRAME_SPAN) {
            *out_trace_hi = t->trace_hi;
            *out_trace_lo = t->trace_lo;
            *out_span_id = t->mstack[d].span_id;
            return 1;
        }
    }
    return 0;
}
