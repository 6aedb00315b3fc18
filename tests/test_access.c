/* test_access.c: only the switch's user reads its files, and every look at
 * the record is on the record: the data directory and its files are closed
 * to others after real traffic, readable secret keys stop the start, each
 * lexctl read and each operator request leaves an access record (through a
 * running switch, through one started later, across a kill -9), the report
 * shows who looked, a read that cannot be noted shows nothing, and an
 * operator key of one state sees that state only. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "lex_auditlog.h"
#include "lex_envelope.h"
#include "lex_population.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static char out[262144];

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(access, .fini = teardown, .timeout = 120);

static const char *me(void)
{
    static char name[64];
    struct passwd *pw = getpwuid(geteuid());
    snprintf(name, sizeof name, "%s", pw ? pw->pw_name : "?");
    return name;
}

static int lexctl(const char *fmt, const char *arg)
{
    char args[1024], cmd[2048];
    snprintf(args, sizeof args, fmt, arg);
    snprintf(cmd, sizeof cmd, "%s/lexctl %s 2>&1", LEX_BIN_DIR, args);
    return lex_test_run(cmd, out, sizeof out);
}

/* Entries waiting in the access journal. */
static int journal_entries(void)
{
    char dir[LEX_TEST_PATH + 16];
    snprintf(dir, sizeof dir, "%s/%s", sw.data, LEX_ACCESS_DIR);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strstr(de->d_name, ".acc") != NULL;
    closedir(d);
    return n;
}

static void wait_journal_empty(void)
{
    uint64_t deadline = lex_mono_us() + 15000000u;
    while (journal_entries() > 0 && lex_mono_us() < deadline)
        usleep(20000); /* poll */
    cr_assert_eq(journal_entries(), 0, "the switch did not record the access journal");
}

#define ROWS_MAX 64
typedef struct {
    lex_access_info_t info[ROWS_MAX];
    uint64_t seq[ROWS_MAX], id[ROWS_MAX];
    size_t n;
} rows_t;

static int collect(const lex_log_record_t *rec, void *arg)
{
    rows_t *r = arg;
    if (r->n < ROWS_MAX && lex_access_info(rec, &r->info[r->n]) == 0) {
        r->seq[r->n] = rec->seq;
        r->id[r->n] = rec->msg_id;
        r->n++;
    }
    return 0;
}

/* The access records in the chain, read as any reader would. */
static void access_records(rows_t *rows)
{
    memset(rows, 0, sizeof *rows);
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_log_scan_access(log, collect, rows), 0);
    lex_log_close(&log);
}

static const lex_access_info_t *find(const rows_t *rows, const char *tool, const char *cmd,
                                     const char *filter_part)
{
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->info[i].tool, tool) == 0 && strcmp(rows->info[i].cmd, cmd) == 0 &&
            (!filter_part || strstr(rows->info[i].filter, filter_part)))
            return &rows->info[i];
    return NULL;
}

static void some_traffic(void)
{
    lex_test_states_start(&sw, "IL", 1000);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "IL"));
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new("IL", 1000, 1000, &pop), 0);
    for (int i = 0; i < 5; i++) {
        lex_driver_t d;
        lex_population_driver(pop, (uint32_t)i, &d);
        char lic[64];
        snprintf(lic, sizeof lic, "lic=%s", d.lic);
        const char *words[] = {lic, NULL};
        lex_message_t m;
        cr_assert_eq(lex_test_ask(n, "DQ", "IL", words, &m), 0);
    }
    lex_population_destroy(&pop);
    lex_node_destroy(&n);
}

static char bad_path[512];
static int open_to_others(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_SL && (st->st_mode & 077) && !bad_path[0])
        snprintf(bad_path, sizeof bad_path, "%s (mode %03o)", path,
                 (unsigned)(st->st_mode & 0777));
    return 0;
}

