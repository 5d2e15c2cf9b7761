/*
 * timer.c - Per-thread sampling timers and the SIGPROF handler.
 * perf_event_open task-clock (or cpu-clock for --wall) signalling its own
 * thread; fallback timer_create(CLOCK_THREAD_CPUTIME_ID / CLOCK_MONOTONIC,
 * SIGEV_THREAD_ID). The handler runs in signal context: only
 * async-signal-safe calls, no locks, no allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "preload.h"
#include "ring.h"
#include "ticks.h"
#include "unwind.h"

#ifndef F_SETSIG
#define F_SETSIG 10
#endif

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Our descriptors sit high, out of the target's way: a target that expects
 * open() to return the lowest free number, or dup2()s onto small ones,
 * never meets them. */
static int move_high(int fd)
{
    if (pp__pl.fd_base <= fd)
        return fd;
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, pp__pl.fd_base);
    if (hi < 0)
        return fd;
    close(fd);
    return hi;
}

/* a task-clock event signalling thread tid, not yet enabled; its id in *id */
static int perf_open(pid_t tid, uint64_t *id)
{
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.size = sizeof pa;
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_TASK_CLOCK;
    pa.sample_period = pp__pl.period_ns;
    pa.disabled = 1;
    pa.wakeup_events = 1;
    int fd = (int)syscall(SYS_perf_event_open, &pa, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        pa.exclude_kernel = 1;
        pa.exclude_hv = 1;
        fd = (int)syscall(SYS_perf_event_open, &pa, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    }
    if (fd < 0)
        return -1;
    fd = move_high(fd);
    struct f_owner_ex owner = {F_OWNER_TID, tid};
    if (fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK) != 0 || fcntl(fd, F_SETSIG, PP_PL_SIG) != 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) != 0 || ioctl(fd, PERF_EVENT_IOC_ID, id) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* fd is still the event we opened (the target may have closed it and got
 * the number back for a file of its own) */
static int perf_fd_ours(int fd, uint64_t id)
{
    uint64_t got = 0;
    return fd >= 0 && ioctl(fd, PERF_EVENT_IOC_ID, &got) == 0 && got == id;
}

static int perf_start(pp_pl_thread *t)
{
    uint64_t id = 0;
    int fd = perf_open(t->tid, &id);
    if (fd < 0)
        return -1;
    atomic_store(&t->perf_id, id);
    atomic_store(&t->perf_fd, fd);
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
        atomic_store(&t->perf_fd, -1);
        close(fd);
        return -1;
    }
    return 0;
}

void pp__pl_timers_check(void)
{
    if (!pp__pl.cpu_on || !atomic_load(&pp__pl.sampling))
        return;
    for (int i = 0; i < PP_PL_MAX_THREADS; i++) {
        pp_pl_thread *t = atomic_load(&pp__pl.threads[i]);
        if (!t || atomic_load(&t->state) != PP_PL_T_LIVE)
            continue;
        int fd = atomic_load(&t->perf_fd);
        if (fd < 0 || perf_fd_ours(fd, atomic_load(&t->perf_id)))
            continue;
        /* closed or replaced by the target: a new event for the same thread.
         * The CPU in between is not lost: the next sample's weight is the
         * thread's CPU clock since its previous sample. */
        uint64_t id = 0;
        int nfd = perf_open(t->tid, &id);
        int expect = fd;
        if (nfd < 0) { /* the thread is gone, or the kernel refuses: stop trying */
            atomic_compare_exchange_strong(&t->perf_fd, &expect, -1);
            atomic_fetch_add(&pp__pl.timer_failures, 1);
            continue;
        }
        atomic_store(&t->perf_id, id);
        if (!atomic_compare_exchange_strong(&t->perf_fd, &expect, nfd)) {
            close(nfd); /* the thread stopped its timer meanwhile */
            continue;
        }
        ioctl(nfd, PERF_EVENT_IOC_ENABLE, 0);
        atomic_fetch_add(&pp__pl.timers_rearmed, 1);
    }
}

void pp__pl_timer_drop_inherited(pp_pl_thread *t)
{
    int fd = atomic_exchange(&t->perf_fd, -1);
    if (perf_fd_ours(fd, atomic_load(&t->perf_id)))
        close(fd);
}

static int posix_timer_start(pp_pl_thread *t)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = PP_PL_SIG;
    sev._sigev_un._tid = t->tid;
    clockid_t clock = pp__pl.wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
    if (timer_create(clock, &sev, &t->timer) != 0)
        return -1;
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(pp__pl.period_ns / 1000000000ull);
    its.it_interval.tv_nsec = (long)(pp__pl.period_ns % 1000000000ull);
    its.it_value = its.it_interval;
    if (timer_settime(t->timer, 0, &its, NULL) != 0) {
        timer_delete(t->timer);
        return -1;
    }
    t->has_timer = 1;
    return 0;
}

int pp__pl_timer_start(pp_pl_thread *t)
{
    t->last_cpu_ns = thread_cpu_ns();
    t->last_wall_ns = pp__pl_now_ns();
    /* --wall needs every thread ticking on wall time: a POSIX monotonic timer */
    if (!pp__pl.wall && !pp__pl.force_timer && perf_start(t) == 0) {
        pp__pl.timer_kind = "perf_event task-clock";
        return 0;
    }
    if (posix_timer_start(t) == 0) {
        if (!pp__pl.wall && !pp__pl.timer_kind)
            pp__pl.timer_kind = "timer_create CLOCK_THREAD_CPUTIME_ID";
        if (pp__pl.wall)
            pp__pl.timer_kind = "timer_create CLOCK_MONOTONIC";
        return 0;
    }
    atomic_fetch_add(&pp__pl.timer_failures, 1);
    return -1;
}

