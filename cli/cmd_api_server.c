/*
 * cmd_api_server.c - `postprof api-server`: serves DIR/posts.db over HTTP until
 * SIGINT or SIGTERM. Binds 127.0.0.1 unless --listen says otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

static const char api_usage[] =
    "usage: postprof api-server [--data DIR] [--listen HOST:PORT] [--threads N]\n"
    "  --data DIR          directory holding posts.db (default data)\n"
    "  --listen HOST:PORT  IPv4 address and port (default 127.0.0.1:8080; port 0 = any)\n"
    "  --threads N         worker threads (default 4)\n"
    "Serves GET /posts?cursor=C&limit=L and GET /posts/{id}; prints 'listening: URL'.\n";

#ifdef PP_HAVE_POSTS
#include <posts/posts.h>

int cmd_api_server(int argc, char **argv)
{
    const char *data = "data", *listen = "127.0.0.1:8080";
    unsigned threads = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(api_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(a, "--data") == 0 && v) {
            data = v;
            i++;
        } else if (strcmp(a, "--listen") == 0 && v) {
            listen = v;
            i++;
        } else if (strcmp(a, "--threads") == 0 && v) {
            threads = (unsigned)atoi(v);
            if (threads < 1 || threads > 256)
                return cli_usage_error("api-server", api_usage, "bad --threads '%s'", v);
            i++;
        } else {
            return cli_usage_error("api-server", api_usage, "unknown option '%s'", a);
        }
    }
    char host[64];
    const char *colon = strrchr(listen, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || (size_t)(colon - listen) >= sizeof host || colon == listen || *end || port < 0 ||
        port > 65535)
        return cli_usage_error("api-server", api_usage, "bad --listen '%s' (want HOST:PORT)",
                               listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char db[1024];
    snprintf(db, sizeof db, "%s/posts.db", data);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads start */
    posts_api_server *s;
    posts_err err = {{0}};
    int rc = posts_api_server_start(db, host, (uint16_t)port, threads, &s, &err);
    if (rc != PP_OK)
        return cli_error("api-server", "%s", err.msg);
    printf("listening: http://%s:%u\n", host, (unsigned)posts_api_server_port(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    printf("requests: %llu\n", (unsigned long long)posts_api_server_requests(s));
    posts_api_server_stop(s);
    return PP_EXIT_OK;
}
#else
int cmd_api_server(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_error("api-server", "this build has no posts pipeline");
}
#endif
