/*
 * file.c - The one way postprof reads an input file (whole, with a hard size
 * cap) and writes an output file (atomic replace of a regular file, in-place
 * write of a device, FIFO or standard output; see postprof/file.h). Never
 * prints; every error names the path and says why in words.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <postprof/error.h>
#include <postprof/file.h>

#include "common/strbuf.h"

#define TMP_TAG ".postprof-tmp."
#define TMP_BASE_MAX 200 /* bytes of the target's name kept in a temporary file's name */
#define OUT_BUFFER (64u * 1024)

enum out_kind {
    OUT_ATOMIC,  /* temporary file renamed over the target */
    OUT_REWRITE, /* regular file rewritten in place (owner or hard links to keep) */
    OUT_SPECIAL, /* device, FIFO or descriptor: written as it is */
};

struct pp_file_out {
    FILE *f;
    int fd;
    enum out_kind kind;
    int werr;    /* errno of the first failed write */
    char *shown; /* the path as the caller gave it, for messages */
    char *path;  /* the file to replace (symbolic links resolved) */
    char *dir;   /* its directory */
    char *tmp;   /* the temporary file (OUT_ATOMIC) */
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return PP_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
    case ETXTBSY:
        return PP_EPERM;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return PP_EFULL;
    case ENOMEM:
        return PP_ENOMEM;
    case EISDIR:
        return PP_EINVAL;
    case ENAMETOOLONG:
        return PP_ERANGE;
    default:
        return PP_EIO;
    }
}

/* why a write failed, in words: BEFORE, the directory when with_dir, AFTER */
static const struct {
    int e;
    const char *before;
    int with_dir;
    const char *after;
} write_whys[] = {
    {ENOENT, "the directory ", 1, " does not exist"},
    {ENOTDIR, "a part of ", 1, " is not a directory"},
    {EACCES, "permission denied in ", 1, ""},
    {EPERM, "permission denied in ", 1, ""},
    {EROFS, "", 1, " is on a read-only file system"},
    {ENOSPC, "no space left on the device (the disk is full)", 0, ""},
    {EDQUOT, "the disk quota is exhausted", 0, ""},
    {EFBIG, "larger than the file system allows", 0, ""},
    {EPIPE, "the reading end was closed (broken pipe)", 0, ""},
    {ENAMETOOLONG, "the name is too long", 0, ""},
};

/* "cannot write PATH: <why, in words>" for an errno met creating or writing it */
static int write_error(int e, const char *shown, const char *dir, char *err, size_t errcap)
{
    for (size_t i = 0; i < sizeof write_whys / sizeof write_whys[0]; i++)
        if (write_whys[i].e == e) {
            pp__set_err(err, errcap, "cannot write %s: %s%s%s", shown, write_whys[i].before,
                        write_whys[i].with_dir ? dir : "", write_whys[i].after);
            return errno_status(e);
        }
    pp__set_err(err, errcap, "cannot write %s: %s", shown, strerror(e));
    return errno_status(e);
}

/* the descriptor a special name stands for ("-", /dev/stdout, /dev/fd/N), or -1 */
static int named_descriptor(const char *path)
{
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0)
        return 1;
    if (strcmp(path, "/dev/stderr") == 0)
        return 2;
    const char *n = NULL;
    if (strncmp(path, "/dev/fd/", 8) == 0)
        n = path + 8;
    else if (strncmp(path, "/proc/self/fd/", 14) == 0)
        n = path + 14;
    if (!n || *n < '0' || *n > '9')
        return -1;
    char *end;
    long v = strtol(n, &end, 10);
    return *end || v < 0 || v > 1000000 ? -1 : (int)v;
}

/* ---- the stream: a cookie stream that remembers why a write failed ---- */

static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
    pp_file_out *o = cookie;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(o->fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!o->werr)
                o->werr = n < 0 ? errno : ENOSPC;
            return (ssize_t)off; /* short: the stream records an error */
        }
        off += (size_t)n;
    }
    return (ssize_t)off;
}

static int stream_close(void *cookie)
{
    (void)cookie; /* the descriptor is closed by commit/abort */
    return 0;
}

static int attach_stream(pp_file_out *o)
{
    cookie_io_functions_t fns = {
        .read = NULL, .write = stream_write, .seek = NULL, .close = stream_close};
    o->f = fopencookie(o, "w", fns);
    if (!o->f)
        return PP_ENOMEM;
    (void)setvbuf(o->f, NULL, _IOFBF, OUT_BUFFER);
    return PP_OK;
}

