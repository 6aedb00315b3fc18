/* metrics.h: the switch's operational metrics: fixed-bucket histograms in
 * the Prometheus style, the text exposition of every counter (metrics.c),
 * and the small HTTP/1.x server on the switch's libuv loop that serves it
 * (metrics_http.c, http_parse.c). Nothing here touches a message: the
 * counters are kept by stats.c as messages pass. Internal to switch/. */
#ifndef LEX_METRICS_H
#define LEX_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "lex_buf.h"

#define LEX_PROMHIST_MAX 16

/* A histogram with fixed upper bounds in seconds (cumulative on output). */
typedef struct {
    const double *bounds;               /* ascending, not owned; +Inf is implied */
    size_t nbounds;                     /* at most LEX_PROMHIST_MAX */
    uint64_t counts[LEX_PROMHIST_MAX + 1];  /* per bucket, not cumulative; last = +Inf */
    uint64_t count;
    double sum;                         /* seconds */
} lex_promhist_t;

void lex_promhist_init(lex_promhist_t *h, const double *bounds, size_t nbounds);
void lex_promhist_observe(lex_promhist_t *h, double seconds);

/* Appends the histogram's _bucket, _sum and _count lines (HELP/TYPE
 * included) to out. */
void lex_promhist_render(const lex_promhist_t *h, const char *name, const char *help,
                         lex_buf_t *out);

/* The request line and the parts of the headers the server cares about. */
#define LEX_HTTP_REQ_MAX 8192          /* whole request head, bytes */
#define LEX_HTTP_TARGET_MAX 1024

typedef struct {
    char method[17];
    char path[LEX_HTTP_TARGET_MAX + 1];  /* the target up to '?' */
    int minor;                           /* HTTP/1.<minor> */
} lex_http_request_t;

/* Parses a request head strictly (CRLF line ends, token methods, origin-form
 * targets, HTTP/1.0 or 1.1, well-formed headers, Host for 1.1, no body).
 * Returns 1 when buf holds a complete, valid head; 0 when more bytes are
 * needed; LEX_EPARSE when it is malformed (and can never become valid). */
int lex_http_parse(const char *buf, size_t len, lex_http_request_t *req);

#endif
