/* switch_internal.h: the switch's internal state, shared by its files:
 * sessions (session.c), queries in flight (flight.c), message handling
 * (route.c), the outbox flushed after each group commit (outbox.c) and the
 * libuv loop (loop.c). Nothing outside switch/ includes this. */
#ifndef LEX_SWITCH_INTERNAL_H
#define LEX_SWITCH_INTERNAL_H

#include <stdint.h>
#include <uv.h>
#include "lex_auditlog.h"
#include "lex_buf.h"
#include "lex_catalogue.h"
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_policy.h"
#include "lex_states.h"
#include "lex_switch.h"
#include "metrics.h"
#include "retention.h"
#include "review.h"
#include "table.h"

/* What a session is (session_t.peer): switch-to-switch in s2s.h. */
typedef enum {
    LEX_PEER_NONE = 0,         /* a node */
    LEX_PEER_SWITCH = 1,       /* a switch that joined this one, serving patterns */
    LEX_PEER_UPSTREAM = 2,     /* this switch's own link to the switch it joined */
} lex_peer_kind_t;

#define RID_MAX 255            /* ZeroMQ routing ids are at most 255 bytes */
#define STATES_PER_SESSION 64
#define KEYS_PER_SESSION 32

typedef struct session {
    uint8_t rid[RID_MAX];      /* ROUTER routing id of the connection */
    size_t rid_len;
    char conn[LEX_CONN_MAX + 1];  /* routing id in hex, for the log */
    char role[17];
    char (*oris)[LEX_ORI_LEN + 1];  /* ORIs it speaks for */
    size_t noris;
    char states[STATES_PER_SESSION][LEX_STATE_LEN + 1];  /* states it answers for */
    size_t nstates;
    char keys[KEYS_PER_SESSION][LEX_KEY_MAX + 1];        /* query keys it answers */
    size_t nkeys;
    uint64_t last_heard_us;    /* monotonic */
    uint64_t open_flights;     /* queries it owes an answer to */
    char peer_key[41];         /* CURVE public key (Z85) of the connection; "" without CURVE */
    const lex_keybind_t *bind; /* what that key may speak for; NULL without CURVE */
    double tokens;             /* rate limit: queries it may send now */
    uint64_t refilled_us;      /* when tokens were last topped up (monotonic) */
    int peer;                  /* lex_peer_kind_t: a node, a switch that joined, or our upstream */
    char (*serves)[LEX_ORI_LEN + 1];  /* a joined switch's destination patterns (peer.c) */
    size_t nserves;
    int conn_fd;               /* its connection's descriptor (conn_limits.c); -1 unknown */
    uint32_t conn_gen;         /* which accept of conn_fd it registered on */
    struct lex_outq *outq;     /* messages its full queue could not take yet (outq.c), or NULL */
    int witness;               /* asked for signed checkpoints (CP; witness.c) */
    uint64_t witness_at;       /* its first request named this record: answer due (0: none) */
    int operator_conn;         /* an operator's connection: its ORIs are not in the ORI table */
} session_t;

typedef struct flight {
    uint64_t fid;              /* id the responder saw; its answer's ref */
    uint8_t rid[RID_MAX];      /* requester's connection */
    size_t rid_len;
    uint64_t req_id;           /* requester's own message id */
    char req_ori[LEX_ORI_LEN + 1];
    char dest[LEX_ORI_LEN + 1];        /* destination (state code or ORI) */
    char rules_state[LEX_STATE_LEN + 1];  /* whose rules apply */
    char key[LEX_KEY_MAX + 1];          /* query key */
    char answer_key[LEX_KEY_MAX + 1];   /* expected response key */
    char ctl[LEX_CTL_MAX + 1];
    char purpose[LEX_PURPOSE_MAX + 1];
    char kind[16];                      /* query kind, for the rules on the answer */
    int approved;                       /* released from review by an operator */
    session_t *responder;
    uint64_t deadline_us;      /* monotonic */
    uint64_t opened_us;        /* monotonic; forwarded to the responder then */
    struct flight *prev, *next;  /* deadline order (all share one timeout) */
} flight_t;

