/*
 * capture.h - Internal to the capture layer and the snapshot that reads it:
 * per-thread state, per-(thread, site) slots, the site table, async spans.
 * Writers are the owning thread only; readers (snapshots) use relaxed
 * atomic loads and hold the registry lock, which writers never take.
 */
#ifndef PP_CAPTURE_H
#define PP_CAPTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <postprof/memory.h>
#include <postprof/scope.h>

#include "common/histogram_impl.h"

#define PP__MAX_SITES 16384u /* site ids 1 .. MAX_SITES-1 */
#define PP__MAX_DEPTH 256
#define PP__SPAN_POOL 65536u
#define PP__SPAN_CHUNK 256u

#define PP__FRAME_CPU 0x1u
#define PP__FRAME_MEM 0x2u
#define PP__FRAME_FAILED 0x4u
#define PP__FRAME_TRACE 0x8u    /* the scope's end goes into the event trace */
#define PP__FRAME_RSS 0x10u     /* with PP__FRAME_MEM: RSS read at both ends (memory scopes) */
#define PP__FRAME_CAUSAL 0x20u  /* begun during a causal experiment (capture/causal.c) */
#define PP__FRAME_SPAN 0x40u    /* recorded as an OTLP span (capture/span_record.c) */
#define PP__FRAME_SPANCTX 0x80u /* a sampled-out root: ids for traceparent, no record */

/* Anything that sends every scope's begin down the slow path (bit 0:
 * on-CPU sampling by default, bit 1: the event trace): one load on the fast
 * path, instead of one per feature on the begin and the end. */
#define PP__BEGIN_CPU 0x1u
#define PP__BEGIN_TRACE 0x2u
#define PP__BEGIN_ALLOC 0x4u  /* every scope counts its thread's allocations */
#define PP__BEGIN_CAUSAL 0x8u /* a causal experiment is running: every scope is a safe point */
#define PP__BEGIN_SPANS 0x10u /* OTLP spans are being recorded (capture/span_record.c) */

typedef _Atomic uint64_t pp__a64;

/* One site's figures on one thread. */
typedef struct pp__slot {
    pp__a64 total, self, min, max, errors;
    /* the enclosing site of this thread's first call made inside another
     * scope (0: every call so far at the top of the thread's stack); in the
     * first cache line, next to what every end writes */
    _Atomic uint32_t parent;
    /* begins that saw OTLP span recording on (capture/span_record.c): the
     * ends beyond them ran while recording was paused */
    pp__a64 span_seen;
    pp__a64 cpu_ns, cpu_wall, cpu_samples;
    pp__a64 mem_alloc, mem_alloc_count, mem_freed;
    pp__a64 mem_calls; /* calls whose allocations were counted */
    _Atomic int64_t mem_net, mem_peak, rss_delta;
    uint32_t cpu_countdown;
    uint32_t cpu_gen; /* pp_set_cpu_sampling() calls seen: a new setting restarts the count */
    /* progress points (PP_PROGRESS): hits * 2 (odd while a hit is being
     * written), the tick of the latest hit and the causal delay owed by then */
    pp__a64 hit_seq, hit_tick, hit_delay;
    pp__a64 hist[PP__HIST_BUCKETS];
} pp__slot;

typedef struct pp__frame {
    uint64_t start;
    uint64_t child;
    struct pp__slot *slot; /* looked up at the begin: the end has it at hand */
    uint32_t site;
    uint32_t flags;
} pp__frame;

/* The opt-in part of a frame, beside it at the same depth. */
typedef struct pp__memframe {
    pp_mem_counters at_start;
    int64_t saved_peak;
    uint64_t rss_start;
    uint64_t cpu_start;
    uint64_t causal_paid; /* the thread's causal delay paid when the frame began */
    uint64_t span_id;     /* with PP__FRAME_SPAN(CTX): this scope's span id, */
    uint64_t span_parent; /* its parent's (0 for a root) */
    uint32_t span_flags;  /* PP__SPANREC_REMOTE */
} pp__memframe;

/* One ended scope, for the event trace (postprof/trace.h). */
typedef struct pp__trace_ev {
    _Atomic uint64_t start, end; /* ticks */
    _Atomic uint32_t site;
} pp__trace_ev;

typedef struct pp__trace_ring {
    _Atomic uint64_t head; /* events ever added; the last mask+1 are kept */
    uint64_t mask;
    size_t bytes;
    pp__trace_ev ev[];
} pp__trace_ring;

