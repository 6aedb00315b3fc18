/* stats.c: the switch's counters (messages by key, decisions, refusals) and
 * the JSON file it writes when it stops, which lexsim reads for its summary. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "switch_internal.h"

void lex_stats_count_key(lex_switch_t *sw, const char *key)
{
    size_t len = strlen(key);
    uintptr_t n = (uintptr_t)lex_table_get(sw->stats.by_key, key, len);
    lex_table_put(sw->stats.by_key, key, len, (void *)(n + 1));
}

typedef struct {
    FILE *f;
    int first;
} json_each_t;

static void write_key(const void *key, size_t len, void *value, void *arg)
{
    json_each_t *j = arg;
    fprintf(j->f, "%s\"%.*s\": %llu", j->first ? "" : ", ", (int)len, (const char *)key,
            (unsigned long long)(uintptr_t)value);
    j->first = 0;
}

int lex_stats_write(lex_switch_t *sw, const char *path)
{
    char tmp[LEX_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    const stats_t *s = &sw->stats;
    fprintf(f, "{\"received\": %llu, \"routed\": %llu, \"statuses\": %llu, \"refused\": %llu, "
               "\"bad_frames\": %llu, \"timeouts\": %llu, \"send_failures\": %llu, ",
            (unsigned long long)s->received, (unsigned long long)s->forwarded,
            (unsigned long long)s->statuses, (unsigned long long)s->refused,
            (unsigned long long)s->bad_frames, (unsigned long long)s->timeouts,
            (unsigned long long)s->send_failures);
    fprintf(f, "\"by_decision\": {\"allow\": %llu, \"deny\": %llu, \"redact\": %llu, "
               "\"review\": %llu}, ",
            (unsigned long long)s->by_decision[0], (unsigned long long)s->by_decision[1],
            (unsigned long long)s->by_decision[2], (unsigned long long)s->by_decision[3]);
    fprintf(f, "\"by_key\": {");
    json_each_t j = {f, 1};
    lex_table_each(s->by_key, write_key, &j);
    fprintf(f, "}, \"log_last_seq\": %llu}\n", (unsigned long long)lex_log_last_seq(sw->log));
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return rename(tmp, path);
}
