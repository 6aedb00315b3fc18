/* s2s.h: switch to switch. A switch may join another as a node that serves
 * a set of destination patterns (docs/PROTOCOL.md, "Switch to switch"):
 * peer.c is the joined side (sessions of switches that registered patterns,
 * and the route to them), upstream.c the joining side (a DEALER link to the
 * upstream switch, seen by route.c as one more session). */
#ifndef LEX_S2S_H
#define LEX_S2S_H

#include <msgpack.h>
#include "switch_internal.h"

/* The switch's own ORI: source of the statuses and session messages it makes. */
#define LEX_SWITCH_ORI "LEXSWITCH"

/* peer.c */
/* Reads a HELLO's `serves` list into s (a switch joining this one). With
 * CURVE every pattern must lie inside the key's binding. 0 or an ST code. */
int lex_peer_hello(lex_switch_t *sw, session_t *s, const msgpack_object *hello, char *why,
                   size_t whylen);
int lex_peer_add(lex_switch_t *sw, session_t *s);     /* after registration */
/* 1 when a joined switch's key (s->bind, after a directory reload) still
 * binds every pattern it serves. */
int lex_peer_still_bound(const session_t *s);
void lex_peer_forget(lex_switch_t *sw, session_t *s); /* before the session is freed */
/* May a peer session send with this source ORI? */
int lex_peer_owns(const session_t *s, const char *ori, int is_status);
/* The switch to send a destination to when no node here serves it: the
 * joined switch whose pattern matches it most specifically, else the
 * upstream link when src is an ORI this switch may speak for there (the
 * upstream would refuse any other as spoofed); never the session `from`
 * the message came in on. NULL when there is none. */
session_t *lex_peer_route(lex_switch_t *sw, const char *dest, const char *src,
                          const session_t *from);

/* upstream.c */
/* Connects the link and sends HELLO when cfg.upstream is set (no-op
 * otherwise). after() is run after each batch the link received (commit
 * the log, flush the outbox). */
int lex_upstream_open(lex_switch_t *sw, void (*after)(lex_switch_t *), char *err, size_t errlen);
/* Heartbeats, re-registration, and a drain of the link's socket. */
void lex_upstream_tick(lex_switch_t *sw, uint64_t now_us);
/* 1 when rid names the upstream link's session. */
int lex_upstream_is_rid(const uint8_t *rid, size_t rid_len);
/* Sends one message up the link: 0, or -1 with zmq_errno() set. */
int lex_upstream_send(lex_switch_t *sw, const void *env, size_t env_len, const void *body,
                      size_t body_len);
/* 1 when ori matches upstream_serves: this switch may speak for it upstream. */
int lex_upstream_may_carry(const lex_switch_t *sw, const char *ori);
/* The link's session when the upstream welcomed us, else NULL. */
session_t *lex_upstream_session(lex_switch_t *sw);
void lex_upstream_close(lex_switch_t *sw);    /* BYE, close the loop handles */
void lex_upstream_destroy(lex_switch_t *sw);  /* the socket, before the context ends */

#endif
