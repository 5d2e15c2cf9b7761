/*
 * scope.c - Sync scopes on the per-thread stack, the site table and the
 * thread registry. The hot path (pp_scope_begin/end) touches only this
 * thread's state: no lock, no allocation after the thread's first event
 * (unless it meets more sites than its first slot chunk holds), no system call.
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <postprof/clock.h>

#include "capture.h"
#include "common/clock_impl.h"

#define TLS_IE __attribute__((tls_model("initial-exec")))
#define CHUNK_BYTES (2u << 20)

_Atomic int pp__enabled = 1;
static _Atomic uint32_t default_cpu_every = 0;
static _Atomic uint32_t cpu_gen; /* bumped by each pp_set_cpu_sampling() */
/* per site id, in place of the default (pp_set_site_cpu_sampling); 0: the default */
static _Atomic uint32_t site_cpu_every[PP__MAX_SITES];
static _Atomic int site_cpu_set; /* some entry above may be non-zero */
_Atomic uint32_t pp__begin_extra;

pthread_mutex_t pp__registry_lock = PTHREAD_MUTEX_INITIALIZER;
pp__thread *pp__threads;
pp_site *pp__sites[PP__MAX_SITES];
_Atomic uint32_t pp__nsites = 1;
pp__slot **pp__retired;
pp__a64 pp__g_misnested, pp__g_no_begin, pp__g_unclosed, pp__g_overflow, pp__g_exited,
    pp__g_dropped_sites, pp__g_dropped_spans;

static __thread pp__thread *tls_thread TLS_IE;
static pthread_key_t thread_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

