/* population.c: the synthetic drivers and vehicles a state responder answers
 * from (lex_population.h). Every field of record i is a pure function of
 * (state, i); licence numbers, plates and VINs are invertible encodings of
 * the index, so look-ups cost a multiplication, not a table. It holds no
 * real person's data and must never read any: everything here is invented. */
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_population.h"
#include "lex_status.h"

/* ---- name and place lists (uppercase, as DMV records print them) ---- */

static const char *const surnames[] = {
    "SMITH",    "JOHNSON",  "WILLIAMS",  "BROWN",     "JONES",     "GARCIA",   "MILLER",
    "DAVIS",    "MARTINEZ", "HERNANDEZ", "LOPEZ",     "WILSON",    "ANDERSON", "TAYLOR",
    "THOMAS",   "MOORE",    "JACKSON",   "MARTIN",    "LEE",       "THOMPSON", "WHITE",
    "HARRIS",   "CLARK",    "LEWIS",     "ROBINSON",  "WALKER",    "YOUNG",    "ALLEN",
    "KING",     "WRIGHT",   "SCOTT",     "TORRES",    "NGUYEN",    "HILL",     "FLORES",
    "GREEN",    "ADAMS",    "NELSON",    "BAKER",     "HALL",      "RIVERA",   "CAMPBELL",
    "MITCHELL", "CARTER",   "ROBERTS",   "PHILLIPS",  "EVANS",     "TURNER",   "PARKER",
    "COLLINS",  "EDWARDS",  "STEWART",   "MORRIS",    "MURPHY",    "COOK",     "ROGERS",
    "MORGAN",   "COOPER",   "PETERSON",  "REED",      "BAILEY",    "KELLY",    "HOWARD",
    "COX",      "WARD",     "WATSON",    "BROOKS",    "BENNETT",   "GRAY",     "HUGHES",
    "PRICE",    "SANDERS",  "MYERS",     "LONG",      "FOSTER",    "SULLIVAN", "SCHMIDT",
    "KOWALSKI", "NOVAK",    "OKAFOR",    "NAKAMURA",  "TANAKA",    "CHEN",     "WANG",
    "SINGH",    "PATEL",    "TRAN",      "PHAM",      "KIM",       "PARK",     "YAZZIE",
    "BEGAY",    "OBRIEN",   "MCCARTHY",  "FISCHER",   "LINDQUIST", "ROMERO",   "CASTILLO",
    "DELGADO",  "ORTEGA",   "FIGUEROA",  "SOTO",      "VARGAS",    "HAYES",    "BUTLER",
};
#define NSURNAMES (sizeof surnames / sizeof surnames[0])

static const char *const male_names[] = {
    "JAMES",   "ROBERT",  "JOHN",     "MICHAEL", "DAVID",   "WILLIAM", "RICHARD",  "JOSEPH",
    "THOMAS",  "CHARLES", "DANIEL",   "MATTHEW", "ANTHONY", "MARK",    "DONALD",   "STEVEN",
    "ANDREW",  "PAUL",    "JOSHUA",   "KENNETH", "KEVIN",   "BRIAN",   "GEORGE",   "TIMOTHY",
    "RONALD",  "JASON",   "EDWARD",   "JEFFREY", "RYAN",    "JACOB",   "GARY",     "NICHOLAS",
    "ERIC",    "STEPHEN", "LARRY",    "JUSTIN",  "SCOTT",   "BRANDON", "BENJAMIN", "SAMUEL",
    "GREGORY", "PATRICK", "FRANK",    "RAYMOND", "DENNIS",  "TYLER",   "AARON",    "JOSE",
    "ADAM",    "NATHAN",  "HENRY",    "ZACHARY", "DOUGLAS", "PETER",   "KYLE",     "NOAH",
    "CARLOS",  "LUIS",    "MIGUEL",   "DEREK",   "MARCUS",  "TREVOR",  "HECTOR",   "WESLEY",
};
#define NMALE (sizeof male_names / sizeof male_names[0])

static const char *const female_names[] = {
    "MARY",     "PATRICIA", "JENNIFER", "LINDA",    "ELIZABETH", "BARBARA",  "SUSAN",
    "JESSICA",  "SARAH",    "KAREN",    "LISA",     "NANCY",     "BETTY",    "SANDRA",
    "MARGARET", "ASHLEY",   "KIMBERLY", "EMILY",    "DONNA",     "MICHELLE", "CAROL",
    "AMANDA",   "MELISSA",  "DEBORAH",  "STEPHANIE", "DOROTHY",  "REBECCA",  "SHARON",
    "LAURA",    "CYNTHIA",  "AMY",      "KATHLEEN", "ANGELA",    "BRENDA",   "EMMA",
    "ANNA",     "PAMELA",   "NICOLE",   "SAMANTHA", "CHRISTINE", "HELEN",    "RACHEL",
    "JANET",    "MARIA",    "CATHERINE", "HEATHER", "DIANE",     "OLIVIA",   "JULIE",
    "VICTORIA", "RUTH",     "LAUREN",   "MEGAN",    "ROSA",      "GLORIA",   "TERESA",
    "ALICIA",   "YOLANDA",  "NAOMI",    "SOPHIA",   "GRACE",     "CHLOE",    "VANESSA",
};
#define NFEMALE (sizeof female_names / sizeof female_names[0])

/* Surnames that appear in no record: requesters use them to ask for people
 * who do not exist. None of them may be in surnames[]. */
static const char *const absent_surnames[] = {
    "QUILLANDER", "VORSTMANN", "ZEPHYRINE", "KALDWELLYN", "MOROSKAYA", "FENNIMORT",
    "BRACKENHOLT", "OSTERVILLE",
};
#define NABSENT (sizeof absent_surnames / sizeof absent_surnames[0])

