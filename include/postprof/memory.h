/*
 * postprof/memory.h - Malloc accounting, the data behind PP_SCOPE_MEM.
 *
 * libpostprof_malloc (linked into a program, or LD_PRELOADed) interposes
 * malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign,
 * valloc and pvalloc, and adds each call to per-thread counters (no lock).
 * Without it, the counters stay at zero and pp_mem_accounting_active() says so.
 */
#ifndef POSTPROF_MEMORY_H
#define POSTPROF_MEMORY_H

#include <stdint.h>
#include <postprof/export.h>

typedef struct pp_mem_counters {
    uint64_t alloc_bytes;  /* bytes requested by the program */
    uint64_t alloc_count;  /* allocations (realloc counts as free + alloc) */
    uint64_t alloc_usable; /* usable bytes of those blocks (malloc_usable_size) */
    uint64_t free_usable;  /* usable bytes of blocks freed by this thread */
    uint64_t free_count;
    int64_t live; /* alloc_usable - free_usable on this thread */
    int64_t peak; /* highest live seen (reset by memory scopes) */
} pp_mem_counters;

/* pp_mem_thread_counters() - Copy this thread's counters. Never fails. */
PP_EXPORT void pp_mem_thread_counters(pp_mem_counters *out);

/* pp_mem_accounting_active() - 1 when libpostprof_malloc is interposing malloc. */
PP_EXPORT int pp_mem_accounting_active(void);

/*
 * pp_mem_rss_bytes() - Resident set size of this process (from /proc/self/statm).
 * Returns 0 when it cannot be read. One pread() system call.
 */
PP_EXPORT uint64_t pp_mem_rss_bytes(void);

#endif