void *pp__map_zero(size_t n)
{
    void *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Slots of a thread that is going away (or gone, after fork) join the retired set. */
static void retire_locked(pp__thread *t)
{
    if (!pp__retired)
        pp__retired = pp__map_zero(sizeof(pp__slot *) * PP__MAX_SITES);
    uint32_t n = atomic_load_explicit(&pp__nsites, memory_order_acquire);
    for (uint32_t id = 1; id < n && pp__retired; id++) {
        pp__slot *s = t->slots[id];
        if (!s)
            continue;
        if (!pp__retired[id]) {
            pp__slot *r = pp__map_zero(sizeof(pp__slot));
            if (!r)
                continue;
            pp__store(&r->min, UINT64_MAX);
            atomic_store_explicit(&r->parent,
                                  atomic_load_explicit(&s->parent, memory_order_relaxed),
                                  memory_order_relaxed);
            pp__retired[id] = r;
        } else if (!atomic_load_explicit(&pp__retired[id]->parent, memory_order_relaxed)) {
            atomic_store_explicit(&pp__retired[id]->parent,
                                  atomic_load_explicit(&s->parent, memory_order_relaxed),
                                  memory_order_relaxed);
        }
        pp__slot_merge(pp__retired[id], s);
    }
    atomic_fetch_add(&pp__g_misnested, pp__load(&t->misnested));
    atomic_fetch_add(&pp__g_no_begin, pp__load(&t->no_begin));
    atomic_fetch_add(&pp__g_unclosed,
                     pp__load(&t->unclosed) + (uint64_t)(t->depth > 0 ? t->depth : 0));
    atomic_fetch_add(&pp__g_overflow, pp__load(&t->overflow));
    atomic_fetch_add(&pp__g_exited, 1);
    pp__trace_retire_locked(t);
    if (t->prev)
        t->prev->next = t->next;
    else
        pp__threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void free_thread(pp__thread *t)
{
    pp__trace_free(t);
    void *c = t->chunks;
    while (c) {
        void *next = *(void **)c;
        munmap(c, CHUNK_BYTES);
        c = next;
    }
    munmap(t->slots, sizeof(pp__slot *) * PP__MAX_SITES);
    munmap(t, sizeof(*t));
}

static void thread_exit(void *arg)
{
    pp__thread *t = arg;
    pp__span_release_chunk(t);
    pp__span_thread_exit(t);
    pthread_mutex_lock(&pp__registry_lock);
    retire_locked(t);
    pthread_mutex_unlock(&pp__registry_lock);
    if (tls_thread == t)
        tls_thread = NULL;
    free_thread(t);
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&pp__registry_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&pp__registry_lock);
}

/* In the child only the forking thread exists: keep the others' data as retired. */
static void atfork_child(void)
{
    pp__thread *t = pp__threads;
    while (t) {
        pp__thread *next = t->next;
        if (t != tls_thread) {
            retire_locked(t);
            atomic_fetch_sub(&pp__g_exited, 1); /* not an exit: counted as gone in fork */
            free_thread(t);
        }
        t = next;
    }
    pthread_mutex_init(&pp__registry_lock, NULL);
    if (tls_thread)
        tls_thread->tid = (int)syscall(SYS_gettid);
    pp__mem_after_fork();
    pp__causal_after_fork();
    pp__span_after_fork();
}

static void global_init(void)
{
    pp__clock_init();
    pthread_key_create(&thread_key, thread_exit);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    pp__trace_from_env();
    pp__causal_from_env();
}

void pp__capture_init(void)
{
    pthread_once(&init_once, global_init);
}

static __attribute__((noinline)) pp__thread *thread_init(void)
{
    pp__capture_init();
    pp__thread *t = pp__map_zero(sizeof(*t));
    if (!t)
        return NULL;
    t->slots = pp__map_zero(sizeof(pp__slot *) * PP__MAX_SITES);
    if (!t->slots) {
        munmap(t, sizeof(*t));
        return NULL;
    }
    t->tid = (int)syscall(SYS_gettid);
    pp__causal_thread_init(t);
    pthread_mutex_lock(&pp__registry_lock);
    t->next = pp__threads;
    if (pp__threads)
        pp__threads->prev = t;
    pp__threads = t;
    pthread_mutex_unlock(&pp__registry_lock);
    tls_thread = t;
    pthread_setspecific(thread_key, t);
    return t;
}

pp__thread *pp__thread_get(void)
{
    pp__thread *t = tls_thread;
    return t ? t : thread_init();
}

pp__thread *pp__thread_peek(void)
{
    return tls_thread;
}

uint32_t pp__site_register(pp_site *site)
{
    pp__capture_init();
    pthread_mutex_lock(&pp__registry_lock);
    uint32_t id = atomic_load_explicit(&site->id, memory_order_relaxed);
    if (id == 0) {
        id = atomic_load_explicit(&pp__nsites, memory_order_relaxed);
        if (id >= PP__MAX_SITES) {
            atomic_fetch_add(&pp__g_dropped_sites, 1);
            id = 0;
        } else {
            pp__sites[id] = site;
            atomic_store_explicit(&pp__nsites, id + 1, memory_order_release);
            atomic_store_explicit(&site->id, id, memory_order_release);
        }
    }
    pthread_mutex_unlock(&pp__registry_lock);
    return id;
}

static __attribute__((noinline)) pp__slot *slot_new(pp__thread *t, uint32_t id)
{
    if (t->arena_used + sizeof(pp__slot) > t->arena_cap) {
        char *c = pp__map_zero(CHUNK_BYTES);
        if (!c)
            return NULL;
        *(void **)c = t->chunks;
        t->chunks = c;
        t->arena = c;
        t->arena_used = 64; /* the link word, cache-line aligned */
        t->arena_cap = CHUNK_BYTES;
    }
    pp__slot *s = (pp__slot *)(t->arena + t->arena_used);
    t->arena_used += (sizeof(pp__slot) + 63) & ~(size_t)63;
    pp__store(&s->min, UINT64_MAX);
    pp_site *site = pp__sites[id];
    int async = site && (site->flags & PP_SITE_ASYNC);
    atomic_store_explicit(&s->parent, (!async && t->depth > 0) ? t->stack[t->depth - 1].site : 0,
                          memory_order_relaxed);
    s->cpu_countdown = 0; /* on-CPU sampling measures the first call on this thread */
    /* publish: snapshots read slots[] with acquire */
    atomic_store_explicit((_Atomic(pp__slot *) *)&t->slots[id], s, memory_order_release);
    return s;
}

void pp__scope_parents_forget(void)
{
    pthread_mutex_lock(&pp__registry_lock);
    uint32_t n = atomic_load_explicit(&pp__nsites, memory_order_acquire);
    if (n > PP__MAX_SITES)
        n = PP__MAX_SITES;
    for (pp__thread *t = pp__threads; t; t = t->next)
        for (uint32_t id = 1; id < n; id++) {
            pp__slot *s =
                atomic_load_explicit((_Atomic(pp__slot *) *)&t->slots[id], memory_order_acquire);
            if (s)
                atomic_store_explicit(&s->parent, 0, memory_order_relaxed);
        }
    for (uint32_t id = 1; pp__retired && id < n; id++)
        if (pp__retired[id])
            atomic_store_explicit(&pp__retired[id]->parent, 0, memory_order_relaxed);
    pthread_mutex_unlock(&pp__registry_lock);
}

pp__slot *pp__slot_get(pp__thread *t, uint32_t id)
{
    pp__slot *s = t->slots[id];
    return s ? s : slot_new(t, id);
}

void pp__slot_merge(pp__slot *dst, const pp__slot *src)
{
    pp__add(&dst->total, pp__load(&src->total));
    pp__add(&dst->self, pp__load(&src->self));
    pp__add(&dst->errors, pp__load(&src->errors));
    pp__add(&dst->span_seen, pp__load(&src->span_seen));
    pp__add(&dst->cpu_ns, pp__load(&src->cpu_ns));
    pp__add(&dst->cpu_wall, pp__load(&src->cpu_wall));
    pp__add(&dst->cpu_samples, pp__load(&src->cpu_samples));
    pp__add(&dst->mem_alloc, pp__load(&src->mem_alloc));
    pp__add(&dst->mem_alloc_count, pp__load(&src->mem_alloc_count));
    pp__add(&dst->mem_freed, pp__load(&src->mem_freed));
    pp__add(&dst->mem_calls, pp__load(&src->mem_calls));
    atomic_store_explicit(&dst->mem_net,
                          atomic_load_explicit(&dst->mem_net, memory_order_relaxed) +
                              atomic_load_explicit(&src->mem_net, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&dst->rss_delta,
                          atomic_load_explicit(&dst->rss_delta, memory_order_relaxed) +
                              atomic_load_explicit(&src->rss_delta, memory_order_relaxed),
                          memory_order_relaxed);
    int64_t sp = atomic_load_explicit(&src->mem_peak, memory_order_relaxed);
    if (sp > atomic_load_explicit(&dst->mem_peak, memory_order_relaxed))
        atomic_store_explicit(&dst->mem_peak, sp, memory_order_relaxed);
    pp__add(&dst->hit_seq, pp__load(&src->hit_seq));
    if (pp__load(&src->hit_tick) > pp__load(&dst->hit_tick)) {
        pp__store(&dst->hit_tick, pp__load(&src->hit_tick));
        pp__store(&dst->hit_delay, pp__load(&src->hit_delay));
    }
    uint64_t mn = pp__load(&src->min), mx = pp__load(&src->max);
    if (mn < pp__load(&dst->min))
        pp__store(&dst->min, mn);
    if (mx > pp__load(&dst->max))
        pp__store(&dst->max, mx);
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++) {
        uint64_t c = pp__load(&src->hist[i]);
        if (c)
            pp__add(&dst->hist[i], c);
    }
}

/* ---- memory scopes and on-CPU sampling: the slower, opt-in part of a scope ---- */

static __attribute__((noinline, cold)) void frame_begin_extra(pp__thread *t, pp__frame *f,
                                                              pp_site *site, pp__slot *s)
{
    uint32_t every = site->cpu_every;
    if (every == 0 && atomic_load_explicit(&site_cpu_set, memory_order_relaxed)) {
        uint32_t id = atomic_load_explicit(&site->id, memory_order_relaxed);
        if (id < PP__MAX_SITES)
            every = atomic_load_explicit(&site_cpu_every[id], memory_order_relaxed);
    }
    if (every == 0)
        every = atomic_load_explicit(&default_cpu_every, memory_order_relaxed);
    if (every && every != UINT32_MAX) {
        /* every Nth call on this thread, from the first one since sampling
         * was last set (or since N changed) */
        uint32_t gen = atomic_load_explicit(&cpu_gen, memory_order_relaxed);
        if (s->cpu_gen != gen || s->cpu_countdown == 0 || s->cpu_countdown > every) {
            s->cpu_countdown = 1;
            s->cpu_gen = gen;
        }
        if (--s->cpu_countdown == 0) {
            s->cpu_countdown = every;
            f->flags |= PP__FRAME_CPU;
            t->mstack[t->depth].cpu_start = pp_clock_thread_cpu_ns();
        }
    }
    uint32_t extra = atomic_load_explicit(&pp__begin_extra, memory_order_relaxed);
    pp__memframe *m = &t->mstack[t->depth];
    if (site->flags & PP_SITE_MEM) {
        f->flags |= PP__FRAME_RSS;
        m->rss_start = pp_mem_rss_bytes();
    }
    /* allocations are counted only where malloc accounting runs: elsewhere
     * the figures stay unmeasured (mem_calls 0), not a false zero */
    if (((site->flags & PP_SITE_MEM) || (extra & PP__BEGIN_ALLOC)) &&
        atomic_load_explicit(&pp__mem_hooked, memory_order_relaxed)) {
        f->flags |= PP__FRAME_MEM;
        m->at_start = pp__mem_tls;
        m->saved_peak = pp__mem_tls.peak;
        pp__mem_tls.peak = pp__mem_tls.live;
    }
    if (extra & PP__BEGIN_TRACE)
        f->flags |= PP__FRAME_TRACE;
    if (extra & PP__BEGIN_CAUSAL) {
        f->flags |= PP__FRAME_CAUSAL;
        pp__causal_begin(t, m);
    }
    if (extra & PP__BEGIN_SPANS)
        pp__span_begin(t, f, t->depth);
}

static __attribute__((noinline, cold)) void frame_end_extra(pp__thread *t, pp__frame *f,
                                                            pp__slot *s, uint64_t d)
{
    if (f->flags & PP__FRAME_FAILED)
        pp__add(&s->errors, 1);
    if (f->flags & PP__FRAME_TRACE)
        pp__trace_add(t, f->site, f->start, f->start + d);
    if (f->flags & PP__FRAME_SPAN)
        pp__span_end(t, f, f->start + d);
    if (f->flags & PP__FRAME_CPU) {
        uint64_t cpu = pp_clock_thread_cpu_ns() - t->mstack[t->depth].cpu_start;
        pp__add(&s->cpu_ns, cpu);
        pp__add(&s->cpu_wall, d);
        pp__add(&s->cpu_samples, 1);
    }
    if (f->flags & PP__FRAME_MEM) {
        pp__memframe *m = &t->mstack[t->depth];
        pp_mem_counters *c = &pp__mem_tls;
        pp__add(&s->mem_alloc, c->alloc_bytes - m->at_start.alloc_bytes);
        pp__add(&s->mem_alloc_count, c->alloc_count - m->at_start.alloc_count);
        pp__add(&s->mem_freed, c->free_usable - m->at_start.free_usable);
        pp__add(&s->mem_calls, 1);
        int64_t net = c->live - m->at_start.live;
        int64_t peak = c->peak - m->at_start.live;
        atomic_store_explicit(&s->mem_net,
                              atomic_load_explicit(&s->mem_net, memory_order_relaxed) + net,
                              memory_order_relaxed);
        if (peak > atomic_load_explicit(&s->mem_peak, memory_order_relaxed))
            atomic_store_explicit(&s->mem_peak, peak, memory_order_relaxed);
        /* the enclosing memory scope's peak includes this one's */
        if (m->saved_peak > c->peak)
            c->peak = m->saved_peak;
    }
    if (f->flags & PP__FRAME_CAUSAL)
        pp__causal_end(t, f, &t->mstack[t->depth], d);
    if (f->flags & PP__FRAME_RSS) {
        int64_t rss = (int64_t)pp_mem_rss_bytes() - (int64_t)t->mstack[t->depth].rss_start;
        atomic_store_explicit(&s->rss_delta,
                              atomic_load_explicit(&s->rss_delta, memory_order_relaxed) + rss,
                              memory_order_relaxed);
    }
}

static inline int push(pp__thread *t, uint32_t id, pp_site *site)
{
    pp__slot *s = t->slots[id];
    if (PP_UNLIKELY(!s)) {
        s = slot_new(t, id);
        if (!s)
            return -1;
    }
    int32_t depth = t->depth;
    if (PP_UNLIKELY(depth >= PP__MAX_DEPTH)) {
        pp__add(&t->overflow, 1);
        return -1;
    }
    pp__frame *f = &t->stack[depth];
    f->site = id;
    f->child = 0;
    f->flags = 0;
    f->slot = s;
    if (PP_UNLIKELY(site->cpu_every | (site->flags & PP_SITE_MEM) |
                    atomic_load_explicit(&pp__begin_extra, memory_order_relaxed)))
        frame_begin_extra(t, f, site, s);
    t->depth = depth + 1;
    f->start = pp__ticks();
    return depth;
}

/* Close the frame at depth, the innermost one (callers check). */
static inline void pop_at(pp__thread *t, int32_t depth, uint64_t now)
{
    t->depth = depth;
    pp__frame *f = &t->stack[depth];
    pp__slot *s = f->slot;
    uint64_t d = now - f->start;
    pp__slot_record(s, d, d - f->child);
    if (depth > 0) {
        t->stack[depth - 1].child += d;
        /* first called at the top of this thread's stack (a set-up call
         * before the work it belongs to), now inside a scope: that scope is
         * its parent, not "none" for good */
        if (PP_UNLIKELY(!atomic_load_explicit(&s->parent, memory_order_relaxed)))
            atomic_store_explicit(&s->parent, t->stack[depth - 1].site, memory_order_relaxed);
    }
    if (PP_UNLIKELY(f->flags))
        frame_end_extra(t, f, s, d);
}

/* The rare ends: not the innermost scope, or no such open scope at all. */
static __attribute__((noinline, cold)) void end_misnested(pp__thread *t, pp_scope *scope,
                                                          uint64_t now)
{
    if (!t || scope->depth >= t->depth || t->stack[scope->depth].site != scope->site_id) {
        if (t)
            pp__add(&t->no_begin, 1);
        scope->depth = -1;
        return;
    }
    /* inner scopes left open: close them, counted as unclosed */
    pp__add(&t->misnested, 1);
    while (t->depth - 1 > scope->depth) {
        pp__add(&t->unclosed, 1);
        pop_at(t, t->depth - 1, now);
    }
    pop_at(t, t->depth - 1, now);
    scope->depth = -1;
}

/* Everything a first event, a new site or an opt-in extra needs: out of line. */
static __attribute__((noinline)) pp_scope begin_slow(pp_site *site)
{
    pp_scope sc = {-1, 0};
    pp__thread *t = tls_thread;
    if (!t) {
        t = thread_init();
        if (!t)
            return sc;
    }
    uint32_t id = atomic_load_explicit(&site->id, memory_order_acquire);
    if (!id) {
        id = pp__site_register(site);
        if (!id)
            return sc;
    }
    sc.depth = push(t, id, site);
    sc.site_id = id;
    return sc;
}

pp_scope pp_scope_begin(pp_site *site)
{
    pp__thread *t = tls_thread;
    uint32_t id = atomic_load_explicit(&site->id, memory_order_acquire);
    /* a first call on this thread (no slot yet) or anything opt-in goes slow */
    pp__slot *s;
    if (PP_UNLIKELY(!t || !id || t->depth >= PP__MAX_DEPTH || !(s = t->slots[id]) ||
                    (site->cpu_every | (site->flags & PP_SITE_MEM) |
                     atomic_load_explicit(&pp__begin_extra, memory_order_relaxed))))
        return begin_slow(site);
    /* the clock first: nothing then lives across its (cold) fallback call,
     * so the fast path needs no saved registers */
    uint64_t start = pp__ticks();
    int32_t depth = t->depth;
    pp__frame *f = &t->stack[depth];
    f->site = id;
    f->child = 0;
    f->flags = 0;
    f->slot = s;
    f->start = start;
    t->depth = depth + 1;
    pp_scope sc = {depth, id};
    return sc;
}

void pp_scope_end(pp_scope *scope)
{
    uint64_t now = pp__ticks();
    pp__thread *t = tls_thread;
    if (scope->depth < 0)
        return;
    if (PP_LIKELY(t && scope->depth == t->depth - 1 &&
                  t->stack[scope->depth].site == scope->site_id)) {
        pop_at(t, scope->depth, now);
        scope->depth = -1;
        return;
    }
    end_misnested(t, scope, now);
}

void pp_scope_fail(pp_scope *scope)
{
    pp__thread *t = tls_thread;
    if (!t || scope->depth < 0 || scope->depth >= t->depth)
        return;
    t->stack[scope->depth].flags |= PP__FRAME_FAILED;
}

void pp_scope_fail_current(void)
{
    pp__thread *t = tls_thread;
    if (t && t->depth > 0)
        t->stack[t->depth - 1].flags |= PP__FRAME_FAILED;
}

void pp_set_enabled(int on)
{
    atomic_store(&pp__enabled, on ? 1 : 0);
}

int pp_is_enabled(void)
{
    return atomic_load(&pp__enabled);
}

void pp_set_cpu_sampling(uint32_t every)
{
    if (atomic_exchange(&site_cpu_set, 0))
        for (uint32_t id = 0; id < PP__MAX_SITES; id++)
            atomic_store_explicit(&site_cpu_every[id], 0, memory_order_relaxed);
    atomic_store(&default_cpu_every, every);
    atomic_fetch_add(&cpu_gen, 1);
    if (every)
        atomic_fetch_or(&pp__begin_extra, PP__BEGIN_CPU);
    else
        atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_CPU);
}

