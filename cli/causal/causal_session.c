/*
 * causal_session.c - One causal profiling session (cli/causal.h): the
 * command run with POSTPROF_CAUSAL_DIR set (and the blocking-call shim
 * preloaded), again while time is left and it exits; its experiment logs
 * read back every second to stop once every gain is known precisely enough.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "causal.h"
#include "cli.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void prepend_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    char ld[3 * PATH_MAX];
    snprintf(ld, sizeof ld, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", ld, 1);
}

static pid_t start(const cli_causal_opts *o, const char *dir, const char *shim)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char ms[32];
    snprintf(ms, sizeof ms, "%ld", o->exp_ms);
    setenv("POSTPROF_CAUSAL_DIR", dir, 1);
    setenv("POSTPROF_CAUSAL_SPEEDUPS", o->speedups, 1);
    setenv("POSTPROF_CAUSAL_EXPERIMENT_MS", ms, 1);
    if (o->sites)
        setenv("POSTPROF_CAUSAL_SITES", o->sites, 1);
    if (o->progress)
        setenv("POSTPROF_CAUSAL_PROGRESS", o->progress, 1);
    /* the shim first: its wrappers must precede the C library's */
    if (o->preload)
        prepend_preload(o->preload);
    if (shim)
        prepend_preload(shim);
    if (o->quiet) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
            dup2(fd, 1);
    }
    execvp(o->cmd[0], o->cmd);
    fprintf(stderr, "postprof %s: cannot run %s: %s\n", o->tag, o->cmd[0], strerror(errno));
    _exit(127);
}

/* One run's log (DIR/PID.causal), NULL when there is none (the program never
 * reached its first scope). final: print its notes, remove the file. */
static char *take_log(const cli_causal_opts *o, const char *dir, pid_t pid, int final, size_t *len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d.causal", dir, (int)pid);
    char *text = NULL;
    if (pp_file_read(path, (size_t)1 << 28, &text, len, NULL, 0) != PP_OK)
        return NULL;
    if (final) {
        for (char *p = strstr(text, "\nnote "); p; p = strstr(p + 1, "\nnote "))
            fprintf(stderr, "postprof %s: %.*s\n", o->tag, (int)strcspn(p + 6, "\n"), p + 6);
        for (char *p = strstr(text, "\nerror "); p; p = strstr(p + 1, "\nerror "))
            fprintf(stderr, "postprof %s: %.*s\n", o->tag, (int)strcspn(p + 7, "\n"), p + 7);
        unlink(path);
    }
    return text;
}

/* ---- --keep-cpus-awake ----
 * On a virtual machine an idle CPU is given back to the host, and waking it
 * (a futex wake, a timer) can take milliseconds when the host is busy. The
 * pauses of a virtual speedup leave CPUs idle where the baseline did not, so
 * the experiments meet more of those late wake-ups than their baselines:
 * real time that no delay accounts for, read as a loss (docs/causal.md,
 * Accuracy). One thread per CPU at the idle scheduling class (SCHED_IDLE)
 * keeps every CPU running: any other thread takes the CPU from it at once,
 * so it takes only time nothing else wanted. */

typedef struct awake {
    pthread_t *th;
    size_t n;
    _Atomic int stop;
    _Atomic size_t ready, refused; /* threads that reported; of those, denied SCHED_IDLE */
} awake;

static void *awake_spin(void *arg)
{
    awake *a = arg;
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0) {
        atomic_fetch_add(&a->refused, 1);
        atomic_fetch_add(&a->ready, 1);
        return NULL; /* spinning at the caller's priority would take CPU from the program */
    }
    atomic_fetch_add(&a->ready, 1);
    while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    return NULL;
}

static void awake_stop(awake *a)
{
    atomic_store(&a->stop, 1);
    for (size_t i = 0; i < a->n; i++)
        pthread_join(a->th[i], NULL);
    free(a->th);
    a->th = NULL;
    a->n = 0;
}

