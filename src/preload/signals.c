/*
 * signals.c - Keeps the target's signal behaviour unchanged while SIGPROF is
 * ours: sigaction/signal on SIGPROF hand the signal to the target (sampling
 * stops, the conflict is reported); masks that block SIGPROF are counted;
 * sleeps interrupted by our own ticks are resumed so they last as asked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

typedef sighandler_t (*signal_fn)(int, sighandler_t);
typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);
static signal_fn real_signal;
static mask_fn real_sigprocmask, real_pthread_sigmask;

/* what the target believes SIGPROF's disposition is */
static struct sigaction target_view;

int pp__pl_signals_init(void)
{
    real_signal = (signal_fn)pp_pl_dlsym("signal");
    real_sigprocmask = (mask_fn)pp_pl_dlsym("sigprocmask");
    real_pthread_sigmask = (mask_fn)pp_pl_dlsym("pthread_sigmask");
    target_view.sa_handler = SIG_DFL;
    return (real_signal && real_sigprocmask && real_pthread_sigmask) ? 0 : -1;
}

/* the target takes SIGPROF: stop sampling for good */
static void yield_sigprof(void)
{
    if (!atomic_load(&pp__pl.active) || !pp__pl.cpu_on)
        return;
    atomic_store(&pp__pl.sigprof_taken, 1);
    atomic_store(&pp__pl.sampling, 0);
    pp__pl_threads_stop_timers();
}

PP_PL_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!pp__pl_real_sigaction)
        pp__pl_real_sigaction = (pp_pl_sigaction_fn)pp_pl_dlsym("sigaction");
    if (sig != PP_PL_SIG || !atomic_load(&pp__pl.active) || !pp__pl.cpu_on ||
        atomic_load(&pp__pl.sigprof_taken))
        return pp__pl_real_sigaction(sig, act, old);
    if (!act) {
        if (old)
            *old = target_view;
        return 0;
    }
    struct sigaction prev = target_view;
    yield_sigprof();
    int rc = pp__pl_real_sigaction(sig, act, NULL);
    if (rc == 0) {
        target_view = *act;
        if (old)
            *old = prev;
    }
    return rc;
}

PP_PL_API sighandler_t signal(int sig, sighandler_t handler)
{
    if (!real_signal)
        real_signal = (signal_fn)pp_pl_dlsym("signal");
    if (sig == PP_PL_SIG && atomic_load(&pp__pl.active) && pp__pl.cpu_on &&
        !atomic_load(&pp__pl.sigprof_taken)) {
        sighandler_t prev = target_view.sa_handler;
        yield_sigprof();
        if (real_signal(sig, handler) == SIG_ERR)
            return SIG_ERR;
        target_view.sa_handler = handler;
        return prev;
    }
    return real_signal(sig, handler);
}

static void note_mask(int how, const sigset_t *set)
{
    if (set && (how == SIG_BLOCK || how == SIG_SETMASK) && sigismember(set, PP_PL_SIG) == 1 &&
        atomic_load(&pp__pl.active) && pp__pl.cpu_on)
        atomic_fetch_add(&pp__pl.sigprof_blocked, 1);
}

PP_PL_API int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    if (!real_sigprocmask)
        real_sigprocmask = (mask_fn)pp_pl_dlsym("sigprocmask");
    note_mask(how, set);
    return real_sigprocmask(how, set, old);
}

PP_PL_API int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    if (!real_pthread_sigmask)
        real_pthread_sigmask = (mask_fn)pp_pl_dlsym("pthread_sigmask");
    note_mask(how, set);
    return real_pthread_sigmask(how, set, old);
}

/* ---- sleeps: resume when only our tick interrupted them ---- */

static uint32_t our_ticks(void)
{
    pp_pl_thread *t = pp__pl_self;
    return t ? atomic_load_explicit(&t->sig_count, memory_order_relaxed) : 0;
}

static int sleep_until(clockid_t clock, const struct timespec *deadline)
{
    for (;;) {
        uint32_t before = our_ticks();
        long rc = syscall(SYS_clock_nanosleep, clock, TIMER_ABSTIME, deadline, NULL);
        if (rc == 0)
            return 0;
        if (errno != EINTR || our_ticks() == before)
            return errno;
    }
}

static void ts_add(struct timespec *a, const struct timespec *b)
{
    a->tv_sec += b->tv_sec;
    a->tv_nsec += b->tv_nsec;
    if (a->tv_nsec >= 1000000000L) {
        a->tv_sec++;
        a->tv_nsec -= 1000000000L;
    }
}

static void ts_left(const struct timespec *deadline, struct timespec *rem)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = (long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
                   (deadline->tv_nsec - now.tv_nsec);
    if (ns < 0)
        ns = 0;
    rem->tv_sec = (time_t)(ns / 1000000000LL);
    rem->tv_nsec = (long)(ns % 1000000000LL);
}

PP_PL_API int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                              struct timespec *rem)
{
    if (!req || req->tv_nsec < 0 || req->tv_nsec >= 1000000000L)
        return EINVAL;
    struct timespec deadline = *req;
    if (!(flags & TIMER_ABSTIME)) {
        clock_gettime(clock, &deadline);
        ts_add(&deadline, req);
    }
    int err = sleep_until(clock, &deadline);
    if (err == EINTR && rem && !(flags & TIMER_ABSTIME))
        ts_left(&deadline, rem);
    return err;
}

PP_PL_API int nanosleep(const struct timespec *req, struct timespec *rem)
{
    int err = clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

PP_PL_API int usleep(useconds_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    return nanosleep(&ts, NULL);
}

PP_PL_API unsigned int sleep(unsigned int s)
{
    struct timespec ts = {(time_t)s, 0}, rem = {0, 0};
    if (nanosleep(&ts, &rem) == 0)
        return 0;
    return (unsigned)rem.tv_sec + (rem.tv_nsec > 0);
}
