/* test_sessions.c: who holds an ORI, through a real switch. One live
 * session per ORI: a second claim from another connection gets ori-in-use
 * and the first keeps working, a crashed holder's ORI is taken over within
 * seconds (and the takeover is in the audit log), operator connections
 * never displace one another. And the directory reloaded live: revoked
 * keys cut off, bad files refused with file:line, new keys admitted,
 * narrowed bindings and key rotation. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "lex_error.h"
#include "lex_keys.h"
#include "lex_population.h"
#include "lex_query_text.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static pid_t child;
/* Tests leave nodes idle (no heartbeats) while they wait for others: no
 * session may be dropped for silence meanwhile, so only the rules under
 * test end sessions. */
static const char *const patient[] = {"--dead-after-ms", "60000", NULL};
static char out[1 << 20];

static void teardown(void)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = 0;
    }
    lex_test_switch_cleanup(&sw);
}

TestSuite(sessions, .fini = teardown, .timeout = 120);

static void lic_word(char *word, size_t len)
{
    lex_population_t *pop = NULL;
    lex_driver_t d;
    cr_assert_eq(lex_population_new("NV", 1000, 1000, &pop), 0);
    lex_population_driver(pop, 3, &d);
    snprintf(word, len, "lic=%s", d.lic);
    lex_population_destroy(&pop);
}

/* A DQ to NV answered with DR: the node is registered and served. */
static void assert_served(lex_node_t *n, const char *who)
{
    char lic[64];
    lic_word(lic, sizeof lic);
    const char *words[] = {lic, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0, "%s: no answer", who);
    cr_assert_str_eq(m.env.key, "DR", "%s: got %s (status %d)", who, m.env.key,
                     lex_test_status_code(&m));
}

static void copy_ori(char dst[16], const char *family, const char *home)
{
    snprintf(dst, 16, "%s", lex_test_ori_of(&sw, family, home));
}

static const char *public_of(const char *key_file)
{
    static lex_keypair_t kp;
    char err[512];
    cr_assert_eq(lex_keyfile_load(key_file, &kp, err, sizeof err), 0, "%s", err);
    return kp.public_z85;
}

/* The directory file with every line containing `drop` left out, and
 * `add` (may be NULL) appended. */
static void rewrite_directory(const char *drop, const char *add)
{
    FILE *f = fopen(sw.directory, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = 0;
    char tmp[LEX_TEST_PATH + 8];
    snprintf(tmp, sizeof tmp, "%s.new", sw.directory);
    FILE *w = fopen(tmp, "w");
    cr_assert_not_null(w);
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (!drop || !strstr(line, drop))
            fprintf(w, "%s\n", line);
    if (add)
        fprintf(w, "%s\n", add);
    fclose(w);
    cr_assert_eq(rename(tmp, sw.directory), 0);
}

static void bind_line(char *line, size_t len, const char *key_file, const char *label,
                      const char *role, const char *patterns)
{
    snprintf(line, len, "@key|%s|%s|%s|%s", public_of(key_file), label, role, patterns);
}

/* `lexctl directory reload`: its exit code, its output in out. */
static int reload(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl directory reload --data %s 2>&1", LEX_BIN_DIR, sw.data);
    return lex_test_run(cmd, out, sizeof out);
}

/* Waits for an ST with this code on n; 0 or LEX_ETIMEOUT. dst gets its dst. */
static int wait_status(lex_node_t *n, int code, char dst[16], int timeout_ms)
{
    uint64_t deadline = lex_mono_us() + (uint64_t)timeout_ms * 1000u;
    lex_message_t m;
    while (lex_mono_us() < deadline)
        if (lex_node_recv(n, &m, 50) == 0 && lex_test_status_code(&m) == code) {
            if (dst)
                snprintf(dst, 16, "%s", m.env.ndst ? m.env.dst[0] : "");
            return 0;
        }
    return LEX_ETIMEOUT;
}

/* The audit log as text, read by the real tool after the switch stopped. */
static const char *audit_text(void)
{
    return lex_test_audit_text(&sw, out, sizeof out);
}

/* A process holding ori with key_file until it is killed. */
static pid_t holder_process(const char *ori, const char *key_file)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        lex_node_t *n = lex_test_node_with_key(&sw, ori, key_file);
        char ok = lex_node_wait_ready(n, 10000) == 0 ? '1' : '0';
        if (write(fds[1], &ok, 1) != 1)
            _exit(1);
        lex_message_t m;
        for (;;)
            lex_node_recv(n, &m, 1000); /* heartbeats until killed */
    }
    close(fds[1]);
    char ok = 0;
    cr_assert_eq(read(fds[0], &ok, 1), 1);
    close(fds[0]);
    cr_assert_eq(ok, '1', "the holder process did not register");
    return pid;
}

