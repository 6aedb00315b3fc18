/* retention.c: the switch's side of audit-log retention. At the first tick
 * and every retention_check_s after, a pass works out (by the reckoned
 * time, clock.c) which records are older than retention_days; it then
 * removes them a slice per tick, between message passes. A pass that would
 * remove more than retention_max_share percent of the log waits: it is
 * logged, recorded, shown as a metric and written to the data directory
 * for `lexctl retention confirm`. docs/LOG.md "Retention". */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lex_body.h"
#include "lex_error.h"
#include "logline.h"
#include "s2s.h"
#include "switch_internal.h"

#define DAY_US (86400ull * 1000000ull)

static void path_of(const lex_switch_t *sw, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", sw->cfg.data_dir, name);
}

/* One audit record of a retention decision. */
static void record(lex_switch_t *sw, const char *result, uint64_t from, uint64_t to,
                   uint64_t records, uint64_t reckoned_us, uint64_t period_us)
{
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 7);
    lex_mp_pack_kv_str(&pk, "result", result);
    lex_mp_pack_kv_uint(&pk, "from", from);
    lex_mp_pack_kv_uint(&pk, "to", to);
    lex_mp_pack_kv_uint(&pk, "records", records);
    lex_mp_pack_kv_uint(&pk, "reckoned_us", reckoned_us);
    lex_mp_pack_kv_uint(&pk, "cutoff_us", reckoned_us - period_us);
    lex_mp_pack_kv_uint(&pk, "period_days", period_us / DAY_US);
    if (!body.failed)
        lex_route_log_record(sw, LEX_DIR_IN, "", "RETENTION", LEX_SWITCH_ORI, "", 0, 0,
                             "retention", "", 0, NULL, 0, body.data, body.len);
    lex_buf_free(&body);
}