void pp__pl_timer_stop(pp_pl_thread *t)
{
    int fd = atomic_exchange(&t->perf_fd, -1);
    /* never close a number the target has reused for a file of its own */
    if (perf_fd_ours(fd, atomic_load(&t->perf_id))) {
        ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
        close(fd);
    }
    if (t->has_timer) {
        t->has_timer = 0;
        timer_delete(t->timer);
    }
}

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    int saved_errno = errno;
    pp_pl_thread *t = pp__pl_self;
    if (!t || !atomic_load_explicit(&pp__pl.sampling, memory_order_relaxed))
        goto out;
    uint64_t weight = 1;
    if (si->si_code == SI_TIMER) {
        if (!t->has_timer)
            goto out;
        int over = timer_getoverrun(t->timer);
        if (over > 0)
            weight += (uint64_t)over;
        if (!pp__pl.wall) /* CPU-clock expiries: the CPU they covered */
            t->last_cpu_ns += weight * pp__pl.period_ns;
    } else if (si->si_fd >= 0 &&
               si->si_fd == atomic_load_explicit(&t->perf_fd, memory_order_relaxed)) {
        /* Whole periods of the thread's CPU clock since the last sample,
         * rather than the task-clock counter's: in a VM the counter also
         * runs while the hypervisor has the vCPU (steal), and one late tick
         * would carry tens of periods of time the thread never had. The CPU
         * clock is what the thread used, the same clock the POSIX timers
         * count. A tick before a whole period is no sample (ticks.h). */
        weight = pp_pl_cpu_periods(thread_cpu_ns(), &t->last_cpu_ns, pp__pl.period_ns);
    } else {
        /* a SIGPROF that is not ours (kill, setitimer of the target) */
        atomic_fetch_add(&pp__pl.sigprof_foreign, 1);
        goto out;
    }
    atomic_fetch_add_explicit(&t->sig_count, 1, memory_order_relaxed);
    if (weight == 0)
        goto out;
    uint64_t flags = 0;
    if (pp__pl.wall) {
        uint64_t cpu = thread_cpu_ns(), now = pp__pl_now_ns();
        uint64_t dcpu = cpu - t->last_cpu_ns, dwall = now - t->last_wall_ns;
        t->last_cpu_ns = cpu;
        t->last_wall_ns = now;
        if (dcpu * 2 < dwall)
            flags = 1; /* off-CPU for most of the interval */
    }
    ucontext_t *uc = ucv;
    uintptr_t pc, fp, sp;
#if defined(__x86_64__)
    pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    pc = (uintptr_t)uc->uc_mcontext.pc;
    fp = (uintptr_t)uc->uc_mcontext.regs[29];
    sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    pc = 0, fp = 0, sp = 0;
    (void)uc;
#endif
    uint64_t pcs[PP_PL_MAX_DEPTH];
    uintptr_t lo = t->stack_lo, hi = t->stack_hi;
    if (sp > lo && sp < hi)
        lo = sp;
    unsigned n = pp__pl.use_libunwind ? pp__pl_libunwind(ucv, pcs, PP_PL_MAX_DEPTH)
                                      : pp_pl_unwind_fp(pc, fp, lo, hi, pcs, PP_PL_MAX_DEPTH);
    if (weight > 0xffffffffull)
        weight = 0xffffffffull;
    if (pp_pl_ring_push(&t->cpu, PP_PL_HDR(PP_PL_REC_CPU, 1 + n, (weight << 8) | flags), pcs, n,
                        NULL, 0) == 0) {
        atomic_fetch_add_explicit(&pp__pl.samples, 1, memory_order_relaxed);
        if (weight > 1)
            atomic_fetch_add_explicit(&pp__pl.overrun_ticks, weight - 1, memory_order_relaxed);
    }
out:
    errno = saved_errno;
}

/* Exited threads' CPU not yet covered by a sample, in ns: whole periods are
 * taken out as samples, the rest waits for the next thread to exit, so the
 * rounding error over the whole run stays below one period. */
static _Atomic uint64_t exit_carry_ns;

void pp__pl_timer_final(pp_pl_thread *t)
{
    /* --wall samples the wall clock; a thread not started through
     * pthread_create (the main thread) has no start routine to name */
    if (!pp__pl.cpu_on || pp__pl.wall || !t->nentry || !t->cpu.buf ||
        !atomic_load(&pp__pl.sampling))
        return;
    uint64_t cpu = thread_cpu_ns(), p = pp__pl.period_ns;
    uint64_t delta = cpu > t->last_cpu_ns ? cpu - t->last_cpu_ns : 0;
    t->last_cpu_ns = cpu;
    uint64_t acc = atomic_fetch_add(&exit_carry_ns, delta) + delta, weight = 0;
    while (acc >= p) {
        uint64_t take = acc / p;
        if (atomic_compare_exchange_weak(&exit_carry_ns, &acc, acc - take * p)) {
            weight = take;
            break;
        }
    }
    if (weight == 0)
        return;
    if (weight > 0xffffffffull)
        weight = 0xffffffffull;
    if (pp_pl_ring_push(&t->cpu, PP_PL_HDR(PP_PL_REC_CPU, 1 + t->nentry, weight << 8), t->entry,
                        t->nentry, NULL, 0) == 0) {
        atomic_fetch_add(&pp__pl.samples, 1);
        atomic_fetch_add(&pp__pl.exit_ticks, weight);
        if (weight > 1)
            atomic_fetch_add(&pp__pl.overrun_ticks, weight - 1);
    }
}

int pp__pl_handler_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return pp__pl_real_sigaction(PP_PL_SIG, &sa, NULL);
}