/* A CURVE switch with Nevada's states and two agency keys, a and b, bound
 * to the same Nevada police ORI: only the connection's liveness decides
 * which of them holds it. */
static void start_with_two_keys(char ori[16], char a_key[LEX_TEST_PATH], char b_key[LEX_TEST_PATH])
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    copy_ori(ori, "PD", "NV");
    lex_test_make_key(&sw, "a", "agency", ori, a_key);
    lex_test_make_key(&sw, "b", "agency", ori, b_key);
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
}

Test(sessions, a_second_hello_for_a_live_ori_gets_ori_in_use_and_a_crashed_holder_is_replaced)
{
    char a_key[LEX_TEST_PATH], b_key[LEX_TEST_PATH], ori[16];
    start_with_two_keys(ori, a_key, b_key);

    lex_node_t *first = lex_test_node_with_key(&sw, ori, a_key);
    cr_assert_eq(lex_node_wait_ready(first, 10000), 0, "%s", lex_node_error(first));
    lex_node_t *second = lex_test_node_with_key(&sw, ori, b_key);
    cr_assert_eq(lex_node_wait_ready(second, 1500), LEX_ECLOSED, "took a live session's ORI");
    cr_assert(strstr(lex_node_error(second), "ori-in-use"), "%s", lex_node_error(second));
    assert_served(first, "the first holder, after the second claim");
    lex_node_destroy(&second);
    lex_node_destroy(&first); /* BYE: the ORI is free at once */

    /* a holder that crashes (no BYE): its connection closes, and a new
     * connection with the other key gets in within a few seconds */
    child = holder_process(ori, a_key);
    lex_node_t *again = lex_test_node_with_key(&sw, ori, b_key);
    cr_assert_eq(lex_node_wait_ready(again, 1000), LEX_ECLOSED, "took the live process's ORI");
    lex_node_destroy(&again);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    child = 0;
    uint64_t t0 = lex_mono_us();
    lex_node_t *next = lex_test_node_with_key(&sw, ori, b_key);
    cr_assert_eq(lex_node_wait_ready(next, 3000), 0, "no way back in: %s", lex_node_error(next));
    fprintf(stderr, "sessions: back in %.0f ms after kill -9 of the holder\n",
            (double)(lex_mono_us() - t0) / 1000.0);
    assert_served(next, "the new holder");
    lex_node_destroy(&next);
    const char *log = audit_text();
    cr_assert(strstr(log, "ori-in-use"), "refusal not in the audit log:\n%s", log);
    /* the crash is recorded: its session ended when its connection closed
     * (conn-lost), or the new HELLO took the ORI over from it */
    cr_assert(strstr(log, "takeover") || strstr(log, "conn-lost"),
              "neither the lost session nor a takeover in the audit log:\n%s", log);
}

Test(sessions, a_frozen_holder_is_replaced_by_its_own_key_after_two_silent_heartbeats)
{
    char a_key[LEX_TEST_PATH], b_key[LEX_TEST_PATH], ori[16];
    start_with_two_keys(ori, a_key, b_key);
    /* stopped, not dead: its connection stays open, it sends nothing (a
     * host gone without closing its connections looks the same) */
    child = holder_process(ori, a_key);
    cr_assert_eq(kill(child, SIGSTOP), 0);
    lex_node_t *other = lex_test_node_with_key(&sw, ori, b_key);
    cr_assert_eq(lex_node_wait_ready(other, 1500), LEX_ECLOSED,
                 "another key took a connection the switch still holds");
    lex_node_destroy(&other);
    lex_node_t *same = lex_test_node_with_key(&sw, ori, a_key);
    cr_assert_eq(lex_node_wait_ready(same, 3000), 0, "%s", lex_node_error(same));
    assert_served(same, "the same key on a new connection");
    lex_node_destroy(&same);
    char path[LEX_TEST_PATH + 16];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    const char *log = audit_text();
    cr_assert(strstr(log, "takeover"), "%s", log);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = 0;
    cr_assert(strstr(out, "session takeover") && strstr(out, "silent for over two heartbeats"),
              "no takeover line for the silent holder:\n%s", out);
}

