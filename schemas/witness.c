/* witness.c: signed checkpoints outside the switch's data directory
 * (lex_witness.h). The CP message's 113 bytes are decoded and their
 * Ed25519 signature checked here, the same signed text the audit log makes
 * (docs/LOG.md "Checkpoints"); a witness appends each one that extends the
 * newest it keeps, with an fsync, and never rewrites what it kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "lex_error.h"
#include "lex_witness.h"

static const char cp_context[] = "lexswitch audit checkpoint v1";
#define LINE_LEN (2 * LEX_CHECKPOINT_BYTES + 32)

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int lex_checkpoint_open(const void *cp, size_t len, const uint8_t *pk, lex_checkpoint_t *out)
{
    const uint8_t *p = cp;
    if (len != LEX_CHECKPOINT_BYTES || p[0] != 1)
        return LEX_EPARSE;
    out->seq = be64(p + 1);
    memcpy(out->hash, p + 9, 32);
    out->time_us = be64(p + 41);
    if (!pk)
        return 0;
    uint8_t msg[sizeof cp_context - 1 + 48];
    memcpy(msg, cp_context, sizeof cp_context - 1);
    memcpy(msg + sizeof cp_context - 1, p + 1, 48);
    return crypto_sign_verify_detached(p + 49, msg, sizeof msg, pk) == 0 ? 0 : LEX_EPARSE;
}

/* "<seq> <hex of the 113 bytes>" */
static int parse_line(const char *line, uint8_t cp[LEX_CHECKPOINT_BYTES])
{
    const char *hex = strchr(line, ' ');
    if (!hex)
        return LEX_EPARSE;
    hex++;
    size_t n = strcspn(hex, "\r\n"), got = 0;
    if (n != 2 * LEX_CHECKPOINT_BYTES ||
        sodium_hex2bin(cp, LEX_CHECKPOINT_BYTES, hex, n, NULL, &got, NULL) != 0 ||
        got != LEX_CHECKPOINT_BYTES)
        return LEX_EPARSE;
    return 0;
}

static void path_of(const char *dir, const char *file, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", dir, file);
}

int lex_witness_newest(const char *dir, lex_checkpoint_t *out)
{
    char path[4096];
    path_of(dir, LEX_WITNESS_FILE, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return LEX_ENOTFOUND;
    /* the last whole line is within the file's last two line lengths */
    char tail[2 * LINE_LEN + 1];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)(sizeof tail - 1) ? size - (long)(sizeof tail - 1) : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(tail, 1, sizeof tail - 1, f);
    fclose(f);
    tail[n] = 0;
    int rc = LEX_ENOTFOUND;
    char *save = NULL;
    for (char *line = strtok_r(tail, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        uint8_t cp[LEX_CHECKPOINT_BYTES];
        if (parse_line(line, cp) == 0 && lex_checkpoint_open(cp, sizeof cp, NULL, out) == 0)
            rc = 0;
    }
    return rc;
}

static int append_line(const char *dir, const char *file, uint64_t seq, const void *cp,
                       char *err, size_t errlen)
{
    char path[4096], line[LINE_LEN];
    path_of(dir, file, path, sizeof path);
    int n = snprintf(line, sizeof line, "%llu ", (unsigned long long)seq);
    sodium_bin2hex(line + n, sizeof line - (size_t)n, cp, LEX_CHECKPOINT_BYTES);
    size_t len = strlen(line);
    line[len++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int ok = fd >= 0 && write(fd, line, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errlen, "cannot append to %s: %s", path, strerror(errno));
        return LEX_EIO;
    }
    return 0;
}

int lex_witness_keep(const char *dir, const void *cp, size_t len, const uint8_t pk[32],
                     char *err, size_t errlen)
{
    lex_checkpoint_t c, last;
    if (lex_checkpoint_open(cp, len, pk, &c) != 0) {
        snprintf(err, errlen, "refused a checkpoint whose signature does not hold with the "
                 "log's public key");
        return LEX_EPARSE;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return LEX_EIO;
    }
    if (lex_witness_newest(dir, &last) == 0) {
        if (c.seq == last.seq && memcmp(c.hash, last.hash, 32) == 0)
            return 1;
        if (c.seq <= last.seq) {
            int rc = append_line(dir, LEX_WITNESS_CONFLICTS, c.seq, cp, err, errlen);
            if (rc != 0)
                return rc;
            snprintf(err, errlen, "the switch signed record %llu%s after this witness kept its "
                     "checkpoint of record %llu: its log was rolled back or rewritten (kept in "
                     "%.200s/%s)", (unsigned long long)c.seq,
                     c.seq == last.seq ? " with another hash" : "", (unsigned long long)last.seq,
                     dir, LEX_WITNESS_CONFLICTS);
            return LEX_EEXIST;
        }
    }
    return append_line(dir, LEX_WITNESS_FILE, c.seq, cp, err, errlen);
}

int lex_witness_conflict(const char *dir, const void *cp, size_t len, const char *what,
                         char *err, size_t errlen)
{
    lex_checkpoint_t c;
    if (lex_checkpoint_open(cp, len, NULL, &c) != 0)
        c.seq = 0;
    int rc = append_line(dir, LEX_WITNESS_CONFLICTS, c.seq, cp, err, errlen);
    if (rc != 0)
        return rc;
    snprintf(err, errlen, "%s (kept in %.200s/%s)", what, dir, LEX_WITNESS_CONFLICTS);
    return LEX_EEXIST;
}

int lex_witness_each(const char *dir, const uint8_t pk[32], lex_witness_visit_fn fn, void *arg,
                     unsigned long *bad_line)
{
    char path[4096], line[LINE_LEN + 8];
    path_of(dir, LEX_WITNESS_FILE, path, sizeof path);
    *bad_line = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? LEX_ENOTFOUND : LEX_EIO;
    int rc = 0;
    unsigned long n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        uint8_t cp[LEX_CHECKPOINT_BYTES];
        lex_checkpoint_t c;
        if (parse_line(line, cp) != 0 || lex_checkpoint_open(cp, sizeof cp, pk, &c) != 0) {
            *bad_line = n;
            rc = LEX_EPARSE;
            break;
        }
        if (fn(&c, arg))
            break;
    }
    fclose(f);
    return rc;
}

