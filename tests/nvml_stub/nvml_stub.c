/*
 * nvml_stub.c - A stand-in libnvidia-ml.so.1 for the GPU tests: the real
 * NVML entry points, signatures and return codes, with canned devices.
 * PP_NVML_STUB (read on every call) picks the behaviour: "ok" (default),
 * "init_fail", "no_devices", "count_fail", "handle_fail", "procs_insufficient".
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

struct nvmlDevice_st {
    unsigned index;
};
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlUtilization_st {
    unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct nvmlMemory_st {
    unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct nvmlProcessInfo_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

#define EXPORT __attribute__((visibility("default")))

/* the functions below are the library's interface: declared here for -Wmissing-prototypes */
EXPORT nvmlReturn_t nvmlInit_v2(void);
EXPORT nvmlReturn_t nvmlShutdown(void);
EXPORT const char *nvmlErrorString(nvmlReturn_t result);
EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount);
EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                  nvmlUtilization_t *utilization);
EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory);
EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType,
                                             unsigned int *temp);
EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power);
EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                            unsigned int *infoCount,
                                                            nvmlProcessInfo_t *infos);
EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);

static struct nvmlDevice_st devices[2] = {{0}, {1}};
static int initialized;

static int mode(const char *m)
{
    const char *v = getenv("PP_NVML_STUB");
    return v && strcmp(v, m) == 0;
}

nvmlReturn_t nvmlInit_v2(void)
{
    if (mode("init_fail"))
        return NVML_ERROR_DRIVER_NOT_LOADED;
    initialized++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
    if (!initialized)
        return NVML_ERROR_UNINITIALIZED;
    initialized--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS:
        return "Success";
    case NVML_ERROR_UNINITIALIZED:
        return "Uninitialized";
    case NVML_ERROR_NOT_SUPPORTED:
        return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
        return "Insufficient Permissions";
    case NVML_ERROR_INSUFFICIENT_SIZE:
        return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    default:
        return "Unknown Error";
    }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    if (!initialized)
        return NVML_ERROR_UNINITIALIZED;
    if (!deviceCount)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (mode("count_fail"))
        return NVML_ERROR_UNKNOWN;
    *deviceCount = mode("no_devices") ? 0 : 2;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (!initialized)
        return NVML_ERROR_UNINITIALIZED;
    if (index >= 2 || !device)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (mode("handle_fail") && index == 0)
        return NVML_ERROR_NO_PERMISSION;
    *device = &devices[index];
    return NVML_SUCCESS;
}

static int valid(nvmlDevice_t d)
{
    return d == &devices[0] || d == &devices[1];
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    const char *n = device == &devices[0] ? "Stub GPU A100" : "Stub GPU T4";
    if (!initialized)
        return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !name)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (length < strlen(n) + 1)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(name, n);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    if (!valid(device) || !utilization)
        return NVML_ERROR_INVALID_ARGUMENT;
    utilization->gpu = device->index == 0 ? 87 : 3;
    utilization->memory = device->index == 0 ? 41 : 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    if (!valid(device) || !memory)
        return NVML_ERROR_INVALID_ARGUMENT;
    memory->total = 40ull << 30;
    memory->used = device->index == 0 ? (12ull << 30) : (1ull << 20);
    memory->free = memory->total - memory->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp)
{
    if (!valid(device) || !temp || sensorType != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (device->index == 1)
        return NVML_ERROR_NOT_SUPPORTED;
    *temp = 64;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    if (!valid(device) || !power)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (device->index == 1)
        return NVML_ERROR_NOT_SUPPORTED;
    *power = 251500; /* milliwatts */
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                     nvmlProcessInfo_t *infos)
{
    if (!valid(device) || !infoCount)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned n = device->index == 0 ? 2 : 0;
    if (mode("procs_insufficient"))
        n = 100;
    if (*infoCount < n) {
        *infoCount = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    *infoCount = n;
    if (n && !infos)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned i = 0; i < n; i++) {
        infos[i].pid = i == 0 ? (unsigned)getpid() : 1;
        infos[i].usedGpuMemory = i == 0 ? 123456789ull : (unsigned long long)-1;
        infos[i].gpuInstanceId = infos[i].computeInstanceId = 0xffffffffu;
    }
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    if (!version || length < 10)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(version, "535.00.01");
    return NVML_SUCCESS;
}
