/*
 * postprof/profile.h - Sampled profiles (CPU, wall-clock, allocations) as
 * written by `postprof record`: load the raw output of the preload library
 * and symbolize it, write folded / speedscope / pprof / Chrome trace files,
 * read folded / speedscope / pprof files back, and rank functions (top).
 *
 * A pp_profile is a plain value: not thread-safe, use from one thread at a
 * time; different profiles may be used from different threads.
 */
#ifndef POSTPROF_PROFILE_H
#define POSTPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>

typedef struct pp_profile pp_profile;

typedef enum {
    PP_PROFILE_CPU = 0, /* values: samples/count, cpu/nanoseconds */
    PP_PROFILE_WALL,    /* values: samples/count, wall/nanoseconds */
    PP_PROFILE_MEM      /* values: alloc_objects, alloc_space, inuse_objects, inuse_space */
} pp_profile_kind;

typedef enum {
    PP_FORMAT_FOLDED = 0, /* flamegraph.pl input: root;...;leaf COUNT */
    PP_FORMAT_SPEEDSCOPE, /* speedscope file format, "sampled" profiles */
    PP_FORMAT_PPROF,      /* gzipped perftools.profiles.Profile */
    PP_FORMAT_CHROME      /* Chrome trace event JSON */
} pp_profile_format;

/* pp_profile_free() - Release a profile. NULL is a no-op. */
PP_EXPORT void pp_profile_free(pp_profile *p);

/*
 * pp_profile_load_raw() - Read one raw file written by libpostprof_preload.so
 * (DIR/PID.SEQ.raw) and symbolize its addresses with libdw, using the module
 * list the target wrote (the modules must still be on disk). When *io is NULL
 * a new profile is created; otherwise the file is merged into *io (a process
 * that exec'd leaves one file per image).
 * Returns PP_OK; PP_ENOTFOUND/PP_EPERM/PP_EIO (unreadable: pp_file_read()),
 * PP_ERANGE (over the raw-file cap), PP_EFORMAT (not a raw profile; msg says
 * where), PP_ENOMEM. On error *io is unchanged (a new profile is freed).
 * msg (may be NULL) receives a one-line reason on error.
 */
PP_EXPORT PP_NODISCARD int pp_profile_load_raw(const char *path, pp_profile **io, char *msg,
                                               size_t msg_cap);

/*
 * pp_profile_load_scopes() - Add the instrumented scopes a target linking
 * libpostprof traced (DIR/PID.scopes, written by pp_trace_write) to p, on
 * p's time line; the Chrome trace shows them beside the samples.
 * Returns PP_OK; PP_ENOTFOUND/PP_EPERM/PP_EIO (unreadable: pp_file_read()),
 * PP_ERANGE (over 256 MiB); PP_EFORMAT (msg: file:line), with the events
 * before the bad line kept; PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int pp_profile_load_scopes(pp_profile *p, const char *path, char *msg,
                                                  size_t msg_cap);

/* pp_profile_scope_count() - Instrumented scope events held by p. */
PP_EXPORT size_t pp_profile_scope_count(const pp_profile *p);

/*
 * pp_profile_read() - Read a folded, speedscope or pprof (gzipped or not) file;
 * the format is detected from the content. Returns PP_OK and a new profile in
 * *out; PP_ENOTFOUND, PP_EPERM or PP_EIO when it cannot be read (by
 * pp_file_read()), PP_EFORMAT (msg says where and why), PP_ERANGE (over the
 * 256 MiB input cap), PP_ENOMEM; *out is NULL on error. msg never names the
 * file: the caller does ("PATH: MSG").
 */
PP_EXPORT PP_NODISCARD int pp_profile_read(const char *path, pp_profile **out, char *msg,
                                           size_t msg_cap);

/* pp_profile_parse() - As pp_profile_read(), from memory (not modified). */
PP_EXPORT PP_NODISCARD int pp_profile_parse(const void *data, size_t len, pp_profile **out,
                                            char *msg, size_t msg_cap);

/*
 * pp_profile_write() - Write the profile to path in a format, by
 * pp_file_write() (postprof/file.h: a regular file is replaced atomically, a
 * device, FIFO or "-" is written in place). Returns PP_OK, pp_file_write()'s
 * codes with err saying why (path left untouched), PP_ENOMEM, PP_EINVAL
 * (unknown format).
 */
PP_EXPORT PP_NODISCARD int pp_profile_write(const pp_profile *p, pp_profile_format format,
                                            const char *path, char *err, size_t errcap);

/* pp_profile_format_parse() - "folded", "speedscope", "pprof", "chrome" -> format; -1 if unknown.
 */
PP_EXPORT int pp_profile_format_parse(const char *name);

