/* lex_rand.h: the small, fast pseudo-random stream the simulation and the
 * load tools draw from (splitmix64): the same seed gives the same run. Not
 * for anything secret. */
#ifndef LEX_RAND_H
#define LEX_RAND_H

#include <stdint.h>

/* Advances *state and returns the next 64 random bits. */
static inline uint64_t lex_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
