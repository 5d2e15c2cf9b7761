/*
 * test_profile.c - The profile model, its writers and readers, and top-N:
 * round trips through every readable format keep the numbers; malformed
 * input fails with a message that says where.
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "pp_test.h"
#include "profile_test_util.h"

#include <postprof/postprof.h>

static const char folded_text[] = "main;work;hot 60\n"
                                  "main;work;warm 30\n"
                                  "main;cold 10\n"
                                  "# a comment\n"
                                  "\n"
                                  "main;work;hot 5\n";

static void check_top(const pp_profile *p)
{
    pp_profile_row rows[8];
    size_t n = 0;
    int64_t sum = 0;
    assert_int_equal(pp_profile_top(p, rows, 8, &n, &sum), PP_OK);
    assert_int_equal(sum, 105);
    assert_true(n >= 4);
    assert_string_equal(rows[0].function, "hot");
    assert_int_equal(rows[0].self, 65);
    assert_string_equal(rows[1].function, "warm");
    assert_int_equal(rows[1].self, 30);
    /* main is on every stack: total 105, self 0 */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].function, "main") == 0) {
            assert_int_equal(rows[i].self, 0);
            assert_int_equal(rows[i].total, 105);
        }
        if (strcmp(rows[i].function, "work") == 0)
            assert_int_equal(rows[i].total, 95);
    }
}

static void folded_parse_and_top(void **state)
{
    (void)state;
    pp_profile *p = pt_profile_parse(folded_text);
    assert_int_equal(pp_profile_sample_count(p), 4);
    check_top(p);
    pp_profile_free(p);
}

static void round_trip(pp_profile_format fmt)
{
    pp_profile *p = pt_profile_parse(folded_text);
    pp_profile *q = pt_profile_through(p, fmt);
    check_top(q);
    pp_profile_free(q);
    pp_profile_free(p);
}

static void folded_round_trip(void **state)
{
    (void)state;
    round_trip(PP_FORMAT_FOLDED);
}

static void pprof_round_trip(void **state)
{
    (void)state;
    round_trip(PP_FORMAT_PPROF);
}

static void speedscope_round_trip(void **state)
{
    (void)state;
    round_trip(PP_FORMAT_SPEEDSCOPE);
}

static void expect_error(const char *text, const char *where)
{
    pp_profile *p = (pp_profile *)1;
    char msg[256] = "";
    int rc = pp_profile_parse(text, strlen(text), &p, msg, sizeof msg);
    assert_int_not_equal(rc, PP_OK);
    assert_null(p);
    if (!strstr(msg, where))
        fail_msg("message '%s' lacks '%s'", msg, where);
}

static void bad_input_says_where(void **state)
{
    (void)state;
    expect_error("a;b 1\na;b x1\n", "line 2");
    expect_error("a;b\n", "line 1");
    expect_error("# only a comment\n", "no stacks");
    expect_error("{\"shared\":{\"frames\":[]}}", "profiles");
    expect_error("{\"shared\":{\"frames\":[{\"name\":\"a\"}]},\"profiles\":[{\"type\":\"sampled\","
                 "\"samples\":[[3]],\"weights\":[1]}]}",
                 "frame index");
    expect_error("{ not json", "line 1");
    expect_error("\x1f\x8b\x08\x00garbage", "gzip");
    pp_profile *p = NULL;
    assert_int_equal(pp_profile_parse("", 0, &p, NULL, 0), PP_EFORMAT);
    /* a file that cannot be read: why, without its name (the caller gives
     * it once: "postprof top: PATH: WHY") */
    char msg[256] = "";
    assert_int_equal(pp_profile_read("/nonexistent/p.folded", &p, msg, sizeof msg), PP_ENOTFOUND);
    assert_null(p);
    assert_non_null(msg[0] ? msg : NULL);
    assert_null(strstr(msg, "/nonexistent/p.folded"));
}

static void raw_loader_rejects_other_files(void **state)
{
    (void)state;
    char path[] = "/tmp/pp-test-raw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello\n", 6), 6);
    close(fd);
    pp_profile *p = NULL;
    char msg[256] = "";
    assert_int_equal(pp_profile_load_raw(path, &p, msg, sizeof msg), PP_EFORMAT);
    assert_null(p);
    assert_non_null(strstr(msg, "not a postprof raw profile"));
    unlink(path);
    assert_int_equal(pp_profile_load_raw("/nonexistent/x.raw", &p, msg, sizeof msg), PP_ENOTFOUND);
}

