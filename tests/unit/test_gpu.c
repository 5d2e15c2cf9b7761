/*
 * test_gpu.c - GPU stats through the stub libnvidia-ml.so.1 the tests build
 * (found through LD_LIBRARY_PATH, set by ctest): every figure read back,
 * and each NVML failure turned into "unavailable" with its reason.
 * test_gpu_real runs without the stub: a real NVML when the machine has
 * one (figures checked for sanity), else "unavailable", never an error.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <postprof/postprof.h>

#include "export/serve/serve.h"
#include "pp_test.h"

static pp_gpu_stats *read_with(const char *mode)
{
    setenv("PP_NVML_STUB", mode, 1);
    pp_gpu *g = NULL;
    assert_int_equal(pp_gpu_open(&g), PP_OK);
    assert_non_null(g);
    pp_gpu_stats *s = calloc(1, sizeof *s);
    pp_gpu_read(g, s);
    pp_gpu_close(g);
    return s;
}

static void test_gpu_stub_ok(void **state)
{
    (void)state;
    pp_gpu_stats *s = read_with("ok");
    assert_int_equal(s->available, 1);
    assert_string_equal(s->driver, "535.00.01");
    assert_int_equal(s->ndevices, 2);
    const pp_gpu_device *a = &s->devices[0], *b = &s->devices[1];
    assert_string_equal(a->name, "Stub GPU A100");
    assert_true(a->have_utilization && a->utilization_percent == 87);
    assert_true(a->memory_utilization_percent == 41);
    assert_true(a->have_memory && a->memory_used_bytes == (12ull << 30));
    assert_true(a->memory_total_bytes == (40ull << 30));
    assert_true(a->have_temperature && a->temperature_celsius == 64);
    assert_true(a->have_power && a->power_watts == 251.5);
    assert_true(a->have_processes);
    assert_int_equal(a->nprocesses, 2);
    assert_int_equal(a->processes[0].pid, (uint32_t)getpid());
    assert_int_equal(a->self_memory_bytes, 123456789);
    assert_int_equal(a->processes[1].used_bytes, UINT64_MAX); /* NVML_VALUE_NOT_AVAILABLE */
    /* device 1 answers NOT_SUPPORTED for temperature and power */
    assert_string_equal(b->name, "Stub GPU T4");
    assert_int_equal(b->have_temperature, 0);
    assert_int_equal(b->have_power, 0);
    assert_true(b->have_utilization && b->utilization_percent == 3);
    assert_int_equal(b->nprocesses, 0);
    free(s);
}

static void test_gpu_stub_errors(void **state)
{
    (void)state;
    pp_gpu_stats *s = read_with("init_fail");
    assert_int_equal(s->available, 0);
    assert_string_equal(s->reason, "nvmlInit failed: Driver Not Loaded (9)");
    free(s);
    s = read_with("no_devices");
    assert_int_equal(s->available, 0);
    assert_string_equal(s->reason, "no GPU found");
    free(s);
    s = read_with("count_fail");
    assert_int_equal(s->available, 0);
    assert_string_equal(s->reason, "nvmlDeviceGetCount failed: Unknown Error (999)");
    free(s);
    s = read_with("handle_fail"); /* device 0 refused: device 1 still read */
    assert_int_equal(s->available, 1);
    assert_int_equal(s->ndevices, 1);
    assert_int_equal(s->devices[0].index, 1);
    free(s);
    s = read_with("procs_insufficient");
    assert_int_equal(s->available, 1);
    assert_int_equal(s->devices[0].nprocesses, 0);
    assert_int_equal(s->devices[0].self_memory_bytes, 0);
    free(s);
    pp_gpu_read(NULL, s = calloc(1, sizeof *s));
    assert_int_equal(s->available, 0);
    free(s);
    pp_gpu_close(NULL);
}

