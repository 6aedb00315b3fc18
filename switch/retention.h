/* retention.h: the switch's reckoning of time and its retention passes
 * (clock.c, retention.c). The reckoned time starts from the wall clock or
 * the log's stored high-water mark, whichever is later, and then moves only
 * with the monotonic clock; retention cuts by it, never by the wall clock.
 * Rules: docs/LOG.md "Time" and "Retention". */
#ifndef LEX_RETENTION_H
#define LEX_RETENTION_H

#include <stdint.h>

typedef struct {
    uint64_t start_mono_us;       /* monotonic clock at start */
    uint64_t start_reckoned_us;   /* reckoned time at start */
    int64_t offset_us;            /* wall - monotonic at the last check */
    uint64_t next_check_us;       /* monotonic: next look at the wall clock */
    uint64_t next_save_us;        /* monotonic: next store of the high-water mark */
    int64_t start_behind_us;      /* at start, how far the wall clock was behind the mark */
    uint64_t steps;               /* wall-clock steps seen (metric) */
    int64_t last_step_us;         /* the newest step, signed */
} lex_clock_state_t;

typedef struct {
    uint64_t next_us;             /* monotonic time of the next pass (0: the first tick) */
    int active;                   /* a pass is removing slices */
    uint64_t upto;                /* the pass removes records up to this seq */
    uint64_t from;                /* the first record it removes */
    uint64_t reckoned_us, period_us; /* the reckoning the pass goes by */
    uint64_t removed;             /* records the pass removed so far */
    uint64_t waiting_upto;        /* a cut over the share waits for confirmation (0: none) */
    uint64_t waiting_records, waiting_stored;
    uint64_t next_confirm_look_us;
    uint64_t removed_total;       /* metrics */
    uint64_t slices_total;
    uint64_t failures_total;
} lex_retention_state_t;

#define LEX_RETENTION_PENDING_FILE "retention-pending"
#define LEX_RETENTION_CONFIRM_FILE "retention-confirm"

#endif
