/* auditlog_gap.c: the gap record. When records were lost (a damaged
 * write-ahead log, salvaged by lexctl repair), the writer continues the
 * chain from the last record kept with one record that says which numbers
 * were lost and why, numbered after the last lost one and signed by a
 * checkpoint in the same batch. The verifier accepts the jump only with it,
 * and reports it as a loss for as long as the record exists. */
#include <stdio.h>
#include <string.h>
#include <msgpack.h>
#include "auditlog_internal.h"
#include "lex_auditlog_repair.h"
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"

int lex_log_append_gap(lex_log_t *log, uint64_t kept_to, const uint8_t kept_hash[32],
                       uint64_t from, uint64_t to, const char *reason)
{
    if (log->reader || log->pending || !log->can_sign || to + 1 < from || kept_to + 1 != from)
        return LEX_EINVAL;
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 3);
    lex_mp_pack_kv_uint(&pk, "from", from);
    lex_mp_pack_kv_uint(&pk, "to", to);
    lex_mp_pack_kv_str(&pk, "reason", reason ? reason : "");
    if (body.failed) {
        lex_buf_free(&body);
        return LEX_ENOMEM;
    }
    /* the chain goes on from the last record kept; the numbers up to `to`
     * are given up for good */
    log->last_seq = log->committed_seq = to;
    memcpy(log->last_hash, kept_hash, 32);
    memcpy(log->committed_hash, kept_hash, 32);
    lex_log_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.dir = LEX_DIR_IN;
    snprintf(rec.key, sizeof rec.key, "%s", LEX_LOG_GAP_KEY);
    snprintf(rec.decision, sizeof rec.decision, "%s", LEX_LOG_GAP_DECISION);
    rec.status = LEX_ST_LOG_FAILED;
    rec.body = body.data;
    rec.body_len = body.len;
    int rc = lex_log_append(log, &rec);
    if (rc == 0) {
        uint32_t every = log->cp_every_records;
        log->cp_every_records = 1; /* the gap record is signed in its own batch */
        rc = lex_log_commit(log);
        log->cp_every_records = every;
    }
    lex_buf_free(&body);
    return rc;
}

int lex_log_gap_decode(const lex_log_record_t *rec, uint64_t *from, uint64_t *to, char *reason,
                       size_t reason_len)
{
    if (strcmp(rec->decision, LEX_LOG_GAP_DECISION) != 0 || strcmp(rec->key, LEX_LOG_GAP_KEY) != 0 ||
        !rec->body)
        return LEX_EPARSE;
    msgpack_unpacked up;
    if (lex_body_parse(rec->body, rec->body_len, &up) != 0)
        return LEX_EPARSE;
    int rc = lex_mp_uint(lex_mp_get(&up.data, "from"), from) == 0 &&
                     lex_mp_uint(lex_mp_get(&up.data, "to"), to) == 0
                 ? 0
                 : LEX_EPARSE;
    const msgpack_object *r = lex_mp_get(&up.data, "reason");
    if (reason && reason_len) {
        size_t n = r && r->type == MSGPACK_OBJECT_STR ? r->via.str.size : 0;
        n = n < reason_len - 1 ? n : reason_len - 1;
        memcpy(reason, n ? r->via.str.ptr : "", n);
        reason[n] = 0;
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}
