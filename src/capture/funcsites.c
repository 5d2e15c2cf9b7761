/*
 * funcsites.c - Sites for whole-program mode: one pp_site per function
 * address, found through an open-addressing table. Taken only on a thread's
 * first call of a function (the hooks cache the id per thread); the table
 * is allocated with mmap so it never shows in the program's malloc figures.
 */
#include <pthread.h>
#include <stdint.h>

#include "capture.h"

#define TABLE_SIZE (PP__MAX_SITES * 2u)

typedef struct {
    const void *addr;
    uint32_t id;
} entry;

static entry *table;
static pp_site *site_pool;
static uint32_t site_pool_used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

uint32_t pp__func_site(const void *fn)
{
    uint32_t id = 0;
    pthread_mutex_lock(&lock);
    if (!table) {
        table = pp__map_zero(sizeof(entry) * TABLE_SIZE);
        site_pool = pp__map_zero(sizeof(pp_site) * PP__MAX_SITES);
        if (!table || !site_pool)
            goto out;
    }
    uintptr_t h = ((uintptr_t)fn >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        entry *e = &table[(h + i) % TABLE_SIZE];
        if (e->addr == fn) {
            id = e->id;
            goto out;
        }
        if (!e->addr) {
            if (site_pool_used >= PP__MAX_SITES)
                goto out;
            pp_site *s = &site_pool[site_pool_used++];
            s->name = NULL;
            s->file = "";
            s->function = NULL;
            s->flags = PP_SITE_FUNC;
            s->addr = fn;
            id = pp__site_register(s);
            if (id) {
                e->addr = fn;
                e->id = id;
            }
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&lock);
    return id;
}