Test(access, the_data_directory_and_every_file_in_it_are_the_owners_only_after_traffic)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    char pd_key[LEX_TEST_PATH];
    lex_test_make_key(&sw, "pd", "agency", lex_test_ori_of(&sw, "PD", "IL"), pd_key);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL", 1000);
    lex_node_t *n = lex_test_node_with_key(&sw, lex_test_ori_of(&sw, "PD", "IL"), pd_key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    lex_message_t m;
    const char *words[] = {"lic=X1234567", NULL};
    cr_assert_eq(lex_test_ask(n, "DQ", "IL", words, &m), 0);
    lex_node_destroy(&n);
    cr_assert_eq(lexctl("audit --data %s --key DQ", sw.data), 0, "%s", out);
    wait_journal_empty();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    struct stat st;
    cr_assert_eq(stat(sw.data, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "data dir mode %03o", (unsigned)(st.st_mode & 0777));
    bad_path[0] = 0;
    cr_assert_eq(nftw(sw.data, open_to_others, 16, FTW_PHYS), 0);
    cr_assert_eq(bad_path[0], 0, "open to group or others: %s", bad_path);

    /* keys made by lexctl keys gen: the secret half the owner's only */
    char prefix[LEX_TEST_PATH + 16], cmd[1024];
    snprintf(prefix, sizeof prefix, "%s/op1", sw.dir);
    snprintf(cmd, sizeof cmd, "%s/lexctl keys gen %s --operator --bind ILOPS0000", LEX_BIN_DIR,
             prefix);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s.key", prefix);
    cr_assert_eq(stat(cmd, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "key mode %03o", (unsigned)(st.st_mode & 0777));
}

Test(access, a_data_directory_open_to_others_is_closed_with_a_warning)
{
    lex_test_switch_prepare(&sw);
    cr_assert_eq(mkdir(sw.data, 0755), 0);
    chmod(sw.data, 0755);
    char file[LEX_TEST_PATH + 16];
    snprintf(file, sizeof file, "%s/notes", sw.data);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("left by an older version\n", f);
    fclose(f);
    chmod(file, 0644);
    lex_test_switch_start(&sw, NULL);
    struct stat st;
    cr_assert_eq(stat(sw.data, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "mode %03o", (unsigned)(st.st_mode & 0777));
    cr_assert_eq(stat(file, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %03o", (unsigned)(st.st_mode & 0777));
    char log[LEX_TEST_PATH + 16], cmd[1024];
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    snprintf(cmd, sizeof cmd, "cat %s", log);
    lex_test_run(cmd, out, sizeof out);
    cr_assert(strstr(out, "was open to group or others") != NULL, "%s", out);
}

/* Runs lexswitch as the harness would, expecting it to refuse to start. */
static void expect_refusal(const char *what)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s/lexswitch --bind-tcp '' --bind-ipc %s --data %s --directory %s --rules %s "
             "--set curve_key=%s 2>&1",
             LEX_BIN_DIR, sw.endpoint, sw.data, sw.directory, sw.rules, sw.switch_key);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, what) != NULL, "%s", out);
    cr_assert(strstr(out, "can be read by group or others") != NULL, "%s", out);
}

Test(access, a_group_readable_curve_key_or_signing_key_stops_the_start)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    chmod(sw.switch_key, 0640);
    expect_refusal("the switch's CURVE key");
    chmod(sw.switch_key, 0600);
    lex_test_switch_start(&sw, NULL);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    char sign_key[LEX_TEST_PATH + 32];
    snprintf(sign_key, sizeof sign_key, "%s/audit-sign.key", sw.data);
    chmod(sign_key, 0644);
    expect_refusal("the log's signing key");
}

static void each_read(void)
{
    cr_assert_eq(lexctl("audit --data %s --state IL --key DQ", sw.data), 0, "%s", out);
    cr_assert_eq(lexctl("export --data %s --from 2001-01-01", sw.data), 0, "%s", out);
    cr_assert_eq(lexctl("report --data %s --state IL --format json", sw.data), 0, "%s", out);
    cr_assert_eq(lexctl("verify --data %s", sw.data), 0, "%s", out);
    cr_assert_eq(lexctl("tail --data %s -n 2", sw.data), 0, "%s", out);
}

