/* lex_node.h: libnode, the client library every node links. A node is one
 * DEALER connection to the switch speaking for a set of ORIs: it registers
 * with HELLO, keeps the session alive with heartbeats, re-registers when the
 * switch restarts, and sends and receives two-frame messages (envelope,
 * body). Single-threaded: one host thread may drive many nodes with
 * zmq_poll over lex_node_socket(). The calls an endpoint outside this tree
 * needs are in include/lexnode.h; this header adds the envelope-level ones
 * the switch's own programs and tests use. */
#ifndef LEX_NODE_H
#define LEX_NODE_H

#include <stddef.h>
#include <stdint.h>
#include "lex_envelope.h"
#include "lexnode.h"

/* One received application message. env is decoded; body points into a
 * frame owned by the node, valid until the next lex_node_recv on it. */
typedef struct {
    lex_envelope_t env;
    const void *body;
    size_t body_len;
} lex_message_t;

/* Sends a message. Fills in version, id (when 0, from the node's counter),
 * ts and src (when empty, the node's first ORI). env->id holds the id used.
 * LEX_EAGAIN when the socket's queue is full. */
int lex_node_send(lex_node_t *node, lex_envelope_t *env, const void *body, size_t body_len);

/* Receives the next application message (session traffic is handled inside:
 * WELCOME, heartbeats, re-registration; heartbeats are also sent while it
 * waits). timeout_ms: 0 = don't wait, -1 = forever. LEX_EAGAIN when nothing
 * arrived in time. */
int lex_node_recv(lex_node_t *node, lex_message_t *msg, int timeout_ms);

/* Counters: messages received that could not be decoded (they are dropped
 * after being counted and reported on stderr). */
uint64_t lex_node_bad_frames(const lex_node_t *node);

#endif
