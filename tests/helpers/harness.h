/* harness.h: what the integration tests share: temporary directories,
 * starting and stopping a real lexswitch and lexnode on a loopback/ipc
 * endpoint of their own, and registering test nodes. Every wait polls with
 * a deadline; nothing sleeps for a fixed time to let something happen. */
#ifndef LEX_TEST_HARNESS_H
#define LEX_TEST_HARNESS_H

#include <sys/types.h>
#include "lex_node.h"

#define LEX_TEST_PATH 256

typedef struct {
    pid_t pid;
    char dir[128];                  /* temp dir holding everything below */
    char endpoint[LEX_TEST_PATH];   /* ipc://dir/switch.sock */
    char data[LEX_TEST_PATH];       /* audit log */
    char rules[LEX_TEST_PATH];      /* rules dir (files written by the test) */
    char directory[LEX_TEST_PATH];  /* agency directory file */
    pid_t states_pid;               /* lexnode state, or 0 */
    int curve;                      /* 1: CURVE with keys below; 0: dev_plain */
    char switch_key[LEX_TEST_PATH]; /* dir/switch.key (the switch's pair) */
    char switch_pub[LEX_TEST_PATH]; /* dir/switch.pub (what nodes are given) */
    char states_key[LEX_TEST_PATH]; /* dir/states.key: responder for every state's DMV */
} lex_test_switch_t;

/* Creates a fresh temp dir (mkdtemp) into out. */
void lex_test_tmpdir(char out[128]);
void lex_test_rmrf(const char *path);

/* Prepares dir, agency directory (the simulation's, 2 locals per state)
 * and an empty rules dir. Call lex_test_write_rules, then start. */
void lex_test_switch_prepare(lex_test_switch_t *t);
void lex_test_write_rules(lex_test_switch_t *t, const char *state, const char *text);

/* Turns CURVE on for this switch (call after prepare, before start): makes
 * the switch's key and a key for `lexnode state`, bound in the directory.
 * Without it the switch runs with dev_plain. */
void lex_test_switch_use_curve(lex_test_switch_t *t);

/* Makes dir/<name>.key and binds it in the directory with role "agency",
 * "responder", "operator" or "switch" to scope (the @key line's scope
 * field, e.g. "NVDMV0000 states=NV", or "NV*|broad" with the marker);
 * scope NULL leaves the key unbound. path gets the key file. */
void lex_test_make_key(lex_test_switch_t *t, const char *name, const char *role,
                       const char *patterns, char path[LEX_TEST_PATH]);

/* A node for one ORI connecting with key_file (NULL = no CURVE); does not
 * wait for WELCOME. */
lex_node_t *lex_test_node_with_key(const lex_test_switch_t *t, const char *ori,
                                   const char *key_file);

/* Starts lexswitch with extra flags (NULL-terminated list, may be NULL);
 * returns once it serves. Fails the test if it does not. */
void lex_test_switch_start(lex_test_switch_t *t, const char *const *extra);

/* The same without waiting: removes dir/switch.ready, starts lexswitch
 * (stderr to dir/switch.log) and returns its pid, also in t->pid. */
pid_t lex_test_switch_spawn(lex_test_switch_t *t, const char *const *extra);

/* Starts `lexnode state` for the listed states ("NV,IL") with the given
 * population size and waits until they are registered. */
void lex_test_states_start(lex_test_switch_t *t, const char *states, unsigned drivers);

/* SIGTERM to everything, waits; returns the switch's exit status. */
int lex_test_switch_stop(lex_test_switch_t *t);

/* 1 when a line of the switch's stderr (dir/switch.log) holds text. */
int lex_test_log_has(const lex_test_switch_t *t, const char *text);

/* Stops the switch, then reads its whole audit log as text with the real
 * tool (`lexctl tail`) into out (cut at outlen); returns out. */
const char *lex_test_audit_text(lex_test_switch_t *t, char *out, size_t outlen);

/* Stops and removes the temp dir. */
void lex_test_switch_cleanup(lex_test_switch_t *t);

/* A registered node speaking for one ORI (fails the test if it is not). */
lex_node_t *lex_test_node(const lex_test_switch_t *t, const char *ori);

/* Sends key to dst (comma list), purpose C, with body words "f=v"
 * (NULL-terminated) without waiting; *id (may be NULL) gets its id. Fails
 * the test if the words make no body; returns lex_node_send's code. */
int lex_test_send(lex_node_t *n, const char *key, const char *dst, const char *const *words,
                  uint64_t *id);

/* Sends key to dst (comma list) with body words "f=v" and waits for the
 * first answer to it into *m. Returns 0 or LEX_ETIMEOUT. */
int lex_test_ask(lex_node_t *n, const char *key, const char *dst, const char *const *words,
                 lex_message_t *m);

/* Next message answering ref (skips others); 0 or LEX_ETIMEOUT. */
int lex_test_recv_answer(lex_node_t *n, uint64_t ref, lex_message_t *m, int timeout_ms);

/* Status code of an ST message, or -1. */
int lex_test_status_code(const lex_message_t *m);

/* Runs a shell command, captures its stdout (NUL-terminated, cut at
 * outlen) and returns its exit code. */
int lex_test_run(const char *cmd, char *out, size_t outlen);

/* Starts LEX_BIN_DIR/name with args (args[0] is filled in, the list ends
 * with NULL), stderr appended to log. */
pid_t lex_test_spawn(const char *name, char **args, const char *log);

/* Waits (20 s deadline) until path exists; fails the test if pid exits first. */
void lex_test_wait_file(const char *path, pid_t pid, const char *what);

/* SIGTERM, then waits (SIGKILL after 20 s); returns the exit status. */
int lex_test_stop_pid(pid_t pid);

/* First ORI in the simulation directory with this family and home state. */
const char *lex_test_ori_of(const lex_test_switch_t *t, const char *family, const char *home);

/* The port of the switch's metrics endpoint, from its ready file (started
 * with --metrics-bind 127.0.0.1:0); fails the test if it names none. */
int lex_test_metrics_port(const lex_test_switch_t *t);

/* One HTTP exchange (request sent as is) with 127.0.0.1:port over a real
 * TCP socket; the response, NUL-terminated, into out. Returns the status
 * code, or 0 when the server closed without answering. */
int lex_test_http(int port, const char *request, char *out, size_t outlen);

/* The switch's /metrics text (started with --metrics-bind 127.0.0.1:0)
 * into out; fails the test if it cannot be read. */
void lex_test_metrics(const lex_test_switch_t *t, char *out, size_t outlen);

/* Value of the metrics sample line that starts with name (labels
 * included), or -1. */
double lex_test_metric(const char *text, const char *name);

#endif