static const char *const streets[] = {
    "MAIN",    "OAK",      "PINE",     "MAPLE",  "CEDAR",   "ELM",     "WASHINGTON", "LAKE",
    "HILL",    "PARK",     "WALNUT",   "SPRING", "NORTH",   "RIDGE",   "CHURCH",     "WILLOW",
    "MILL",    "SUNSET",   "CHERRY",   "HIGHLAND", "FRANKLIN", "LINCOLN", "MEADOW",  "FOREST",
    "RIVER",   "BIRCH",    "SCHOOL",   "VALLEY", "DOGWOOD", "HICKORY", "ASPEN",      "PROSPECT",
    "CENTRAL", "ORCHARD",  "MADISON",  "GRANT",  "HARBOR",  "CANYON",  "PRAIRIE",    "SYCAMORE",
};
#define NSTREETS (sizeof streets / sizeof streets[0])

static const char *const street_kinds[] = {"ST", "AVE", "RD", "DR", "LN", "BLVD", "CT", "WAY",
                                           "PL", "CIR"};
#define NSTREET_KINDS (sizeof street_kinds / sizeof street_kinds[0])

static const char *const cities[] = {
    "SPRINGFIELD", "RIVERTON",    "FAIRVIEW",   "GREENVILLE", "MADISON",    "CLAYTON",
    "MILTON",      "ASHLAND",     "BURLINGTON", "CLINTON",    "GEORGETOWN", "SALEM",
    "MARION",      "OXFORD",      "DOVER",      "HUDSON",     "LEXINGTON",  "ARLINGTON",
    "FRANKLIN",    "CHESTER",     "WINCHESTER", "BRISTOL",    "NEWPORT",    "AUBURN",
    "DAYTON",      "LEBANON",     "KINGSTON",   "MONROE",     "PLEASANTON", "LAKEWOOD",
    "CEDAR GROVE", "MAPLE RIDGE", "PINE BLUFF", "ELK CITY",   "RED OAK",    "STONY POINT",
    "HARMONY",     "WESTFIELD",   "EASTON",     "NORWOOD",    "BRIGHTON",   "SHELBYVILLE",
    "CENTERVILLE", "OAKDALE",     "MILLBROOK",  "FOX HOLLOW", "SILVER LAKE", "HAMPTON",
};
#define NCITIES (sizeof cities / sizeof cities[0])

typedef struct {
    const char *make;
    const char *model;
    const char *type;  /* PC car, TK truck, MP multipurpose, VN van, MC motorcycle */
    const char *wmi;   /* first three VIN characters */
} model_t;

static const model_t models[] = {
    {"FORD", "F-150", "TK", "1FT"},          {"FORD", "ESCAPE", "MP", "1FM"},
    {"FORD", "FUSION", "PC", "3FA"},         {"FORD", "TRANSIT", "VN", "1FB"},
    {"CHEVROLET", "SILVERADO", "TK", "1GC"}, {"CHEVROLET", "MALIBU", "PC", "1G1"},
    {"CHEVROLET", "EQUINOX", "MP", "2GN"},   {"TOYOTA", "CAMRY", "PC", "4T1"},
    {"TOYOTA", "COROLLA", "PC", "2T1"},      {"TOYOTA", "RAV4", "MP", "2T3"},
    {"TOYOTA", "TACOMA", "TK", "3TM"},       {"HONDA", "CIVIC", "PC", "2HG"},
    {"HONDA", "ACCORD", "PC", "1HG"},        {"HONDA", "CR-V", "MP", "5J6"},
    {"NISSAN", "ALTIMA", "PC", "1N4"},       {"NISSAN", "ROGUE", "MP", "5N1"},
    {"JEEP", "WRANGLER", "MP", "1C4"},       {"JEEP", "CHEROKEE", "MP", "1C4"},
    {"RAM", "1500", "TK", "1C6"},            {"DODGE", "CHARGER", "PC", "2C3"},
    {"GMC", "SIERRA", "TK", "1GT"},          {"HYUNDAI", "ELANTRA", "PC", "5NP"},
    {"HYUNDAI", "TUCSON", "MP", "KM8"},      {"KIA", "SORENTO", "MP", "5XY"},
    {"SUBARU", "OUTBACK", "MP", "4S4"},      {"SUBARU", "FORESTER", "MP", "JF2"},
    {"TESLA", "MODEL 3", "PC", "5YJ"},       {"VOLKSWAGEN", "JETTA", "PC", "3VW"},
    {"BMW", "330I", "PC", "WBA"},            {"HARLEY-DAVIDSON", "STREET GLIDE", "MC", "1HD"},
    {"YAMAHA", "YZF-R3", "MC", "JYA"},       {"CHRYSLER", "PACIFICA", "VN", "2C4"},
};
#define NMODELS (sizeof models / sizeof models[0])

static const char *const colors[] = {"BLACK", "WHITE", "SILVER", "GRAY",  "BLUE",   "RED",
                                     "GREEN", "BROWN", "BEIGE",  "GOLD",  "MAROON", "ORANGE"};
#define NCOLORS (sizeof colors / sizeof colors[0])

static const char *const conviction_texts[] = {
    "SPEEDING 11-20 OVER LIMIT", "SPEEDING 21+ OVER LIMIT",  "FAILURE TO STOP AT SIGNAL",
    "DRIVING UNDER INFLUENCE",   "RECKLESS DRIVING",         "NO PROOF OF INSURANCE",
    "IMPROPER LANE CHANGE",      "FOLLOWING TOO CLOSELY",    "USING HANDHELD PHONE",
    "FAILURE TO YIELD",          "DRIVING WHILE SUSPENDED",  "EXPIRED REGISTRATION",
};
#define NCONVICTIONS (sizeof conviction_texts / sizeof conviction_texts[0])

static const char *const suspension_texts[] = {
    "FAILURE TO PAY FINE",      "FAILURE TO APPEAR",     "POINTS ACCUMULATION",
    "ADMIN PER SE ALCOHOL",     "NO INSURANCE ON FILE",  "CHILD SUPPORT ARREARS",
};
#define NSUSPENSIONS (sizeof suspension_texts / sizeof suspension_texts[0])

/* ---- code spaces ----
 * Licence: one letter + 8 digits; digits = (index * LIC_MUL + offset) mod
 * 10^8. Plate: 3 letters (no I, O, Q) + 4 digits over PLATE_SPACE codes.
 * VIN: positions 11..17 hold (index * VIN_MUL + offset) mod 10^7. Each
 * multiplier is coprime to its modulus; *_INV is its modular inverse. */