/* ---- temporary files ---- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void random_suffix(char out[7])
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = mix64(((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                       ((uint64_t)getpid() << 32) ^ mix64(atomic_fetch_add(&counter, 1)));
    for (int i = 0; i < 6; i++, x /= 62)
        out[i] = abc[x % 62];
    out[6] = '\0';
}

/* The temporary-file prefix for the file named base: "BASE.postprof-tmp." */
static void tmp_prefix(char *out, size_t cap, const char *base)
{
    size_t n = strlen(base);
    snprintf(out, cap, "%.*s%s", (int)(n > TMP_BASE_MAX ? TMP_BASE_MAX : n), base, TMP_TAG);
}

/*
 * Remove our temporary files for base in dir that a killed run left: the name
 * is "PREFIX.PID.XXXXXX", PID no longer runs, and the file is older than
 * PP_FILE_STALE_TMP_S. Best effort: failures are ignored.
 */
static void remove_stale(const char *dir, const char *base)
{
    char prefix[TMP_BASE_MAX + 32];
    tmp_prefix(prefix, sizeof prefix, base);
    size_t plen = strlen(prefix);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end;
        const char *p = e->d_name + plen;
        long pid = strtol(p, &end, 10);
        if (end == p || pid <= 0 || *end != '.' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its writer may still run */
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            now - st.st_mtime < PP_FILE_STALE_TMP_S)
            continue;
        (void)unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

/* split o->path into o->dir; returns the base name inside o->path */
static const char *split_dir(pp_file_out *o)
{
    const char *slash = strrchr(o->path, '/');
    if (!slash) {
        o->dir = dup_str(".");
        return o->path;
    }
    size_t n = slash == o->path ? 1 : (size_t)(slash - o->path);
    o->dir = malloc(n + 1);
    if (o->dir) {
        memcpy(o->dir, o->path, n);
        o->dir[n] = '\0';
    }
    return slash + 1;
}

/* create the temporary file beside o->path, with the mode and owner of *old (or 0666 & ~umask) */
static int open_temp(pp_file_out *o, const struct stat *old, char *err, size_t errcap)
{
    const char *base = split_dir(o);
    if (!o->dir)
        return PP_ENOMEM;
    if (!*base) {
        pp__set_err(err, errcap, "cannot write %s: %s", o->shown, "no file name");
        return PP_EINVAL;
    }
    remove_stale(o->dir, base);
    char prefix[TMP_BASE_MAX + 32];
    tmp_prefix(prefix, sizeof prefix, base);
    size_t cap = strlen(o->dir) + strlen(prefix) + 40;
    o->tmp = malloc(cap);
    if (!o->tmp)
        return PP_ENOMEM;
    for (int tries = 0;; tries++) {
        char suffix[7];
        random_suffix(suffix);
        snprintf(o->tmp, cap, "%s/%s%ld.%s", o->dir, prefix, (long)getpid(), suffix);
        /* 0666 lets the umask decide a new file's mode, as for any created file */
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (o->fd >= 0)
            break;
        int e = errno;
        if (e != EEXIST || tries >= 100) {
            free(o->tmp);
            o->tmp = NULL;
            /* the file exists, so its directory does: one that takes no new
             * file (procfs, sysfs say ENOENT): the caller writes in place */
            if (old && e == ENOENT)
                return PP_EPERM;
            return write_error(e, o->shown, o->dir, err, errcap);
        }
    }
    if (old) {
        /* owner first: chown clears set-id bits that the chmod then restores */
        if (fchown(o->fd, old->st_uid, old->st_gid) != 0)
            return PP_EPERM; /* the caller rewrites in place instead */
        if (fchmod(o->fd, old->st_mode & 07777) != 0) {
            int e = errno;
            return write_error(e, o->shown, o->dir, err, errcap);
        }
    }
    return PP_OK;
}

static void drop_temp(pp_file_out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
}

static void out_free(pp_file_out *o)
{
    if (o->f)
        fclose(o->f);
    if (o->fd >= 0)
        close(o->fd);
    free(o->shown);
    free(o->path);
    free(o->dir);
    free(o->tmp);
    free(o);
}

/* why an existing target of this type is refused, or NULL */
static const char *refusal(mode_t m, unsigned flags)
{
    if (S_ISDIR(m))
        return "it is a directory";
    if (S_ISBLK(m))
        return "it is a block device (refused: never written)";
    if (S_ISSOCK(m))
        return "it is a socket";
    if (!S_ISREG(m) && (flags & PP_FILE_REPLACE))
        return "needs a regular file, not a device or FIFO";
    return NULL;
}

/* where an existing path leads: o->kind, o->fd for special files, o->path for regular */
static int open_target(pp_file_out *o, const char *path, unsigned flags, char *err, size_t errcap)
{
    int nfd = named_descriptor(path);
    if (nfd >= 0) {
        if (flags & PP_FILE_REPLACE) {
            pp__set_err(err, errcap, "cannot write %s: %s", path, "needs a regular file");
            return PP_EINVAL;
        }
        if (nfd == 1)
            fflush(stdout); /* what the program printed comes first */
        o->fd = fcntl(nfd, F_DUPFD_CLOEXEC, 3);
        if (o->fd < 0) {
            pp__set_err(err, errcap, "cannot write %s: %s", path, "that descriptor is not open");
            return PP_EINVAL;
        }
        o->kind = OUT_SPECIAL;
        return PP_OK;
    }
    struct stat st, lst;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            pp__set_err(err, errcap, "cannot write %s: %s", path,
                        "it is a symbolic link to a missing file");
            return PP_ENOTFOUND;
        }
        if (e != ENOENT)
            return write_error(e, path, path, err, errcap);
        o->path = dup_str(path); /* a new file */
        if (!o->path)
            return PP_ENOMEM;
        o->kind = OUT_ATOMIC;
        return open_temp(o, NULL, err, errcap);
    }
    const char *refused = refusal(st.st_mode, flags);
    if (refused) {
        pp__set_err(err, errcap, "cannot write %s: %s", path, refused);
        return PP_EINVAL;
    }
    if (!S_ISREG(st.st_mode)) { /* character device or FIFO: as it is, never replaced */
        o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (o->fd < 0) {
            int e = errno;
            pp__set_err(err, errcap, "cannot write %s: %s", path, strerror(e));
            return errno_status(e);
        }
        o->kind = OUT_SPECIAL;
        return PP_OK;
    }
    /* a regular file, perhaps through symbolic links: replace the file itself */
    o->path = realpath(path, NULL);
    if (!o->path) {
        int e = errno;
        pp__set_err(err, errcap, "cannot write %s: %s", path, strerror(e));
        return errno_status(e);
    }
    o->kind = OUT_ATOMIC;
    if (st.st_nlink <= 1 || (flags & PP_FILE_REPLACE)) {
        int rc = open_temp(o, &st, err, errcap);
        if (rc == PP_EPERM && (flags & PP_FILE_REPLACE) && err && errcap && !err[0])
            pp__set_err(err, errcap, "cannot write %s: %s", path,
                        "cannot give a new file the owner of the old one");
        if (rc != PP_EPERM || (flags & PP_FILE_REPLACE))
            return rc;
    }
    /*
     * A new file cannot keep its owner (another user's file) or its hard
     * links, or the directory takes no new file: rewrite the file in place.
     */
    drop_temp(o);
    if (err && errcap)
        err[0] = '\0';
    o->fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (o->fd < 0) {
        int e = errno;
        if (e == EACCES || e == EPERM) { /* the file itself refuses */
            pp__set_err(err, errcap, "cannot write %s: permission denied", path);
            return PP_EPERM;
        }
        return write_error(e, path, o->dir ? o->dir : path, err, errcap);
    }
    o->kind = OUT_REWRITE;
    return PP_OK;
}

