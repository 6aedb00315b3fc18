/* fuzz_config.c: the switch's config file loader, lex_switch_config_load,
 * which reads a path: each input is written to a scratch file and loaded
 * over the defaults. A refusal must say where; whatever is accepted must
 * leave every option within its documented range; a file of comments must
 * leave the defaults as they were. */
#include <string.h>
#include "fuzz.h"
#include "lex_error.h"
#include "lex_switch.h"

static void check_config(const lex_switch_config_t *cfg)
{
    const char *paths[] = {cfg->bind_tcp,  cfg->bind_ipc,   cfg->data_dir,  cfg->rules_dir,
                           cfg->directory, cfg->ready_file, cfg->stats_file};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        FUZZ_CHECK(strnlen(paths[i], LEX_PATH_MAX) < LEX_PATH_MAX);
    FUZZ_CHECK(cfg->durability == LEX_DURABILITY_SYNC || cfg->durability == LEX_DURABILITY_BATCH ||
               cfg->durability == LEX_DURABILITY_NONE);
    FUZZ_CHECK(cfg->query_timeout_ms >= 10 && cfg->query_timeout_ms <= 3600000);
    FUZZ_CHECK(cfg->heartbeat_ms >= 50 && cfg->heartbeat_ms <= 600000);
    FUZZ_CHECK(cfg->dead_after_ms >= 100 && cfg->dead_after_ms <= 3600000);
    FUZZ_CHECK(cfg->drain_ms >= 0 && cfg->drain_ms <= 600000);
    FUZZ_CHECK(cfg->hold_expiry_s >= 1 && cfg->hold_expiry_s <= 31536000);
    FUZZ_CHECK(cfg->verbose >= 0 && cfg->verbose <= 2);
}

/* 1 when every line of the input is blank or a comment. */
static int only_comments(const uint8_t *data, size_t size)
{
    int start = 1, in_comment = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (c == '\n') {
            start = 1, in_comment = 0;
        } else if (in_comment) {
        } else if (c == '#') {
            in_comment = 1;
        } else if (!(c == ' ' || c == '\t' || c == '\r') || !start) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    FUZZ_CHECK(fuzz_tmp_write("switch.conf", data, size, path, sizeof path) == 0);
    lex_switch_config_t cfg;
    lex_switch_config_defaults(&cfg);
    char err[1024] = "";
    int rc = lex_switch_config_load(&cfg, path, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(rc == LEX_EPARSE);
        FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
    }
    check_config(&cfg);
    if (only_comments(data, size)) { /* nothing in a comment takes effect */
        lex_switch_config_t defaults;
        lex_switch_config_defaults(&defaults);
        FUZZ_CHECK(rc == 0 || strstr(err, "line longer than") != NULL ||
                   strstr(err, "NUL byte") != NULL);
        FUZZ_CHECK(memcmp(&cfg, &defaults, sizeof cfg) == 0);
    }
    return 0;
}