/* Sends an SSQ as the node's ORI; the answer's key ("SSR", or "ST"). */
static void ask_status(lex_node_t *n, char key[16], int *code)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "SSQ");
    cr_assert_eq(lex_node_send(n, &env, "\x80", 1), 0);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(n, env.id, &m, 10000), 0, "no answer to SSQ");
    snprintf(key, 16, "%s", m.env.key);
    *code = lex_test_status_code(&m);
}

Test(sessions, several_operator_connections_at_once_displace_nobody)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
    char pd[16];
    copy_ori(pd, "PD", "NV");
    lex_node_t *agency = lex_test_node(&sw, pd);
    /* an operator desk held open for the whole test */
    const char *oris[] = {"DCOPS0000"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .role = "operator", .oris = oris,
                             .noris = 1, .heartbeat_ms = 200};
    lex_node_t *desk = NULL;
    cr_assert_eq(lex_node_new(&cfg, &desk), 0);
    cr_assert_eq(lex_node_wait_ready(desk, 10000), 0, "%s", lex_node_error(desk));

    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "for i in 1 2 3; do (%s/lexctl status --connect %s --once >%s/st$i.out 2>&1; "
             "echo $? >%s/st$i.rc) & done; wait; cat %s/st1.rc %s/st2.rc %s/st3.rc",
             LEX_BIN_DIR, sw.endpoint, sw.dir, sw.dir, sw.dir, sw.dir, sw.dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0);
    cr_assert_str_eq(out, "0\n0\n0\n", "every lexctl status succeeds: exit codes %s", out);
    assert_served(agency, "the agency, while operators looked");
    char key[16];
    int code;
    ask_status(desk, key, &code);
    cr_assert_str_eq(key, "SSR", "the desk held open lost its session (ST %d)", code);
    /* and the operator's desk ORI is nobody's exclusive: a node may hold
     * its own ORI beside it, and the desk keeps working */
    lex_node_destroy(&desk);
    lex_node_destroy(&agency);
}

