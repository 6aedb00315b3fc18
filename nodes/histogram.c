/* histogram.c: log-linear latency histogram (lex_histogram.h). Bucket b
 * covers values whose top bits (the power of two and the next 4 bits) match;
 * a percentile is reported as its bucket's upper bound. */
#include <string.h>
#include "lex_histogram.h"

void lex_hist_init(lex_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

static unsigned bucket_of(uint64_t v)
{
    if (v < LEX_HIST_SUB)
        return (unsigned)v;
    unsigned mag = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
    unsigned sub = (unsigned)(v >> (mag - 4)) & (LEX_HIST_SUB - 1);
    unsigned b = (mag - 3) * LEX_HIST_SUB + sub;
    return b < LEX_HIST_BUCKETS ? b : LEX_HIST_BUCKETS - 1;
}

static uint64_t bucket_top(unsigned b)
{
    if (b < LEX_HIST_SUB)
        return b;
    unsigned mag = b / LEX_HIST_SUB + 3;
    uint64_t sub = b % LEX_HIST_SUB;
    return ((LEX_HIST_SUB + sub + 1) << (mag - 4)) - 1;
}

void lex_hist_record(lex_hist_t *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->total++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

void lex_hist_merge(lex_hist_t *into, const lex_hist_t *from)
{
    for (unsigned i = 0; i < LEX_HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t lex_hist_percentile(const lex_hist_t *h, double p)
{
    if (h->total == 0)
        return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    uint64_t seen = 0;
    for (unsigned b = 0; b < LEX_HIST_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t top = bucket_top(b);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}
