/*
 * record.h - `postprof record`, in three files: cmd_record.c (the options and
 * the choice between the two ways), record_launch.c (run a command with the
 * preload library, or attach to a running process through
 * pp_record_attach()), record_collect.c (the temporary directory, the output
 * checks, and turning raw profiles into the chosen format).
 */
#ifndef PP_CLI_RECORD_H
#define PP_CLI_RECORD_H

#include <stddef.h>

/* Everything `record` was asked for, as parsed. */
typedef struct record_opts {
    unsigned long long hz, mem_rate;
    int wall, mem, mem_all, follow, quiet, force_posix, libunwind;
    int fmt;         /* pp_profile_format */
    const char *out; /* output file (or "-", a device, a FIFO) */
    long attach_pid; /* -p PID; 0: run a command */
    double duration; /* with -p: seconds, 0: until it exits */
    char **cmd;      /* the command and its arguments (NULL-terminated), without -p */
    const char *push_url, *push_app, *push_labels, *push_tenant; /* --push: Pyroscope */
    char push_app_buf[256]; /* the application name when not given: the command's name */
    double push_timeout;    /* --push-timeout seconds, 0: the library's default */
} record_opts;

/* record_collect() result bits: an output could not be written; the push failed. */
#define COLLECT_OUTPUT_FAILED 2
#define COLLECT_PUSH_FAILED 4

/* s ends with suffix */
int record_ends_with(const char *s, const char *suffix);

/* DIR for the raw profiles, with its lock held (*lock_fd) until the run
 * ends; stale directories of killed runs are removed first. 0 or -1 (errno). */
int record_make_tmpdir(char *dir, size_t cap, int *lock_fd);
void record_end_tmpdir(const char *dir, int lock_fd);

/* "-", /dev/..., a device or FIFO: one stream, not a name to derive others from */
int record_special_output(const char *out);

/* a missing directory or read-only file system, said (1) before the target runs */
int record_output_unwritable(const char *out);

/* Load and write every pid's raw files in dir (and push the target's profile
 * when o->push_url is set); 0 when all were written, else COLLECT_OUTPUT_FAILED
 * when an output could not be written, COLLECT_PUSH_FAILED when the push
 * failed, and/or 1. */
int record_collect(const char *dir, long root_pid, const record_opts *o);

/* exit code for record_collect()'s result: the output's own code before the target's */
int record_collect_exit(int failed, int code);

/* `record -- CMD`: run it with the preload library; the exit code. */
int record_command(const record_opts *o);

/* `record -p PID`: sample it from outside; the exit code. */
int record_pid(const record_opts *o);

#endif