#define LIC_SPACE 100000000ULL
#define LIC_MUL 73939133ULL
#define LIC_INV 34267797ULL
#define PLATE_LETTERS "ABCDEFGHJKLMNPRSTUVWXYZ"
#define PLATE_SPACE 121670000ULL /* 23^3 * 10^4 */
#define PLATE_MUL 83492791ULL
#define PLATE_INV 115202311ULL
#define VIN_SPACE 10000000ULL
#define VIN_MUL 7368787ULL
#define VIN_INV 8341723ULL
#define VIN_CHARS "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
#define LIC_LETTERS "ABCDEFGHJKLMNPRSTUVWXYZ"

/* Sizes leave every code space room for misses (well-formed codes that
 * belong to nobody). */
#define MAX_DRIVERS 50000000u
#define MAX_VEHICLES 5000000u

/* Independent streams of one record's randomness. */
enum {
    S_PERSON = 1, S_DOB, S_HOME, S_LICENCE, S_LETTER, S_HISTORY, S_EVENT, S_VEHICLE,
    S_VDS, S_FLEET, S_PHOTO, S_SAMPLE,
};

typedef struct {
    uint64_t hash;   /* of "NAME|DOB" */
    uint32_t index;  /* driver */
} name_entry_t;

struct lex_population {
    char state[3];
    uint64_t seed;          /* from the state code; every record mixes it in */
    uint32_t ndrivers;
    uint32_t nvehicles;
    uint64_t lic_offset;    /* additive terms of the three code permutations */
    uint64_t plate_offset;
    uint64_t vin_offset;
    unsigned zip_prefix;    /* three leading zip digits of the state */
    name_entry_t *names;    /* ndrivers entries sorted by hash */
    uint32_t *owner;        /* nvehicles: registered owner of each vehicle */
    uint32_t *fleet_start;  /* ndrivers + 1: a driver's slice of fleet[] */
    uint32_t *fleet;        /* nvehicles: vehicle indexes grouped by owner */
};

/* ---- randomness ---- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint64_t draw(const lex_population_t *pop, uint64_t index, unsigned stream)
{
    return mix64(pop->seed ^ mix64(index * 0x100000001B3ULL + ((uint64_t)stream << 56)));
}

static uint64_t hash_bytes(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ULL;
    }
    return h;
}

static uint64_t name_hash(const char *name, const char *dob)
{
    uint64_t h = hash_bytes(0xCBF29CE484222325ULL, name);
    h = hash_bytes(h, "|");
    return mix64(hash_bytes(h, dob));
}

/* ---- small formatters: each writes at d, NUL-terminates, returns the end ---- */

static char *put(char *d, const char *s)
{
    while (*s)
        *d++ = *s++;
    *d = 0;
    return d;
}

static char *put_num(char *d, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *d++ = tmp[--n];
    *d = 0;
    return d;
}

static char *put_date(char *d, unsigned y, unsigned m, unsigned day)
{
    d = put_num(d, y, 4);
    *d++ = '-';
    d = put_num(d, m, 2);
    *d++ = '-';
    return put_num(d, day, 2);
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* A date in [y0, y1] from 64 random bits. */
static char *put_random_date(char *d, uint64_t r, unsigned y0, unsigned y1)
{
    unsigned y = y0 + (unsigned)(r % (y1 - y0 + 1));
    unsigned m = 1 + (unsigned)((r >> 16) % 12);
    unsigned day = 1 + (unsigned)((r >> 24) % month_days(y, m));
    return put_date(d, y, m, day);
}

/* ---- drivers ---- */

static void licence_of(const lex_population_t *pop, uint64_t index, char out[16])
{
    uint64_t digits = (index * LIC_MUL + pop->lic_offset) % LIC_SPACE;
    out[0] = LIC_LETTERS[draw(pop, index, S_LETTER) % (sizeof LIC_LETTERS - 1)];
    put_num(out + 1, digits, 8);
}

/* Name, date of birth and sex: all the name index needs. */
static void identity_of(const lex_population_t *pop, uint32_t index, char name[64],
                        char dob[11], char sex[2])
{
    uint64_t r = draw(pop, index, S_PERSON);
    int female = (int)(r & 1);
    const char *first = female ? female_names[(r >> 8) % NFEMALE] : male_names[(r >> 8) % NMALE];
    char *p = put(name, surnames[(r >> 24) % NSURNAMES]);
    *p++ = ',';
    put(p, first);
    put_random_date(dob, draw(pop, index, S_DOB), 1940, 2007);
    sex[0] = female ? 'F' : 'M';
    sex[1] = 0;
}

static const char *status_of(const lex_population_t *pop, uint32_t index)
{
    unsigned roll = (unsigned)((draw(pop, index, S_LICENCE) >> 8) % 100);
    if (roll < 90)
        return "VALID";
    if (roll < 95)
        return "SUSPENDED";
    if (roll < 98)
        return "EXPIRED";
    return "REVOKED";
}

void lex_population_driver(const lex_population_t *pop, uint32_t index, lex_driver_t *out)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    licence_of(pop, index, out->lic);
    identity_of(pop, index, out->name, out->dob, out->sex);

    uint64_t home = draw(pop, index, S_HOME);
    static const unsigned house_max[] = {99, 999, 9999, 24999}; /* short and long roads */
    char *p = put_num(out->address, 1 + home % house_max[(home >> 48) & 3], 0);
    *p++ = ' ';
    p = put(p, streets[(home >> 16) % NSTREETS]);
    *p++ = ' ';
    put(p, street_kinds[(home >> 24) % NSTREET_KINDS]);
    unsigned city = (unsigned)((home >> 32) % NCITIES);
    put(out->city, cities[city]);
    put_num(out->zip, pop->zip_prefix * 100 + (city * 2 + ((home >> 40) & 1)) % 100, 5);

    uint64_t lic = draw(pop, index, S_LICENCE);
    unsigned roll = (unsigned)(lic % 100);
    out->cls[0] = roll < 88 ? 'C' : roll < 93 ? 'M' : roll < 97 ? 'A' : 'B';
    put(out->status, status_of(pop, index));
    if (strcmp(out->status, "EXPIRED") == 0)
        put_random_date(out->expiry, lic >> 20, 2019, 2025);
    else
        put_random_date(out->expiry, lic >> 20, 2027, 2034);
    p = put(out->photo, "img:");
    p = put(p, pop->state);
    *p++ = ':';
    put(p, out->lic);
}

