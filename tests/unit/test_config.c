/*
 * test_config.c - INI configuration: the design's defaults, overrides, and
 * errors that name the key and the line (unknown key, unknown section, not a
 * number, out of range, syntax), from text and from a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/config.h>
#include <postprof/error.h>

#include "near.h"

static void test_defaults_are_the_designs(void **state)
{
    (void)state;
    pp_config c;
    pp_config_defaults(&c);
    assert_double_equal(c.thresholds.slow_s, 1.0, 0);
    assert_double_equal(c.thresholds.moderate_s, 0.5, 0);
    assert_double_equal(c.thresholds.mem_high_mb, 100, 0);
    assert_double_equal(c.thresholds.mem_moderate_mb, 50, 0);
    assert_double_equal(c.thresholds.cpu_high_percent, 80, 0);
    assert_double_equal(c.targets.data_loading_ms, 100, 0);
    assert_double_equal(c.targets.inference_ms, 200, 0);
    assert_double_equal(c.targets.cache_hit_ratio, 0.8, 0);
    assert_double_equal(c.targets.memory_gb, 2, 0);
    assert_double_equal(c.targets.cpu_percent, 70, 0);
    assert_int_equal(c.profile.load_batch, 32);
    assert_int_equal(c.profile.sweep_max, 256);
}

static void test_overrides(void **state)
{
    (void)state;
    pp_config c;
    pp_config_defaults(&c);
    char err[256];
    const char *ini = "; thresholds\n[thresholds]\nslow_s = 2.5\nshare=0.3\n\n[targets]\n"
                      "inference_ms = 150\n[profile]\nload_batch = 64\nshards_rate = 0.05\n";
    assert_int_equal(pp_config_parse_string(&c, ini, err, sizeof err, NULL), PP_OK);
    assert_double_equal(c.thresholds.slow_s, 2.5, 0);
    assert_double_equal(c.thresholds.share, 0.3, 0);
    assert_double_equal(c.thresholds.moderate_s, 0.5, 0); /* untouched */
    assert_double_equal(c.targets.inference_ms, 150, 0);
    assert_int_equal(c.profile.load_batch, 64);
    assert_double_equal(c.profile.shards_rate, 0.05, 0);
}

static void expect_error(const char *ini, int want_line, const char *want_text)
{
    pp_config c;
    pp_config_defaults(&c);
    char err[256];
    int line = -1;
    assert_int_equal(pp_config_parse_string(&c, ini, err, sizeof err, &line), PP_EFORMAT);
    assert_int_equal(line, want_line);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "line %d: ", want_line);
    assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
    if (!strstr(err, want_text))
        print_error("error was: %s\n", err);
    assert_non_null(strstr(err, want_text));
}

static void test_unknown_key_names_key_and_line(void **state)
{
    (void)state;
    expect_error("[thresholds]\nslow_s = 1\nslowness = 3\nshare = 0.5\n", 3,
                 "unknown key 'slowness' in [thresholds]");
}

static void test_unknown_section(void **state)
{
    (void)state;
    expect_error("[targets]\ncpu_percent=50\n[extra]\nfoo = 1\n", 4,
                 "unknown key 'foo' in unknown section [extra]");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error("[thresholds]\nshare = lots\n", 2, "'lots' is not a number");
    expect_error("[thresholds]\nshare = 1.5\n", 2, "out of range");
    expect_error("[profile]\nrepeats = 2.5\n", 2, "an integer");
    expect_error("[profile]\nrepeats = 1e999\n", 2, "not a number");
    expect_error("[profile]\n\nthis is not ini\n", 3, "syntax error");
}

static void test_file_errors_name_the_path(void **state)
{
    (void)state;
    pp_config c;
    pp_config_defaults(&c);
    char err[512];
    int line = -1;
    assert_int_equal(pp_config_load(&c, "/nonexistent/pp.ini", err, sizeof err, &line),
                     PP_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/pp.ini"));
    char path[] = "/tmp/pp_config_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "[targets]\nmemory_gb = 4\n[thresholds]\ncpu_high = 90\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    assert_int_equal(pp_config_load(&c, path, err, sizeof err, &line), PP_EFORMAT);
    assert_int_equal(line, 4);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 4: unknown key 'cpu_high'"));
    assert_double_equal(c.targets.memory_gb, 4, 0); /* lines before the error applied */
    unlink(path);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults_are_the_designs),
    cmocka_unit_test(test_overrides),
    cmocka_unit_test(test_unknown_key_names_key_and_line),
    cmocka_unit_test(test_unknown_section),
    cmocka_unit_test(test_bad_values),
    cmocka_unit_test(test_file_errors_name_the_path),
};
PP_TEST_MAIN(tests)