static void check_each_read(const rows_t *rows)
{
    static const char *const cmds[] = {"audit", "export", "report", "verify", "tail"};
    static const char *const filters[] = {"--state IL --key DQ", "--from 2001-01-01",
                                          "--state IL --format json", "--data", "-n 2"};
    for (int i = 0; i < 5; i++) {
        const lex_access_info_t *a = find(rows, "lexctl", cmds[i], filters[i]);
        cr_assert_not_null(a, "no access record of lexctl %s", cmds[i]);
        cr_assert_str_eq(a->who, me());
        cr_assert_eq(a->uid, (uint64_t)geteuid());
    }
    const lex_access_info_t *a = find(rows, "lexctl", "audit", "--state IL");
    cr_assert_str_eq(a->state, "IL", "the read names the state it was limited to");
}

Test(access, each_read_by_lexctl_is_recorded_while_the_switch_runs)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    some_traffic();
    each_read();
    cr_assert_eq(lexctl("rules reload --data %s", sw.data), 0, "%s", out);
    wait_journal_empty();
    rows_t rows;
    access_records(&rows);
    check_each_read(&rows);
    cr_assert_not_null(find(&rows, "lexctl", "rules reload", NULL));
    cr_assert_eq(lexctl("verify --data %s", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "chain intact") != NULL, "%s", out);
    /* the records are in the log like any other, found by their decision */
    cr_assert_eq(lexctl("audit --data %s --decision access", sw.data), 0, "%s", out);
    cr_assert(strstr(out, me()) != NULL && strstr(out, "rule=export") != NULL, "%s", out);
}

Test(access, reads_without_a_switch_wait_in_the_journal_and_enter_the_chain_at_its_start)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    some_traffic();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    each_read();
    cr_assert_eq(journal_entries(), 5, "one durable note per read");
    rows_t rows;
    access_records(&rows);
    cr_assert_eq(rows.n, 0, "nothing in the chain yet: no switch runs");
    /* the report already shows them, from the journal */
    cr_assert_eq(lexctl("report --data %s --state IL", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "(in the access journal)") != NULL, "%s", out);

    lex_test_switch_start(&sw, NULL);
    wait_journal_empty();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    access_records(&rows);
    check_each_read(&rows);
    cr_assert_eq(lexctl("verify --data %s", sw.data), 0, "%s", out);
}

static void kill_switch(void)
{
    kill(sw.pid, SIGKILL);
    int status;
    waitpid(sw.pid, &status, 0);
    sw.pid = 0;
}

Test(access, a_kill_between_the_journal_and_the_chain_loses_nothing_and_doubles_nothing)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    /* reads racing the switch's ingestion, then a kill -9 at any point */
    for (int i = 0; i < 6; i++)
        cr_assert_eq(lexctl("audit --data %s --key DQ", sw.data), 0, "%s", out);
    kill_switch();

    /* the worst moment: the record committed, the entry not yet removed */
    cr_assert_eq(lexctl("audit --data %s --state NV", sw.data), 0, "%s", out);
    char dir[LEX_TEST_PATH + 16], entry[2 * LEX_TEST_PATH + 32] = "", copy[LEX_TEST_PATH + 64];
    snprintf(dir, sizeof dir, "%s/%s", sw.data, LEX_ACCESS_DIR);
    DIR *d = opendir(dir);
    struct dirent *de;
    char newest[256] = "";
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".acc") && strcmp(de->d_name, newest) > 0)
            snprintf(newest, sizeof newest, "%s", de->d_name);
    closedir(d);
    cr_assert(newest[0]);
    snprintf(entry, sizeof entry, "%s/%s", dir, newest);
    snprintf(copy, sizeof copy, "%s/saved-entry", sw.dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -p %s %s", entry, copy);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0);

    lex_test_switch_start(&sw, NULL);
    wait_journal_empty();
    kill_switch();
    snprintf(cmd, sizeof cmd, "cp -p %s %s", copy, entry);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0);

    lex_test_switch_start(&sw, NULL);
    wait_journal_empty();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    rows_t rows;
    access_records(&rows);
    int key_reads = 0, nv_reads = 0;
    for (size_t i = 0; i < rows.n; i++) {
        key_reads += strstr(rows.info[i].filter, "--key DQ") != NULL;
        nv_reads += strcmp(rows.info[i].state, "NV") == 0;
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(rows.id[i], rows.id[j], "journal entry %llx recorded twice",
                          (unsigned long long)rows.id[i]);
    }
    cr_assert_eq(key_reads, 6, "every read before the kill is recorded once");
    cr_assert_eq(nv_reads, 1, "the entry left behind by the crash is not recorded again");
    cr_assert_eq(lexctl("verify --data %s", sw.data), 0, "%s", out);
}

