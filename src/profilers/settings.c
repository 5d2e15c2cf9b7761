/*
 * settings.c - Records what a profiling run was run with (workload, knobs,
 * profile sizes, machine) into the report, so two reports can be checked for
 * comparability. Reads /proc/cpuinfo and uname; runs no stage of the workload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <postprof/file.h>
#include <postprof/sysstats.h>

#include "profilers/settings.h"

int pp__cpuinfo_model(const char *text, size_t len, char *out, size_t cap)
{
    static const char key[] = "model name";
    out[0] = '\0';
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) > sizeof key - 1 && memcmp(p, key, sizeof key - 1) == 0) {
            const char *c = memchr(p, ':', (size_t)(le - p));
            if (c) {
                const char *s = c + 1, *e = le;
                while (s < e && (*s == ' ' || *s == '\t'))
                    s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                    e--;
                size_t n = (size_t)(e - s) < cap - 1 ? (size_t)(e - s) : cap - 1;
                for (size_t i = 0; i < n; i++) /* keep the text printable */
                    out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
                out[n] = '\0';
                return n ? 0 : -1;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return -1;
}

static void set(pp_report *r, const char *name, const char *value)
{
    if (pp_report_setting_set(r, name, value) != PP_OK) {
        /* full or too long: the comparison then sees it missing on both sides */
    }
}

static void setu(pp_report *r, const char *name, unsigned long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%llu", v);
    set(r, name, b);
}

static void setd(pp_report *r, const char *name, double v)
{
    char b[32];
    snprintf(b, sizeof b, "%g", v);
    set(r, name, b);
}

/* names[0..n) joined with ',' */
static void set_list(pp_report *r, const char *name, const char *const *names, size_t n)
{
    char b[PP_REPORT_TEXT_MAX] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof b; i++)
        len += (size_t)snprintf(b + len, sizeof b - len, "%s%s", i ? "," : "",
                                names[i] ? names[i] : "?");
    set(r, name, b);
}

static void machine(pp_report *r)
{
    char *text = NULL, err[64], model[PP_REPORT_TEXT_MAX];
    size_t len = 0;
    if (pp_file_read("/proc/cpuinfo", (size_t)16 << 20, &text, &len, err, sizeof err) == PP_OK &&
        pp__cpuinfo_model(text, len, model, sizeof model) == 0)
        set(r, "machine.cpu", model);
    free(text);
    struct utsname u;
    if (uname(&u) == 0)
        set(r, "machine.arch", u.machine);
    pp_sysstats_sample *s = calloc(1, sizeof *s);
    if (s && (pp_sysstats_read(NULL, NULL, s) == PP_OK || s->ncpus > 0)) {
        setu(r, "machine.cpus", s->ncpus);
        /* whole GiB: MemTotal moves by a few pages between boots */
        setu(r, "machine.memory_gib",
             (unsigned long long)((double)s->memory_total_bytes / (1024.0 * 1024 * 1024) + 0.5));
    }
    free(s);
}

void pp__prof_settings(const pp_workload *w, const pp_profiler_cfg *cfg, pp_report *r)
{
    set(r, "workload.name", w->name ? w->name : "workload");
    set_list(r, "workload.sources", w->source_names, w->n_sources);
    set_list(r, "workload.models", w->model_names, w->n_models);
    for (int k = 0; k < PP_KNOB_COUNT; k++) {
        int64_t v = 0;
        if (w->get_knob(w->ctx, (pp_knob)k, &v) != PP_OK)
            continue;
        char name[PP_REPORT_NAME_MAX], value[PP_REPORT_NAME_MAX];
        snprintf(name, sizeof name, "knob.%s", pp_knob_name((pp_knob)k));
        if (k == PP_KNOB_MODEL && v >= 0 && (size_t)v < w->n_models && w->model_names[v])
            snprintf(value, sizeof value, "%s", w->model_names[v]);
        else if (k == PP_KNOB_CACHE_BACKEND && v >= 0 && (size_t)v < w->n_cache_backends &&
                 w->cache_backend_names[v])
            snprintf(value, sizeof value, "%s", w->cache_backend_names[v]);
        else
            snprintf(value, sizeof value, "%lld", (long long)v);
        set(r, name, value);
    }
    setu(r, "profile.passes", cfg->passes);
    setu(r, "profile.experiments", cfg->experiments);
    setu(r, "profile.load_batch", cfg->load_batch);
    setu(r, "profile.load_batches", cfg->load_batches);
    setu(r, "profile.repeats", cfg->repeats);
    setu(r, "profile.sweep_max", cfg->sweep_max);
    setu(r, "profile.sweep_batches", cfg->sweep_batches);
    setu(r, "profile.sweep_patience", cfg->sweep_patience);
    setd(r, "profile.sweep_min_gain", cfg->sweep_min_gain);
    setd(r, "profile.latency_target_ms", cfg->latency_target_ms);
    machine(r);
}
