/* stall.c: the switch's own stalls. When the loop has not run for a while
 * (SIGSTOP, a paused VM, a blocked disk), the nodes' heartbeats wait unread
 * in its socket; judging them silent by the clock alone would drop every
 * node for the switch's own gap. So each tick compares the clock with the
 * last tick, and after a gap silence is counted from the moment the loop
 * ran again; queries whose deadline passed meanwhile wait a moment more,
 * so answers already in the socket are read first. */
#include "logline.h"
#include "switch_internal.h"

#define STALL_MIN_US 100000u    /* never call a gap shorter than this a stall */
#define ANSWER_GRACE_US 500000u /* after a stall, time outs wait this long */

void lex_stall_check(lex_switch_t *sw, uint64_t now_us)
{
    uint64_t threshold = (uint64_t)sw->cfg.dead_after_ms * 1000u / 4;
    if (threshold < STALL_MIN_US)
        threshold = STALL_MIN_US;
    if (sw->loop_ran_us && now_us - sw->loop_ran_us > threshold) {
        sw->stats.stalls++;
        sw->last_stall_ms = (now_us - sw->loop_ran_us) / 1000u;
        sw->resumed_us = now_us;
        lex_logline_write(LEX_LOG_WARN, "the switch did not run for %llu ms (stopped, paused or "
                          "blocked): reading what waits before any node is judged silent",
                          (unsigned long long)sw->last_stall_ms);
    }
    sw->loop_ran_us = now_us;
}

uint64_t lex_stall_heard_since(const lex_switch_t *sw, uint64_t last_heard_us)
{
    return last_heard_us > sw->resumed_us ? last_heard_us : sw->resumed_us;
}

int lex_stall_recent(const lex_switch_t *sw, uint64_t now_us)
{
    return sw->resumed_us && now_us - sw->resumed_us < ANSWER_GRACE_US;
}
