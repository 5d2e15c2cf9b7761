/*
 * postprof/sysstats.h - System and GPU statistics: this process, the machine, its GPUs.
 *
 * Process and system figures come from /proc (Linux); GPU figures from
 * NVML, loaded at run time with dlopen("libnvidia-ml.so.1"). No NVML, no
 * GPU, or an NVML error only makes the GPU section say "unavailable" (with
 * the reason); it is never an error. A collector thread samples every
 * interval and keeps the latest sample for readers.
 */
#ifndef POSTPROF_SYSSTATS_H
#define POSTPROF_SYSSTATS_H

#include <stdint.h>
#include <postprof/export.h>

#define PP_GPU_MAX_DEVICES 16
#define PP_GPU_MAX_PROCESSES 32

typedef struct pp_gpu_process {
    uint32_t pid;
    uint64_t used_bytes; /* UINT64_MAX when NVML does not know */
} pp_gpu_process;

typedef struct pp_gpu_device {
    unsigned index;
    char name[96];
    /* each figure is valid only when its have_ flag is 1 (NVML may not support it) */
    int have_utilization, have_memory, have_temperature, have_power, have_processes;
    double utilization_percent;        /* GPU busy time over NVML's last sample period */
    double memory_utilization_percent; /* memory controller busy time */
    uint64_t memory_used_bytes, memory_total_bytes;
    double temperature_celsius;
    double power_watts;
    uint64_t self_memory_bytes; /* this process's GPU memory (0 when not listed) */
    unsigned nprocesses;        /* compute processes listed (at most PP_GPU_MAX_PROCESSES) */
    pp_gpu_process processes[PP_GPU_MAX_PROCESSES];
} pp_gpu_device;

typedef struct pp_gpu_stats {
    int available;    /* 1 when NVML answered; 0: see reason */
    char reason[128]; /* why unavailable ("libnvidia-ml.so.1 not found", ...) */
    char driver[64];  /* driver version when known */
    unsigned ndevices;
    pp_gpu_device devices[PP_GPU_MAX_DEVICES];
} pp_gpu_stats;

typedef struct pp_sysstats_sample {
    uint64_t taken_at_ns; /* CLOCK_MONOTONIC */
    uint64_t samples;     /* samples taken by the collector (0 for one-off reads) */
    /* this process */
    double process_cpu_percent; /* since the previous sample; 100 = one core busy */
    double process_cpu_seconds; /* user + system */
    uint64_t resident_bytes, virtual_bytes;
    uint64_t peak_resident_bytes; /* VmHWM: the highest RSS so far (0 when unknown) */
    uint64_t open_fds, max_fds;
    double start_time_seconds;              /* Unix time */
    uint64_t io_read_bytes, io_write_bytes; /* /proc/self/io (storage layer) */
    uint64_t ctx_voluntary, ctx_involuntary;
    uint64_t minor_faults, major_faults;
    uint64_t threads;
    /* the system */
    unsigned ncpus;
    double system_cpu_percent; /* all CPUs busy = 100 */
    uint64_t memory_total_bytes, memory_available_bytes;
    double memory_used_percent;                     /* (total - available) / total */
    uint64_t disk_read_bytes, disk_written_bytes;   /* whole disks, /proc/diskstats */
    uint64_t net_receive_bytes, net_transmit_bytes; /* all interfaces but lo */
    double load1, load5, load15;
    uint64_t context_switches;                /* since boot */
    uint64_t cpu_busy_ticks, cpu_total_ticks; /* all CPUs since boot (for the next delta) */
    pp_gpu_stats gpu;
} pp_sysstats_sample;

/*
 * pp_sysstats_read() - Read every figure now. prev (may be NULL) is the
 * previous sample, for the CPU percentages; without it they are averages
 * since the process started (process) and since boot (system). The GPU is
 * read through gpu (NULL: reported unavailable, "not asked").
 * Returns PP_OK, or PP_EIO when /proc/self/stat cannot be read (*out then
 * holds whatever could be read). Files other than /proc/self/stat that are
 * missing leave their figures at 0. Thread-safe.
 */
typedef struct pp_gpu pp_gpu;
PP_EXPORT PP_NODISCARD int pp_sysstats_read(const pp_sysstats_sample *prev, pp_gpu *gpu,
                                            pp_sysstats_sample *out);

/*
 * pp_gpu_open() - Load NVML if present. Returns PP_OK and *out even when no
 * NVML or GPU is there (pp_gpu_read then reports unavailable); PP_ENOMEM or
 * PP_EINVAL otherwise, with *out NULL. Free with pp_gpu_close().
 */
PP_EXPORT PP_NODISCARD int pp_gpu_open(pp_gpu **out);

/* pp_gpu_close() - Shut NVML down and unload it. NULL is a no-op. */
PP_EXPORT void pp_gpu_close(pp_gpu *g);

/*
 * pp_gpu_read() - Fill *out with every device's figures, or available = 0
 * and the reason. Never fails. Serialized on g (callers may share it).
 */
PP_EXPORT void pp_gpu_read(pp_gpu *g, pp_gpu_stats *out);

typedef struct pp_sysstats pp_sysstats;

typedef struct pp_sysstats_config {
    double interval_s; /* seconds, 0.01 .. 86400; 0 = 1.0 */
    int no_gpu;        /* 1: do not load NVML */
} pp_sysstats_config;

/*
 * pp_sysstats_start() - Take a first sample, then start a collector thread
 * sampling every interval. Returns PP_OK and *out; PP_EINVAL for a bad
 * interval; PP_ENOMEM or PP_EIO (thread creation failed), with *out NULL.
 */
PP_EXPORT PP_NODISCARD int pp_sysstats_start(const pp_sysstats_config *cfg, pp_sysstats **out);

/* pp_sysstats_latest() - Copy the latest sample into *out. Thread-safe. */
PP_EXPORT void pp_sysstats_latest(pp_sysstats *c, pp_sysstats_sample *out);

/* pp_sysstats_stop() - Stop the thread (waits at most one wake-up) and free. NULL is a no-op. */
PP_EXPORT void pp_sysstats_stop(pp_sysstats *c);

#endif
