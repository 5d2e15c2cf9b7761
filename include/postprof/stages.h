/*
 * postprof/stages.h - The words postprof speaks about a workload: its stages
 * and knobs, their names, and how many sources, models and cache backends one
 * may declare. The report (postprof/report.h), the analysis and the exports
 * use these; the interface a program implements to be driven is
 * postprof/workload.h.
 */
#ifndef POSTPROF_STAGES_H
#define POSTPROF_STAGES_H

#include <postprof/export.h>

/*
 * Knobs: settings the profilers' experiments turn. A workload supports any
 * subset; set_knob() returns PP_EUNAVAIL for the others and the experiments
 * needing them are skipped (and said so in the report).
 */
#define PP_KNOB_LIST(X)                                                                            \
    X(PP_KNOB_BATCH_SIZE, "batch_size", "items per inference batch")                               \
    X(PP_KNOB_LOAD_BATCH, "load_batch", "rows per data-loading batch")                             \
    X(PP_KNOB_CONCURRENCY, "concurrency",                                                          \
      "sources loaded at once by PP_STAGE_LOAD_ALL (1 = "                                          \
      "sequential)")                                                                               \
    X(PP_KNOB_KEEP_ALIVE, "keep_alive", "reuse network connections (0/1)")                         \
    X(PP_KNOB_CACHE_CAPACITY, "cache_capacity", "entries the cache holds")                         \
    X(PP_KNOB_THREADS, "threads", "worker threads of the preprocess stage")                        \
    X(PP_KNOB_ARENA, "arena", "allocate from an arena instead of malloc (0/1)")                    \
    X(PP_KNOB_MODEL, "model", "model index used by PP_STAGE_PASS")                                 \
    X(PP_KNOB_QUANTIZED, "quantized", "int8 instead of fp32 inference (0/1)")                      \
    X(PP_KNOB_CACHE_BACKEND, "cache_backend", "index into cache_backend_names (in-process, Redis)")

typedef enum pp_knob {
#define PP__KNOB_ENUM(id, name, doc) id,
    PP_KNOB_LIST(PP__KNOB_ENUM)
#undef PP__KNOB_ENUM
        PP_KNOB_COUNT
} pp_knob;

/*
 * Stages: units of work the profilers ask for. `index` selects a source
 * (PP_STAGE_LOAD) or a model (PP_STAGE_MODEL_LOAD, PP_STAGE_INFER); others
 * ignore it.
 */
#define PP_STAGE_LIST(X)                                                                           \
    X(PP_STAGE_LOAD, "load", "load one batch (knob load_batch rows) from source `index`")          \
    X(PP_STAGE_LOAD_ALL, "load_all", "load one batch from every source, `concurrency` at once")    \
    X(PP_STAGE_PREPROCESS, "preprocess", "preprocess one batch of loaded items")                   \
    X(PP_STAGE_MODEL_LOAD, "model_load", "load (or reload) model `index` from scratch")            \
    X(PP_STAGE_INFER, "infer", "infer one batch of batch_size items with model `index`")           \
    X(PP_STAGE_CACHE, "cache", "replay the cache access trace once, misses paying their cost")     \
    X(PP_STAGE_PASS, "pass", "one whole end-to-end pass of the workload")

typedef enum pp_stage {
#define PP__STAGE_ENUM(id, name, doc) id,
    PP_STAGE_LIST(PP__STAGE_ENUM)
#undef PP__STAGE_ENUM
        PP_STAGE_COUNT
} pp_stage;

/* Most sources and models a workload may declare. */
#define PP_WORKLOAD_MAX_SOURCES 8
#define PP_WORKLOAD_MAX_MODELS 8
#define PP_WORKLOAD_MAX_BACKENDS 4

/* pp_knob_name() - The knob's name ("batch_size"), "?" when out of range. */
PP_EXPORT const char *pp_knob_name(pp_knob knob);

/* pp_knob_parse() - Knob from its name. Returns PP_OK or PP_ENOTFOUND (*out unchanged). */
PP_EXPORT PP_NODISCARD int pp_knob_parse(const char *name, pp_knob *out);

/* pp_stage_name() - The stage's name ("load"), "?" when out of range. */
PP_EXPORT const char *pp_stage_name(pp_stage stage);

#endif
