/* clock.c: the switch's reckoning of time. At start the reckoned time is
 * the wall clock or the log's stored high-water mark, whichever is later;
 * after that it moves only with the monotonic clock, so a wall clock that
 * jumps (forward or back) changes nothing retention decides. Once a second
 * the wall clock is compared with the monotonic one: a step is logged,
 * counted and recorded in the audit log (decision "clock"). Records keep
 * their wall-clock time as evidence. docs/LOG.md "Time". */
#include <msgpack.h>
#include <stdlib.h>
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_error.h"
#include "logline.h"
#include "s2s.h"
#include "switch_internal.h"

#define CHECK_EVERY_US 1000000ull
#define SAVE_EVERY_US (60ull * 1000000ull)

uint64_t lex_clock_now(const lex_switch_t *sw)
{
    const lex_clock_state_t *c = &sw->clock;
    return c->start_reckoned_us + (lex_mono_us() - c->start_mono_us);
}

/* One audit record of what the clock did: body {why, wall_us, reckoned_us,
 * step_us}. */
static void record(lex_switch_t *sw, const char *why, int64_t step_us)
{
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 4);
    lex_mp_pack_kv_str(&pk, "why", why);
    lex_mp_pack_kv_uint(&pk, "wall_us", lex_now_us());
    lex_mp_pack_kv_uint(&pk, "reckoned_us", lex_clock_now(sw));
    lex_mp_pack_str(&pk, "step_us");
    msgpack_pack_int64(&pk, step_us);
    if (!body.failed)
        lex_route_log_record(sw, LEX_DIR_IN, "", "CLOCK", LEX_SWITCH_ORI, "", 0, 0, "clock", "", 0,
                             NULL, 0, body.data, body.len);
    lex_buf_free(&body);
}

static int64_t wall_minus_mono(void)
{
    return (int64_t)lex_now_us() - (int64_t)lex_mono_us();
}

void lex_clock_start(lex_switch_t *sw)
{
    lex_clock_state_t *c = &sw->clock;
    uint64_t mark = lex_log_clock_mark(sw->log), wall = lex_now_us();
    c->start_mono_us = lex_mono_us();
    c->start_reckoned_us = wall > mark ? wall : mark;
    c->offset_us = wall_minus_mono();
    c->start_behind_us = mark > wall ? (int64_t)(mark - wall) : 0;
    lex_log_set_clock(sw->log, c->start_reckoned_us);
    if (c->start_behind_us > (int64_t)sw->cfg.clock_step_ms * 1000)
        lex_logline_write(LEX_LOG_WARN,
                          "the wall clock is %.3f s behind the audit log's reckoning; the switch "
                          "goes by the log's (the clock stepped back, or was set wrong)",
                          (double)c->start_behind_us / 1e6);
    else if (mark && wall - mark > 86400ull * 1000000ull)
        lex_logline_write(LEX_LOG_INFO,
                          "the wall clock is %.1f days past the audit log's last reckoning (the "
                          "switch was stopped that long, or the clock is wrong)",
                          (double)(wall - mark) / 86400e6);
}

void lex_clock_tick(lex_switch_t *sw, uint64_t mono_us)
{
    lex_clock_state_t *c = &sw->clock;
    lex_log_set_clock(sw->log, lex_clock_now(sw));
    if (c->start_behind_us > (int64_t)sw->cfg.clock_step_ms * 1000) {
        c->steps++;
        c->last_step_us = -c->start_behind_us;
        record(sw, "behind the log's reckoning at start", -c->start_behind_us);
        c->start_behind_us = 0;
    }
    if (mono_us >= c->next_save_us) {
        if (c->next_save_us && lex_log_save_clock(sw->log) != 0)
            lex_logline_write(LEX_LOG_WARN, "could not store the clock mark in the audit log");
        c->next_save_us = mono_us + SAVE_EVERY_US;
    }
    if (mono_us < c->next_check_us)
        return;
    c->next_check_us = mono_us + CHECK_EVERY_US;
    int64_t offset = wall_minus_mono(), step = offset - c->offset_us;
    c->offset_us = offset;
    if (llabs(step) < (long long)sw->cfg.clock_step_ms * 1000)
        return;
    c->steps++;
    c->last_step_us = step;
    lex_logline_write(LEX_LOG_WARN,
                      "the wall clock stepped %+.3f s against the monotonic clock; records keep "
                      "the wall clock, retention goes by the switch's reckoning",
                      (double)step / 1e6);
    record(sw, step > 0 ? "stepped forward" : "stepped back", step);
}
