/*
 * cmd_record.c - `postprof record`: the options, then one of two ways to get
 * samples (record_launch.c): run CMD with libpostprof_preload.so preloaded
 * (CPU or wall-clock sampling, or allocation profiling), or attach to a
 * running process (-p PID, perf events through pp_record_attach()); what
 * they leave is symbolized and written as folded, speedscope, pprof or
 * Chrome trace output (record_collect.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"
#include "record/record.h"

static const char record_usage[] =
    "usage: postprof record [options] -- CMD [ARGS...]\n"
    "       postprof record -p PID [-F HZ] [--duration S] [--format FMT] [-o FILE]\n"
    "  -F, --freq HZ         samples per second of CPU time per thread (default 99)\n"
    "  --wall                sample all threads on wall-clock time; waiting shows as [off-cpu]\n"
    "  --mem                 profile allocations instead (sampled, mean 512 KiB)\n"
    "  --mem-rate BYTES      mean bytes between allocation samples (implies --mem)\n"
    "  --mem-all             record every allocation (implies --mem; exact)\n"
    "  --format FMT          folded | speedscope | pprof | chrome (default: from -o, else "
    "pprof)\n"
    "  -o, --output FILE     where to write (default profile.pb.gz, profile.folded, ...);\n"
    "                        '-', a device or a FIFO is written as it is, never replaced\n"
    "  --follow-forks        profile forked children too, each into FILE with .PID added\n"
    "  --timer perf|posix    sampling timer (default perf, falling back to posix)\n"
    "  --unwind fp|libunwind stack walking in the handler (default fp: frame pointers)\n"
    "  -p, --pid PID         profile a running process instead (CPU only; until it exits,\n"
    "                        --duration passes, or Ctrl-C; needs its user or root)\n"
    "  --duration S          with -p: stop after S seconds\n"
    "  -q, --quiet           no summary on stderr\n"
    "  --push URL            also upload the profile to Pyroscope (or Grafana Alloy's\n"
    "                        pyroscope.receive_http) at URL: POST URL/ingest, pprof;\n"
    "                        the file is written first, whatever the push does\n"
    "  --push-app NAME       application name (default: the command's name; with -p,\n"
    "                        the process's): letters, digits, '_', '.', '/', '-'\n"
    "  --push-labels K=V,... labels of the series, e.g. env=prod,region=eu\n"
    "  --push-tenant ID      X-Scope-OrgID of a multi-tenant server\n"
    "  --push-timeout S      give up pushing after S seconds, retries included (default\n"
    "                        15; 429, 502, 503, 504 and lost connections are retried)\n"
    "Exit status: the target's (128+N when it died of signal N); 125 when the output\n"
    "could not be written (missing directory, read-only file system, disk full), said\n"
    "before the target starts when it can be; 122 when the output was written but the\n"
    "push failed (refused, or the server unreachable after retries); 1 when it exited 0\n"
    "but left no profile.\n";

static const char *const default_names[] = {"profile.folded", "profile.speedscope.json",
                                            "profile.pb.gz", "profile.trace.json"};

static int format_from_name(const char *path)
{
    if (record_ends_with(path, ".folded") || record_ends_with(path, ".txt"))
        return PP_FORMAT_FOLDED;
    if (record_ends_with(path, ".speedscope.json") || record_ends_with(path, ".speedscope"))
        return PP_FORMAT_SPEEDSCOPE;
    if (record_ends_with(path, ".trace.json") || record_ends_with(path, ".chrome.json"))
        return PP_FORMAT_CHROME;
    return PP_FORMAT_PPROF;
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* what parse_option() says besides an exit code */
#define OPT_TAKEN (-1)    /* the option (and its value) was consumed */
#define OPT_NOT_MINE (-2) /* not an option: the command starts here */

typedef struct {
    int timer_given, unwind_given; /* options that go only with a command */
} parse_state;

/* a usage error of record */
#define bad(...) cli_usage_error("record", record_usage, __VA_ARGS__)

