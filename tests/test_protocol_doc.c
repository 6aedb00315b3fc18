/* test_protocol_doc.c: docs/PROTOCOL.md against the code. Every message key
 * of the compiled catalogue has its row in the "Catalogue" table with the
 * same class, pair, fields and rules, and every status code its row in
 * "Status codes", so the page an implementer reads cannot drift. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_catalogue.h"
#include "lex_status.h"

static char *read_doc(void)
{
    FILE *f = fopen(LEX_SOURCE_DIR "/docs/PROTOCOL.md", "r");
    cr_assert_not_null(f);
    static char text[256 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

static void append(char *row, size_t size, const char *fmt, const char *a, const char *b)
{
    size_t used = strlen(row);
    snprintf(row + used, size - used, fmt, a, b);
}

/* The row as docs/PROTOCOL.md writes it. */
static void expected_row(const lex_msgdef_t *d, char *row, size_t size)
{
    static const char *classes[] = {"query", "response", "admin", "status", "session", "operator"};
    static const char *types[] = {"str", "int", "bool", "bin", "array", "map"};
    snprintf(row, size, "| `%s` | %s | ", d->key, classes[d->cls]);
    append(row, size, d->pair[0] ? "`%s`%s" : "-%s%s", d->pair[0] ? d->pair : "", "");
    append(row, size, "%s%s", " | ", d->nfields ? "" : "(empty)");
    for (uint32_t i = 0; i < d->nfields; i++) {
        const lex_field_t *f = &d->fields[i];
        char flags[4] = "";
        if (f->required)
            strcat(flags, "!");
        if (f->personal)
            strcat(flags, "*");
        char max[24] = "";
        if (f->max)
            snprintf(max, sizeof max, "(%u)", f->max);
        append(row, size, "%s`%s`", i ? ", " : "", f->name);
        append(row, size, "%s %s", flags, types[f->type]);
        append(row, size, "%s%s", max, "");
    }
    append(row, size, "%s%s", " | ", "");
    for (uint32_t g = 0; g < d->ngroups; g++) {
        append(row, size, "%s%s", g ? "; " : "", d->groups[g].kind == 0 ? "anyof" : "together");
        for (uint32_t j = 0; j < d->groups[g].n; j++)
            append(row, size, " %s%s", d->fields[d->groups[g].field[j]].name, "");
    }
    append(row, size, "%s%s", " |", "");
}

Test(protocol_doc, every_catalogue_key_has_its_row)
{
    const char *doc = read_doc();
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    cr_assert_gt(lex_catalogue_count(cat), 10);
    for (size_t i = 0; i < lex_catalogue_count(cat); i++) {
        char row[2048];
        expected_row(lex_catalogue_at(cat, i), row, sizeof row);
        cr_expect(strstr(doc, row) != NULL, "docs/PROTOCOL.md lacks the row:\n%s", row);
    }
}

Test(protocol_doc, every_status_code_has_its_row)
{
    const char *doc = read_doc();
    int listed = 0;
    for (int code = 0; code < 64; code++) {
        const char *name = lex_status_name(code);
        if (strcmp(name, "unknown") == 0)
            continue;
        char row[96];
        snprintf(row, sizeof row, "| %d | %s |", code, name);
        cr_expect(strstr(doc, row) != NULL, "docs/PROTOCOL.md lacks status %s", row);
        listed++;
    }
    cr_assert_gt(listed, 20);
}
