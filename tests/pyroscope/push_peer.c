/*
 * push_peer.c - A program linking libpostprof that does nothing about
 * pushing itself: POSTPROF_PUSH_URL in its environment starts the pusher
 * (the library's constructor). It burns CPU in pyro_burn() until its
 * standard input closes, then returns from main (the pusher flushes at
 * exit) after printing what the pusher counted:
 * `push_peer sent=N refused=N unreachable=N dropped=N sampling_failed=N running=N`
 * and the postprof_profile_pushes_total lines of the default registry.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/postprof.h>

static volatile uint64_t sink;

static __attribute__((noinline)) void pyro_burn(void)
{
    uint64_t x = sink;
    for (int i = 0; i < 2000000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull + (x >> 17);
    sink = x;
}

int main(void)
{
    pp_push_counts c;
    pp_push_stats(&c);
    if (!c.running) {
        fprintf(stderr, "push_peer: not pushing (is POSTPROF_PUSH_URL set?) %s\n", c.last_error);
        return 2;
    }
    printf("push_peer ready\n");
    fflush(stdout);
    for (;;) {
        pyro_burn();
        struct pollfd p = {0, POLLIN, 0};
        if (poll(&p, 1, 0) > 0) {
            char buf[64];
            if (read(0, buf, sizeof buf) <= 0)
                break; /* end of input: time to go */
        }
    }
    pp_push_stats(&c);
    printf("push_peer sent=%lld refused=%lld unreachable=%lld dropped=%lld sampling_failed=%lld "
           "running=%d\n",
           (long long)c.sent, (long long)c.refused, (long long)c.unreachable, (long long)c.dropped,
           (long long)c.sampling_failed, c.running);
    char *text = NULL; /* the same counts, as the registry exports them */
    size_t len = 0;
    if (pp_registry_render(pp_metrics_default(), 0, &text, &len) == PP_OK) {
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            if (strncmp(line, "postprof_profile_pushes_total{", 30) == 0)
                printf("push_peer metric %s\n", line);
        free(text);
    }
    fflush(stdout);
    return 0;
}
