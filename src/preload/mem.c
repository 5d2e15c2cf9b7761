/*
 * mem.c - Allocation profiling: the malloc family interposed, forwarding to
 * glibc's __libc_* entry points (no dlsym, so no bootstrap problem). Sampled
 * by bytes (Poisson, mean POSTPROF_MEM_RATE) or every allocation; sampled
 * pointers live in a lock-free open-addressing set so their frees are seen.
 * Never allocates through malloc, never locks.
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "ring.h"
#include "unwind.h"

#define TOMB ((uintptr_t)1)
#define MAX_PROBES 512

typedef struct {
    _Atomic uintptr_t key;
    uint64_t hash;
    uint64_t size;
} live_entry;

static live_entry *live;
static uint64_t live_mask;
/* sampled mode: a counter of tracked pointers per hash bucket, so the free
 * of an unsampled block (nearly all) costs one cached load; saturated
 * counters stay at 255 (their frees always probe the set) */
#define MAYBE_BUCKETS (1u << 14) /* 16 KiB: stays in L1 */
static _Atomic uint8_t maybe[MAYBE_BUCKETS];
static int filter_on = 1; /* sampled mode, or not profiling (all buckets stay 0) */
static _Atomic int mem_ready;

static PP_PL_TLS __thread int64_t until_sample;
static PP_PL_TLS __thread uint64_t rng_state;
PP_PL_TLS __thread int pp__pl_in_hook;

void pp__pl_mem_init(void)
{
    filter_on = pp__pl.mem_rate != 0;
    uint64_t cap = pp__pl.mem_rate == 0 ? (1u << 22) : (1u << 16);
    void *p = mmap(NULL, cap * sizeof(live_entry), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return;
    live = p;
    live_mask = cap - 1;
    atomic_store(&mem_ready, 1);
}

void pp__pl_mem_reset(void)
{
    if (live)
        memset(live, 0, (live_mask + 1) * sizeof(live_entry));
    for (unsigned i = 0; i < MAYBE_BUCKETS; i++)
        atomic_store(&maybe[i], 0);
    until_sample = 0;
}

/* locality-preserving: neighbouring blocks use neighbouring slots, so the
 * set stays in few pages (and TLB entries) for a compact heap */
static inline uint64_t ptr_slot(uintptr_t p)
{
    return (p >> 4) ^ (p >> 26);
}

static inline uint64_t maybe_bucket(uintptr_t p)
{
    return ((p >> 4) * 0xff51afd7ed558ccdull) >> (64 - 14);
}

static void maybe_add(uintptr_t p, int delta)
{
    if (pp__pl.mem_rate == 0)
        return; /* --mem-all: every block is tracked, no filter */
    _Atomic uint8_t *c = &maybe[maybe_bucket(p)];
    uint8_t cur = atomic_load_explicit(c, memory_order_relaxed);
    while (cur != 255 && !(delta < 0 && cur == 0) &&
           !atomic_compare_exchange_weak(c, &cur, (uint8_t)(cur + delta)))
        ;
}

static int live_insert(uintptr_t p, uint64_t hash, uint64_t size)
{
    maybe_add(p, 1);
    uint64_t i = ptr_slot(p);
    for (int k = 0; k < MAX_PROBES; k++, i++) {
        live_entry *e = &live[i & live_mask];
        uintptr_t cur = atomic_load_explicit(&e->key, memory_order_relaxed);
        if (cur > TOMB)
            continue;
        if (atomic_compare_exchange_strong(&e->key, &cur, p)) {
            e->hash = hash;
            e->size = size;
            return 1;
        }
    }
    maybe_add(p, -1);
    atomic_fetch_add(&pp__pl.live_full, 1);
    return 0;
}

static int live_remove(uintptr_t p, uint64_t *hash, uint64_t *size)
{
    if (pp__pl.mem_rate != 0 &&
        atomic_load_explicit(&maybe[maybe_bucket(p)], memory_order_relaxed) == 0)
        return 0;
    uint64_t i = ptr_slot(p);
    for (int k = 0; k < MAX_PROBES; k++, i++) {
        live_entry *e = &live[i & live_mask];
        uintptr_t cur = atomic_load_explicit(&e->key, memory_order_acquire);
        if (cur == 0)
            return 0;
        if (cur != p)
            continue;
        *hash = e->hash;
        *size = e->size;
        atomic_store_explicit(&e->key, TOMB, memory_order_release);
        maybe_add(p, -1);
        return 1;
    }
    return 0;
}

static inline int mem_active(void)
{
    return atomic_load_explicit(&mem_ready, memory_order_relaxed) &&
           atomic_load_explicit(&pp__pl.active, memory_order_relaxed) && !pp__pl_in_hook;
}

static uint64_t next_gap(void)
{
    if (rng_state == 0)
        rng_state = (uint64_t)(uintptr_t)&rng_state ^ pp__pl_now_ns() ^ 0x9E3779B97F4A7C15ull;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    double u = ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
    double gap = -log(u) * (double)pp__pl.mem_rate;
    return gap < 1.0 ? 1 : (uint64_t)gap;
}

/* Slow half of the sampling decision: the countdown ran out (or was never
 * set). Returns 1 when this allocation is to be recorded. */
static __attribute__((noinline)) int sample_slow(void)
{
    if (!mem_active()) {
        until_sample = (int64_t)1 << 40; /* not profiling: look again after 1 TiB */
        return 0;
    }
    if (pp__pl.mem_rate == 0) {
        until_sample = 0; /* --mem-all: every allocation */
        return 1;
    }
    until_sample = (int64_t)next_gap();
    return 1;
}

/* Fast half: one thread-local subtraction for nearly every allocation. */
static inline int sampled(size_t n)
{
    until_sample -= (int64_t)n;
    if (__builtin_expect(until_sample > 0, 1))
        return 0;
    return sample_slow();
}

/* push to the ring; with --mem-all wait for room rather than lose an event,
 * as long as a running collector will make room (up to ~5 s) */
static void push_event(pp_pl_thread *t, uint64_t hdr, const uint64_t *a, unsigned na,
                       const uint64_t *b, unsigned nb)
{
    if (pp__pl.mem_rate == 0) {
        for (unsigned spins = 0; !pp_pl_ring_room(&t->mem, 1 + na + nb); spins++) {
            if (atomic_load(&pp__pl.collector_pause) || atomic_load(&pp__pl.collector_stop) ||
                spins > 1000 + 100000)
                break;
            if (spins == 0)
                atomic_fetch_add(&pp__pl.mem_waits, 1);
            if (spins < 1000) {
                sched_yield();
            } else {
                struct timespec ts = {0, 50000};
                syscall(SYS_nanosleep, &ts, NULL);
            }
        }
    }
    pp_pl_ring_push(&t->mem, hdr, a, na, b, nb);
}

static __attribute__((noinline)) void record_alloc(void *p, size_t n, void *frame)
{
    pp_pl_thread *t = pp__pl_self;
    if (!t || !t->mem.buf) {
        atomic_fetch_add_explicit(&pp__pl.unregistered_allocs, 1, memory_order_relaxed);
        return;
    }
    pp__pl_in_hook = 1;
    uint64_t pcs[PP_PL_MAX_DEPTH];
    unsigned k =
        pp_pl_unwind_fp(0, (uintptr_t)frame, (uintptr_t)frame, t->stack_hi, pcs, PP_PL_MAX_DEPTH);
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < k; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 31;
    }
    h |= 1; /* never 0 */
    if (live_insert((uintptr_t)p, h, n)) {
        uint64_t pay[2] = {n, h};
        push_event(t, PP_PL_HDR(PP_PL_REC_ALLOC, 3 + k, 0), pay, 2, pcs, k);
    }
    pp__pl_collector_inline(&t->mem);
    pp__pl_in_hook = 0;
}

