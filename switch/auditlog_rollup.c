/* auditlog_rollup.c: running counts of queries per destination state, for
 * the transparency report (lexctl report). The writer notes what each
 * record adds, keeps the batch's additions in a small hash table, and when
 * the batch is written puts every touched row (its committed value plus the
 * addition) into the same write batch as the records, so the counts and the
 * records survive or vanish together. What counts: docs/LOG.md "Rollups". */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auditlog_internal.h"
#include "lex_catalogue.h"
#include "lex_envelope.h"
#include "lex_error.h"

/* The decisions a query's outcome is counted under. */
static int counted(const char *decision)
{
    static const char *const names[] = {"allow", "redact", "deny", "review", "refuse"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(decision, names[i]) == 0)
            return 1;
    return 0;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int grow(lex_rollup_acc_t *acc)
{
    size_t cap = acc->cap ? acc->cap * 2 : 64;
    rollup_slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return LEX_ENOMEM;
    for (size_t i = 0; i < acc->cap; i++) {
        if (!acc->slots[i].key[0])
            continue;
        size_t j = fnv1a(acc->slots[i].key) & (cap - 1);
        while (slots[j].key[0])
            j = (j + 1) & (cap - 1);
        slots[j] = acc->slots[i];
    }
    free(acc->slots);
    acc->slots = slots;
    acc->cap = cap;
    return 0;
}

static int add(lex_rollup_acc_t *acc, const char *key, uint64_t n)
{
    if ((acc->used + 1) * 2 > acc->cap && grow(acc) != 0)
        return LEX_ENOMEM;
    size_t j = fnv1a(key) & (acc->cap - 1);
    while (acc->slots[j].key[0] && strcmp(acc->slots[j].key, key) != 0)
        j = (j + 1) & (acc->cap - 1);
    if (!acc->slots[j].key[0]) {
        snprintf(acc->slots[j].key, sizeof acc->slots[j].key, "%s", key);
        acc->used++;
    }
    acc->slots[j].add += n;
    return 0;
}

/* "YYYY-MM" of a time, with the month's bounds cached (records come in
 * time order, so the month rarely changes). */
static const char *month_of(lex_rollup_acc_t *acc, uint64_t t_us)
{
    if (acc->month[0] && t_us >= acc->month_from_us && t_us < acc->month_to_us)
        return acc->month;
    time_t s = (time_t)(t_us / 1000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(acc->month, sizeof acc->month, "%Y-%m", &tm);
    struct tm first = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = 1};
    acc->month_from_us = (uint64_t)timegm(&first) * 1000000u;
    first.tm_mon++;
    acc->month_to_us = (uint64_t)timegm(&first) * 1000000u;
    return acc->month;
}

/* A field of a rollup key: '|' separates fields, so it never appears in one. */
static void put_field(char *out, size_t *n, const char *s)
{
    for (; *s && *n < ROLLUP_KEY_MAX - 2; s++)
        out[(*n)++] = *s == '|' ? '_' : *s;
    out[(*n)++] = '|';
}

/* Counts one query to dst (a state code or an ORI of a state). */
static int count(lex_log_t *log, const char *dst, uint64_t t_us, const char *level,
                 const char *family, const char *key, const char *decision)
{
    if (strlen(dst) < 2)
        return 0;
    char state[3] = {dst[0], dst[1], 0};
    if (!lex_state_valid(state))
        return 0;
    char k[ROLLUP_KEY_MAX];
    size_t n = 0;
    put_field(k, &n, state);
    put_field(k, &n, month_of(&log->rollup, t_us));
    put_field(k, &n, level);
    put_field(k, &n, family);
    put_field(k, &n, key);
    size_t d = strlen(decision);
    memcpy(k + n, decision, d < ROLLUP_KEY_MAX - n ? d : ROLLUP_KEY_MAX - n - 1);
    n += d < ROLLUP_KEY_MAX - n ? d : ROLLUP_KEY_MAX - n - 1;
    k[n] = 0;
    return add(&log->rollup, k, 1);
}

/* The destinations a query record names in its envelope (0 if it does not
 * decode). */
static size_t destinations(const lex_log_record_t *rec, lex_envelope_t *env)
{
    if (!rec->envelope || lex_envelope_decode(rec->envelope, rec->envelope_len, env, NULL) != 0)
        return 0;
    return env->ndst;
}

/* An in-record of a query: single-destination outcomes are counted here;
 * a fan-out's are counted from the out-records that follow. */
static int note_query_in(lex_log_t *log, const lex_log_record_t *rec)
{
    lex_rollup_acc_t *acc = &log->rollup;
    lex_envelope_t env;
    if (strcmp(rec->decision, "fanout") == 0) {
        size_t n = destinations(rec, &env);
        for (size_t i = 0; i < n; i++)
            snprintf(acc->fan_dst[i], sizeof acc->fan_dst[i], "%s", env.dst[i]);
        acc->fan_left = acc->fan_n = n;
        acc->fan_idx = 0;
        acc->fan_id = rec->msg_id;
        snprintf(acc->fan_src, sizeof acc->fan_src, "%s", rec->src);
        snprintf(acc->fan_key, sizeof acc->fan_key, "%s", rec->key);
        snprintf(acc->fan_family, sizeof acc->fan_family, "%s", rec->req_family);
        snprintf(acc->fan_level, sizeof acc->fan_level, "%s", rec->req_level);
        return 0;
    }
    if (!counted(rec->decision))
        return 0;
    size_t n = strcmp(rec->decision, "refuse") == 0 ? destinations(rec, &env) : 0;
    if (n == 0) /* the record's own destination */
        return count(log, rec->dst, rec->time_us, rec->req_level, rec->req_family, rec->key,
                     rec->decision);
    for (size_t i = 0; i < n; i++) { /* a refused fan-out: every destination */
        int rc = count(log, env.dst[i], rec->time_us, rec->req_level, rec->req_family, rec->key,
                       rec->decision);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* An out-record while a fan-out is open: the forwarded copy or the status
 * that is the next destination's outcome. */
static int note_fanout_out(lex_log_t *log, const lex_log_record_t *rec, int is_query)
{
    lex_rollup_acc_t *acc = &log->rollup;
    const char *decision = NULL;
    if (is_query && strcmp(rec->key, acc->fan_key) == 0 && strcmp(rec->src, acc->fan_src) == 0)
        decision = rec->decision; /* allow or redact */
    else if (strcmp(rec->key, "ST") == 0 && strcmp(rec->dst, acc->fan_src) == 0 &&
             rec->ref == acc->fan_id)
        decision = strcmp(rec->decision, "deny") == 0     ? "deny"
                   : strcmp(rec->decision, "review") == 0 ? "review"
                                                          : "refuse";
    if (!decision || !counted(decision)) {
        acc->fan_left = 0; /* not this fan-out's: it is over */
        return 0;
    }
    const char *dst = acc->fan_dst[acc->fan_idx++];
    acc->fan_left--;
    return count(log, dst, rec->time_us, acc->fan_level, acc->fan_family, acc->fan_key,
                 decision);
}

int lex_log_rollup_note(lex_log_t *log, const lex_log_record_t *rec)
{
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), rec->key);
    int is_query = def && def->cls == LEX_CLASS_QUERY;
    if (rec->dir == LEX_DIR_IN) {
        log->rollup.fan_left = 0;
        return is_query ? note_query_in(log, rec) : 0;
    }
    return log->rollup.fan_left ? note_fanout_out(log, rec, is_query) : 0;
}

int lex_log_rollup_flush(lex_log_t *log)
{
    lex_rollup_acc_t *acc = &log->rollup;
    for (size_t i = 0; i < acc->cap; i++) {
        rollup_slot_t *s = &acc->slots[i];
        if (!s->key[0])
            continue;
        size_t klen = strlen(s->key), vlen = 0;
        char *rerr = NULL;
        char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_ROLLUP], s->key, klen, &vlen,
                                 &rerr);
        if (rerr) {
            rocksdb_free(rerr);
            rocksdb_free(v);
            return LEX_EROCKSDB;
        }
        uint64_t total = (v && vlen == 8 ? lex_log_get_be64((const uint8_t *)v) : 0) + s->add;
        rocksdb_free(v);
        uint8_t value[8];
        lex_log_put_be64(value, total);
        rocksdb_writebatch_put_cf(log->batch, log->cf[CF_ROLLUP], s->key, klen,
                                  (const char *)value, 8);
    }
    return 0;
}