/* One message waiting to be sent after the log commit. */
typedef struct {
    uint8_t rid[RID_MAX];
    size_t rid_len;
    uint64_t fid;              /* a forwarded query's flight, to fail it if undeliverable; else 0 */
    size_t env_off, env_len;   /* into outbox data */
    size_t body_off, body_len;
    uint8_t counts;            /* which counter a send adds to: 0 none, 1 forwarded, 2 statuses */
} outmsg_t;

typedef struct {
    outmsg_t *msgs;
    size_t count, cap;
    lex_buf_t data;
} outbox_t;

typedef struct {
    uint64_t received, forwarded, statuses, refused, bad_frames, timeouts, send_failures;
    uint64_t unknown_keys;     /* connections refused by the CURVE authenticator */
    uint64_t hello_refused;    /* HELLOs refused (any reason) */
    uint64_t handshake_failures[6];  /* lex_handshake_kind_t (handshake_watch.c) */
    uint64_t handshake_suppressed;   /* failures over the record rate, counted only */
    uint64_t spoofed;          /* ORI claims outside the session's key binding or session */
    uint64_t rate_limited;     /* queries refused over a session's rate */
    uint64_t busy;             /* queries refused because the destination was backed up */
    uint64_t undelivered;      /* messages dropped because their connection's queue was full */
    uint64_t sessions_lost;    /* sessions ended because their connection went away */
    uint64_t sessions_stuck;   /* sessions dropped because they stopped reading */
    uint64_t stalls;           /* times the switch's own loop did not run for a while */
    uint64_t takeovers;        /* ORIs taken from a session that was gone (session_claim.c) */
    uint64_t ori_in_use;       /* HELLOs refused: a live session of another connection holds an ORI */
    uint64_t revoked;          /* sessions ended or narrowed by a directory reload */
    uint64_t directory_reloads, directory_reload_failures;
    uint64_t by_decision[4];   /* lex_action_t: allow, deny, redact, review */
    lex_table_t *by_key;       /* key -> (uintptr_t) count of messages received */
    lex_table_t *by_key_decision;  /* "KEY/decision" -> (uintptr_t) count */
    lex_promhist_t query_seconds;  /* query forwarded -> its answer sent */
    lex_promhist_t commit_seconds; /* one audit-log commit (fsync in sync mode) */
    uint64_t *answered;        /* opened_us of flights answered in this pass */
    size_t nanswered, answered_cap;
    uint64_t log_commits, log_records, log_commit_failures;
    uint64_t log_full_refused; /* queries refused with ST log-full (diskwatch.c) */
    uint64_t log_failed_statuses; /* ST log-failed sent, unrecorded, as the log died (logfail.c) */
    uint64_t started_wall_us;  /* for uptime and start time */
    /* one sample a second for the status rates: a ring of the last 11 */
    uint64_t sample_us[11], sample_received[11], sample_forwarded[11];
    unsigned nsamples, sample_pos;
} stats_t;

