/* retention.c: the switch's side of audit-log retention. At the first tick
 * and every hour after, it asks the log to remove records older than
 * retention_days (lex_log_prune); while more are due it goes on a chunk per
 * tick, so a large backlog never holds the loop for long. */
#include "lex_error.h"
#include "logline.h"
#include "switch_internal.h"

#define RETENTION_EVERY_US (3600ull * 1000000ull)
#define RETENTION_CHUNK 5000  /* records removed per tick at most */
#define DAY_US (86400ull * 1000000ull)

void lex_retention_tick(lex_switch_t *sw, uint64_t now_us)
{
    if (sw->cfg.retention_days <= 0 || now_us < sw->retention_next_us ||
        lex_log_pending(sw->log))
        return;
    uint64_t wall = lex_now_us(), keep = (uint64_t)sw->cfg.retention_days * DAY_US;
    uint64_t removed = 0;
    int rc = wall > keep ? lex_log_prune(sw->log, wall - keep, RETENTION_CHUNK, &removed) : 0;
    sw->retention_removed += removed;
    if (rc == 1) {
        sw->retention_next_us = 0; /* more are due: next tick */
        return;
    }
    sw->retention_next_us = now_us + RETENTION_EVERY_US;
    if (rc < 0)
        lex_logline_write(LEX_LOG_ERROR, "audit log retention failed: %s", lex_strerror(rc));
    else if (sw->retention_removed)
        lex_logline_write(LEX_LOG_INFO,
                          "audit log retention: removed %llu records older than %d days; "
                          "the log starts at record %llu",
                          (unsigned long long)sw->retention_removed, sw->cfg.retention_days,
                          (unsigned long long)(lex_log_base(sw->log) + 1));
    sw->retention_removed = 0;
}
