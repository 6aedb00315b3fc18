/* auditlog_torn.c: a write the switch was killed in the middle of. The
 * kernel stops a write() that a fatal signal interrupts at a page boundary,
 * so a SIGKILL (kill -9, the OOM killer, a stop timeout) while a batch is
 * written leaves the newest write-ahead log ending inside its last record,
 * at a multiple of 4096 bytes. Nothing of that batch was acknowledged: the
 * switch forwards a batch's messages only once its write (and in sync mode
 * its fsync) returned. Such a tail is cut off before the strict open, with a
 * copy kept beside the log and a note the switch writes into the chain;
 * every other damage still refuses the open (auditlog_integrity.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "auditlog_integrity.h"
#include "lex_error.h"

#define PAGE_BYTES 4096

/* 1 when name is a write-ahead log ("000123.log"), with its number. */
static int wal_number(const char *name, unsigned long long *num)
{
    size_t len = strlen(name);
    char *end = NULL;
    *num = strtoull(name, &end, 10);
    return len > 4 && strcmp(name + len - 4, ".log") == 0 && end == name + len - 4;
}

/* The newest write-ahead log of dir (highest number), into out; 0 if none.
 * *damaged_older is set when an older one is damaged too. */
static int newest_wal(const char *dir, char *out, size_t n, int *damaged_older)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned long long best = 0, num;
    int found = 0;
    *damaged_older = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (wal_number(e->d_name, &num) && (!found || num > best)) {
            best = num;
            found = 1;
        }
    rewinddir(d);
    while ((e = readdir(d))) {
        if (!wal_number(e->d_name, &num))
            continue;
        char path[4096], why[128];
        uint64_t at;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (num == best)
            snprintf(out, n, "%s", path);
        else if (lex_log_file_check(path, &at, why, sizeof why) != 0)
            *damaged_older = 1;
    }
    closedir(d);
    return found;
}

static int copy_to(const char *from, const char *dir, char *kept, size_t n)
{
    snprintf(kept, n, "%s/interrupted-wal-%lld", dir, (long long)time(NULL));
    if (mkdir(kept, 0700) != 0 && errno != EEXIST)
        return LEX_EIO;
    const char *base = strrchr(from, '/');
    char to[4352];
    snprintf(to, sizeof to, "%s/%s", kept, base ? base + 1 : from);
    int in = open(from, O_RDONLY), out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[65536];
    ssize_t got = 0;
    int ok = in >= 0 && out >= 0;
    while (ok && (got = read(in, buf, sizeof buf)) > 0)
        ok = write(out, buf, (size_t)got) == got;
    ok = ok && got == 0 && fsync(out) == 0;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        ok = 0;
    return ok ? 0 : LEX_EIO;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : LEX_EIO;
    if (fd >= 0)
        close(fd);
    return rc;
}

int lex_log_trim_interrupted_write(const char *dir, char *what, size_t n)
{
    char wal[4096] = "", why[128] = "", kept[4200];
    int damaged_older = 0;
    what[0] = 0;
    if (!newest_wal(dir, wal, sizeof wal, &damaged_older) || damaged_older)
        return 0; /* nothing to trim, or damage that is not a torn tail: the open refuses */
    uint64_t at = 0;
    if (lex_log_file_check(wal, &at, why, sizeof why) != 1 ||
        strncmp(why, "ends inside a record", 20) != 0)
        return 0; /* intact, or a checksum or order fault: the open refuses */
    struct stat st;
    if (stat(wal, &st) != 0)
        return LEX_EIO;
    if (st.st_size % PAGE_BYTES != 0 || (uint64_t)st.st_size <= at)
        return 0; /* not where a killed write stops: the open refuses, lexctl repair decides */
    int rc = copy_to(wal, dir, kept, sizeof kept);
    if (rc == 0 && truncate(wal, (off_t)at) != 0)
        rc = LEX_EIO;
    if (rc == 0) {
        int fd = open(wal, O_WRONLY);
        rc = fd >= 0 && fsync(fd) == 0 ? 0 : LEX_EIO;
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0)
        rc = sync_dir(dir);
    if (rc != 0) {
        snprintf(what, n, "cannot cut the interrupted write off %s: %s", wal, strerror(errno));
        return rc;
    }
    snprintf(what, n, "%s ended inside its last record (%s at byte %llu; the file stops at "
             "byte %lld, a page boundary, where a write the process was killed in stops): the "
             "%lld bytes of that unfinished, never acknowledged batch were cut off; a copy is in %s",
             wal, why, (unsigned long long)at, (long long)st.st_size,
             (long long)(st.st_size - (off_t)at), kept);
    return 1;
}
