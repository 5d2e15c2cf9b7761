/*
 * work_scopes.c - A program that links libpostprof and instruments itself:
 * `postprof record --format chrome` must show its scopes beside the samples.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <postprof/postprof.h>

static volatile uint64_t sink;

static void inner(void)
{
    PP_SCOPE("work.inner");
    uint64_t x = 0;
    for (int i = 0; i < 200000; i++)
        x += (uint64_t)i * 2654435761u;
    sink += x;
}

static void *thread_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        PP_SCOPE("work.thread_outer");
        inner();
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    for (int i = 0; i < 50; i++) {
        PP_SCOPE("work.outer");
        for (int k = 0; k < 10; k++)
            inner();
    }
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
