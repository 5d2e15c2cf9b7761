/*
 * libc_alloc.h - glibc's own allocator entry points: exported by libc.so.6,
 * declared by no header. What the malloc interposers (libpostprof_malloc,
 * the preload library) forward to. Header-only declarations.
 */
#ifndef PP_LIBC_ALLOC_H
#define PP_LIBC_ALLOC_H

#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

#endif
