/* simdir.c: writes the simulation's synthetic agency directory
 * (lex_simdir.h; line format in docs/PROTOCOL.md, "Agency directory").
 * Every jurisdiction gets its DMV responder, its state police and a run of
 * police departments and sheriffs; some get tribal police; federal field
 * offices sit in about twenty states. The same size always gives the same
 * lines, and no two lines share an ORI. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "lex_error.h"
#include "lex_simdir.h"
#include "lex_states.h"

/* Towns that name police departments. */
static const char *const towns[] = {
    "Springfield", "Riverton",    "Fairview",    "Greenville",  "Clayton",     "Milton",
    "Ashland",     "Burlington",  "Georgetown",  "Salem",       "Oxford",      "Dover",
    "Hudson",      "Lexington",   "Arlington",   "Chester",     "Winchester",  "Bristol",
    "Newport",     "Auburn",      "Kingston",    "Pleasanton",  "Lakewood",    "Cedar Grove",
    "Maple Ridge", "Elk City",    "Red Oak",     "Stony Point", "Harmony",     "Westfield",
    "Easton",      "Norwood",     "Brighton",    "Centerville", "Oakdale",     "Millbrook",
    "Silver Lake", "Hampton",     "Bayport",     "Granite Falls", "Pine Hollow", "Eagle Pass",
    "Rock Creek",  "Sandy Bend",  "Willow Park", "Crescent City", "Bluff Springs", "Hollister",
    "Summerdale",  "Northgate",   "Brookhaven",  "Mount Vernon", "Port Haven",  "Clearwater",
    "Three Rivers", "Shady Grove", "Prairie View", "Fort Bellamy", "Glen Ellis", "Owl Ridge",
};
#define NTOWNS (sizeof towns / sizeof towns[0])

/* Counties that name sheriff's offices. */
static const char *const counties[] = {
    "Washington", "Jefferson", "Franklin", "Jackson",   "Lincoln",  "Madison",  "Monroe",
    "Clay",       "Marion",    "Union",    "Warren",    "Greene",   "Wayne",    "Grant",
    "Carroll",    "Polk",      "Adams",    "Lake",      "Hamilton", "Marshall", "Douglas",
    "Clark",      "Johnson",   "Henry",    "Lee",       "Crawford", "Morgan",   "Benton",
    "Fayette",    "Shelby",    "Hancock",  "Lawrence",  "Perry",    "Scott",    "Putnam",
    "Randolph",   "Boone",     "Calhoun",  "Knox",      "Mercer",   "Pike",     "Sullivan",
};
#define NCOUNTIES (sizeof counties / sizeof counties[0])

/* Tribal police agencies, one per listed state. */
static const struct {
    const char *state;
    const char *name;
} tribal[] = {
    {"AZ", "Navajo Nation Police Department"},
    {"NM", "Pueblo Tribal Police Department"},
    {"OK", "Cherokee Nation Marshal Service"},
    {"SD", "Oglala Sioux Tribe Public Safety"},
    {"ND", "Standing Rock Tribal Police"},
    {"MT", "Blackfeet Law Enforcement Services"},
    {"WA", "Yakama Nation Tribal Police"},
    {"MN", "Red Lake Tribal Police Department"},
    {"WI", "Menominee Tribal Police Department"},
    {"NV", "Pyramid Lake Tribal Police"},
    {"UT", "Ute Tribal Police Department"},
    {"AK", "Metlakatla Tribal Police"},
    {"NY", "Seneca Nation Marshals"},
    {"OR", "Warm Springs Tribal Police"},
    {"ID", "Nez Perce Tribal Police"},
    {"WY", "Wind River Tribal Police"},
    {"NC", "Cherokee Indian Police Department"},
    {"CA", "Hoopa Valley Tribal Police"},
};
#define NTRIBAL (sizeof tribal / sizeof tribal[0])

/* Federal field offices: the state and a two-letter code of the office's
 * city (it forms part of the ORI), and whether the office watches a land
 * border or a major port (CBP is present only there). */
static const struct {
    const char *state;
    const char *code;
    const char *city;
    int border;
} offices[] = {
    {"CA", "LA", "Los Angeles", 1},   {"CA", "SF", "San Francisco", 1},
    {"CA", "SD", "San Diego", 1},     {"TX", "HO", "Houston", 1},
    {"TX", "DA", "Dallas", 0},        {"TX", "EP", "El Paso", 1},
    {"TX", "SA", "San Antonio", 1},   {"AZ", "PX", "Phoenix", 1},
    {"NM", "AQ", "Albuquerque", 1},   {"NY", "NY", "New York", 1},
    {"NY", "BF", "Buffalo", 1},       {"FL", "MM", "Miami", 1},
    {"FL", "TP", "Tampa", 0},         {"IL", "CG", "Chicago", 0},
    {"WA", "SE", "Seattle", 1},       {"DC", "WF", "Washington", 0},
    {"GA", "AT", "Atlanta", 0},       {"MA", "BS", "Boston", 1},
    {"MN", "MP", "Minneapolis", 0},   {"NJ", "NK", "Newark", 1},
    {"PA", "PH", "Philadelphia", 0},  {"MI", "DE", "Detroit", 1},
    {"CO", "DN", "Denver", 0},        {"NV", "LV", "Las Vegas", 0},
    {"LA", "NO", "New Orleans", 1},   {"MD", "BA", "Baltimore", 0},
    {"VA", "NF", "Norfolk", 1},       {"OR", "PD", "Portland", 0},
};
#define NOFFICES (sizeof offices / sizeof offices[0])