uint64_t lex_witness_conflicts(const char *dir)
{
    char path[4096], line[LINE_LEN + 8];
    path_of(dir, LEX_WITNESS_CONFLICTS, path, sizeof path);
    FILE *f = fopen(path, "r");
    uint64_t n = 0;
    while (f && fgets(line, sizeof line, f))
        n++;
    if (f)
        fclose(f);
    return n;
}

static int read_key(const char *path, uint8_t pk[32])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? LEX_ENOTFOUND : LEX_EIO;
    char hex[80] = "";
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
        n--;
    size_t got = 0;
    if (n != 64 || sodium_hex2bin(pk, 32, hex, n, NULL, &got, NULL) != 0 || got != 32)
        return LEX_EPARSE;
    return 0;
}

int lex_witness_key(const char *dir, const char *key_path, const uint8_t *offered,
                    uint8_t pk[32], char *err, size_t errlen)
{
    char pinned_path[4096];
    path_of(dir, LEX_WITNESS_KEY_FILE, pinned_path, sizeof pinned_path);
    uint8_t pinned[32], given[32];
    int have_pinned = read_key(pinned_path, pinned) == 0;
    const uint8_t *want = NULL;
    if (key_path) {
        if (read_key(key_path, given) != 0) {
            snprintf(err, errlen, "%s is not a public key file (64 hex digits)", key_path);
            return LEX_EPARSE;
        }
        want = given;
    } else if (have_pinned) {
        want = pinned;
    } else if (offered) {
        want = offered;
    } else {
        snprintf(err, errlen, "no public key for the log: give one, or wait for a checkpoint");
        return LEX_ENOTFOUND;
    }
    if (have_pinned && memcmp(want, pinned, 32) != 0) {
        snprintf(err, errlen, "the log's key is not the one this witness pinned in %.200s: a "
                 "log signed with a new key cannot extend what was witnessed", pinned_path);
        return LEX_EEXIST;
    }
    if (offered && memcmp(offered, want, 32) != 0) {
        snprintf(err, errlen, "the switch now signs with another key than the pinned one");
        return LEX_EEXIST;
    }
    memcpy(pk, want, 32);
    if (!have_pinned) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            return LEX_EIO;
        }
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, pk, 32);
        FILE *f = fopen(pinned_path, "w");
        if (!f || fprintf(f, "%s\n", hex) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
            if (f)
                fclose(f);
            snprintf(err, errlen, "cannot write %s: %s", pinned_path, strerror(errno));
            return LEX_EIO;
        }
        fclose(f);
    }
    return 0;
}
