/* auditlog_sign.c: the log's signing key and its signed checkpoints. The
 * writer keeps an Ed25519 key pair in the data directory (secret key mode
 * 0600, public key next to it) and, every N records or T seconds, signs the
 * chain head (seq, hash, time) into the `checkpoints` column family in the
 * same batch as the records it covers. Format: docs/LOG.md "Checkpoints". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auditlog_internal.h"
#include "lex_envelope.h"
#include "lex_error.h"

static const char cp_context[] = "lexswitch audit checkpoint v1";

static void key_path(const lex_log_t *log, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", log->path, name);
}

int lex_log_read_hex_file(const char *path, uint8_t *out, size_t bytes, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? LEX_ENOTFOUND : LEX_EIO;
    }
    char hex[2 * crypto_sign_SECRETKEYBYTES + 8] = "";
    size_t got = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    while (got && (hex[got - 1] == '\n' || hex[got - 1] == '\r' || hex[got - 1] == ' '))
        got--;
    size_t bin_len = 0;
    if (got != 2 * bytes ||
        sodium_hex2bin(out, bytes, hex, got, NULL, &bin_len, NULL) != 0 || bin_len != bytes) {
        snprintf(err, errlen, "%s: expected %zu hex digits", path, 2 * bytes);
        return LEX_EPARSE;
    }
    return 0;
}

static int write_hex_file(const char *path, const uint8_t *in, size_t bytes, mode_t mode,
                          char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return LEX_EIO;
    }
    char hex[2 * crypto_sign_SECRETKEYBYTES + 2];
    sodium_bin2hex(hex, sizeof hex, in, bytes);
    size_t n = strlen(hex);
    hex[n++] = '\n';
    int ok = write(fd, hex, n) == (ssize_t)n && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    sodium_memzero(hex, sizeof hex);
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return LEX_EIO;
    }
    return 0;
}

int lex_log_keys_load(lex_log_t *log, char *err, size_t errlen)
{
    char sk_path[4096], pk_path[4096];
    key_path(log, LOG_KEY_FILE, sk_path, sizeof sk_path);
    key_path(log, LOG_PUB_FILE, pk_path, sizeof pk_path);
    int rc = lex_log_read_hex_file(sk_path, log->sign_sk, sizeof log->sign_sk, err, errlen);
    if (rc == 0) {
        struct stat st;
        if (stat(sk_path, &st) == 0 && (st.st_mode & 077))
            fprintf(stderr, "lexswitch: WARNING: %s can be read by others (chmod 600 it)\n",
                    sk_path);
        log->can_sign = 1;
        return 0;
    }
    if (rc != LEX_ENOTFOUND)
        return rc;
    if (access(pk_path, F_OK) == 0) {
        /* a public key without its secret: checkpoints made from now on
         * could not be told from forgeries, so refuse rather than rekey */
        snprintf(err, errlen, "%s is missing but %s exists: restore the key, or move both away "
                 "to start a new key", sk_path, pk_path);
        return LEX_ENOTFOUND;
    }
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_keypair(pk, log->sign_sk);
    if ((rc = write_hex_file(sk_path, log->sign_sk, sizeof log->sign_sk, 0600, err, errlen)) != 0)
        return rc;
    /* 0600 too: it lives in the data directory, which is the switch's alone */
    if ((rc = write_hex_file(pk_path, pk, sizeof pk, 0600, err, errlen)) != 0)
        return rc;
    log->can_sign = 1;
    return 0;
}

int lex_log_checkpoint_decode(const char *v, size_t len, uint64_t *seq, uint8_t hash[32],
                              uint64_t *time_us)
{
    if (len != CHECKPOINT_LEN || v[0] != 1)
        return LEX_EPARSE;
    const uint8_t *p = (const uint8_t *)v + 1;
    *seq = lex_log_get_be64(p);
    memcpy(hash, p + 8, 32);
    *time_us = lex_log_get_be64(p + 40);
    return 0;
}

/* The signed message: context string, then the checkpoint's fields as stored. */
static void signed_message(const uint8_t fields[48], uint8_t *out, size_t *n)
{
    memcpy(out, cp_context, sizeof cp_context - 1);
    memcpy(out + sizeof cp_context - 1, fields, 48);
    *n = sizeof cp_context - 1 + 48;
}

int lex_log_checkpoint_check(const char *v, size_t len, const uint8_t pk[32])
{
    if (len != CHECKPOINT_LEN || v[0] != 1)
        return LEX_EPARSE;
    uint8_t msg[sizeof cp_context + 48];
    size_t n;
    signed_message((const uint8_t *)v + 1, msg, &n);
    return crypto_sign_verify_detached((const uint8_t *)v + 49, msg, n, pk) == 0 ? 0 : LEX_EPARSE;
}

void lex_log_checkpoint_maybe(lex_log_t *log, int force)
{
    if (!log->can_sign || log->last_seq <= log->cp_seq)
        return;
    uint64_t now = lex_now_us();
    int due = force || log->last_seq - log->cp_seq >= log->cp_every_records ||
              lex_log_since_checkpoint_us(log) >= (uint64_t)log->cp_every_ms * 1000u;
    if (!due)
        return;
    uint8_t value[CHECKPOINT_LEN];
    value[0] = 1;
    lex_log_put_be64(value + 1, log->last_seq);
    memcpy(value + 9, log->last_hash, 32);
    lex_log_put_be64(value + 41, now);
    uint8_t msg[sizeof cp_context + 48];
    size_t n;
    signed_message(value + 1, msg, &n);
    crypto_sign_detached(value + 49, NULL, msg, n, log->sign_sk);
    uint8_t key[8];
    lex_log_put_be64(key, log->last_seq);
    rocksdb_writebatch_put_cf(log->batch, log->cf[CF_CHECKPOINTS], (const char *)key, 8,
                              (const char *)value, sizeof value);
    lex_log_clock_checkpoint(log, log->last_seq); /* its reckoned time, for retention */
    log->cp_seq = log->last_seq;
    log->cp_time_us = now;
    log->cp_mono_us = lex_mono_us();
}

int lex_log_checkpoints_load(lex_log_t *log, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS]);
    int rc = 0;
    log->cp_seq = 0;
    log->cp_time_us = lex_now_us();
    rocksdb_iter_seek_to_last(it);
    if (rocksdb_iter_valid(it)) {
        size_t len;
        const char *v = rocksdb_iter_value(it, &len);
        uint8_t hash[32];
        if (lex_log_checkpoint_decode(v, len, &log->cp_seq, hash, &log->cp_time_us) != 0) {
            /* lexctl verify names it; the switch goes on and signs anew */
            fprintf(stderr, "lexswitch: WARNING: the newest audit-log checkpoint is damaged\n");
            log->cp_seq = 0;
            log->cp_time_us = 0;
        }
    }
    rocksdb_iter_destroy(it);
    log->cp_committed_seq = log->cp_seq;
    log->cp_committed_time_us = log->cp_time_us;
    return rc;
}