struct lex_switch {
    lex_switch_config_t cfg;
    void *zctx;
    void *router;
    void *zap;                    /* CURVE authenticator (REP on inproc), NULL without CURVE */
    lex_log_t *log;
    lex_holds_t *holds;           /* queries held for review */
    lex_policy_t *policy;
    lex_directory_t *directory;
    const lex_catalogue_t *catalogue;
    lex_table_t *sessions_by_rid;
    lex_table_t *sessions_by_ori;
    lex_table_t *flights;         /* fid -> flight */
    flight_t *flight_head, *flight_tail;
    session_t **state_responders[64];  /* per lex_state_index: sessions */
    size_t nstate_responders[64];
    size_t rr_next[64];           /* round-robin cursor */
    uint64_t next_fid;
    uint64_t next_status_id;
    outbox_t outbox;
    lex_buf_t scratch_env, scratch_body;
    stats_t stats;
    char endpoints[3 * LEX_PATH_MAX];   /* bound endpoints, one a line */
    /* loop */
    uv_loop_t loop;
    uv_poll_t zpoll;
    uv_poll_t zap_poll;
    uv_timer_t tick;
    uv_idle_t more;               /* keeps pumping when a pass stopped early */
    uv_signal_t sigint, sigterm, sighup;
    int loop_ready;               /* loop and handles initialised */
    uv_async_t stop_async;
    uint64_t rules_generation;   /* reloads attempted, for lexctl rules reload */
    int draining;
    uint64_t drain_deadline_us;
    uint64_t last_heartbeat_us;
    uint64_t pass_us;             /* monotonic clock at the start of the current pass */
    uint64_t *bounced;            /* flights whose query could not be delivered this flush */
    size_t nbounced, bounced_cap;
    uint64_t last_sample_us;
    lex_clock_state_t clock;      /* the switch's reckoned time (clock.c) */
    lex_retention_state_t retention; /* retention passes (retention.c) */
    /* sync durability: the WAL's fsync runs on a worker thread while the
     * loop goes on; messages wait in wal_wait (written, not yet synced)
     * and wal_syncing (covered by the fsync under way) */
    uv_work_t sync_req;
    int sync_busy, sync_rc, wal_dirty;
    outbox_t wal_wait, wal_syncing;
    struct lex_metrics_http *metrics_http;  /* NULL when metrics_bind is empty */
    char metrics_url[LEX_PATH_MAX];
    session_t **peers;            /* switches that joined this one (peer.c) */
    size_t npeers;
    struct lex_upstream *upstream;  /* link to the switch this one joined (upstream.c), or NULL */
    struct lex_conns *conns;      /* connection count, cap and HELLO deadlines (conn_limits.c) */
    uv_poll_t mon_poll;           /* the ROUTER's monitor events */
    int cur_srcfd;                /* descriptor the message being routed came in on; -1 none */
    struct { uint8_t rid[RID_MAX]; size_t len; } *gone;  /* connections a send found gone */
    size_t ngone, gone_cap;
    session_t **backlogged;       /* sessions with messages waiting in their outq */
    size_t nbacklogged, backlogged_cap;
    uint64_t loop_ran_us;         /* monotonic time the tick last ran (stall.c) */
    uint64_t resumed_us;          /* when the loop ran again after a stall; 0 never */
    uint64_t last_stall_ms;       /* how long the last stall was */
    struct lex_mimic *mimic;      /* rule no-records held back like real misses (mimic.c) */
    uint64_t witness_published;   /* checkpoints (log stats) already sent to witnesses */
    int witness_any;              /* some session asked for checkpoints */
    size_t witness_at_due;        /* first requests waiting for their answer (witness.c) */
    lex_log_t *scrub_log;         /* reader the start-up check reads through (log_scrub.c) */
    uint64_t scrub_cursor;        /* next record it reads */
    int scrub_done;
    int log_interrupted_write;    /* the open cut off a write a kill interrupted (log_scrub.c) */
    uint64_t log_damaged;         /* records it found it cannot read */
    struct lex_handshake_watch *handshakes;  /* failed-handshake monitor (CURVE only), or NULL */
    /* disk space (diskwatch.c) and a dead log (logfail.c) */
    int log_full;                 /* free space below log_reserve_mb: no new queries */
    uint64_t disk_free_bytes;     /* free to the switch at the last look */
    uint64_t disk_next_check_us;  /* monotonic */
    uint64_t log_full_since_us;   /* wall clock, when log_full was raised */
    int log_failed;               /* a commit or fsync failed: answering what is open, stopping */
    int exit_code;                /* for main(): 0 or LEX_EXIT_LOG_FAILED */
    uint64_t access_scan_us;      /* monotonic time the access journal was last read (access.c) */
    int access_failing;           /* the last journal read failed (reported once) */
    uint64_t access_recorded;     /* journal entries moved into the log, for metrics */
    uint64_t access_failures;     /* journal passes that failed */
};