void pp_set_site_cpu_sampling(uint32_t site_id, uint32_t every)
{
    if (site_id == 0 || site_id >= PP__MAX_SITES)
        return;
    atomic_store_explicit(&site_cpu_every[site_id], every, memory_order_relaxed);
    atomic_store(&site_cpu_set, 1);
    atomic_fetch_add(&cpu_gen, 1); /* the site's count starts again */
    if (every && every != UINT32_MAX)
        atomic_fetch_or(&pp__begin_extra, PP__BEGIN_CPU);
}

uint32_t pp_cpu_sampling(void)
{
    return atomic_load(&default_cpu_every);
}

void pp_set_alloc_counting(int on)
{
    if (on)
        atomic_fetch_or(&pp__begin_extra, PP__BEGIN_ALLOC);
    else
        atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_ALLOC);
}

int pp_alloc_counting(void)
{
    return (atomic_load(&pp__begin_extra) & PP__BEGIN_ALLOC) != 0;
}

/* ---- whole-program mode: frames pushed by -finstrument-functions hooks ---- */

void pp__func_enter(uint32_t id)
{
    pp__thread *t = pp__thread_get();
    if (!t || !id)
        return;
    if (push(t, id, pp__sites[id]) < 0)
        t->skipped++;
}

void pp__func_exit(uint32_t id)
{
    uint64_t now = pp__ticks();
    pp__thread *t = tls_thread;
    if (!t || !id)
        return;
    if (t->skipped > 0) {
        t->skipped--;
        return;
    }
    /* find the frame of this function; frames above it were skipped (longjmp) */
    int32_t d = t->depth - 1;
    while (d >= 0 && t->stack[d].site != id)
        d--;
    if (d < 0) {
        pp__add(&t->no_begin, 1);
        return;
    }
    if (d != t->depth - 1)
        pp__add(&t->misnested, 1);
    while (t->depth - 1 > d) {
        pp__add(&t->unclosed, 1);
        pop_at(t, t->depth - 1, now);
    }
    pop_at(t, t->depth - 1, now);
}
