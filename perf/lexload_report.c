/* lexload_report.c: lexload's outputs. A text table for people, one JSON
 * object for the perf suite (perf/suite.sh reads it), and two SVG plots: the
 * latency distribution (percentile spectrum, log scale towards the tail) and
 * throughput and p99 per second over the run. No plotting library: the SVG
 * is written by hand. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lex_error.h"
#include "lex_status.h"
#include "lexload.h"

static const double spectrum[] = {0,  10, 25,   50,   75,    90,     95,     99,
                                  99.5, 99.9, 99.95, 99.99, 99.999, 100};
#define NSPECTRUM (sizeof spectrum / sizeof spectrum[0])

static double rate_of(const ll_result_t *r, uint64_t n)
{
    return r->window_s > 0 ? (double)n / r->window_s : 0.0;
}

static const char *mode_name(const ll_config_t *cfg)
{
    return cfg->hold ? "hold" : cfg->inflight ? "closed" : "open";
}

void ll_report_text(const ll_config_t *cfg, const ll_result_t *r, const char *label, FILE *f)
{
    const lex_hist_t *h = &r->latency;
    fprintf(f, "lexload %s: %s loop against %s (%s), %u connections\n", label, mode_name(cfg),
            cfg->endpoint, cfg->target == LL_TARGET_BARE ? "bare forwarder" : "switch",
            r->conns);
    if (cfg->hold) {
        fprintf(f, "  held %u connections for %.1f s (registered in %.1f s)\n", r->conns,
                r->elapsed_s, r->connect_s);
        return;
    }
    if (cfg->inflight)
        fprintf(f, "  %u in flight: %.0f round trips/s over %.1f s (after %.1f s warm-up)\n",
                cfg->inflight, rate_of(r, r->measured), r->window_s, cfg->warmup_s);
    else
        fprintf(f, "  asked %.1f/s (%s%s), sent %.1f/s over %.1f s\n", cfg->rate,
                cfg->arrival == LL_ARRIVAL_POISSON ? "Poisson" : "constant",
                cfg->replay_day_s > 0 ? ", daily cycle" : "",
                r->elapsed_s > 0 ? (double)r->sent / r->elapsed_s : 0.0, r->elapsed_s);
    fprintf(f, "  query frames: envelope %zu B, body %zu B\n", r->query_env_bytes,
            r->query_body_bytes);
    fprintf(f, "  %-10s %12s %12s %12s %12s %12s\n", "", "sent", "answers", "unanswered",
            "send-errors", "unexpected");
    fprintf(f, "  %-10s %12llu %12llu %12llu %12llu %12llu\n", "count",
            (unsigned long long)r->sent, (unsigned long long)r->answers,
            (unsigned long long)r->unanswered, (unsigned long long)r->send_errors,
            (unsigned long long)r->unexpected);
    fprintf(f, "  latency us (%llu measured): p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n",
            (unsigned long long)h->total, (unsigned long long)lex_hist_percentile(h, 50),
            (unsigned long long)lex_hist_percentile(h, 90),
            (unsigned long long)lex_hist_percentile(h, 99),
            (unsigned long long)lex_hist_percentile(h, 99.9), (unsigned long long)h->max);
    fprintf(f, "  answers:");
    for (size_t k = 0; k < LL_ANSWER_KEYS; k++)
        if (r->by_answer_key[k])
            fprintf(f, " %s %llu", ll_answer_keys[k], (unsigned long long)r->by_answer_key[k]);
    for (int c = 0; c < 64; c++)
        if (r->by_status[c])
            fprintf(f, " [ST %s %llu]", lex_status_name(c), (unsigned long long)r->by_status[c]);
    fprintf(f, "\n");
}

int ll_report_json(const ll_config_t *cfg, const ll_result_t *r, const char *label,
                   const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return LEX_EIO;
    const lex_hist_t *h = &r->latency;
    fprintf(f, "{\"label\": \"%s\", \"mode\": \"%s\", \"target\": \"%s\", \"endpoint\": \"%s\",\n",
            label, mode_name(cfg), cfg->target == LL_TARGET_BARE ? "bare" : "switch",
            cfg->endpoint);
    fprintf(f, " \"config\": {\"rate\": %.3f, \"inflight\": %u, \"arrival\": \"%s\", "
               "\"duration_s\": %.3f, \"warmup_s\": %.3f, \"replay_day_s\": %.3f, "
               "\"conns\": %u, \"body_bytes\": %u, \"federal_pct\": %u},\n",
            cfg->rate, cfg->inflight, cfg->arrival == LL_ARRIVAL_POISSON ? "poisson" : "constant",
            cfg->duration_s, cfg->warmup_s, cfg->replay_day_s, r->conns, cfg->body_bytes,
            cfg->federal_pct);
    fprintf(f, " \"sent\": %llu, \"expected\": %llu, \"answers\": %llu, \"unanswered\": %llu, "
               "\"send_errors\": %llu, \"unexpected\": %llu, \"measured\": %llu,\n",
            (unsigned long long)r->sent, (unsigned long long)r->expected,
            (unsigned long long)r->answers, (unsigned long long)r->unanswered,
            (unsigned long long)r->send_errors, (unsigned long long)r->unexpected,
            (unsigned long long)r->measured);
    fprintf(f, " \"elapsed_s\": %.3f, \"window_s\": %.3f, \"connect_s\": %.3f, "
               "\"rate_sent\": %.1f, \"throughput\": %.1f,\n",
            r->elapsed_s, r->window_s, r->connect_s,
            r->elapsed_s > 0 ? (double)r->sent / r->elapsed_s : 0.0, rate_of(r, r->measured));
    fprintf(f, " \"query_env_bytes\": %zu, \"query_body_bytes\": %zu,\n", r->query_env_bytes,
            r->query_body_bytes);
    fprintf(f, " \"by_answer_key\": {");
    for (size_t k = 0; k < LL_ANSWER_KEYS; k++)
        fprintf(f, "%s\"%s\": %llu", k ? ", " : "", ll_answer_keys[k],
                (unsigned long long)r->by_answer_key[k]);
    fprintf(f, "}, \"by_status\": {");
    int first = 1;
    for (int c = 0; c < 64; c++)
        if (r->by_status[c]) {
            fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", lex_status_name(c),
                    (unsigned long long)r->by_status[c]);
            first = 0;
        }
    fprintf(f, "},\n \"latency_us\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, "
               "\"p999\": %llu, \"max\": %llu, \"mean\": %.1f},\n",
            (unsigned long long)lex_hist_percentile(h, 50),
            (unsigned long long)lex_hist_percentile(h, 90),
            (unsigned long long)lex_hist_percentile(h, 99),
            (unsigned long long)lex_hist_percentile(h, 99.9), (unsigned long long)h->max,
            h->total ? (double)h->sum / (double)h->total : 0.0);
    fprintf(f, " \"spectrum\": [");
    for (size_t i = 0; i < NSPECTRUM; i++)
        fprintf(f, "%s[%g, %llu]", i ? ", " : "", spectrum[i],
                (unsigned long long)lex_hist_percentile(h, spectrum[i]));
    fprintf(f, "],\n \"series\": [");
    for (size_t i = 0; i < r->nseries; i++) {
        const ll_second_t *s = &r->series[i];
        fprintf(f, "%s\n  {\"t\": %.0f, \"sent\": %llu, \"answers\": %llu, \"p50\": %llu, "
                   "\"p99\": %llu, \"max\": %llu}",
                i ? "," : "", s->t, (unsigned long long)s->sent, (unsigned long long)s->answers,
                (unsigned long long)s->p50_us, (unsigned long long)s->p99_us,
                (unsigned long long)s->max_us);
    }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : LEX_EIO;
}

/* Plot area inside a 720 x 420 picture. */
#define W 720
#define H 420
#define L 80
#define R 30
#define T 40
#define B 60