/* pp_profile_kind_of() - What the profile measures. */
PP_EXPORT pp_profile_kind pp_profile_kind_of(const pp_profile *p);

/*
 * pp_profile_stat() - A counter the recording left (e.g. "samples",
 * "ring_dropped", "sigprof_taken", "sigprof_blocked", "overrun_ticks",
 * "threads", "heap_peak", "heap_live", "exit_reason_crash"). Returns 0 when absent.
 */
PP_EXPORT int64_t pp_profile_stat(const pp_profile *p, const char *name);

/* pp_profile_value_total() - Sum over samples of value index i (0 if out of range). */
PP_EXPORT int64_t pp_profile_value_total(const pp_profile *p, size_t i);

/* pp_profile_sample_count() - Number of distinct stacks. */
PP_EXPORT size_t pp_profile_sample_count(const pp_profile *p);

/* One function in a top-N ranking (strings owned by the profile). */
typedef struct {
    const char *function;
    const char *file; /* "" when unknown */
    int64_t line;     /* 0 when unknown */
    int64_t self;     /* value where the function is the leaf */
    int64_t total;    /* value where the function is anywhere on the stack */
} pp_profile_row;

/*
 * pp_profile_top() - Rank functions by self value of the profile's main
 * value (samples for CPU, allocated bytes for memory), highest first.
 * Writes up to cap rows into out, *out_n how many, *out_sum the grand total.
 * Returns PP_OK or PP_ENOMEM. Strings stay valid while the profile lives.
 */
PP_EXPORT PP_NODISCARD int pp_profile_top(const pp_profile *p, pp_profile_row *out, size_t cap,
                                          size_t *out_n, int64_t *out_sum);

/* pp_profile_value_name() - "samples", "alloc_space", ...: what top ranks by. */
PP_EXPORT const char *pp_profile_value_name(const pp_profile *p);

/* One function of a profile diff: shares (0..1) of each profile's own total
 * (strings owned by the profiles). A function absent from one side has 0 there. */
typedef struct {
    const char *function;
    double base_self, cand_self;   /* value where the function is the leaf */
    double base_total, cand_total; /* value where it is anywhere on the stack */
} pp_profile_diff_row;

/*
 * pp_profile_diff() - The functions whose share changed most from base to
 * cand, matched by name, each side normalized by its own total (so a longer
 * recording does not look slower). Ranked by |cand_self - base_self|, then
 * |cand_total - base_total|, then name. Writes up to cap rows into out,
 * *out_n how many, the two grand totals into *out_base_sum and *out_cand_sum.
 * Returns PP_OK; PP_EINVAL when the profiles measure different things
 * (pp_profile_value_name differs: samples vs alloc_space); PP_ENOMEM.
 * Strings stay valid while both profiles live. Pure.
 */
PP_EXPORT PP_NODISCARD int pp_profile_diff(const pp_profile *base, const pp_profile *cand,
                                           pp_profile_diff_row *out, size_t cap, size_t *out_n,
                                           int64_t *out_base_sum, int64_t *out_cand_sum);

/*
 * pp_profile_merge_add() - Add every sample of src to *io (profiles of many
 * nodes merged into one, `postprof merge`). When *io is NULL a new profile
 * with src's value types is created. Each added sample carries the label
 * `node` = node (NULL or "": none), except samples of src that already carry
 * one (src is itself a merged profile), which keep theirs. Functions are
 * matched by name and file, so per-function totals of the result are the sums
 * of the inputs'. Counters add up; the time covered runs from the earliest
 * start to the latest end.
 * Returns PP_OK; PP_EINVAL when src counts other things than *io (msg says
 * which; *io unchanged); PP_ERANGE (over a profile's size caps), PP_ENOMEM:
 * then a new profile is freed and an existing *io holds part of src (fit only
 * for pp_profile_free). src is not modified. Not thread-safe on *io.
 */
PP_EXPORT PP_NODISCARD int pp_profile_merge_add(pp_profile **io, const pp_profile *src,
                                                const char *node, char *msg, size_t msg_cap);

/* pp_profile_node_total() - Sum of the main value over samples labelled node
 * (NULL: over samples with no node label). Pure. */
PP_EXPORT int64_t pp_profile_node_total(const pp_profile *p, const char *node);

/*
 * pp_profile_nodes() - The distinct `node` labels of p's samples, in order of
 * first appearance: up to cap into out (strings owned by p), how many there
 * are in all into *out_n. Returns PP_OK or PP_ENOMEM (*out_n 0).
 */
PP_EXPORT PP_NODISCARD int pp_profile_nodes(const pp_profile *p, const char **out, size_t cap,
                                            size_t *out_n);

#endif
