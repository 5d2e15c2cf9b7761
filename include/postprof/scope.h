/*
 * postprof/scope.h - Timing scopes: a function or a block, timed.
 *
 *     void load(void) {
 *         PP_SCOPE("load");          // ends when the block exits, early return too
 *         ...
 *     }
 *
 * A call site's data (name, file, line, function) lives in a static pp_site
 * registered on its first use; the hot path only reads the timestamp counter
 * and updates this thread's own counters: no lock, no allocation after the
 * thread's first event, no system call (unless on-CPU time or RSS is asked for).
 * Scopes nest per thread; the parent of a site is the scope that was open
 * when it was first entered on a thread, which gives self time and a call tree.
 *
 * Building with -DPP_DISABLE_INSTRUMENTATION compiles every macro here to nothing.
 */
#ifndef POSTPROF_SCOPE_H
#define POSTPROF_SCOPE_H

#include <stdatomic.h>
#include <stdint.h>
#include <postprof/export.h>

/* Site flags. */
#define PP_SITE_MEM 0x1u   /* memory scope: bytes allocated/freed/net/peak and RSS delta */
#define PP_SITE_ASYNC 0x2u /* async span site */
#define PP_SITE_FUNC 0x4u  /* whole-program mode: a function, named from its address */
/* (0x8u is PP_SITE_PROGRESS, postprof/causal.h) */
/* The OTLP span kind of the site's spans (docs/telemetry.md); INTERNAL when neither. */
#define PP_SITE_SERVER 0x10u /* handles a request from another process */
#define PP_SITE_CLIENT 0x20u /* a request to another process, until its answer */

typedef struct pp_site {
    const char *name;
    const char *file;
    const char *function;
    int line;
    unsigned flags;
    /* on-CPU time: 0 = the process default (pp_set_cpu_sampling), 1 = every call,
     * N = every Nth call on each thread, the first one included; UINT32_MAX = never */
    uint32_t cpu_every;
    _Atomic uint32_t id; /* 0 until registered */
    const void *addr;    /* function address (PP_SITE_FUNC) */
} pp_site;

#define PP_SITE_INIT(name_, flags_, cpu_every_)                                                    \
    {                                                                                              \
        (name_), __FILE__, __func__, __LINE__, (flags_), (cpu_every_), 0, 0                        \
    }

/* A scope in progress, kept on the caller's stack. depth < 0: not recording. */
typedef struct pp_scope {
    int32_t depth;
    uint32_t site_id;
} pp_scope;

/* Async span handle; 0 is never a valid span. */
typedef uint64_t pp_span;

/* Run-time switch read by every macro: one relaxed load and a predictable branch. */
PP_EXPORT extern _Atomic int pp__enabled;

/*
 * pp_scope_begin() - Open a scope at site on this thread.
 *
 * Registers the site on its first use (the only lock, taken once per site).
 * Returns an inactive scope (depth -1) when instrumentation is switched off,
 * when the thread's scope stack (256 deep) is full (counted as overflow), or
 * when the site table is full (counted as dropped). Never fails otherwise.
 */
PP_EXPORT pp_scope pp_scope_begin(pp_site *site);

/*
 * pp_scope_end() - Close a scope opened by pp_scope_begin() on this thread.
 *
 * An inactive scope is a no-op. A scope that is not the innermost open one
 * is mis-nested: the scopes opened inside it and still open are closed and
 * counted as unclosed; ending a scope twice is counted as an end without a
 * begin. Mis-nesting never corrupts other data.
 */
PP_EXPORT void pp_scope_end(pp_scope *scope);

/* pp_scope_fail() - Mark an open scope failed: its site's error count grows at its end. */
PP_EXPORT void pp_scope_fail(pp_scope *scope);

/* pp_scope_fail_current() - Mark this thread's innermost open scope failed (no-op if none). */
PP_EXPORT void pp_scope_fail_current(void);

/* pp_set_enabled() - Switch all instrumentation on (1) or off (0) at run time. Thread-safe. */
PP_EXPORT void pp_set_enabled(int on);
PP_EXPORT int pp_is_enabled(void);

/*
 * pp_set_cpu_sampling() - Default on-CPU sampling for sites whose cpu_every is 0:
 * 0 = off (the default), N = every Nth call of a site on each thread, the
 * first call after this one included. Each sample costs two
 * CLOCK_THREAD_CPUTIME_ID reads (about 0.5 us each). Thread-safe.
 */
PP_EXPORT void pp_set_cpu_sampling(uint32_t every);
/*
 * pp_set_site_cpu_sampling() - On-CPU sampling for one site whose cpu_every
 * is 0, in place of the default: site_id as in pp_site_stats.id; N = every
 * Nth call on each thread, UINT32_MAX = never, 0 = the default again (ids
 * out of range are ignored). pp_set_cpu_sampling() sets every site back to
 * the default. Thread-safe.
 */
PP_EXPORT void pp_set_site_cpu_sampling(uint32_t site_id, uint32_t every);
/* pp_cpu_sampling() - The current default set by pp_set_cpu_sampling(). */
PP_EXPORT uint32_t pp_cpu_sampling(void);

/*
 * pp_set_alloc_counting() - 1: every scope, not only PP_SCOPE_MEM ones,
 * counts the allocations its thread makes while it is open (bytes, count,
 * freed, net, peak; no RSS reads, so no system call). Counted only where
 * malloc accounting runs (pp_mem_accounting_active()); elsewhere the figures
 * stay unmeasured (pp_site_stats.mem_calls 0). About 10 ns per scope.
 * 0 (the default): off. Thread-safe.
 */