Test(sessions, a_key_removed_from_the_directory_is_cut_off_with_key_revoked)
{
    char key[LEX_TEST_PATH], ori[16];
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    copy_ori(ori, "PD", "NV");
    lex_test_make_key(&sw, "pd", "agency", ori, key);
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
    lex_node_t *n = lex_test_node_with_key(&sw, ori, key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    assert_served(n, "before the revocation");

    rewrite_directory(public_of(key), NULL);
    cr_assert_eq(kill(sw.pid, SIGHUP), 0);
    cr_assert_eq(wait_status(n, LEX_ST_REVOKED, NULL, 5000), 0, "no key-revoked status");
    uint64_t deadline = lex_mono_us() + 5000000u;
    lex_message_t m;
    while (lex_node_ready(n) && lex_mono_us() < deadline)
        lex_node_recv(n, &m, 50); /* the BYE */
    cr_assert(!lex_node_ready(n), "still registered after the revocation");
    cr_assert(strstr(lex_node_error(n), "key-revoked"), "%s", lex_node_error(n));
    lex_node_destroy(&n);
    lex_node_t *back = lex_test_node_with_key(&sw, ori, key);
    cr_assert_eq(lex_node_wait_ready(back, 1500), LEX_ETIMEOUT, "the revoked key got back in");
    lex_node_destroy(&back);
    const char *log = audit_text();
    cr_assert(strstr(log, "key-revoked"), "no key-revoked in the audit log:\n%s", log);
    cr_assert(strstr(log, "BYE"), "no BYE in the audit log:\n%s", log);
    cr_assert(strstr(log, "RELOAD"), "the reload is not in the audit log:\n%s", log);
    cr_assert(strstr(log, "unknown-peer-key"), "the refused handshake is not logged:\n%s", log);
}

Test(sessions, a_bad_directory_is_refused_with_file_and_line_and_a_good_one_admits_a_new_key)
{
    char key[LEX_TEST_PATH], late[LEX_TEST_PATH], ori[16], other[16], line[256];
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    copy_ori(ori, "PD", "NV");
    copy_ori(other, "SO", "NV");
    lex_test_make_key(&sw, "pd", "agency", ori, key);
    lex_test_make_key(&sw, "late", "agency", NULL, late); /* not bound yet */
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
    lex_node_t *n = lex_test_node_with_key(&sw, ori, key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    lex_node_t *early = lex_test_node_with_key(&sw, other, late);
    cr_assert_eq(lex_node_wait_ready(early, 1000), LEX_ETIMEOUT, "an unbound key got in");
    lex_node_destroy(&early);

    /* a bad file: refused, with where; the old directory stays */
    bind_line(line, sizeof line, late, "late", "agency", other);
    rewrite_directory(public_of(key), "this is not a directory line");
    FILE *f = fopen(sw.directory, "a");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", line);
    fclose(f);
    cr_assert_eq(reload(), 1, "a bad directory was taken: %s", out);
    cr_assert(strstr(out, "REFUSED") && strstr(out, "directory.txt:"), "%s", out);
    assert_served(n, "under the old directory");
    early = lex_test_node_with_key(&sw, other, late);
    cr_assert_eq(lex_node_wait_ready(early, 1000), LEX_ETIMEOUT, "the bad file's key got in");
    lex_node_destroy(&early);

    /* the same file made good: the new key connects, the old session stays */
    rewrite_directory("this is not", NULL);
    char pd_line[256];
    bind_line(pd_line, sizeof pd_line, key, "pd", "agency", ori);
    f = fopen(sw.directory, "a");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", pd_line);
    fclose(f);
    cr_assert_eq(reload(), 0, "%s", out);
    cr_assert(strstr(out, "reloaded"), "%s", out);
    lex_node_t *added = lex_test_node_with_key(&sw, other, late);
    cr_assert_eq(lex_node_wait_ready(added, 10000), 0, "%s", lex_node_error(added));
    assert_served(added, "the key added by the reload");
    assert_served(n, "the session kept through the reload");
    lex_node_destroy(&added);
    lex_node_destroy(&n);
}

Test(sessions, a_rotated_key_works_beside_the_old_until_the_old_is_removed)
{
    char old_key[LEX_TEST_PATH], new_key[LEX_TEST_PATH], a[16], b[16], patterns[40];
    char line[256];
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    copy_ori(a, "PD", "NV");
    copy_ori(b, "SO", "NV");
    snprintf(patterns, sizeof patterns, "%s %s", a, b);
    lex_test_make_key(&sw, "old", "agency", patterns, old_key);
    lex_test_make_key(&sw, "new", "agency", NULL, new_key);
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
    lex_node_t *on_old = lex_test_node_with_key(&sw, a, old_key);
    cr_assert_eq(lex_node_wait_ready(on_old, 10000), 0, "%s", lex_node_error(on_old));

    bind_line(line, sizeof line, new_key, "new", "agency", patterns);
    rewrite_directory(NULL, line);
    cr_assert_eq(reload(), 0, "%s", out);
    lex_node_t *on_new = lex_test_node_with_key(&sw, b, new_key);
    cr_assert_eq(lex_node_wait_ready(on_new, 10000), 0, "%s", lex_node_error(on_new));
    assert_served(on_old, "the old key, beside the new");
    assert_served(on_new, "the new key, beside the old");

    rewrite_directory(public_of(old_key), NULL);
    cr_assert_eq(reload(), 0, "%s", out);
    cr_assert(strstr(out, "1 sessions ended"), "%s", out);
    cr_assert_eq(wait_status(on_old, LEX_ST_REVOKED, NULL, 5000), 0, "the old key kept on");
    assert_served(on_new, "the new key, after the old was removed");
    /* the ORI the old key held is free for the new one at once */
    lex_node_t *moved = lex_test_node_with_key(&sw, a, new_key);
    cr_assert_eq(lex_node_wait_ready(moved, 10000), 0, "%s", lex_node_error(moved));
    assert_served(moved, "the old key's ORI on the new key");
    lex_node_destroy(&moved);
    lex_node_destroy(&on_new);
    lex_node_destroy(&on_old);
}

Test(sessions, a_narrowed_binding_withdraws_only_the_ori_it_no_longer_allows)
{
    char key[LEX_TEST_PATH], a[16], b[16], patterns[40], line[256];
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    copy_ori(a, "PD", "NV");
    copy_ori(b, "SO", "NV");
    snprintf(patterns, sizeof patterns, "%s %s", a, b);
    lex_test_make_key(&sw, "both", "agency", patterns, key);
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
    const char *oris[] = {a, b};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .role = "test", .oris = oris, .noris = 2,
                             .heartbeat_ms = 200, .key_file = key,
                             .switch_key_file = sw.switch_pub};
    lex_node_t *n = NULL;
    cr_assert_eq(lex_node_new(&cfg, &n), 0);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));

    bind_line(line, sizeof line, key, "both", "agency", a);
    rewrite_directory(public_of(key), line);
    cr_assert_eq(reload(), 0, "%s", out);
    cr_assert(strstr(out, "1 ORIs withdrawn"), "%s", out);
    char dst[16] = "";
    cr_assert_eq(wait_status(n, LEX_ST_REVOKED, dst, 5000), 0, "not told");
    cr_assert_str_eq(dst, b, "the status names the withdrawn ORI");
    cr_assert(lex_node_ready(n), "the narrowed session ended: %s", lex_node_error(n));
    assert_served(n, "the ORI still bound");
    /* the withdrawn ORI is no longer this session's to speak for */
    char lic[64];
    lic_word(lic, sizeof lic);
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "DQ");
    strcpy(env.src, b);
    lex_envelope_add_dst(&env, "NV");
    lex_buf_t body;
    lex_buf_init(&body);
    char err[128];
    char *words[] = {lic, NULL};
    cr_assert_eq(lex_query_body_from_words("DQ", words, 1, &body, err, sizeof err), 0);
    cr_assert_eq(lex_node_send(n, &env, body.data, body.len), 0);
    lex_buf_free(&body);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(n, env.id, &m, 10000), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_SPOOFED_ORI);
    lex_node_destroy(&n);
}