/* session.c */
session_t *lex_session_find(lex_switch_t *sw, const uint8_t *rid, size_t rid_len);
session_t *lex_session_by_ori(lex_switch_t *sw, const char *ori);
int lex_session_owns_ori(lex_switch_t *sw, const session_t *s, const char *ori);
int lex_session_answers_key(const session_t *s, const char *key);
/* Registers a HELLO; on refusal returns a status code and fills why. */
int lex_session_register(lex_switch_t *sw, const uint8_t *rid, size_t rid_len,
                         const char *peer_key, const void *body, size_t len, session_t **out,
                         char *why, size_t whylen);
void lex_session_remove(lex_switch_t *sw, session_t *s);
/* Next responder for a state (round robin), or NULL. */
session_t *lex_session_for_state(lex_switch_t *sw, const char *state);
void lex_session_remove_all(lex_switch_t *sw);

/* hello_check.c */
/* May s (read from a HELLO, not yet stored) register what it claims, by
 * its key's binding (CURVE) or the directory (dev_plain)? 0, or an ST code
 * with why naming the key. */
int lex_hello_check(const lex_switch_t *sw, const session_t *s, char *why, size_t whylen);

/* Logs a warning for each key binding marked broad (start, reload). */
void lex_hello_check_warn_broad(const lex_switch_t *sw);

/* session_claim.c */
/* 1 for an operator's connection (role "operator"; with CURVE an operator
 * key): it holds its desk ORIs per connection, never exclusively. */
int lex_session_is_operator(const session_t *s);
/* May the new session s (on rid, named conn) hold its ORIs? 0, taking over
 * from sessions that are gone (logged, audited, counted), or
 * LEX_ST_ORI_IN_USE with why filled when a live connection holds one. */
int lex_session_claim(lex_switch_t *sw, const session_t *s, const uint8_t *rid, size_t rid_len,
                      const char *conn, char *why, size_t whylen);

/* directory_reload.c */
/* Loads cfg.directory afresh and swaps it in: sessions are bound again to
 * the new key bindings; a revoked key's sessions get ST key-revoked and
 * BYE; ORIs a binding no longer allows are taken from their session. A bad
 * file changes nothing. Fills msg with the outcome; 0 or a LEX_E code. */
int lex_directory_reload(lex_switch_t *sw, char *msg, size_t msglen);

/* flight.c */
flight_t *lex_flight_open(lex_switch_t *sw);             /* linked at the tail, fid set */
flight_t *lex_flight_find(lex_switch_t *sw, uint64_t fid);
void lex_flight_close(lex_switch_t *sw, flight_t *f);
size_t lex_flight_count(const lex_switch_t *sw);

/* outbox.c */
/* fid: the flight of a forwarded query (0 for anything else). */
int lex_outbox_add(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, uint64_t fid,
                   const void *env, size_t env_len, const void *body, size_t body_len);
void lex_outbox_flush(lex_switch_t *sw);
void lex_outbox_flush_box(lex_switch_t *sw, outbox_t *ob);
int lex_outbox_take(outbox_t *dst, outbox_t *src);
/* Appends a copy of env and body to ob as a message like `like` (its rid,
 * fid and counts; offsets and lengths are set here), growing ob's list
 * from first_cap entries. 0, or LEX_ENOMEM with ob's count unchanged. */
int lex_outbox_append(outbox_t *ob, size_t first_cap, const outmsg_t *like, const void *env,
                      size_t env_len, const void *body, size_t body_len);
void lex_outbox_free(outbox_t *ob);
/* A message was handed to ZeroMQ: the counter its kind adds to (m->counts). */
void lex_outbox_count_sent(lex_switch_t *sw, int counts);
/* rid's connection closed, or a send found it gone: its session ends once
 * the ROUTER is drained (lex_route_end_gone). */
int lex_outbox_note_gone(lex_switch_t *sw, const uint8_t *rid, size_t rid_len);

