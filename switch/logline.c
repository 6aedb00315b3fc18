/* logline.c: writes the switch's log lines to stderr, as text
 * ("lexswitch: warn: ...") or as JSON lines ({"ts", "level", "msg"}), and
 * drops those above the configured level. Each line is written with one
 * call, so lines from a crash or a signal are never interleaved. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "logline.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static int log_json;
static lex_loglevel_t log_max = LEX_LOG_INFO;

void lex_logline_setup(int json, lex_loglevel_t max_level)
{
    log_json = json;
    log_max = max_level;
}

int lex_loglevel_from_name(const char *name)
{
    for (int i = 0; i <= LEX_LOG_DEBUG; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void write_line(lex_loglevel_t level, const char *msg);

void lex_logline_write(lex_loglevel_t level, const char *fmt, ...)
{
    if (level > log_max)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    write_line(level, msg);
}

void lex_logline_limited(lex_logline_limit_t *lim, unsigned every_s, lex_loglevel_t level,
                         const char *fmt, ...)
{
    if (level > log_max)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u + 1;
    if (lim->last_us && now - lim->last_us < (uint64_t)every_s * 1000000u) {
        lim->suppressed++;
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lim->suppressed && n >= 0 && (size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n, " (and %llu more like it in the last %u s)",
                 (unsigned long long)lim->suppressed, every_s);
    lim->last_us = now;
    lim->suppressed = 0;
    write_line(level, msg);
}

static void write_line(lex_loglevel_t level, const char *msg)
{
    char line[2600];
    size_t n;
    if (!log_json) {
        n = (size_t)snprintf(line, sizeof line, "lexswitch: %s: %s\n", level_names[level], msg);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        n = (size_t)snprintf(line, sizeof line, "{\"ts\": \"%s.%03ldZ\", \"level\": \"%s\", "
                                                "\"msg\": \"", when, ts.tv_nsec / 1000000,
                             level_names[level]);
        for (const unsigned char *p = (const unsigned char *)msg; *p && n < sizeof line - 16; p++) {
            if (*p == '"' || *p == '\\')
                n += (size_t)snprintf(line + n, sizeof line - n, "\\%c", *p);
            else if (*p < 0x20)
                n += (size_t)snprintf(line + n, sizeof line - n, "\\u%04x", *p);
            else
                line[n++] = (char)*p;
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
    }
    if (n >= sizeof line)
        n = sizeof line - 1;
    fwrite(line, 1, n, stderr);
}
