/* witness.c: the switch hands its signed checkpoints to witnesses. A
 * session that sends CP gets the newest checkpoint at once and each new one
 * as the log makes it, queued in the outbox so it leaves only once the
 * commit that wrote it is durable (a witness must never hold a checkpoint
 * of records a crash could still take back). CP carries nothing the log
 * does not hold; only a session's first request is logged. Format:
 * docs/PROTOCOL.md (CP), docs/LOG.md "Witnesses". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_auditlog_repair.h"
#include "lex_body.h"
#include "logline.h"
#include "s2s.h"

/* What the log says now of the record a witness holds a checkpoint of. */
typedef struct {
    uint64_t seq;        /* 0: not asked */
    int found;
    uint8_t hash[32];
} at_t;

/* Queues one CP with the log's newest checkpoint for s. */
static int send_checkpoint(lex_switch_t *sw, const session_t *s, const uint8_t *cp,
                           const uint8_t pk[32], const at_t *at)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++sw->next_status_id;
    strcpy(env.key, "CP");
    strcpy(env.src, LEX_SWITCH_ORI);
    if (s->noris)
        lex_envelope_add_dst(&env, s->oris[0]);
    env.ts_us = lex_now_us();
    lex_buf_reset(&sw->scratch_env);
    lex_buf_reset(&sw->scratch_body);
    msgpack_packer pk_;
    msgpack_packer_init(&pk_, &sw->scratch_body, lex_buf_write);
    msgpack_pack_map(&pk_, 2 + (at && at->seq) + (at && at->found));
    lex_mp_pack_str(&pk_, "cp");
    msgpack_pack_bin(&pk_, LEX_LOG_CHECKPOINT_BYTES);
    msgpack_pack_bin_body(&pk_, cp, LEX_LOG_CHECKPOINT_BYTES);
    lex_mp_pack_str(&pk_, "key");
    msgpack_pack_bin(&pk_, 32);
    msgpack_pack_bin_body(&pk_, pk, 32);
    if (at && at->seq)
        lex_mp_pack_kv_uint(&pk_, "at_seq", at->seq);
    if (at && at->found) {
        lex_mp_pack_str(&pk_, "at_hash");
        msgpack_pack_bin(&pk_, 32);
        msgpack_pack_bin_body(&pk_, at->hash, 32);
    }
    if (lex_envelope_encode(&env, &sw->scratch_env) != 0 || sw->scratch_body.failed)
        return -1;
    return lex_outbox_add(sw, s->rid, s->rid_len, 0, sw->scratch_env.data, sw->scratch_env.len,
                          sw->scratch_body.data, sw->scratch_body.len);
}

void lex_witness_subscribe(lex_switch_t *sw, session_t *s, const lex_envelope_t *e,
                           const void *env, size_t env_len, const void *body, size_t body_len)
{
    at_t at = {0};
    if (!s->witness) {
        /* the first request: say what the log holds at the witness's newest
         * checkpoint (a point read, so once a session, not every request) */
        msgpack_unpacked up;
        if (lex_body_parse(body, body_len, &up) == 0) {
            lex_mp_uint(lex_mp_get(&up.data, "seq"), &at.seq);
            msgpack_unpacked_destroy(&up);
        }
        if (lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, "", e->id, 0, "session",
                                 "", 0, env, env_len, body, body_len) != 0)
            return;
        s->witness = 1;
        sw->witness_any = 1;
        lex_logline_write(LEX_LOG_INFO, "node %s (ORI %s) witnesses the audit log's checkpoints",
                          s->conn, e->src);
        if (at.seq) { /* answered at the next tick, with the others */
            s->witness_at = at.seq;
            sw->witness_at_due++;
            return;
        }
    }
    uint8_t cp[LEX_LOG_CHECKPOINT_BYTES], pk[32];
    if (lex_log_newest_checkpoint(sw->log, cp) == 0 && lex_log_public_key(sw->log, pk) == 0 &&
        send_checkpoint(sw, s, cp, pk, &at) != 0)
        lex_logline_write(LEX_LOG_ERROR, "out of memory queueing a checkpoint for %s", s->conn);
}

typedef struct {
    lex_switch_t *sw;
    const uint8_t *cp, *pk;
    size_t queued;
} publish_t;

static void publish_each(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    publish_t *p = arg;
    const session_t *s = value;
    if (s->witness && send_checkpoint(p->sw, s, p->cp, p->pk, NULL) == 0)
        p->queued++;
}

size_t lex_witness_publish(lex_switch_t *sw)
{
    lex_log_stats_t st;
    lex_log_get_stats(sw->log, &st);
    if (st.checkpoints == sw->witness_published)
        return 0;
    sw->witness_published = st.checkpoints;
    uint8_t cp[LEX_LOG_CHECKPOINT_BYTES], pk[32];
    if (!sw->witness_any || lex_log_newest_checkpoint(sw->log, cp) != 0 ||
        lex_log_public_key(sw->log, pk) != 0)
        return 0;
    publish_t p = {sw, cp, pk, 0};
    lex_table_each(sw->sessions_by_rid, publish_each, &p);
    return p.queued;
}

#define DUE_MAX 1024

typedef struct {
    session_t *s[DUE_MAX];
    uint64_t seq[DUE_MAX];
    size_t n;
} due_t;

static void due_each(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    due_t *d = arg;
    session_t *s = value;
    if (s->witness_at && d->n < DUE_MAX) {
        d->s[d->n] = s;
        d->seq[d->n++] = s->witness_at;
    }
}

size_t lex_witness_answer_due(lex_switch_t *sw)
{
    if (!sw->witness_at_due)
        return 0;
    sw->witness_at_due = 0;
    due_t *d = calloc(1, sizeof *d);
    int *found = calloc(DUE_MAX, sizeof *found);
    uint8_t(*hashes)[32] = calloc(DUE_MAX, 32);
    uint8_t cp[LEX_LOG_CHECKPOINT_BYTES], pk[32];
    size_t queued = 0;
    if (!d || !found || !hashes) {
        lex_logline_write(LEX_LOG_ERROR, "out of memory answering witnesses");
        goto done;
    }
    lex_table_each(sw->sessions_by_rid, due_each, d);
    if (d->n && lex_log_record_hashes(sw->log, d->seq, d->n, found, hashes) == 0 &&
        lex_log_newest_checkpoint(sw->log, cp) == 0 && lex_log_public_key(sw->log, pk) == 0)
        for (size_t i = 0; i < d->n; i++) {
            at_t at = {.seq = d->seq[i], .found = found[i]};
            memcpy(at.hash, hashes[i], 32);
            queued += send_checkpoint(sw, d->s[i], cp, pk, &at) == 0;
        }
    for (size_t i = 0; i < d->n; i++)
        d->s[i]->witness_at = 0;
    sw->witness_at_due += d->n == DUE_MAX; /* more than one pass holds: the rest next tick */
done:
    free(d);
    free(found);
    free(hashes);
    return queued;
}
