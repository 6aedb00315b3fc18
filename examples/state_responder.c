/* state_responder.c: a minimal state records system plugged into a lexswitch
 * through liblexnode. It answers Nevada's DQ (by licence), KQ and RQ (by
 * plate) from a small table in memory; anything else gets ST no-record.
 * Build: cc state_responder.c $(pkg-config --cflags --libs lexnode)
 * Run:   ./a.out ipc:///tmp/lexswitch.sock   (key files via LEX_KEY/LEX_SWITCH_KEY) */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <lexnode.h>

static const struct { const char *lic, *name, *dob, *plate, *make; } people[] = {
    {"N1000001", "DOE,JANE", "1984-07-12", "NVX001", "SUBARU"},
    {"N1000002", "ROE,RICHARD", "1971-01-30", "NVX002", "FORD"},
};
static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

/* Fills body with the answer to q, or returns 0 when nobody matches. */
static int answer(const lex_node_msg_t *q, lex_fields_t *body)
{
    char lic[32] = "", plate[32] = "";
    lex_node_msg_str(q, "lic", lic, sizeof lic);
    lex_node_msg_str(q, "plate", plate, sizeof plate);
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++) {
        if (strcmp(q->key, "RQ") == 0 && strcmp(plate, people[i].plate) == 0) {
            lex_fields_record(body, "vehicles");
            lex_fields_str(body, "plate", people[i].plate);
            lex_fields_str(body, "make", people[i].make);
            lex_fields_end_record(body);
            return lex_fields_int(body, "count", 1) == 0;
        }
        if (strcmp(lic, people[i].lic) != 0)
            continue;
        if (strcmp(q->key, "KQ") == 0) {
            lex_fields_str(body, "lic", lic);
            lex_fields_list(body, "history");   /* a clean record */
            return 1;
        }
        lex_fields_record(body, "records");
        lex_fields_str(body, "lic", lic);
        lex_fields_str(body, "name", people[i].name);
        lex_fields_str(body, "dob", people[i].dob);
        lex_fields_end_record(body);
        return lex_fields_int(body, "count", 1) == 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *oris[] = {"NVDMV0000"}, *states[] = {"NV"}, *keys[] = {"DQ", "KQ", "RQ"};
    lex_node_config_t cfg = {.endpoint = argc > 1 ? argv[1] : "tcp://127.0.0.1:7400",
                             .role = "state", .oris = oris, .noris = 1, .states = states,
                             .nstates = 1, .keys = keys, .nkeys = 3};
    char err[256] = "";
    lex_node_t *node = NULL;
    lex_fields_t *body = lex_fields_new();
    if (!body || lex_node_new_err(&cfg, &node, err, sizeof err) != 0 ||
        lex_node_wait_ready(node, 10000) != 0) {
        fprintf(stderr, "state_responder: %s\n", node ? lex_node_error(node) : err);
        lex_node_destroy(&node);
        lex_fields_destroy(&body);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("state_responder: registered as %s\n", oris[0]);
    fflush(stdout);
    while (!stop) {
        lex_node_msg_t q;
        if (lex_node_next(node, &q, 200) != 0 || !q.is_query)
            continue;
        lex_fields_clear(body);
        int rc = answer(&q, body) ? lex_node_reply(node, &q, body)
                                  : lex_node_reply_status(node, &q, LEX_ST_NO_RECORD, "no record");
        if (rc != 0)
            fprintf(stderr, "state_responder: cannot answer: %s\n", lex_strerror(rc));
    }
    lex_node_destroy(&node);
    lex_fields_destroy(&body);
    return 0;
}
