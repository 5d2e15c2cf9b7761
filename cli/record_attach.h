/*
 * record_attach.h - `postprof record -p PID`: samples a running process from
 * outside with perf_event_open (task-clock per thread, the kernel walking the
 * user stack by frame pointers into a ring buffer per thread) and writes the
 * same raw profile the preload library writes, for cmd_record.c to symbolize.
 */
#ifndef PP_CLI_RECORD_ATTACH_H
#define PP_CLI_RECORD_ATTACH_H

typedef struct {
    long pid;
    unsigned long long hz;
    double duration_s; /* 0: until the target exits or we are interrupted */
    int quiet;
} record_attach_opts;

/* Samples until the target exits, `duration_s` passes, or SIGINT/SIGTERM;
 * writes DIR/PID.0.raw. Returns 0, or prints why and returns non-zero. */
int record_attach(const record_attach_opts *o, const char *dir);

#endif
