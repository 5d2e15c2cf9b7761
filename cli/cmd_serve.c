/*
 * cmd_serve.c - `postprof serve`: the system stats collector and this
 * process's metrics over HTTP (/metrics, /healthz, /api/snapshot) and the
 * live dashboard at / until SIGINT or SIGTERM, then a clean exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char serve_usage[] =
    "usage: postprof serve [--listen HOST:PORT] [--token T | --token-file FILE] [--interval S]\n"
    "                      [--max-connections N] [--max-per-client N] [--request-timeout S]\n"
    "                      [--log-level L]\n"
    "  --listen HOST:PORT  address to serve on (default " PP_HTTP_DEFAULT_LISTEN
    "; port 0 picks a free port)\n"
    "  --token T           require 'Authorization: Bearer T' on every request (visible to\n"
    "                      other users in the process list: prefer the two below)\n"
    "  --token-file FILE   the token is FILE's content (one line)\n"
    "  environment POSTPROF_TOKEN  the token, when neither option is given\n"
    "  --interval S        system stats sampling interval in seconds (default 1)\n"
    "  --max-connections N connections held at once (default 4096)\n"
    "  --max-per-client N  connections one client address holds at once (default 64; all\n"
    "                      of 127.0.0.0/8 is one client: raise it behind a local proxy)\n"
    "  --request-timeout S seconds for a request to arrive in full (default 10)\n"
    "  --log-level L       debug|info|warn|error|off (default info)\n";

#define TOKEN_MAX 4096

/* A usable bearer token: printable ASCII, no spaces. */
static int token_ok(const char *t)
{
    if (!*t)
        return 0;
    for (; *t; t++)
        if (*t <= ' ' || *t > '~')
            return 0;
    return 1;
}

/* Read the token from path (a file, or a pipe such as <(pass show x)) into
 * buf, the trailing newline and spaces dropped; 0, or -1 with a message. */
static int read_token_file(const char *path, char *buf, size_t cap)
{
    char *text = NULL, err[512];
    size_t len = 0;
    int rc = pp_file_read(path, cap - 1, &text, &len, err, sizeof err);
    if (rc != PP_OK) {
        if (rc == PP_ERANGE)
            cli_error("serve", "--token-file %s: over %zu bytes, not a token", path, cap - 1);
        else
            cli_error("serve", "--token-file %s", err);
        return -1;
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                   text[len - 1] == '\t'))
        len--;
    text[len] = '\0';
    int ok = strlen(text) == len && token_ok(text);
    if (ok)
        memcpy(buf, text, len + 1);
    free(text);
    if (!ok) {
        cli_error("serve", "--token-file %s: %s", path,
                  len ? "the token must be one line of printable characters without spaces"
                      : "empty");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)))
        fprintf(stderr, "postprof serve: warning: --token-file %s can be read by other users\n",
                path);
    return 0;
}

/* Allow as many connections as the hard fd limit permits. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The message for a server that could not start on listen. */
static void listen_error(const char *listen, int rc)
{
    if (rc == PP_EBUSY)
        cli_error("serve",
                  "cannot listen on %s: the port is already in use (another process "
                  "listens there; choose another with --listen)",
                  listen);
    else if (rc == PP_EPERM)
        cli_error("serve",
                  "cannot listen on %s: permission denied (ports below 1024 need "
                  "privileges)",
                  listen);
    else if (rc == PP_ENET)
        cli_error("serve",
                  "cannot listen on %s: the address cannot be bound (not an address "
                  "of this machine?)",
                  listen);
    else
        cli_error("serve", "cannot listen on %s: %s", listen, pp_strerror(rc));
}

