/*
 * postprof/record.h - Sampling a process that is already running, from
 * outside and without touching it (`postprof record -p PID`).
 *
 * One perf_event_open task-clock event per thread of the target samples every
 * 1/hz s of that thread's CPU time; the kernel walks the user stack by frame
 * pointers into a ring buffer per thread, drained every 50 ms. Threads the
 * target starts later are found by rescanning /proc/PID/task; threads that
 * exit are drained and closed. At the end the stacks are written as the raw
 * profile the preload library writes (postprof/raw_format.h), so
 * pp_profile_load_raw() and every output format read both alike.
 */
#ifndef POSTPROF_RECORD_H
#define POSTPROF_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>

typedef struct pp_record_attach_opts {
    long pid;              /* the process to sample */
    unsigned long long hz; /* samples per second of each thread's CPU time, 1 .. 100000 */
    double duration_s;     /* > 0: stop after this long; 0: until the target exits or should_stop */
    /* Optional: asked every 50 ms; nonzero stops sampling (e.g. a flag a SIGINT handler sets). */
    int (*should_stop)(void *ctx);
    /* Optional: told once, when the first threads are attached and sampling begins. */
    void (*on_attached)(void *ctx, long pid, size_t threads);
    void *ctx;
} pp_record_attach_opts;

/* What one attachment did. */
typedef struct pp_record_attach_result {
    char path[4096];        /* the raw profile written: DIR/PID.0.raw */
    int exited;             /* 1: the target exited; 0: stopped (duration_s or should_stop) */
    int maps_read;          /* 0: the target's mappings could not be read: frames stay addresses */
    int64_t threads;        /* threads sampled */
    int64_t samples;        /* samples taken */
    int64_t lost;           /* samples the kernel or the stack table dropped */
    int64_t threads_failed; /* threads that could not be sampled; failed_reason says why */
    char failed_reason[512];
} pp_record_attach_result;

/*
 * pp_record_attach() - Sample opts->pid until it exits, duration_s passes or
 * should_stop answers nonzero, then write its raw profile into the directory
 * dir (*out says where, and what happened). Returns PP_OK; PP_EINVAL for bad
 * options; PP_ENOTFOUND when there is no such process or it exited before a
 * thread could be attached; PP_EPERM when the kernel refused to sample it
 * (another user's process without root or CAP_PERFMON, a process that is not
 * dumpable, kernel.perf_event_paranoid above 2, a seccomp filter), err then
 * naming the refusal, the paranoid level and what to change; PP_EUNAVAIL when
 * this kernel has no perf events; PP_EIO when the profile cannot be written;
 * PP_ENOMEM. err says where and why. Reentrant: each call keeps its own
 * state (two calls may sample two targets at once).
 */
PP_EXPORT PP_NODISCARD int pp_record_attach(const pp_record_attach_opts *opts, const char *dir,
                                            pp_record_attach_result *out, char *err, size_t errcap);

#endif