typedef struct pp__thread {
    struct pp__thread *next, *prev;
    pp__trace_ring *trace; /* NULL until tracing is on and this thread ends a scope */
    pp__slot **slots;      /* PP__MAX_SITES pointers, lazily filled */
    char *arena;           /* current slot chunk */
    size_t arena_used, arena_cap;
    void *chunks; /* list of mapped chunks (first word links them) */
    int32_t depth;
    int32_t skipped; /* whole-program frames not pushed (stack full) */
    pp__a64 misnested, no_begin, unclosed, overflow;
    uint32_t span_chunk; /* owned span chunk + 1, 0 = none */
    uint32_t span_cursor;
    int tid;
    /* causal experiments (capture/causal.c): the delay this thread has
     * accounted for (paid, or inserted by itself), the experiment it was
     * counted in, and the delay it has really paid (ns) */
    uint64_t causal_local;
    uint32_t causal_epoch;
    uint64_t causal_paid;
    /* OTLP spans (capture/span_record.c): the queue the sender drains, the
     * id generator, the trace of the current root span, and a remote parent
     * (W3C traceparent) the next root span continues */
    struct pp__span_queue *spanq;
    uint64_t span_rng;
    uint64_t trace_hi, trace_lo;
    uint64_t remote_trace_hi, remote_trace_lo, remote_span;
    uint32_t remote_flags; /* W3C trace flags + 0x100 when a remote parent is set */
    _Alignas(64) pp__frame stack[PP__MAX_DEPTH];
    pp__memframe mstack[PP__MAX_DEPTH];
} pp__thread;

typedef struct pp__span_slot {
    _Atomic uint64_t state; /* generation << 1 | open */
    _Atomic uint64_t start;
    _Atomic uint32_t site;
} pp__span_slot;

/* The OTLP context of the async span in the pp__spans slot of the same index,
 * written at its begin (before the slot's state is published) when span
 * recording was on: its trace, its own id, the span open on the beginning
 * thread when it began (its parent), PP__ACTX_* flags (0: none). */
#define PP__ACTX_ON 0x100u      /* begun while recording: the ids are set */
#define PP__ACTX_SAMPLED 0x200u /* recorded at its end (else ids for traceparent only) */
typedef struct pp__span_ctx {
    _Atomic uint64_t trace_hi, trace_lo, span_id, parent_id;
    _Atomic uint32_t flags; /* PP__ACTX_* | PP__SPANREC_REMOTE */
} pp__span_ctx;

/* registry (capture/scope.c) */
extern pthread_mutex_t pp__registry_lock;
extern pp__thread *pp__threads;           /* live threads, under the lock */
extern pp_site *pp__sites[PP__MAX_SITES]; /* by id, published with release stores */
extern _Atomic uint32_t pp__nsites;       /* next id */
extern pp__slot **pp__retired;            /* merged data of exited threads, under the lock */
/* Every scope's enclosing scope forgotten, on every thread and in the
 * retired set: the next call that ends inside a scope names it again. A
 * site's parent is otherwise that of its first call, so set-up work before
 * a profile (`postprof run` generating its data: the model training calls
 * preprocess and predict under posts.datagen.train) would leave them
 * rooted there for good. */
void pp__scope_parents_forget(void);
extern pp__a64 pp__g_misnested, pp__g_no_begin, pp__g_unclosed, pp__g_overflow, pp__g_exited,
    pp__g_dropped_sites, pp__g_dropped_spans;
extern pp__span_slot pp__spans[PP__SPAN_POOL];
extern pp__span_ctx pp__span_ctxs[PP__SPAN_POOL];

/* scope event trace (capture/trace.c) */
extern _Atomic int pp__trace_on;
extern _Atomic uint32_t pp__begin_extra;
void pp__trace_add(pp__thread *t, uint32_t site, uint64_t start, uint64_t end);
void pp__trace_retire_locked(pp__thread *t); /* under the registry lock */
void pp__trace_free(pp__thread *t);
void pp__trace_from_env(void);

/* causal experiments (capture/causal.c) */
void pp__causal_begin(pp__thread *t, pp__memframe *m);
void pp__causal_end(pp__thread *t, const pp__frame *f, const pp__memframe *m, uint64_t ticks);
void pp__causal_thread_init(pp__thread *t);
void pp__causal_from_env(void);
void pp__causal_after_fork(void);
/* Names of whole-program (function) sites for the controller, which has no
 * symbolizer: set by the preload mode's library (src/causal/preload.c). */
typedef const char *(*pp__causal_name_fn)(uint32_t id);
extern _Atomic(pp__causal_name_fn) pp__causal_site_name;