static void raw_loader_reads_records(void **state)
{
    (void)state;
    char path[] = "/tmp/pp-test-raw-XXXXXX";
    int fd = mkstemp(path);
    const char raw[] = PP_RAW_HEADER "mode mem\nmem_rate 0\nx heap_peak 4096\n"
                                     "m 2 4096 1 2048 1 2048 2 1000 2000\n"
                                     "m 1 100 0 0 0 0 1 3000\nend\n";
    assert_int_equal(write(fd, raw, sizeof raw - 1), (ssize_t)(sizeof raw - 1));
    close(fd);
    pp_profile *p = NULL;
    char msg[256] = "";
    assert_int_equal(pp_profile_load_raw(path, &p, msg, sizeof msg), PP_OK);
    assert_int_equal(pp_profile_kind_of(p), PP_PROFILE_MEM);
    assert_int_equal(pp_profile_value_total(p, 1), 4196);
    assert_int_equal(pp_profile_value_total(p, 3), 2048);
    assert_int_equal(pp_profile_stat(p, "heap_peak"), 4096);
    assert_int_equal(pp_profile_stat(p, "mem_rate"), 0);
    assert_string_equal(pp_profile_value_name(p), "alloc_space");
    pp_profile_free(p);
    unlink(path);
}

/* the offset of a dynamic symbol in this process's vDSO image (0: none) */
static uint64_t own_vdso_symbol(const char *name, uint64_t *image_size)
{
    const char *img = (const char *)getauxval(AT_SYSINFO_EHDR);
    if (!img)
        return 0;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)img;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(img + eh->e_shoff);
    *image_size = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM)
            continue;
        const ElfW(Sym) *sym = (const ElfW(Sym) *)(img + sh[i].sh_offset);
        const char *str = img + sh[sh[i].sh_link].sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++)
            if (strcmp(str + sym[k].st_name, name) == 0)
                return sym[k].st_value;
    }
    return 0;
}

static char *top_function_of_raw(const char *raw)
{
    char path[] = "/tmp/pp-test-raw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
    close(fd);
    pp_profile *p = NULL;
    char msg[256] = "";
    assert_int_equal(pp_profile_load_raw(path, &p, msg, sizeof msg), PP_OK);
    unlink(path);
    pp_profile_row rows[2];
    size_t n = 0;
    int64_t sum = 0;
    assert_int_equal(pp_profile_top(p, rows, 2, &n, &sum), PP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 5);
    char *name = strdup(rows[0].function);
    pp_profile_free(p);
    return name;
}

#define VDSO_RAW                                                                                   \
    PP_RAW_HEADER "mode cpu\nperiod_ns 1000000\nvdso %llx %llu %s\ns 1 0 0 5 1 %llx\nend\n"

/* a sample in the target's vDSO (no file behind it) is named from the
 * reader's own vDSO when the build ids agree, and left unknown otherwise */
static void raw_loader_symbolizes_the_vdso(void **state)
{
    (void)state;
    uint64_t size = 0, off = own_vdso_symbol("__vdso_clock_gettime", &size);
    if (!off)
        off = own_vdso_symbol("clock_gettime", &size);
    assert_true(off > 0); /* x86-64 and arm64 kernels export it */
    /* the build id and image size the preload records, from this process */
    char raw[512], id[129] = "";
    const char *img = (const char *)getauxval(AT_SYSINFO_EHDR);
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)img;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(img + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum && !id[0]; i++) {
        if (ph[i].p_type != PT_NOTE)
            continue;
        for (size_t at = 0; at + sizeof(ElfW(Nhdr)) <= ph[i].p_filesz && !id[0];) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(img + ph[i].p_offset + at);
            size_t name = (nh->n_namesz + 3u) & ~3u, desc = (nh->n_descsz + 3u) & ~3u;
            const unsigned char *d = (const unsigned char *)nh + sizeof *nh + name;
            for (unsigned j = 0; nh->n_type == NT_GNU_BUILD_ID && j < nh->n_descsz && j < 64; j++)
                snprintf(id + 2 * j, 3, "%02x", d[j]);
            at += sizeof *nh + name + desc;
        }
    }
    assert_true(id[0]);
    uint64_t base = 0x7f0000000000ull; /* the target's vDSO sits elsewhere than ours */
    snprintf(raw, sizeof raw, VDSO_RAW, (unsigned long long)base, (unsigned long long)size, id,
             (unsigned long long)(base + off));
    char *name = top_function_of_raw(raw);
    assert_true(strcmp(name, "__vdso_clock_gettime") == 0 || strcmp(name, "clock_gettime") == 0);
    free(name);
    /* record -p: no build id, the mapping's size (a page multiple) */
    snprintf(raw, sizeof raw, VDSO_RAW, (unsigned long long)base,
             (unsigned long long)((size + 4095) & ~4095ull), "-", (unsigned long long)(base + off));
    name = top_function_of_raw(raw);
    assert_true(strcmp(name, "__vdso_clock_gettime") == 0 || strcmp(name, "clock_gettime") == 0);
    free(name);
    /* another kernel's vDSO: not ours to name */
    snprintf(raw, sizeof raw, VDSO_RAW, (unsigned long long)base, (unsigned long long)size,
             "00112233", (unsigned long long)(base + off));
    name = top_function_of_raw(raw);
    assert_non_null(strstr(name, "[unknown]"));
    free(name);
}

