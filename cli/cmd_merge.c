/*
 * cmd_merge.c - `postprof merge A B ... -o fleet.pb.gz`: the profiles of many
 * nodes merged into one pprof file, each sample labelled with the node it
 * came from. An input that cannot be read is named and left out; the others
 * are still merged. Exit 0 all merged, 1 an input was left out, 2 usage or
 * no input readable, 125 the output could not be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char merge_usage[] =
    "usage: postprof merge [-o FILE] [-q] INPUT...\n"
    "  INPUT              a profile (pprof, folded or speedscope), given as one of:\n"
    "    FILE             node name from the file name, without its directory and\n"
    "                     its format suffix (.pb.gz, .pprof, .folded, .speedscope.json,\n"
    "                     .json, .gz): web-1.pb.gz is node web-1\n"
    "    NAME=FILE        node NAME (when the text before the first '=' has no '/';\n"
    "                     a file whose name has '=' goes as ./FILE or with --node)\n"
    "    --node NAME FILE node NAME\n"
    "  -o, --output FILE  the merged profile, pprof (gzipped; default merged.pb.gz);\n"
    "                     a regular file is replaced atomically; never an input\n"
    "  -q, --quiet        no summary on stderr\n"
    "Every sample keeps a `node` label naming its input's node; an input that is\n"
    "itself a merged profile keeps the node labels it has. All inputs must count\n"
    "the same things (CPU samples with CPU samples, allocations with allocations).\n"
    "Exit status: 0 all merged; 1 an input could not be read or did not match (it is\n"
    "named and left out, the others are written); 2 usage error or no input readable;\n"
    "125 the output could not be written.\n";

typedef struct {
    const char *node; /* as given, or NULL: from the file name */
    const char *path;
} input;

/* "dir/web-1.pb.gz" -> "web-1" */
static void node_from_path(const char *path, char *out, size_t cap)
{
    static const char *const suffixes[] = {".pb.gz",  ".pprof.gz",        ".pprof", ".pb",
                                           ".folded", ".speedscope.json", ".json",  ".gz"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && strcmp(base + len - sl, suffixes[i]) == 0) {
            len -= sl;
            break;
        }
    }
    snprintf(out, cap, "%.*s", (int)len, base);
}

/* NAME=FILE: the text before the first '=' is a node name when it has no '/' */
static int split_named(const char *arg, input *in, char *buf, size_t cap)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || memchr(arg, '/', (size_t)(eq - arg)) || !eq[1])
        return 0;
    snprintf(buf, cap, "%.*s", (int)(eq - arg), arg);
    in->node = buf;
    in->path = eq + 1;
    return 1;
}

static int parse_args(int argc, char **argv, input *ins, char (*names)[256], size_t *nins,
                      const char **out, int *quiet)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(merge_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("merge", merge_usage, "%s needs a file name", a);
            *out = argv[++i];
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            *quiet = 1;
        } else if (strcmp(a, "--node") == 0) {
            if (i + 2 >= argc || !argv[i + 1][0])
                return cli_usage_error("merge", merge_usage, "--node needs a name and a file");
            ins[*nins] = (input){argv[i + 1], argv[i + 2]};
            (*nins)++;
            i += 2;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("merge", merge_usage, "unknown option '%s'", a);
        } else {
            if (!split_named(a, &ins[*nins], names[*nins], sizeof names[0]))
                ins[*nins] = (input){NULL, a};
            (*nins)++;
        }
    }
    if (*nins == 0)
        return cli_usage_error("merge", merge_usage, "needs at least one profile to merge");
    return -1;
}

int cmd_merge(int argc, char **argv)
{
    size_t cap = (size_t)argc;
    input *ins = calloc(cap, sizeof *ins);
    char(*names)[256] = calloc(cap, sizeof *names);
    pp_profile *merged = NULL;
    size_t nins = 0, merged_n = 0;
    const char *out = "merged.pb.gz";
    int quiet = 0, failed = 0, code;
    if (!ins || !names) {
        code = cli_error("merge", "out of memory");
        goto done;
    }
    code = parse_args(argc, argv, ins, names, &nins, &out, &quiet);
    if (code >= 0)
        goto done;
    for (size_t i = 0; i < nins; i++)
        if (pp_file_same(ins[i].path, out)) {
            code = cli_usage_error("merge", merge_usage,
                                   "the output %s is the input %s: it would be overwritten", out,
                                   ins[i].path);
            goto done;
        }
    char err[1024];
    if (pp_file_out_check(out, 0, err, sizeof err) != PP_OK) {
        code = cli_output_error("merge", err);
        goto done;
    }
    for (size_t i = 0; i < nins; i++) {
        if (!ins[i].node) {
            node_from_path(ins[i].path, names[i], sizeof names[i]);
            ins[i].node = names[i];
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(ins[k].node, ins[i].node) == 0 && !quiet)
                fprintf(stderr,
                        "postprof merge: note: %s and %s are both node '%s': their samples "
                        "share the label\n",
                        ins[k].path, ins[i].path, ins[i].node);
        pp_profile *p = NULL;
        char msg[512] = "";
        int rc = pp_profile_read(ins[i].path, &p, msg, sizeof msg);
        if (rc == PP_OK)
            rc = pp_profile_merge_add(&merged, p, ins[i].node, msg, sizeof msg);
        pp_profile_free(p);
        if (rc == PP_ENOMEM || rc == PP_ERANGE) {
            code = cli_error("merge", "%s: %s", ins[i].path, msg[0] ? msg : pp_strerror(rc));
            goto done;
        }
        if (rc != PP_OK) {
            fprintf(stderr, "postprof merge: %s: %s; left out\n", ins[i].path,
                    msg[0] ? msg : pp_strerror(rc));
            failed = 1;
            continue;
        }
        merged_n++;
    }
    if (!merged) {
        code = cli_usage_error("merge", merge_usage, "no input could be read: nothing written");
        goto done;
    }
    int rc = pp_profile_write(merged, PP_FORMAT_PPROF, out, err, sizeof err);
    if (rc != PP_OK) {
        code = cli_output_error("merge", err[0] ? err : pp_strerror(rc));
        goto done;
    }
    size_t nodes = 0;
    if (!quiet && pp_profile_nodes(merged, NULL, 0, &nodes) == PP_OK)
        fprintf(stderr, "postprof merge: %zu of %zu profiles, %zu node%s -> %s\n", merged_n, nins,
                nodes, nodes == 1 ? "" : "s", out);
    code = failed ? PP_EXIT_FAIL : PP_EXIT_OK;
done:
    pp_profile_free(merged);
    free(ins);
    free(names);
    return code;
}