int cmd_serve(int argc, char **argv)
{
    pp_http_config hc = {0};
    const char *token_file = NULL;
    static char token_buf[TOKEN_MAX];
    pp_sysstats_config sc = {0};
    int level = PP_LOG_INFO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(serve_usage, stdout);
            return PP_EXIT_OK;
        }
        if (i + 1 >= argc && (!strcmp(a, "--listen") || !strcmp(a, "--token") ||
                              !strcmp(a, "--token-file") || !strcmp(a, "--interval") ||
                              !strcmp(a, "--log-level") || !strcmp(a, "--max-connections") ||
                              !strcmp(a, "--max-per-client") || !strcmp(a, "--request-timeout")))
            return cli_usage_error("serve", serve_usage, "option '%s' needs a value", a);
        if (strcmp(a, "--listen") == 0) {
            hc.listen = argv[++i];
            char host[256];
            uint16_t port;
            if (pp_http_parse_listen(hc.listen, host, sizeof host, &port) != PP_OK)
                return cli_usage_error("serve", serve_usage,
                                       "--listen '%s': expected HOST:PORT (e.g. 127.0.0.1:9464)",
                                       hc.listen);
        } else if (strcmp(a, "--token") == 0) {
            hc.token = argv[++i];
            if (!token_ok(hc.token))
                return cli_usage_error("serve", serve_usage, "--token: %s",
                                       *hc.token ? "the token must be printable characters "
                                                   "without spaces"
                                                 : "empty token");
        } else if (strcmp(a, "--token-file") == 0) {
            token_file = argv[++i];
        } else if (strcmp(a, "--max-connections") == 0 || strcmp(a, "--max-per-client") == 0 ||
                   strcmp(a, "--request-timeout") == 0) {
            size_t n;
            size_t most = strcmp(a, "--request-timeout") == 0 ? 3600 : 1000000;
            if (cli_parse_count(argv[++i], &n) != 0 || n > most)
                return cli_usage_error("serve", serve_usage,
                                       "%s '%s': expected a whole number "
                                       "in [1, %zu]",
                                       a, argv[i], most);
            if (strcmp(a, "--max-connections") == 0)
                hc.max_connections = (unsigned)n;
            else if (strcmp(a, "--max-per-client") == 0)
                hc.per_client_connections = (unsigned)n;
            else
                hc.head_timeout_s = (unsigned)n;
        } else if (strcmp(a, "--interval") == 0) {
            char *end;
            sc.interval_s = strtod(argv[++i], &end);
            if (*end || !(sc.interval_s >= 0.01 && sc.interval_s <= 86400))
                return cli_usage_error("serve", serve_usage,
                                       "--interval '%s': expected seconds in [0.01, 86400]",
                                       argv[i]);
        } else if (strcmp(a, "--log-level") == 0) {
            level = pp_log_parse_level(argv[++i]);
            if (level < 0)
                return cli_usage_error("serve", serve_usage, "--log-level '%s': unknown level",
                                       argv[i]);
        } else {
            return cli_usage_error("serve", serve_usage, "unknown option '%s'", a);
        }
    }
    if (hc.token && token_file)
        return cli_usage_error("serve", serve_usage, "--token and --token-file: give one");
    if (token_file) {
        if (read_token_file(token_file, token_buf, sizeof token_buf) != 0)
            return PP_EXIT_USAGE;
        hc.token = token_buf;
    } else if (!hc.token && getenv("POSTPROF_TOKEN")) {
        hc.token = getenv("POSTPROF_TOKEN");
        if (!token_ok(hc.token))
            return cli_usage_error("serve", serve_usage, "POSTPROF_TOKEN: %s",
                                   *hc.token ? "the token must be printable characters "
                                               "without spaces"
                                             : "set but empty");
    }
    pp_log_set_level(level);
    raise_fd_limit();

    /* block the signals before any thread starts, so sigwait() receives them */
    sigset_t set;
    cli_stop_block(&set);

    int exit_code = PP_EXIT_FAIL;
    pp_sysstats *ss = NULL;
    pp_http_server *srv = NULL;
    pp_registry *reg = pp_metrics_default();
    if (!reg) {
        cli_error("serve", "cannot create the metrics registry: out of memory");
        goto out;
    }
    int rc = pp_sysstats_start(&sc, &ss);
    if (rc != PP_OK) {
        cli_error("serve", "cannot start the system stats collector: %s", pp_strerror(rc));
        goto out;
    }
    rc = pp_metrics_attach_sysstats(reg, ss);
    if (rc != PP_OK) {
        cli_error("serve", "cannot export system stats: %s", pp_strerror(rc));
        goto out;
    }
    hc.registry = reg;
    hc.sysstats = ss;
    rc = pp_http_start(&hc, &srv);
    if (rc != PP_OK) {
        listen_error(hc.listen ? hc.listen : PP_HTTP_DEFAULT_LISTEN, rc);
        goto out;
    }
    rc = pp_dashboard_attach(srv);
    if (rc != PP_OK) {
        cli_error("serve", "cannot serve the dashboard: %s", pp_strerror(rc));
        goto out;
    }
    printf("postprof serve: listening on http://%s (dashboard at /; /metrics /healthz "
           "/api/snapshot)\n",
           pp_http_address(srv));
    if (hc.token)
        printf("postprof serve: requests need 'Authorization: Bearer <token>'; in a browser "
               "open http://%s/#token=<token>\n",
               pp_http_address(srv));
    fflush(stdout);
    pp_log(PP_LOG_INFO, "serve", "stopping", "signal", cli_stop_wait(&set, 0), NULL);
    exit_code = PP_EXIT_OK;
out:
    pp_http_stop(srv);
    if (reg && pp_metrics_attach_sysstats(reg, NULL) != PP_OK) {
        /* detaching cannot fail once attached */
    }
    pp_sysstats_stop(ss);
    pp_metrics_default_free();
    return exit_code;
}
