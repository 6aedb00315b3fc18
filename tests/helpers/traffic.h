/* traffic.h: the load the audit-log fault tests (test_crash, test_ioerror,
 * test_diskfull, test_corruption, test_witness) drive through a real
 * switch: driver queries by licence, a Nevada DMV responder in the test
 * process answering each with an empty DR, a note of every message either
 * node received, and the check that each of those has its record in the
 * log; also asking simulated drivers by licence (test_access, test_status).
 * Everything asserts with Criterion; nothing sleeps for a fixed time. */
#ifndef LEX_TEST_TRAFFIC_H
#define LEX_TEST_TRAFFIC_H

#include "harness.h"
#include "lex_auditlog.h"
#include "lex_buf.h"

/* One message a node received, as the log must know it. */
typedef struct {
    char key[LEX_KEY_MAX + 1];
    char src[LEX_ORI_LEN + 1];
    uint64_t id, ref;
    int status; /* ST code, or -1 */
} lex_test_seen_t;

/* What one test sent and received; the arrays belong to the test. */
typedef struct {
    lex_test_seen_t *seen; /* seen_max long: more fails the test */
    size_t seen_max, nseen;
    uint64_t *asked; /* ids of the queries sent, 0 once answered; NULL: not kept */
    size_t asked_max, nasked;
    int strict;          /* 1: a refused send or a full asked list fails the test */
    lex_message_t *held; /* queries the responder holds (pump with hold), envelopes only */
    size_t held_max, nheld;
} lex_test_traffic_t;

/* Packs the body of a DR that found nothing: {records: [], count: 0}. */
void lex_test_pack_empty_dr(lex_buf_t *body);

/* Sends a DQ for licence <first letter of state><i, 7 digits> to state
 * (purpose C); *id (may be NULL) gets its id. Returns lex_node_send's code. */
int lex_test_send_dq(lex_node_t *req, const char *state, unsigned i, uint64_t *id);

/* Sends n DQs to state in rounds of 20 and waits (30 s in all) for the
 * answers: a DR or the state's no-record, each an acknowledged record.
 * *next numbers the licences. Returns how many answers came. */
unsigned lex_test_ask_answered(lex_node_t *req, const char *state, unsigned n, unsigned *next);

/* After the switch (re)started: asks state one query at a time until one
 * is answered, or 20 s pass, while the requester registers again. */
void lex_test_wait_answered(lex_node_t *req, const char *state, unsigned *next);

/* Asks `count` drivers of state's simulated population (1000 drivers, as
 * lex_test_states_start(..., 1000) serves) by licence, one at a time,
 * each answered; with want_dr, each answer must be a DR. */
void lex_test_ask_drivers(lex_node_t *n, const char *state, unsigned count, int want_dr);

/* A registered responder for Nevada's DMV (NVDMV0000, key DQ, 200 ms
 * heartbeat) in the test process; caller owns it. key_file: its CURVE key
 * (with the switch's public key from t), or NULL or "" for none. */
lex_node_t *lex_test_nv_responder(const lex_test_switch_t *t, const char *key_file);

/* Answers q, when it is a DQ, with an empty DR (a miss in the state's
 * records); a send the switch cannot take is a loss, not a failure. */
void lex_test_answer_empty(lex_node_t *resp, const lex_message_t *q);

/* Notes m as received; an answer crosses its query off the asked list. */
void lex_test_traffic_note(lex_test_traffic_t *tr, const lex_message_t *m);

/* How many queries sent are neither answered nor refused yet. */
size_t lex_test_traffic_unanswered(const lex_test_traffic_t *tr);

/* Sends DQ number i to state and keeps its id on the asked list. */
void lex_test_traffic_send(lex_test_traffic_t *tr, lex_node_t *req, const char *state,
                           unsigned i);

/* Receives what waits at both nodes, noting each message; the responder
 * answers DQs at once, or holds them (hold = 1) to answer later. Waits up
 * to wait_ms at the requester when the responder had nothing. Returns how
 * many messages came. */
size_t lex_test_traffic_pump(lex_test_traffic_t *tr, lex_node_t *req, lex_node_t *resp,
                             int wait_ms, int hold);

/* Sends n DQs to Nevada (*sent numbers them) and pumps until every query
 * so far is answered or 10 s pass; the caller checks unanswered(). */
void lex_test_traffic_round(lex_test_traffic_t *tr, lex_node_t *req, lex_node_t *resp,
                            unsigned *sent, unsigned n);

/* Opens the log in data as a reader: every noted message (but an ST
 * log-failed, sent without a record by design) has its out-record, and
 * the whole log verifies. res gets the walk; returns the last seq. */
uint64_t lex_test_traffic_check_log(const lex_test_traffic_t *tr, const char *data,
                                    const char *when, lex_log_verify_t *res);

#endif
