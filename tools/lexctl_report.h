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

typedef struct {
    char state[3];
    char from[8], to[8];          /* months covered ("" = no bound given) */
    char generated[32];           /* when the report was made, UTC */
    report_line_t all;
    report_view_t agencies, keys, months;
    uint64_t log_base;            /* records up to it removed by retention */
} report_t;

extern const char *const report_outcome_names[REPORT_OUTCOMES];  /* "allowed" ... */
extern const char *const report_outcome_colors[REPORT_OUTCOMES];

/* Writes the report as one self-contained HTML page with inline SVG charts. */
int lexctl_report_html(FILE *f, const report_t *r);

#endif