PP_EXPORT void pp_set_alloc_counting(int on);
PP_EXPORT int pp_alloc_counting(void);

/*
 * pp_async_begin() - Start an async span at site.
 *
 * Returns a handle that pp_async_end() may close once, from any thread;
 * 0 when switched off or when 65 536 spans are already open (counted as
 * dropped). Spans never ended are listed as open in every snapshot.
 */
PP_EXPORT pp_span pp_async_begin(pp_site *site);

/*
 * pp_async_end() - Close a span; its wall time is recorded for its site.
 *
 * failed != 0 counts an error for the site. Returns PP_OK, PP_EINVAL for
 * span 0, or PP_ESTATE when the span was already ended (nothing recorded).
 * Safe from any thread.
 */
PP_EXPORT int pp_async_end(pp_span span, int failed);

/* Internal, used by the macros below. */
static inline pp_scope pp__scope_enter(pp_site *site)
{
    if (PP_LIKELY(atomic_load_explicit(&pp__enabled, memory_order_relaxed)))
        return pp_scope_begin(site);
    pp_scope s = {-1, 0};
    return s;
}

static inline void pp__scope_cleanup(pp_scope *s)
{
    if (s->depth >= 0)
        pp_scope_end(s);
}

#define PP__CAT2(a, b) a##b
#define PP__CAT(a, b) PP__CAT2(a, b)
#define PP__UNIQ(p) PP__CAT(p, __COUNTER__)

#ifndef PP_DISABLE_INSTRUMENTATION

#define PP__SCOPE_AT(site, var, name, flags, every)                                                \
    static pp_site site = PP_SITE_INIT(name, flags, every);                                        \
    pp_scope var __attribute__((cleanup(pp__scope_cleanup), unused)) = pp__scope_enter(&site)

#define PP__SCOPE_U(n, name, flags, every)                                                         \
    PP__SCOPE_AT(PP__CAT(pp__site_, n), PP__CAT(pp__scope_, n), name, flags, every)

/* PP_SCOPE("name") - Time the rest of the enclosing block. */
#define PP_SCOPE(name) PP__SCOPE_U(__COUNTER__, name, 0u, 0u)
/* PP_SCOPE_CPU("name") - Also measure on-CPU time at every call. */
#define PP_SCOPE_CPU(name) PP__SCOPE_U(__COUNTER__, name, 0u, 1u)
/* PP_SCOPE_CPU_EVERY("name", N) - On-CPU time at every Nth call. */
#define PP_SCOPE_CPU_EVERY(name, n) PP__SCOPE_U(__COUNTER__, name, 0u, (n))
/* PP_SCOPE_MEM("name") - As PP_SCOPE, plus memory figures. */
#define PP_SCOPE_MEM(name) PP__SCOPE_U(__COUNTER__, name, PP_SITE_MEM, 0u)
/* PP_SCOPE_SERVER("name") - As PP_SCOPE, for the handling of a request from
 * another process: its OTLP span has kind SERVER. */
#define PP_SCOPE_SERVER(name) PP__SCOPE_U(__COUNTER__, name, PP_SITE_SERVER, 0u)
/* PP_SCOPE_CLIENT("name") - As PP_SCOPE, around a request to another process
 * and its answer: its OTLP span has kind CLIENT. */
#define PP_SCOPE_CLIENT(name) PP__SCOPE_U(__COUNTER__, name, PP_SITE_CLIENT, 0u)
/* PP_SCOPE_FAIL() - Count an error for the innermost open scope of this thread. */
#define PP_SCOPE_FAIL() pp_scope_fail_current()

#define PP__ASYNC_BEGIN_F(span, name, flags)                                                       \
    do {                                                                                           \
        static pp_site pp__asite_ = PP_SITE_INIT(name, PP_SITE_ASYNC | (flags), 0u);               \
        (span) = atomic_load_explicit(&pp__enabled, memory_order_relaxed)                          \
                     ? pp_async_begin(&pp__asite_)                                                 \
                     : 0;                                                                          \
    } while (0)
/* PP_ASYNC_BEGIN(span, "name") - Start an async span into the pp_span variable span. */
#define PP_ASYNC_BEGIN(span, name) PP__ASYNC_BEGIN_F(span, name, 0u)
/* PP_ASYNC_BEGIN_CLIENT(span, "name") - An async span for a request to another
 * process, until its answer: its OTLP span has kind CLIENT (and
 * pp_otlp_async_traceparent() gives the traceparent to send with it). */
#define PP_ASYNC_BEGIN_CLIENT(span, name) PP__ASYNC_BEGIN_F(span, name, PP_SITE_CLIENT)
#define PP_ASYNC_END(span) ((void)((span) ? pp_async_end((span), 0) : 0))
#define PP_ASYNC_END_FAILED(span) ((void)((span) ? pp_async_end((span), 1) : 0))

#else /* PP_DISABLE_INSTRUMENTATION */

#define PP_SCOPE(name) ((void)0)
#define PP_SCOPE_CPU(name) ((void)0)
#define PP_SCOPE_CPU_EVERY(name, n) ((void)0)
#define PP_SCOPE_MEM(name) ((void)0)
#define PP_SCOPE_SERVER(name) ((void)0)
#define PP_SCOPE_CLIENT(name) ((void)0)
#define PP_SCOPE_FAIL() ((void)0)
#define PP_ASYNC_BEGIN(span, name) ((void)((span) = 0))
#define PP_ASYNC_BEGIN_CLIENT(span, name) ((void)((span) = 0))
#define PP_ASYNC_END(span) ((void)(span))
#define PP_ASYNC_END_FAILED(span) ((void)(span))

#endif

#endif
