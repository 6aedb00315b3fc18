/* lexctl_report_html.c: the transparency report as one self-contained HTML
 * page: summary cards, a stacked bar per month by outcome, stacked bars by
 * requesting agency and by key, and the tables behind them. Charts are
 * inline SVG written here; no script, no font or style from the network. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lex_error.h"
#include "lexctl_report.h"

#define W 1000
#define FONT "font-family=\"system-ui,sans-serif\""

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* 1234567 -> "1,234,567" */
static void grouped(char *out, size_t size, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

static double nice_step(double max, int ticks)
{
    if (max <= 0)
        return 1;
    double raw = max / ticks, mag = pow(10, floor(log10(raw))), r = raw / mag;
    double step = r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10;
    return step * mag < 1 ? 1 : step * mag;
}

static void axis_label(char *out, size_t size, double v)
{
    if (v >= 1e6)
        snprintf(out, size, "%gM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, size, "%gk", v / 1e3);
    else
        snprintf(out, size, "%.0f", v);
}

static void legend(FILE *f, double x, double y)
{
    for (int i = 0; i < REPORT_OUTCOMES; i++) {
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                   "<text x=\"%.0f\" y=\"%.0f\" " FONT " font-size=\"12\">%s</text>\n",
                x, y, report_outcome_colors[i], x + 17, y + 10, report_outcome_names[i]);
        x += 34 + 7.0 * (double)strlen(report_outcome_names[i]);
    }
}

static void bar_title(FILE *f, const char *label, const report_line_t *l, int outcome)
{
    char n[32];
    grouped(n, sizeof n, l->n[outcome]);
    fprintf(f, "<title>");
    html_text(f, label);
    fprintf(f, ": %s %s (%.1f%%)</title>", n, report_outcome_names[outcome],
            l->total ? 100.0 * (double)l->n[outcome] / (double)l->total : 0.0);
}

/* One stacked column per month, bottom to top in outcome order. */
static void svg_months(FILE *f, const report_view_t *v)
{
    const int L = 64, R = 16, T = 56, B = 58, H = 360;
    double max = 0, pw = W - L - R, ph = H - T - B;
    for (size_t i = 0; i < v->count; i++)
        if ((double)v->lines[i].total > max)
            max = (double)v->lines[i].total;
    double step = nice_step(max, 6), top = step * ceil(max / step);
    if (top <= 0)
        top = step;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"queries by month\">\n",
            W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"20\" " FONT " font-size=\"15\" font-weight=\"600\">"
               "Queries received each month, by outcome</text>\n", L);
    legend(f, L, 31);
    for (double y = 0; y <= top + 1e-9; y += step) {
        double py = T + ph - y / top * ph;
        char label[32];
        axis_label(label, sizeof label, y);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                   "<text x=\"%d\" y=\"%.1f\" " FONT " font-size=\"11\" text-anchor=\"end\" "
                   "fill=\"#555\">%s</text>\n",
                L, W - R, py, py, L - 6, py + 4, label);
    }
    double slot = v->count ? pw / (double)v->count : pw, bw = slot * 0.72;
    size_t every = v->count > 24 ? (v->count + 23) / 24 : 1; /* at most 24 labels */
    for (size_t i = 0; i < v->count; i++) {
        const report_line_t *l = &v->lines[i];
        double x = L + slot * (double)i + (slot - bw) / 2, y = T + ph;
        for (int o = 0; o < REPORT_OUTCOMES; o++) {
            double h = (double)l->n[o] / top * ph;
            if (h <= 0)
                continue;
            y -= h;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">",
                    x, y, bw, h, report_outcome_colors[o]);
            bar_title(f, l->label, l, o);
            fprintf(f, "</rect>\n");
        }
        if (i % every == 0)
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" " FONT " font-size=\"11\" fill=\"#333\" "
                       "text-anchor=\"end\" transform=\"rotate(-40 %.1f %.1f)\">%s</text>\n",
                    x + bw / 2, T + ph + 14, x + bw / 2, T + ph + 14, l->label);
    }
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", L, W - R,
            T + ph, T + ph);
    fprintf(f, "</svg>\n");
}

