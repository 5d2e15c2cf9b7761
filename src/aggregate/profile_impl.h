/*
 * profile_impl.h - The in-memory form of a sampled profile (pp_profile),
 * shaped like pprof's: interned strings, functions, locations with inline
 * lines (innermost first), mappings, samples whose stacks are location ids
 * leaf first. Shared by the loaders (aggregate/) and the writers (export/).
 * Every array has a hard cap; adding past it fails with PP_ERANGE.
 */
#ifndef PP_PROFILE_IMPL_H
#define PP_PROFILE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/profile.h>

#define PP__PMAXV 6 /* 4 written; mem keeps peak objects/bytes in v[4], v[5] */
#define PP__PROFILE_MAX_ITEMS (16u * 1024 * 1024)

typedef struct {
    uint32_t name, file; /* string ids */
    int64_t start_line;
} pp__pfunc;

typedef struct {
    uint32_t func; /* index into funcs */
    int64_t line;
} pp__pline;

typedef struct {
    uint64_t address;
    uint32_t mapping; /* 1-based index into maps, 0 = none */
    uint32_t first_line, nlines;
} pp__ploc;

typedef struct {
    uint64_t start, limit, offset;
    uint32_t file, build_id;
} pp__pmap;

typedef struct {
    uint32_t first, n; /* into stack: location indexes, leaf first */
    uint32_t tid;
    uint32_t node; /* string id of the sample's `node` label (merged profiles), 0 = none */
    int64_t v[PP__PMAXV];
} pp__psample;

typedef struct {
    uint64_t t_ns;
    int64_t rss, heap;
} pp__ppoint;

typedef struct {
    uint32_t tid, name;
} pp__pthread;

typedef struct {
    uint32_t name;
    int64_t value;
} pp__pstat;

/* An instrumented scope of the target (libpostprof's event trace). */
typedef struct {
    uint32_t tid;
    uint32_t name;
    int64_t start_ns; /* since the profile's start */
    int64_t dur_ns;
} pp__pscope;

struct pp_profile {
    pp_profile_kind kind;
    size_t nvalues, main_value;
    uint32_t vtype[PP__PMAXV], vunit[PP__PMAXV];
    uint32_t period_type, period_unit;
    int64_t period, duration_ns, time_ns;

    char **str;
    size_t nstr, capstr;
    uint32_t *str_index; /* open addressing: string id + 1, 0 = empty */
    size_t str_index_cap;

    pp__pfunc *funcs;
    size_t nfuncs, capfuncs;
    uint32_t *func_index;
    size_t func_index_cap;

    pp__ploc *locs;
    size_t nlocs, caplocs;
    pp__pline *lines;
    size_t nlines, caplines;
    pp__pmap *maps;
    size_t nmaps, capmaps;
    pp__psample *samples;
    size_t nsamples, capsamples;
    uint32_t *stack;
    size_t nstack, capstack;
    pp__ppoint *series;
    size_t nseries, capseries;
    pp__pthread *threads;
    size_t nthreads, capthreads;
    pp__pstat *stats;
    size_t nstats, capstats;
    int64_t start_mono_ns; /* CLOCK_MONOTONIC at the start (raw profiles), 0 unknown */
    pp__pscope *scopes;
    size_t nscopes, capscopes;
};

/* Creates an empty profile of a kind with its value types set. NULL on OOM. */
pp_profile *pp__profile_new(pp_profile_kind kind);

/* Grow *arr (element size sz) so index *n fits; returns PP_OK, PP_ENOMEM, PP_ERANGE. */
int pp__profile_grow(void **arr, size_t *cap, size_t n, size_t sz);

/* Intern a string (len bytes); *out its id. String 0 is always "". */
int pp__profile_str(pp_profile *p, const char *s, size_t len, uint32_t *out);
int pp__profile_cstr(pp_profile *p, const char *s, uint32_t *out);

/* Function id for (name, file, start_line), deduplicated by name and file. */
int pp__profile_func(pp_profile *p, const char *name, const char *file, int64_t start_line,
                     uint32_t *out);

/* Append a location with n lines (innermost first). *out its index. */
int pp__profile_loc(pp_profile *p, uint64_t address, uint32_t mapping, const pp__pline *lines,
                    size_t n, uint32_t *out);

/* Append a sample with a leaf-first stack of location indexes. */
int pp__profile_sample(pp_profile *p, const uint32_t *locs, size_t n, uint32_t tid,
                       const int64_t *v);

/* Add or overwrite a named counter; add_stat adds to an existing one. */
int pp__profile_set_stat(pp_profile *p, const char *name, int64_t v);
int pp__profile_add_stat(pp_profile *p, const char *name, int64_t v);

/* Set the value types: n names/units pairs. */
int pp__profile_set_types(pp_profile *p, size_t n, const char *const *types,
                          const char *const *units, size_t main_value);

/* Name of a thread id, or NULL. */
const char *pp__profile_thread_name(const pp_profile *p, uint32_t tid);

#define PP__PROFILE_MAX_FRAMES 2048

/* Root-first function ids (and lines, may be NULL) of a sample, inline
 * frames expanded. Returns how many were written (<= max). */
size_t pp__profile_frames(const pp_profile *p, const pp__psample *s, uint32_t *funcs,
                          int64_t *lines, size_t max);

#endif