/* Writes a CPU raw profile with one stack of depth frames; the load's code. */
static int load_stack_of_depth(int depth, char *msg, size_t cap)
{
    char path[] = "/tmp/pp-test-raw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, PP_RAW_HEADER "mode cpu\nperiod_ns 1000\ns 1 0 1 1 %d", depth);
    for (int i = 0; i < depth; i++)
        fprintf(f, " %x", 0x1000 + i);
    fputs("\nend\n", f);
    fclose(f);
    pp_profile *p = NULL;
    int rc = pp_profile_load_raw(path, &p, msg, cap);
    pp_profile_free(p);
    unlink(path);
    return rc;
}

/* The depth cap of the contract (postprof/raw_format.h): a stack of
 * PP_RAW_MAX_DEPTH frames loads, one frame more is rejected with its line. */
static void raw_loader_depth_cap(void **state)
{
    (void)state;
    char msg[256] = "";
    assert_int_equal(load_stack_of_depth(PP_RAW_MAX_DEPTH, msg, sizeof msg), PP_OK);
    assert_int_equal(load_stack_of_depth(PP_RAW_MAX_DEPTH + 1, msg, sizeof msg), PP_EFORMAT);
    assert_non_null(strstr(msg, ":4: bad stack record"));
}

static void scope_events_load_and_say_where(void **state)
{
    (void)state;
    char path[] = "/tmp/pp-test-scopes-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "s 7 1000 50 posts.load\ns 7 1100 20 posts.infer\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    pp_profile *p = pt_profile_parse("main;a 1\n");
    char msg[256] = "";
    assert_int_equal(pp_profile_load_scopes(p, path, msg, sizeof msg), PP_OK);
    assert_int_equal(pp_profile_scope_count(p), 2);
    /* a bad line: file and line named, the events before it kept */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage\n", 8), 8);
    close(fd);
    assert_int_equal(pp_profile_load_scopes(p, path, msg, sizeof msg), PP_EFORMAT);
    assert_non_null(strstr(msg, ":3: not a scope event line"));
    assert_int_equal(pp_profile_scope_count(p), 4);
    unlink(path);
    assert_int_equal(pp_profile_load_scopes(p, path, msg, sizeof msg), PP_ENOTFOUND);
    pp_profile_free(p);
}

static void format_names(void **state)
{
    (void)state;
    assert_int_equal(pp_profile_format_parse("folded"), PP_FORMAT_FOLDED);
    assert_int_equal(pp_profile_format_parse("chrome"), PP_FORMAT_CHROME);
    assert_int_equal(pp_profile_format_parse("svg"), -1);
    assert_int_equal(pp_profile_format_parse(NULL), -1);
    pp_profile_free(NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(folded_parse_and_top),
    cmocka_unit_test(folded_round_trip),
    cmocka_unit_test(pprof_round_trip),
    cmocka_unit_test(speedscope_round_trip),
    cmocka_unit_test(bad_input_says_where),
    cmocka_unit_test(raw_loader_rejects_other_files),
    cmocka_unit_test(raw_loader_reads_records),
    cmocka_unit_test(raw_loader_symbolizes_the_vdso),
    cmocka_unit_test(format_names),
    cmocka_unit_test(scope_events_load_and_say_where),
    cmocka_unit_test(raw_loader_depth_cap),
};

PP_TEST_MAIN(tests)
