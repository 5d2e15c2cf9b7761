/*
 * malloc_hook.c - libpostprof_malloc: interposes the malloc family and adds
 * every call to the calling thread's counters (pp__mem_tls). Forwards to
 * glibc's __libc_* entry points, so no dlsym bootstrap is needed and the
 * hooks work from the first allocation, in threads and in forked children.
 * Must never allocate, lock or call anything that might call malloc.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "capture.h"

#ifdef PP_SANITIZER_BUILD
/*
 * Under ASan/TSan the sanitizer owns malloc and must stay the only definition:
 * count through its allocation hooks instead (same counters, same meaning).
 */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static void san_malloc_hook(const volatile void *p, size_t n)
{
    if (!p)
        return;
    pp_mem_counters *c = &pp__mem_tls;
    c->alloc_bytes += n;
    c->alloc_count++;
    c->alloc_usable += n;
    c->live += (int64_t)n;
    if (c->live > c->peak)
        c->peak = c->live;
}

static void san_free_hook(const volatile void *p)
{
    if (!p)
        return;
    pp_mem_counters *c = &pp__mem_tls;
    size_t n = __sanitizer_get_allocated_size(p);
    c->free_usable += n;
    c->free_count++;
    c->live -= (int64_t)n;
}

static void __attribute__((constructor)) hook_init(void)
{
    __sanitizer_install_malloc_and_free_hooks(san_malloc_hook, san_free_hook);
    atomic_store(&pp__mem_hooked, 1);
}

#else /* !PP_SANITIZER_BUILD: interpose the malloc family */

#include "common/libc_alloc.h"
/*
 * Where a call goes on: glibc, unless another interposer was loaded after
 * this object (LD_PRELOAD, e.g. `postprof record --mem`'s library on a
 * program that links this one, the postprof command itself): then to it, so
 * it sees every allocation too. Set once by the constructor; NULL = glibc.
 */
static _Atomic(void *(*)(size_t)) next_malloc;
static _Atomic(void *(*)(size_t, size_t)) next_calloc;
static _Atomic(void *(*)(void *, size_t)) next_realloc;
static _Atomic(void (*)(void *)) next_free;
static _Atomic(void *(*)(size_t, size_t)) next_memalign;
static _Atomic(void *(*)(size_t)) next_valloc;
static _Atomic(void *(*)(size_t)) next_pvalloc;
/* glibc directly in the common case (a direct call, no indirect branch) */
#define REAL(name, ...)                                                                            \
    (__builtin_expect(atomic_load_explicit(&next_##name, memory_order_relaxed) != NULL, 0)         \
         ? atomic_load_explicit(&next_##name, memory_order_relaxed)(__VA_ARGS__)                   \
         : __libc_##name(__VA_ARGS__))

#define PP_HOOK __attribute__((visibility("default")))

PP_HOOK void *malloc(size_t n);
PP_HOOK void *calloc(size_t n, size_t m);
PP_HOOK void *realloc(void *p, size_t n);
PP_HOOK void free(void *p);
PP_HOOK int posix_memalign(void **out, size_t align, size_t n);
PP_HOOK void *aligned_alloc(size_t align, size_t n);
PP_HOOK void *memalign(size_t align, size_t n);
PP_HOOK void *valloc(size_t n);
PP_HOOK void *pvalloc(size_t n);

/* The next definition of name after this object, when it is not glibc's own. */
#define FIND_NEXT(name)                                                                            \
    do {                                                                                           \
        void *sym_ = dlsym(RTLD_NEXT, #name);                                                      \
        __typeof__(&__libc_##name) fn_;                                                            \
        memcpy(&fn_, &sym_, sizeof fn_);                                                           \
        if (sym_ && fn_ != __libc_##name)                                                          \
            atomic_store(&next_##name, fn_);                                                       \
    } while (0)

static void __attribute__((constructor)) hook_init(void)
{
    /* free first: a block another interposer allocates must be freed by it */
    FIND_NEXT(free);
    FIND_NEXT(realloc);
    FIND_NEXT(memalign);
    FIND_NEXT(valloc);
    FIND_NEXT(pvalloc);
    FIND_NEXT(calloc);
    FIND_NEXT(malloc);
    atomic_store(&pp__mem_hooked, 1);
}

static inline void note_alloc(void *p, size_t requested)
{
    if (!p)
        return;
    pp_mem_counters *c = &pp__mem_tls;
    size_t usable = malloc_usable_size(p);
    c->alloc_bytes += requested;
    c->alloc_count++;
    c->alloc_usable += usable;
    c->live += (int64_t)usable;
    if (c->live > c->peak)
        c->peak = c->live;
}

static inline void note_free(void *p)
{
    if (!p)
        return;
    pp_mem_counters *c = &pp__mem_tls;
    size_t usable = malloc_usable_size(p);
    c->free_usable += usable;
    c->free_count++;
    c->live -= (int64_t)usable;
}

void *malloc(size_t n)
{
    void *p = REAL(malloc, n);
    note_alloc(p, n);
    return p;
}

void *calloc(size_t n, size_t m)
{
    void *p = REAL(calloc, n, m);
    note_alloc(p, n * m);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    void *q = REAL(realloc, p, n);
    if (q) {
        pp_mem_counters *c = &pp__mem_tls;
        c->free_usable += old;
        c->free_count++;
        c->live -= (int64_t)old;
        note_alloc(q, n);
    }
    return q;
}

void free(void *p)
{
    note_free(p);
    REAL(free, p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = REAL(memalign, align, n);
    if (!p)
        return ENOMEM;
    note_alloc(p, n);
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    void *p = REAL(memalign, align, n);
    note_alloc(p, n);
    return p;
}

void *memalign(size_t align, size_t n)
{
    void *p = REAL(memalign, align, n);
    note_alloc(p, n);
    return p;
}

void *valloc(size_t n)
{
    void *p = REAL(valloc, n);
    note_alloc(p, n);
    return p;
}

void *pvalloc(size_t n)
{
    void *p = REAL(pvalloc, n);
    note_alloc(p, n);
    return p;
}

#endif /* PP_SANITIZER_BUILD */