/* An option without a value; 1 when it was one. */
static int parse_flag(const char *a, record_opts *o)
{
    if (strcmp(a, "--wall") == 0)
        o->wall = 1;
    else if (strcmp(a, "--mem") == 0)
        o->mem = 1;
    else if (strcmp(a, "--mem-all") == 0)
        o->mem = o->mem_all = 1;
    else if (strcmp(a, "--follow-forks") == 0)
        o->follow = 1;
    else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
        o->quiet = 1;
    else
        return 0;
    return 1;
}

/* An option with a value (val, NULL when missing); OPT_TAKEN, OPT_NOT_MINE or an exit code. */
static int parse_valued(const char *a, const char *val, record_opts *o, parse_state *ps)
{
    unsigned long long v;
    char *end;
    if (strcmp(a, "-F") == 0 || strcmp(a, "--freq") == 0) {
        if (!val || parse_u64(val, 100000, &o->hz) != 0 || o->hz == 0)
            return bad("%s needs a rate in Hz (1-100000)", a);
    } else if (strcmp(a, "--mem-rate") == 0) {
        if (!val || parse_u64(val, 1ull << 40, &o->mem_rate) != 0 || o->mem_rate == 0)
            return bad("%s needs a positive number of bytes", a);
        o->mem = 1;
    } else if (strcmp(a, "--format") == 0) {
        if ((o->fmt = val ? pp_profile_format_parse(val) : -1) < 0)
            return bad("%s must be folded, speedscope, pprof or chrome", a);
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
        if (!(o->out = val))
            return bad("%s needs a file name", a);
    } else if (strcmp(a, "--timer") == 0) {
        if (!val || (strcmp(val, "perf") != 0 && strcmp(val, "posix") != 0))
            return bad("%s must be perf or posix", a);
        o->force_posix = strcmp(val, "posix") == 0;
        ps->timer_given = 1;
    } else if (strcmp(a, "--unwind") == 0) {
        if (!val || (strcmp(val, "fp") != 0 && strcmp(val, "libunwind") != 0))
            return bad("%s must be fp or libunwind", a);
        o->libunwind = strcmp(val, "libunwind") == 0;
        ps->unwind_given = 1;
    } else if (strcmp(a, "-p") == 0 || strcmp(a, "--pid") == 0) {
        if (!val || parse_u64(val, 0x7fffffff, &v) != 0 || v == 0)
            return bad("%s needs a process id", a);
        o->attach_pid = (long)v;
    } else if (strcmp(a, "--push") == 0) {
        if (!(o->push_url = val))
            return bad("%s needs a URL", a);
    } else if (strcmp(a, "--push-app") == 0) {
        if (!(o->push_app = val))
            return bad("%s needs a name", a);
    } else if (strcmp(a, "--push-labels") == 0) {
        if (!(o->push_labels = val))
            return bad("%s needs key=value,...", a);
    } else if (strcmp(a, "--push-tenant") == 0) {
        if (!(o->push_tenant = val))
            return bad("%s needs a tenant id", a);
    } else if (strcmp(a, "--push-timeout") == 0) {
        o->push_timeout = val ? strtod(val, &end) : -1;
        if (!val || *end || end == val || !(o->push_timeout > 0) || o->push_timeout > 3600)
            return bad("%s needs a number of seconds (up to 3600)", a);
    } else if (strcmp(a, "--duration") == 0) {
        o->duration = val ? strtod(val, &end) : -1;
        if (!val || *end || end == val || !(o->duration > 0) || o->duration > 1e7)
            return bad("%s needs a positive number of seconds", a);
    } else {
        return a[0] == '-' ? bad("unknown option '%s'", a) : OPT_NOT_MINE;
    }
    return OPT_TAKEN;
}

