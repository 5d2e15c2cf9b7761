/*
 * work_robust.c - Misbehaving targets for `postprof record`: crash, _exit,
 * exec, fork, 64 threads, SIGPROF blocked, its own SIGPROF handler, sleeps.
 * argv[1] names the behaviour; each burns CPU in a function named after it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define BURN(seconds)                                                                              \
    do {                                                                                           \
        double end_ = cpu_s() + (seconds);                                                         \
        uint64_t x_ = sink;                                                                        \
        while (cpu_s() < end_)                                                                     \
            for (int i_ = 0; i_ < 10000; i_++)                                                     \
                x_ = x_ * 6364136223846793005ull + 1442695040888963407ull;                         \
        sink += x_;                                                                                \
    } while (0)

void before_crash(void);
void before_exit(void);
void before_exec(void);
void after_exec(void);
void in_parent(void);
void in_child(void);
void *many_worker(void *arg);
void while_blocked(void);
void with_own_handler(void);
void cpu_part(void);

__attribute__((noinline)) void before_crash(void)
{
    BURN(0.3);
    raise(SIGSEGV); /* a crash the target did not handle */
}

__attribute__((noinline)) void before_exit(void)
{
    BURN(0.3);
    fflush(stdout);
    _exit(3);
}

__attribute__((noinline)) void before_exec(void)
{
    BURN(0.25);
}

__attribute__((noinline)) void after_exec(void)
{
    BURN(0.25);
}

__attribute__((noinline)) void in_parent(void)
{
    BURN(0.25);
}

__attribute__((noinline)) void in_child(void)
{
    BURN(0.25);
}

__attribute__((noinline)) void *many_worker(void *arg)
{
    (void)arg;
    BURN(0.01);
    return NULL;
}

__attribute__((noinline)) void while_blocked(void)
{
    BURN(0.2);
}

__attribute__((noinline)) void cpu_part(void)
{
    BURN(0.2);
}

static volatile sig_atomic_t own_ticks;

static void own_handler(int sig)
{
    (void)sig;
    own_ticks++;
}

/* burns until the target's own ITIMER_PROF handler ran 6 times (at most 5 s
 * of CPU): on a loaded machine the kernel checks process-CPU timers only at
 * ticks that find the process running and fires once per check, so 0.2 s of
 * CPU at 10 ms gave fewer than 6 signals even without a profiler */
__attribute__((noinline)) void with_own_handler(void)
{
    for (int i = 0; i < 500 && own_ticks <= 5; i++)
        BURN(0.01);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "crash") == 0) {
        before_crash();
    } else if (strcmp(mode, "_exit") == 0) {
        before_exit();
    } else if (strcmp(mode, "exec") == 0) {
        before_exec();
        fflush(stdout);
        execl(argv[0], argv[0], "exec2", (char *)NULL);
        perror("execl");
        return 1;
    } else if (strcmp(mode, "exec2") == 0) {
        after_exec();
    } else if (strcmp(mode, "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            in_child();
            exit(0);
        }
        in_parent();
        int st;
        waitpid(pid, &st, 0);
        printf("child exit %d\n", WEXITSTATUS(st));
    } else if (strcmp(mode, "threads64") == 0) {
        pthread_t th[64];
        for (int i = 0; i < 64; i++)
            pthread_create(&th[i], NULL, many_worker, NULL);
        for (int i = 0; i < 64; i++)
            pthread_join(th[i], NULL);
    } else if (strcmp(mode, "blocksig") == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPROF);
        sigprocmask(SIG_BLOCK, &set, NULL);
        while_blocked();
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        cpu_part();
    } else if (strcmp(mode, "ownhandler") == 0) {
        cpu_part();
        signal(SIGPROF, own_handler);
        struct itimerval it = {{0, 10000}, {0, 10000}};
        setitimer(ITIMER_PROF, &it, NULL);
        with_own_handler();
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_PROF, &off, NULL);
        printf("own handler ticks %s\n", own_ticks > 5 ? "ok" : "MISSING");
        return own_ticks > 5 ? 0 : 1;
    } else if (strcmp(mode, "sleep") == 0) {
        double t0 = mono_s();
        struct timespec ts = {0, 300000000};
        nanosleep(&ts, NULL);
        double slept = mono_s() - t0;
        cpu_part();
        printf("slept %s\n", slept >= 0.299 ? "ok" : "SHORT");
        return slept >= 0.299 ? 0 : 1;
    } else {
        fprintf(stderr, "unknown mode\n");
        return 2;
    }
    printf("work_robust %s done\n", mode);
    return 0;
}
