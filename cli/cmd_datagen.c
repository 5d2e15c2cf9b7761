/*
 * cmd_datagen.c - `postprof datagen`: writes DIR/posts.db, DIR/posts.jsonl and
 * the three models, shows progress on stderr, prints name: value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char datagen_usage[] =
    "usage: postprof datagen [--posts N] [--out DIR] [--seed S] [--postgres URL] [--no-train]\n"
    "                        [--quiet]\n"
    "  --posts N       posts to generate (default 100000)\n"
    "  --out DIR       output directory (default data)\n"
    "  --seed S        same seed, byte-identical files (default 42)\n"
    "  --postgres URL  also load table posts into PostgreSQL (libpq URL)\n"
    "  --no-train      skip training the models\n"
    "  --quiet         no progress on stderr\n";

#ifdef PP_HAVE_POSTS
#include <posts/posts.h>

static void progress(void *user, const char *stage, size_t done, size_t total)
{
    (void)user;
    fprintf(stderr, "\rdatagen: %-6s %zu/%zu   ", stage, done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

int cmd_datagen(int argc, char **argv)
{
    posts_datagen_opts o;
    posts_datagen_opts_init(&o);
    int quiet = 0;
    o.progress = progress;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(datagen_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(a, "--posts") == 0 && v) {
            if (cli_parse_count(v, &o.posts))
                return cli_usage_error("datagen", datagen_usage, "bad --posts '%s'", v);
            i++;
        } else if (strcmp(a, "--out") == 0 && v) {
            o.out_dir = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            char *end;
            o.seed = strtoull(v, &end, 10);
            if (*end || !*v)
                return cli_usage_error("datagen", datagen_usage, "bad --seed '%s'", v);
            i++;
        } else if (strcmp(a, "--postgres") == 0 && v) {
            o.postgres_url = v;
            i++;
        } else if (strcmp(a, "--no-train") == 0) {
            o.train = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            return cli_usage_error("datagen", datagen_usage, "unknown option '%s'", a);
        }
    }
    if (quiet)
        o.progress = NULL;
    posts_datagen_result r;
    posts_err err = {{0}};
    uint64_t t0 = pp_clock_now_ns();
    int rc = posts_datagen_run(&o, &r, &err);
    if (rc != PP_OK)
        return cli_error("datagen", "%s", err.msg[0] ? err.msg : pp_strerror(rc));
    printf("posts: %zu\n", o.posts);
    printf("out: %s\n", o.out_dir);
    printf("seed: %llu\n", (unsigned long long)o.seed);
    if (o.train) {
        printf("train_posts: %zu\n", r.train_posts);
        printf("auc_small: %.4f\n", r.auc[0]);
        printf("auc_medium: %.4f\n", r.auc[1]);
        printf("auc_large: %.4f\n", r.auc[2]);
    }
    printf("sqlite_s: %.3f\n", r.ns_sqlite / 1e9);
    printf("jsonl_s: %.3f\n", r.ns_jsonl / 1e9);
    printf("train_s: %.3f\n", r.ns_train / 1e9);
    if (o.postgres_url)
        printf("postgres_s: %.3f\n", r.ns_postgres / 1e9);
    printf("total_s: %.3f\n", (pp_clock_now_ns() - t0) / 1e9);
    return PP_EXIT_OK;
}
#else
int cmd_datagen(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_error("datagen", "this build has no posts pipeline");
}
#endif