/* Options up to "--" or the first non-option; *cmd_at is where the command starts. */
static int parse_options(int argc, char **argv, record_opts *o, parse_state *ps, int *cmd_at)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (cli_is_help(a)) {
            fputs(record_usage, stdout);
            return PP_EXIT_OK;
        }
        if (parse_flag(a, o))
            continue;
        int rc = parse_valued(a, i + 1 < argc ? argv[i + 1] : NULL, o, ps);
        if (rc == OPT_NOT_MINE)
            break;
        if (rc != OPT_TAKEN)
            return rc;
        i++;
    }
    *cmd_at = i;
    return OPT_TAKEN;
}

/* The application name when --push-app is not given: the command's (or the
 * process's) name, with what Pyroscope does not take turned into '_'. */
static void default_app(record_opts *o, const char *cmd)
{
    char name[256] = "";
    if (o->attach_pid) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/comm", o->attach_pid);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(name, sizeof name, f))
                name[0] = 0;
            fclose(f);
        }
        name[strcspn(name, "\n")] = 0;
    } else if (cmd) {
        const char *base = strrchr(cmd, '/');
        snprintf(name, sizeof name, "%s", base ? base + 1 : cmd);
    }
    for (char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '/' || *c == '-'))
            *c = '_';
    snprintf(o->push_app_buf, sizeof o->push_app_buf, "%s", name[0] ? name : "postprof");
    o->push_app = o->push_app_buf;
}

/* --push and its companions: checked before the target starts */
static int check_push(record_opts *o, const char *cmd)
{
    if (!o->push_url) {
        if (o->push_app || o->push_labels || o->push_tenant || o->push_timeout > 0)
            return bad("%s", "--push-app, --push-labels, --push-tenant and --push-timeout go "
                             "with --push URL");
        return OPT_TAKEN;
    }
    if (!o->push_app)
        default_app(o, cmd);
    pp_push_opts po = {
        .url = o->push_url, .app = o->push_app, .labels = o->push_labels, .tenant = o->push_tenant};
    char err[512];
    if (pp_push_check(&po, err, sizeof err) != PP_OK)
        return bad("--push: %s", err);
    return OPT_TAKEN;
}

/* The output and the options that only one of the two ways takes. */
static int check_options(record_opts *o, const parse_state *ps, int has_cmd)
{
    if (o->fmt < 0)
        o->fmt = o->out ? format_from_name(o->out) : PP_FORMAT_PPROF;
    if (!o->out)
        o->out = default_names[o->fmt];
    if (o->follow && record_special_output(o->out))
        return cli_usage_error("record", record_usage,
                               "--follow-forks writes a file per process: -o must name a file, "
                               "not '%s'",
                               o->out);
    if (o->attach_pid) {
        if (has_cmd)
            return bad("%s", "give either -p PID or a command, not both");
        if (o->wall || o->mem || o->follow || ps->timer_given || ps->unwind_given)
            return bad("%s", "-p samples CPU time by perf events only: --wall, --mem, "
                             "--follow-forks, --timer and --unwind need the target started by "
                             "postprof");
        return OPT_TAKEN;
    }
    if (o->duration > 0)
        return bad("%s", "--duration goes with -p PID");
    if (!has_cmd)
        return bad("%s", "missing the command to profile");
    if (o->wall && o->mem)
        return bad("%s", "--wall and --mem cannot be combined");
    return OPT_TAKEN;
}

int cmd_record(int argc, char **argv)
{
    record_opts o = {.hz = 99, .mem_rate = 512 * 1024, .fmt = -1};
    parse_state ps = {0, 0};
    int cmd_at = argc;
    int rc = parse_options(argc, argv, &o, &ps, &cmd_at);
    if (rc == OPT_TAKEN)
        rc = check_options(&o, &ps, cmd_at < argc);
    if (rc == OPT_TAKEN)
        rc = check_push(&o, cmd_at < argc ? argv[cmd_at] : NULL);
    if (rc != OPT_TAKEN)
        return rc;
    if (record_output_unwritable(o.out))
        return PP_EXIT_OUTPUT;
    if (o.attach_pid)
        return record_pid(&o);
    o.cmd = argv + cmd_at;
    return record_command(&o);
}
