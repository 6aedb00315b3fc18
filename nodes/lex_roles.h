/* lex_roles.h: the node roles lexnode (and lexload) run, as library calls.
 *  - state host: one node per state, each answering from its synthetic
 *    population, all driven by one thread;
 *  - requester: the agencies of a directory, grouped into nodes (one hub per
 *    state for its local and state agencies, one per federal family), sending
 *    a query mix at a set rate, open loop, and measuring latency.
 * Both stop when *stop becomes non-zero (set it from a signal handler). */
#ifndef LEX_ROLES_H
#define LEX_ROLES_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "lex_directory.h"
#include "lex_histogram.h"

typedef struct {
    const char *endpoint;
    const char *const *states;   /* states to serve; NULL = every jurisdiction */
    size_t nstates;
    uint32_t drivers;            /* population per state */
    uint32_t vehicles;
    const char *ready_file;      /* written once every node is welcomed; may be NULL */
    int heartbeat_ms;
    const char *key_dir;         /* CURVE: DIR/<ST>.key per state; NULL: one key (LEX_KEY) */
    volatile sig_atomic_t *stop;
    const char *witness_dir;     /* keep the switch's signed checkpoints here; NULL: don't */
    const char *log_key;         /* the switch's log public key file; NULL: pin the first */
} lex_state_host_config_t;

/* Runs until *stop. Returns 0, or a LEX_E* code when it could not start. */
int lex_state_host_run(const lex_state_host_config_t *cfg);

typedef struct {
    const char *endpoint;
    const lex_directory_t *directory;
    double rate;                 /* queries per second, all agencies together */
    double duration_s;           /* sending time; then wait for answers */
    double grace_s;              /* how long to wait for outstanding answers */
    unsigned miss_pct;           /* queries about nobody (default 5) */
    unsigned federal_pct;        /* share of queries sent by federal agencies */
    unsigned fanout_pct;         /* share of queries sent to 2-3 states at once */
    uint32_t drivers, vehicles;  /* must match the state host's */
    uint64_t seed;
    int progress;                /* print a line a second to stderr */
    const char *key_dir;         /* CURVE: DIR/<group>.key per node; NULL: one key (LEX_KEY) */
    volatile sig_atomic_t *stop;
} lex_requester_config_t;

#define LEX_REQ_GROUP_MAX 23

/* The node an agency of the directory sends from: its home state for
 * local, state and tribal agencies, its family for federal ones (written
 * to group, LEX_REQ_GROUP_MAX + 1 bytes). -1 for agencies that send no
 * queries (DMV responders, OPS review desks). */
int lex_requester_group_of(const lex_agency_t *a, char *group);

#define LEX_REQ_KEYS 8

typedef struct {
    uint64_t sent;               /* queries sent (a fan-out query counts once) */
    uint64_t expected;           /* answers expected (one per destination) */
    uint64_t answers;            /* answers received */
    uint64_t unanswered;         /* expected answers still missing at the end */
    uint64_t send_errors;
    uint64_t by_answer_key[LEX_REQ_KEYS];   /* DR, KR, RR, RNR, IMR, ST, other */
    uint64_t by_status[64];      /* ST answers by code */
    uint64_t unexpected;         /* answers to no query of ours */
    double elapsed_s;            /* sending time actually used */
    lex_hist_t latency;          /* from scheduled send to answer, microseconds */
} lex_requester_stats_t;

extern const char *const lex_requester_answer_keys[LEX_REQ_KEYS];

void lex_requester_config_defaults(lex_requester_config_t *cfg);
int lex_requester_run(const lex_requester_config_t *cfg, lex_requester_stats_t *stats);
/* Writes the stats as one JSON object (and a newline). */
void lex_requester_stats_json(const lex_requester_stats_t *s, FILE *f);

/* Parses a rate: "500", "500/s", "2k/s", "290M/y", "1.5x" (times the national
 * average of 290 million a year). Returns queries per second, or -1. */
double lex_rate_parse(const char *text);

#endif
