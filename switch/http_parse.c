/* http_parse.c: a strict parser for the head of an HTTP/1.x request, for
 * the metrics endpoint. It accepts only what a scraper or curl sends (CRLF
 * line ends, a token method, an origin-form target, HTTP/1.0 or 1.1, header
 * lines "name: value", no body) and calls everything else malformed, so the
 * server never has to guess. It never reads past len. */
#include <string.h>
#include <strings.h>
#include "lex_error.h"
#include "metrics.h"

#define HEADERS_MAX 64

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Finds the next CRLF from p; NULL when none is in [p, end). A bare CR or
 * LF, or a NUL, makes the line malformed (*bad = 1). */
static const char *line_end(const char *p, const char *end, int *bad)
{
    for (const char *q = p; q < end; q++) {
        if (*q == '\r') {
            if (q + 1 == end)
                return NULL;
            if (q[1] != '\n') {
                *bad = 1;
                return NULL;
            }
            return q;
        }
        if (*q == '\n' || *q == '\0') {
            *bad = 1;
            return NULL;
        }
    }
    return NULL;
}

static int parse_request_line(const char *p, const char *eol, lex_http_request_t *req)
{
    size_t n = 0;
    while (p < eol && *p >= 'A' && *p <= 'Z' && n < sizeof req->method - 1)
        req->method[n++] = *p++;
    req->method[n] = 0;
    if (n == 0 || p == eol || *p++ != ' ')
        return LEX_EPARSE;
    if (p == eol || *p != '/')
        return LEX_EPARSE;
    const char *target = p;
    while (p < eol && *p > 0x20 && *p < 0x7f)
        p++;
    size_t tlen = (size_t)(p - target);
    if (tlen > LEX_HTTP_TARGET_MAX || p == eol || *p++ != ' ')
        return LEX_EPARSE;
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    memcpy(req->path, target, plen);
    req->path[plen] = 0;
    if (eol - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1'))
        return LEX_EPARSE;
    req->minor = p[7] - '0';
    return 0;
}

/* One "name: value" line; sets *host when it is Host. */
static int parse_header(const char *p, const char *eol, int *host)
{
    const char *name = p;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    size_t nlen = (size_t)(p - name);
    if (nlen == 0 || p == eol || *p++ != ':')
        return LEX_EPARSE;
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    const char *value = p;
    for (; p < eol; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return LEX_EPARSE;
        else if (*p == 0x7f)
            return LEX_EPARSE;
    size_t vlen = (size_t)(eol - value);
    while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
    if (nlen == 4 && strncasecmp(name, "host", 4) == 0) {
        if (*host)
            return LEX_EPARSE; /* two Host headers */
        *host = 1;
    }
    /* no request bodies: a GET with one is not something a scraper sends */
    if (nlen == 17 && strncasecmp(name, "transfer-encoding", 17) == 0)
        return LEX_EPARSE;
    if (nlen == 14 && strncasecmp(name, "content-length", 14) == 0 &&
        !(vlen == 1 && value[0] == '0'))
        return LEX_EPARSE;
    return 0;
}

int lex_http_parse(const char *buf, size_t len, lex_http_request_t *req)
{
    memset(req, 0, sizeof *req);
    const char *p = buf, *end = buf + len;
    int bad = 0, host = 0, headers = 0;
    const char *eol = line_end(p, end, &bad);
    if (bad)
        return LEX_EPARSE;
    if (!eol) {
        /* an incomplete first line can already be wrong */
        for (const char *q = p; q < end && *q != ' '; q++)
            if (*q < 'A' || *q > 'Z')
                return *q == '\r' ? 0 : LEX_EPARSE;
        return len > LEX_HTTP_TARGET_MAX + 64 ? LEX_EPARSE : 0;
    }
    if (parse_request_line(p, eol, req) != 0)
        return LEX_EPARSE;
    p = eol + 2;
    for (;;) {
        eol = line_end(p, end, &bad);
        if (bad)
            return LEX_EPARSE;
        if (!eol)
            return 0;
        if (eol == p) /* the empty line: end of the head */
            break;
        if (*p == ' ' || *p == '\t') /* obsolete line folding */
            return LEX_EPARSE;
        if (++headers > HEADERS_MAX || parse_header(p, eol, &host) != 0)
            return LEX_EPARSE;
        p = eol + 2;
    }
    if (eol + 2 != end) /* bytes after the head: a body or a pipelined request */
        return LEX_EPARSE;
    if (req->minor == 1 && !host)
        return LEX_EPARSE;
    return 1;
}
