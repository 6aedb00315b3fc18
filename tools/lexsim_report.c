/* lexsim_report.c: lexsim's HTML report: one self-contained page (inline
 * CSS and SVG, no scripts, nothing fetched) with the run's summary, the
 * switch's message rates and queues over time (from lexsim_watch.c), and
 * what each state's rules decided (counted from the audit log the run
 * wrote, through the log reader API). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_auditlog.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_states.h"
#include "lexsim.h"

/* ---- decisions by state, from the audit log ---- */

typedef struct {
    const lex_catalogue_t *cat;
    lexsim_state_decisions_t *by_state;  /* indexed by lex_state_index */
} scan_t;

static int visit(const lex_log_record_t *r, void *arg)
{
    scan_t *sc = arg;
    if (r->dir != LEX_DIR_IN)
        return 0;
    const lex_msgdef_t *def = lex_catalogue_find(sc->cat, r->key);
    if (!def)
        return 0;
    if (def->cls == LEX_CLASS_QUERY) {
        /* one in-record per query; a single destination names its state */
        int i = strlen(r->dst) == 2 ? lex_state_index(r->dst) : -1;
        if (i < 0)
            return 0;
        lexsim_state_decisions_t *d = &sc->by_state[i];
        if (strcmp(r->decision, "allow") == 0 || strcmp(r->decision, "redact") == 0)
            d->allowed++;
        else if (strcmp(r->decision, "deny") == 0)
            d->denied++;
        else if (strcmp(r->decision, "review") == 0)
            d->held++;
        else if (strcmp(r->decision, "refuse") == 0)
            d->refused++;
    } else if (def->cls == LEX_CLASS_RESPONSE && strcmp(r->decision, "redact") == 0) {
        /* the responder's ORI begins with its state */
        char st[3] = {r->src[0], r->src[1], 0};
        int i = lex_state_index(st);
        if (i >= 0)
            sc->by_state[i].redacted++;
    }
    return 0;
}

int lexsim_report_decisions(const char *data_dir, lexsim_state_decisions_t *out, size_t *n)
{
    *n = 0;
    char err[512];
    lex_log_t *log = NULL;
    /* a read of the log like any other: on the record first (docs/LOG.md) */
    lex_access_t a = {"lexsim", "report", "decisions by state for --html", NULL, NULL};
    int rc = lex_access_note(data_dir, &a, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "lexsim: not reading the audit log without a record of the read: %s\n",
                err);
        return rc;
    }
    rc = lex_log_open_reader(data_dir, &log, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "lexsim: cannot read the audit log: %s\n", err);
        return rc;
    }
    lexsim_state_decisions_t *by_state = calloc(lex_state_count, sizeof *by_state);
    if (!by_state) {
        lex_log_close(&log);
        return LEX_ENOMEM;
    }
    scan_t sc = {lex_catalogue_builtin(), by_state};
    rc = sc.cat ? lex_log_scan(log, 1, 0, visit, &sc) : LEX_EINVAL;
    lex_log_close(&log);
    for (size_t i = 0; rc == 0 && i < lex_state_count; i++) {
        lexsim_state_decisions_t *d = &by_state[i];
        if (d->allowed + d->held + d->denied + d->refused == 0)
            continue;
        snprintf(d->state, sizeof d->state, "%s", lex_states[i]);
        out[(*n)++] = *d;
    }
    free(by_state);
    return rc;
}

/* ---- SVG helpers ---- */

#define W 1040          /* plot width in px (the page is 1100 wide) */
#define FONT "font-family=\"system-ui, sans-serif\""

