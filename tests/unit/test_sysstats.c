/*
 * test_sysstats.c - /proc parsers on fixed texts (including malformed ones),
 * live reads checked against independent figures, and the collector thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "capture/procfs.h"
#include "pp_test.h"

static void test_parse_self_stat(void **state)
{
    (void)state;
    /* comm with spaces and a ')' inside; negative priority/nice fields */
    const char *t = "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 500 0 7 0 250 75 0 0 -20 "
                    "-5 3 0 987654 123456789 4321 18446744073709551615\n";
    pp__proc_self_stat s = {0};
    assert_int_equal(pp__procfs_self_stat(t, &s), 0);
    assert_int_equal(s.minflt, 500);
    assert_int_equal(s.majflt, 7);
    assert_int_equal(s.utime_ticks, 250);
    assert_int_equal(s.stime_ticks, 75);
    assert_int_equal(s.num_threads, 3);
    assert_int_equal(s.starttime_ticks, 987654);
    assert_int_equal(s.vsize_bytes, 123456789);
    assert_int_equal(s.rss_pages, 4321);
    assert_int_equal(pp__procfs_self_stat("no paren", &s), -1);
    assert_int_equal(pp__procfs_self_stat("1 (x) S 1 2", &s), -1);
}

static void test_parse_stat_meminfo_misc(void **state)
{
    (void)state;
    pp__proc_stat st = {0};
    const char *t = "cpu  100 5 50 800 40 0 5 0 10 0\ncpu0 1 2 3 4\ncpu1 1 2 3 4\n"
                    "intr 1 2 3\nctxt 99999\nbtime 1700000000\n";
    assert_int_equal(pp__procfs_stat(t, &st), 0);
    assert_int_equal(st.total_ticks, 1000);
    assert_int_equal(st.busy_ticks, 160);
    assert_int_equal(st.ncpus, 2);
    assert_int_equal(st.ctxt, 99999);
    assert_int_equal(st.btime, 1700000000);
    assert_int_equal(pp__procfs_stat("garbage\n", &st), -1);

    uint64_t v = 0;
    const char *mi = "MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:  250 kB\n";
    assert_int_equal(pp__procfs_keyval(mi, "MemAvailable", &v), 0);
    assert_int_equal(v, 250 * 1024);
    assert_int_equal(pp__procfs_keyval(mi, "Mem", &v), -1);
    assert_int_equal(pp__procfs_keyval("read_bytes: 4096\n", "read_bytes", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(pp__procfs_keyval("read_bytes: x\n", "read_bytes", &v), -1);

    uint64_t rd, wr;
    const char *ds = "   8       0 sda 10 0 100 5 20 0 200 7 0 9 9\n"
                     "   8       1 sda1 10 0 100 5 20 0 200 7 0 9 9\n"
                     "   7       0 loop0 1 0 8 0 0 0 0 0 0 0 0\n"
                     " bad line\n";
    assert_int_equal(pp__procfs_diskstats(ds, NULL, &rd, &wr), 3);
    assert_int_equal(rd, (100 + 100 + 8) * 512);
    assert_int_equal(wr, 400 * 512);

    uint64_t rx, tx;
    const char *nd = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n"
                     "    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n"
                     "  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n"
                     "  eth1:30 1 0 0 0 0 0 0 40 1 0 0 0 0 0 0\n";
    assert_int_equal(pp__procfs_netdev(nd, &rx, &tx), 2);
    assert_int_equal(rx, 1030);
    assert_int_equal(tx, 2040);

    double a, b, c;
    assert_int_equal(pp__procfs_loadavg("0.50 1.25 2.00 1/85 123\n", &a, &b, &c), 0);
    assert_true(a == 0.5 && b == 1.25 && c == 2.0);
    assert_int_equal(pp__procfs_loadavg("x", &a, &b, &c), -1);
}

/* Live figures agree with what the process can check itself. */
static void test_read_live(void **state)
{
    (void)state;
    pp_sysstats_sample *s = calloc(1, sizeof *s), *s2 = calloc(1, sizeof *s2);
    assert_int_equal(pp_sysstats_read(NULL, NULL, s), PP_OK);
    long page = sysconf(_SC_PAGESIZE);
    assert_true(s->resident_bytes >= (uint64_t)page);
    assert_true(s->virtual_bytes >= s->resident_bytes);
    assert_true(s->open_fds >= 3);
    assert_true(s->max_fds >= s->open_fds);
    assert_true(s->threads >= 1);
    assert_true(s->memory_total_bytes > s->memory_available_bytes);
    assert_true(s->memory_used_percent > 0 && s->memory_used_percent < 100);
    assert_int_equal(s->ncpus, (unsigned)sysconf(_SC_NPROCESSORS_CONF));
    time_t now = time(NULL);
    assert_true(s->start_time_seconds > (double)now - 3600 && s->start_time_seconds <= now + 1);
    assert_int_equal(s->gpu.available, 0);
    assert_string_equal(s->gpu.reason, "GPU statistics not asked for");
    /* burn 0.25 s of CPU (not of wall time: the machine may be loaded), then
     * the delta says this process used it */
    volatile double x = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            x += i * 0.5;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 250000000L);
    s->samples = 1;
    assert_int_equal(pp_sysstats_read(s, NULL, s2), PP_OK);
    assert_true(s2->process_cpu_seconds >= s->process_cpu_seconds + 0.2);
    assert_true(s2->process_cpu_percent > 1.0);
    assert_true(s2->system_cpu_percent > 0.0 && s2->system_cpu_percent <= 100.0);
    free(s);
    free(s2);
}

static void test_collector(void **state)
{
    (void)state;
    pp_sysstats *c = (pp_sysstats *)1;
    pp_sysstats_config bad = {.interval_s = 0.001};
    assert_int_equal(pp_sysstats_start(&bad, &c), PP_EINVAL);
    assert_null(c);
    bad.interval_s = -1;
    assert_int_equal(pp_sysstats_start(&bad, &c), PP_EINVAL);
    assert_null(c);
    pp_sysstats_config cfg = {.interval_s = 0.02, .no_gpu = 1};
    assert_int_equal(pp_sysstats_start(&cfg, &c), PP_OK);
    pp_sysstats_sample *s = calloc(1, sizeof *s);
    pp_sysstats_latest(c, s);
    assert_true(s->samples >= 1);
    uint64_t first = s->samples;
    /* wait for the thread to take more samples (no deadline of the test's
     * own: on a loaded machine a hang is ctest's timeout to catch) */
    while (s->samples < first + 3) {
        usleep(10000);
        pp_sysstats_latest(c, s);
    }
    assert_true(s->samples >= first + 3);
    assert_true(s->resident_bytes > 0);
    pp_sysstats_stop(c);
    pp_sysstats_stop(NULL);
    free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_self_stat),
    cmocka_unit_test(test_parse_stat_meminfo_misc),
    cmocka_unit_test(test_read_live),
    cmocka_unit_test(test_collector),
};

PP_TEST_MAIN(tests)
