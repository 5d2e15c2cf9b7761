/*
 * preload.c - Start-up and fork handling of libpostprof_preload.so: reads the
 * POSTPROF_* environment set by `postprof record`, starts the collector, the
 * SIGPROF handler and the main thread's timer; writes the profile at exit.
 * Does nothing at all when POSTPROF_DIR is unset or the pid is not profiled.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "preload.h"

pp_pl_global pp__pl;
pp_pl_sigaction_fn pp__pl_real_sigaction;

uint64_t pp__pl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    return (end && *end == 0) ? (uint64_t)v : dflt;
}

static void counters_reset(void)
{
    atomic_store(&pp__pl.samples, 0);
    atomic_store(&pp__pl.overrun_ticks, 0);
    atomic_store(&pp__pl.sigprof_blocked, 0);
    atomic_store(&pp__pl.sigprof_foreign, 0);
    atomic_store(&pp__pl.timer_failures, 0);
    atomic_store(&pp__pl.threads_seen, 0);
    atomic_store(&pp__pl.threads_unprofiled, 0);
    atomic_store(&pp__pl.unregistered_allocs, 0);
    atomic_store(&pp__pl.live_full, 0);
    atomic_store(&pp__pl.mem_waits, 0);
    atomic_store(&pp__pl.dumping, 0);
    atomic_store(&pp__pl.timers_rearmed, 0);
    atomic_store(&pp__pl.exit_ticks, 0);
}

static void start_profiling(void)
{
    pp__pl.pid = getpid();
    pp__pl.start_ns = pp__pl_now_ns();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    pp__pl.start_unix_ns = (uint64_t)wall.tv_sec * 1000000000ull + (uint64_t)wall.tv_nsec;
    counters_reset();
    pp__pl_collector_reset();
    atomic_store(&pp__pl.active, 1);
    pp__pl_thread_register();
    pp__pl_collector_start();
    atomic_store(&pp__pl.sampling, pp__pl.cpu_on && !atomic_load(&pp__pl.sigprof_taken));
}

static void after_fork_child(void)
{
    pp_pl_thread *self = pp__pl_self;
    pp__pl_self = NULL;
    if (self) {
        /* perf fds are inherited but still point at the parent's thread */
        pp__pl_timer_drop_inherited(self);
        self->has_timer = 0; /* POSIX timers are not inherited */
    }
    atomic_store(&pp__pl.sampling, 0);
    if (!atomic_load(&pp__pl.active) || !pp__pl.follow_forks || atomic_load(&pp__pl.dumping)) {
        atomic_store(&pp__pl.active, 0);
        return;
    }
    /* the other threads did not survive fork: forget them (their pages leak) */
    for (int i = 0; i < PP_PL_MAX_THREADS; i++)
        atomic_store(&pp__pl.threads[i], NULL);
    if (pp__pl.mem_on)
        pp__pl_mem_reset();
    start_profiling();
}

void pp__pl_restart_after_failed_exec(void)
{
    pp__pl_collector_reset();
    counters_reset();
    pp__pl.start_ns = pp__pl_now_ns();
    atomic_store(&pp__pl.active, 1);
    for (int i = 0; pp__pl.cpu_on && i < PP_PL_MAX_THREADS; i++) {
        pp_pl_thread *t = atomic_load(&pp__pl.threads[i]);
        if (t && atomic_load(&t->state) == PP_PL_T_LIVE)
            pp__pl_timer_start(t);
    }
    pp__pl_collector_resume();
    atomic_store(&pp__pl.sampling, pp__pl.cpu_on && !atomic_load(&pp__pl.sigprof_taken));
}

static void __attribute__((constructor(101))) preload_init(void)
{
    const char *dir = getenv(PP_RAW_ENV_DIR);
    if (!dir || !*dir || strlen(dir) >= sizeof pp__pl.dir)
        return;
    pp__pl.follow_forks = env_u64(PP_RAW_ENV_FOLLOW_FORKS, 0) != 0;
    uint64_t root = env_u64(PP_RAW_ENV_ROOT_PID, 0);
    if (!pp__pl.follow_forks && root != 0 && root != (uint64_t)getpid())
        return;
    memcpy(pp__pl.dir, dir, strlen(dir) + 1);
    pp__pl.hz = (unsigned)env_u64(PP_RAW_ENV_HZ, 99);
    if (pp__pl.hz == 0 || pp__pl.hz > 100000)
        pp__pl.hz = 99;
    pp__pl.period_ns = 1000000000ull / pp__pl.hz;
    pp__pl.wall = env_u64(PP_RAW_ENV_WALL, 0) != 0;
    pp__pl.mem_on = env_u64(PP_RAW_ENV_MEM, 0) != 0;
    pp__pl.mem_rate = env_u64(PP_RAW_ENV_MEM_RATE, 512 * 1024);
    pp__pl.cpu_on = !pp__pl.mem_on;
    pp__pl.force_timer = env_u64(PP_RAW_ENV_FORCE_TIMER, 0) != 0;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY)
        pp__pl.fd_base = nofile.rlim_cur >= 2048 ? 1024 : (int)(nofile.rlim_cur / 2);
    else
        pp__pl.fd_base = 1024;
    const char *unw = getenv(PP_RAW_ENV_UNWIND);
    if (unw && strcmp(unw, "libunwind") == 0)
        pp__pl.use_libunwind = pp__pl_libunwind_init() == 0;
    pp__pl_real_sigaction = (pp_pl_sigaction_fn)pp_pl_dlsym("sigaction");
    if (!pp__pl_real_sigaction || pp__pl_threads_init() != 0 || pp__pl_signals_init() != 0 ||
        pp__pl_exec_init() != 0)
        return;
    if (pp__pl.cpu_on && pp__pl_handler_install() != 0)
        return;
    pp__pl_crash_handlers_install();
    pthread_atfork(NULL, NULL, after_fork_child);
    if (pp__pl.mem_on)
        pp__pl_mem_init();
    start_profiling();
}

static void __attribute__((destructor(101))) preload_fini(void)
{
    pp__pl_dump("exit", 0);
}
