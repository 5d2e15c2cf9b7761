/*
 * posts_data.c - The posts benchmarks' data folder (posts_data.h): given, or
 * generated into a temporary folder and removed at the end.
 */
#include "posts_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>
#include <posts/posts.h>

const char *bench_posts_data(const char *prog, const char *dir, size_t nposts, char *tmp,
                             size_t cap, double *out_gen_s)
{
    tmp[0] = '\0';
    if (out_gen_s)
        *out_gen_s = 0;
    if (dir)
        return dir;
    snprintf(tmp, cap, "/tmp/%s_XXXXXX", prog);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "%s: cannot make a temporary folder %s\n", prog, tmp);
        tmp[0] = '\0';
        return NULL;
    }
    posts_datagen_opts o;
    posts_datagen_opts_init(&o);
    o.posts = nposts;
    o.out_dir = tmp;
    posts_datagen_result r;
    posts_err err = {{0}};
    uint64_t t0 = pp_clock_now_ns();
    if (posts_datagen_run(&o, &r, &err) != PP_OK) {
        fprintf(stderr, "%s: datagen: %s\n", prog, err.msg);
        bench_posts_data_remove(prog, tmp);
        tmp[0] = '\0';
        return NULL;
    }
    if (out_gen_s)
        *out_gen_s = (double)(pp_clock_now_ns() - t0) / 1e9;
    return tmp;
}

void bench_posts_data_remove(const char *prog, const char *tmp)
{
    if (!tmp[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", prog, tmp);
}

int bench_posts_args(int argc, char **argv, const char *prog, const char *extra, size_t *nposts,
                     const char **data, size_t *extra_val)
{
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(argv[i], "--posts") == 0)
            *nposts = strtoul(v, NULL, 10);
        else if (v && strcmp(argv[i], "--data") == 0)
            *data = v;
        else if (v && strcmp(argv[i], extra) == 0)
            *extra_val = strtoul(v, NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--posts N] [--data DIR] [%s N]\n", prog, extra);
            return 2;
        }
        i++;
    }
    return 0;
}
