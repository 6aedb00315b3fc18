/* test_histogram.c: percentiles from the latency histogram stay within
 * its bucket precision. */
#include <criterion/criterion.h>
#include "lex_histogram.h"
#include "lex_roles.h"

TestSuite(histogram);

Test(histogram, percentiles_are_within_seven_percent)
{
    static lex_hist_t h;
    lex_hist_init(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        lex_hist_record(&h, v);
    uint64_t p50 = lex_hist_percentile(&h, 50), p99 = lex_hist_percentile(&h, 99);
    cr_assert(p50 >= 50000 && p50 <= 53500, "p50 %llu", (unsigned long long)p50);
    cr_assert(p99 >= 99000 && p99 <= 100000, "p99 %llu", (unsigned long long)p99);
    cr_assert_eq(lex_hist_percentile(&h, 100), 100000);
    cr_assert_eq(h.total, 100000);
}

Test(histogram, empty_histogram_reports_zero_and_merge_adds)
{
    static lex_hist_t a, b;
    lex_hist_init(&a);
    lex_hist_init(&b);
    cr_assert_eq(lex_hist_percentile(&a, 99), 0);
    lex_hist_record(&a, 10);
    lex_hist_record(&b, 1000);
    lex_hist_merge(&a, &b);
    cr_assert_eq(a.total, 2);
    cr_assert_eq(a.max, 1000);
}

Test(histogram, rates_parse_in_every_unit)
{
    cr_assert_float_eq(lex_rate_parse("500"), 500.0, 1e-9);
    cr_assert_float_eq(lex_rate_parse("2k/s"), 2000.0, 1e-9);
    cr_assert_float_eq(lex_rate_parse("290M/y"), 290e6 / (365.25 * 86400), 1e-6);
    cr_assert_float_eq(lex_rate_parse("1x"), 290e6 / (365.25 * 86400), 1e-6);
    cr_assert_lt(lex_rate_parse("fast"), 0);
    cr_assert_lt(lex_rate_parse("5/w"), 0);
}