/* One stacked horizontal bar per line (at most max_rows), with its total. */
static void svg_rows(FILE *f, const char *title, const char *what, const report_view_t *v,
                     size_t max_rows)
{
    size_t n = v->count < max_rows ? v->count : max_rows;
    const int L = 190, R = 80, T = 56, ROW = 24;
    int H = T + (int)n * ROW + 40;
    double max = 0, pw = W - L - R;
    for (size_t i = 0; i < n; i++)
        if ((double)v->lines[i].total > max)
            max = (double)v->lines[i].total;
    double step = nice_step(max, 6), top = step * ceil(max / step);
    if (top <= 0)
        top = step;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n",
            W, H, W, H, what);
    fprintf(f, "<text x=\"10\" y=\"20\" " FONT " font-size=\"15\" font-weight=\"600\">%s</text>\n",
            title);
    legend(f, 10, 31);
    for (double x = 0; x <= top + 1e-9; x += step) {
        double px = L + x / top * pw;
        char label[32];
        axis_label(label, sizeof label, x);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
                   "<text x=\"%.1f\" y=\"%d\" " FONT " font-size=\"11\" text-anchor=\"middle\" "
                   "fill=\"#555\">%s</text>\n",
                px, px, T - 4, H - 34, px, H - 20, label);
    }
    for (size_t i = 0; i < n; i++) {
        const report_line_t *l = &v->lines[i];
        double y = T + (double)i * ROW, x = L;
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" " FONT " font-size=\"12\" text-anchor=\"end\">",
                L - 8, y + 15);
        html_text(f, l->label);
        fprintf(f, "</text>\n");
        for (int o = 0; o < REPORT_OUTCOMES; o++) {
            double w = (double)l->n[o] / top * pw;
            if (w <= 0)
                continue;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">", x,
                    y + 3, w, ROW - 6, report_outcome_colors[o]);
            bar_title(f, l->label, l, o);
            fprintf(f, "</rect>\n");
            x += w;
        }
        char total[32];
        grouped(total, sizeof total, l->total);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" " FONT " font-size=\"11\" fill=\"#444\">%s"
                   "</text>\n", x + 5, y + 15, total);
    }
    if (v->count > n)
        fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " font-size=\"11\" fill=\"#777\">%zu more in "
                   "the table below</text>\n", L, H - 4, v->count - n);
    fprintf(f, "</svg>\n");
}