/* The federal families, the three characters each puts in an ORI, and how
 * its offices are titled. */
static const struct {
    const char *family;
    const char *tag;
    const char *title;
    const char *suffix;
    int border_only;
} agencies[] = {
    {"FBI", "FBI", "FBI", "Field Office", 0},
    {"ICE-ERO", "ICE", "ICE Enforcement and Removal Operations", "Field Office", 0},
    {"HSI", "HSI", "Homeland Security Investigations", "Special Agent in Charge", 0},
    {"CBP", "CBP", "Customs and Border Protection", "Field Office", 1},
    {"USMS", "USM", "U.S. Marshals Service", "District Office", 0},
    {"DEA", "DEA", "DEA", "Field Division", 0},
    {"ATF", "ATF", "ATF", "Field Division", 0},
};
#define NAGENCIES (sizeof agencies / sizeof agencies[0])

/* Police departments and sheriffs a state can hold: ORIs are
 * <ST><county:3><agency:2>00, sheriffs take even agency numbers and police
 * departments odd ones, 999 counties a round, 50 rounds. */
#define MAX_LOCALS (999u * 50u * 2u)

static const char *const levels[] = {"local", "state", "federal", "tribal"};
enum { LOCAL, STATE, FEDERAL, TRIBAL };

static uint32_t spread(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

static int line(FILE *f, const char *ori, int level, const char *family, const char *home,
                const char *name)
{
    return fprintf(f, "%s|%s|%s|%s|%s\n", ori, levels[level], family, home, name) < 0 ? -1 : 0;
}

void lex_simdir_dmv_ori(const char *state, char out[10])
{
    out[0] = state[0];
    out[1] = state[1];
    memcpy(out + 2, "DMV0000", 8);
}

static long write_state(FILE *f, size_t s, unsigned locals)
{
    const char *st = lex_states[s], *full = lex_state_names[s];
    char ori[16], name[96];
    long n = 0;
    int bad = 0;

    lex_simdir_dmv_ori(st, ori);
    snprintf(name, sizeof name, "%s Department of Motor Vehicles", full);
    bad |= line(f, ori, STATE, "DMV", st, name);
    snprintf(ori, sizeof ori, "%sSP00000", st);
    snprintf(name, sizeof name, "%s State Police", full);
    bad |= line(f, ori, STATE, "SP", st, name);
    /* the state's review desk: its operators approve or deny held queries */
    snprintf(ori, sizeof ori, "%sOPS0000", st);
    snprintf(name, sizeof name, "%s Records Review Desk", full);
    bad |= line(f, ori, STATE, "OPS", st, name);
    n += 3;

    for (unsigned i = 0; i < locals; i++) {
        unsigned pair = i / 2, round = pair / 999, county = pair % 999 + 1;
        int sheriff = i % 2 == 1;
        unsigned agency = round * 2 + (sheriff ? 0 : 1);
        uint32_t pick = spread((uint32_t)(s * 100003u + pair));
        snprintf(ori, sizeof ori, "%s%03u%02u00", st, county, agency);
        if (sheriff)
            snprintf(name, sizeof name, "%s County Sheriff's Office",
                     counties[pick % NCOUNTIES]);
        else if (round == 0)
            snprintf(name, sizeof name, "%s Police Department", towns[pick % NTOWNS]);
        else
            snprintf(name, sizeof name, "%s Police Department No. %u", towns[pick % NTOWNS],
                     round + 1);
        bad |= line(f, ori, LOCAL, sheriff ? "SO" : "PD", st, name);
        n++;
    }

    for (size_t t = 0; t < NTRIBAL; t++)
        if (strcmp(tribal[t].state, st) == 0) {
            snprintf(ori, sizeof ori, "%sTPD0001", st);
            bad |= line(f, ori, TRIBAL, "TPD", st, tribal[t].name);
            n++;
        }

    for (size_t o = 0; o < NOFFICES; o++) {
        if (strcmp(offices[o].state, st) != 0)
            continue;
        for (size_t a = 0; a < NAGENCIES; a++) {
            if (agencies[a].border_only && !offices[o].border)
                continue;
            snprintf(ori, sizeof ori, "%s%s%s00", st, agencies[a].tag, offices[o].code);
            snprintf(name, sizeof name, "%s %s %s", agencies[a].title, offices[o].city,
                     agencies[a].suffix);
            bad |= line(f, ori, FEDERAL, agencies[a].family, st, name);
            n++;
        }
    }
    return bad ? LEX_EIO : n;
}

long lex_simdir_write(FILE *f, unsigned locals_per_state)
{
    if (!f || locals_per_state < 1 || locals_per_state > MAX_LOCALS)
        return LEX_EINVAL;
    long total = 0;
    if (fprintf(f, "# lexswitch simulation agency directory (%u locals a state)\n"
                   "# ORI|level|family|home_state|name\n",
                locals_per_state) < 0)
        return LEX_EIO;
    for (size_t s = 0; s < lex_state_count; s++) {
        long n = write_state(f, s, locals_per_state);
        if (n < 0)
            return n;
        total += n;
    }
    if (fflush(f) != 0 || ferror(f))
        return LEX_EIO;
    return total;
}
