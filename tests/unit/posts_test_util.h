/*
 * posts_test_util.h - Helpers shared by the posts tests: temporary data sets,
 * free loopback ports, a real redis-server started and stopped by the test.
 * Test-only; static functions so each test program takes what it uses.
 */
#ifndef POSTS_TEST_UTIL_H
#define POSTS_TEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <posts/posts.h>

/* Under CI=true a missing tool fails the test; elsewhere the test is skipped. */
static inline int pt_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

static inline void pt_rmrf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* A fresh temp dir in *out (cap >= 64). */
static inline void pt_tmpdir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/posts_test_XXXXXX");
    if (!mkdtemp(out))
        abort();
}

/* Generate n posts (seed) into dir; train models when train. Returns datagen status. */
static inline int pt_gen(const char *dir, size_t n, uint64_t seed, int train,
                         posts_datagen_result *res)
{
    posts_datagen_opts o;
    posts_datagen_opts_init(&o);
    o.posts = n;
    o.seed = seed;
    o.out_dir = dir;
    o.train = train;
    posts_datagen_result r;
    posts_err err = {{0}};
    int rc = posts_datagen_run(&o, res ? res : &r, &err);
    if (rc != PP_OK)
        fprintf(stderr, "datagen: %s\n", err.msg);
    return rc;
}

/* PT_DATA_FIXTURE(dir, n, seed, train, res): cmocka's setup() and teardown()
 * for a test file whose cases share one data set: n generated posts (seed,
 * models trained when train, datagen's result into res unless NULL) in a
 * fresh temp dir held in the char array dir, removed afterwards. */
#define PT_DATA_FIXTURE(dir_, n_, seed_, train_, res_)                                             \
    static int setup(void **state)                                                                 \
    {                                                                                              \
        (void)state;                                                                               \
        pt_tmpdir(dir_, sizeof dir_);                                                              \
        return pt_gen(dir_, n_, seed_, train_, res_) == PP_OK ? 0 : -1;                            \
    }                                                                                              \
    static int teardown(void **state)                                                              \
    {                                                                                              \
        (void)state;                                                                               \
        pt_rmrf(dir_);                                                                             \
        return 0;                                                                                  \
    }

static inline int pt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static inline int pt_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static inline int pt_have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Start redis-server on 127.0.0.1:port; returns its pid (>0) once it accepts connections. */
static inline pid_t pt_redis_start(int port)
{
    pid_t pid = fork();
    if (pid == 0) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    /* readiness: poll until the port accepts or the server exits (no
     * deadline of its own: on a loaded machine a hang is ctest's to catch) */
    for (;;) {
        if (pt_port_open(port))
            return pid;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static inline void pt_kill(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

static inline int pt_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*out);
        return -1;
    }
    (*out)[n] = '\0';
    *len = (size_t)n;
    fclose(f);
    return 0;
}

static inline int pt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

#endif
