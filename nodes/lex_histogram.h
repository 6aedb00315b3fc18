/* lex_histogram.h: a latency histogram with log-linear buckets (16 per
 * power of two, so any percentile is within about 6% of the true value),
 * fixed size, no allocation, mergeable. Values are microseconds. */
#ifndef LEX_HISTOGRAM_H
#define LEX_HISTOGRAM_H

#include <stdint.h>

#define LEX_HIST_SUB 16
#define LEX_HIST_BUCKETS (40 * LEX_HIST_SUB)

typedef struct {
    uint64_t counts[LEX_HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
    uint64_t sum;
} lex_hist_t;

void lex_hist_init(lex_hist_t *h);
void lex_hist_record(lex_hist_t *h, uint64_t value);
void lex_hist_merge(lex_hist_t *into, const lex_hist_t *from);
/* Value at percentile p (0..100); 0 for an empty histogram. */
uint64_t lex_hist_percentile(const lex_hist_t *h, double p);

#endif
