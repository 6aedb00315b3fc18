/* lexsim.c: the whole network on one machine. Writes the built-in scenario
 * (a synthetic agency directory and the states' rules) to a work directory,
 * starts a real lexswitch, a lexnode hosting every state's responder and a
 * lexnode running the requesting agencies at a set rate, then stops them and
 * prints what happened, from the switch's counters and the agencies'
 * measurements. Every process talks over real ZeroMQ sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lex_envelope.h"
#include "lex_buf.h"
#include "lex_directory.h"
#include "lex_keys.h"
#include "lex_roles.h"
#include "lex_error.h"
#include "lex_simdir.h"
#include "lex_states.h"
#include "lex_textfile.h"
#include "lexsim.h"

extern char **environ;
extern const char *const lex_scenario_rules[];
extern const char *const lex_scenario_rules_names[];
extern const char *const lex_scenario_shared[];
extern const char *const lex_scenario_shared_names[];

typedef struct {
    double duration_s;
    char rate[32];
    int json;
    int keep;
    const char *workdir;
    unsigned locals_per_state;
    unsigned drivers;
    const char *durability;
    char federal_pct[8];
    int quiet;
    const char *html;         /* write an HTML report here */
} sim_options_t;

static char bindir[PATH_MAX];
static char work[PATH_MAX];

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexsim [options]\n"
        "Runs a simulated country on this machine: the switch, a responder for every\n"
        "state, DC and territory, and thousands of requesting agencies (local, state,\n"
        "tribal and federal, ICE, HSI and FBI among them), with the built-in rules of\n"
        "states that restrict federal immigration enforcement. Prints a summary.\n\n"
        "  -t, --duration S        seconds of traffic (default 30)\n"
        "  -r, --rate R            queries per second, or e.g. 290M/y, 2x (default 400)\n"
        "      --json              print the summary as one JSON object\n"
        "      --workdir DIR       keep directory, rules, logs and audit log in DIR\n"
        "      --keep              keep the temporary work directory\n"
        "      --locals N          local agencies per state (default 40)\n"
        "      --drivers N         synthetic drivers and vehicles per state (default 20000)\n"
        "      --durability MODE   audit log durability: sync (default), batch, none\n"
        "      --federal-pct P     share of queries sent by federal agencies (default 12)\n"
        "      --html FILE         also write an HTML report with plots to FILE\n"
        "  -q, --quiet             no progress lines (there are none unless stderr is a\n"
        "                          terminal)\n"
        "  -h, --help              this text\n");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static char *read_file(const char *path)
{
    char *text;
    return lex_textfile_read(path, (size_t)64 << 20, &text, NULL, 0) == 0 ? text : NULL;
}

/* Starts bin/name with args; stderr goes to log (if given). */
static pid_t spawn(const char *name, char **args, const char *log)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", bindir, name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (log)
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    args[0] = path;
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "lexsim: cannot start %s: %s\n", path, strerror(rc));
        return -1;
    }
    return pid;
}

/* Waits for a file to appear while the process lives. */
static int wait_for_file(const char *path, pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (access(path, F_OK) == 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        usleep(20000);
    }
    return -1;
}

