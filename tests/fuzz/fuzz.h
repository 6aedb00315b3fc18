/* fuzz.h: what every fuzz target in tests/fuzz/ shares. A target is one
 * LLVMFuzzerTestOneInput over a real library entry point; it is linked with
 * libFuzzer (LEX_FUZZ builds) or with replay.c, which runs saved inputs once
 * (ctest). Targets free all they allocate: a leak is a finding. */
#ifndef LEX_FUZZ_H
#define LEX_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test that must hold for every input; on
 * failure prints where and aborts, which both libFuzzer and replay report. */
#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fuzz_fail(__FILE__, __LINE__, #cond);                                          \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* A scratch directory for this process, made on first use under $TMPDIR
 * (or /tmp) and removed with what is in it when the process exits. */
const char *fuzz_tmp_dir(void);

/* Writes data to NAME in the scratch directory (replacing it) and puts its
 * path in path. 0, or -1 when the file cannot be written. */
int fuzz_tmp_write(const char *name, const void *data, size_t size, char *path, size_t pathlen);

/* data as a NUL-terminated string (caller frees), or NULL when out of memory. */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