/* Starts the spinners; 0, or -1 with why filled (none left running). */
static int awake_start(awake *a, char *why, size_t whycap)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 0 && cpus <= 4096 ? (size_t)cpus : 1;
    a->th = calloc(want, sizeof *a->th);
    if (!a->th) {
        snprintf(why, whycap, "out of memory");
        return -1;
    }
    /* the spinners take no signal meant for this process */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = 0;
    for (; a->n < want; a->n++)
        if ((err = pthread_create(&a->th[a->n], NULL, awake_spin, a)) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    while (atomic_load(&a->ready) < a->n)
        sched_yield();
    if (err || atomic_load(&a->refused)) {
        snprintf(why, whycap, "%s", err ? strerror(err) : "the idle scheduling class was refused");
        awake_stop(a);
        return -1;
    }
    return 0;
}

/* 1 when this Linux runs on a hypervisor (the CPU flag "hypervisor"). */
static int on_hypervisor(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[4096];
    int yes = 0;
    while (!yes && fgets(line, sizeof line, f))
        yes = strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor") != NULL;
    fclose(f);
    return yes;
}

typedef struct logs {
    char **text;
    size_t *len;
    size_t n;
} logs;

/* Every finished run's log, plus extra (the running one's so far, may be NULL). */
static pp_causal_log *parse_all(const cli_causal_opts *o, const logs *l, const char *extra,
                                size_t extra_len, int verbose)
{
    pp_causal_log *all = pp_causal_log_new();
    for (size_t i = 0; all && i <= l->n; i++) {
        const char *t = i < l->n ? l->text[i] : extra;
        size_t len = i < l->n ? l->len[i] : extra_len, skipped = 0;
        char err[256] = "";
        if (!t)
            continue;
        int rc = pp_causal_log_parse(all, t, len, &skipped, err, sizeof err);
        if (rc == PP_ENOMEM) {
            pp_causal_log_free(all);
            return NULL;
        }
        if (verbose && (rc != PP_OK || skipped))
            fprintf(stderr, "postprof %s: run %zu's experiment log: %s%s\n", o->tag, i + 1,
                    rc != PP_OK ? "" : "lines skipped: ", err);
    }
    return all;
}

/* The fewest experiments per point before a run may stop early: an interval
 * over a handful of pairs that happens to be narrow is no reason to stop
 * (stopping on it would favour the runs whose first pairs agreed by chance). */
#define MIN_STOP_EXPERIMENTS 10

static int narrow_enough(const cli_causal_opts *o, const logs *l, const char *extra,
                         size_t extra_len)
{
    pp_causal_log *all = parse_all(o, l, extra, extra_len, 0);
    pp_causal_result *r = NULL;
    double widest = INFINITY;
    int ok = all && pp_causal_analyze(all, &r, &widest) == PP_OK && widest <= o->precision;
    for (size_t i = 0; ok && i < r->nsites; i++)
        for (size_t k = 0; k < r->sites[i].npoints; k++)
            ok &= r->sites[i].points[k].experiments >= MIN_STOP_EXPERIMENTS;
    pp_causal_result_free(r);
    pp_causal_log_free(all);
    return ok;
}

