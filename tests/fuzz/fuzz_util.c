/* fuzz_util.c: helpers shared by the fuzz targets (fuzz.h): property
 * failures, and the scratch directory for library calls that read files.
 * Only files this process wrote there are removed at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzz.h"

#define NAMES_MAX 16

static char tmp_dir[512];
static char written[NAMES_MAX][64];   /* file names created in tmp_dir */
static int nwritten;

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
    abort();
}

static void remove_tmp(void)
{
    char path[sizeof tmp_dir + sizeof written]; /* more than enough */
    for (int i = 0; i < nwritten; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp_dir, written[i]);
        unlink(path);
    }
    rmdir(tmp_dir);
}

const char *fuzz_tmp_dir(void)
{
    if (tmp_dir[0])
        return tmp_dir;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/lexfuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_tmp);
    return tmp_dir;
}

static void remember(const char *name)
{
    for (int i = 0; i < nwritten; i++)
        if (strcmp(written[i], name) == 0)
            return;
    if (nwritten == NAMES_MAX || strlen(name) >= sizeof written[0]) {
        fprintf(stderr, "fuzz: scratch file name '%s' not tracked\n", name);
        abort();
    }
    strcpy(written[nwritten++], name);
}

int fuzz_tmp_write(const char *name, const void *data, size_t size, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", fuzz_tmp_dir(), name);
    remember(name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t done = size ? fwrite(data, 1, size, f) : 0;
    int rc = fclose(f);
    return done == size && rc == 0 ? 0 : -1;
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    if (size)
        memcpy(s, data, size);
    s[size] = 0;
    return s;
}
