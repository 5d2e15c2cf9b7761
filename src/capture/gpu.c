/*
 * gpu.c - GPU statistics through NVML, loaded at run time with
 * dlopen("libnvidia-ml.so.1"). Absent library, absent symbols, no device or
 * any NVML error only make the figures unavailable: never an error, never a
 * crash. The NVML types below mirror nvml.h (same layout and codes).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/error.h>
#include <postprof/sysstats.h>

/* ---- nvml.h subset -------------------------------------------------- */
typedef int nvmlReturn_t; /* NVML_SUCCESS = 0 */
#define NVML_SUCCESS 0
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_TEMPERATURE_GPU 0
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t; /* _v2 and _v3 entry points */

struct nvml_api {
    nvmlReturn_t (*init)(void);
    nvmlReturn_t (*shutdown)(void);
    const char *(*error_string)(nvmlReturn_t);
    nvmlReturn_t (*count)(unsigned int *);
    nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
    nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
    nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *);
    nvmlReturn_t (*mem)(nvmlDevice_t, nvmlMemory_t *);
    nvmlReturn_t (*temp)(nvmlDevice_t, int, unsigned int *);
    nvmlReturn_t (*power)(nvmlDevice_t, unsigned int *);
    nvmlReturn_t (*procs)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
    nvmlReturn_t (*driver)(char *, unsigned int);
};

struct pp_gpu {
    pthread_mutex_t lock;
    void *lib;
    int ready; /* nvmlInit succeeded */
    char reason[128];
    struct nvml_api api;
};

static void *sym(void *lib, const char *const *names)
{
    for (; *names; names++) {
        void *p = dlsym(lib, *names);
        if (p)
            return p;
    }
    return NULL;
}

/* Assign a dlsym'd address to a function pointer field (memcpy: no cast
 * between object and function pointers). */
#define LOAD(field, ...)                                                                           \
    do {                                                                                           \
        void *p_ = sym(g->lib, (const char *const[]){__VA_ARGS__, NULL});                          \
        memcpy(&a->field, &p_, sizeof p_);                                                         \
    } while (0)

static const char *nvml_err(const struct pp_gpu *g, nvmlReturn_t rc)
{
    const char *s = g->api.error_string ? g->api.error_string(rc) : NULL;
    return s ? s : "unknown NVML error";
}

