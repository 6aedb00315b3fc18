/* logline.h: the switch's own log lines on stderr (not the audit log):
 * a level (error, warn, info, debug) and a format, plain text for people or
 * one JSON object a line for log collectors. One logger per process, set up
 * by main() from the log_format and log_level options. */
#ifndef LEX_LOGLINE_H
#define LEX_LOGLINE_H

#include <stdint.h>

typedef enum {
    LEX_LOG_ERROR = 0,
    LEX_LOG_WARN = 1,
    LEX_LOG_INFO = 2,
    LEX_LOG_DEBUG = 3,
} lex_loglevel_t;

/* json: 0 text, 1 JSON lines; lines above max_level are dropped. */
void lex_logline_setup(int json, lex_loglevel_t max_level);

/* "error" ... "debug" -> level, or -1. */
int lex_loglevel_from_name(const char *name);

void lex_logline_write(lex_loglevel_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A line that may repeat many times a second (a failing disk): at most one
 * per `every_s` seconds, the next one saying how many were left out. One
 * limiter per kind of line, zeroed before first use. */
typedef struct {
    uint64_t last_us;       /* monotonic time of the last line written; 0 = none */
    uint64_t suppressed;    /* lines left out since */
} lex_logline_limit_t;

void lex_logline_limited(lex_logline_limit_t *lim, unsigned every_s, lex_loglevel_t level,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
