/*
 * fuzz_tmpfile.h - For harnesses of parsers that read a file by path: write
 * the fuzzer's bytes to a fresh temporary file. Returns 0 and fills path
 * (unlink it afterwards), or -1 when the file cannot be written.
 */
#ifndef PP_FUZZ_TMPFILE_H
#define PP_FUZZ_TMPFILE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int pp_fuzz_tmpfile(const uint8_t *data, size_t size, char path[32])
{
    memcpy(path, "/tmp/pp-fuzz-XXXXXX", sizeof "/tmp/pp-fuzz-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (!ok) {
        unlink(path);
        return -1;
    }
    return 0;
}

#endif
