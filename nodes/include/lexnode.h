/* lexnode.h: the public API of liblexnode, for endpoints that plug into a
 * lexswitch: a state's records system answering queries, an agency sending
 * them. One connection (lex_node_t) speaks for a set of ORIs; the library
 * keeps the session (HELLO/WELCOME, heartbeats, re-registration) and the
 * wire format (docs/PROTOCOL.md) so the endpoint deals only in keys, ORIs
 * and body fields. Single-threaded: drive one node from one thread. Build
 * with `pkg-config --cflags --libs lexnode`. */
#ifndef LEXNODE_H
#define LEXNODE_H

#include <stddef.h>
#include <stdint.h>
#include "lex_error.h"    /* LEX_E* codes: functions return 0 or one of them */
#include "lex_status.h"   /* LEX_ST_* codes carried by ST messages */

#define LEXNODE_VERSION_MAJOR 1
#define LEXNODE_VERSION_MINOR 0

/* ---- connection ------------------------------------------------------ */

typedef struct {
    const char *endpoint;          /* "tcp://127.0.0.1:7400" or "ipc:///path" */
    const char *role;              /* "state", "agency" ... (shown by lexctl status) */
    const char *const *oris;       /* ORIs this node speaks for (>= 1, 9 chars A-Z 0-9) */
    size_t noris;
    const char *const *states;     /* states whose queries it answers; may be 0 */
    size_t nstates;
    const char *const *keys;       /* query keys it answers ("DQ" ...); may be 0 */
    size_t nkeys;
    int heartbeat_ms;              /* 0 = the switch's (from WELCOME; 1000 until then) */
    void *zmq_ctx;                 /* a ZeroMQ context to share, or NULL for the node's own */
    /* CURVE: this node's key file (public + secret) and the switch's public
     * key file (written by `lexctl keys gen`). When NULL, the environment
     * variables LEX_KEY and LEX_SWITCH_KEY are used; with neither, the node
     * connects without CURVE, which only a switch with dev_plain accepts. */
    const char *key_file;
    const char *switch_key_file;
} lex_node_config_t;

typedef struct lex_node lex_node_t;

/* Connects and sends HELLO (does not wait for the answer). Caller owns *out
 * (lex_node_destroy). On failure *out is NULL; with lex_node_new_err, err
 * (errlen bytes) says why, e.g. an unreadable key file. */
int lex_node_new(const lex_node_config_t *cfg, lex_node_t **out);
int lex_node_new_err(const lex_node_config_t *cfg, lex_node_t **out, char *err, size_t errlen);

/* Sends BYE, closes the connection, frees the node and NULLs *node. */
void lex_node_destroy(lex_node_t **node);

/* Waits for WELCOME: 0, LEX_ETIMEOUT, or LEX_ECLOSED when the switch
 * refused the registration (lex_node_error says why). A HELLO refused
 * ori-in-use (another live connection holds an ORI) is sent again, less
 * often each time, until the deadline: a node restarted after a crash gets
 * in once the switch has seen its old connection go. */
int lex_node_wait_ready(lex_node_t *node, int timeout_ms);

/* 1 while registered, 0 before WELCOME or after the switch was lost. */
int lex_node_ready(const lex_node_t *node);

/* Sends a heartbeat when one is due; registers again when the switch has
 * been silent for three intervals. lex_node_next calls it while it waits;
 * a host that polls lex_node_socket itself calls it every interval. */
void lex_node_tick(lex_node_t *node);

/* The ZeroMQ socket, for zmq_poll(ZMQ_POLLIN) in a host's own loop. */
void *lex_node_socket(lex_node_t *node);

/* Text of the last error or refusal (never NULL). */
const char *lex_node_error(const lex_node_t *node);

/* Text for a LEX_E* code, and the name of a LEX_ST_* code. */
const char *lex_strerror(int code);
const char *lex_status_name(int code);

/* ---- bodies to send -------------------------------------------------- */

/* A body being built: top-level fields, and lists of records (the
 * `records` of a DR, the `vehicles` of an RR). Names and values are
 * copied. A failed allocation is remembered and reported by the send. */