void lex_log_rollup_reset(lex_log_t *log)
{
    lex_rollup_acc_t *acc = &log->rollup;
    if (acc->used)
        memset(acc->slots, 0, acc->cap * sizeof *acc->slots);
    acc->used = 0;
    acc->fan_left = 0;
}

void lex_log_rollup_free(lex_log_t *log)
{
    free(log->rollup.slots);
    memset(&log->rollup, 0, sizeof log->rollup);
}

/* Splits a stored key into a row; 0 when it has the six fields. */
static int parse_row(const char *k, size_t klen, lex_log_rollup_t *row)
{
    char *fields[6] = {row->state, row->month, row->level, row->family, row->key, row->decision};
    size_t sizes[6] = {sizeof row->state, sizeof row->month, sizeof row->level,
                       sizeof row->family, sizeof row->key, sizeof row->decision};
    size_t f = 0, n = 0;
    for (size_t i = 0; i <= klen; i++) {
        if (i == klen || k[i] == '|') {
            if (f >= 6)
                return -1;
            fields[f++][n] = 0;
            n = 0;
            continue;
        }
        if (f >= 6 || n + 1 >= sizes[f])
            return -1;
        fields[f][n++] = k[i];
    }
    return f == 6 ? 0 : -1;
}

int lex_log_rollups(lex_log_t *log, const char *state, const char *from_month,
                    const char *to_month, lex_log_rollup_fn fn, void *arg)
{
    if (!lex_state_valid(state))
        return LEX_EINVAL;
    char start[16];
    snprintf(start, sizeof start, "%s|%s", state, from_month ? from_month : "");
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_ROLLUP]);
    int rc = 0;
    for (rocksdb_iter_seek(it, start, strlen(start)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen < 3 || memcmp(k, state, 2) != 0 || k[2] != '|')
            break;
        lex_log_rollup_t row;
        if (parse_row(k, klen, &row) != 0 || vlen != 8)
            continue; /* not a row this version writes */
        if (to_month && strcmp(row.month, to_month) > 0)
            break;
        row.count = lex_log_get_be64((const uint8_t *)v);
        if (fn(&row, arg) != 0)
            break;
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    if (rerr)
        rc = lex_log_rocks_fail(rerr, NULL, 0, "reading rollups");
    rocksdb_iter_destroy(it);
    return rc;
}
