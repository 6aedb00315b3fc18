/* log_scrub.c: after the switch starts, it reads its whole audit log once,
 * a slice a tick, through a reader of its own, so that a table block that
 * fails its checksum is said out loud (an error line naming the records
 * and the lexswitch_log_damaged_records metric) instead of waiting for an
 * auditor's `lexctl verify`. The switch goes on: old records are read-only,
 * and new ones go to new tables (docs/LOG.md "Damage"). */
#include <msgpack.h>
#include <stdio.h>
#include "lex_auditlog_repair.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "logline.h"
#include "s2s.h"

#define SCRUB_SLICE 2000   /* records read per tick (25 ms): about 1 ms of the loop */

void lex_scrub_start(lex_switch_t *sw)
{
    const char *what = lex_log_interrupted_write(sw->log);
    if (!what)
        return;
    sw->log_interrupted_write = 1;
    lex_logline_write(LEX_LOG_WARN, "audit log: the previous process was killed while writing: %s",
                      what);
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "why", what);
    if (!body.failed)
        lex_route_log_record(sw, LEX_DIR_IN, "", "LOG", LEX_SWITCH_ORI, "", 0, 0, "recovery", "",
                             0, NULL, 0, body.data, body.len);
    lex_buf_free(&body);
}

void lex_scrub_tick(lex_switch_t *sw)
{
    if (sw->scrub_done)
        return;
    if (!sw->scrub_log) {
        char err[512];
        if (lex_log_open_reader(sw->cfg.data_dir, &sw->scrub_log, err, sizeof err) != 0) {
            lex_logline_write(LEX_LOG_WARN, "audit log check skipped: %s", err);
            sw->scrub_done = 1;
            return;
        }
        sw->scrub_cursor = 1;
    }
    uint64_t from = 0, to = 0;
    char what[160] = "";
    int rc = lex_log_scrub_step(sw->scrub_log, &sw->scrub_cursor, SCRUB_SLICE, &from, &to, what,
                                sizeof what);
    if (rc == 1) {
        sw->log_damaged += to - from + 1;
        lex_logline_write(LEX_LOG_ERROR, "AUDIT LOG DAMAGED: records %llu to %llu cannot be read "
                          "(%s); the switch goes on writing new records; `lexctl verify` "
                          "reports every damaged range", (unsigned long long)from,
                          (unsigned long long)to, what);
    } else if (rc == 2) {
        lex_logline_write(sw->log_damaged ? LEX_LOG_ERROR : LEX_LOG_DEBUG,
                          "audit log checked: %llu records cannot be read",
                          (unsigned long long)sw->log_damaged);
        lex_log_close(&sw->scrub_log);
        sw->scrub_done = 1;
    }
}

void lex_scrub_close(lex_switch_t *sw)
{
    lex_log_close(&sw->scrub_log);
}