int pp_file_out_open(const char *path, unsigned flags, pp_file_out **out, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    *out = NULL;
    if (!path || !*path) {
        pp__set_err(err, errcap, "no output file name");
        return PP_EINVAL;
    }
    pp_file_out *o = calloc(1, sizeof *o);
    if (!o)
        return PP_ENOMEM;
    o->fd = -1;
    /* "cannot write standard output: ..." rather than "cannot write -: ..." */
    o->shown = dup_str(named_descriptor(path) == 1 ? "standard output" : path);
    int rc = o->shown ? open_target(o, path, flags, err, errcap) : PP_ENOMEM;
    if (rc == PP_OK)
        rc = attach_stream(o);
    if (rc != PP_OK) {
        if (rc == PP_ENOMEM && err && errcap && !err[0])
            pp__set_err(err, errcap, "cannot write %s: %s", path, "out of memory");
        drop_temp(o);
        out_free(o);
        return rc;
    }
    *out = o;
    return PP_OK;
}

int pp_file_out_check(const char *path, unsigned flags, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!path || !*path) {
        pp__set_err(err, errcap, "no output file name");
        return PP_EINVAL;
    }
    int nfd = named_descriptor(path);
    if (nfd >= 0) {
        if (!(flags & PP_FILE_REPLACE) && fcntl(nfd, F_GETFD) != -1)
            return PP_OK;
        pp__set_err(err, errcap, "cannot write %s: %s", path,
                    flags & PP_FILE_REPLACE ? "needs a regular file"
                                            : "that descriptor is not open");
        return PP_EINVAL;
    }
    struct stat st;
    int exists = stat(path, &st) == 0;
    const char *refused = exists ? refusal(st.st_mode, flags) : NULL;
    if (refused) {
        pp__set_err(err, errcap, "cannot write %s: %s", path, refused);
        return PP_EINVAL;
    }
    if (exists && !S_ISREG(st.st_mode)) { /* a device or FIFO: opened when written */
        if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
            return PP_OK;
        int e = errno;
        pp__set_err(err, errcap, "cannot write %s: %s", path, strerror(e));
        return errno_status(e);
    }
    char *copy = exists ? realpath(path, NULL) : dup_str(path);
    if (!copy) {
        int e = errno;
        pp__set_err(err, errcap, "cannot write %s: %s", path, strerror(e));
        return errno_status(e);
    }
    char *slash = strrchr(copy, '/');
    const char *dir = !slash ? "." : slash == copy ? "/" : copy;
    if (slash && slash != copy)
        *slash = '\0';
    int rc = PP_OK;
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
        int e = errno;
        /* a file that is writable itself is rewritten in place (open_target) */
        if (!exists || (flags & PP_FILE_REPLACE) || e == EROFS ||
            faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0)
            rc = write_error(e, path, dir, err, errcap);
    }
    free(copy);
    return rc;
}