static void svg_open(FILE *f, const char *title)
{
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%d\" y=\"22\" font-size=\"14\">%s</text>\n"
               "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
            W, H, L, title, L, T, W - L - R, H - T - B);
}

static double nice_top(double v)
{
    if (v <= 0)
        return 1;
    double p = pow(10, floor(log10(v)));
    for (double m = 1; m <= 10; m *= 2)
        if (v <= m * p)
            return m * p;
    return 10 * p;
}

static void y_axis(FILE *f, double top, const char *unit)
{
    for (int i = 0; i <= 4; i++) {
        double v = top * i / 4;
        double y = H - B - (double)(H - T - B) * i / 4;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                L, y, W - R, y, L - 6, y + 4, v);
    }
    fprintf(f, "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" "
               "text-anchor=\"middle\">%s</text>\n", (T + H - B) / 2, (T + H - B) / 2, unit);
}

/* x for a percentile: log scale of 1/(1-p), 0 .. 99.999 */
static double pct_x(double p)
{
    double nines = p >= 100 ? 5.3 : -log10(1 - p / 100);
    if (nines > 5.3)
        nines = 5.3;
    return L + (W - L - R) * nines / 5.3;
}

static int svg_latency(const ll_result_t *r, const char *label, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return LEX_EIO;
    char title[200];
    snprintf(title, sizeof title, "%s: latency by percentile (%llu answers)", label,
             (unsigned long long)r->latency.total);
    svg_open(f, title);
    double top_ms = nice_top((double)r->latency.max / 1000.0);
    y_axis(f, top_ms, "latency, ms");
    static const double ticks[] = {0, 90, 99, 99.9, 99.99, 99.999};
    for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">p%g</text>\n",
                pct_x(ticks[i]), H - B + 18, ticks[i]);
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
    for (int i = 0; i <= 200; i++) {
        double p = 100.0 * (1 - pow(10, -5.3 * i / 200.0));
        double v = (double)lex_hist_percentile(&r->latency, p) / 1000.0;
        fprintf(f, "%.1f,%.1f ", pct_x(p), H - B - (H - T - B) * (v / top_ms));
    }
    fprintf(f, "\"/>\n</svg>\n");
    return fclose(f) == 0 ? 0 : LEX_EIO;
}

