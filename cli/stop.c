/*
 * stop.c - How the long-running commands (serve, pipeline --serve) stop:
 * SIGINT and SIGTERM blocked before any thread starts, then taken by the
 * main thread alone, or the end of a --duration.
 */
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <postprof/clock.h>

#include "cli.h"

void cli_stop_block(sigset_t *out_set)
{
    sigemptyset(out_set);
    sigaddset(out_set, SIGINT);
    sigaddset(out_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, out_set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

const char *cli_stop_wait(const sigset_t *set, double duration_s)
{
    uint64_t end = duration_s > 0 ? pp_clock_now_ns() + (uint64_t)(duration_s * 1e9) : 0;
    for (;;) {
        int sig;
        if (!end) {
            if (sigwait(set, &sig) == 0)
                return sig == SIGINT ? "SIGINT" : "SIGTERM";
            continue;
        }
        uint64_t t = pp_clock_now_ns();
        if (t >= end)
            return "duration";
        uint64_t left = end - t;
        struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
        sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            return sig == SIGINT ? "SIGINT" : "SIGTERM";
    }
}
