/* access.c: who may look, and the record that they looked. The data
 * directory and the secret keys are the switch's alone (at start: umask 077,
 * the directory closed to others, a readable secret key refused); an
 * operator's key decides which state's share it sees (lex_operator_scope);
 * every operator request leaves an access record naming the key; the
 * journal of reads by lexctl moves into the chain on the tick
 * (lex_log_access_ingest). Never routes. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "lex_body.h"
#include "lex_error.h"
#include "logline.h"
#include "switch_internal.h"

#define ACCESS_SCAN_US 200000u   /* how often the journal is looked at */
#define ACCESS_BATCH 256         /* journal entries moved per look */

/* 0 when path is no one's but the owner's, else LEX_EINVAL with why. */
static int private_to_owner(const char *path, const char *what, const char *fix, char *err,
                            size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot check %s %s: %s", what, path, strerror(errno));
        return LEX_EIO;
    }
    if ((st.st_mode & 077) == 0)
        return 0;
    snprintf(err, errlen, "%s %s can be read by group or others (mode %03o): %s %s and start "
             "again (docs/OPERATIONS.md \"Files in the data directory\")", what, path,
             (unsigned)(st.st_mode & 0777), fix, path);
    return LEX_EINVAL;
}

static size_t opened_files;   /* nftw has no argument: the count of the one walk */
static int open_files_failed;

static int close_to_others(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_SL || (st->st_mode & 077) == 0)
        return 0;
    if (chmod(path, st->st_mode & 07700) != 0)
        open_files_failed = 1;
    else
        opened_files++;
    return 0;
}

int lex_access_secure_files(const lex_switch_config_t *cfg, char *err, size_t errlen)
{
    umask(077); /* RocksDB's files, the pid and status files: the owner's only */
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot make the data directory %s: %s", cfg->data_dir,
                 strerror(errno));
        return LEX_EIO;
    }
    /* the signing key first: if others could read it, a new key is due,
     * which is the operator's decision (docs/OPERATIONS.md "Files in the
     * data directory") */
    char path[LEX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/audit-sign.key", cfg->data_dir);
    int rc = private_to_owner(path, "the log's signing key",
                              "if no one else can have copied it, chmod 600", err, errlen);
    if (rc != 0)
        return rc;
    /* the directory and the tables in it: closed to group and others */
    opened_files = 0;
    open_files_failed = 0;
    if (nftw(cfg->data_dir, close_to_others, 16, FTW_PHYS) != 0 || open_files_failed) {
        snprintf(err, errlen, "cannot close the data directory %s to group and others: %s "
                 "(chmod -R go-rwx it)", cfg->data_dir, strerror(errno));
        return LEX_EIO;
    }
    if (opened_files)
        lex_logline_write(LEX_LOG_WARN, "the data directory %s was open to group or others: "
                          "closed %zu files and directories to them (mode 0700/0600)",
                          cfg->data_dir, opened_files);
    if (rc == 0 && !cfg->dev_plain && cfg->curve_key[0])
        rc = private_to_owner(cfg->curve_key, "the switch's CURVE key", "chmod 600", err, errlen);
    return rc;
}

int lex_operator_scope(const session_t *s, char state[LEX_STATE_LEN + 1])
{
    state[0] = 0;
    if (!s->bind)
        return 1; /* without CURVE there is no key to scope by (dev_plain) */
    if (s->bind->role != LEX_KEY_OPERATOR)
        return 0; /* not an operator: no state, so no share */
    if (s->bind->national)
        return 1; /* scope `national` (lex_directory.h) */
    if (!s->bind->state[0])
        return 0;
    snprintf(state, LEX_STATE_LEN + 1, "%s", s->bind->state);
    return 0;
}

void lex_operator_access(lex_switch_t *sw, const session_t *s, const lex_envelope_t *e,
                         const char *cmd, const char *filter, const char *state)
{
    lex_buf_t b;
    lex_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    msgpack_pack_map(&pk, 9);
    lex_mp_pack_kv_uint(&pk, "v", 1);
    lex_mp_pack_kv_uint(&pk, "t", lex_now_us());
    lex_mp_pack_kv_str(&pk, "who", s->bind ? s->bind->label : "");
    lex_mp_pack_kv_str(&pk, "key", s->peer_key);
    lex_mp_pack_kv_str(&pk, "ori", e->src);
    lex_mp_pack_kv_str(&pk, "tool", "wire");
    lex_mp_pack_kv_str(&pk, "cmd", cmd);
    lex_mp_pack_kv_str(&pk, "filter", filter ? filter : "");
    lex_mp_pack_kv_str(&pk, "state", state ? state : "");
    if (!b.failed)
        lex_route_log_record(sw, LEX_DIR_IN, s->conn, "", e->src, state ? state : "", e->id, 0,
                             "access", cmd, 0, NULL, 0, b.data, b.len);
    lex_buf_free(&b);
}

void lex_access_tick(lex_switch_t *sw, uint64_t now_us, int force)
{
    if (sw->log_failed || (!force && now_us - sw->access_scan_us < ACCESS_SCAN_US))
        return;
    sw->access_scan_us = now_us;
    size_t n = 0;
    int rc;
    do {
        rc = lex_log_access_ingest(sw->log, sw->cfg.data_dir, ACCESS_BATCH, &n);
        sw->access_recorded += n;
        sw->access_failures += rc != 0;
        if (rc == 0 && n)
            lex_logline_write(LEX_LOG_DEBUG, "access journal: %zu reads of the log recorded", n);
    } while (rc == 0 && n == ACCESS_BATCH);
    if (rc != 0 && lex_log_failed(sw->log)) {
        /* the log died under the journal's commit: as for any commit
         * (logfail.c), answer what waits and stop; the entries stay */
        lex_logfail_begin(sw, rc);
        lex_logfail_answer(sw, &sw->outbox);
        lex_logfail_answer(sw, &sw->wal_wait);
        sw->wal_dirty = 0;
        return;
    }
    if (rc != 0 && !sw->access_failing)
        lex_logline_write(LEX_LOG_ERROR,
                          "access journal in %s/%s could not be recorded (%s; an entry written "
                          "by another user?): it stays there and is tried again",
                          sw->cfg.data_dir, LEX_ACCESS_DIR, lex_strerror(rc));
    sw->access_failing = rc != 0; /* one line per failure, not one a tick */
}
