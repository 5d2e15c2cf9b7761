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
 *
 * Sockets between threads of the process (an HTTP client talking to a server
 * the same process runs) are waits on another thread too: the shim knows the
 * ports its listening sockets have (listen) and the local ports of its own
 * connections to them (connect), so a send on a socket whose peer is one of
 * those is a wake-up (pay first, count it), and a socket wait (poll, select,
 * epoll_wait, accept, recv) that returns ready while such a wake-up happened
 * counts as woken by another thread. A wait that only an outside peer ended
 * keeps its delay (docs/causal.md, Limits).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <pthread.h>
#include <netinet/in.h>
#include <poll.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
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

/* ---- sockets between threads of this process ---- */

/* Ports of this process's listening sockets, and local ports of its
 * connections to them: one bit per port. A bit is never cleared (a port
 * reused later by an outside peer on this machine counts as in-process). */
static _Atomic uint64_t listen_ports[65536 / 64], client_ports[65536 / 64];
/* in-process socket wake-ups so far: a wait that returns ready with this moved was woken by one */
static _Atomic unsigned long sock_wakes;

static void port_set(_Atomic uint64_t *set, unsigned port)
{
    atomic_fetch_or_explicit(&set[port / 64], (uint64_t)1 << (port % 64), memory_order_release);
}

static int port_has(_Atomic uint64_t *set, unsigned port)
{
    return (atomic_load_explicit(&set[port / 64], memory_order_acquire) >> (port % 64)) & 1;
}

/* The port of an IPv4/IPv6 address; -1 for any other family. */
static int addr_port(const struct sockaddr *a, socklen_t len)
{
    if (a && a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)a;
        return ntohs(in->sin_port);
    }
    if (a && a->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)a;
        return ntohs(in6->sin6_port);
    }
    return -1;
}

static int sock_port(int fd, int peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    return r == 0 ? addr_port((struct sockaddr *)&ss, len) : -1;
}

/* Whether fd's peer is a thread of this process: a client of one of its
 * listening ports, or the server behind one. */
static int peer_in_process(int fd)
{
    int errno_ = errno;
    int p = sock_port(fd, 1);
    errno = errno_;
    return p >= 0 && (port_has(listen_ports, (unsigned)p) || port_has(client_ports, (unsigned)p));
}

/* Before data goes to a thread of this process: pay what is owed, count the wake-up. */
static void sock_pre_send(int fd)
{
    if (!atomic_load_explicit(&h_pre_wake, memory_order_acquire) || !peer_in_process(fd))
        return;
    pre_wake();
    atomic_fetch_add_explicit(&sock_wakes, 1, memory_order_release);
}

static unsigned long sock_pre_wait(void)
{
    pre_block();
    return atomic_load_explicit(&sock_wakes, memory_order_acquire);
}

static void sock_post_wait(unsigned long before, int ready)
{
    post_block(ready && atomic_load_explicit(&sock_wakes, memory_order_acquire) != before);
}

typedef int (*listen_t)(int, int);
typedef int (*connect_t)(int, const struct sockaddr *, socklen_t);
typedef int (*accept_t)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_t)(int, struct sockaddr *, socklen_t *, int);
typedef int (*poll_t)(struct pollfd *, nfds_t, int);
typedef int (*ppoll_t)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
typedef int (*select_t)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
typedef int (*pselect_t)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
                         const sigset_t *);
typedef int (*epoll_wait_t)(int, struct epoll_event *, int, int);
typedef int (*epoll_pwait_t)(int, struct epoll_event *, int, int, const sigset_t *);
typedef ssize_t (*recv_t)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_t)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*recvmsg_t)(int, struct msghdr *, int);
typedef ssize_t (*send_t)(int, const void *, size_t, int);
typedef ssize_t (*sendto_t)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_t)(int, const struct msghdr *, int);

SHIM_EXPORT int listen(int fd, int backlog)
{
    REAL(listen_t, "listen", NULL);
    int r = fn_(fd, backlog);
    if (r == 0) {
        int errno_ = errno, p = sock_port(fd, 0);
        errno = errno_;
        if (p > 0)
            port_set(listen_ports, (unsigned)p);
    }
    return r;
}

