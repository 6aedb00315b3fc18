/* auditlog_logfile.c: RocksDB's write-ahead logs and MANIFEST, read by the
 * log library itself, record by record in RocksDB's log format (32 KiB
 * blocks of records with a CRC-32C, a length and a fragment type), so that
 * damage is named by file and byte rather than left to RocksDB's words, and
 * so that lexctl repair can see which record numbers a damaged WAL still
 * holds. It only reads (auditlog_integrity.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "auditlog_integrity.h"
#include "auditlog_internal.h"
#include "lex_error.h"

#define LOG_BLOCK 32768   /* RocksDB log format: 32 KiB blocks */
#define LOG_HEADER 7      /* crc32c (4), length (2), type (1) */
#define LOG_RECYCLED_HEADER 11

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n > m && strcmp(name + n - m, suffix) == 0;
}

/* CRC-32C (Castagnoli), as RocksDB's log records carry it, masked. */
static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t crc_unmask(uint32_t masked)
{
    uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static int read_whole(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f)
        return errno == ENOENT ? LEX_ENOTFOUND : LEX_EIO;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return LEX_EIO;
    }
    *data = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!*data) {
        fclose(f);
        return LEX_ENOMEM;
    }
    *len = fread(*data, 1, (size_t)st.st_size, f);
    int bad = ferror(f);
    fclose(f);
    return bad ? LEX_EIO : 0;
}

int lex_log_file_check(const char *path, uint64_t *bad_at, char *why, size_t whylen)
{
    uint8_t *d;
    size_t len;
    int rc = read_whole(path, &d, &len);
    if (rc != 0)
        return rc;
    size_t pos = 0;
    int in_record = 0;      /* a FIRST fragment was read, its LAST not yet */
    size_t record_at = 0;   /* where the logical record being read began */
    rc = 0;
    while (pos < len) {
        size_t left_in_block = LOG_BLOCK - pos % LOG_BLOCK;
        if (left_in_block < LOG_HEADER) { /* the block's zero trailer */
            pos += left_in_block;
            continue;
        }
        if (len - pos < LOG_HEADER) {
            if (all_zero(d + pos, len - pos))
                break;
            snprintf(why, whylen, "ends inside a record header");
            *bad_at = pos;
            rc = 1;
            break;
        }
        const uint8_t *h = d + pos;
        uint32_t stored = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                          (uint32_t)h[3] << 24;
        size_t n = (size_t)h[4] | (size_t)h[5] << 8;
        uint8_t type = h[6];
        if (type == 0 && n == 0 && stored == 0) { /* preallocated space: zeros to the end */
            if (all_zero(d + pos, len - pos))
                break;
            snprintf(why, whylen, "holds bytes after a zeroed region");
            *bad_at = pos;
            rc = 1;
            break;
        }
        size_t hlen = type >= 5 && type <= 8 ? LOG_RECYCLED_HEADER : LOG_HEADER;
        if (pos + hlen + n > len) {
            snprintf(why, whylen, "ends inside a record (cut short: %zu of its %zu bytes)",
                     len - pos, hlen + n);
            *bad_at = pos;
            rc = 1;
            break;
        }
        if (crc32c(0, h + 6, hlen - 6 + n) != crc_unmask(stored)) {
            snprintf(why, whylen, "a record fails its checksum");
            *bad_at = pos;
            rc = 1;
            break;
        }
        uint8_t kind = type >= 5 && type <= 8 ? (uint8_t)(type - 4) : type;
        if (kind == 1 || kind == 2) {
            if (in_record) {
                snprintf(why, whylen, "a record is missing its last part");
                *bad_at = record_at;
                rc = 1;
                break;
            }
            in_record = kind == 2;
            record_at = pos;
        } else if (kind == 3 || kind == 4) {
            if (!in_record) {
                snprintf(why, whylen, "a record part has no beginning");
                *bad_at = pos;
                rc = 1;
                break;
            }
            in_record = kind == 3;
        }
        pos += hlen + n;
    }
    if (rc == 0 && in_record) {
        snprintf(why, whylen, "ends inside a record (cut short after %zu bytes of it)",
                 len - record_at);
        *bad_at = record_at;
        rc = 1;
    }
    free(d);
    return rc;
}

int lex_log_wal_damage(const char *dir, char *out, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    size_t used = 0;
    out[0] = 0;
    while (d && (e = readdir(d))) {
        if (!has_suffix(e->d_name, ".log"))
            continue;
        char path[4096], why[128];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint64_t at = 0;
        if (lex_log_file_check(path, &at, why, sizeof why) != 1)
            continue;
        found++;
        if (used < n)
            used += (size_t)snprintf(out + used, n - used, "%s%s: %s at byte %llu",
                                     found > 1 ? "; " : "", path, why, (unsigned long long)at);
    }
    if (d)
        closedir(d);
    return found;
}

/* A msgpack unsigned integer at p (fixint, uint8..uint64); -1 if not one. */
static int mp_uint(const uint8_t *p, size_t left, uint64_t *v)
{
    if (left < 1)
        return -1;
    if (p[0] < 0x80) {
        *v = p[0];
        return 0;
    }
    size_t n = p[0] == 0xcc ? 1 : p[0] == 0xcd ? 2 : p[0] == 0xce ? 4 : p[0] == 0xcf ? 8 : 0;
    if (!n || left < 1 + n)
        return -1;
    *v = 0;
    for (size_t i = 1; i <= n; i++)
        *v = *v << 8 | p[i];
    return 0;
}

uint64_t lex_log_wal_max_seq(const char *dir)
{
    /* a record's value starts with its map header and "seq"; the head
     * entry is the key "head" with its 40-byte value */
    static const uint8_t rec_mark[] = {0xde, 0x00, 0x11, 0xa3, 's', 'e', 'q'};
    static const uint8_t head_mark[] = {0x04, 'h', 'e', 'a', 'd', 0x28};
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t max = 0;
    while (d && (e = readdir(d))) {
        if (!has_suffix(e->d_name, ".log"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *b;
        size_t len;
        if (read_whole(path, &b, &len) != 0) {
            free(b);
            continue;
        }
        for (size_t i = 0; i + sizeof rec_mark < len; i++) {
            uint64_t v = 0;
            if (memcmp(b + i, rec_mark, sizeof rec_mark) == 0 &&
                mp_uint(b + i + sizeof rec_mark, len - i - sizeof rec_mark, &v) == 0 && v > max)
                max = v;
            if (i + sizeof head_mark + 8 <= len && memcmp(b + i, head_mark, sizeof head_mark) == 0) {
                v = lex_log_get_be64(b + i + sizeof head_mark);
                if (v > max && v < (1ull << 48)) /* a plausible seq, not stray bytes */
                    max = v;
            }
        }
        free(b);
    }
    if (d)
        closedir(d);
    return max;
}