static int svg_series(const ll_result_t *r, const char *label, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return LEX_EIO;
    char title[200];
    snprintf(title, sizeof title, "%s: per second (blue sent, green answered, red p99 ms "
                                  "on the right scale)", label);
    svg_open(f, title);
    double top = 1, top_ms = 1;
    for (size_t i = 0; i < r->nseries; i++) {
        const ll_second_t *s = &r->series[i];
        top = fmax(top, (double)(s->sent > s->answers ? s->sent : s->answers));
        top_ms = fmax(top_ms, (double)s->p99_us / 1000.0);
    }
    top = nice_top(top);
    top_ms = nice_top(top_ms);
    y_axis(f, top, "messages per second");
    for (int i = 0; i <= 4; i++)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" fill=\"#d62728\">%g</text>\n", W - R + 2,
                H - B - (double)(H - T - B) * i / 4 + 4, top_ms * i / 4);
    double n = r->nseries > 1 ? (double)r->nseries - 1 : 1;
    for (int i = 0; i <= 5; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f s</text>\n",
                L + (W - L - R) * i / 5.0, H - B + 18,
                r->nseries ? r->series[0].t + n * i / 5.0 : 0.0);
    static const char *const colours[] = {"#1f77b4", "#2ca02c", "#d62728"};
    for (int line = 0; line < 3; line++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                colours[line]);
        for (size_t i = 0; i < r->nseries; i++) {
            const ll_second_t *s = &r->series[i];
            double v = line == 0   ? (double)s->sent / top
                       : line == 1 ? (double)s->answers / top
                                   : (double)s->p99_us / 1000.0 / top_ms;
            fprintf(f, "%.1f,%.1f ", L + (W - L - R) * (double)i / n, H - B - (H - T - B) * v);
        }
        fprintf(f, "\"/>\n");
    }
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : LEX_EIO;
}

int ll_report_svg(const ll_config_t *cfg, const ll_result_t *r, const char *label,
                  const char *prefix)
{
    (void)cfg;
    char path[1024];
    snprintf(path, sizeof path, "%s-latency.svg", prefix);
    int rc = svg_latency(r, label, path);
    snprintf(path, sizeof path, "%s-throughput.svg", prefix);
    int rc2 = svg_series(r, label, path);
    return rc ? rc : rc2;
}
