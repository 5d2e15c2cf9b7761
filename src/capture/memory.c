/*
 * memory.c - Per-thread malloc counters (written by libpostprof_malloc's
 * hooks, read by memory scopes) and the process RSS. The counters are plain
 * thread-local integers: the hooks must stay lock-free and allocation-free.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "capture.h"

__thread pp_mem_counters pp__mem_tls __attribute__((tls_model("initial-exec")));
_Atomic int pp__mem_hooked;
static _Atomic int statm_fd = -1;

void pp_mem_thread_counters(pp_mem_counters *out)
{
    *out = pp__mem_tls;
}

int pp_mem_accounting_active(void)
{
    return atomic_load(&pp__mem_hooked);
}

void pp__mem_after_fork(void)
{
    /* /proc/self was resolved when the fd was opened: the parent's, not ours */
    int fd = atomic_exchange(&statm_fd, -1);
    if (fd >= 0)
        close(fd);
}

uint64_t pp_mem_rss_bytes(void)
{
    int fd = atomic_load_explicit(&statm_fd, memory_order_acquire);
    if (fd < 0) {
        int nfd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (nfd < 0)
            return 0;
        int expected = -1;
        if (atomic_compare_exchange_strong(&statm_fd, &expected, nfd)) {
            fd = nfd;
        } else {
            close(nfd);
            fd = expected;
        }
    }
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = buf;
    strtoull(p, &p, 10); /* size */
    unsigned long long resident = strtoull(p, NULL, 10);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