/* handshake_watch.c: handshakes that fail before ZAP (no CURVE, wrong
 * switch key), from the ROUTER's socket monitor; CURVE only. */
typedef enum {
    LEX_HANDSHAKE_NO_CURVE,    /* the peer offered no CURVE */
    LEX_HANDSHAKE_BAD_KEY,     /* its handshake does not open with our key */
    LEX_HANDSHAKE_AUTH,        /* the authenticator refused its key (zap.c logs it) */
    LEX_HANDSHAKE_CLOSED,      /* it hung up mid-handshake (often: it offers no CURVE) */
    LEX_HANDSHAKE_OTHER,
    LEX_HANDSHAKE_KINDS
} lex_handshake_kind_t;
int lex_handshake_watch_open(lex_switch_t *sw, char *err, size_t errlen); /* before bind */
/* Polls the monitor on the loop; on_readable pumps (and commits). */
int lex_handshake_watch_start(lex_switch_t *sw, uv_poll_cb on_readable);
void lex_handshake_watch_pump(lex_switch_t *sw);  /* drains waiting events */
/* One event of the ROUTER's monitor (conn_limits.c reads the monitor and
 * hands each here): accepted, disconnected, handshake failed. */
void lex_handshake_watch_event(lex_switch_t *sw, int event, uint32_t value,
                               const char *endpoint);
void lex_handshake_watch_stop(lex_switch_t *sw);  /* closes the loop handle */
void lex_handshake_watch_close(lex_switch_t *sw); /* before the ROUTER closes */
/* 1 when a record of a refused handshake from rate_key (a peer's IP, or an
 * endpoint) may be written now, else 0 (counted as suppressed);
 * *suppressed: how many were left out since its last record. */
int lex_handshake_may_record(lex_switch_t *sw, const char *rate_key, uint64_t *suppressed);

/* zap.c */
int lex_zap_open(lex_switch_t *sw, char *err, size_t errlen);   /* before the ROUTER binds */
void lex_zap_pump(lex_switch_t *sw);                             /* answers waiting requests */
void lex_zap_close(lex_switch_t *sw);

/* route.c */
/* Appends one audit record (strings may be NULL); logs a failure loudly and
 * returns its code: the message must then not be forwarded. */
int lex_route_log_record(lex_switch_t *sw, lex_direction_t dir, const char *conn, const char *key,
                         const char *src, const char *dst, uint64_t id, uint64_t ref,
                         const char *decision, const char *rule, int status, const void *env,
                         size_t env_len, const void *body, size_t body_len);
/* peer_key: the connection's CURVE key (Z85), "" without CURVE. */
void lex_route_message(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *peer_key,
                       int nframes, const void *env, size_t env_len, const void *body,
                       size_t body_len);
/* Logs a connection the authenticator refused. */
void lex_route_log_refused_peer(lex_switch_t *sw, const char *address, const char *key_z85,
                                const char *why);
/* Fails the flights whose queries the outbox could not deliver (ST busy). */
void lex_route_fail_bounced(lex_switch_t *sw);
void lex_route_expire(lex_switch_t *sw, uint64_t now_us);   /* timeouts */
void lex_route_reap(lex_switch_t *sw, uint64_t now_us);     /* dead nodes */
void lex_route_heartbeat(lex_switch_t *sw);
void lex_route_expire_holds(lex_switch_t *sw);               /* review time-outs */
void lex_route_bye_all(lex_switch_t *sw);
/* Fails every flight owed by s with ST node-lost (before removing s). */
void lex_route_fail_flights_of(lex_switch_t *sw, session_t *s);
/* Ends s at once: logs why, its open queries get ST node-lost, its
 * connection is closed when close_conn, the session removed. */
void lex_route_end_session(lex_switch_t *sw, session_t *s, const char *why, int close_conn);
/* Ends the sessions whose connection closed or a send found gone
 * (sw->gone); loop.c calls it once the ROUTER is drained, so what they
 * sent before they went has been handled. */
