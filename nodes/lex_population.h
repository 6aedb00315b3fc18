/* lex_population.h: a deterministic synthetic population of drivers and
 * vehicles for one state. Record i of state S is computed from (S, i), so
 * every process that builds the same (state, size) sees the same people:
 * responders answer from it and requesters draw real subjects from it.
 * Look-ups by licence number, plate and VIN invert the generated codes;
 * look-ups by name + date of birth use a sorted index built once. */
#ifndef LEX_POPULATION_H
#define LEX_POPULATION_H

#include <stddef.h>
#include <stdint.h>
#include "lex_buf.h"
#include "lex_envelope.h"

typedef struct {
    uint32_t index;
    char lic[16];        /* licence number, unique in the state */
    char name[64];       /* "LAST,FIRST" */
    char dob[11];        /* YYYY-MM-DD */
    char sex[2];         /* "M" or "F" */
    char address[64];
    char city[32];
    char zip[6];
    char cls[2];         /* licence class: A, B, C, M */
    char status[12];     /* VALID, SUSPENDED, REVOKED, EXPIRED */
    char expiry[11];     /* YYYY-MM-DD */
    char photo[32];      /* photo reference */
} lex_driver_t;

typedef struct {
    uint32_t index;
    char plate[9];
    char vin[18];
    uint32_t year;
    char make[16];
    char model[16];
    char color[12];
    char type[4];        /* PC passenger car, TK truck, MC motorcycle ... */
    char status[12];     /* VALID, EXPIRED, STOLEN */
    uint32_t owner;      /* driver index of the registered owner */
} lex_vehicle_t;

typedef struct {
    char date[11];       /* YYYY-MM-DD */
    char kind[12];       /* "conviction" or "suspension" */
    char text[48];
} lex_history_t;

typedef struct lex_population lex_population_t;

/* Builds a state's population (the name index costs ~16 bytes a driver).
 * Caller owns *out (lex_population_destroy). */
int lex_population_new(const char *state, uint32_t ndrivers, uint32_t nvehicles,
                       lex_population_t **out);
void lex_population_destroy(lex_population_t **pop);

const char *lex_population_state(const lex_population_t *pop);
uint32_t lex_population_drivers(const lex_population_t *pop);
uint32_t lex_population_vehicles(const lex_population_t *pop);

void lex_population_driver(const lex_population_t *pop, uint32_t index, lex_driver_t *out);
void lex_population_vehicle(const lex_population_t *pop, uint32_t index, lex_vehicle_t *out);
/* Fills up to max entries of a driver's history; returns the count. */
size_t lex_population_history(const lex_population_t *pop, uint32_t driver,
                              lex_history_t *out, size_t max);

/* 0 and *index when found, LEX_ENOTFOUND otherwise. */
int lex_population_find_lic(const lex_population_t *pop, const char *lic, uint32_t *index);
int lex_population_find_plate(const lex_population_t *pop, const char *plate, uint32_t *index);
int lex_population_find_vin(const lex_population_t *pop, const char *vin, uint32_t *index);
/* Drivers with this name and date of birth (sex may be NULL or ""); returns
 * how many were written to out (at most max). */
size_t lex_population_find_name(const lex_population_t *pop, const char *name,
                                const char *dob, const char *sex,
                                uint32_t *out, size_t max);
/* Vehicles owned by a driver; returns the count written. */
size_t lex_population_vehicles_of(const lex_population_t *pop, uint32_t driver,
                                  uint32_t *out, size_t max);

/* Responder: answers one query (DQ, KQ, RQ, RNQ, IMQ) addressed to this
 * population's state. Fills the response envelope's key (DR, KR ... or ST
 * with LEX_ST_NO_RECORD on a miss) and appends the response body to body.
 * The caller sets the envelope's id, src, dst and ref. */
int lex_population_answer(const lex_population_t *pop, const char *query_key,
                          const void *qbody, size_t qlen,
                          char resp_key[LEX_KEY_MAX + 1], lex_buf_t *body);

/* Requester: draws a query for this state from a random number (any 64-bit
 * value; the same value gives the same query). key is DQ, KQ, RQ, RNQ or
 * IMQ. About miss_pct percent of queries ask for someone who does not
 * exist. Appends the query body to body. */
int lex_population_sample_query(const lex_population_t *pop, const char *key,
                                uint64_t rnd, unsigned miss_pct, lex_buf_t *body);

#endif
