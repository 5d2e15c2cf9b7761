/*
 * test_file.c - The one output writer and input reader (postprof/file.h):
 * regular files replaced atomically keeping mode, owner and hard links;
 * devices, FIFOs and descriptors written in place and never replaced;
 * directories refused; stale temporary files of dead writers removed; errors
 * that say why; reads capped, of FIFOs and procfs too.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pp_test.h"

#include <postprof/error.h>
#include <postprof/file.h>

/* a fresh directory per case; removed (with what is in it) by rm_dir() */
static void make_dir(char *dir, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, cap, "%s/pp-test-file-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static void rm_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void join(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
    char *buf = NULL, err[256];
    size_t n = 0;
    int rc = pp_file_read(path, 1 << 20, &buf, &n, err, sizeof err);
    if (rc != PP_OK)
        fail_msg("read %s: %s", path, err);
    return buf;
}

/* names in dir other than . and .. (our temporary files would show here) */
static int count_entries(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void new_file_gets_umask_mode_and_content(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "out.json");
    mode_t old = umask(027);
    int rc = pp_file_write(path, "{}\n", 3, err, sizeof err);
    umask(old);
    assert_int_equal(rc, PP_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* 0666 minus the umask */
    char *s = slurp(path);
    assert_string_equal(s, "{}\n");
    free(s);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left */
    rm_dir(dir);
}

static void existing_file_keeps_mode_owner_and_is_replaced(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "secret.folded");
    put(path, "old old old old\n");
    assert_int_equal(chmod(path, 0600), 0);
    /* as root: a file that belongs to someone else keeps its owner */
    uid_t uid = geteuid() == 0 ? 4242 : geteuid();
    gid_t gid = geteuid() == 0 ? 4343 : getegid();
    assert_int_equal(chown(path, uid, gid), 0);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(pp_file_write(path, "new\n", 4, err, sizeof err), PP_OK);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_mode & 07777, 0600); /* not widened to 0644 */
    assert_int_equal(after.st_uid, uid);
    assert_int_equal(after.st_gid, gid);
    assert_true(after.st_ino != before.st_ino); /* replaced, not rewritten */
    char *s = slurp(path);
    assert_string_equal(s, "new\n");
    free(s);
    assert_int_equal(count_entries(dir), 1);
    rm_dir(dir);
}

static void hard_linked_file_is_rewritten_in_place(void **state)
{
    (void)state;
    char dir[256], path[512], other[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "a.txt");
    join(other, sizeof other, dir, "b.txt");
    put(path, "a much longer old content than the new one\n");
    assert_int_equal(link(path, other), 0);
    assert_int_equal(pp_file_write(path, "short\n", 6, err, sizeof err), PP_OK);
    char *s = slurp(other); /* the other name sees it: the link was kept */
    assert_string_equal(s, "short\n");
    free(s);
    assert_int_equal(count_entries(dir), 2);
    rm_dir(dir);
}

