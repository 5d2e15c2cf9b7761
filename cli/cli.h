/*
 * cli.h - Shared by the subcommands of the postprof CLI. The CLI is the only
 * place that prints errors and chooses exit codes; it uses the public API only.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* exit codes */
#define PP_EXIT_OK 0
#define PP_EXIT_FAIL 1  /* the work failed (or, for compare, a regression) */
#define PP_EXIT_USAGE 2 /* bad command line, config or output path */
/* the output could not be written (a file, or standard output): a code no
 * ordinary program exits with, as env(1) and timeout(1) use it, so that
 * `record` does not mistake it for the target's own status */
#define PP_EXIT_OUTPUT 125
/* `record --push`: the profile was written but the server did not take it */
#define PP_EXIT_PUSH 122

#define PP_CMD(fn, name, summary) int cmd_##fn(int argc, char **argv);
#include "commands.def"
#undef PP_CMD

#ifdef PP_HAVE_POSTS
/* cmd_pipeline_serve() - `postprof pipeline --serve` (cmd_pipeline_serve.c). */
int cmd_pipeline_serve(int argc, char **argv);

struct posts_config;
/*
 * cli_pipeline_flag() - One flag of `postprof pipeline` at argv[*i] into cfg:
 * a switch (--quantized, --concurrent-load), or --NAME VALUE (dashes in NAME
 * read as underscores), after which *i is on VALUE. Returns PP_EXIT_OK, or
 * the exit code of the usage error it printed (usage after it).
 * (cmd_pipeline.c)
 */
int cli_pipeline_flag(struct posts_config *cfg, const char *usage, int argc, char **argv, int *i);
#endif

/* cli_usage_error() - "postprof NAME: MESSAGE" plus a hint, on stderr; returns PP_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cli_error() - "postprof NAME: MESSAGE" on stderr; returns PP_EXIT_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * cli_output_error() - "postprof NAME: MESSAGE" for an output that could not
 * be written (a pp_file_* message names the path and why); returns
 * PP_EXIT_OUTPUT.
 */
int cli_output_error(const char *cmd, const char *msg);

/*
 * cli_stdout_error() - "postprof NAME: cannot write to standard output: WHY"
 * for errno value e (0: a write failed); returns PP_EXIT_OUTPUT.
 */
int cli_stdout_error(const char *cmd, int e);

/* cli_parse_count() - A count in 1..100000000 into *out; 0, or -1 when s is not one. */
int cli_parse_count(const char *s, size_t *out);

/* cli_hit_ratio() - hits / (hits + misses), 0 when there was no lookup. */
static inline double cli_hit_ratio(uint64_t hits, uint64_t misses)
{
    return hits + misses ? (double)hits / (double)(hits + misses) : 0.0;
}

/* cli_is_help() - 1 when arg is -h or --help. */
int cli_is_help(const char *arg);

/*
 * cli_stop_block() - Block SIGINT and SIGTERM (into *out_set) in the calling
 * thread, before it starts any other, so that every thread inherits the mask
 * and only cli_stop_wait() takes them (one that a library started earlier
 * and that takes one passes it on to the calling thread); SIGPIPE ignored.
 */
void cli_stop_block(sigset_t *out_set);

/*
 * cli_stop_wait() - Wait for a signal of set, or the end of duration_s
 * seconds (0: no end). Returns why it stopped: "SIGINT", "SIGTERM" or
 * "duration".
 */
const char *cli_stop_wait(const sigset_t *set, double duration_s);

/*
 * cli_stop_draining() - After cli_stop_wait(), while the command finishes
 * (drains, writes its report): a second SIGINT or SIGTERM does not end it but
 * prints "postprof CMD: SIGTERM again: still stopping: WHAT (a third signal
 * exits at once, without finishing)" on stderr; a third exits at once with 128 + N.
 */
void cli_stop_draining(const sigset_t *set, const char *cmd, const char *what);

/*
 * cli_find_library() - The path of a library postprof loads into a target
 * (file, e.g. "libpostprof_preload.so"): the environment variable env when
 * set, else the file beside the postprof binary (the build tree, then the
 * installed lib folders). 0, or -1 when there is none readable.
 */
int cli_find_library(const char *env, const char *file, char *out, size_t cap);

/*
 * `postprof run` under `postprof take-turns` (cmd_take_turns.c).
 * cli_turns_join() - 1 when this process was started by take-turns (its
 * socket named by PP_TAKE_TURNS), 0 when not, -1 with a message in err
 * when PP_TAKE_TURNS is set but names no such socket.
 * cli_turns_before_pass() - a pp_workload before_pass: wait for this
 * process's turn (without take-turns, or once it is gone: return at once).
 * cli_turns_taken() - the turns this process has taken.
 */
int cli_turns_join(char *err, size_t cap);
void cli_turns_before_pass(void *ctx);
unsigned cli_turns_taken(void);

#endif