/* A "nice" step for about n ticks up to max: 1, 2 or 5 times a power of 10. */
static double nice_step(double max, int n)
{
    if (max <= 0)
        return 1;
    double raw = max / n, p = 1;
    while (p * 10 <= raw)
        p *= 10;
    while (p > raw)
        p /= 10;
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void fmt_num(char *out, size_t len, double v)
{
    if (v >= 1e6)
        snprintf(out, len, "%.3gM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, len, "%.3gk", v / 1e3);
    else
        snprintf(out, len, "%g", v);
}

typedef struct {
    const char *name;
    const char *color;
    const double *y;
} series_t;

/* A line chart of several series over the same x values (seconds). */
static void svg_lines(FILE *f, const char *title, const char *yunit, const double *x, size_t n,
                      const series_t *series, size_t nseries)
{
    const int H = 300, L = 70, R = 20, T = 44, B = 44;
    double xmax = n ? x[n - 1] : 1, ymax = 0;
    for (size_t s = 0; s < nseries; s++)
        for (size_t i = 0; i < n; i++)
            if (series[s].y[i] > ymax)
                ymax = series[s].y[i];
    double ystep = nice_step(ymax, 5), xstep = nice_step(xmax, 10);
    double ytop = ystep * (int)(ymax / ystep + 1);
    if (xmax <= 0)
        xmax = 1;
    double pw = W - L - R, ph = H - T - B;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n",
            W, H, W, H, title);
    fprintf(f, "<text x=\"%d\" y=\"20\" " FONT " font-size=\"15\" font-weight=\"600\">%s</text>\n",
            L, title);
    double lx = L + 330;
    for (size_t s = 0; s < nseries; s++, lx += 170) {
        fprintf(f, "<rect x=\"%.0f\" y=\"10\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                   "<text x=\"%.0f\" y=\"17\" " FONT " font-size=\"12\">%s</text>\n",
                lx, series[s].color, lx + 20, series[s].name);
    }
    for (double v = 0; v <= ytop + 1e-9; v += ystep) {
        double y = T + ph - v / ytop * ph;
        char label[32];
        fmt_num(label, sizeof label, v);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                   "<text x=\"%d\" y=\"%.1f\" " FONT " font-size=\"11\" text-anchor=\"end\" "
                   "fill=\"#555\">%s</text>\n",
                L, W - R, y, y, L - 6, y + 4, label);
    }
    for (double v = 0; v <= xmax + 1e-9; v += xstep) {
        double xx = L + v / xmax * pw;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.0f\" stroke=\"#999\"/>"
                   "<text x=\"%.1f\" y=\"%.0f\" " FONT " font-size=\"11\" text-anchor=\"middle\" "
                   "fill=\"#555\">%g</text>\n",
                xx, xx, H - B, H - B + 4.0, xx, H - B + 17.0, v);
    }
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", L, W - R,
            H - B, H - B);
    fprintf(f, "<text x=\"%.0f\" y=\"%d\" " FONT " font-size=\"12\" text-anchor=\"middle\" "
               "fill=\"#333\">seconds since the agencies started</text>\n",
            L + pw / 2, H - 6);
    fprintf(f, "<text x=\"14\" y=\"%.0f\" " FONT " font-size=\"12\" text-anchor=\"middle\" "
               "fill=\"#333\" transform=\"rotate(-90 14 %.0f)\">%s</text>\n",
            T + ph / 2, T + ph / 2, yunit);
    for (size_t s = 0; s < nseries; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                series[s].color);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%.1f,%.1f ", L + x[i] / xmax * pw, T + ph - series[s].y[i] / ytop * ph);
        fprintf(f, "\"/>\n");
    }
    fprintf(f, "</svg>\n");
}

static const struct {
    const char *name;
    const char *color;
} segments[] = {
    {"allowed", "#4e79a7"}, {"allowed, answer redacted", "#f28e2b"},
    {"held for review", "#edc948"}, {"denied", "#e15759"}, {"refused (no route)", "#bab0ac"},
};

static void segment_values(const lexsim_state_decisions_t *d, double v[5])
{
    double redacted = (double)d->redacted;
    if (redacted > (double)d->allowed)
        redacted = (double)d->allowed;
    v[0] = (double)d->allowed - redacted;
    v[1] = redacted;
    v[2] = (double)d->held;
    v[3] = (double)d->denied;
    v[4] = (double)d->refused;
}

/* The share of a state's queries its rules restricted (denied, held or
 * answered redacted): the states that restrict most come first. */
static double restricted_share(const lexsim_state_decisions_t *d)
{
    double v[5];
    segment_values(d, v);
    double total = v[0] + v[1] + v[2] + v[3] + v[4];
    return total > 0 ? (v[1] + v[2] + v[3]) / total : 0;
}

static int by_restriction(const void *a, const void *b)
{
    double x = restricted_share(a), y = restricted_share(b);
    if (x != y)
        return (x < y) - (x > y);
    return strcmp(((const lexsim_state_decisions_t *)a)->state,
                  ((const lexsim_state_decisions_t *)b)->state);
}