typedef struct lex_fields lex_fields_t;

/* Caller owns the result (lex_fields_destroy); NULL when out of memory. */
lex_fields_t *lex_fields_new(void);
void lex_fields_destroy(lex_fields_t **fields);
/* Empties the body for reuse. */
void lex_fields_clear(lex_fields_t *fields);

/* Add a field to the open record, or to the top level when none is open. */
int lex_fields_str(lex_fields_t *fields, const char *name, const char *value);
int lex_fields_int(lex_fields_t *fields, const char *name, int64_t value);
int lex_fields_bool(lex_fields_t *fields, const char *name, int value);

/* Opens a new record at the end of the top-level list `list` (created on
 * first use, e.g. "records"); fields go into it until lex_fields_end_record.
 * An empty list is made with lex_fields_list. */
int lex_fields_record(lex_fields_t *fields, const char *list);
int lex_fields_end_record(lex_fields_t *fields);
int lex_fields_list(lex_fields_t *fields, const char *list);

/* ---- messages received ---------------------------------------------- */

/* One message from the switch: a query to answer, an answer to one of our
 * queries, or an ST. body (msgpack map bytes) stays valid until the next
 * lex_node_next on the same node. */
typedef struct {
    char key[9];              /* "DQ", "DR", "ST" ... */
    uint64_t id;              /* message id (answer a query with this as ref) */
    uint64_t ref;             /* answers: id of our query */
    char src[10];             /* sender ORI ("LEXSWITCH" for the switch's statuses) */
    char dst[10];             /* queries: the destination this copy is for */
    char ctl[33];             /* sender's reference, echoed in answers */
    char purpose[5];          /* purpose code, "" when none */
    int is_query;             /* 1 for DQ, KQ, RQ ... that expect an answer */
    const void *body;
    size_t body_len;
} lex_node_msg_t;

/* Next message (heartbeats and session traffic are handled inside).
 * timeout_ms: 0 = don't wait, -1 = forever. LEX_EAGAIN when none came. */
int lex_node_next(lex_node_t *node, lex_node_msg_t *msg, int timeout_ms);

/* A top-level body field as text (integers and booleans are formatted):
 * 0, LEX_ENOTFOUND when absent, LEX_ETYPE when it is a list or map,
 * LEX_ELENGTH when it does not fit size bytes with the NUL. */
int lex_node_msg_str(const lex_node_msg_t *msg, const char *name, char *buf, size_t size);
/* A top-level integer field: 0, LEX_ENOTFOUND, LEX_ETYPE. */
int lex_node_msg_int(const lex_node_msg_t *msg, const char *name, int64_t *value);
/* For ST messages: the code and (text may be NULL) its text. */
int lex_node_msg_status(const lex_node_msg_t *msg, int *code, char *text, size_t textlen);

/* ---- sending --------------------------------------------------------- */

typedef struct {
    const char *key;               /* query key: "DQ", "KQ", "RQ" ... */
    const char *const *dst;        /* state codes ("NV") or ORIs, 1 to 16 */
    size_t ndst;
    const char *src;               /* NULL: the node's first ORI */
    const char *ctl;               /* our reference, echoed in answers; may be NULL */
    const char *purpose;           /* purpose code ("C"); may be NULL */
} lex_node_query_t;

/* Sends a query; *id (may be NULL) gets its id, which every answer carries
 * as ref. LEX_EAGAIN when the connection's queue is full. */
int lex_node_query(lex_node_t *node, const lex_node_query_t *query, const lex_fields_t *body,
                   uint64_t *id);

/* Answers a received query with its paired response key (DQ -> DR ...),
 * to the sender, ref = the query's id, ctl and purpose echoed. */
int lex_node_reply(lex_node_t *node, const lex_node_msg_t *query, const lex_fields_t *body);

/* Answers a received query with an ST: code (LEX_ST_NO_RECORD with text
 * "no record" for a miss) and a text for the requester. */
int lex_node_reply_status(lex_node_t *node, const lex_node_msg_t *query, int code,
                          const char *text);

#endif
