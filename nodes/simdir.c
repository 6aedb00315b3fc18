/* simdir.c: the simulation's synthetic agency directory (lex_simdir.h).
 * Per jurisdiction: its DMV (the responder), state police, local police
 * departments and sheriffs; tribal police in states with large tribal
 * lands; federal field offices in twenty states. ORIs follow the real
 * shape: two letters of the state, then seven characters. */
#include <stdio.h>
#include <string.h>
#include "lex_error.h"
#include "lex_simdir.h"
#include "lex_states.h"

static const char *const places[] = {
    "Riverton",  "Fairview",   "Oak Hill",  "Lakeside",  "Cedar Falls", "Milford",
    "Greenwood", "Ashland",    "Brookside", "Clinton",   "Dover",       "Franklin",
    "Georgetown", "Hudson",    "Jackson",   "Kingston",  "Lebanon",     "Madison",
    "Newport",   "Oxford",     "Pine Bluff", "Quincy",   "Salem",       "Troy",
    "Union",     "Vernon",     "Warren",    "Bristol",   "Camden",      "Dayton",
    "Easton",    "Fulton",     "Glendale",  "Harrison",  "Jefferson",   "Lincoln",
    "Marion",    "Monroe",     "Princeton", "Richmond",  "Shelby",      "Sterling",
};
#define NPLACES (sizeof places / sizeof places[0])

static const char *const tribal_states[] = {"AZ", "NM", "OK", "SD", "MT", "WA", "MN", "ND", "NV",
                                            "WI", "AK", "NY", "UT", "CA", "ID", "OR", "WY", "NE"};

static const char *const federal_states[] = {"CA", "TX", "NY", "FL", "IL", "WA", "AZ",
                                             "DC", "GA", "MA", "MN", "NJ", "PA", "MI",
                                             "CO", "NV", "OR", "LA", "MD", "VA"};

static const char *const border_states[] = {"CA", "TX", "AZ", "NY", "FL", "WA", "MI"};

typedef struct {
    const char *family;
    const char *code;   /* three letters in the ORI */
    const char *title;
} federal_t;

static const federal_t federal[] = {
    {"FBI", "FBI", "FBI Field Office"},
    {"ICE-ERO", "ICE", "ICE Enforcement and Removal Operations"},
    {"HSI", "HSI", "Homeland Security Investigations"},
    {"CBP", "CBP", "Customs and Border Protection"},
    {"USMS", "USM", "U.S. Marshals Service"},
    {"DEA", "DEA", "Drug Enforcement Administration"},
    {"ATF", "ATF", "Bureau of Alcohol, Tobacco, Firearms and Explosives"},
};

static int listed(const char *state, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], state) == 0)
            return 1;
    return 0;
}

void lex_simdir_dmv_ori(const char *state, char out[10])
{
    snprintf(out, 10, "%.2sDMV0000", state);
}

long lex_simdir_write(FILE *f, unsigned locals_per_state)
{
    if (locals_per_state < 1 || locals_per_state > 1998)
        return LEX_EINVAL;
    long count = 0;
    fprintf(f, "# lexswitch simulation agency directory: ORI|level|family|home_state|name\n");
    for (size_t s = 0; s < lex_state_count; s++) {
        const char *st = lex_states[s], *name = lex_state_names[s];
        fprintf(f, "%sDMV0000|state|DMV|%s|%s Motor Vehicle Records\n", st, st, name);
        fprintf(f, "%sSP00000|state|SP|%s|%s State Police\n", st, st, name);
        count += 2;
        for (unsigned i = 0; i < locals_per_state; i++) {
            unsigned county = i / 2 + 1;
            const char *place = places[(s * 7 + county) % NPLACES];
            if (i % 2 == 0)
                fprintf(f, "%s%03u0000|local|PD|%s|%s Police Department\n", st, county, st,
                        place);
            else
                fprintf(f, "%s%03u0100|local|SO|%s|%s County Sheriff's Office\n", st, county, st,
                        place);
            count++;
        }
        if (listed(st, tribal_states, sizeof tribal_states / sizeof tribal_states[0])) {
            fprintf(f, "%sTPD0001|tribal|TPD|%s|%s Tribal Police\n", st, st, name);
            count++;
        }
        if (!listed(st, federal_states, sizeof federal_states / sizeof federal_states[0]))
            continue;
        for (size_t k = 0; k < sizeof federal / sizeof federal[0]; k++) {
            if (strcmp(federal[k].family, "CBP") == 0 &&
                !listed(st, border_states, sizeof border_states / sizeof border_states[0]))
                continue;
            fprintf(f, "%s%s0001|federal|%s|%s|%s, %s\n", st, federal[k].code, federal[k].family,
                    st, federal[k].title, name);
            count++;
        }
    }
    return ferror(f) ? LEX_EIO : count;
}
