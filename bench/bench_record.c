/*
 * bench_record.c - Overhead of `postprof record`'s preload library against
 * no profiler (the floor, measured in the same run), gperftools' libprofiler
 * and heaptrack on the same workloads (bench/record_work.c). CPU overhead is
 * extra process CPU time (getrusage of the child); allocation overhead is
 * the workload's own loop time. Each figure is the minimum of REPS runs.
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

#define REPS 7 /* rounds; each figure is a configuration's minimum */
#define CPU_ROUNDS "4000"
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

static double pct(result with, result base)
{
    return with.ok && base.ok ? 100.0 * (with.cpu_s - base.cpu_s) / base.cpu_s : -1;
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
    enum { BASE, R99, R999, GP, ABASE, AMEM, AALL, AHT, NCONF };
    const char *const *envs[NCONF] = {NULL, e99, e999, egp, NULL, emem, eall, NULL};
    const char *const *prefixes[NCONF] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, heaptrack};
    const char *modes[NCONF] = {"cpu", "cpu", "cpu", "cpu", "alloc", "alloc", "alloc", "alloc"};
    const char *ns[NCONF] = {CPU_ROUNDS, CPU_ROUNDS, CPU_ROUNDS, CPU_ROUNDS,
                             pairs,      pairs,      pairs,      pairs};
    result best[NCONF];
    memset(best, 0, sizeof best);
    int failed[NCONF] = {0};
    for (int rep = 0; rep < REPS; rep++) {
        for (int c = 0; c < NCONF; c++) {
            if (failed[c])
                continue;
            result r = run_once(envs[c], prefixes[c], modes[c], ns[c]);
            clean_dir();
            if (!r.ok) {
                failed[c] = 1;
                best[c].ok = 0;
                continue;
            }
            if (!best[c].ok || r.cpu_s < best[c].cpu_s)
                best[c].cpu_s = r.cpu_s;
            if (!best[c].ok || r.loop_ns < best[c].loop_ns)
                best[c].loop_ns = r.loop_ns;
            best[c].ok = 1;
        }
    }
    result base = best[BASE], r99 = best[R99], r999 = best[R999], gp = best[GP];
    result abase = best[ABASE], amem = best[AMEM], aall = best[AALL], aht = best[AHT];
    rmdir(tmpdir);

    printf("floor_cpu_workload_s: %.3f\n", base.cpu_s);
    printf("overhead_99hz_pct: %.2f\n", pct(r99, base));
    printf("overhead_999hz_pct: %.2f\n", pct(r999, base));
    printf("gperftools_999hz_pct: %.2f\n", gp.ok ? pct(gp, base) : -1);
    printf("floor_alloc_pair_ns: %.1f\n", abase.loop_ns / (double)ALLOC_PAIRS);
    printf("mem_sampled_overhead_pct: %.2f\n",
           amem.ok ? 100.0 * (amem.loop_ns - abase.loop_ns) / abase.loop_ns : -1);
    printf("mem_all_pair_ns: %.1f\n",
           aall.ok ? (aall.loop_ns - abase.loop_ns) / (double)ALLOC_PAIRS : -1);
    printf("heaptrack_pair_ns: %.1f\n",
           aht.ok ? (aht.loop_ns - abase.loop_ns) / (double)ALLOC_PAIRS : -1);
    return base.ok && r99.ok && r999.ok && abase.ok && amem.ok && aall.ok ? 0 : 1;
}