Test(access, the_report_shows_who_looked_at_the_states_records)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    some_traffic();
    cr_assert_eq(lexctl("audit --data %s --state IL --key DQ", sw.data), 0, "%s", out);
    cr_assert_eq(lexctl("audit --data %s --state NV", sw.data), 0, "%s", out);
    cr_assert_eq(lexctl("verify --data %s", sw.data), 0, "%s", out);
    wait_journal_empty();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    cr_assert_eq(lexctl("report --data %s --state IL", sw.data), 0, "%s", out);
    char *looked = strstr(out, "Who looked at this state's records");
    cr_assert_not_null(looked, "%s", out);
    cr_assert(strstr(looked, me()) && strstr(looked, "--state IL --key DQ"), "%s", looked);
    cr_assert(strstr(looked, "verify") && strstr(looked, "national"), "national reads: %s",
              looked);
    cr_assert_null(strstr(looked, "--state NV"), "another state's read: %s", looked);
    cr_assert(strstr(looked, "(record "), "%s", looked);

    cr_assert_eq(lexctl("report --data %s --state IL --format csv", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "\nIL,looked,") && strstr(out, "--state IL --key DQ"), "%s", out);
    cr_assert_null(strstr(out, "--state NV"), "%s", out);
    cr_assert_eq(lexctl("report --data %s --state IL --format json", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "\"looked\": [") && strstr(out, "\"command\": \"audit\""), "%s", out);
    char html[LEX_TEST_PATH + 16], args[1024];
    snprintf(html, sizeof html, "%s/il.html", sw.dir);
    snprintf(args, sizeof args, "report --data %s --state IL --format html --out %s", sw.data,
             html);
    cr_assert_eq(lexctl("%s", args), 0, "%s", out);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cat %s", html);
    lex_test_run(cmd, out, sizeof out);
    cr_assert(strstr(out, "<h2>Who looked at this state's records</h2>") && strstr(out, me()),
              "%s", out);
}

/* ---- operators on the wire ---- */

static const char *review_rules = "rule fed-name-search-review\n"
                                  "  level federal\n"
                                  "  kind by-name\n"
                                  "  review\n";

static char il_op[LEX_TEST_PATH], nat_op[LEX_TEST_PATH], fbi_key[LEX_TEST_PATH],
    nvpd_key[LEX_TEST_PATH], il_node[LEX_TEST_PATH];
static char fbi_ori[16], nvpd_ori[16];

static void hold_one(lex_node_t *n, const char *state)
{
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new(state, 1000, 1000, &pop), 0);
    lex_driver_t d;
    lex_population_driver(pop, 3, &d);
    lex_population_destroy(&pop);
    char name[96], dob[32];
    snprintf(name, sizeof name, "name=%s", d.name);
    snprintf(dob, sizeof dob, "dob=%s", d.dob);
    const char *words[] = {name, dob, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", state, words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_HELD, "got %s", m.env.key);
}

/* A CURVE switch with a hold in IL and one in NV, a node of NV connected,
 * an IL operator key and a national one. */
