/* flight.c: queries in flight. Each copy of a query forwarded to a
 * responder gets a switch-wide id (the responder answers with it as ref), a
 * deadline, and a place in a list kept in deadline order: every query shares
 * one timeout, so appending at the tail keeps the list sorted and expiry only
 * looks at the head. */
#include <stdlib.h>
#include "switch_internal.h"

flight_t *lex_flight_open(lex_switch_t *sw)
{
    flight_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fid = ++sw->next_fid;
    if (lex_table_put(sw->flights, &f->fid, sizeof f->fid, f) != 0) {
        free(f);
        return NULL;
    }
    f->opened_us = lex_mono_us();
    f->deadline_us = f->opened_us + (uint64_t)sw->cfg.query_timeout_ms * 1000u;
    f->prev = sw->flight_tail;
    if (sw->flight_tail)
        sw->flight_tail->next = f;
    else
        sw->flight_head = f;
    sw->flight_tail = f;
    return f;
}

flight_t *lex_flight_find(lex_switch_t *sw, uint64_t fid)
{
    return lex_table_get(sw->flights, &fid, sizeof fid);
}

void lex_flight_close(lex_switch_t *sw, flight_t *f)
{
    lex_table_del(sw->flights, &f->fid, sizeof f->fid);
    if (f->prev)
        f->prev->next = f->next;
    else
        sw->flight_head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        sw->flight_tail = f->prev;
    if (f->responder && f->responder->open_flights)
        f->responder->open_flights--;
    free(f);
}

size_t lex_flight_count(const lex_switch_t *sw)
{
    return lex_table_count(sw->flights);
}