/* OTLP spans (capture/span_record.c), drained by src/telemetry/ */
#define PP__SPANREC_FAILED 0x1u
#define PP__SPANREC_REMOTE 0x2u /* the parent is a remote span (W3C traceparent) */
#define PP__SPANREC_ASYNC 0x4u
typedef struct pp__span_rec {
    uint64_t trace_hi, trace_lo, span_id, parent_id; /* parent 0: a root span */
    uint64_t start, end;                             /* ticks */
    uint32_t site;
    uint32_t flags; /* PP__SPANREC_* */
} pp__span_rec;
/* One thread's bounded queue: the owner pushes, the sender takes. */
typedef struct pp__span_queue {
    _Atomic uint64_t head;       /* records pushed (owner) */
    _Atomic uint64_t tail;       /* records taken (sender) */
    _Atomic int orphaned;        /* its thread has exited: freed once drained */
    struct pp__span_queue *next; /* all queues, under pp__spanq_lock */
    uint32_t mask;               /* capacity - 1 */
    pp__span_rec rec[];
} pp__span_queue;
/* Samplers of root spans (OTEL_TRACES_SAMPLER). */
enum {
    PP__SAMPLER_ALWAYS_ON = 0,
    PP__SAMPLER_ALWAYS_OFF,
    PP__SAMPLER_RATIO,
    PP__SAMPLER_PARENT_ON,
    PP__SAMPLER_PARENT_OFF,
    PP__SAMPLER_PARENT_RATIO,
};
extern pthread_mutex_t pp__spanq_lock;
extern pp__span_queue *pp__spanqs;    /* under pp__spanq_lock */
extern pp__a64 pp__g_spans_dropped;   /* recorded, then lost to a full queue */
extern pp__a64 pp__g_spans_suspended; /* times recording paused on a full queue */
extern pp__a64 pp__g_async_seen;      /* async begins that saw recording on */
void pp__span_begin(pp__thread *t, pp__frame *f, int32_t depth);
void pp__span_end(pp__thread *t, const pp__frame *f, uint64_t end_ticks);
/* An async span begins in pp__spans[idx] on t while recording is on: its context. */
void pp__span_async_begin(pp__thread *t, uint32_t idx);
/* It ended (on any thread), its context c read while it was still open: recorded. */
void pp__span_async_end(const pp__span_rec *c, uint32_t site, uint64_t start, uint64_t end,
                        int failed);
/* pp__span_async_context() - The context of an open async span: 1 and its ids
 * (sampled: whether it will be recorded), 0 when it is not open or began
 * while recording was off. Any thread. */
int pp__span_async_context(pp_span span, uint64_t *out_trace_hi, uint64_t *out_trace_lo,
                           uint64_t *out_span_id, int *out_sampled);
void pp__span_thread_exit(pp__thread *t);
void pp__span_after_fork(void);
/* pp__spans_configure() - Turn recording on (queue capacity per thread, a
 * power of two; the sampler and its ratio) or off (capacity 0). */
void pp__spans_configure(uint32_t capacity, int sampler, double ratio);
/* pp__spans_resume() - Recording back on after a pause, if configured. */
void pp__spans_resume(void);
/* The calling thread's next root span continues this remote span (W3C
 * traceparent; flags bit 0 = sampled); cleared by pp__span_clear_remote(). */
void pp__span_set_remote(uint64_t trace_hi, uint64_t trace_lo, uint64_t span_id, uint32_t flags);
void pp__span_clear_remote(void);
/* pp__span_current() - 1 with the ids of the calling thread's innermost
 * recorded span, or of the sampled-out root it runs under (then *out_sampled
 * is 0), 0 when none is open. */
int pp__span_current(uint64_t *out_trace_hi, uint64_t *out_trace_lo, uint64_t *out_span_id,
                     int *out_sampled);
/* pp__spans_unseen_ends() - Scope and async span ends, over every thread and
 * the exited ones, less the begins that saw span recording on: grows by one
 * for each span that ran while recording was paused (or off), and goes back
 * by one for each recorded one still open. Takes the registry lock; walks
 * every slot (the sender's thread, not a hot path). */
int64_t pp__spans_unseen_ends(void);
/* pp__span_queue_take() - Up to max records from q into out; returns how many. */
size_t pp__span_queue_take(pp__span_queue *q, pp__span_rec *out, size_t max);

/* memory accounting (capture/memory.c), written by libpostprof_malloc */
PP_EXPORT extern __thread pp_mem_counters pp__mem_tls __attribute__((tls_model("initial-exec")));
PP_EXPORT extern _Atomic int pp__mem_hooked;

/* Zeroed, lazily committed memory outside the program's malloc heap; NULL on failure. */
void *pp__map_zero(size_t n);
void pp__capture_init(void);
pp__thread *pp__thread_get(void);
pp__thread *pp__thread_peek(void); /* this thread's state, NULL before its first event */
uint32_t pp__site_register(pp_site *site);
pp__slot *pp__slot_get(pp__thread *t, uint32_t id);
void pp__slot_merge(pp__slot *dst, const pp__slot *src);
void pp__span_release_chunk(pp__thread *t);
void pp__mem_after_fork(void);

/* whole-program mode (libpostprof_instrument) */
PP_EXPORT uint32_t pp__func_site(const void *fn);
PP_EXPORT void pp__func_enter(uint32_t id);
PP_EXPORT void pp__func_exit(uint32_t id);

static inline void pp__store(pp__a64 *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_relaxed);
}
static inline uint64_t pp__load(const pp__a64 *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}
static inline void pp__add(pp__a64 *p, uint64_t v)
{
    atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static inline void pp__slot_record(pp__slot *s, uint64_t d, uint64_t self)
{
    pp__add(&s->total, d);
    pp__add(&s->self, self);
    if (d < pp__load(&s->min))
        pp__store(&s->min, d);
    if (d > pp__load(&s->max))
        pp__store(&s->max, d);
    pp__hist_add_single(s->hist, d);
}

#endif
