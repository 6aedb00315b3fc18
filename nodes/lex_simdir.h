/* lex_simdir.h: the synthetic agency directory of the simulation: every
 * state's DMV responder, its state police, sheriffs and police departments,
 * tribal police, and federal field offices (FBI, ICE-ERO, HSI, CBP, USMS,
 * DEA, ATF) in many states. Deterministic for a given size. */
#ifndef LEX_SIMDIR_H
#define LEX_SIMDIR_H

#include <stdio.h>

/* ORI of a state's DMV responder: "<ST>DMV0000". out holds 10 bytes. */
void lex_simdir_dmv_ori(const char *state, char out[10]);

/* Writes the directory (docs/PROTOCOL.md, "Agency directory") to f.
 * locals_per_state: police departments and sheriffs per state (>= 1).
 * Returns the number of agencies written, or a negative LEX_E* code. */
long lex_simdir_write(FILE *f, unsigned locals_per_state);

#endif
