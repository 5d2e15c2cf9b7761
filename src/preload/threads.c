/*
 * threads.c - The registry of profiled threads and the pthread_create
 * interposer that registers every later thread before it runs user code.
 * Registration allocates with mmap only; unregistration runs from a
 * pthread key destructor, so pthread_exit and plain returns are both seen.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

PP_PL_TLS __thread pp_pl_thread *pp__pl_self;

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static create_fn real_create;
static pthread_key_t exit_key;
static int key_ok;

static void *map_words(uint64_t words)
{
    void *p = mmap(NULL, words * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void ring_init(pp_pl_ring *r, uint64_t words)
{
    r->buf = map_words(words);
    r->mask = r->buf ? words - 1 : 0;
}

static void stack_bounds(pp_pl_thread *t)
{
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            t->stack_lo = (uintptr_t)addr;
            t->stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
}

static void on_thread_exit(void *arg)
{
    pp__pl_thread_unregister(arg);
}

pp_pl_thread *pp__pl_thread_register(void)
{
    if (!atomic_load(&pp__pl.active))
        return NULL;
    pp_pl_thread *t = (pp_pl_thread *)map_words((sizeof(pp_pl_thread) + 7) / 8);
    if (!t)
        return NULL;
    t->tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&t->perf_fd, -1);
    stack_bounds(t);
    prctl(PR_GET_NAME, t->name, 0, 0, 0);
    if (pp__pl.cpu_on)
        ring_init(&t->cpu, 1u << 16);
    if (pp__pl.mem_on)
        ring_init(&t->mem, pp__pl.mem_rate == 0 ? 1u << 20 : 1u << 14);
    atomic_store(&t->state, PP_PL_T_LIVE);
    int slot = -1;
    for (int i = 0; i < PP_PL_MAX_THREADS && slot < 0; i++) {
        pp_pl_thread *expect = NULL;
        if (atomic_compare_exchange_strong(&pp__pl.threads[i], &expect, t))
            slot = i;
    }
    if (slot < 0) {
        atomic_fetch_add(&pp__pl.threads_unprofiled, 1);
        munmap(t->cpu.buf, (t->cpu.mask + 1) * 8);
        munmap(t->mem.buf, (t->mem.mask + 1) * 8);
        munmap(t, sizeof *t);
        return NULL;
    }
    atomic_fetch_add(&pp__pl.threads_seen, 1);
    pp__pl_self = t;
    if (key_ok)
        pthread_setspecific(exit_key, t);
    if (pp__pl.cpu_on)
        pp__pl_timer_start(t);
    return t;
}

void pp__pl_thread_unregister(pp_pl_thread *t)
{
    if (!t)
        return;
    if (pp__pl_self == t)
        pp__pl_self = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    pp__pl_timer_stop(t);
    pp__pl_timer_final(t);
    prctl(PR_GET_NAME, t->name, 0, 0, 0);
    atomic_store(&t->state, PP_PL_T_EXITED); /* the collector drains and frees it */
}

void pp__pl_threads_stop_timers(void)
{
    for (int i = 0; i < PP_PL_MAX_THREADS; i++) {
        pp_pl_thread *t = atomic_load(&pp__pl.threads[i]);
        if (t)
            pp__pl_timer_stop(t);
    }
}

int pp__pl_threads_init(void)
{
    real_create = (create_fn)pp_pl_dlsym("pthread_create");
    if (pthread_key_create(&exit_key, on_thread_exit) == 0)
        key_ok = 1;
    return real_create ? 0 : -1;
}

/* the collector thread is created through the real function, unprofiled */
int pp__pl_create_raw(pthread_t *th, void *(*fn)(void *), void *arg)
{
    if (!real_create)
        return ENOSYS;
    /* raw syscall: the target's mask interposer must not count our own block */
    sigset_t all, old;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, _NSIG / 8);
    int rc = real_create(th, NULL, fn, arg);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, _NSIG / 8);
    return rc;
}

typedef struct {
    void *(*fn)(void *);
    void *arg;
} start_args;

static void *thread_start(void *p)
{
    start_args a = *(start_args *)p;
    __libc_free(p);
    pp_pl_thread *t = pp__pl_thread_register();
    if (t) { /* a thread ending before its first tick is still attributed here */
        t->entry[0] = (uint64_t)(uintptr_t)a.fn;
        t->entry[1] = (uint64_t)(uintptr_t)__builtin_return_address(0);
        t->nentry = 2;
    }
    return a.fn(a.arg);
}

PP_PL_API int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    if (!real_create) {
        real_create = (create_fn)pp_pl_dlsym("pthread_create");
        if (!real_create)
            return EAGAIN;
    }
    if (!atomic_load(&pp__pl.active))
        return real_create(th, attr, fn, arg);
    pp__pl_collector_ensure(); /* the target goes multi-threaded anyway */
    start_args *a = __libc_malloc(sizeof *a);
    if (!a)
        return real_create(th, attr, fn, arg);
    a->fn = fn;
    a->arg = arg;
    int rc = real_create(th, attr, thread_start, a);
    if (rc != 0)
        __libc_free(a);
    return rc;
}