static int stop_process(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    int status = 0;
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void show_log_tail(const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", work, name);
    char *text = read_file(path);
    if (text) {
        size_t n = strlen(text);
        fprintf(stderr, "--- last lines of %s ---\n%s\n", path, n > 2000 ? text + n - 2000 : text);
        free(text);
    }
}

/* Finds `"name": ` in json and returns a copy of the value that follows
 * (an object, or a number). The inputs are the files our own programs write. */
static char *json_value(const char *json, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", name);
    const char *p = json ? strstr(json, pattern) : NULL;
    if (!p)
        return strdup("null");
    p += strlen(pattern);
    const char *end = p;
    if (*p == '{') {
        int depth = 0;
        do {
            if (*end == '{')
                depth++;
            else if (*end == '}')
                depth--;
            end++;
        } while (*end && depth > 0);
    } else {
        while (*end && *end != ',' && *end != '}')
            end++;
    }
    return strndup(p, (size_t)(end - p));
}

/* Keys lexsim bound, by role (make_keys). */
static unsigned keys_responder, keys_agency, keys_operator;

static int print_summary(const sim_options_t *o, const char *sw_json, const char *ag_json)
{
    char *kv[4];
    const char *knames[] = {"keys_bound", "keys_broad", "hello_refused", "handshake_failures"};
    for (int i = 0; i < 4; i++)
        kv[i] = json_value(sw_json, knames[i]);
    const char *names[] = {"routed", "received", "statuses", "refused", "timeouts",
                           "by_key", "by_decision", "log_last_seq"};
    const char *agent[] = {"sent", "answers", "unanswered", "rate_achieved", "by_answer_key",
                           "by_status", "latency_us"};
    char *sv[8], *av[7];
    for (int i = 0; i < 8; i++)
        sv[i] = json_value(sw_json, names[i]);
    for (int i = 0; i < 7; i++)
        av[i] = json_value(ag_json, agent[i]);
    if (o->json) {
        printf("{\"duration_s\": %.1f, \"routed\": %s, \"received\": %s, \"statuses\": %s, "
               "\"refused\": %s, \"timeouts\": %s, \"by_key\": %s, \"by_decision\": %s, "
               "\"log_records\": %s, \"queries_sent\": %s, \"answers\": %s, "
               "\"unanswered\": %s, \"query_rate\": %s, \"answers_by_key\": %s, "
               "\"answers_by_status\": %s, \"latency_us\": %s, \"keys\": {\"bound\": %s, "
               "\"responder\": %u, \"agency\": %u, \"operator\": %u, \"broad\": %s, "
               "\"hello_refused\": %s, \"handshake_failures\": %s}}\n",
               o->duration_s, sv[0], sv[1], sv[2], sv[3], sv[4], sv[5], sv[6], sv[7], av[0], av[1],
               av[2], av[3], av[4], av[5], av[6], kv[0], keys_responder, keys_agency,
               keys_operator, kv[1], kv[2], kv[3]);
    } else {
        printf("lexsim: %.0f s of traffic across the simulated network\n", o->duration_s);
        printf("  queries sent by agencies   %s (%s per second)\n", av[0], av[3]);
        printf("  answers received           %s (unanswered: %s)\n", av[1], av[2]);
        printf("  messages received (switch) %s\n", sv[1]);
        printf("  messages routed            %s\n", sv[0]);
        printf("  statuses sent              %s (refusals %s, timeouts %s)\n", sv[2], sv[3], sv[4]);
        printf("  by key                     %s\n", sv[5]);
        printf("  rule decisions             %s\n", sv[6]);
        printf("  answers by key             %s\n", av[4]);
        printf("  statuses by code           %s\n", av[5]);
        printf("  latency (microseconds)     %s\n", av[6]);
        printf("  audit log records          %s\n", sv[7]);
        printf("  CURVE keys bound           %s (%u state responders, %u agency nodes, %u "
               "operator; broad %s)\n", kv[0], keys_responder, keys_agency, keys_operator, kv[1]);
        printf("  refused at the door        %s HELLOs, %s handshakes\n", kv[2], kv[3]);
    }
    for (int i = 0; i < 4; i++)
        free(kv[i]);
    for (int i = 0; i < 8; i++)
        free(sv[i]);
    for (int i = 0; i < 7; i++)
        free(av[i]);
    return 0;
}

/* While the agencies run: once a second, sample the switch's status (for
 * the progress line on a terminal and the report's plots). */
static void watch_agencies(const sim_options_t *o, const char *endpoint, pid_t agency,
                           int *ag_status, lexsim_watch_t *w)
{
    int progress = !o->quiet && isatty(STDERR_FILENO);
    if ((progress || o->html) && lexsim_watch_open(w, endpoint, LEXSIM_OPS_ORI) != 0)
        fprintf(stderr, "lexsim: cannot watch the switch; no progress or plots\n");
    for (;;) {
        if (waitpid(agency, ag_status, WNOHANG) == agency)
            return;
        if (!w->node) {
            usleep(50000);
            continue;
        }
        if (lexsim_watch_sample(w) == 0 && progress && w->n >= 2) {
            const lexsim_sample_t *a = &w->samples[w->n - 2], *b = &w->samples[w->n - 1];
            double dt = b->t_s - a->t_s > 0 ? b->t_s - a->t_s : 1;
            fprintf(stderr, "lexsim: %4.0f s  in %6.0f/s  out %6.0f/s  statuses %5.0f/s  "
                            "in flight %4llu  held %3llu  timeouts %llu\n",
                    b->t_s, (double)(b->received - a->received) / dt,
                    (double)(b->forwarded - a->forwarded) / dt,
                    (double)(b->statuses - a->statuses) / dt, (unsigned long long)b->in_flight,
                    (unsigned long long)b->held, (unsigned long long)b->timeouts);
        }
        /* about a second between samples, returning early when the agencies end */
        for (int i = 0; i < 10 && waitpid(agency, ag_status, WNOHANG) != agency; i++)
            lexsim_watch_idle(w, 100);
        if (kill(agency, 0) != 0)
            return;
    }
}

static int write_report(const sim_options_t *o, const char *data_dir, const char *sw_json,
                        const char *ag_json, const lexsim_watch_t *w)
{
    const char *names[] = {"sent", "answers", "unanswered", "rate_achieved", "received",
                           "routed", "statuses", "refused", "timeouts", "log_last_seq",
                           "by_decision", "latency_us"};
    char *v[12];
    for (int i = 0; i < 12; i++)
        v[i] = json_value(i < 4 || i == 11 ? ag_json : sw_json, names[i]);
    lexsim_summary_t s = {o->duration_s, o->rate, v[0], v[1], v[2], v[3], v[4], v[5],
                          v[6], v[7], v[8], v[9], v[10], v[11]};
    lexsim_state_decisions_t *states = calloc(lex_state_count, sizeof *states);
    size_t nstates = 0;
    int rc = states ? lexsim_report_decisions(data_dir, states, &nstates) : LEX_ENOMEM;
    if (rc == 0)
        rc = lexsim_report_html(o->html, &s, w->samples, w->n, states, nstates);
    if (rc != 0)
        fprintf(stderr, "lexsim: cannot write the report %s: %s\n", o->html, lex_strerror(rc));
    else if (!o->quiet)
        fprintf(stderr, "lexsim: report written to %s\n", o->html);
    free(states);
    for (int i = 0; i < 12; i++)
        free(v[i]);
    return rc;
}

static int parse_options(int argc, char **argv, sim_options_t *o)
{
    static const struct option opts[] = {
        {"duration", required_argument, 0, 't'}, {"rate", required_argument, 0, 'r'},
        {"json", no_argument, 0, 1},             {"workdir", required_argument, 0, 2},
        {"keep", no_argument, 0, 3},             {"locals", required_argument, 0, 4},
        {"drivers", required_argument, 0, 5},    {"durability", required_argument, 0, 6},
        {"federal-pct", required_argument, 0, 7}, {"html", required_argument, 0, 8},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->duration_s = 30;
    strcpy(o->rate, "400");
    o->locals_per_state = 40;
    o->drivers = 20000;
    o->durability = "sync";
    strcpy(o->federal_pct, "12");
    int c;
    while ((c = getopt_long(argc, argv, "t:r:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            o->duration_s = atof(optarg);
            if (o->duration_s <= 0 || o->duration_s > 86400) {
                fprintf(stderr, "lexsim: --duration wants seconds (1 to 86400)\n");
                return 2;
            }
            break;
        case 'r': snprintf(o->rate, sizeof o->rate, "%s", optarg); break;
        case 1: o->json = 1; break;
        case 2: o->workdir = optarg; break;
        case 3: o->keep = 1; break;
        case 4: o->locals_per_state = (unsigned)atoi(optarg); break;
        case 5: o->drivers = (unsigned)atoi(optarg); break;
        case 6: o->durability = optarg; break;
        case 7:
            if (atoi(optarg) < 0 || atoi(optarg) > 100 || strlen(optarg) > 3) {
                fprintf(stderr, "lexsim: --federal-pct wants 0 to 100\n");
                return 2;
            }
            snprintf(o->federal_pct, sizeof o->federal_pct, "%s", optarg);
            break;
        case 8: o->html = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexsim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->locals_per_state < 1 || o->drivers < 100) {
        fprintf(stderr, "lexsim: --locals must be >= 1 and --drivers >= 100\n");
        return 2;
    }
    return 0;
}

/* Makes dir/name.key and .pub; the public key into public_z85. */
static int make_key(const char *dir, const char *name, char public_z85[41])
{
    char prefix[PATH_MAX + 96], err[PATH_MAX + 128];
    lex_keypair_t kp;
    snprintf(prefix, sizeof prefix, "%s/%s", dir, name);
    unlink(strcat(strcpy(err, prefix), ".key"));
    unlink(strcat(strcpy(err, prefix), ".pub"));
    if (lex_keypair_generate(&kp) != 0 || lex_keyfile_write(prefix, name, &kp, err, sizeof err)) {
        fprintf(stderr, "lexsim: cannot make key %s: %s\n", name, err);
        return -1;
    }
    memcpy(public_z85, kp.public_z85, 41);
    memset(&kp, 0, sizeof kp);
    return 0;
}

/* One requesting node of the agency host and the ORIs its key may claim. */
typedef struct {
    char group[LEX_REQ_GROUP_MAX + 1];
    lex_buf_t oris;            /* "ORI ORI ..." */
} sim_group_t;

/* Agency keys: one per node of `lexnode agency` (a state's local, state and
 * tribal agencies together, or one federal family), bound to exactly the
 * ORIs that node registers. */
static int bind_agencies(FILE *f, const char *dir_path, const char *key_dir)
{
    lex_directory_t *dir = NULL;
    char err[PATH_MAX + 128];
    if (lex_directory_load(dir_path, &dir, err, sizeof err) != 0) {
        fprintf(stderr, "lexsim: %s\n", err);
        return -1;
    }
    size_t n = lex_directory_count(dir), ngroups = 0;
    sim_group_t *groups = calloc(n + 1, sizeof *groups);
    int rc = groups ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char g[LEX_REQ_GROUP_MAX + 1];
        const lex_agency_t *a = lex_directory_at(dir, i);
        if (lex_requester_group_of(a, g) != 0)
            continue;
        size_t j = 0;
        while (j < ngroups && strcmp(groups[j].group, g) != 0)
            j++;
        if (j == ngroups) {
            strcpy(groups[ngroups].group, g);
            lex_buf_init(&groups[ngroups++].oris);
        }
        if (groups[j].oris.len)
            lex_buf_append(&groups[j].oris, " ", 1);
        lex_buf_append(&groups[j].oris, a->ori, LEX_ORI_LEN);
    }
    for (size_t j = 0; rc == 0 && j < ngroups; j++) {
        char pub[41];
        if (groups[j].oris.failed || make_key(key_dir, groups[j].group, pub) != 0) {
            rc = -1;
            break;
        }
        fprintf(f, "@key|%s|sim-%.24s|agency|%.*s\n", pub, groups[j].group,
                (int)groups[j].oris.len, (const char *)groups[j].oris.data);
        keys_agency++;
    }
    for (size_t j = 0; j < ngroups; j++)
        lex_buf_free(&groups[j].oris);
    free(groups);
    lex_directory_destroy(&dir);
    return rc;
}

/* CURVE keys for every process, bound in the switch's directory as a real
 * deployment must: the switch's own; one per state responder (responder
 * role, that state's DMV ORI and states= that state alone); one per node
 * of the agency host (agency role, exactly its ORIs); and an operator key
 * for lexsim's own watcher at the national desk. No binding is broad. */
static int make_keys(const char *directory_path)
{
    char dir[PATH_MAX + 64], sub[PATH_MAX + 96], pub[41], ori[LEX_ORI_LEN + 1];
    snprintf(dir, sizeof dir, "%s/keys", work);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    FILE *f = fopen(directory_path, "a");
    if (!f)
        return -1;
    int rc = make_key(dir, "switch", pub);
    fprintf(f, "# CURVE keys of the simulation's processes\n");
    if (rc == 0 && (rc = make_key(dir, "desk", pub)) == 0) {
        fprintf(f, "@key|%s|sim-desk|operator|national %s\n", pub, LEXSIM_OPS_ORI);
        keys_operator++;
    }
    snprintf(sub, sizeof sub, "%s/responders", dir);
    if (rc == 0 && mkdir(sub, 0700) != 0 && errno != EEXIST)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < lex_state_count; i++) {
        if ((rc = make_key(sub, lex_states[i], pub)) != 0)
            break;
        lex_simdir_dmv_ori(lex_states[i], ori);
        fprintf(f, "@key|%s|sim-%s-dmv|responder|%s states=%s\n", pub, lex_states[i], ori,
                lex_states[i]);
        keys_responder++;
    }
    snprintf(sub, sizeof sub, "%s/agencies", dir);
    if (rc == 0 && mkdir(sub, 0700) != 0 && errno != EEXIST)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    /* the agencies' directory (written before) holds exactly their ORIs */
    char agencies_dir[PATH_MAX + 64];
    snprintf(agencies_dir, sizeof agencies_dir, "%s/directory.txt", work);
    if (rc == 0 && (f = fopen(directory_path, "a")) != NULL) {
        rc = bind_agencies(f, agencies_dir, sub);
        if (fclose(f) != 0)
            rc = -1;
    }
    return rc;
}

static int prepare_workdir(const sim_options_t *o)
{
    if (o->workdir) {
        snprintf(work, sizeof work, "%s", o->workdir);
        if (mkdir(work, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "lexsim: cannot create %s: %s\n", work, strerror(errno));
            return -1;
        }
    } else {
        snprintf(work, sizeof work, "/tmp/lexsim.XXXXXX");
        if (!mkdtemp(work)) {
            fprintf(stderr, "lexsim: cannot create a work directory: %s\n", strerror(errno));
            return -1;
        }
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/rules", work);
    mkdir(path, 0755);
    for (size_t i = 0; lex_scenario_rules[i]; i++) {
        snprintf(path, sizeof path, "%s/rules/%s", work, lex_scenario_rules_names[i]);
        if (write_file(path, lex_scenario_rules[i]) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/rules/shared", work);
    mkdir(path, 0755);
    for (size_t i = 0; lex_scenario_shared[i]; i++) {
        snprintf(path, sizeof path, "%s/rules/shared/%s", work, lex_scenario_shared_names[i]);
        if (write_file(path, lex_scenario_shared[i]) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/directory.txt", work);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    long n = lex_simdir_write(f, o->locals_per_state);
    if (fclose(f) != 0 || n <= 0)
        return -1;
    /* the switch's copy also knows lexsim's own operations desk, which the
     * agencies (who register every ORI of their directory) do not hold */
    snprintf(path, sizeof path, "%s/switch-directory.txt", work);
    f = fopen(path, "w");
    if (!f)
        return -1;
    long m = lex_simdir_write(f, o->locals_per_state);
    fprintf(f, "%s|state|OPS|DC|Simulation operations desk\n", LEXSIM_OPS_ORI);
    if (fclose(f) != 0 || m != n)
        return -1;
    if (make_keys(path) != 0)
        return -1;
    size_t nrules = 0;
    while (lex_scenario_rules[nrules])
        nrules++;
    if (!o->quiet)
        fprintf(stderr, "lexsim: work directory %s: %ld agencies, %zu rules files\n", work, n,
                nrules);
    return 0;
}

int main(int argc, char **argv)
{
    sim_options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    ssize_t len = readlink("/proc/self/exe", bindir, sizeof bindir - 1);
    if (len <= 0) {
        fprintf(stderr, "lexsim: cannot find my own directory\n");
        return 1;
    }
    bindir[len] = 0;
    *strrchr(bindir, '/') = 0;
    if (prepare_workdir(&o) != 0) {
        fprintf(stderr, "lexsim: cannot write the scenario into %s\n", work);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char endpoint[PATH_MAX + 64], p_data[PATH_MAX + 64], p_rules[PATH_MAX + 64],
        p_dir[PATH_MAX + 64], p_ready[PATH_MAX + 64], p_stats[PATH_MAX + 64],
        p_sready[PATH_MAX + 64], p_agency[PATH_MAX + 64], p_swlog[PATH_MAX + 64],
        p_stlog[PATH_MAX + 64], p_swdir[PATH_MAX + 64], drivers[16], duration[32], grace[16],
        p_swkey[PATH_MAX + 64], p_swpub[PATH_MAX + 64], p_stkeys[PATH_MAX + 64],
        p_agkeys[PATH_MAX + 64];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/switch.sock", work);
    snprintf(p_data, sizeof p_data, "%s/data", work);
    snprintf(p_rules, sizeof p_rules, "%s/rules", work);
    snprintf(p_dir, sizeof p_dir, "%s/directory.txt", work);
    snprintf(p_swdir, sizeof p_swdir, "%s/switch-directory.txt", work);
    snprintf(p_ready, sizeof p_ready, "%s/switch.ready", work);
    snprintf(p_stats, sizeof p_stats, "%s/switch-stats.json", work);
    snprintf(p_sready, sizeof p_sready, "%s/states.ready", work);
    snprintf(p_agency, sizeof p_agency, "%s/agency-stats.json", work);
    snprintf(p_swlog, sizeof p_swlog, "%s/switch.log", work);
    snprintf(p_stlog, sizeof p_stlog, "%s/states.log", work);
    snprintf(p_swkey, sizeof p_swkey, "%s/keys/switch.key", work);
    snprintf(p_swpub, sizeof p_swpub, "%s/keys/switch.pub", work);
    snprintf(p_stkeys, sizeof p_stkeys, "%s/keys/responders", work);
    snprintf(p_agkeys, sizeof p_agkeys, "%s/keys/agencies", work);
    {
        /* lexsim's own watcher connects with the desk's operator key */
        char desk[PATH_MAX + 64];
        snprintf(desk, sizeof desk, "%s/keys/desk.key", work);
        setenv("LEX_KEY", desk, 1);
        setenv("LEX_SWITCH_KEY", p_swpub, 1);
    }
    snprintf(drivers, sizeof drivers, "%u", o.drivers);
    snprintf(duration, sizeof duration, "%.3f", o.duration_s);
    snprintf(grace, sizeof grace, "%d", 7);
    unlink(p_ready);
    unlink(p_sready);

    char curve_opt[PATH_MAX + 96];
    snprintf(curve_opt, sizeof curve_opt, "curve_key=%s", p_swkey);
    char *sw_args[] = {NULL, "--bind-tcp", "", "--bind-ipc", endpoint, "--data", p_data,
                       "--rules", p_rules, "--directory", p_swdir, "--ready-file", p_ready,
                       "--stats-file", p_stats, "--durability", (char *)o.durability,
                       "--set", curve_opt, NULL};
    pid_t sw = spawn("lexswitch", sw_args, p_swlog), states = -1, agency = -1;
    lexsim_watch_t watch;
    memset(&watch, 0, sizeof watch);
    int status = 1;
    if (sw < 0 || wait_for_file(p_ready, sw, 15000) != 0) {
        fprintf(stderr, "lexsim: the switch did not start\n");
        show_log_tail("switch.log");
        goto stop;
    }
    char *st_args[] = {NULL, "state", "--connect", endpoint, "--drivers", drivers, "--vehicles",
                       drivers, "--ready-file", p_sready, "--key-dir", p_stkeys,
                       "--switch-key", p_swpub, NULL};
    states = spawn("lexnode", st_args, p_stlog);
    if (states < 0 || wait_for_file(p_sready, states, 60000) != 0) {
        fprintf(stderr, "lexsim: the state responders did not register\n");
        show_log_tail("states.log");
        goto stop;
    }
    char *ag_args[] = {NULL, "agency", "--connect", endpoint, "--directory", p_dir, "--rate",
                       o.rate, "--duration", duration, "--grace", grace, "--drivers", drivers,
                       "--vehicles", drivers, "--stats-file", p_agency,
                       "--federal-pct", o.federal_pct, "--key-dir", p_agkeys,
                       "--switch-key", p_swpub, "--quiet", NULL};
    agency = spawn("lexnode", ag_args, NULL);
    if (agency < 0)
        goto stop;
    int ag_status = 0;
    watch_agencies(&o, endpoint, agency, &ag_status, &watch);
    agency = -1;
    if (!WIFEXITED(ag_status) || WEXITSTATUS(ag_status) != 0) {
        fprintf(stderr, "lexsim: the agencies failed\n");
        goto stop;
    }
    status = 0;
stop:
    if (agency > 0)
        stop_process(agency, 5000);
    stop_process(states, 5000);
    if (stop_process(sw, 15000) != 0 && status == 0) {
        fprintf(stderr, "lexsim: the switch did not stop cleanly\n");
        show_log_tail("switch.log");
        status = 1;
    }
    if (status == 0) {
        char *sw_json = read_file(p_stats), *ag_json = read_file(p_agency);
        if (!sw_json || !ag_json) {
            fprintf(stderr, "lexsim: missing results (%s, %s)\n", p_stats, p_agency);
            status = 1;
        } else {
            print_summary(&o, sw_json, ag_json);
            if (o.html && write_report(&o, p_data, sw_json, ag_json, &watch) != 0)
                status = 1;
        }
        free(sw_json);
        free(ag_json);
    }
    lexsim_watch_close(&watch);
    if (o.workdir || o.keep || status != 0)
        fprintf(stderr, "lexsim: work directory kept: %s (audit log in %s)\n", work, p_data);
    else
        nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return status;
}
