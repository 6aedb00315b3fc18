/* faultfs.c: an LD_PRELOAD library for the fault tests (test_ioerror.c):
 * it makes write, pwrite, writev, fsync and fdatasync on chosen files fail,
 * deterministically, so the switch's handling of a failing disk can be
 * proved without a failing disk. Only files directly in LEX_FAULT_DIR whose
 * names end in LEX_FAULT_SUFFIX (default ".log": RocksDB's WAL) are hit,
 * and only while the file LEX_FAULT_CONTROL exists (or after
 * LEX_FAULT_AFTER matching calls); then the next LEX_FAULT_COUNT calls
 * (default 1; 0 = all) of the kinds in LEX_FAULT_OPS ("write", "sync" or
 * "write,sync") fail with LEX_FAULT_ERRNO ("EIO" or "ENOSPC"). Each failure
 * appends a line to LEX_FAULT_CONTROL.hits when a control file is used. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_WRITE = 1, OP_SYNC = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int configured, enabled, ops, fail_errno = EIO;
static char dir[512], suffix[32] = ".log", control[600];
static long after = -1, count = 1, seen, failed;

static void configure(void)
{
    const char *d = getenv("LEX_FAULT_DIR");
    configured = 1;
    if (!d || !*d)
        return;
    snprintf(dir, sizeof dir, "%s", d);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = 0;
    const char *s = getenv("LEX_FAULT_SUFFIX");
    if (s)
        snprintf(suffix, sizeof suffix, "%s", s);
    const char *o = getenv("LEX_FAULT_OPS");
    ops = !o ? OP_SYNC : (strstr(o, "write") ? OP_WRITE : 0) | (strstr(o, "sync") ? OP_SYNC : 0);
    const char *e = getenv("LEX_FAULT_ERRNO");
    fail_errno = e && strcmp(e, "ENOSPC") == 0 ? ENOSPC : EIO;
    const char *c = getenv("LEX_FAULT_CONTROL");
    if (c)
        snprintf(control, sizeof control, "%s", c);
    const char *a = getenv("LEX_FAULT_AFTER");
    if (a)
        after = atol(a);
    const char *k = getenv("LEX_FAULT_COUNT");
    if (k)
        count = atol(k);
    enabled = ops != 0 && (control[0] || after >= 0);
}

/* 1 when this call on fd is to fail. */
static __thread int inside; /* this thread is in the shim (its own writes pass) */

static int should_fail(int fd, int op)
{
    if (inside)
        return 0;
    inside = 1;
    pthread_mutex_lock(&lock);
    if (!configured)
        configure();
    int hit = 0;
    if (!enabled || !(ops & op) || (count > 0 && failed >= count))
        goto out;
    char link[64], path[1024];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        goto out;
    path[n] = 0;
    size_t dl = strlen(dir), sl = strlen(suffix), pl = (size_t)n;
    if (pl <= dl + 1 + sl || strncmp(path, dir, dl) != 0 || path[dl] != '/' ||
        strchr(path + dl + 1, '/') || strcmp(path + pl - sl, suffix) != 0)
        goto out;
    if (control[0] && access(control, F_OK) != 0)
        goto out;
    if (after >= 0 && seen++ < after)
        goto out;
    hit = 1;
    failed++;
    if (control[0]) {
        char hits[700];
        snprintf(hits, sizeof hits, "%s.hits", control);
        FILE *f = fopen(hits, "a");
        if (f) {
            fprintf(f, "%s %s\n", op == OP_SYNC ? "sync" : "write", path);
            fclose(f);
        }
    }
out:
    pthread_mutex_unlock(&lock);
    inside = 0;
    return hit;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*sync_fn)(int);

#define REAL(name, type) static type real_##name; \
    if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
    REAL(write, write_fn);
    if (should_fail(fd, OP_WRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    REAL(pwrite, pwrite_fn);
    if (should_fail(fd, OP_WRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real_pwrite(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    REAL(pwrite64, pwrite_fn);
    if (should_fail(fd, OP_WRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real_pwrite64(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(writev, writev_fn);
    if (should_fail(fd, OP_WRITE)) {
        errno = fail_errno;
        return -1;
    }
    return real_writev(fd, iov, n);
}

int fsync(int fd)
{
    REAL(fsync, sync_fn);
    if (should_fail(fd, OP_SYNC)) {
        errno = fail_errno;
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync, sync_fn);
    if (should_fail(fd, OP_SYNC)) {
        errno = fail_errno;
        return -1;
    }
    return real_fdatasync(fd);
}