static __attribute__((noinline)) void free_tracked(void *p)
{
    uint64_t h, n;
    if (!mem_active() || !live_remove((uintptr_t)p, &h, &n))
        return;
    pp_pl_thread *t = pp__pl_self;
    if (!t || !t->mem.buf)
        return;
    pp__pl_in_hook = 1;
    uint64_t pay[2] = {n, h};
    push_event(t, PP_PL_HDR(PP_PL_REC_FREE, 3, 0), pay, 2, NULL, 0);
    pp__pl_collector_inline(&t->mem);
    pp__pl_in_hook = 0;
}

/* sampled mode: an empty filter bucket proves p untracked (one L1 load) */
static inline void note_free(void *p)
{
    if (!p || (filter_on &&
               atomic_load_explicit(&maybe[maybe_bucket((uintptr_t)p)], memory_order_relaxed) == 0))
        return;
    free_tracked(p);
}

#define NOTE_ALLOC(p, n)                                                                           \
    do {                                                                                           \
        if ((p) && sampled(n))                                                                     \
            record_alloc((p), (n), __builtin_frame_address(0));                                    \
    } while (0)

/* the sampling decision comes first, so the common case is a tail call */
static __attribute__((noinline)) void *malloc_sampled(size_t n)
{
    void *p = __libc_malloc(n);
    if (p)
        record_alloc(p, n, __builtin_frame_address(0));
    return p;
}

PP_PL_API void *malloc(size_t n)
{
    if (__builtin_expect(!sampled(n), 1))
        return __libc_malloc(n);
    return malloc_sampled(n);
}

/* untracked blocks (nearly all) go straight to glibc: a tail call */
static __attribute__((noinline)) void free_slow(void *p)
{
    free_tracked(p);
    __libc_free(p);
}

PP_PL_API void free(void *p)
{
    if (__builtin_expect(!p ||
                             (filter_on && atomic_load_explicit(&maybe[maybe_bucket((uintptr_t)p)],
                                                                memory_order_relaxed) == 0),
                         1)) {
        __libc_free(p);
        return;
    }
    free_slow(p);
}

PP_PL_API void *calloc(size_t n, size_t m)
{
    void *p = __libc_calloc(n, m);
    NOTE_ALLOC(p, n * m);
    return p;
}

PP_PL_API void *realloc(void *p, size_t n)
{
    if (p && n)
        note_free(p);
    else if (p && !n)
        note_free(p);
    void *q = __libc_realloc(p, n);
    if (q && n)
        NOTE_ALLOC(q, n);
    return q;
}

PP_PL_API void *reallocarray(void *p, size_t n, size_t m)
{
    size_t total;
    if (__builtin_mul_overflow(n, m, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (p && total)
        note_free(p);
    else if (p)
        note_free(p);
    void *q = __libc_realloc(p, total);
    if (q && total)
        NOTE_ALLOC(q, total);
    return q;
}

PP_PL_API int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    NOTE_ALLOC(p, n);
    *out = p;
    return 0;
}

PP_PL_API void *aligned_alloc(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    NOTE_ALLOC(p, n);
    return p;
}

PP_PL_API void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    NOTE_ALLOC(p, n);
    return p;
}

PP_PL_API void *valloc(size_t n)
{
    void *p = __libc_valloc(n);
    NOTE_ALLOC(p, n);
    return p;
}

PP_PL_API void *pvalloc(size_t n)
{
    void *p = __libc_pvalloc(n);
    NOTE_ALLOC(p, n);
    return p;
}