/* The seq an operator confirmed (`lexctl retention confirm`), or 0. */
static uint64_t confirmed_upto(const lex_switch_t *sw)
{
    char path[LEX_PATH_MAX + 32];
    path_of(sw, LEX_RETENTION_CONFIRM_FILE, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long v = 0;
    if (fscanf(f, "upto %llu", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

static void write_pending(lex_switch_t *sw, uint64_t from, uint64_t upto, uint64_t records,
                          uint64_t stored, uint64_t cutoff_us)
{
    char path[LEX_PATH_MAX + 32], tmp[LEX_PATH_MAX + 40];
    path_of(sw, LEX_RETENTION_PENDING_FILE, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    mode_t old = umask(077);
    FILE *f = fopen(tmp, "w");
    umask(old);
    if (!f)
        return;
    fprintf(f,
            "upto %llu\nfrom %llu\nrecords %llu\nstored %llu\ncutoff_us %llu\nshare_max %d\n",
            (unsigned long long)upto, (unsigned long long)from, (unsigned long long)records,
            (unsigned long long)stored, (unsigned long long)cutoff_us,
            sw->cfg.retention_max_share);
    if (fclose(f) == 0)
        rename(tmp, path);
}

static void clear_files(lex_switch_t *sw)
{
    char path[LEX_PATH_MAX + 32];
    path_of(sw, LEX_RETENTION_PENDING_FILE, path, sizeof path);
    unlink(path);
    path_of(sw, LEX_RETENTION_CONFIRM_FILE, path, sizeof path);
    unlink(path);
}

static void start_pass(lex_switch_t *sw, uint64_t upto, uint64_t reckoned, uint64_t period)
{
    lex_retention_state_t *r = &sw->retention;
    r->active = 1;
    r->upto = upto;
    r->from = lex_log_base(sw->log) + 1;
    r->reckoned_us = reckoned;
    r->period_us = period;
    r->removed = 0;
}

static void slice(lex_switch_t *sw)
{
    lex_retention_state_t *r = &sw->retention;
    uint64_t removed = 0;
    int rc = lex_log_prune_slice(sw->log, r->upto, r->reckoned_us, r->period_us, (uint64_t)sw->cfg.retention_slice,
                                 &removed);
    r->removed += removed;
    r->removed_total += removed;
    if (removed)
        r->slices_total++;
    if (rc == 1)
        return; /* the next slice at the next tick */
    r->active = 0;
    if (rc < 0) {
        r->failures_total++;
        lex_logline_write(LEX_LOG_ERROR, "audit log retention failed after %llu records: %s",
                          (unsigned long long)r->removed, lex_strerror(rc));
        return;
    }
    if (!r->removed)
        return;
    lex_logline_write(LEX_LOG_INFO,
                      "audit log retention: removed records %llu to %llu (%llu records older "
                      "than %d days by the switch's reckoning); the log starts at record %llu",
                      (unsigned long long)r->from, (unsigned long long)(r->from + r->removed - 1),
                      (unsigned long long)r->removed, sw->cfg.retention_days,
                      (unsigned long long)(lex_log_base(sw->log) + 1));
    record(sw, "removed", r->from, r->from + r->removed - 1, r->removed, r->reckoned_us,
           r->period_us);
}

/* A cut over the share: wait, once logged and recorded per cut. */
static void wait_for_confirmation(lex_switch_t *sw, uint64_t upto, uint64_t records,
                                  uint64_t stored, uint64_t reckoned, uint64_t period)
{
    lex_retention_state_t *r = &sw->retention;
    uint64_t from = lex_log_base(sw->log) + 1;
    int is_new = r->waiting_upto == 0;
    r->waiting_upto = upto;
    r->waiting_records = records;
    r->waiting_stored = stored;
    write_pending(sw, from, upto, records, stored, reckoned - period);
    if (!is_new)
        return;
    lex_logline_write(LEX_LOG_WARN,
                      "audit log retention waits: removing records %llu to %llu (%llu of %llu, "
                      "%.1f%%) is more than retention_max_share=%d%%; confirm with `lexctl "
                      "retention confirm --data %s`",
                      (unsigned long long)from, (unsigned long long)upto,
                      (unsigned long long)records, (unsigned long long)stored,
                      100.0 * (double)records / (double)stored, sw->cfg.retention_max_share,
                      sw->cfg.data_dir);
    record(sw, "waiting", from, upto, records, reckoned, period);
}

void lex_retention_tick(lex_switch_t *sw, uint64_t now_us)
{
    lex_retention_state_t *r = &sw->retention;
    if (sw->cfg.retention_days <= 0 || lex_log_pending(sw->log))
        return;
    if (r->active) {
        slice(sw);
        return;
    }
    uint64_t reckoned = lex_clock_now(sw), period = (uint64_t)sw->cfg.retention_days * DAY_US;
    if (r->waiting_upto && now_us >= r->next_confirm_look_us) {
        r->next_confirm_look_us = now_us + 1000000u;
        uint64_t ok = confirmed_upto(sw);
        if (ok >= r->waiting_upto) {
            uint64_t upto = r->waiting_upto;
            lex_logline_write(LEX_LOG_INFO,
                              "audit log retention: the operator confirmed removing records up "
                              "to %llu",
                              (unsigned long long)upto);
            record(sw, "confirmed", lex_log_base(sw->log) + 1, upto, r->waiting_records, reckoned,
                   period);
            r->waiting_upto = 0;
            clear_files(sw);
            start_pass(sw, upto, reckoned, period);
            return;
        }
    }
    if (now_us < r->next_us)
        return;
    r->next_us = now_us + (uint64_t)sw->cfg.retention_check_s * 1000000u;
    if (reckoned <= period)
        return;
    uint64_t upto = 0, records = 0, stored = 0;
    int rc = lex_log_prune_due(sw->log, reckoned - period, &upto, &records, &stored);
    if (rc != 0) {
        r->failures_total++;
        lex_logline_write(LEX_LOG_ERROR, "audit log retention could not read the log: %s",
                          lex_strerror(rc));
        return;
    }
    if (upto == 0 || records == 0) {
        lex_logline_write(LEX_LOG_DEBUG,
                          "audit log retention: nothing older than %d days by the switch's "
                          "reckoning",
                          sw->cfg.retention_days);
        return;
    }
    if (sw->cfg.retention_max_share < 100 &&
        records * 100 > (uint64_t)sw->cfg.retention_max_share * stored) {
        wait_for_confirmation(sw, upto, records, stored, reckoned, period);
        return;
    }
    if (r->waiting_upto) { /* the share shrank below the bound on its own */
        r->waiting_upto = 0;
        clear_files(sw);
    }
    start_pass(sw, upto, reckoned, period);
    slice(sw);
}