/* Stacked horizontal bars, one per state, the most restrictive first. */
static void svg_states(FILE *f, lexsim_state_decisions_t *states, size_t n)
{
    const int L = 44, R = 70, T = 64, ROW = 17;
    int H = T + (int)n * ROW + 44;
    qsort(states, n, sizeof *states, by_restriction);
    double max = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)(states[i].allowed + states[i].held + states[i].denied +
                            states[i].refused);
        if (t > max)
            max = t;
    }
    double step = nice_step(max, 8), top = step * (int)(max / step + 1), pw = W - L - R;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"decisions by state\">\n",
            W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"20\" " FONT " font-size=\"15\" font-weight=\"600\">"
               "Queries to each state, by what its rules decided</text>\n", L);
    double lx = L;
    for (size_t s = 0; s < sizeof segments / sizeof segments[0]; s++) {
        fprintf(f, "<rect x=\"%.0f\" y=\"31\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                   "<text x=\"%.0f\" y=\"41\" " FONT " font-size=\"12\">%s</text>\n",
                lx, segments[s].color, lx + 17, segments[s].name);
        lx += 40 + 7.0 * (double)strlen(segments[s].name);
    }
    for (double v = 0; v <= top + 1e-9; v += step) {
        double x = L + v / top * pw;
        char label[32];
        fmt_num(label, sizeof label, v);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
                   "<text x=\"%.1f\" y=\"%d\" " FONT " font-size=\"11\" text-anchor=\"middle\" "
                   "fill=\"#555\">%s</text>\n",
                x, x, T - 4, H - 40, x, H - 26, label);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%d\" " FONT " font-size=\"12\" text-anchor=\"middle\" "
               "fill=\"#333\">queries (states sorted by the share their rules denied, held "
               "or redacted)</text>\n",
            L + pw / 2, H - 6);
    for (size_t i = 0; i < n; i++) {
        double y = T + (double)i * ROW, x = L, v[5], total = 0;
        segment_values(&states[i], v);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" " FONT " font-size=\"12\" text-anchor=\"end\">%s"
                   "</text>\n",
                L - 6, y + 12, states[i].state);
        for (int s = 0; s < 5; s++) {
            double w = v[s] / top * pw;
            total += v[s];
            if (w <= 0)
                continue;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                       "<title>%s: %.0f %s</title></rect>\n",
                    x, y + 2, w, ROW - 4, segments[s].color, states[i].state, v[s],
                    segments[s].name);
            x += w;
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" " FONT " font-size=\"11\" fill=\"#555\">%.0f"
                   "</text>\n",
                x + 4, y + 12, total);
    }
    fprintf(f, "</svg>\n");
}

/* ---- the page ---- */

/* A number out of a JSON object our programs wrote: "name": N */
static double json_number(const char *json, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", name);
    const char *p = json ? strstr(json, pattern) : NULL;
    return p ? atof(p + strlen(pattern)) : 0;
}

static void row(FILE *f, const char *what, const char *value)
{
    fprintf(f, "<tr><th>%s</th><td>%s</td></tr>\n", what, value);
}