static void table(FILE *f, const char *first, const report_view_t *v, const report_line_t *all)
{
    fprintf(f, "<table>\n<tr><th>%s</th><th class=\"n\">queries</th>", first);
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        fprintf(f, "<th class=\"n\">%s</th>", report_outcome_names[i]);
    fprintf(f, "</tr>\n");
    for (size_t i = 0; i <= v->count; i++) {
        const report_line_t *l = i < v->count ? &v->lines[i] : all;
        char n[32];
        grouped(n, sizeof n, l->total);
        fprintf(f, "<tr%s><td>", i < v->count ? "" : " class=\"sum\"");
        html_text(f, i < v->count ? l->label : "all");
        fprintf(f, "</td><td class=\"n\">%s</td>", n);
        for (int o = 0; o < REPORT_OUTCOMES; o++) {
            grouped(n, sizeof n, l->n[o]);
            fprintf(f, "<td class=\"n\">%s <small>%.1f%%</small></td>", n,
                    l->total ? 100.0 * (double)l->n[o] / (double)l->total : 0.0);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* Text into HTML: user names and filters are anyone's text. */
static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void looked(FILE *f, const report_t *r)
{
    fprintf(f, "<h2>Who looked at this state's records</h2>\n<p class=\"lead\">Reads of the "
               "audit log and operator requests limited to %s, and national ones, each an "
               "access record in the log.</p>\n", r->state);
    if (!r->nlooked) {
        fprintf(f, "<p>No one.</p>\n");
        return;
    }
    fprintf(f, "<table>\n<tr><th>when (UTC)</th><th>who</th><th>how</th><th>command</th>"
               "<th>scope</th><th>filter</th><th class=\"n\">record</th></tr>\n");
    for (size_t i = 0; i < r->nlooked; i++) {
        const report_access_t *l = &r->looked[i];
        const char *cells[] = {l->when, l->who, l->how, l->cmd, l->scope, l->filter};
        fprintf(f, "<tr>");
        for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
            fprintf(f, "<td>");
            esc(f, cells[c]);
            fprintf(f, "</td>");
        }
        if (l->seq)
            fprintf(f, "<td class=\"n\">%llu</td></tr>\n", (unsigned long long)l->seq);
        else
            fprintf(f, "<td class=\"n\">journal</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

int lexctl_report_html(FILE *f, const report_t *r)
{
    const char *first = r->months.count ? r->months.lines[0].label : "-";
    const char *last = r->months.count ? r->months.lines[r->months.count - 1].label : "-";
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<title>Transparency report %s, %s to %s</title>\n<style>\n"
               "body{font-family:system-ui,sans-serif;color:#222;max-width:1040px;"
               "margin:24px auto;padding:0 20px;line-height:1.45}\n"
               "h1{font-size:26px;margin-bottom:4px}h2{font-size:19px;margin-top:34px}\n"
               ".lead{color:#555;margin-top:0}\n"
               ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:18px 0}\n"
               ".card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;flex:1 1 0;min-width:110px;"
               "border-top-width:5px}\n"
               ".card b{display:block;font-size:26px}.card span{color:#555;font-size:13px}\n"
               "table{border-collapse:collapse;margin:8px 0 20px;font-size:14px}\n"
               "th,td{padding:5px 14px 5px 0;text-align:left;border-bottom:1px solid #eee}\n"
               "th{font-weight:600;color:#444}.n{text-align:right}\n"
               "td small{color:#888}tr.sum td{font-weight:600;border-top:2px solid #ccc}\n"
               "svg{display:block;margin:8px 0 16px;max-width:100%%;height:auto}\n"
               "dl{font-size:14px}dt{font-weight:600;float:left;width:90px}dd{margin:0 0 6px 100px}"
               "\n.foot{color:#666;font-size:13px;margin-top:30px}\n"
               "</style></head><body>\n",
            r->state, first, last);
    fprintf(f, "<h1>Transparency report: %s</h1>\n<p class=\"lead\">Queries for %s records "
               "received through the switch from %s to %s (months in UTC), and what became "
               "of them.</p>\n", r->state, r->state, first, last);

    char n[32];
    grouped(n, sizeof n, r->all.total);
    fprintf(f, "<div class=\"cards\">\n<div class=\"card\" style=\"border-top-color:#333\">"
               "<b>%s</b><span>queries received</span></div>\n", n);
    for (int o = 0; o < REPORT_OUTCOMES; o++) {
        grouped(n, sizeof n, r->all.n[o]);
        fprintf(f, "<div class=\"card\" style=\"border-top-color:%s\"><b>%s</b><span>%s "
                   "(%.1f%%)</span></div>\n", report_outcome_colors[o], n,
                report_outcome_names[o],
                r->all.total ? 100.0 * (double)r->all.n[o] / (double)r->all.total : 0.0);
    }
    fprintf(f, "</div>\n");

    if (r->all.total == 0)
        fprintf(f, "<p>The switch logged no queries to %s in these months.</p>\n", r->state);
    fprintf(f, "<h2>By month</h2>\n");
    svg_months(f, &r->months);
    fprintf(f, "<h2>By requesting agency</h2>\n<p class=\"lead\">Level and family of the "
               "agency that asked, from the switch's agency directory.</p>\n");
    svg_rows(f, "Queries by requesting agency, by outcome", "queries by agency", &r->agencies, 20);
    fprintf(f, "<h2>By message key</h2>\n");
    svg_rows(f, "Queries by message key, by outcome", "queries by key", &r->keys, 12);

    fprintf(f, "<h2>Tables</h2>\n");
    table(f, "requesting agency", &r->agencies, &r->all);
    table(f, "key", &r->keys, &r->all);
    table(f, "month", &r->months, &r->all);

    looked(f, r);

    fprintf(f, "<h2>What the outcomes mean</h2>\n<dl>\n"
               "<dt>allowed</dt><dd>forwarded to the state, answered in full</dd>\n"
               "<dt>redacted</dt><dd>forwarded; the state's rules remove fields from the "
               "answer</dd>\n"
               "<dt>denied</dt><dd>refused by the state's rules before the state saw it</dd>\n"
               "<dt>held</dt><dd>held for review by the state's operators (counted when "
               "held, whatever they decide later)</dd>\n"
               "<dt>refused</dt><dd>the switch could not deliver it: no node of the state "
               "connected, the node busy, the sender over its rate, the switch shutting "
               "down</dd>\n</dl>\n");
    fprintf(f, "<p class=\"foot\">Made %s by <code>lexctl report</code> from the running counts "
               "the switch keeps in its audit log, written in the same batch as the records "
               "they count. A query addressed to several states counts once for each. ",
            r->generated);
    if (r->log_base)
        fprintf(f, "Records up to %llu have been removed by retention; their counts remain "
                   "here. ", (unsigned long long)r->log_base);
    fprintf(f, "</p>\n</body></html>\n");
    return ferror(f) ? LEX_EIO : 0;
}
