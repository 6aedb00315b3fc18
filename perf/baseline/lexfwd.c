/* lexfwd.c: the bare forwarder, the baseline the switch is measured
 * against. A ZeroMQ ROUTER that moves frames and does nothing else: a
 * requester's [rid, envelope, body] goes to the responder (the DEALER with
 * routing id "lexecho") as [responder, rid, envelope, body], and the
 * responder's [responder, rid, envelope, body] goes back as [rid, envelope,
 * body]. No decoding, no rules, no log: frames are passed on, not copied. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ECHO_ID "lexecho"
#define FRAMES_MAX 8

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int write_ready(const char *path, const char *endpoint)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", endpoint);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bind", required_argument, 0, 'b'}, {"ready-file", required_argument, 0, 1},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *endpoint = "tcp://127.0.0.1:7401", *ready = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': endpoint = optarg; break;
        case 1: ready = optarg; break;
        case 'h':
            printf("usage: lexfwd [--bind EP] [--ready-file FILE]\n"
                   "The ready file gets the bound endpoint (EP may be tcp://127.0.0.1:*).\n"
                   "Bare ROUTER forwarder between lexload --bare and lexecho --bare.\n");
            return 0;
        default: return 2;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = zmq_ctx_new();
    void *router = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    int one = 1, hwm = 500000, linger = 0, timeout = 200;
    if (!router) {
        fprintf(stderr, "lexfwd: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    /* the same socket options as the switch's ROUTER */
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind(router, endpoint) != 0) {
        fprintf(stderr, "lexfwd: cannot bind %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        return 1;
    }
    char bound[256];
    size_t bound_len = sizeof bound;
    if (zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, bound, &bound_len) != 0)
        snprintf(bound, sizeof bound, "%s", endpoint);
    if (ready && write_ready(ready, bound) != 0)
        fprintf(stderr, "lexfwd: cannot write %s\n", ready);
    unsigned long long forwarded = 0, dropped = 0;
    zmq_msg_t echo_id;
    zmq_msg_init_size(&echo_id, strlen(ECHO_ID));
    memcpy(zmq_msg_data(&echo_id), ECHO_ID, strlen(ECHO_ID));
    while (!stop_flag) {
        zmq_msg_t f[FRAMES_MAX];
        int n = 0, more = 1;
        while (more && n < FRAMES_MAX) {
            zmq_msg_init(&f[n]);
            if (zmq_msg_recv(&f[n], router, 0) < 0) {
                zmq_msg_close(&f[n]);
                break;
            }
            more = zmq_msg_more(&f[n]);
            n++;
        }
        if (n == 0)
            continue; /* timed out: look at stop_flag */
        int from_echo = zmq_msg_size(&f[0]) == strlen(ECHO_ID) &&
                        memcmp(zmq_msg_data(&f[0]), ECHO_ID, strlen(ECHO_ID)) == 0;
        int first = 0, rc = 0;
        if (from_echo && n == 4) {
            first = 1; /* drop the responder's id; the next frame addresses */
        } else if (!from_echo && n == 3) {
            zmq_msg_t to;
            zmq_msg_init(&to);
            zmq_msg_copy(&to, &echo_id);
            rc = zmq_msg_send(&to, router, ZMQ_SNDMORE);
            if (rc < 0)
                zmq_msg_close(&to);
        } else {
            first = n; /* READY, or a malformed message: nothing to forward */
        }
        for (int i = first; i < n && rc >= 0; i++)
            rc = zmq_msg_send(&f[i], router, i + 1 < n ? ZMQ_SNDMORE : 0);
        if (rc < 0)
            dropped++;
        else if (first < n)
            forwarded++;
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]); /* no-op for frames already sent */
    }
    fprintf(stderr, "lexfwd: forwarded %llu messages, dropped %llu\n", forwarded, dropped);
    zmq_msg_close(&echo_id);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}
