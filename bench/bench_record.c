/*
 * bench_record.c - Overhead of `postprof record`'s preload library against
 * no profiler (the floor, measured in the same run), gperftools' libprofiler
 * and heaptrack on the same workloads (bench/record_work.c). CPU overhead is
 * extra process CPU time (getrusage of the child); allocation overhead is
 * the workload's own loop time. The configurations run interleaved, REPS
 * rounds; each overhead is the median over rounds of the difference to the
 * baseline run of the same round (paired, so a load change on a shared
 * machine hits both sides), each floor the minimum.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPS 11 /* rounds of every configuration */
#define CPU_ROUNDS "8000"
#define ALLOC_PAIRS 4000000L

typedef struct {
    double cpu_s;
    double loop_ns;
    int ok;
} result;

static char tmpdir[] = "/tmp/bench-record-XXXXXX";

static result run_once(const char *const *env, const char *const *prefix, const char *mode,
                       const char *n)
{
    result r = {0, 0, 0};
    int fds[2];
    if (pipe(fds) != 0)
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        for (int i = 0; env && env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        const char *argv[16];
        int k = 0;
        for (int i = 0; prefix && prefix[i]; i++)
            argv[k++] = prefix[i];
        argv[k++] = PP_RECORD_WORK;
        argv[k++] = mode;
        argv[k++] = n;
        argv[k] = NULL;
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)got;
    buf[len] = 0;
    close(fds[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return r;
    const char *l = strstr(buf, "loop_ns: ");
    if (!l)
        return r;
    r.loop_ns = atof(l + 9);
    r.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    r.ok = 1;
    return r;
}

static void clean_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s/*", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_record: cannot clean %s\n", tmpdir);
}

static double value(result r, int loop)
{
    return loop ? r.loop_ns : r.cpu_s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median over rounds of (with - base) / base, in percent; -1 when not run */
static double paired_pct(const result *with, const result *base, int failed, int loop)
{
    if (failed)
        return -1;
    double d[REPS];
    int n = 0;
    for (int r = 0; r < REPS; r++)
        if (with[r].ok && base[r].ok)
            d[n++] = 100.0 * (value(with[r], loop) - value(base[r], loop)) / value(base[r], loop);
    if (n == 0)
        return -1;
    qsort(d, (size_t)n, sizeof d[0], cmp_double);
    return n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
}

static double floor_of(const result *runs, int failed, int loop)
{
    double best = -1;
    for (int r = 0; r < REPS && !failed; r++)
        if (runs[r].ok && (best < 0 || value(runs[r], loop) < best))
            best = value(runs[r], loop);
    return best;
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char out[256];
    snprintf(out, sizeof out, "%s/gperf.prof", tmpdir);
    const char *pl = getenv("POSTPROF_PRELOAD") ? getenv("POSTPROF_PRELOAD") : PP_PRELOAD_LIB;
    const char *e99[] = {"LD_PRELOAD", pl, "POSTPROF_DIR", tmpdir, "POSTPROF_HZ", "99", NULL};
    const char *e999[] = {"LD_PRELOAD", pl, "POSTPROF_DIR", tmpdir, "POSTPROF_HZ", "999", NULL};
    const char *esig[] = {"RECORD_WORK_SIGNAL_HZ", "999", NULL};
    const char *egp[] = {"LD_PRELOAD",
                         "/usr/lib/x86_64-linux-gnu/libprofiler.so",
                         "CPUPROFILE",
                         out,
                         "CPUPROFILE_FREQUENCY",
                         "999",
                         NULL};
    const char *emem[] = {"LD_PRELOAD", pl, "POSTPROF_DIR", tmpdir, "POSTPROF_MEM", "1", NULL};
    const char *eall[] = {
        "LD_PRELOAD", pl,  "POSTPROF_DIR", tmpdir, "POSTPROF_MEM", "1", "POSTPROF_MEM_RATE",
        "0",          NULL};
    char ht_out[256];
    snprintf(ht_out, sizeof ht_out, "%s/heaptrack", tmpdir);
    const char *heaptrack[] = {"heaptrack", "-o", ht_out, NULL};
    char pairs[32];
    snprintf(pairs, sizeof pairs, "%ld", ALLOC_PAIRS);

    /* configurations interleaved, REPS rounds, minimum per configuration:
     * a load change on a shared machine hits all of them alike */
    enum { BASE, R99, R999, SIG, GP, ABASE, AMEM, AALL, AHT, NCONF };
    const char *const *envs[NCONF] = {NULL, e99, e999, esig, egp, NULL, emem, eall, NULL};
    const char *const *prefixes[NCONF] = {NULL, NULL, NULL, NULL,     NULL,
                                          NULL, NULL, NULL, heaptrack};
    const char *modes[NCONF] = {"cpu",   "cpu",   "cpu",   "cpu",  "cpu",
                                "alloc", "alloc", "alloc", "alloc"};
    const char *ns[NCONF] = {CPU_ROUNDS, CPU_ROUNDS, CPU_ROUNDS, CPU_ROUNDS, CPU_ROUNDS,
                             pairs,      pairs,      pairs,      pairs};
    static result runs[NCONF][REPS];
    int failed[NCONF] = {0};
    for (int rep = 0; rep < REPS; rep++) {
        for (int c = 0; c < NCONF; c++) {
            if (failed[c])
                continue;
            runs[c][rep] = run_once(envs[c], prefixes[c], modes[c], ns[c]);
            clean_dir();
            if (!runs[c][rep].ok)
                failed[c] = 1;
        }
        fprintf(stderr, "bench_record: round %d/%d\r", rep + 1, REPS);
    }
    fprintf(stderr, "\n");
    rmdir(tmpdir);
    for (int c = 0; c < NCONF; c++)
        if (failed[c])
            fprintf(stderr, "bench_record: configuration %d failed to run\n", c);

    printf("reps: %d\n", REPS);
    printf("floor_cpu_workload_s: %.3f\n", floor_of(runs[BASE], failed[BASE], 0));
    printf("overhead_99hz_pct: %.2f\n", paired_pct(runs[R99], runs[BASE], failed[R99], 0));
    printf("overhead_999hz_pct: %.2f\n", paired_pct(runs[R999], runs[BASE], failed[R999], 0));
    /* the kernel's part: a task-clock event signalling an empty handler */
    printf("kernel_signal_999hz_pct: %.2f\n", paired_pct(runs[SIG], runs[BASE], failed[SIG], 0));
    printf("overhead_999hz_own_pct: %.2f\n",
           failed[SIG] ? -1 : paired_pct(runs[R999], runs[SIG], failed[R999], 0));
    printf("gperftools_999hz_pct: %.2f\n", paired_pct(runs[GP], runs[BASE], failed[GP], 0));
    double abase = floor_of(runs[ABASE], failed[ABASE], 1);
    printf("floor_alloc_pair_ns: %.1f\n", abase / (double)ALLOC_PAIRS);
    printf("mem_sampled_overhead_pct: %.2f\n",
           paired_pct(runs[AMEM], runs[ABASE], failed[AMEM], 1));
    printf("mem_all_pair_ns: %.1f\n", paired_pct(runs[AALL], runs[ABASE], failed[AALL], 1) / 100.0 *
                                          abase / (double)ALLOC_PAIRS);
    printf("heaptrack_pair_ns: %.1f\n", failed[AHT] ? -1
                                                    : paired_pct(runs[AHT], runs[ABASE], 0, 1) /
                                                          100.0 * abase / (double)ALLOC_PAIRS);
    return failed[BASE] || failed[R99] || failed[R999] || failed[ABASE] || failed[AMEM] ||
                   failed[AALL]
               ? 1
               : 0;
}