static void start_operators(lex_node_t **fbi, lex_node_t **nvpd)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    snprintf(fbi_ori, sizeof fbi_ori, "%s", lex_test_ori_of(&sw, "FBI", "IL"));
    snprintf(nvpd_ori, sizeof nvpd_ori, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_test_make_key(&sw, "fbi", "agency", fbi_ori, fbi_key);
    lex_test_make_key(&sw, "nvpd", "agency", nvpd_ori, nvpd_key);
    lex_test_make_key(&sw, "ilops", "operator", "ILOPS0000", il_op);
    lex_test_make_key(&sw, "natops", "operator", "national DCOPS0000", nat_op);
    lex_test_make_key(&sw, "ilnode", "agency", "ILOPS0000", il_node);
    lex_test_write_rules(&sw, "IL", review_rules);
    lex_test_write_rules(&sw, "NV", review_rules);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL,NV", 1000);
    *fbi = lex_test_node_with_key(&sw, fbi_ori, fbi_key);
    cr_assert_eq(lex_node_wait_ready(*fbi, 10000), 0, "%s", lex_node_error(*fbi));
    *nvpd = lex_test_node_with_key(&sw, nvpd_ori, nvpd_key);
    cr_assert_eq(lex_node_wait_ready(*nvpd, 10000), 0, "%s", lex_node_error(*nvpd));
    hold_one(*fbi, "IL");
    hold_one(*fbi, "NV");
}

static int as_operator(const char *key, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/lexctl %s --connect %s --key-file %s --switch-key %s 2>&1",
             LEX_BIN_DIR, args, sw.endpoint, key, sw.switch_pub);
    return lex_test_run(cmd, out, sizeof out);
}

Test(access, an_operator_of_one_state_sees_its_share_and_a_national_operator_sees_all)
{
    lex_node_t *fbi, *nvpd;
    start_operators(&fbi, &nvpd);

    cr_assert_eq(as_operator(il_op, "status --json --ori ILOPS0000"), 0, "%s", out);
    cr_assert(strstr(out, "\"scope\": \"IL\""), "%s", out);
    cr_assert(strstr(out, "\"held\": 1,"), "IL's hold only: %s", out);
    cr_assert_null(strstr(out, nvpd_ori), "another state's node: %s", out);
    cr_assert_null(strstr(out, "\"received\""), "the switch's totals: %s", out);
    cr_assert_null(strstr(out, "\"log_seq\""), "the log: %s", out);
    cr_assert(strstr(out, fbi_ori), "IL's own node: %s", out);

    cr_assert_eq(as_operator(nat_op, "status --json --ori DCOPS0000"), 0, "%s", out);
    cr_assert(strstr(out, "\"scope\": \"national\""), "%s", out);
    cr_assert(strstr(out, "\"held\": 2,"), "%s", out);
    cr_assert(strstr(out, nvpd_ori) && strstr(out, fbi_ori), "%s", out);
    cr_assert(strstr(out, "\"received\""), "%s", out);

    /* holds: IL's operator sees IL's, not NV's; the national one sees both */
    cr_assert_eq(as_operator(il_op, "review list --state IL"), 0, "%s", out);
    cr_assert(strstr(out, "1 held for IL"), "%s", out);
    cr_assert_eq(as_operator(il_op, "review list --state NV --ori ILOPS0000"), 1, "%s", out);
    cr_assert(strstr(out, "not-authorised"), "%s", out);
    cr_assert_eq(as_operator(nat_op, "review list --state NV --ori DCOPS0000"), 0, "%s", out);
    cr_assert(strstr(out, "1 held for NV"), "%s", out);
    cr_assert_eq(as_operator(nat_op, "review list --state IL --ori DCOPS0000"), 0, "%s", out);
    cr_assert(strstr(out, "1 held for IL"), "%s", out);
    /* a key that may claim IL's desk ORI but is no operator's sees no holds */
    cr_assert_eq(as_operator(il_node, "review list --state NV --ori ILOPS0000"), 1, "%s", out);
    cr_assert(strstr(out, "not-authorised") || strstr(out, "hello-refused"), "%s", out);
    cr_assert_null(strstr(out, "held for"), "%s", out);
    cr_assert_eq(as_operator(il_node, "review list --state IL"), 1, "%s", out);
    cr_assert_null(strstr(out, "held for"), "%s", out);
    /* seeing is not deciding: each state's holds are its own operators' */
    cr_assert_eq(as_operator(nat_op, "review approve 1 --state IL --ori DCOPS0000"), 1, "%s",
                 out);
    cr_assert(strstr(out, "not-authorised"), "%s", out);
    lex_node_destroy(&fbi);
    lex_node_destroy(&nvpd);
}