FILE *pp_file_out_stream(pp_file_out *o)
{
    return o ? o->f : NULL;
}

const char *pp_file_out_temp_path(const pp_file_out *o)
{
    return o && o->kind == OUT_ATOMIC ? o->tmp : NULL;
}

void pp_file_out_abort(pp_file_out *o)
{
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    drop_temp(o);
    out_free(o);
}

static void sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse a directory fsync */
        close(dfd);
    }
}

int pp_file_out_commit(pp_file_out *o, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!o)
        return PP_EINVAL;
    const char *where = o->dir ? o->dir : o->shown;
    int rc = PP_OK;
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int e = o->werr ? o->werr : EIO;
    fclose(o->f);
    o->f = NULL;
    if (bad) {
        rc = write_error(e, o->shown, where, err, errcap);
        goto out;
    }
    if (o->kind == OUT_REWRITE) {
        off_t end = lseek(o->fd, 0, SEEK_CUR);
        if (end < 0 || ftruncate(o->fd, end) != 0) {
            rc = write_error(errno, o->shown, where, err, errcap);
            goto out;
        }
    }
    if (o->kind != OUT_SPECIAL && fsync(o->fd) != 0) {
        rc = write_error(errno, o->shown, where, err, errcap);
        goto out;
    }
    int cr = close(o->fd);
    o->fd = -1;
    if (cr != 0 && errno != EINTR) {
        rc = write_error(errno, o->shown, where, err, errcap);
        goto out;
    }
    if (o->kind == OUT_ATOMIC) {
        if (rename(o->tmp, o->path) != 0) {
            rc = write_error(errno, o->shown, where, err, errcap);
            goto out;
        }
        free(o->tmp);
        o->tmp = NULL;
        sync_dir(o->dir);
    }
out:
    drop_temp(o);
    out_free(o);
    return rc;
}

int pp_file_write(const char *path, const void *data, size_t len, char *err, size_t errcap)
{
    pp_file_out *o;
    int rc = pp_file_out_open(path, 0, &o, err, errcap);
    if (rc != PP_OK)
        return rc;
    if (len)
        (void)fwrite(data, 1, len, o->f); /* a failure is reported by the commit */
    return pp_file_out_commit(o, err, errcap);
}

/* ---- reading ---- */

int pp_file_read(const char *path, size_t max, char **out_buf, size_t *out_len, char *err,
                 size_t errcap)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc;
    *out_buf = NULL;
    *out_len = 0;
    if (err && errcap)
        err[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        pp__set_err(err, errcap, "%s: %s", path, strerror(e));
        return errno_status(e);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        pp__set_err(err, errcap, "%s: %s", path, "is a directory, not a file");
        rc = PP_EINVAL;
        goto out;
    }
    if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > (unsigned long long)max) {
        rc = PP_ERANGE;
        goto too_large;
    }
    if (max > SIZE_MAX / 2)
        max = SIZE_MAX / 2;
    /* a regular file's size is a hint (procfs says 0); read to the end in any case */
    cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 64 * 1024;
    if (cap > max + 1)
        cap = max + 1;
    buf = malloc(cap + 1);
    for (;;) {
        if (buf && n == cap) { /* n <= max here, so the buffer can grow to max + 1 */
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            char *q = realloc(buf, ncap + 1);
            if (!q)
                free(buf);
            buf = q;
            cap = ncap;
        }
        if (!buf) {
            pp__set_err(err, errcap, "%s: %s", path, "out of memory");
            rc = PP_ENOMEM;
            goto out;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            pp__set_err(err, errcap, "%s: %s", path, strerror(e));
            rc = errno_status(e);
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = PP_ERANGE;
            goto too_large;
        }
    }
    buf[n] = '\0';
    *out_buf = buf;
    *out_len = n;
    buf = NULL;
    rc = PP_OK;
    goto out;
too_large:
    if (err && errcap)
        snprintf(err, errcap, "%s: larger than %zu bytes", path, max);
out:
    free(buf);
    close(fd);
    return rc;
}

int pp_file_same(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