void lex_route_end_gone(lex_switch_t *sw);
/* Records a message its connection's full queue could not take (ST busy
 * in the record), logs it now and then, counts it. */
void lex_route_undelivered(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const void *env,
                           size_t env_len);

/* conn_limits.c: the descriptor limit, the connection cap (enforced at
 * accept by conn_gate.c), the ROUTER's monitor events, HELLO deadlines and
 * closing one connection. See docs/OPERATIONS.md, "Limits". */
int lex_conns_open(lex_switch_t *sw, char *err, size_t errlen);   /* before the ROUTER binds */
int lex_conns_monitor_fd(lex_switch_t *sw);                        /* for the loop's uv_poll */
/* Reads the monitor's events: a connection that closed ends its session. */
void lex_conns_pump(lex_switch_t *sw);
void lex_conns_tick(lex_switch_t *sw, uint64_t now_us);            /* HELLO deadlines, refusals */
/* s registered on the connection whose descriptor is fd (cur_srcfd). */
void lex_conns_bind(lex_switch_t *sw, session_t *s, int fd);
/* Before s is freed: forgets it (and its outq). */
void lex_conns_forget_session(lex_switch_t *sw, session_t *s);
/* Closes s's connection (libzmq notices and drops it); 0 or LEX_ENOTFOUND. */
int lex_conns_close(lex_switch_t *sw, const session_t *s);
void lex_conns_destroy(lex_switch_t *sw);
/* For metrics: live connections, the cap, refused at the cap, refused out
 * of descriptors, closed without HELLO, the descriptor limit. */
void lex_conns_counts(const lex_switch_t *sw, uint64_t out[6]);

/* outq.c: a session's own queue in front of libzmq's (bounded in bytes by
 * conn_queue_bytes): what a full pipe would not take waits here, in order. */
/* 1 when s's queue is over its budget (new queries to or from it get busy). */
int lex_outq_full(const lex_switch_t *sw, const session_t *s);
/* Queues a copy of m (its bytes in data) for s, after what waits;
 * LEX_EAGAIN over budget. */
int lex_outq_push(lex_switch_t *sw, session_t *s, const outmsg_t *m, const char *data);
int lex_outq_waiting(const session_t *s);  /* 1 when messages wait in s's queue */
void lex_outq_retry(lex_switch_t *sw);     /* sends what the pipes take now */
/* Drops the sessions whose queue stayed full for conn_stuck_ms. */
void lex_outq_tick(lex_switch_t *sw, uint64_t now_us);
void lex_outq_free(lex_switch_t *sw, session_t *s);

/* stall.c: notices when the switch itself did not run (SIGSTOP, a paused
 * VM, a blocked disk) so nodes are not judged silent for its own gap. */
void lex_stall_check(lex_switch_t *sw, uint64_t now_us);   /* first thing each tick */
/* When silence is counted from: never before the loop resumed. */
uint64_t lex_stall_heard_since(const lex_switch_t *sw, uint64_t last_heard_us);
/* 1 shortly after a stall: answers waiting in the socket are read before
 * queries time out. */
int lex_stall_recent(const lex_switch_t *sw, uint64_t now_us);

/* mimic.c: a rule's no-record sent with the timing and envelope of a real
 * miss. after is called (commit and send) when held statuses are due. */
typedef struct lex_mimic lex_mimic_t;
int lex_mimic_open(lex_switch_t *sw, void (*after)(lex_switch_t *sw));
void lex_mimic_close(lex_switch_t *sw);      /* closes the timer (with the loop's handles) */
void lex_mimic_destroy(lex_switch_t *sw);    /* frees what still waits */
/* An answer from a responder of state came, with this hop and src, to a
 * query forwarded at opened_us (monotonic). Its latency counts once it is
 * sent on (lex_mimic_sent, beside lex_stats_sent), or not at all
 * (lex_mimic_unsent). */
void lex_mimic_observe(lex_switch_t *sw, const char *state, uint64_t opened_us, uint32_t hops,
                       const char *src);
