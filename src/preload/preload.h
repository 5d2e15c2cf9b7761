/*
 * preload.h - State shared by the parts of libpostprof_preload.so, the
 * LD_PRELOAD library behind `postprof record`. Everything here may be touched
 * from signal handlers and malloc hooks: no locks, no malloc, no stdio.
 */
#ifndef PP_PRELOAD_H
#define PP_PRELOAD_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <postprof/raw_format.h>

#include "../common/libc_alloc.h"

#define PP_PL_MAX_THREADS 1024
#define PP_PL_MAX_DEPTH PP_RAW_MAX_DEPTH
#define PP_PL_SIG SIGPROF
#define PP_PL_TLS __attribute__((tls_model("initial-exec")))
#define PP_PL_API __attribute__((visibility("default")))

/* ring record types (top byte of a record's header word) */
enum { PP_PL_REC_CPU = 1, PP_PL_REC_ALLOC = 2, PP_PL_REC_FREE = 3 };

/* Single-producer single-consumer ring of 64-bit words (lock-free). The
 * producer's and the consumer's fields live on separate cache lines, and
 * the producer re-reads the consumer's tail only when its cached copy says
 * the ring is full, so pushing does not bounce a line with the collector. */
typedef struct {
    uint64_t *buf;
    uint64_t mask;
    _Atomic uint64_t head; /* written by the producer */
    uint64_t tail_cache;   /* producer's last view of tail */
    _Atomic uint64_t dropped;
    char pad_[64 - 5 * sizeof(uint64_t)];
    _Atomic uint64_t tail; /* written by the consumer */
    char pad2_[64 - sizeof(uint64_t)];
} __attribute__((aligned(64))) pp_pl_ring;

/* One profiled thread. Allocated with mmap when the thread registers. */
typedef struct {
    _Atomic int state; /* PP_PL_T_* */
    pid_t tid;
    uintptr_t stack_lo, stack_hi;
    _Atomic int perf_fd;      /* high-numbered; re-created if the target closes it */
    _Atomic uint64_t perf_id; /* PERF_EVENT_IOC_ID of perf_fd: is that number still ours? */
    int has_timer;
    timer_t timer;
    uint64_t last_cpu_ns;  /* thread CPU time at the previous sample (perf, wall) */
    uint64_t last_wall_ns; /* monotonic time at the previous sample (wall) */
    _Atomic uint32_t sig_count;
    uint64_t entry[2]; /* start routine, return into start_thread: the final sample's stack */
    unsigned nentry;
    char name[16];
    pp_pl_ring cpu;
    pp_pl_ring mem;
} pp_pl_thread;

enum { PP_PL_T_FREE = 0, PP_PL_T_LIVE = 1, PP_PL_T_EXITED = 2 };

/* Process-wide configuration and counters. */
typedef struct {
    _Atomic int active;   /* profiling on in this process */
    _Atomic int sampling; /* CPU/wall timers should record */
    int cpu_on, wall, mem_on, follow_forks, force_timer, use_libunwind;
    uint64_t period_ns;
    unsigned hz;
    uint64_t mem_rate; /* mean bytes between samples; 0 = every allocation */
    char dir[512];
    pid_t pid;
    uint64_t start_ns;
    uint64_t start_unix_ns; /* CLOCK_REALTIME at start: a timestamp, not an interval */
    const char *timer_kind;
    _Atomic(pp_pl_thread *) threads[PP_PL_MAX_THREADS];
    _Atomic uint64_t samples, overrun_ticks, sigprof_blocked, sigprof_foreign, timer_failures;
    _Atomic uint64_t threads_seen, threads_unprofiled, unregistered_allocs, live_full, mem_waits;
    _Atomic uint64_t timers_rearmed, exit_ticks;
    _Atomic int undrained;     /* the dump found the collector busy and left the rings */
    int fd_base;               /* our descriptors are moved to this number or above */
    _Atomic int sigprof_taken; /* the target installed its own SIGPROF handler */
    _Atomic int dumping;
    _Atomic int collector_pause; /* 1: asked to pause, 2: paused */
    _Atomic int collector_stop;
} pp_pl_global;

extern pp_pl_global pp__pl;
extern PP_PL_TLS __thread pp_pl_thread *pp__pl_self;
extern PP_PL_TLS __thread int pp__pl_in_hook;

/* monotonic ns (async-signal-safe) */
uint64_t pp__pl_now_ns(void);

/* ring.c-free helpers live in ring.h; threads.c */
pp_pl_thread *pp__pl_thread_register(void);
void pp__pl_thread_unregister(pp_pl_thread *t);
void pp__pl_threads_stop_timers(void);

/* timer.c: arm this thread's sampling timer / handler installation */
int pp__pl_timer_start(pp_pl_thread *t);
void pp__pl_timer_stop(pp_pl_thread *t);
/* at thread exit, after the timer stopped: the CPU no tick covered, as a
 * sample on the thread's start routine */
void pp__pl_timer_final(pp_pl_thread *t);
/* collector: re-create the timers of threads whose descriptor the target
 * closed (or replaced) */
void pp__pl_timers_check(void);
/* a forked child: close the inherited descriptor if it is still ours */
void pp__pl_timer_drop_inherited(pp_pl_thread *t);
int pp__pl_handler_install(void);

/* collector.c */
int pp__pl_collector_start(void);
/* 1 when the collector is paused (or not running): its tables are ours */
int pp__pl_collector_pause(void);
void pp__pl_collector_resume(void);
void pp__pl_collector_drain_all(void);
void pp__pl_collector_reset(void);
/* writes the aggregated tables as raw-file lines through the writer */
struct pp_pl_writer;
void pp__pl_collector_write(struct pp_pl_writer *w);

/* dump.c: write the raw profile (reason: "exit", "_exit", "exec", "crash:11"...) */
void pp__pl_dump(const char *reason, int crash);
void pp__pl_crash_handlers_install(void);

/* unwind_lib.c: opt-in libunwind (dlopen'ed); 0 ok */
int pp__pl_libunwind_init(void);
unsigned pp__pl_libunwind(void *ucontext, uint64_t *out, unsigned max);

/* mem.c */
void pp__pl_mem_init(void);
void pp__pl_mem_reset(void);

/* threads.c: pthread_create interposer set up; the collector thread created
 * through the real function, unprofiled */
int pp__pl_threads_init(void);
int pp__pl_create_raw(pthread_t *th, void *(*fn)(void *), void *arg);
/* signals.c: signal/sigaction interposers set up */
int pp__pl_signals_init(void);
/* dump.c: exec interposers set up */
int pp__pl_exec_init(void);
/* preload.c: the exec failed after the profile was written: start a fresh one */
void pp__pl_restart_after_failed_exec(void);

/* real functions looked up once at init (dlsym may allocate: done before mem_on) */
typedef int (*pp_pl_sigaction_fn)(int, const struct sigaction *, struct sigaction *);
extern pp_pl_sigaction_fn pp__pl_real_sigaction;

#include <dlfcn.h>
#include <string.h>

typedef void (*pp_pl_fn)(void);

/* dlsym(RTLD_NEXT, name) as a function pointer (ISO C has no direct cast) */
static inline pp_pl_fn pp_pl_dlsym(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    pp_pl_fn f;
    memcpy(&f, &p, sizeof f);
    return f;
}

/* lazy collector (sampled --mem): start it now (the target makes a thread);
 * drain ring r on this thread when it is half full; 1 while that drain runs */
void pp__pl_collector_ensure(void);
void pp__pl_collector_inline(pp_pl_ring *r);
int pp__pl_collector_inline_busy(void);

#endif
