/* metrics_http.c: the metrics endpoint: a small HTTP/1.x server on the
 * switch's own libuv loop (uv_tcp), bound to cfg.metrics_bind. It answers
 * GET /metrics with the text exposition (metrics.c), 404 for other paths,
 * 405 for other methods, 400 for malformed requests and 431 for oversized
 * ones, one request per connection. Connections are capped in number, size
 * and time, so a slow or hostile client cannot hold the loop or its memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "logline.h"
#include "switch_internal.h"

#define CONNS_MAX 32
#define CONN_TIMEOUT_MS 5000   /* a connection's whole life: request and answer */

typedef struct mconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct lex_metrics_http *server;
    char req[LEX_HTTP_REQ_MAX];
    size_t len;
    int answered;              /* a response is being written */
    int shut;                  /* the response is written and our side shut down */
    int eof;                   /* the client has closed its side */
    int closing;
    int open_handles;          /* freed when both handles are closed */
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    lex_buf_t resp;
    struct mconn *prev, *next;
} mconn_t;

struct lex_metrics_http {
    uv_tcp_t listener;
    lex_switch_t *sw;
    mconn_t *conns;            /* open connections, for closing them all */
    size_t nconns;
};

static void on_conn_handle_closed(uv_handle_t *h)
{
    mconn_t *c = h->data;
    if (--c->open_handles > 0)
        return;
    lex_buf_free(&c->resp);
    free(c);
}

static void conn_close(mconn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct lex_metrics_http *srv = c->server;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

/* Closing while the client's bytes are unread would reset the connection
 * and could destroy the response before the client reads it, so the
 * connection stays open, discarding input, until the client closes too (or
 * the connection's time is up). */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    mconn_t *c = req->data;
    c->shut = 1;
    if (status != 0 || c->eof)
        conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    mconn_t *c = req->data;
    if (status != 0 || c->closing ||
        uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static void respond(mconn_t *c, int code, const char *reason, const char *extra_headers,
                    const char *content_type, const char *body, size_t body_len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     code, reason, content_type, body_len, extra_headers);
    c->answered = 1;
    lex_logline_write(LEX_LOG_DEBUG, "metrics endpoint: answered %d %s", code, reason);
    lex_buf_reset(&c->resp);
    if (lex_buf_append(&c->resp, head, (size_t)n) != 0 ||
        lex_buf_append(&c->resp, body, body_len) != 0) {
        conn_close(c);
        return;
    }
    uv_buf_t buf = uv_buf_init(c->resp.data, (unsigned)c->resp.len);
    c->write_req.data = c->shutdown_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0)
        conn_close(c);
}

static void respond_text(mconn_t *c, int code, const char *reason, const char *extra)
{
    char body[128];
    int n = snprintf(body, sizeof body, "%d %s\n", code, reason);
    respond(c, code, reason, extra, "text/plain; charset=utf-8", body, (size_t)n);
}

static void serve(mconn_t *c, const lex_http_request_t *req)
{
    if (strcmp(req->path, "/metrics") != 0) {
        respond_text(c, 404, "Not Found", "");
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        respond_text(c, 405, "Method Not Allowed", "Allow: GET\r\n");
        return;
    }
    lex_buf_t body;
    lex_buf_init(&body);
    if (lex_metrics_render(c->server->sw, &body) != 0) {
        lex_buf_free(&body);
        respond_text(c, 500, "Internal Server Error", "");
        return;
    }
    respond(c, 200, "OK", "", "text/plain; version=0.0.4; charset=utf-8", body.data, body.len);
    lex_buf_free(&body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    mconn_t *c = h->data;
    static char discard[4096]; /* input after the request; the loop is single-threaded */
    if (c->answered)
        *buf = uv_buf_init(discard, sizeof discard);
    else
        *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof c->req - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    mconn_t *c = stream->data;
    if (c->closing)
        return;
    if (c->answered) {
        if (nread < 0) {
            c->eof = 1;
            uv_read_stop(stream);
            if (c->shut)
                conn_close(c);
        }
        return;
    }
    if (nread < 0) { /* EOF before a whole request, or an error */
        conn_close(c);
        return;
    }
    c->len += (size_t)nread;
    lex_http_request_t req;
    int rc = lex_http_parse(c->req, c->len, &req);
    if (rc == 1)
        serve(c, &req);
    else if (rc < 0)
        respond_text(c, 400, "Bad Request", "");
    else if (c->len == sizeof c->req)
        respond_text(c, 431, "Request Header Fields Too Large", "");
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct lex_metrics_http *srv = listener->data;
    if (status != 0)
        return;
    mconn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->server = srv;
    lex_buf_init(&c->resp);
    uv_tcp_init(listener->loop, &c->tcp);
    uv_timer_init(listener->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 || srv->nconns > CONNS_MAX) {
        conn_close(c); /* over the cap: accepted only to be closed at once */
        return;
    }
    uv_timer_start(&c->timer, on_timeout, CONN_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* "HOST:PORT" with an IPv4 literal, or "[V6]:PORT". */
static int parse_bind(const char *bind, struct sockaddr_storage *addr)
{
    char host[64];
    const char *colon = strrchr(bind, ':');
    if (!colon || colon == bind)
        return LEX_EINVAL;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == 0 || *end || port < 0 || port > 65535)
        return LEX_EINVAL;
    size_t hlen = (size_t)(colon - bind);
    if (bind[0] == '[') {
        if (hlen < 3 || bind[hlen - 1] != ']' || hlen - 2 >= sizeof host)
            return LEX_EINVAL;
        memcpy(host, bind + 1, hlen - 2);
        host[hlen - 2] = 0;
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr) == 0 ? 0 : LEX_EINVAL;
    }
    if (hlen >= sizeof host)
        return LEX_EINVAL;
    memcpy(host, bind, hlen);
    host[hlen] = 0;
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr) == 0 ? 0 : LEX_EINVAL;
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

int lex_metrics_http_start(lex_switch_t *sw, char *err, size_t errlen)
{
    const char *bind = sw->cfg.metrics_bind;
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    if (parse_bind(bind, &addr) != 0) {
        snprintf(err, errlen, "metrics_bind '%s': expected IPV4:PORT or [IPV6]:PORT", bind);
        return LEX_EINVAL;
    }
    struct lex_metrics_http *srv = calloc(1, sizeof *srv);
    if (!srv)
        return LEX_ENOMEM;
    srv->sw = sw;
    uv_tcp_init(&sw->loop, &srv->listener);
    srv->listener.data = srv;
    sw->metrics_http = srv; /* from here on lex_metrics_http_close frees it */
    int rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 64, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot serve metrics on %s: %s", bind, uv_strerror(rc));
        return LEX_EUV;
    }
    struct sockaddr_storage bound;
    int namelen = sizeof bound;
    char ip[64] = "";
    int port = 0;
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &namelen);
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        snprintf(sw->metrics_url, sizeof sw->metrics_url, "http://[%s]:%d/metrics", ip, port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        snprintf(sw->metrics_url, sizeof sw->metrics_url, "http://%s:%d/metrics", ip, port);
    }
    return 0;
}

void lex_metrics_http_close(lex_switch_t *sw)
{
    struct lex_metrics_http *srv = sw->metrics_http;
    if (!srv)
        return;
    sw->metrics_http = NULL;
    while (srv->conns)
        conn_close(srv->conns);
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
