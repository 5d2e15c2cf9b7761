/*
 * test_memory.c - Malloc accounting and memory scopes (linked with
 * libpostprof_malloc): exact bytes, nesting, threads, the memalign family.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pp_test.h"
#include <postprof/postprof.h>

static void *volatile sink;

static void accounting_is_active(void **state)
{
    (void)state;
    assert_int_equal(pp_mem_accounting_active(), 1);
    pp_mem_counters a, b;
    pp_mem_thread_counters(&a);
    void *p = malloc(1234);
    sink = p;
    pp_mem_thread_counters(&b);
    assert_int_equal(b.alloc_bytes - a.alloc_bytes, 1234);
    assert_int_equal(b.alloc_count - a.alloc_count, 1);
    free(p);
}

static void memory_scope_sees_exact_bytes(void **state)
{
    (void)state;
    size_t usable_kept = 0;
    void *kept[2];
    {
        PP_SCOPE_MEM("mem.exact");
        void *a = malloc(1000);
        kept[0] = malloc(2000);
        kept[1] = calloc(3, 1000);
        sink = a;
        free(a);
        usable_kept = malloc_usable_size(kept[0]) + malloc_usable_size(kept[1]);
    }
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    const pp_site_stats *s = pp_snapshot_find(snap, "mem.exact");
    assert_non_null(s);
    assert_int_equal(s->mem_alloc_bytes, 6000);
    assert_int_equal(s->mem_alloc_count, 3);
    assert_int_equal(s->mem_net_bytes, (int64_t)usable_kept);
    assert_true(s->mem_peak_bytes >= s->mem_net_bytes);
    assert_true(s->mem_freed_bytes >= 1000);
    pp_snapshot_free(snap);
    free(kept[0]);
    free(kept[1]);
}

static void nested_memory_scopes(void **state)
{
    (void)state;
    {
        PP_SCOPE_MEM("mem.outer");
        void *a = malloc(10000);
        {
            PP_SCOPE_MEM("mem.inner");
            void *b = malloc(50000);
            sink = b;
            free(b); /* inner peak ~50 000, net 0 */
        }
        sink = a;
        free(a);
    }
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    const pp_site_stats *o = pp_snapshot_find(snap, "mem.outer");
    const pp_site_stats *in = pp_snapshot_find(snap, "mem.inner");
    assert_int_equal(in->mem_alloc_bytes, 50000);
    assert_int_equal(in->mem_net_bytes, 0);
    assert_true(in->mem_peak_bytes >= 50000 && in->mem_peak_bytes < 50000 + 4096);
    /* the callee's allocations count for the caller too, and its peak includes them */
    assert_int_equal(o->mem_alloc_bytes, 60000);
    assert_int_equal(o->mem_net_bytes, 0);
    assert_true(o->mem_peak_bytes >= 60000 && o->mem_peak_bytes < 60000 + 8192);
    pp_snapshot_free(snap);
}

static void realloc_and_memalign_family(void **state)
{
    (void)state;
    {
        PP_SCOPE_MEM("mem.family");
        void *p = malloc(100);
        p = realloc(p, 5000);
        void *q = NULL;
        assert_int_equal(posix_memalign(&q, 64, 256), 0);
        void *r = aligned_alloc(128, 512);
        void *m = memalign(256, 1024);
        void *v = valloc(100);
        sink = r; /* keep the compiler from eliding an unused allocation */
        sink = v;
        sink = m;
        assert_int_equal(((uintptr_t)q) % 64, 0);
        assert_int_equal(((uintptr_t)r) % 128, 0);
        free(p);
        free(q);
        free(r);
        free(m);
        free(v);
    }
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    const pp_site_stats *s = pp_snapshot_find(snap, "mem.family");
    assert_int_equal(s->mem_alloc_bytes, 100 + 5000 + 256 + 512 + 1024 + 100);
    assert_int_equal(s->mem_alloc_count, 6);
    assert_int_equal(s->mem_net_bytes, 0);
    pp_snapshot_free(snap);
}

static void *thread_allocs(void *arg)
{
    (void)arg;
    PP_SCOPE_MEM("mem.thread");
    for (int i = 0; i < 100; i++) {
        void *volatile p = malloc(1000);
        free(p);
    }
    return NULL;
}

static void per_thread_attribution(void **state)
{
    (void)state;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thread_allocs, NULL), 0);
    {
        PP_SCOPE_MEM("mem.main_while_threads");
    }
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    assert_int_equal(pp_snapshot_find(snap, "mem.thread")->mem_alloc_bytes, 300000);
    assert_int_equal(pp_snapshot_find(snap, "mem.thread")->mem_net_bytes, 0);
    assert_int_equal(pp_snapshot_find(snap, "mem.main_while_threads")->mem_alloc_bytes, 0);
    pp_snapshot_free(snap);
}

static void rss_is_read(void **state)
{
    (void)state;
    uint64_t rss = pp_mem_rss_bytes();
    assert_true(rss > 100000);
    {
        PP_SCOPE_MEM("mem.rss");
        char *big = malloc(64u << 20);
        memset(big, 1, 64u << 20);
        sink = big;
        free(big);
    }
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    const pp_site_stats *s = pp_snapshot_find(snap, "mem.rss");
    assert_true(s->mem_peak_bytes >= (64 << 20));
    pp_snapshot_free(snap);
}

static void forked_child_counts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        {
            PP_SCOPE_MEM("mem.child");
            void *volatile p = malloc(4321);
            free(p);
        }
        pp_snapshot *snap;
        if (pp_snapshot_take(&snap) != PP_OK)
            _exit(10);
        const pp_site_stats *s = pp_snapshot_find(snap, "mem.child");
        int ok = s && s->mem_alloc_bytes == 4321 && s->mem_net_bytes == 0;
        pp_snapshot_free(snap);
        _exit(ok ? 0 : 11);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(forked_child_counts),
    cmocka_unit_test(accounting_is_active),
    cmocka_unit_test(memory_scope_sees_exact_bytes),
    cmocka_unit_test(nested_memory_scopes),
    cmocka_unit_test(realloc_and_memalign_family),
    cmocka_unit_test(per_thread_attribution),
    cmocka_unit_test(rss_is_read),
};
PP_TEST_MAIN(tests)