void lex_mimic_sent(lex_switch_t *sw, uint64_t now_us);
void lex_mimic_unsent(lex_switch_t *sw);
/* For a rule's no-record about state: how long to hold it (0: at once),
 * the hop and the src a real answer through this switch would carry. */
void lex_mimic_plan(lex_switch_t *sw, const char *state, const session_t *responder,
                    uint64_t *delay_us, uint32_t *hops, char src[LEX_ORI_LEN + 1]);
/* Holds a message whose audit record was appended in this pass; it may go
 * (lex_mimic_release) at due_us once lex_mimic_committed(sw, 1) saw the
 * record committed. Copies env and body. */
int lex_mimic_hold(lex_switch_t *sw, uint64_t due_us, const uint8_t *rid, size_t rid_len,
                   const void *env, size_t env_len, const void *body, size_t body_len);
/* After each log commit: ok = the records of held messages are in the log;
 * else those messages are dropped with their records. */
void lex_mimic_committed(lex_switch_t *sw, int ok);
/* Moves held messages due by now_us into the outbox; returns how many. */
size_t lex_mimic_release(lex_switch_t *sw, uint64_t now_us);
size_t lex_mimic_waiting(const lex_switch_t *sw);

/* diskwatch.c: free space on the data filesystem, looked at on the tick.
 * Below cfg.log_reserve_mb the switch is log-full: new queries get ST
 * log-full while open ones are still answered and logged; it resumes by
 * itself when space returns. check_start is called before the log opens. */
void lex_diskwatch_tick(lex_switch_t *sw, uint64_t now_us);
int lex_diskwatch_check_start(lex_switch_t *sw, char *err, size_t errlen);
/* 1 (and counted) when a new query must be refused with ST log-full. */
int lex_diskwatch_refuses(lex_switch_t *sw);

/* logfail.c: the audit log cannot write any more. The messages the failed
 * commits held back, and every open query, are answered with ST log-failed
 * (sent without a record: the log is dead), and the switch stops with
 * LEX_EXIT_LOG_FAILED. Answers boxes' messages; may be called again. */
void lex_logfail_begin(lex_switch_t *sw, int rc);
void lex_logfail_answer(lex_switch_t *sw, outbox_t *held);
/* Turns a SIGABRT after the log failed into exit status 74 (RocksDB's
 * assertion on a failed WAL, reached from the fsync thread). */
void lex_logfail_arm(lex_switch_t *sw);

/* loop.c: <data>/<name> says how the last reload went ("<generation>
 * ok|refused <message>"), for the lexctl command that asked (atomic). */
void lex_reload_status_write(lex_switch_t *sw, const char *name, uint64_t generation, int ok,
                             const char *message);

/* retention.c: removes audit-log records older than retention_days by the
 * reckoned time, a bounded slice per tick while a pass runs, a pass every
 * retention_check_s; a pass over retention_max_share waits for
 * `lexctl retention confirm`. */
void lex_retention_tick(lex_switch_t *sw, uint64_t now_us);

/* witness.c: signed checkpoints to the sessions that asked (CP). subscribe
 * answers a CP request with the newest checkpoint; publish queues a new
 * checkpoint for every witness in the outbox, so it leaves with (after the
 * fsync of) the commit that wrote it; returns how many it queued. */
void lex_witness_subscribe(lex_switch_t *sw, session_t *s, const lex_envelope_t *e,
                           const void *env, size_t env_len, const void *body, size_t body_len);
size_t lex_witness_publish(lex_switch_t *sw);
/* Answers the first requests of the last tick, which name a record the
 * witness holds a checkpoint of, with what the log holds there: one pass
 * over the log for all of them (a point read of the writer's unsorted
 * memtable costs a sort of it). Returns how many it queued. */
size_t lex_witness_answer_due(lex_switch_t *sw);

/* log_scrub.c: reads the whole log once after the start, a slice a tick,
 * and reports records in damaged table blocks; close frees its reader. */