/* The collector, the metrics and /api/snapshot carry the GPU figures. */
static void test_gpu_stub_metrics(void **state)
{
    (void)state;
    setenv("PP_NVML_STUB", "ok", 1);
    pp_registry *r = NULL;
    assert_int_equal(pp_registry_new(NULL, &r), PP_OK);
    assert_int_equal(pp_metrics_register_standard(r), PP_OK);
    pp_sysstats *c = NULL;
    pp_sysstats_config cfg = {.interval_s = 10};
    assert_int_equal(pp_sysstats_start(&cfg, &c), PP_OK);
    assert_int_equal(pp_metrics_attach_sysstats(r, c), PP_OK);
    char *text = NULL;
    size_t n;
    assert_int_equal(pp_registry_render(r, PP_EXPO_TEXT, &text, &n), PP_OK);
    const char *want[] = {"gpu_usage_percent{gpu=\"0\"} 87\n",
                          "gpu_usage_percent{gpu=\"1\"} 3\n",
                          "postprof_gpu_available 1\n",
                          "postprof_gpu_memory_used_bytes{gpu=\"0\"} 12884901888\n",
                          "postprof_gpu_power_watts{gpu=\"0\"} 251.5\n",
                          "postprof_gpu_temperature_celsius{gpu=\"0\"} 64\n",
                          "postprof_gpu_process_memory_bytes{gpu=\"0\"} 123456789\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing %s", want[i]);
    assert_null(strstr(text, "postprof_gpu_power_watts{gpu=\"1\"}"));
    free(text);
    assert_int_equal(pp_metrics_attach_sysstats(r, NULL), PP_OK);
    pp_sysstats_stop(c);
    pp_registry_free(r);
}

/* The /api/snapshot document carries every device, only the figures it has. */
static void test_gpu_stub_snapshot_json(void **state)
{
    (void)state;
    setenv("PP_NVML_STUB", "ok", 1);
    pp_gpu *g = NULL;
    assert_int_equal(pp_gpu_open(&g), PP_OK);
    pp_sysstats_sample *st = calloc(1, sizeof *st);
    assert_int_equal(pp_sysstats_read(NULL, g, st), PP_OK);
    pp_gpu_close(g);
    char *text = NULL;
    size_t n = 0;
    assert_int_equal(pp__snapshot_json(NULL, st, &text, &n), PP_OK);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    assert_non_null(doc);
    json_t *gpu = json_object_get(doc, "gpu");
    assert_true(json_is_true(json_object_get(gpu, "available")));
    assert_null(json_object_get(gpu, "reason"));
    json_t *devs = json_object_get(gpu, "devices");
    assert_int_equal(json_array_size(devs), 2);
    json_t *d0 = json_array_get(devs, 0), *d1 = json_array_get(devs, 1);
    assert_string_equal(json_string_value(json_object_get(d0, "name")), "Stub GPU A100");
    assert_true(json_real_value(json_object_get(d0, "power_watts")) == 251.5);
    assert_null(json_object_get(d1, "power_watts"));
    assert_null(json_object_get(d1, "temperature_celsius"));
    json_t *p0 = json_array_get(json_object_get(d0, "processes"), 0);
    assert_int_equal(json_integer_value(json_object_get(p0, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(p0, "used_bytes")), 123456789);
    json_t *p1 = json_array_get(json_object_get(d0, "processes"), 1);
    assert_int_equal(json_integer_value(json_object_get(p1, "used_bytes")), -1);
    assert_true(json_is_object(json_object_get(doc, "system")));
    json_decref(doc);
    free(text);
    free(st);
}

static void test_gpu_real(void **state)
{
    (void)state;
    pp_gpu *g = NULL;
    assert_int_equal(pp_gpu_open(&g), PP_OK);
    pp_gpu_stats *s = calloc(1, sizeof *s);
    pp_gpu_read(g, s);
    if (s->available) {
        assert_true(s->ndevices >= 1);
        for (unsigned i = 0; i < s->ndevices; i++) {
            const pp_gpu_device *d = &s->devices[i];
            assert_true(d->name[0] != '\0');
            if (d->have_memory)
                assert_true(d->memory_total_bytes >= d->memory_used_bytes &&
                            d->memory_total_bytes > (1ull << 28));
            if (d->have_utilization)
                assert_true(d->utilization_percent >= 0 && d->utilization_percent <= 100);
            if (d->have_temperature)
                assert_true(d->temperature_celsius > 0 && d->temperature_celsius < 120);
            print_message("GPU %u: %s util=%.0f%% mem=%llu/%llu temp=%.0fC power=%.1fW\n", d->index,
                          d->name, d->utilization_percent, (unsigned long long)d->memory_used_bytes,
                          (unsigned long long)d->memory_total_bytes, d->temperature_celsius,
                          d->power_watts);
        }
    } else {
        assert_true(s->reason[0] != '\0');
        print_message("GPU unavailable: %s\n", s->reason);
    }
    free(s);
    pp_gpu_close(g);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gpu_stub_ok),      cmocka_unit_test(test_gpu_stub_errors),
    cmocka_unit_test(test_gpu_stub_metrics), cmocka_unit_test(test_gpu_stub_snapshot_json),
    cmocka_unit_test(test_gpu_real),
};

PP_TEST_MAIN(tests)