Test(sessions, the_rules_decide_with_the_reloaded_directory_not_a_cached_answer)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "NV", "rule no-ice\n  family ICE-ERO\n  deny denied\n");
    lex_test_switch_start(&sw, patient);
    lex_test_states_start(&sw, "NV", 1000);
    char pd[16];
    copy_ori(pd, "PD", "NV");
    lex_node_t *n = lex_test_node(&sw, pd);
    assert_served(n, "a police department, before"); /* and the allow is cached */

    /* the same ORI, now listed with family ICE-ERO */
    FILE *f = fopen(sw.directory, "r");
    cr_assert_not_null(f);
    char old_line[256] = "", new_line[256];
    while (fgets(old_line, sizeof old_line, f))
        if (strncmp(old_line, pd, 9) == 0)
            break;
    fclose(f);
    old_line[strcspn(old_line, "\n")] = 0;
    snprintf(new_line, sizeof new_line, "%s|federal|ICE-ERO|NV|Renamed Field Office", pd);
    rewrite_directory(old_line, new_line);
    /* and a bad rules file beside it: the rules in force (and what they
     * decided before) stay, the directory changes all the same */
    lex_test_write_rules(&sw, "OR", "this is not a rule\n");
    cr_assert_eq(reload(), 0, "%s", out);

    char lic[64];
    lic_word(lic, sizeof lic);
    const char *words[] = {lic, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_DENIED, "got %s (status %d): the cached "
                 "decision outlived the directory", m.env.key, lex_test_status_code(&m));
    lex_node_destroy(&n);
}
