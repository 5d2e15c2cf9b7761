/*
 * async.c - Async spans: begun on one thread, ended once on any thread.
 * A global pool of span slots is handed out in chunks of 256, one chunk per
 * thread at a time, so beginning a span touches only this thread's chunk;
 * ending is one compare-and-swap on the span's own slot. While OTLP spans are
 * recorded, the begin also sets the span's trace context (its parent: the
 * span open on the beginning thread) beside the slot, and the end records it
 * (capture/span_record.c).
 */
#include <pthread.h>

#include <postprof/error.h>

#include "capture.h"
#include "common/clock_impl.h"

#define NCHUNKS (PP__SPAN_POOL / PP__SPAN_CHUNK)

pp__span_slot pp__spans[PP__SPAN_POOL];
static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t free_chunks[NCHUNKS];
static uint32_t nfree;
static uint32_t next_fresh;

static uint32_t chunk_take(void)
{
    uint32_t c = 0;
    pthread_mutex_lock(&chunk_lock);
    if (next_fresh < NCHUNKS)
        c = ++next_fresh;
    else if (nfree > 0)
        c = free_chunks[--nfree] + 1;
    pthread_mutex_unlock(&chunk_lock);
    return c; /* chunk index + 1, 0 when none */
}

static void chunk_give(uint32_t c1)
{
    pthread_mutex_lock(&chunk_lock);
    if (nfree < NCHUNKS)
        free_chunks[nfree++] = c1 - 1;
    pthread_mutex_unlock(&chunk_lock);
}

void pp__span_release_chunk(pp__thread *t)
{
    if (t->span_chunk) {
        chunk_give(t->span_chunk);
        t->span_chunk = 0;
    }
}

/* A free slot in this thread's chunk, or in a new one; UINT32_MAX when all is full. */
static uint32_t find_slot(pp__thread *t)
{
    for (int attempt = 0; attempt < (int)NCHUNKS + 1; attempt++) {
        if (t->span_chunk) {
            uint32_t base = (t->span_chunk - 1) * PP__SPAN_CHUNK;
            for (uint32_t k = 0; k < PP__SPAN_CHUNK; k++) {
                uint32_t i = base + (t->span_cursor + k) % PP__SPAN_CHUNK;
                uint64_t st = atomic_load_explicit(&pp__spans[i].state, memory_order_acquire);
                if (!(st & 1u)) {
                    t->span_cursor = (i - base + 1) % PP__SPAN_CHUNK;
                    return i;
                }
            }
            pp__span_release_chunk(t);
        }
        t->span_chunk = chunk_take();
        t->span_cursor = 0;
        if (!t->span_chunk)
            break;
    }
    return UINT32_MAX;
}

pp_span pp_async_begin(pp_site *site)
{
    if (!atomic_load_explicit(&pp__enabled, memory_order_relaxed))
        return 0;
    pp__thread *t = pp__thread_get();
    if (!t)
        return 0;
    uint32_t id = atomic_load_explicit(&site->id, memory_order_acquire);
    if (!id) {
        site->flags |= PP_SITE_ASYNC;
        id = pp__site_register(site);
        if (!id)
            return 0;
    }
    uint32_t i = find_slot(t);
    if (i == UINT32_MAX) {
        atomic_fetch_add(&pp__g_dropped_spans, 1);
        return 0;
    }
    pp__span_slot *s = &pp__spans[i];
    uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
    uint64_t gen = (st >> 1) + 1;
    atomic_store_explicit(&s->site, id, memory_order_relaxed);
    if (PP_UNLIKELY(atomic_load_explicit(&pp__begin_extra, memory_order_relaxed) & PP__BEGIN_SPANS))
        pp__span_async_begin(t, i);
    else
        atomic_store_explicit(&pp__span_ctxs[i].flags, 0, memory_order_relaxed);
    atomic_store_explicit(&s->start, pp__ticks(), memory_order_relaxed);
    atomic_store_explicit(&s->state, (gen << 1) | 1u, memory_order_release);
    return ((uint64_t)(i + 1) << 32) | (gen & 0xffffffffu);
}

int pp_async_end(pp_span span, int failed)
{
    uint64_t now = pp__ticks();
    if (span == 0)
        return PP_EINVAL;
    uint64_t idx = (span >> 32);
    if (idx == 0 || idx > PP__SPAN_POOL)
        return PP_EINVAL;
    pp__span_slot *s = &pp__spans[idx - 1];
    uint64_t gen = span & 0xffffffffu;
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    if (!(st & 1u) || ((st >> 1) & 0xffffffffu) != gen)
        return PP_ESTATE;
    uint64_t start = atomic_load_explicit(&s->start, memory_order_relaxed);
    uint32_t id = atomic_load_explicit(&s->site, memory_order_relaxed);
    /* its OTLP context, read while it is still ours (recorded whatever the
     * recording state now: its begin was counted as recorded) */
    const pp__span_ctx *cx = &pp__span_ctxs[idx - 1];
    pp__span_rec c = {.flags = atomic_load_explicit(&cx->flags, memory_order_relaxed)};
    if (PP_UNLIKELY(c.flags & PP__ACTX_SAMPLED)) {
        c.trace_hi = atomic_load_explicit(&cx->trace_hi, memory_order_relaxed);
        c.trace_lo = atomic_load_explicit(&cx->trace_lo, memory_order_relaxed);
        c.span_id = atomic_load_explicit(&cx->span_id, memory_order_relaxed);
        c.parent_id = atomic_load_explicit(&cx->parent_id, memory_order_relaxed);
    }
    if (!atomic_compare_exchange_strong_explicit(&s->state, &st, st & ~(uint64_t)1,
                                                 memory_order_acq_rel, memory_order_acquire))
        return PP_ESTATE;
    uint64_t d = now > start ? now - start : 0;
    if (PP_UNLIKELY(c.flags & PP__ACTX_SAMPLED))
        pp__span_async_end(&c, id, start, start + d, failed);
    pp__thread *t = pp__thread_get();
    if (!t)
        return PP_OK;
    pp__slot *sl = pp__slot_get(t, id);
    if (!sl)
        return PP_OK;
    pp__slot_record(sl, d, d);
    if (failed)
        pp__add(&sl->errors, 1);
    return PP_OK;
}
