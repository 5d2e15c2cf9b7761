/*
 * shim.c - libpostprof_causal.so, preloaded by `postprof causal`: wraps the
 * pthread and semaphore calls that block a thread on another one (condition
 * variables, joins, semaphores, barriers, contended mutexes), so the
 * virtual-speedup mechanism (src/capture/causal.c) knows when a thread waits
 * and when it was woken (docs/causal.md). A thread pays the delay it owes
 * before it blocks or wakes another; a thread woken by another skips the
 * delay inserted while it waited. libpostprof connects its hooks through
 * pp_causal_shim_connect(); until then (or without libpostprof) every
 * wrapper only forwards. Links only libc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

typedef void (*hook_fn)(void);
typedef void (*post_fn)(int);

static _Atomic(hook_fn) h_pre_block;
static _Atomic(post_fn) h_post_block;
static _Atomic(hook_fn) h_pre_wake;

SHIM_EXPORT void pp_causal_shim_connect(hook_fn pre_block, post_fn post_block, hook_fn pre_wake);
SHIM_EXPORT void pp_causal_shim_connect(hook_fn pre_block, post_fn post_block, hook_fn pre_wake)
{
    atomic_store(&h_pre_block, pre_block);
    atomic_store(&h_post_block, post_block);
    atomic_store(&h_pre_wake, pre_wake);
}

static void pre_block(void)
{
    hook_fn f = atomic_load_explicit(&h_pre_block, memory_order_acquire);
    if (f)
        f();
}

static void post_block(int woken)
{
    post_fn f = atomic_load_explicit(&h_post_block, memory_order_acquire);
    if (f)
        f(woken);
}

static void pre_wake(void)
{
    hook_fn f = atomic_load_explicit(&h_pre_wake, memory_order_acquire);
    if (f)
        f();
}

/* The next definition of name: the versioned one first (pthread_cond_* has
 * an old and a new version in glibc; the default is the new one). */
static void *next_fn(const char *name, const char *version)
{
    void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
    return p ? p : dlsym(RTLD_NEXT, name);
}

#define REAL(type, name, version)                                                                  \
    static _Atomic(type) real_;                                                                    \
    type fn_ = atomic_load_explicit(&real_, memory_order_relaxed);                                 \
    if (!fn_) {                                                                                    \
        void *sym_ = next_fn(name, version);                                                       \
        memcpy(&fn_, &sym_, sizeof fn_);                                                           \
        atomic_store_explicit(&real_, fn_, memory_order_relaxed);                                  \
    }

typedef int (*cond_wait_t)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timedwait_t)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*cond_t)(pthread_cond_t *);
typedef int (*join_t)(pthread_t, void **);
typedef int (*sem_t_fn)(sem_t *);
typedef int (*sem_timed_t)(sem_t *, const struct timespec *);
typedef int (*barrier_t)(pthread_barrier_t *);
typedef int (*mutex_fn)(pthread_mutex_t *);
typedef int (*mutex_timed_t)(pthread_mutex_t *, const struct timespec *);

/* A mutex blocks only when another thread holds it: an uncontended lock is
 * taken by one try and never counts as a wait (no delay paid, none skipped). */
static int real_trylock(pthread_mutex_t *m)
{
    REAL(mutex_fn, "pthread_mutex_trylock", NULL);
    return fn_(m);
}

SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    REAL(mutex_fn, "pthread_mutex_lock", NULL);
    int r = real_trylock(m);
    if (r != EBUSY)
        return r;
    pre_block();
    r = fn_(m);
    post_block(r == 0);
    return r;
}

SHIM_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts)
{
    REAL(mutex_timed_t, "pthread_mutex_timedlock", NULL);
    pre_block();
    int r = fn_(m, ts);
    post_block(r == 0); /* a timeout is no wake-up by another thread */
    return r;
}

/* Letting a mutex go may wake a waiter: pay what is owed first, like a signal. */
SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    REAL(mutex_fn, "pthread_mutex_unlock", NULL);
    pre_wake();
    return fn_(m);
}

SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    REAL(cond_wait_t, "pthread_cond_wait", "GLIBC_2.3.2");
    pre_block();
    int r = fn_(c, m);
    post_block(r == 0);
    return r;
}

SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                       const struct timespec *ts)
{
    REAL(cond_timedwait_t, "pthread_cond_timedwait", "GLIBC_2.3.2");
    pre_block();
    int r = fn_(c, m, ts);
    post_block(r == 0); /* a timeout is no wake-up by another thread */
    return r;
}

SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    REAL(cond_t, "pthread_cond_signal", "GLIBC_2.3.2");
    pre_wake();
    return fn_(c);
}

SHIM_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    REAL(cond_t, "pthread_cond_broadcast", "GLIBC_2.3.2");
    pre_wake();
    return fn_(c);
}

SHIM_EXPORT int pthread_join(pthread_t t, void **ret)
{
    REAL(join_t, "pthread_join", NULL);
    pre_block();
    int r = fn_(t, ret);
    post_block(r == 0);
    return r;
}

SHIM_EXPORT int sem_wait(sem_t *s)
{
    REAL(sem_t_fn, "sem_wait", NULL);
    pre_block();
    int r = fn_(s);
    post_block(r == 0);
    return r;
}

SHIM_EXPORT int sem_timedwait(sem_t *s, const struct timespec *ts)
{
    REAL(sem_timed_t, "sem_timedwait", NULL);
    pre_block();
    int r = fn_(s, ts);
    post_block(r == 0);
    return r;
}

SHIM_EXPORT int sem_post(sem_t *s)
{
    REAL(sem_t_fn, "sem_post", NULL);
    pre_wake();
    return fn_(s);
}

SHIM_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    REAL(barrier_t, "pthread_barrier_wait", NULL);
    pre_block();
    int r = fn_(b);
    post_block(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    return r;
}
