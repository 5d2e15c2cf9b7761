/*
 * work_lossy.c - Targets that used to lose their samples under `postprof
 * record`, each measuring the truth itself (thread CPU time of the work):
 *   closefds       burns in before_closefds, closes every descriptor above
 *                  2 (close_range, or a loop where the kernel lacks it),
 *                  then burns in after_closefds;
 *   short_threads  N threads (argv[2], default 100), 4 at a time, each
 *                  burning argv[3] ms (default 8) of CPU in short_worker
 *                  and ending;
 *   one_thread     the same work as short_threads in the main thread;
 *   reuse          a thread closes its sampling descriptor (the one perf
 *                  event that appeared with it in /proc/self/fd), puts
 *                  /dev/null on that number and ends at once: the profiler,
 *                  stopping the thread's timer, must not close the file;
 *                  prints `work_lossy reuse kept` or `work_lossy reuse LOST`;
 *   spin           burns 200 ms, prints `work_lossy ready PID` and burns
 *                  on (up to 120 s of CPU), in spin_until_killed (signal tests).
 * Prints `work_lossy truth FUNC=MS ...` (CPU ms per function, summed over
 * threads) and `work_lossy done`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* burns ms of this thread's CPU; returns the CPU it took (ns). Inlined, so
 * that the samples fall in the function named after the part; the clock is
 * read every ~0.1 ms (a system call: its own frames, kept small). */
static inline __attribute__((always_inline)) uint64_t burn(double ms)
{
    uint64_t t0 = thread_cpu_ns(), end = t0 + (uint64_t)(ms * 1e6), now;
    uint64_t x = sink;
    do {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull + (x >> 17);
        now = thread_cpu_ns();
    } while (now < end);
    sink += x;
    return now - t0;
}

uint64_t before_closefds(double ms);
uint64_t after_closefds(double ms);
void *short_worker(void *arg);
uint64_t in_one_thread(double ms);
uint64_t spin_until_killed(double ms);

__attribute__((noinline)) uint64_t before_closefds(double ms)
{
    return burn(ms);
}

__attribute__((noinline)) uint64_t after_closefds(double ms)
{
    return burn(ms);
}

static double worker_ms = 8;
static _Atomic uint64_t worker_ns;

__attribute__((noinline)) void *short_worker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&worker_ns, burn(worker_ms));
    return NULL;
}

__attribute__((noinline)) uint64_t in_one_thread(double ms)
{
    return burn(ms);
}

__attribute__((noinline)) uint64_t spin_until_killed(double ms)
{
    return burn(ms);
}

/* the perf_event descriptors of this process, as a bit set of numbers < 4096 */
static void perf_fds(unsigned char *set)
{
    memset(set, 0, 512);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], link[64];
        int fd = atoi(e->d_name);
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n > 0 && fd >= 0 && fd < 4096) {
            link[n] = 0;
            if (strstr(link, "perf_event"))
                set[fd / 8] |= (unsigned char)(1u << (fd % 8));
        }
    }
    if (d)
        closedir(d);
}

static unsigned char before_thread[512];
static int reused_fd = -1;

static void *reuse_worker(void *arg)
{
    (void)arg;
    unsigned char now[512];
    perf_fds(now);
    for (int fd = 0; fd < 4096 && reused_fd < 0; fd++)
        if ((now[fd / 8] & ~before_thread[fd / 8]) & (1u << (fd % 8)))
            reused_fd = fd;
    if (reused_fd >= 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup2(null, reused_fd); /* closes the profiler's descriptor, reuses its number */
        close(null);
    }
    return NULL;
}

static void close_all(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
        return;
#endif
    struct rlimit rl;
    long max =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (long)rl.rlim_cur : 65536;
    for (long fd = 3; fd < max; fd++)
        close((int)fd);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int n = argc > 2 ? atoi(argv[2]) : 100;
    worker_ms = argc > 3 ? atof(argv[3]) : 8;
    if (n < 1 || n > 10000 || worker_ms <= 0)
        return 2;
    if (strcmp(mode, "closefds") == 0) {
        uint64_t a = before_closefds(300);
        close_all();
        uint64_t b = after_closefds(1500);
        printf("work_lossy truth before_closefds=%.3f after_closefds=%.3f\n", a / 1e6, b / 1e6);
    } else if (strcmp(mode, "short_threads") == 0) {
        pthread_t th[4];
        for (int done = 0; done < n;) {
            int k = n - done < 4 ? n - done : 4;
            for (int i = 0; i < k; i++)
                if (pthread_create(&th[i], NULL, short_worker, NULL) != 0)
                    return 1;
            for (int i = 0; i < k; i++)
                pthread_join(th[i], NULL);
            done += k;
        }
        printf("work_lossy truth short_worker=%.3f\n", atomic_load(&worker_ns) / 1e6);
    } else if (strcmp(mode, "one_thread") == 0) {
        uint64_t ns = 0;
        for (int i = 0; i < n; i++)
            ns += in_one_thread(worker_ms);
        printf("work_lossy truth in_one_thread=%.3f\n", ns / 1e6);
    } else if (strcmp(mode, "reuse") == 0) {
        perf_fds(before_thread);
        pthread_t th;
        if (pthread_create(&th, NULL, reuse_worker, NULL) != 0)
            return 1;
        pthread_join(th, NULL);
        struct stat st, null_st;
        int kept = reused_fd >= 0 && fstat(reused_fd, &st) == 0 &&
                   stat("/dev/null", &null_st) == 0 && st.st_rdev == null_st.st_rdev;
        printf("work_lossy reuse %s (descriptor %d)\n", kept ? "kept" : "LOST", reused_fd);
    } else if (strcmp(mode, "spin") == 0) {
        spin_until_killed(200); /* samples to show before the signal comes */
        printf("work_lossy ready %ld\n", (long)getpid());
        fflush(stdout);
        spin_until_killed(120000);
    } else {
        return 2;
    }
    printf("work_lossy done\n");
    return 0;
}