size_t lex_population_history(const lex_population_t *pop, uint32_t driver,
                              lex_history_t *out, size_t max)
{
    unsigned roll = (unsigned)(draw(pop, driver, S_HISTORY) % 100);
    size_t n = roll < 60 ? 0 : roll < 80 ? 1 : roll < 90 ? 2 : roll < 96 ? 3 : 4;
    const char *status = status_of(pop, driver);
    int withdrawn = strcmp(status, "SUSPENDED") == 0 || strcmp(status, "REVOKED") == 0;
    if (withdrawn && n == 0)
        n = 1;
    char name[64], dob[11], sex[2];
    identity_of(pop, driver, name, dob, sex);
    unsigned first_year = (unsigned)atoi(dob) + 16;
    if (first_year < 2008)
        first_year = 2008;

    lex_history_t all[4];
    for (size_t k = 0; k < n; k++) {
        uint64_t r = draw(pop, ((uint64_t)driver << 3) | k, S_EVENT);
        memset(&all[k], 0, sizeof all[k]);
        put_random_date(all[k].date, r, first_year, 2025);
        if ((r >> 32) % 100 < 70) {
            put(all[k].kind, "conviction");
            put(all[k].text, conviction_texts[(r >> 40) % NCONVICTIONS]);
        } else {
            put(all[k].kind, "suspension");
            put(all[k].text, suspension_texts[(r >> 40) % NSUSPENSIONS]);
        }
    }
    /* oldest first; dates are YYYY-MM-DD, so text order is date order */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(all[j - 1].date, all[j].date) > 0; j--) {
            lex_history_t t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    /* a withdrawn licence always shows why */
    if (withdrawn && strcmp(all[n - 1].kind, "suspension") != 0) {
        put(all[n - 1].kind, "suspension");
        put(all[n - 1].text, suspension_texts[driver % NSUSPENSIONS]);
    }
    size_t count = n < max ? n : max;
    if (out)
        memcpy(out, all, count * sizeof *out);
    return count;
}

/* ---- vehicles ---- */

static char vin_check_digit(const char vin[17])
{
    static const int weight[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
    /* transliteration of letters, in alphabet order, I O Q excluded */
    static const char values[] = "12345678" /* A-H */ "12345" /* J-N */ "7" /* P */
                                 "9" /* R */ "23456789" /* S-Z */;
    static const char letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int v = 0;
        if (vin[i] >= '0' && vin[i] <= '9') {
            v = vin[i] - '0';
        } else {
            const char *at = strchr(letters, vin[i]);
            v = at ? values[at - letters] - '0' : 0;
        }
        sum += v * weight[i];
    }
    int check = sum % 11;
    return check == 10 ? 'X' : (char)('0' + check);
}

static void plate_of(const lex_population_t *pop, uint64_t index, char out[9])
{
    uint64_t code = (index * PLATE_MUL + pop->plate_offset) % PLATE_SPACE;
    uint64_t letters = code / 10000;
    out[0] = PLATE_LETTERS[letters / (23 * 23)];
    out[1] = PLATE_LETTERS[(letters / 23) % 23];
    out[2] = PLATE_LETTERS[letters % 23];
    put_num(out + 3, code % 10000, 4);
}

static void vin_of(const lex_population_t *pop, uint64_t index, const model_t *m, unsigned year,
                   char out[18])
{
    static const char years[] = "ABCDEFGHJKLMNPRSTVWXY123456789"; /* 1980 onwards, cycles */
    uint64_t serial = (index * VIN_MUL + pop->vin_offset) % VIN_SPACE;
    uint64_t vds = draw(pop, index, S_VDS);
    memcpy(out, m->wmi, 3);
    for (int i = 0; i < 5; i++)
        out[3 + i] = VIN_CHARS[(vds >> (i * 8)) % (sizeof VIN_CHARS - 1)];
    out[8] = '0';
    out[9] = years[(year - 1980) % 30];
    put_num(out + 10, serial, 7);
    out[8] = vin_check_digit(out);
    out[17] = 0;
}

static void vehicle_fill(const lex_population_t *pop, uint64_t index, lex_vehicle_t *out)
{
    memset(out, 0, sizeof *out);
    out->index = (uint32_t)index;
    uint64_t r = draw(pop, index, S_VEHICLE);
    const model_t *m = &models[r % NMODELS];
    out->year = 1998 + (uint32_t)((r >> 8) % 28);
    put(out->make, m->make);
    put(out->model, m->model);
    put(out->type, m->type);
    put(out->color, colors[(r >> 16) % NCOLORS]);
    unsigned roll = (unsigned)((r >> 24) % 100);
    put(out->status, roll < 90 ? "VALID" : roll < 98 ? "EXPIRED" : "STOLEN");
    plate_of(pop, index, out->plate);
    vin_of(pop, index, m, out->year, out->vin);
    out->owner = index < pop->nvehicles ? pop->owner[index] : UINT32_MAX;
}

void lex_population_vehicle(const lex_population_t *pop, uint32_t index, lex_vehicle_t *out)
{
    vehicle_fill(pop, index, out);
}

/* ---- building ---- */