int lexsim_report_html(const char *path, const lexsim_summary_t *s,
                       const lexsim_sample_t *samples, size_t nsamples,
                       const lexsim_state_decisions_t *states_in, size_t nstates)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return LEX_EIO;
    lexsim_state_decisions_t *states = calloc(nstates ? nstates : 1, sizeof *states);
    size_t npts = nsamples > 1 ? nsamples - 1 : 0;
    double *x = calloc(npts + 1, sizeof *x), *in = calloc(npts + 1, sizeof *in),
           *out = calloc(npts + 1, sizeof *out), *st = calloc(npts + 1, sizeof *st),
           *fl = calloc(npts + 1, sizeof *fl), *held = calloc(npts + 1, sizeof *held);
    int rc = LEX_ENOMEM;
    if (!states || !x || !in || !out || !st || !fl || !held)
        goto done;
    memcpy(states, states_in, nstates * sizeof *states);
    /* rates between successive samples */
    for (size_t i = 0; i < npts; i++) {
        const lexsim_sample_t *a = &samples[i], *b = &samples[i + 1];
        double dt = b->t_s - a->t_s > 0 ? b->t_s - a->t_s : 1;
        x[i] = b->t_s;
        in[i] = (double)(b->received - a->received) / dt;
        out[i] = (double)(b->forwarded - a->forwarded) / dt;
        st[i] = (double)(b->statuses - a->statuses) / dt;
        fl[i] = (double)b->in_flight;
        held[i] = (double)b->held;
    }

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<title>lexsim: %.0f s at %s queries/s</title>\n<style>\n"
               "body{font-family:system-ui,sans-serif;color:#222;max-width:1100px;"
               "margin:24px auto;padding:0 20px;line-height:1.4}\n"
               "h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:32px}\n"
               ".lead{color:#555;margin-top:0}\n"
               "table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 14px 4px 0;"
               "text-align:left;vertical-align:top}th{font-weight:600;color:#444}\n"
               ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}\n"
               ".card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:120px}\n"
               ".card b{display:block;font-size:24px}.card span{color:#555;font-size:13px}\n"
               "svg{display:block;margin:8px 0 16px}\n"
               "</style></head><body>\n",
            s->duration_s, s->rate);
    fprintf(f, "<h1>lexsim: a simulated national network</h1>\n<p class=\"lead\">%.0f seconds "
               "of traffic at %s queries a second, through a real switch, with every state's "
               "responder and the built-in rules.</p>\n",
            s->duration_s, s->rate);
    double p50 = json_number(s->latency_us, "p50"), p99 = json_number(s->latency_us, "p99");
    double deny = json_number(s->by_decision, "deny"), redact = json_number(s->by_decision,
                                                                            "redact");
    fprintf(f, "<div class=\"cards\">\n"
               "<div class=\"card\"><b>%s</b><span>queries sent (%s/s)</span></div>\n"
               "<div class=\"card\"><b>%s</b><span>answers, %s unanswered</span></div>\n"
               "<div class=\"card\"><b>%.1f ms</b><span>median round trip</span></div>\n"
               "<div class=\"card\"><b>%.1f ms</b><span>99th percentile</span></div>\n"
               "<div class=\"card\"><b>%.0f</b><span>denied by a state's rules</span></div>\n"
               "<div class=\"card\"><b>%.0f</b><span>answers redacted</span></div>\n"
               "</div>\n",
            s->queries_sent, s->query_rate, s->answers, s->unanswered, p50 / 1000, p99 / 1000,
            deny, redact);

    fprintf(f, "<h2>Traffic through the switch</h2>\n");
    if (npts >= 2) {
        series_t rates[] = {{"received", "#4e79a7", in}, {"forwarded", "#59a14f", out},
                            {"statuses", "#e15759", st}};
        svg_lines(f, "Messages a second", "messages / s", x, npts, rates, 3);
        series_t queues[] = {{"queries in flight", "#76b7b2", fl},
                             {"held for review", "#edc948", held}};
        svg_lines(f, "Queues", "queries", x, npts, queues, 2);
    } else {
        fprintf(f, "<p>The run was too short for a time series.</p>\n");
    }
    fprintf(f, "<h2>Decisions by state</h2>\n<p class=\"lead\">Each query to a state is "
               "decided by that state's rules before the state sees it; redaction applies to "
               "the answer. Queries addressed to several states are left out here.</p>\n");
    if (nstates)
        svg_states(f, states, nstates);
    else
        fprintf(f, "<p>No queries were logged.</p>\n");

    fprintf(f, "<h2>Counts</h2>\n<table>\n");
    row(f, "messages received by the switch", s->received);
    row(f, "messages routed", s->routed);
    row(f, "statuses sent", s->statuses);
    row(f, "refused messages", s->refused);
    row(f, "queries timed out", s->timeouts);
    row(f, "rule decisions", s->by_decision);
    row(f, "latency (microseconds)", s->latency_us);
    row(f, "audit log records", s->log_records);
    fprintf(f, "</table>\n</body></html>\n");
    rc = ferror(f) ? LEX_EIO : 0;
done:
    if (fclose(f) != 0 && rc == 0)
        rc = LEX_EIO;
    free(states);
    free(x);
    free(in);
    free(out);
    free(st);
    free(fl);
    free(held);
    return rc;
}
