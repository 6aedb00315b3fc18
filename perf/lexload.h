/* lexload.h: the parts of lexload (perf/lexload*.c), a load generator for
 * the switch and for the bare forwarder it is measured against. The engine
 * (lexload_engine.c) opens the connections and sends queries open loop (by
 * the clock) or closed loop (a fixed number in flight); the report
 * (lexload_report.c) prints a table and writes JSON and SVG plots.
 * Internal to lexload: nothing else includes this header. */
#ifndef LEXLOAD_H
#define LEXLOAD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lex_directory.h"
#include "lex_histogram.h"

typedef enum {
    LL_TARGET_SWITCH, /* lexswitch: HELLO, heartbeats, the real protocol */
    LL_TARGET_BARE,   /* perf/baseline lexfwd: frames only, no session */
} ll_target_t;

typedef enum { LL_ARRIVAL_CONSTANT, LL_ARRIVAL_POISSON } ll_arrival_t;

typedef struct {
    const char *endpoint;
    ll_target_t target;
    double rate;              /* open loop: queries/s (the daily mean when replaying) */
    unsigned inflight;        /* > 0: closed loop with this many queries in flight */
    ll_arrival_t arrival;
    double duration_s;        /* sending time, warm-up included */
    double warmup_s;          /* answers to queries sent before this are not measured */
    double grace_s;           /* wait this long for the last answers */
    double replay_day_s;      /* > 0: rate follows a day's cycle compressed into this */
    unsigned conns;           /* connections (nodes) the agencies are spread over */
    size_t first_agency;      /* slice of the directory's requesting agencies */
    size_t agencies;          /* 0 = all from first_agency on */
    int hold;                 /* only connect, register and stay alive */
    uint64_t count;           /* > 0: stop sending after this many queries */
    const char *ready_file;   /* written once every connection is registered */
    unsigned body_bytes;      /* > 0: DQ queries as close to this size as the catalogue
                                 allows; 0: the simulation's mix from its populations */
    unsigned federal_pct, fanout_pct, miss_pct;
    uint32_t drivers;         /* population per state; must match the responders */
    uint64_t seed;
    int progress;             /* a progress line on stderr */
    const lex_directory_t *directory;
    volatile sig_atomic_t *stop;
} ll_config_t;

#define LL_ANSWER_KEYS 7

/* One second of the run. */
typedef struct {
    double t;                 /* seconds since the start of sending */
    uint64_t sent, answers;   /* in this second */
    uint64_t p50_us, p99_us, max_us;
} ll_second_t;

typedef struct {
    uint64_t sent;            /* queries sent (a fan-out query counts once) */
    uint64_t expected;        /* answers expected (one per destination) */
    uint64_t answers;         /* answers received */
    uint64_t unanswered;      /* expected answers missing at the end */
    uint64_t send_errors;
    uint64_t unexpected;      /* answers to no query of ours */
    uint64_t by_answer_key[LL_ANSWER_KEYS];  /* DR KR RR RNR IMR ST other */
    uint64_t by_status[64];   /* ST answers by code */
    uint64_t measured;        /* answers in the measurement window */
    double window_s;          /* measurement window (after warm-up) */
    double elapsed_s;         /* sending time used */
    double connect_s;         /* time to register every connection */
    unsigned conns;           /* connections registered */
    size_t query_env_bytes;   /* size of the last query's frames */
    size_t query_body_bytes;
    lex_hist_t latency;       /* measured answers, microseconds from the due time */
    ll_second_t *series;      /* one per second; caller frees */
    size_t nseries;
} ll_result_t;

extern const char *const ll_answer_keys[LL_ANSWER_KEYS];

void ll_config_defaults(ll_config_t *cfg);

/* Runs the load. Fills *res (caller frees res->series). 0 or LEX_E*. */
int ll_run(const ll_config_t *cfg, ll_result_t *res);

/* Queries/s of a rate text: "500", "2k/s", "290M/y", "3x". -1 when bad. */
double ll_rate_parse(const char *text);

/* The replay's rate multiplier at a fraction of the day (0..1): quiet at
 * night, busiest in the afternoon, mean 1 over the day. */
double ll_day_shape(double day_fraction);

/* Report (lexload_report.c). label names the run in the outputs. */
void ll_report_text(const ll_config_t *cfg, const ll_result_t *res, const char *label, FILE *f);
int ll_report_json(const ll_config_t *cfg, const ll_result_t *res, const char *label,
                   const char *path);
/* Writes <prefix>-latency.svg and <prefix>-throughput.svg. */
int ll_report_svg(const ll_config_t *cfg, const ll_result_t *res, const char *label,
                  const char *prefix);

#endif
