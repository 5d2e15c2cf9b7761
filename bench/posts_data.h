/*
 * posts_data.h - The data the posts benchmarks (bench_pipeline,
 * bench_op_figures) run on: a folder the user names, or posts generated into
 * a temporary folder that is removed at the end. Benchmarks only.
 */
#ifndef PP_BENCH_POSTS_DATA_H
#define PP_BENCH_POSTS_DATA_H

#include <stddef.h>

/*
 * bench_posts_data() - dir when it is not NULL; else nposts posts generated
 * into a new temporary folder, whose name goes to tmp (cap bytes; tmp[0] is
 * 0 otherwise) and the seconds that took to *out_gen_s (may be NULL). NULL
 * on a failure, said on stderr after prog.
 */
const char *bench_posts_data(const char *prog, const char *dir, size_t nposts, char *tmp,
                             size_t cap, double *out_gen_s);

/*
 * bench_posts_args() - The command line of a posts benchmark: --posts N,
 * --data DIR and one more count, the option named extra (e.g. "--pairs"),
 * into *nposts, *data and *extra_val (each left as it is when not given).
 * Returns 0, or 2 after printing prog's usage on stderr.
 */
int bench_posts_args(int argc, char **argv, const char *prog, const char *extra, size_t *nposts,
                     const char **data, size_t *extra_val);

/* bench_posts_data_remove() - Remove the temporary folder tmp, if any (tmp[0]). */
void bench_posts_data_remove(const char *prog, const char *tmp);

#endif
