/* lexsim.h: the parts of lexsim beside its main(): watching the running
 * switch once a second through its status message (lexsim_watch.c), and
 * the HTML report with inline SVG plots written after a run
 * (lexsim_report.c). */
#ifndef LEXSIM_H
#define LEXSIM_H

#include <stddef.h>
#include <stdint.h>
#include "lex_node.h"

/* The operations desk lexsim watches the switch as (in the switch's
 * directory only, so no agency takes it over). */
#define LEXSIM_OPS_ORI "DCOPS9999"

/* One status sample of the switch (counters since it started). */
typedef struct {
    double t_s;                /* seconds since watching began */
    uint64_t received, forwarded, statuses, rejected, timeouts, in_flight, held;
} lexsim_sample_t;

typedef struct {
    lex_node_t *node;          /* registered as an operations desk */
    lexsim_sample_t *samples;  /* owned */
    size_t n, cap;
    uint64_t t0_us;
} lexsim_watch_t;

/* Registers with the switch at endpoint as ori. 0 or a LEX_E code. */
int lexsim_watch_open(lexsim_watch_t *w, const char *endpoint, const char *ori);
/* One SSQ/SSR round trip; appends a sample. 0 or a LEX_E code. */
int lexsim_watch_sample(lexsim_watch_t *w);
/* Waits up to ms while keeping the session alive. */
void lexsim_watch_idle(lexsim_watch_t *w, int ms);
void lexsim_watch_close(lexsim_watch_t *w);

/* What the rules decided for the queries to one state. */
typedef struct {
    char state[3];
    uint64_t allowed, redacted, held, denied, refused;
} lexsim_state_decisions_t;

/* The summary lexsim prints, as the report shows it. */
typedef struct {
    double duration_s;
    const char *rate;            /* as asked */
    const char *queries_sent, *answers, *unanswered, *query_rate;
    const char *received, *routed, *statuses, *refused, *timeouts, *log_records;
    const char *by_decision, *latency_us;   /* JSON objects */
} lexsim_summary_t;

/* Counts decisions per state from the audit log in data_dir (the switch
 * stopped): out needs room for lex_state_count entries. */
int lexsim_report_decisions(const char *data_dir, lexsim_state_decisions_t *out, size_t *n);

/* Writes a self-contained HTML page (inline CSS and SVG, no scripts). */
int lexsim_report_html(const char *path, const lexsim_summary_t *s,
                       const lexsim_sample_t *samples, size_t nsamples,
                       const lexsim_state_decisions_t *states, size_t nstates);

#endif