/* A connection to a port this process listens on wakes its server: its
 * local port is noted (so the server's replies count as in-process), the
 * connecting thread pays first. */
SHIM_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG a_, socklen_t len)
{
    const struct sockaddr *a = a_.__sockaddr__;
    REAL(connect_t, "connect", NULL);
    int p = addr_port(a, len);
    int own = p > 0 && port_has(listen_ports, (unsigned)p);
    if (own && atomic_load_explicit(&h_pre_wake, memory_order_acquire)) {
        pre_wake();
        atomic_fetch_add_explicit(&sock_wakes, 1, memory_order_release);
    }
    int r = fn_(fd, a, len);
    if (own && (r == 0 || errno == EINPROGRESS)) {
        int errno_ = errno, lp = sock_port(fd, 0);
        errno = errno_;
        if (lp > 0)
            port_set(client_ports, (unsigned)lp);
    }
    return r;
}

SHIM_EXPORT int accept(int fd, __SOCKADDR_ARG a_, socklen_t *len)
{
    struct sockaddr *a = a_.__sockaddr__;
    REAL(accept_t, "accept", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(fd, a, len);
    sock_post_wait(w, r >= 0);
    return r;
}

SHIM_EXPORT int accept4(int fd, __SOCKADDR_ARG a_, socklen_t *len, int flags)
{
    struct sockaddr *a = a_.__sockaddr__;
    REAL(accept4_t, "accept4", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(fd, a, len, flags);
    sock_post_wait(w, r >= 0);
    return r;
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    REAL(poll_t, "poll", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(fds, n, timeout);
    sock_post_wait(w, r > 0);
    return r;
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *m)
{
    REAL(ppoll_t, "ppoll", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(fds, n, ts, m);
    sock_post_wait(w, r > 0);
    return r;
}

SHIM_EXPORT int select(int n, fd_set *r_, fd_set *w_, fd_set *e_, struct timeval *tv)
{
    REAL(select_t, "select", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(n, r_, w_, e_, tv);
    sock_post_wait(w, r > 0);
    return r;
}

SHIM_EXPORT int pselect(int n, fd_set *r_, fd_set *w_, fd_set *e_, const struct timespec *ts,
                        const sigset_t *m)
{
    REAL(pselect_t, "pselect", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(n, r_, w_, e_, ts, m);
    sock_post_wait(w, r > 0);
    return r;
}

SHIM_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
    REAL(epoll_wait_t, "epoll_wait", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(ep, ev, max, timeout);
    sock_post_wait(w, r > 0);
    return r;
}

SHIM_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout, const sigset_t *m)
{
    REAL(epoll_pwait_t, "epoll_pwait", NULL);
    unsigned long w = sock_pre_wait();
    int r = fn_(ep, ev, max, timeout, m);
    sock_post_wait(w, r > 0);
    return r;
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    REAL(recv_t, "recv", NULL);
    unsigned long w = sock_pre_wait();
    ssize_t r = fn_(fd, buf, len, flags);
    sock_post_wait(w, r >= 0);
    return r;
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG a_,
                             socklen_t *alen)
{
    struct sockaddr *a = a_.__sockaddr__;
    REAL(recvfrom_t, "recvfrom", NULL);
    unsigned long w = sock_pre_wait();
    ssize_t r = fn_(fd, buf, len, flags, a, alen);
    sock_post_wait(w, r >= 0);
    return r;
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    REAL(recvmsg_t, "recvmsg", NULL);
    unsigned long w = sock_pre_wait();
    ssize_t r = fn_(fd, msg, flags);
    sock_post_wait(w, r >= 0);
    return r;
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    REAL(send_t, "send", NULL);
    sock_pre_send(fd);
    return fn_(fd, buf, len, flags);
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG a_,
                           socklen_t alen)
{
    const struct sockaddr *a = a_.__sockaddr__;
    REAL(sendto_t, "sendto", NULL);
    sock_pre_send(fd);
    return fn_(fd, buf, len, flags, a, alen);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL(sendmsg_t, "sendmsg", NULL);
    sock_pre_send(fd);
    return fn_(fd, msg, flags);
}
