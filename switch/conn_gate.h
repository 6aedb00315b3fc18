/* conn_gate.h: the accept gate (conn_gate.c) that keeps libzmq's listener
 * under the connection cap and off the descriptor limit. Used by
 * conn_limits.c only; one gate per process (the daemon runs one switch). */
#ifndef LEX_CONN_GATE_H
#define LEX_CONN_GATE_H

typedef struct {
    long live;                  /* admitted and not yet seen closed */
    long cap;
    unsigned long admitted;     /* since start */
    unsigned long refused_cap;  /* closed at once: the cap was reached */
    unsigned long refused_fd;   /* closed at once: out of descriptors */
} lex_gate_counts_t;

/* Turns the gate on for accepts made on threads other than this one. */
void lex_gate_start(long cap);
void lex_gate_stop(void);
/* n admitted connections have closed (or never became connections). */
void lex_gate_closed(long n);
void lex_gate_counts(lex_gate_counts_t *c);

#endif
