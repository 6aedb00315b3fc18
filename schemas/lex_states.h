/* lex_states.h: the jurisdictions that have a motor-vehicle responder on the
 * network: the 50 states, DC and five territories. */
#ifndef LEX_STATES_H
#define LEX_STATES_H

#include <stddef.h>

extern const char *const lex_states[];      /* codes, NULL-terminated */
extern const char *const lex_state_names[]; /* names, same order */
extern const size_t lex_state_count;

/* Index of a code in lex_states, or -1. */
int lex_state_index(const char *code);

#endif