Test(access, a_status_request_and_a_review_list_leave_access_records)
{
    lex_node_t *fbi, *nvpd;
    start_operators(&fbi, &nvpd);
    cr_assert_eq(as_operator(il_op, "status --json --ori ILOPS0000"), 0, "%s", out);
    cr_assert_eq(as_operator(il_op, "review list --state IL"), 0, "%s", out);
    cr_assert_eq(as_operator(nat_op, "status --once --ori DCOPS0000"), 0, "%s", out);
    lex_node_destroy(&fbi);
    lex_node_destroy(&nvpd);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    rows_t rows;
    access_records(&rows);
    const lex_access_info_t *a = find(&rows, "wire", "status", NULL);
    cr_assert_not_null(a);
    cr_assert_str_eq(a->who, "ilops", "the operator key's label");
    cr_assert_str_eq(a->ori, "ILOPS0000");
    cr_assert_str_eq(a->state, "IL");
    cr_assert_eq(strlen(a->key), 40, "the key itself (Z85)");
    a = find(&rows, "wire", "review list", "state=IL");
    cr_assert_not_null(a);
    cr_assert_str_eq(a->who, "ilops");
    int national = 0;
    for (size_t i = 0; i < rows.n; i++)
        national += strcmp(rows.info[i].who, "natops") == 0 && !rows.info[i].state[0];
    cr_assert_eq(national, 1, "the national operator's status request");
    cr_assert_eq(lexctl("verify --data %s", sw.data), 0, "%s", out);

    /* and IL's report names the operator who looked */
    cr_assert_eq(lexctl("report --data %s --state IL", sw.data), 0, "%s", out);
    char *looked = strstr(out, "Who looked");
    cr_assert(looked && strstr(looked, "ilops ILOPS0000") && strstr(looked, "review list"), "%s",
              out);
}

Test(access, a_read_whose_note_cannot_be_written_shows_nothing)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    some_traffic();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    /* the journal's place taken by a plain file: no entry can be written */
    char path[LEX_TEST_PATH + 16];
    snprintf(path, sizeof path, "%s/%s", sw.data, LEX_ACCESS_DIR);
    lex_test_rmrf(path);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(lexctl("audit --data %s --key DQ", sw.data), 1, "%s", out);
    cr_assert(strstr(out, "refusing to read the log without a record of the read"), "%s", out);
    cr_assert_null(strstr(out, " DQ "), "nothing of the log was shown: %s", out);
    cr_assert_eq(lexctl("export --data %s", sw.data), 1, "%s", out);
    cr_assert_null(strstr(out, "\"seq\""), "%s", out);
}

Test(access, a_damaged_journal_entry_is_still_recorded_as_unreadable)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    char path[LEX_TEST_PATH + 64];
    snprintf(path, sizeof path, "%s/%s", sw.data, LEX_ACCESS_DIR);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/00000000000000ff-00000000000000a1.acc", sw.data,
             LEX_ACCESS_DIR);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("\xc1 not msgpack", f);
    fclose(f);
    lex_test_switch_start(&sw, NULL);
    wait_journal_empty();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    cr_assert_eq(lexctl("audit --data %s --decision access --id 161", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "rule=unreadable") && strstr(out, "\n1 records\n"), "%s", out);
    char log[LEX_TEST_PATH + 16], cmd[1024];
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    snprintf(cmd, sizeof cmd, "cat %s", log);
    lex_test_run(cmd, out, sizeof out);
    cr_assert(strstr(out, "does not decode"), "%s", out);
}
