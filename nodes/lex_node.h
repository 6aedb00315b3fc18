/* lex_node.h: libnode, the client library every node links. A node is one
 * DEALER connection to the switch speaking for a set of ORIs: it registers
 * with HELLO, keeps the session alive with heartbeats, re-registers when the
 * switch restarts, and sends and receives two-frame messages (envelope,
 * body). Single-threaded: one host thread may drive many nodes with
 * zmq_poll over lex_node_socket(). */
#ifndef LEX_NODE_H
#define LEX_NODE_H

#include <stddef.h>
#include <stdint.h>
#include "lex_envelope.h"

typedef struct {
    const char *endpoint;          /* "tcp://127.0.0.1:7400" or "ipc:///path" */
    const char *role;              /* "state", "agency", "tool" ... (informative) */
    const char *const *oris;       /* ORIs this node speaks for (>= 1) */
    size_t noris;
    const char *const *states;     /* states it answers for (responders), may be 0 */
    size_t nstates;
    const char *const *keys;       /* query keys it answers, may be 0 */
    size_t nkeys;
    int heartbeat_ms;              /* 0 = 1000 */
    void *zmq_ctx;                 /* shared ZeroMQ context, or NULL for the node's own */
    /* CURVE: this node's key file (public + secret) and the switch's public
     * key file (lex_keys.h). When NULL, the environment variables LEX_KEY
     * and LEX_SWITCH_KEY are used; with neither, the node connects without
     * CURVE, which only a development switch (dev_plain) accepts. */
    const char *key_file;
    const char *switch_key_file;
} lex_node_config_t;

/* One received application message. env is decoded; body points into a
 * frame owned by the node, valid until the next lex_node_recv on it. */
typedef struct {
    lex_envelope_t env;
    const void *body;
    size_t body_len;
} lex_message_t;

typedef struct lex_node lex_node_t;

/* Connects and sends HELLO (does not wait). Caller owns *out. LEX_EINVAL
 * with *out NULL for bad key files; err (may be NULL) then says why. */
int lex_node_new(const lex_node_config_t *cfg, lex_node_t **out);
int lex_node_new_err(const lex_node_config_t *cfg, lex_node_t **out, char *err, size_t errlen);

/* Sends BYE, closes the socket (and the node's own context); NULLs *node. */
void lex_node_destroy(lex_node_t **node);

/* Waits for WELCOME. LEX_ETIMEOUT, or LEX_ECLOSED when the switch refused the
 * HELLO (lex_node_error says why). Application messages that arrive while
 * waiting are kept for lex_node_recv. */
int lex_node_wait_ready(lex_node_t *node, int timeout_ms);

/* 1 after WELCOME, 0 before it or after the switch was lost. */
int lex_node_ready(const lex_node_t *node);

/* Sends a message. Fills in version, id (when 0, from the node's counter),
 * ts and src (when empty, the node's first ORI). env->id holds the id used.
 * LEX_EAGAIN when the socket's queue is full. */
int lex_node_send(lex_node_t *node, lex_envelope_t *env, const void *body, size_t body_len);

/* Receives the next application message (session traffic is handled inside:
 * WELCOME, heartbeats, re-registration; heartbeats are also sent while it
 * waits). timeout_ms: 0 = don't wait, -1 = forever. LEX_EAGAIN when nothing
 * arrived in time. */
int lex_node_recv(lex_node_t *node, lex_message_t *msg, int timeout_ms);

/* Sends a heartbeat when one is due and re-registers when the switch has
 * been silent for three heartbeat intervals. Call at least every interval. */
void lex_node_tick(lex_node_t *node);

/* The DEALER socket, for zmq_poll (ZMQ_POLLIN) in a host loop. */
void *lex_node_socket(lex_node_t *node);

/* Text of the last error or refusal (never NULL). */
const char *lex_node_error(const lex_node_t *node);

/* Counters: messages received that could not be decoded (they are dropped
 * after being counted and reported on stderr). */
uint64_t lex_node_bad_frames(const lex_node_t *node);

#endif