int cli_causal_session(const cli_causal_opts *o, cli_causal_out *out)
{
    memset(out, 0, sizeof *out);
    char shim[PATH_MAX];
    const char *shim_path =
        cli_find_library("POSTPROF_CAUSAL_SHIM", "libpostprof_causal.so", shim, sizeof shim) == 0
            ? shim
            : NULL;
    if (!shim_path)
        fprintf(stderr,
                "postprof %s: libpostprof_causal.so not found (set POSTPROF_CAUSAL_SHIM): "
                "threads that wait on others are delayed too\n",
                o->tag);
    char dir[] = "/tmp/postprof-causal-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(out->why, sizeof out->why, "cannot make a temporary directory: %s",
                 strerror(errno));
        return PP_EXIT_FAIL;
    }
    logs l = {NULL, NULL, 0};
    pp_causal_log *all = NULL;
    int code = PP_EXIT_FAIL, unrunnable = 0;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    awake aw = {0};
    if (o->keep_awake) {
        char why[128];
        if (awake_start(&aw, why, sizeof why) != 0)
            fprintf(stderr, "postprof %s: --keep-cpus-awake: %s; the CPUs may idle\n", o->tag, why);
    } else if (strcmp(o->tag, "causal") == 0 && on_hypervisor()) {
        fprintf(stderr,
                "postprof %s: note: this is a virtual machine, where an idle CPU can wake "
                "milliseconds late; the pauses of the experiments idle the CPUs more than their "
                "baselines do, which reads as a loss (off the critical path most clearly). "
                "--keep-cpus-awake avoids it (docs/causal.md, Accuracy)\n",
                o->tag);
    }
    double t_start = now_s(), deadline = t_start + o->duration;
    int done = 0;
    while (!done && !interrupted && now_s() < deadline) {
        char **nt = realloc(l.text, (l.n + 1) * sizeof *nt);
        if (nt)
            l.text = nt;
        size_t *nl = realloc(l.len, (l.n + 1) * sizeof *nl);
        if (nl)
            l.len = nl;
        if (!nt || !nl)
            break;
        fflush(NULL);
        pid_t pid = start(o, dir, shim_path);
        if (pid < 0) {
            snprintf(out->why, sizeof out->why, "cannot start %s: %s", o->cmd[0], strerror(errno));
            break;
        }
        out->runs++;
        double next_check = now_s() + 1, term_at = 0;
        int status = 0;
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid || (w < 0 && errno != EINTR))
                break;
            double t = now_s();
            if (!term_at && (interrupted || t >= deadline)) {
                kill(pid, SIGTERM);
                term_at = t;
            } else if (!term_at && t >= next_check) {
                size_t len = 0;
                char *cur = take_log(o, dir, pid, 0, &len);
                if (cur && narrow_enough(o, &l, cur, len)) {
                    kill(pid, SIGTERM);
                    term_at = t;
                    done = 1;
                }
                free(cur);
                next_check = now_s() + 1;
            } else if (term_at && t - term_at > 3) {
                kill(pid, SIGKILL);
            }
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
        l.text[l.n] = take_log(o, dir, pid, 1, &l.len[l.n]);
        if (!l.text[l.n]) {
            /* it never reached a scope: running it again will not either */
            unrunnable = !term_at && WIFEXITED(status) && WEXITSTATUS(status) == 127 ? 1 : 2;
            break;
        }
        l.n++;
        if (!done && narrow_enough(o, &l, NULL, 0))
            done = 1;
    }
    if (aw.n)
        awake_stop(&aw);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    out->seconds = now_s() - t_start;
    out->narrow = done;
    all = parse_all(o, &l, NULL, 0, 1);
    int rc = all ? pp_causal_analyze(all, &out->res, NULL) : PP_ENOMEM;
    out->experiments = all ? pp_causal_log_count(all) : 0;
    if (rc == PP_OK) {
        code = PP_EXIT_OK;
    } else if (out->why[0]) {
        /* said already */
    } else if (unrunnable == 1) {
        snprintf(out->why, sizeof out->why, "%s could not be run", o->cmd[0]);
    } else if (unrunnable == 2 && !l.n) {
        snprintf(out->why, sizeof out->why,
                 "no usable experiment: %s never reached a PP_SCOPE or PP_PROGRESS of "
                 "libpostprof (is it linked with libpostprof?%s)",
                 o->cmd[0],
                 o->preload ? " built with -finstrument-functions?"
                            : " built with -finstrument-functions only: --preload");
    } else {
        snprintf(out->why, sizeof out->why,
                 "no usable experiment in %d run%s of %s: it needs libpostprof, a "
                 "progress point reached at least a few times per experiment and "
                 "scopes to speed up (%zu experiments read)",
                 out->runs, out->runs == 1 ? "" : "s", o->cmd[0], out->experiments);
    }
    pp_causal_log_free(all);
    for (size_t i = 0; i < l.n; i++)
        free(l.text[i]);
    free(l.text);
    free(l.len);
    rmdir(dir);
    return code;
}
