/* lexctl_report.h: what `lexctl report` (lexctl_report.c) hands its HTML
 * writer (lexctl_report_html.c): a state's query counts from the audit
 * log's rollups, totalled by requesting agency, by key and by month, each
 * split by outcome. */
#ifndef LEXCTL_REPORT_H
#define LEXCTL_REPORT_H

#include <stdint.h>
#include <stdio.h>

/* Outcomes, in the order of every counts array: allowed, redacted, denied,
 * held, refused (the rollup decisions allow, redact, deny, review, refuse). */
#define REPORT_OUTCOMES 5

typedef struct {
    char label[40];               /* "federal ICE-ERO", "DQ", "2025-03" */
    char level[12], family[16];   /* agency lines only */
    uint64_t n[REPORT_OUTCOMES];
    uint64_t total;
} report_line_t;

typedef struct {
    report_line_t *lines;
    size_t count, cap;
} report_view_t;

/* One look at the state's records: a read of the log by lexctl or an
 * operator request (an access record, docs/LOG.md "Access records"). */
typedef struct {
    char when[32];                /* UTC */
    char who[112];                /* OS user and uid, or operator key label and desk */
    char how[16];                 /* "lexctl" or "wire" */
    char cmd[32];
    char filter[256];
    char scope[16];               /* the state or ORI it was limited to, or "national" */
    uint64_t seq;                 /* its record; 0 while still in the access journal */
} report_access_t;

typedef struct {
    char state[3];
    char from[8], to[8];          /* months covered ("" = no bound given) */
    char generated[32];           /* when the report was made, UTC */
    report_line_t all;
    report_view_t agencies, keys, months;
    uint64_t log_base;            /* records up to it removed by retention */
    report_access_t *looked;      /* who looked at the state's records, oldest first */
    size_t nlooked, looked_cap;
} report_t;

extern const char *const report_outcome_names[REPORT_OUTCOMES];  /* "allowed" ... */
extern const char *const report_outcome_colors[REPORT_OUTCOMES];

/* Writes the report as one self-contained HTML page with inline SVG charts. */
int lexctl_report_html(FILE *f, const report_t *r);

#endif