static int cmp_name_entry(const void *a, const void *b)
{
    const name_entry_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Hands out vehicles to owners: drivers are visited in a scattered order and
 * each takes 0..3 vehicles until all are owned (more only when there are
 * over three vehicles a driver). Fills owner[] and the per-driver slices. */
static int build_fleet(lex_population_t *pop)
{
    uint32_t nd = pop->ndrivers, nv = pop->nvehicles;
    uint32_t *cursor = NULL;
    int rc = LEX_ENOMEM;
    pop->owner = malloc((nv ? nv : 1) * sizeof *pop->owner);
    pop->fleet = malloc((nv ? nv : 1) * sizeof *pop->fleet);
    pop->fleet_start = calloc((size_t)nd + 1, sizeof *pop->fleet_start);
    cursor = malloc((size_t)nd * sizeof *cursor);
    if (!pop->owner || !pop->fleet || !pop->fleet_start || !cursor)
        goto cleanup;

    uint64_t stride = (0x9E3779B1ULL ^ pop->seed) % nd;
    if (stride == 0)
        stride = 1;
    while (gcd64(stride, nd) != 1)
        stride++;
    uint32_t cap = (uint64_t)nv <= 3ULL * nd ? 3 : UINT32_MAX;
    uint32_t *count = cursor; /* vehicles per driver, reused as cursor below */
    memset(count, 0, (size_t)nd * sizeof *count);
    uint32_t given = 0;
    for (uint64_t round = 0; given < nv; round++) {
        for (uint64_t j = 0; j < nd && given < nv; j++) {
            uint32_t d = (uint32_t)((j * stride + round) % nd);
            unsigned roll = (unsigned)(draw(pop, (round << 32) | d, S_FLEET) % 100);
            uint32_t want = round == 0 ? (roll < 35 ? 0 : roll < 75 ? 1 : roll < 92 ? 2 : 3)
                                       : (roll < 50 ? 0 : 1);
            if (cap != UINT32_MAX)
                want = count[d] >= cap ? 0 : (want < cap - count[d] ? want : cap - count[d]);
            for (; want > 0 && given < nv; want--) {
                pop->owner[given++] = d;
                count[d]++;
            }
        }
    }
    for (uint32_t d = 0; d < nd; d++)
        pop->fleet_start[d + 1] = pop->fleet_start[d] + count[d];
    memcpy(cursor, pop->fleet_start, (size_t)nd * sizeof *cursor);
    for (uint32_t v = 0; v < nv; v++)
        pop->fleet[cursor[pop->owner[v]]++] = v;
    rc = 0;
cleanup:
    free(cursor);
    return rc;
}

int lex_population_new(const char *state, uint32_t ndrivers, uint32_t nvehicles,
                       lex_population_t **out)
{
    if (!out)
        return LEX_EINVAL;
    *out = NULL;
    if (!state || strlen(state) != 2 || ndrivers == 0 || ndrivers > MAX_DRIVERS ||
        nvehicles > MAX_VEHICLES)
        return LEX_EINVAL;
    int rc = LEX_ENOMEM;
    lex_population_t *pop = calloc(1, sizeof *pop);
    if (!pop)
        goto fail;
    memcpy(pop->state, state, 2);
    pop->ndrivers = ndrivers;
    pop->nvehicles = nvehicles;
    pop->seed = mix64(hash_bytes(0xCBF29CE484222325ULL, pop->state));
    pop->lic_offset = mix64(pop->seed ^ 1) % LIC_SPACE;
    pop->plate_offset = mix64(pop->seed ^ 2) % PLATE_SPACE;
    pop->vin_offset = mix64(pop->seed ^ 3) % VIN_SPACE;
    pop->zip_prefix = 100 + (unsigned)(mix64(pop->seed ^ 4) % 899);

    pop->names = malloc((size_t)ndrivers * sizeof *pop->names);
    if (!pop->names)
        goto fail;
    for (uint32_t i = 0; i < ndrivers; i++) {
        char name[64], dob[11], sex[2];
        identity_of(pop, i, name, dob, sex);
        pop->names[i].hash = name_hash(name, dob);
        pop->names[i].index = i;
    }
    qsort(pop->names, ndrivers, sizeof *pop->names, cmp_name_entry);
    if ((rc = build_fleet(pop)) != 0)
        goto fail;
    *out = pop;
    return 0;
fail:
    lex_population_destroy(&pop);
    return rc;
}

void lex_population_destroy(lex_population_t **pop)
{
    if (!pop || !*pop)
        return;
    free((*pop)->names);
    free((*pop)->owner);
    free((*pop)->fleet_start);
    free((*pop)->fleet);
    free(*pop);
    *pop = NULL;
}

const char *lex_population_state(const lex_population_t *pop)
{
    return pop->state;
}

uint32_t lex_population_drivers(const lex_population_t *pop)
{
    return pop->ndrivers;
}

uint32_t lex_population_vehicles(const lex_population_t *pop)
{
    return pop->nvehicles;
}

/* ---- look-ups ---- */

/* Uppercased copy of s into out (size n); 0, or -1 when it does not fit. */
static int upper_copy(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i]; i++) {
        if (i + 1 >= n)
            return -1;
        char c = s[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    out[i] = 0;
    return 0;
}

/* Value of n decimal digits at s, or -1. */
static int64_t digits_at(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int lex_population_find_lic(const lex_population_t *pop, const char *lic, uint32_t *index)
{
    char code[16];
    if (!lic || upper_copy(lic, code, sizeof code) != 0 || strlen(code) != 9)
        return LEX_ENOTFOUND;
    int64_t digits = digits_at(code + 1, 8);
    if (digits < 0)
        return LEX_ENOTFOUND;
    uint64_t i = (((uint64_t)digits + LIC_SPACE - pop->lic_offset) % LIC_SPACE) * LIC_INV % LIC_SPACE;
    if (i >= pop->ndrivers)
        return LEX_ENOTFOUND;
    char expect[16];
    licence_of(pop, i, expect);
    if (expect[0] != code[0])
        return LEX_ENOTFOUND;
    if (index)
        *index = (uint32_t)i;
    return 0;
}

int lex_population_find_plate(const lex_population_t *pop, const char *plate, uint32_t *index)
{
    char code[12];
    if (!plate || upper_copy(plate, code, sizeof code) != 0 || strlen(code) != 7)
        return LEX_ENOTFOUND;
    uint64_t letters = 0;
    for (int k = 0; k < 3; k++) {
        const char *at = strchr(PLATE_LETTERS, code[k]);
        if (!at || !code[k])
            return LEX_ENOTFOUND;
        letters = letters * 23 + (uint64_t)(at - PLATE_LETTERS);
    }
    int64_t digits = digits_at(code + 3, 4);
    if (digits < 0)
        return LEX_ENOTFOUND;
    uint64_t c = letters * 10000 + (uint64_t)digits;
    uint64_t i = ((c + PLATE_SPACE - pop->plate_offset) % PLATE_SPACE) * PLATE_INV % PLATE_SPACE;
    if (i >= pop->nvehicles)
        return LEX_ENOTFOUND;
    if (index)
        *index = (uint32_t)i;
    return 0;
}

int lex_population_find_vin(const lex_population_t *pop, const char *vin, uint32_t *index)
{
    char code[20];
    if (!vin || upper_copy(vin, code, sizeof code) != 0 || strlen(code) != 17)
        return LEX_ENOTFOUND;
    int64_t serial = digits_at(code + 10, 7);
    if (serial < 0)
        return LEX_ENOTFOUND;
    uint64_t i = (((uint64_t)serial + VIN_SPACE - pop->vin_offset) % VIN_SPACE) * VIN_INV % VIN_SPACE;
    if (i >= pop->nvehicles)
        return LEX_ENOTFOUND;
    lex_vehicle_t v;
    vehicle_fill(pop, i, &v);
    if (strcmp(v.vin, code) != 0)
        return LEX_ENOTFOUND;
    if (index)
        *index = (uint32_t)i;
    return 0;
}

/* "Smith , John " -> "SMITH,JOHN": case and the spaces around the comma
 * do not matter to a name search. */
static int normalise_name(const char *in, char *out, size_t n)
{
    char up[96];
    if (upper_copy(in, up, sizeof up) != 0)
        return -1;
    size_t len = 0;
    const char *s = up;
    while (*s == ' ')
        s++;
    for (; *s; s++) {
        if (*s == ' ') {
            const char *next = s;
            while (*next == ' ')
                next++;
            if (!*next || *next == ',' || (len && out[len - 1] == ','))
                continue;
        }
        if (len + 1 >= n)
            return -1;
        out[len++] = *s;
    }
    out[len] = 0;
    return 0;
}

size_t lex_population_find_name(const lex_population_t *pop, const char *name,
                                const char *dob, const char *sex, uint32_t *out, size_t max)
{
    char want[64];
    if (!name || !dob || normalise_name(name, want, sizeof want) != 0)
        return 0;
    char want_sex = (sex && sex[0]) ? (char)(sex[0] & ~0x20) : 0;
    uint64_t h = name_hash(want, dob);
    size_t lo = 0, hi = pop->ndrivers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pop->names[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t found = 0;
    for (size_t k = lo; k < pop->ndrivers && pop->names[k].hash == h && found < max; k++) {
        char n2[64], d2[11], s2[2];
        identity_of(pop, pop->names[k].index, n2, d2, s2);
        if (strcmp(n2, want) != 0 || strcmp(d2, dob) != 0)
            continue; /* a hash collision, not this person */
        if (want_sex && s2[0] != want_sex)
            continue;
        out[found++] = pop->names[k].index;
    }
    return found;
}

size_t lex_population_vehicles_of(const lex_population_t *pop, uint32_t driver, uint32_t *out,
                                  size_t max)
{
    if (driver >= pop->ndrivers)
        return 0;
    size_t n = 0;
    for (uint32_t k = pop->fleet_start[driver]; k < pop->fleet_start[driver + 1] && n < max; k++)
        out[n++] = pop->fleet[k];
    return n;
}

/* ---- responder ---- */

#define MAX_RECORDS 50 /* the catalogue's limit on records and vehicles arrays */

/* How a query came out, besides errors. */
enum { FOUND = 0, MISS = 1, MALFORMED = 2 };

/* Reads an optional string field: 1 when present and non-empty, 0 when
 * absent or empty, -1 when of the wrong type or too long. */
static int opt_str(const msgpack_object *map, const char *name, char *buf, size_t size)
{
    const msgpack_object *o = lex_mp_get(map, name);
    buf[0] = 0;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (lex_mp_str(o, buf, size) != 0)
        return -1;
    return buf[0] != 0;
}

static void pack_driver(msgpack_packer *pk, const lex_driver_t *d)
{
    msgpack_pack_map(pk, 11);
    lex_mp_pack_kv_str(pk, "lic", d->lic);
    lex_mp_pack_kv_str(pk, "name", d->name);
    lex_mp_pack_kv_str(pk, "dob", d->dob);
    lex_mp_pack_kv_str(pk, "sex", d->sex);
    lex_mp_pack_kv_str(pk, "address", d->address);
    lex_mp_pack_kv_str(pk, "city", d->city);
    lex_mp_pack_kv_str(pk, "zip", d->zip);
    lex_mp_pack_kv_str(pk, "class", d->cls);
    lex_mp_pack_kv_str(pk, "status", d->status);
    lex_mp_pack_kv_str(pk, "expiry", d->expiry);
    lex_mp_pack_kv_str(pk, "photo", d->photo);
}

static void pack_vehicle(const lex_population_t *pop, msgpack_packer *pk, uint32_t index)
{
    lex_vehicle_t v;
    lex_driver_t d;
    vehicle_fill(pop, index, &v);
    lex_population_driver(pop, v.owner, &d);
    msgpack_pack_map(pk, 9);
    lex_mp_pack_kv_str(pk, "plate", v.plate);
    lex_mp_pack_kv_str(pk, "vin", v.vin);
    lex_mp_pack_kv_uint(pk, "year", v.year);
    lex_mp_pack_kv_str(pk, "make", v.make);
    lex_mp_pack_kv_str(pk, "model", v.model);
    lex_mp_pack_kv_str(pk, "color", v.color);
    lex_mp_pack_kv_str(pk, "type", v.type);
    lex_mp_pack_kv_str(pk, "status", v.status);
    lex_mp_pack_str(pk, "owner");
    msgpack_pack_map(pk, 5);
    lex_mp_pack_kv_str(pk, "name", d.name);
    lex_mp_pack_kv_str(pk, "address", d.address);
    lex_mp_pack_kv_str(pk, "city", d.city);
    lex_mp_pack_kv_str(pk, "zip", d.zip);
    lex_mp_pack_kv_str(pk, "lic", d.lic);
}

static void pack_vehicles(const lex_population_t *pop, msgpack_packer *pk, const uint32_t *list,
                          size_t n)
{
    msgpack_pack_map(pk, 2);
    lex_mp_pack_str(pk, "vehicles");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        pack_vehicle(pop, pk, list[i]);
    lex_mp_pack_kv_uint(pk, "count", n);
}

static int answer_dq(const lex_population_t *pop, const msgpack_object *q, msgpack_packer *pk)
{
    char lic[32], name[96], dob[16], sex[4];
    int has_lic = opt_str(q, "lic", lic, sizeof lic);
    int has_name = opt_str(q, "name", name, sizeof name);
    int has_dob = opt_str(q, "dob", dob, sizeof dob);
    int has_sex = opt_str(q, "sex", sex, sizeof sex);
    if (has_lic < 0 || has_name < 0 || has_dob < 0 || has_sex < 0)
        return MALFORMED;
    uint32_t found[MAX_RECORDS];
    size_t n = 0;
    if (has_lic)
        n = lex_population_find_lic(pop, lic, &found[0]) == 0;
    else if (has_name && has_dob)
        n = lex_population_find_name(pop, name, dob, sex, found, MAX_RECORDS);
    else
        return MALFORMED;
    if (n == 0)
        return MISS;
    msgpack_pack_map(pk, 2);
    lex_mp_pack_str(pk, "records");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        lex_driver_t d;
        lex_population_driver(pop, found[i], &d);
        pack_driver(pk, &d);
    }
    lex_mp_pack_kv_uint(pk, "count", n);
    return FOUND;
}

/* KQ and IMQ: the licence number is required. */
static int required_lic(const lex_population_t *pop, const msgpack_object *q, uint32_t *index)
{
    char lic[32];
    int has = opt_str(q, "lic", lic, sizeof lic);
    if (has <= 0)
        return MALFORMED;
    return lex_population_find_lic(pop, lic, index) == 0 ? FOUND : MISS;
}

static int answer_kq(const lex_population_t *pop, const msgpack_object *q, msgpack_packer *pk)
{
    uint32_t i;
    int rc = required_lic(pop, q, &i);
    if (rc != FOUND)
        return rc;
    lex_driver_t d;
    lex_history_t h[4];
    lex_population_driver(pop, i, &d);
    size_t n = lex_population_history(pop, i, h, 4);
    msgpack_pack_map(pk, 3);
    lex_mp_pack_kv_str(pk, "lic", d.lic);
    lex_mp_pack_kv_str(pk, "name", d.name);
    lex_mp_pack_str(pk, "history");
    msgpack_pack_array(pk, n);
    for (size_t k = 0; k < n; k++) {
        msgpack_pack_map(pk, 3);
        lex_mp_pack_kv_str(pk, "date", h[k].date);
        lex_mp_pack_kv_str(pk, "kind", h[k].kind);
        lex_mp_pack_kv_str(pk, "text", h[k].text);
    }
    return FOUND;
}

static int answer_rq(const lex_population_t *pop, const msgpack_object *q, msgpack_packer *pk)
{
    char plate[24], plate_state[8], vin[32];
    int has_plate = opt_str(q, "plate", plate, sizeof plate);
    int has_state = opt_str(q, "plate_state", plate_state, sizeof plate_state);
    int has_vin = opt_str(q, "vin", vin, sizeof vin);
    if (has_plate < 0 || has_state < 0 || has_vin < 0)
        return MALFORMED;
    uint32_t i;
    if (has_plate) {
        if (has_state && strcmp(plate_state, pop->state) != 0)
            return MISS; /* another state's plate: we hold no record of it */
        if (lex_population_find_plate(pop, plate, &i) != 0)
            return MISS;
    } else if (has_vin) {
        if (lex_population_find_vin(pop, vin, &i) != 0)
            return MISS;
    } else {
        return MALFORMED;
    }
    pack_vehicles(pop, pk, &i, 1);
    return FOUND;
}

static int answer_rnq(const lex_population_t *pop, const msgpack_object *q, msgpack_packer *pk)
{
    char name[96], dob[16];
    if (opt_str(q, "name", name, sizeof name) <= 0 || opt_str(q, "dob", dob, sizeof dob) <= 0)
        return MALFORMED;
    uint32_t people[MAX_RECORDS], owned[MAX_RECORDS];
    size_t np = lex_population_find_name(pop, name, dob, NULL, people, MAX_RECORDS);
    size_t nv = 0;
    for (size_t k = 0; k < np && nv < MAX_RECORDS; k++)
        nv += lex_population_vehicles_of(pop, people[k], owned + nv, MAX_RECORDS - nv);
    if (nv == 0)
        return MISS;
    pack_vehicles(pop, pk, owned, nv);
    return FOUND;
}

/* A stand-in licence photo: JPEG start and end markers around noise, 20 to
 * 40 KB, the same bytes for the same driver every time. */
static void pack_photo(const lex_population_t *pop, msgpack_packer *pk, uint32_t driver)
{
    static const unsigned char head[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F',
                                         'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                                         0x00, 0x01, 0x00, 0x00};
    uint64_t r = draw(pop, driver, S_PHOTO);
    size_t size = 20 * 1024 + (size_t)(r % (20 * 1024));
    msgpack_pack_bin(pk, size);
    msgpack_pack_bin_body(pk, head, sizeof head);
    size_t left = size - sizeof head - 2;
    uint64_t state = r | 1;
    unsigned char chunk[4096];
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        for (size_t k = 0; k < n; k += 8) {
            state ^= state >> 12; /* xorshift64* */
            state ^= state << 25;
            state ^= state >> 27;
            uint64_t w = state * 0x2545F4914F6CDD1DULL;
            size_t take = n - k < 8 ? n - k : 8;
            memcpy(chunk + k, &w, take);
        }
        msgpack_pack_bin_body(pk, chunk, n);
        left -= n;
    }
    static const unsigned char tail[] = {0xFF, 0xD9};
    msgpack_pack_bin_body(pk, tail, sizeof tail);
}

static int answer_imq(const lex_population_t *pop, const msgpack_object *q, msgpack_packer *pk)
{
    uint32_t i;
    int rc = required_lic(pop, q, &i);
    if (rc != FOUND)
        return rc;
    char lic[16];
    licence_of(pop, i, lic);
    msgpack_pack_map(pk, 3);
    lex_mp_pack_kv_str(pk, "lic", lic);
    lex_mp_pack_kv_str(pk, "format", "jpeg");
    lex_mp_pack_str(pk, "photo");
    pack_photo(pop, pk, i);
    return FOUND;
}

typedef int (*answer_fn)(const lex_population_t *, const msgpack_object *, msgpack_packer *);

static const struct {
    const char *query;
    const char *response;
    answer_fn fn;
} answerers[] = {
    {"DQ", "DR", answer_dq},    {"KQ", "KR", answer_kq},    {"RQ", "RR", answer_rq},
    {"RNQ", "RNR", answer_rnq}, {"IMQ", "IMR", answer_imq},
};

int lex_population_answer(const lex_population_t *pop, const char *query_key,
                          const void *qbody, size_t qlen, char resp_key[LEX_KEY_MAX + 1],
                          lex_buf_t *body)
{
    if (!pop || !query_key || !resp_key || !body || (!qbody && qlen))
        return LEX_EINVAL;
    size_t which = 0, n = sizeof answerers / sizeof answerers[0];
    while (which < n && strcmp(answerers[which].query, query_key) != 0)
        which++;
    if (which == n)
        return LEX_EUNKNOWNKEY;

    msgpack_unpacked up;
    if (lex_body_parse(qbody, qlen, &up) != 0) {
        strcpy(resp_key, "ST");
        return lex_status_body(body, LEX_ST_BAD_BODY, "query body is not a msgpack map");
    }
    size_t mark = body->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, lex_buf_write);
    int rc = answerers[which].fn(pop, &up.data, &pk);
    if (rc == FOUND) {
        strcpy(resp_key, answerers[which].response);
        rc = body->failed ? LEX_ENOMEM : 0;
        goto cleanup;
    }
    body->len = mark; /* nothing is packed before the outcome is known; be sure */
    strcpy(resp_key, "ST");
    if (rc == MISS)
        rc = lex_status_body(body, LEX_ST_NO_RECORD, LEX_NO_RECORD_TEXT);
    else
        rc = lex_status_body(body, LEX_ST_BAD_BODY, "query fields missing or of the wrong type");
cleanup:
    msgpack_unpacked_destroy(&up);
    return rc;
}

/* ---- requester ---- */

/* A licence number of the state's format that belongs to nobody. */
static void absent_licence(const lex_population_t *pop, uint64_t r, char out[16])
{
    licence_of(pop, pop->ndrivers + r % (LIC_SPACE - pop->ndrivers), out);
}

static void pack_lic_query(msgpack_packer *pk, const char *lic)
{
    msgpack_pack_map(pk, 1);
    lex_mp_pack_kv_str(pk, "lic", lic);
}

/* Name and date of birth of a driver, or of nobody when absent. */
static void person_for(const lex_population_t *pop, uint32_t driver, int absent, uint64_t r,
                       char name[64], char dob[11], char sex[2])
{
    identity_of(pop, driver, name, dob, sex);
    if (absent) {
        const char *first = strchr(name, ',') + 1;
        char given[40];
        put(given, first);
        char *p = put(name, absent_surnames[r % NABSENT]);
        *p++ = ',';
        put(p, given);
    }
}

int lex_population_sample_query(const lex_population_t *pop, const char *key, uint64_t rnd,
                                unsigned miss_pct, lex_buf_t *body)
{
    if (!pop || !key || !body)
        return LEX_EINVAL;
    uint64_t r0 = mix64(rnd ^ pop->seed);
    uint64_t r1 = mix64(r0 + 1), r2 = mix64(r0 + 2), r3 = mix64(r0 + 3);
    int miss = r0 % 100 < miss_pct;
    uint32_t driver = (uint32_t)(r1 % pop->ndrivers);
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, lex_buf_write);
    char lic[16], name[64], dob[11], sex[2];

    if (strcmp(key, "DQ") == 0) {
        if (r2 % 100 < 65) {
            if (miss)
                absent_licence(pop, r3, lic);
            else
                licence_of(pop, driver, lic);
            pack_lic_query(&pk, lic);
        } else {
            person_for(pop, driver, miss, r3, name, dob, sex);
            int with_sex = (r2 >> 32) & 1;
            msgpack_pack_map(&pk, with_sex ? 3 : 2);
            lex_mp_pack_kv_str(&pk, "name", name);
            lex_mp_pack_kv_str(&pk, "dob", dob);
            if (with_sex)
                lex_mp_pack_kv_str(&pk, "sex", sex);
        }
    } else if (strcmp(key, "KQ") == 0 || strcmp(key, "IMQ") == 0) {
        if (miss)
            absent_licence(pop, r3, lic);
        else
            licence_of(pop, driver, lic);
        pack_lic_query(&pk, lic);
    } else if (strcmp(key, "RQ") == 0) {
        uint32_t nv = pop->nvehicles;
        int absent = miss || nv == 0;
        uint64_t vehicle = absent ? 0 : r1 % nv;
        if (r2 % 100 < 85) {
            if (absent)
                vehicle = nv + r3 % (PLATE_SPACE - nv);
            char plate[9];
            plate_of(pop, vehicle, plate);
            msgpack_pack_map(&pk, 2);
            lex_mp_pack_kv_str(&pk, "plate", plate);
            lex_mp_pack_kv_str(&pk, "plate_state", pop->state);
        } else {
            if (absent)
                vehicle = nv + r3 % (VIN_SPACE - nv);
            lex_vehicle_t v;
            vehicle_fill(pop, vehicle, &v);
            msgpack_pack_map(&pk, 1);
            lex_mp_pack_kv_str(&pk, "vin", v.vin);
        }
    } else if (strcmp(key, "RNQ") == 0) {
        /* ask about someone who owns a vehicle, so a hit has registrations */
        int absent = miss || pop->nvehicles == 0;
        uint32_t owner = absent ? driver : pop->owner[r1 % pop->nvehicles];
        person_for(pop, owner, absent, r3, name, dob, sex);
        msgpack_pack_map(&pk, 2);
        lex_mp_pack_kv_str(&pk, "name", name);
        lex_mp_pack_kv_str(&pk, "dob", dob);
    } else {
        return LEX_EUNKNOWNKEY;
    }
    return body->failed ? LEX_ENOMEM : 0;
}
