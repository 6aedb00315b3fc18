/* auditlog_query.c: searches of the audit log (lex_log_query). A search
 * walks the most selective index it has a key for (message id, ORI, state,
 * then time), bounded by the seq range the time index gives for --from/--to,
 * and checks every other filter on the record itself. Read-only. */
#include <string.h>
#include "auditlog_internal.h"
#include "lex_envelope.h"
#include "lex_error.h"

typedef struct {
    const lex_log_query_t *q;
    lex_log_visit_fn fn;
    void *arg;
    uint64_t to_seq;         /* a plain scan stops after it */
} filter_t;

static int in_state(const char *name, const char *state)
{
    return strncmp(name, state, 2) == 0 && name[0];
}

static int matches(const lex_log_query_t *q, const lex_log_record_t *r)
{
    if (q->key && strcmp(q->key, r->key) != 0)
        return 0;
    if (q->decision && strcmp(q->decision, r->decision) != 0)
        return 0;
    if (q->family && strcmp(q->family, r->req_family) != 0)
        return 0;
    if (q->has_id && q->msg_id != r->msg_id)
        return 0;
    if (q->ori && strcmp(q->ori, r->src) != 0 && strcmp(q->ori, r->dst) != 0)
        return 0;
    if (q->state && !in_state(r->src, q->state) && !in_state(r->dst, q->state))
        return 0;
    if (q->from_us && r->time_us < q->from_us)
        return 0;
    if (q->to_us && r->time_us >= q->to_us)
        return 0;
    return 1;
}

static int filter_visit(const lex_log_record_t *r, void *arg)
{
    filter_t *f = arg;
    if (r->seq > f->to_seq)
        return 1;
    return matches(f->q, r) ? f->fn(r, f->arg) : 0;
}

uint64_t lex_log_seq_at_time(lex_log_t *log, uint64_t time_us)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_BY_TIME]);
    uint8_t key[8];
    lex_log_put_be64(key, time_us);
    rocksdb_iter_seek(it, (const char *)key, 8);
    uint64_t seq = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen == 16)
            seq = lex_log_get_be64((const uint8_t *)k + 8);
    }
    rocksdb_iter_destroy(it);
    /* entries of records retention removed wait for compaction: the log
     * starts after the base */
    uint64_t base = seq ? lex_log_load_base(log) : 0;
    return seq && seq <= base ? base + 1 : seq;
}

/* Records sit in seq order and their times almost always rise with seq, so
 * a time range maps to a seq range; the records' own times are still
 * checked, and a margin covers a clock that stepped back. */
static void seq_range(lex_log_t *log, const lex_log_query_t *q, uint64_t *from, uint64_t *to)
{
    const uint64_t margin_us = 60u * 1000000u;
    *from = 0;
    *to = UINT64_MAX;
    if (q->from_us) {
        uint64_t s = lex_log_seq_at_time(log, q->from_us > margin_us ? q->from_us - margin_us : 0);
        *from = s ? s : UINT64_MAX;
    }
    if (q->to_us) {
        uint64_t s = lex_log_seq_at_time(log, q->to_us + margin_us);
        if (s)
            *to = s;
    }
}

int lex_log_query(lex_log_t *log, const lex_log_query_t *q, lex_log_visit_fn fn, void *arg)
{
    if ((q->ori && !lex_ori_valid(q->ori)) || (q->state && !lex_state_valid(q->state)))
        return LEX_EINVAL;
    if (q->from_us && q->to_us && q->to_us <= q->from_us)
        return 0;
    filter_t f = {.q = q, .fn = fn, .arg = arg, .to_seq = UINT64_MAX};
    uint64_t from, to;
    seq_range(log, q, &from, &to);
    if (from == UINT64_MAX)
        return 0; /* nothing as new as --from */
    if (q->has_id) {
        uint8_t prefix[8];
        lex_log_put_be64(prefix, q->msg_id);
        return lex_log_scan_index(log, CF_BY_ID, (const char *)prefix, 8, from, to, filter_visit,
                                  &f);
    }
    if (q->ori)
        return lex_log_scan_index(log, CF_BY_ORI, q->ori, LEX_ORI_LEN, from, to, filter_visit, &f);
    if (q->state)
        return lex_log_scan_index(log, CF_BY_STATE, q->state, 2, from, to, filter_visit, &f);
    /* no index key: the records themselves, from the first in range */
    f.to_seq = to;
    return lex_log_scan(log, from, 0, filter_visit, &f);
}
