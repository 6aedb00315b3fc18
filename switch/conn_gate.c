/* conn_gate.c: the gate in front of libzmq's accept. libzmq 4.3 accepts on
 * its I/O thread as fast as connections arrive and cannot be told to stop:
 * at the descriptor limit its TCP listener retries accept() at full speed
 * and its ipc listener aborts the process. So the switch defines accept4()
 * and accept() itself (the dynamic linker binds libzmq's calls to these):
 * past the connection cap, or out of descriptors, a connection is taken
 * off the queue and closed at once, and libzmq is told EAGAIN. Calls from
 * the loop's own thread (libuv's metrics listener) pass straight through. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "conn_gate.h"

static atomic_int gate_on;
static pthread_t loop_thread;
static atomic_long gate_cap;       /* connections allowed at once */
static atomic_long gate_live;      /* admitted and not yet seen closed */
static atomic_ulong gate_admitted; /* admitted since start */
static atomic_ulong gate_refused_cap, gate_refused_fd;
static atomic_int gate_spare = -1; /* a descriptor held back to drain the queue at EMFILE */

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void lex_gate_start(long cap)
{
    loop_thread = pthread_self();
    atomic_store(&gate_cap, cap);
    int old = atomic_exchange(&gate_spare, open_spare());
    if (old >= 0)
        close(old);
    atomic_store(&gate_on, 1);
}

void lex_gate_stop(void)
{
    atomic_store(&gate_on, 0);
    int old = atomic_exchange(&gate_spare, -1);
    if (old >= 0)
        close(old);
}

void lex_gate_closed(long n)
{
    atomic_fetch_sub(&gate_live, n);
}

void lex_gate_counts(lex_gate_counts_t *c)
{
    c->live = atomic_load(&gate_live);
    c->cap = atomic_load(&gate_cap);
    c->admitted = atomic_load(&gate_admitted);
    c->refused_cap = atomic_load(&gate_refused_cap);
    c->refused_fd = atomic_load(&gate_refused_fd);
}

/* Out of descriptors: give the spare back, take one connection off the
 * queue and close it, so the listener's descriptor stops being readable
 * instead of waking libzmq again and again. */
static void drain_one(int listen_fd)
{
    int spare = atomic_exchange(&gate_spare, -1);
    if (spare < 0) {
        /* nothing to free (someone else holds every descriptor): slow the
         * retries down rather than let the I/O thread spin */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        atomic_store(&gate_spare, open_spare());
        return;
    }
    close(spare);
    int c = (int)syscall(SYS_accept4, listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0)
        close(c);
    atomic_store(&gate_spare, open_spare());
}

static int gated(int fd, int c)
{
    if (c < 0) {
        if (errno == EMFILE || errno == ENFILE) {
            atomic_fetch_add(&gate_refused_fd, 1);
            drain_one(fd);
            errno = EAGAIN;
        }
        return -1;
    }
    if (atomic_fetch_add(&gate_live, 1) >= atomic_load(&gate_cap)) {
        atomic_fetch_sub(&gate_live, 1);
        atomic_fetch_add(&gate_refused_cap, 1);
        close(c);
        errno = EAGAIN;
        return -1;
    }
    atomic_fetch_add(&gate_admitted, 1);
    return c;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int c = (int)syscall(SYS_accept4, fd, addr, len, flags);
    if (!atomic_load(&gate_on) || pthread_equal(pthread_self(), loop_thread))
        return c;
    return gated(fd, c);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return accept4(fd, addr, len, 0);
}