int pp_gpu_open(pp_gpu **out)
{
    if (!out)
        return PP_EINVAL;
    *out = NULL;
    pp_gpu *g = calloc(1, sizeof *g);
    if (!g)
        return PP_ENOMEM;
    pthread_mutex_init(&g->lock, NULL);
    g->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!g->lib) {
        snprintf(g->reason, sizeof g->reason, "libnvidia-ml.so.1 not found");
        goto done;
    }
    struct nvml_api *a = &g->api;
    LOAD(init, "nvmlInit_v2", "nvmlInit");
    LOAD(shutdown, "nvmlShutdown");
    LOAD(error_string, "nvmlErrorString");
    LOAD(count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    LOAD(handle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
    LOAD(name, "nvmlDeviceGetName");
    LOAD(util, "nvmlDeviceGetUtilizationRates");
    LOAD(mem, "nvmlDeviceGetMemoryInfo");
    LOAD(temp, "nvmlDeviceGetTemperature");
    LOAD(power, "nvmlDeviceGetPowerUsage");
    LOAD(procs, "nvmlDeviceGetComputeRunningProcesses_v3",
         "nvmlDeviceGetComputeRunningProcesses_v2");
    LOAD(driver, "nvmlSystemGetDriverVersion");
    if (!a->init || !a->shutdown || !a->count || !a->handle) {
        snprintf(g->reason, sizeof g->reason,
                 "libnvidia-ml.so.1 lacks nvmlInit/nvmlDeviceGetCount");
        goto done;
    }
    nvmlReturn_t rc = a->init();
    if (rc != NVML_SUCCESS) {
        snprintf(g->reason, sizeof g->reason, "nvmlInit failed: %s (%d)", nvml_err(g, rc), rc);
        goto done;
    }
    g->ready = 1;
done:
    *out = g;
    return PP_OK;
}

void pp_gpu_close(pp_gpu *g)
{
    if (!g)
        return;
    if (g->ready && g->api.shutdown)
        g->api.shutdown();
    if (g->lib)
        dlclose(g->lib);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static void read_device(pp_gpu *g, unsigned i, nvmlDevice_t dev, pp_gpu_device *d)
{
    const struct nvml_api *a = &g->api;
    memset(d, 0, sizeof *d);
    d->index = i;
    if (!a->name || a->name(dev, d->name, sizeof d->name) != NVML_SUCCESS)
        snprintf(d->name, sizeof d->name, "GPU %u", i);
    d->name[sizeof d->name - 1] = '\0';
    nvmlUtilization_t u;
    if (a->util && a->util(dev, &u) == NVML_SUCCESS) {
        d->have_utilization = 1;
        d->utilization_percent = u.gpu;
        d->memory_utilization_percent = u.memory;
    }
    nvmlMemory_t m;
    if (a->mem && a->mem(dev, &m) == NVML_SUCCESS) {
        d->have_memory = 1;
        d->memory_used_bytes = m.used;
        d->memory_total_bytes = m.total;
    }
    unsigned t;
    if (a->temp && a->temp(dev, NVML_TEMPERATURE_GPU, &t) == NVML_SUCCESS) {
        d->have_temperature = 1;
        d->temperature_celsius = t;
    }
    unsigned mw;
    if (a->power && a->power(dev, &mw) == NVML_SUCCESS) {
        d->have_power = 1;
        d->power_watts = mw / 1000.0;
    }
    if (a->procs) {
        nvmlProcessInfo_t info[PP_GPU_MAX_PROCESSES];
        unsigned n = PP_GPU_MAX_PROCESSES;
        nvmlReturn_t rc = a->procs(dev, &n, info);
        if (rc == NVML_SUCCESS || rc == NVML_ERROR_INSUFFICIENT_SIZE) {
            /* INSUFFICIENT_SIZE: n says how many there are; we keep none
             * rather than trust a partly filled array */
            d->have_processes = 1;
            unsigned kept = rc == NVML_SUCCESS && n <= PP_GPU_MAX_PROCESSES ? n : 0;
            unsigned self = (unsigned)getpid();
            for (unsigned k = 0; k < kept; k++) {
                d->processes[k].pid = info[k].pid;
                /* NVML_VALUE_NOT_AVAILABLE is (unsigned long long)-1 */
                d->processes[k].used_bytes = info[k].usedGpuMemory;
                if (info[k].pid == self && info[k].usedGpuMemory != (unsigned long long)-1)
                    d->self_memory_bytes += info[k].usedGpuMemory;
            }
            d->nprocesses = kept;
        }
    }
}

void pp_gpu_read(pp_gpu *g, pp_gpu_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!g) {
        snprintf(out->reason, sizeof out->reason, "GPU statistics not asked for");
        return;
    }
    pthread_mutex_lock(&g->lock);
    if (!g->ready) {
        snprintf(out->reason, sizeof out->reason, "%s", g->reason);
        goto out;
    }
    unsigned n = 0;
    nvmlReturn_t rc = g->api.count(&n);
    if (rc != NVML_SUCCESS) {
        snprintf(out->reason, sizeof out->reason, "nvmlDeviceGetCount failed: %s (%d)",
                 nvml_err(g, rc), rc);
        goto out;
    }
    if (n == 0) {
        snprintf(out->reason, sizeof out->reason, "no GPU found");
        goto out;
    }
    if (g->api.driver && g->api.driver(out->driver, sizeof out->driver) != NVML_SUCCESS)
        out->driver[0] = '\0';
    out->driver[sizeof out->driver - 1] = '\0';
    for (unsigned i = 0; i < n && out->ndevices < PP_GPU_MAX_DEVICES; i++) {
        nvmlDevice_t dev = NULL;
        if (g->api.handle(i, &dev) != NVML_SUCCESS)
            continue; /* e.g. NVML_ERROR_NO_PERMISSION on this device: skip it */
        read_device(g, i, dev, &out->devices[out->ndevices++]);
    }
    if (out->ndevices == 0) {
        snprintf(out->reason, sizeof out->reason, "no GPU could be opened");
        goto out;
    }
    out->available = 1;
out:
    pthread_mutex_unlock(&g->lock);
}
