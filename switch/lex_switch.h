/* lex_switch.h: the switch as a library: configuration, and an object that
 * binds the ROUTER socket, runs the libuv loop (ZeroMQ's descriptor, timers,
 * signals) and routes until stopped. lexswitch's main() is a thin wrapper. */
#ifndef LEX_SWITCH_H
#define LEX_SWITCH_H

#include <stddef.h>
#include <stdint.h>
#include "lex_auditlog.h"

#define LEX_PATH_MAX 512

typedef struct {
    char bind_tcp[LEX_PATH_MAX];   /* e.g. "tcp://127.0.0.1:7400"; "" = none */
    char bind_ipc[LEX_PATH_MAX];   /* e.g. "ipc:///run/lexswitch.sock"; "" = none */
    char data_dir[LEX_PATH_MAX];   /* audit log directory */
    char rules_dir[LEX_PATH_MAX];  /* *.rules files; "" = every state allows all */
    char directory[LEX_PATH_MAX];  /* agency directory; "" = accept any well-formed ORI */
    char ready_file[LEX_PATH_MAX]; /* written with the bound endpoints once serving */
    char stats_file[LEX_PATH_MAX]; /* counters as JSON, written when the switch stops */
    char metrics_bind[LEX_PATH_MAX];  /* HTTP metrics endpoint "IP:PORT"; "" = off */
    lex_durability_t durability;
    int query_timeout_ms;          /* a query unanswered this long gets ST timeout */
    int heartbeat_ms;              /* heartbeat interval to nodes */
    int dead_after_ms;             /* a node silent this long is dropped */
    int drain_ms;                  /* on SIGINT/SIGTERM, wait this long for open queries */
    int hold_expiry_s;             /* a query held for review expires after this long */
    char curve_key[LEX_PATH_MAX];  /* the switch's CURVE key file (public + secret) */
    int dev_plain;                 /* 1 = no CURVE, anyone may connect: development only */
    int rate_limit;                /* queries a second one session may send; 0 = no limit */
    int rate_burst;                /* queries one session may send at once above the rate */
    int node_inflight_max;         /* open queries at one responder before new ones get ST busy */
    int retention_days;            /* audit-log records older than this are removed; 0 = never */
    int max_connections;           /* connections accepted at once; 0 = from the descriptor limit */
    int hello_timeout_ms;          /* a connection without a session this long is closed */
    int conn_queue_bytes;          /* bytes waiting for one connection before it counts as full */
    int conn_stuck_ms;             /* a connection full this long loses its session */
    int retention_check_s;         /* seconds between retention passes */
    int retention_slice;           /* records one retention slice removes at most */
    int retention_max_share;       /* percent of the log one pass may remove unconfirmed */
    int clock_step_ms;             /* a wall-clock change against the monotonic clock this
                                      large is a step: logged, counted, recorded */
    int log_reserve_mb;            /* free space kept on the data filesystem: below it new
                                      queries get ST log-full (diskwatch.c); 0 = no check */
    int no_record_delay_max_ms;    /* a rule's no-record waits like a real miss, at most this; 0 = never */
    char upstream[LEX_PATH_MAX];   /* switch to join, e.g. "tcp://10.0.0.1:7400"; "" = none */
    char upstream_serves[LEX_PATH_MAX];  /* destination patterns claimed there ("NV*") */
    char upstream_key[LEX_PATH_MAX];     /* this switch's key for the link ("" = curve_key) */
    char upstream_switch_key[LEX_PATH_MAX];  /* the upstream's public key; "" = plain link */
    int verbose;
    int log_json;                  /* log_format: 0 text, 1 JSON lines */
    int log_level;                 /* lex_loglevel_t: 0 error ... 3 debug */
} lex_switch_config_t;

void lex_switch_config_defaults(lex_switch_config_t *cfg);

/* Sets one option by name (the names of docs/OPERATIONS.md, e.g.
 * "query_timeout_ms"). LEX_EINVAL with err text for an unknown name or bad value. */
int lex_switch_config_set(lex_switch_config_t *cfg, const char *name, const char *value,
                          char *err, size_t errlen);

/* The name of option i (0, 1, ...), or NULL past the last: every name
 * lex_switch_config_set knows, in the order of docs/CONFIG.md. */
const char *lex_switch_config_option(size_t i);

/* Reads `name = value` lines ('#' comments) from a file. err: "path:line: reason". */
int lex_switch_config_load(lex_switch_config_t *cfg, const char *path, char *err, size_t errlen);

typedef struct lex_switch lex_switch_t;

/* Opens the log, loads rules and directory, binds. Caller owns *out. */
int lex_switch_new(const lex_switch_config_t *cfg, lex_switch_t **out, char *err, size_t errlen);

/* Runs until SIGINT/SIGTERM (or lex_switch_stop), then drains and returns. */
int lex_switch_run(lex_switch_t *sw);

/* Asks a running switch to drain and stop; safe from another thread. */
void lex_switch_stop(lex_switch_t *sw);

void lex_switch_destroy(lex_switch_t **sw);

/* The exit status for main() after lex_switch_run: 0, or LEX_EXIT_LOG_FAILED
 * when the audit log could not write and the switch stopped (a service
 * manager restarts it; the restart continues the chain). */
#define LEX_EXIT_LOG_FAILED 74
int lex_switch_exit_code(const lex_switch_t *sw);

#endif