void lex_scrub_tick(lex_switch_t *sw);
void lex_scrub_close(lex_switch_t *sw);
/* After the log opened: an unfinished write the open cut off (a kill in the
 * middle of a batch) is logged and recorded (decision "recovery"). */
void lex_scrub_start(lex_switch_t *sw);
/* clock.c: start sets the reckoned time once the log is open; tick checks
 * the wall clock against the monotonic one (a step is logged, counted and
 * recorded with decision "clock") and gives the log the reckoned time;
 * now is the reckoned time in microseconds since the epoch. */
void lex_clock_start(lex_switch_t *sw);
void lex_clock_tick(lex_switch_t *sw, uint64_t mono_us);
uint64_t lex_clock_now(const lex_switch_t *sw);

/* stats.c */
int lex_stats_init(stats_t *st);
void lex_stats_free(stats_t *st);
void lex_stats_count_key(lex_switch_t *sw, const char *key);
/* A rule decision on a message with this key (query or response). */
void lex_stats_count_decision(lex_switch_t *sw, const char *key, lex_action_t action);
/* The responder answered flight f; its latency is taken when the answer
 * leaves (lex_stats_sent), or dropped if the commit fails (lex_stats_unsent). */
void lex_stats_answered(lex_switch_t *sw, const flight_t *f);
void lex_stats_sent(lex_switch_t *sw, uint64_t now_us);
void lex_stats_unsent(lex_switch_t *sw);
void lex_stats_commit(lex_switch_t *sw, size_t records, uint64_t took_us, int ok);
/* Takes a sample for the rates (called about once a second). */
void lex_stats_sample(lex_switch_t *sw, uint64_t now_us);
/* Messages received and forwarded over the sampled window (about the last
 * ten seconds, *ms long; 0 before two samples): rates for lexctl status. */
void lex_stats_window(const lex_switch_t *sw, uint64_t *ms, uint64_t *received,
                      uint64_t *forwarded);
int lex_stats_write(lex_switch_t *sw, const char *path);

/* metrics.c: the Prometheus text exposition of the counters (caller owns out) */
int lex_metrics_render(lex_switch_t *sw, lex_buf_t *out);

/* admin_status.c: answers an operator's SSQ with SSR (docs/PROTOCOL.md) */
void lex_admin_status(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, session_t *s,
                      const lex_envelope_t *e, const void *env, size_t env_len,
                      const void *body, size_t body_len);

/* metrics_http.c: the HTTP endpoint on the loop (cfg.metrics_bind) */
int lex_metrics_http_start(lex_switch_t *sw, char *err, size_t errlen);
void lex_metrics_http_close(lex_switch_t *sw);   /* closes listener and connections */


/* access.c: who may look (docs/OPERATIONS.md "Files in the data
 * directory" and "Operator scope") */
/* Sets the umask to 077, makes the data directory (0700), closes it and
 * every file in it to group and others (with a warning when it had to), and
 * refuses when a secret key (the log's signing key, curve_key) can be read
 * by group or others (LEX_EINVAL, err says which and how to fix it). */
int lex_access_secure_files(const lex_switch_config_t *cfg, char *err, size_t errlen);
/* The state an operator session may see: returns 1 (state "") for a
 * national operator (a key bound with the national marker, or no key at
 * all without CURVE), else 0 with the key's state ("" for a key that is
 * not an operator's: it sees nothing). The one place roles meet scope. */
int lex_operator_scope(const session_t *s, char state[LEX_STATE_LEN + 1]);
/* Appends the access record of an operator request: who (key label, key,
 * desk ORI), what (cmd and filter) and the state it concerns ("" = all). */
void lex_operator_access(lex_switch_t *sw, const session_t *s, const lex_envelope_t *e,
                         const char *cmd, const char *filter, const char *state);
/* Moves the access journal into the log (every 200 ms, or now with force). */
void lex_access_tick(lex_switch_t *sw, uint64_t now_us, int force);

#endif