static void symlink_writes_the_file_it_points_to(void **state)
{
    (void)state;
    char dir[256], path[512], link_path[512], dangling[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "real.html");
    join(link_path, sizeof link_path, dir, "link.html");
    join(dangling, sizeof dangling, dir, "dangling.html");
    put(path, "old\n");
    assert_int_equal(symlink("real.html", link_path), 0);
    assert_int_equal(pp_file_write(link_path, "new\n", 4, err, sizeof err), PP_OK);
    struct stat st;
    assert_int_equal(lstat(link_path, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* still a link */
    char *s = slurp(path);
    assert_string_equal(s, "new\n");
    free(s);
    assert_int_equal(pp_file_same(link_path, path), 1);
    /* a link to nothing is refused, and stays */
    assert_int_equal(symlink("missing/nothing.html", dangling), 0);
    assert_int_equal(pp_file_write(dangling, "x", 1, err, sizeof err), PP_ENOTFOUND);
    assert_non_null(strstr(err, "symbolic link to a missing file"));
    assert_int_equal(lstat(dangling, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    rm_dir(dir);
}

static void char_device_is_written_in_place_never_replaced(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "null");
    /* a /dev/null of our own (char 1,3) where we may make one; else /dev/null */
    const char *target = path;
    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0)
        target = "/dev/null";
    struct stat before, after;
    assert_int_equal(stat(target, &before), 0);
    assert_int_equal(pp_file_write(target, "profile\n", 8, err, sizeof err), PP_OK);
    assert_int_equal(stat(target, &after), 0);
    assert_true(S_ISCHR(after.st_mode));
    assert_int_equal(after.st_rdev, before.st_rdev);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(count_entries(dir), target == path ? 1 : 0);
    rm_dir(dir);
}

static void full_device_says_disk_full(void **state)
{
    (void)state;
    char err[512];
    /* /dev/full: written in place; every write fails with ENOSPC */
    char big[100000];
    memset(big, 'x', sizeof big);
    assert_int_equal(pp_file_write("/dev/full", big, sizeof big, err, sizeof err), PP_EFULL);
    assert_non_null(strstr(err, "/dev/full"));
    assert_non_null(strstr(err, "no space left"));
    struct stat st;
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

typedef struct {
    char path[512];
    char got[256];
} fifo_reader;

static void *read_fifo(void *arg)
{
    fifo_reader *r = arg;
    char *buf = NULL;
    size_t n = 0;
    char err[256];
    if (pp_file_read(r->path, sizeof r->got - 1, &buf, &n, err, sizeof err) == PP_OK)
        snprintf(r->got, sizeof r->got, "%s", buf);
    free(buf);
    return NULL;
}

static void fifo_is_written_and_read_in_place(void **state)
{
    (void)state;
    char dir[256], err[512];
    make_dir(dir, sizeof dir);
    fifo_reader r = {{0}, {0}};
    join(r.path, sizeof r.path, dir, "pipe");
    assert_int_equal(mkfifo(r.path, 0600), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_fifo, &r), 0);
    assert_int_equal(pp_file_write(r.path, "through the pipe\n", 17, err, sizeof err), PP_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_string_equal(r.got, "through the pipe\n");
    struct stat st;
    assert_int_equal(stat(r.path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(dir), 1);
    /* a database written by name needs a regular file */
    pp_file_out *o = NULL;
    assert_int_equal(pp_file_out_open(r.path, PP_FILE_REPLACE, &o, err, sizeof err), PP_EINVAL);
    assert_null(o);
    assert_non_null(strstr(err, "needs a regular file"));
    rm_dir(dir);
}

static void dash_writes_standard_output(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "captured");
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 1), 1);
    close(fd);
    int rc1 = pp_file_write("-", "one\n", 4, err, sizeof err);
    int rc2 = pp_file_write("/dev/stdout", "two\n", 4, err, sizeof err);
    assert_int_equal(dup2(saved, 1), 1);
    close(saved);
    assert_int_equal(rc1, PP_OK);
    assert_int_equal(rc2, PP_OK);
    char *s = slurp(path);
    assert_string_equal(s, "one\ntwo\n"); /* appended at the offset, not replaced */
    free(s);
    struct stat st;
    assert_int_equal(lstat("/dev/stdout", &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* /dev/stdout itself untouched */
    rm_dir(dir);
}

static void refusals_and_errors_say_why(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    make_dir(dir, sizeof dir);
    /* a directory as the target */
    assert_int_equal(pp_file_write(dir, "x", 1, err, sizeof err), PP_EINVAL);
    assert_non_null(strstr(err, "is a directory"));
    assert_int_equal(pp_file_out_check(dir, 0, err, sizeof err), PP_EINVAL);
    /* a directory that does not exist */
    join(path, sizeof path, dir, "no/such/out.json");
    assert_int_equal(pp_file_write(path, "x", 1, err, sizeof err), PP_ENOTFOUND);
    assert_non_null(strstr(err, "does not exist"));
    assert_int_equal(pp_file_out_check(path, 0, err, sizeof err), PP_ENOTFOUND);
    assert_non_null(strstr(err, "does not exist"));
    /* the check of a good path creates nothing */
    join(path, sizeof path, dir, "fine.json");
    assert_int_equal(pp_file_out_check(path, 0, err, sizeof err), PP_OK);
    assert_int_equal(count_entries(dir), 0);
    /* aborting leaves nothing and keeps the old content */
    put(path, "kept\n");
    pp_file_out *o = NULL;
    assert_int_equal(pp_file_out_open(path, 0, &o, err, sizeof err), PP_OK);
    assert_non_null(pp_file_out_temp_path(o));
    fputs("discarded", pp_file_out_stream(o));
    pp_file_out_abort(o);
    pp_file_out_abort(NULL);
    char *s = slurp(path);
    assert_string_equal(s, "kept\n");
    free(s);
    assert_int_equal(count_entries(dir), 1);
    /* a descriptor that is not open */
    assert_int_equal(pp_file_write("/dev/fd/987", "x", 1, err, sizeof err), PP_EINVAL);
    assert_non_null(strstr(err, "not open"));
    /* a file of a directory that takes no new file (procfs) and that takes
     * no write itself: refused by its mode (permission denied), or for root
     * by the file (an I/O error), never "does not exist" */
    int rc = pp_file_write("/proc/version", "x", 1, err, sizeof err);
    assert_true(rc == PP_EPERM || rc == PP_EIO);
    assert_non_null(strstr(err, "cannot write /proc/version: "));
    assert_null(strstr(err, "does not exist"));
    rm_dir(dir);
}

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return pid;
}

static void age(const char *path, int seconds)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= seconds;
    tv[1] = tv[0];
    assert_int_equal(utimes(path, tv), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void stale_temporary_files_of_dead_writers_are_removed(void **state)
{
    (void)state;
    char dir[256], path[512], name[128], stale[512], young[512], alive[512], other[512],
        foreign[512], err[512];
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "report.json");
    pid_t gone = dead_pid();
    snprintf(name, sizeof name, "report.json.postprof-tmp.%ld.AbC123", (long)gone);
    join(stale, sizeof stale, dir, name);
    snprintf(name, sizeof name, "report.json.postprof-tmp.%ld.young1", (long)gone);
    join(young, sizeof young, dir, name);
    snprintf(name, sizeof name, "report.json.postprof-tmp.%ld.alive1", (long)getpid());
    join(alive, sizeof alive, dir, name);
    snprintf(name, sizeof name, "other.json.postprof-tmp.%ld.AbC123", (long)gone);
    join(other, sizeof other, dir, name);
    snprintf(name, sizeof name, "report.json.postprof-tmp.%ld.notours-long", (long)gone);
    join(foreign, sizeof foreign, dir, name);
    const char *all[] = {stale, young, alive, other, foreign};
    for (size_t i = 0; i < 5; i++) {
        put(all[i], "partial");
        if (all[i] != young)
            age(all[i], 2 * PP_FILE_STALE_TMP_S);
    }
    assert_int_equal(pp_file_write(path, "{}", 2, err, sizeof err), PP_OK);
    assert_false(exists(stale));  /* dead writer, old: removed */
    assert_true(exists(young));   /* dead writer, but recent: kept */
    assert_true(exists(alive));   /* its writer runs: kept */
    assert_true(exists(other));   /* another file's: kept until that one is written */
    assert_true(exists(foreign)); /* not our name pattern: kept */
    assert_int_equal(count_entries(dir), 5);
    rm_dir(dir);
}

static void reads_are_capped_and_take_any_stream(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    char *buf = NULL;
    size_t n = 0;
    make_dir(dir, sizeof dir);
    join(path, sizeof path, dir, "in.txt");
    put(path, "0123456789");
    assert_int_equal(pp_file_read(path, 10, &buf, &n, err, sizeof err), PP_OK);
    assert_int_equal(n, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    assert_int_equal(pp_file_read(path, 9, &buf, &n, err, sizeof err), PP_ERANGE);
    assert_null(buf);
    assert_non_null(strstr(err, "larger than 9 bytes"));
    /* procfs says size 0: read to the end anyway */
    assert_int_equal(pp_file_read("/proc/self/status", 1 << 20, &buf, &n, err, sizeof err), PP_OK);
    assert_non_null(strstr(buf, "Pid:"));
    free(buf);
    /* an endless device stops at the cap instead of hanging */
    assert_int_equal(pp_file_read("/dev/zero", 1000, &buf, &n, err, sizeof err), PP_ERANGE);
    assert_null(buf);
    assert_int_equal(pp_file_read(dir, 1000, &buf, &n, err, sizeof err), PP_EINVAL);
    assert_non_null(strstr(err, "directory"));
    join(path, sizeof path, dir, "missing.txt");
    assert_int_equal(pp_file_read(path, 1000, &buf, &n, err, sizeof err), PP_ENOTFOUND);
    assert_non_null(strstr(err, "missing.txt"));
    assert_int_equal(pp_file_same(path, path), 0); /* missing: not the same file */
    rm_dir(dir);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(new_file_gets_umask_mode_and_content),
    cmocka_unit_test(existing_file_keeps_mode_owner_and_is_replaced),
    cmocka_unit_test(hard_linked_file_is_rewritten_in_place),
    cmocka_unit_test(symlink_writes_the_file_it_points_to),
    cmocka_unit_test(char_device_is_written_in_place_never_replaced),
    cmocka_unit_test(full_device_says_disk_full),
    cmocka_unit_test(fifo_is_written_and_read_in_place),
    cmocka_unit_test(dash_writes_standard_output),
    cmocka_unit_test(refusals_and_errors_say_why),
    cmocka_unit_test(stale_temporary_files_of_dead_writers_are_removed),
    cmocka_unit_test(reads_are_capped_and_take_any_stream),
};

PP_TEST_MAIN(tests)
