/* population.c: a state's synthetic drivers and vehicles (lex_population.h).
 * Every record is computed from (state, index) by a hash mix, and the codes
 * that identify records (licence numbers, plates, VINs) are invertible
 * permutations of the index, so look-ups by code need no table. Names need
 * one: a sorted array of (hash of name and birth date, index). The
 * responder side answers queries from it; the requester side draws queries
 * about people who exist (and a few who do not). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_population.h"
#include "lex_status.h"

static const char *const last_names[] = {
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ",
    "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR",
    "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ",
    "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT",
    "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN", "ADAMS", "NELSON", "BAKER", "HALL",
    "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS", "GOMEZ", "PHILLIPS", "EVANS", "TURNER",
    "DIAZ", "PARKER", "CRUZ", "EDWARDS", "COLLINS", "REYES", "STEWART", "MORRIS", "MORALES",
    "MURPHY", "COOK", "ROGERS", "GUTIERREZ", "ORTIZ", "MORGAN", "COOPER", "PETERSON", "BAILEY",
    "REED", "KELLY", "HOWARD", "RAMOS", "KIM", "COX", "WARD", "RICHARDSON", "WATSON", "BROOKS",
    "CHAVEZ", "WOOD", "JAMES", "BENNETT", "GRAY", "MENDOZA", "RUIZ", "HUGHES", "PRICE", "ALVAREZ",
    "CASTILLO", "SANDERS", "PATEL", "MYERS", "LONG", "ROSS", "FOSTER", "JIMENEZ"};
static const char *const male_names[] = {
    "JAMES", "ROBERT", "JOHN", "MICHAEL", "DAVID", "WILLIAM", "RICHARD", "JOSEPH", "THOMAS",
    "CHARLES", "CHRISTOPHER", "DANIEL", "MATTHEW", "ANTHONY", "MARK", "DONALD", "STEVEN", "PAUL",
    "ANDREW", "JOSHUA", "KENNETH", "KEVIN", "BRIAN", "GEORGE", "TIMOTHY", "RONALD", "JASON",
    "EDWARD", "JEFFREY", "RYAN", "JACOB", "GARY", "NICHOLAS", "ERIC", "JONATHAN", "STEPHEN",
    "LARRY", "JUSTIN", "SCOTT", "BRANDON", "BENJAMIN", "SAMUEL", "GREGORY", "ALEXANDER", "PATRICK",
    "FRANK", "RAYMOND", "JACK", "DENNIS", "JERRY"};
static const char *const female_names[] = {
    "MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN", "JESSICA", "SARAH",
    "KAREN", "LISA", "NANCY", "BETTY", "SANDRA", "MARGARET", "ASHLEY", "KIMBERLY", "EMILY",
    "DONNA", "MICHELLE", "CAROL", "AMANDA", "MELISSA", "DEBORAH", "STEPHANIE", "DOROTHY",
    "REBECCA", "SHARON", "LAURA", "CYNTHIA", "AMY", "KATHLEEN", "ANGELA", "SHIRLEY", "BRENDA",
    "EMMA", "ANNA", "PAMELA", "NICOLE", "SAMANTHA", "KATHERINE", "CHRISTINE", "HELEN", "DEBRA",
    "RACHEL", "CAROLYN", "JANET", "MARIA", "CATHERINE", "HEATHER"};
static const char *const streets[] = {"MAIN", "OAK", "PINE", "MAPLE", "CEDAR", "ELM", "WASHINGTON",
                                      "LAKE", "HILL", "PARK", "RIVER", "SUNSET", "RIDGE", "MILL",
                                      "CHURCH", "SPRING", "HIGHLAND", "FOREST", "MEADOW", "LINCOLN"};
static const char *const suffixes[] = {"ST", "AVE", "RD", "DR", "LN", "CT", "BLVD", "WAY"};
static const char *const cities[] = {"SPRINGFIELD", "FRANKLIN", "GREENVILLE", "BRISTOL", "CLINTON",
                                     "FAIRVIEW", "SALEM", "MADISON", "GEORGETOWN", "ARLINGTON",
                                     "ASHLAND", "DOVER", "OXFORD", "JACKSON", "BURLINGTON",
                                     "MANCHESTER", "MILTON", "NEWPORT", "AUBURN", "DAYTON"};
static const char *const makes[][4] = {
    {"FORD", "F150", "ESCAPE", "FOCUS"},     {"TOYOTA", "CAMRY", "COROLLA", "RAV4"},
    {"HONDA", "CIVIC", "ACCORD", "CRV"},     {"CHEVROLET", "SILVERADO", "MALIBU", "EQUINOX"},
    {"NISSAN", "ALTIMA", "ROGUE", "SENTRA"}, {"JEEP", "WRANGLER", "CHEROKEE", "COMPASS"},
    {"SUBARU", "OUTBACK", "FORESTER", "IMPREZA"}, {"HYUNDAI", "ELANTRA", "SONATA", "TUCSON"},
    {"DODGE", "RAM", "CHARGER", "DURANGO"},  {"TESLA", "MODEL3", "MODELY", "MODELS"}};
static const char *const colors[] = {"WHITE", "BLACK", "SILVER", "GRAY", "RED", "BLUE", "GREEN",
                                     "BROWN", "GOLD", "BEIGE"};
static const char *const offences[] = {"SPEEDING 15 OVER", "RED LIGHT", "FAILURE TO YIELD",
                                       "DUI", "RECKLESS DRIVING", "NO INSURANCE",
                                       "SUSPENDED LICENCE", "IMPROPER LANE CHANGE"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

#define LIC_MOD 100000000ull          /* 8 licence digits */
#define LIC_MUL 48271ull
#define PLATE_MOD 175760000ull        /* 26^3 * 10^4 */
#define PLATE_MUL 7919ull
#define VIN_MOD 10000000000000ull     /* 13 VIN digits */
#define VIN_MUL 2862933555777941ull

typedef struct {
    uint64_t hash;
    uint32_t index;
} name_entry_t;

typedef struct {
    uint32_t owner;
    uint32_t vehicle;
} owner_entry_t;

struct lex_population {
    char state[3];
    uint64_t seed;
    uint32_t ndrivers, nvehicles;
    uint64_t lic_inv, plate_inv, vin_inv;
    name_entry_t *names;     /* sorted by hash */
    owner_entry_t *owners;   /* sorted by owner */
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Inverse of a modulo m (a and m coprime), by the extended Euclid. */
static uint64_t mod_inverse(uint64_t a, uint64_t m)
{
    __int128 t = 0, newt = 1, r = (__int128)m, newr = (__int128)a;
    while (newr != 0) {
        __int128 q = r / newr, tmp = t - q * newt;
        t = newt;
        newt = tmp;
        tmp = r - q * newr;
        r = newr;
        newr = tmp;
    }
    if (t < 0)
        t += (__int128)m;
    return (uint64_t)t;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)(((unsigned __int128)a * b) % m);
}

static uint64_t rec_rand(const lex_population_t *p, uint64_t kind, uint32_t i)
{
    return mix(p->seed ^ (kind << 56) ^ (uint64_t)i * 0x100000001b3ull);
}

static void lic_of(const lex_population_t *p, uint32_t i, char out[16])
{
    snprintf(out, 16, "%c%08llu", p->state[0],
             (unsigned long long)mulmod(i, LIC_MUL, LIC_MOD));
}

static void plate_of(uint64_t i, char out[9])
{
    uint64_t v = mulmod(i, PLATE_MUL, PLATE_MOD);
    uint64_t letters = v / 10000, digits = v % 10000;
    snprintf(out, 9, "%c%c%c%04llu", 'A' + (int)(letters / 676), 'A' + (int)(letters / 26 % 26),
             'A' + (int)(letters % 26), (unsigned long long)digits);
}

static void vin_of(const lex_population_t *p, uint64_t i, char out[18])
{
    snprintf(out, 18, "1L%s%013llu", p->state, (unsigned long long)mulmod(i, VIN_MUL, VIN_MOD));
}

void lex_population_driver(const lex_population_t *p, uint32_t i, lex_driver_t *d)
{
    uint64_t r = rec_rand(p, 1, i), r2 = mix(r);
    memset(d, 0, sizeof *d);
    d->index = i;
    lic_of(p, i, d->lic);
    int male = (int)(r & 1);
    strcpy(d->sex, male ? "M" : "F");
    const char *first = male ? male_names[(r >> 1) % N(male_names)]
                             : female_names[(r >> 1) % N(female_names)];
    snprintf(d->name, sizeof d->name, "%s,%s", last_names[(r >> 8) % N(last_names)], first);
    snprintf(d->dob, sizeof d->dob, "%04u-%02u-%02u", 1940 + (unsigned)((r >> 16) % 68),
             1 + (unsigned)((r >> 24) % 12), 1 + (unsigned)((r >> 28) % 28));
    snprintf(d->address, sizeof d->address, "%u %s %s", 1 + (unsigned)(r2 % 9899),
             streets[(r2 >> 16) % N(streets)], suffixes[(r2 >> 24) % N(suffixes)]);
    snprintf(d->city, sizeof d->city, "%s", cities[(r2 >> 28) % N(cities)]);
    snprintf(d->zip, sizeof d->zip, "%05u", (unsigned)((r2 >> 32) % 99999) + 1);
    unsigned c = (unsigned)((r >> 36) % 100);
    strcpy(d->cls, c < 88 ? "C" : c < 94 ? "M" : c < 98 ? "B" : "A");
    unsigned s = (unsigned)((r >> 44) % 100);
    strcpy(d->status, s < 90 ? "VALID" : s < 95 ? "SUSPENDED" : s < 97 ? "REVOKED" : "EXPIRED");
    snprintf(d->expiry, sizeof d->expiry, "%04u-%02u-%02u", 2025 + (unsigned)((r2 >> 40) % 7),
             1 + (unsigned)((r2 >> 48) % 12), 1 + (unsigned)((r2 >> 52) % 28));
    snprintf(d->photo, sizeof d->photo, "img:%s:%s", p->state, d->lic);
}

static uint32_t owner_of(const lex_population_t *p, uint32_t v)
{
    return (uint32_t)(rec_rand(p, 2, v) % p->ndrivers);
}

void lex_population_vehicle(const lex_population_t *p, uint32_t i, lex_vehicle_t *v)
{
    uint64_t r = rec_rand(p, 3, i);
    memset(v, 0, sizeof *v);
    v->index = i;
    plate_of(i, v->plate);
    vin_of(p, i, v->vin);
    v->year = 1995 + (uint32_t)(r % 31);
    const char *const *mk = makes[(r >> 8) % N(makes)];
    snprintf(v->make, sizeof v->make, "%s", mk[0]);
    snprintf(v->model, sizeof v->model, "%s", mk[1 + (r >> 16) % 3]);
    snprintf(v->color, sizeof v->color, "%s", colors[(r >> 20) % N(colors)]);
    unsigned t = (unsigned)((r >> 28) % 100);
    strcpy(v->type, t < 70 ? "PC" : t < 92 ? "TK" : "MC");
    unsigned s = (unsigned)((r >> 36) % 100);
    strcpy(v->status, s < 93 ? "VALID" : s < 99 ? "EXPIRED" : "STOLEN");
    v->owner = owner_of(p, i);
}

size_t lex_population_history(const lex_population_t *p, uint32_t driver, lex_history_t *out,
                              size_t max)
{
    uint64_t r = rec_rand(p, 4, driver);
    size_t n = (r % 10) < 6 ? 0 : 1 + (size_t)((r >> 4) % 4);
    if (n > max)
        n = max;
    for (size_t k = 0; k < n; k++) {
        uint64_t e = mix(r + k);
        snprintf(out[k].date, sizeof out[k].date, "%04u-%02u-%02u", 2005 + (unsigned)(e % 20),
                 1 + (unsigned)((e >> 8) % 12), 1 + (unsigned)((e >> 12) % 28));
        strcpy(out[k].kind, (e >> 20) % 5 == 0 ? "suspension" : "conviction");
        snprintf(out[k].text, sizeof out[k].text, "%s", offences[(e >> 24) % N(offences)]);
    }
    return n;
}

static uint64_t name_hash(const char *name, const char *dob)
{
    return hash_str(dob, hash_str(name, 1469598103934665603ull) ^ '|');
}

static int cmp_name(const void *a, const void *b)
{
    uint64_t x = ((const name_entry_t *)a)->hash, y = ((const name_entry_t *)b)->hash;
    return x < y ? -1 : x > y;
}

static int cmp_owner(const void *a, const void *b)
{
    const owner_entry_t *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return x->vehicle < y->vehicle ? -1 : x->vehicle > y->vehicle;
}

int lex_population_new(const char *state, uint32_t ndrivers, uint32_t nvehicles,
                       lex_population_t **out)
{
    *out = NULL;
    if (!state || strlen(state) != 2 || ndrivers == 0 || ndrivers > LIC_MOD ||
        nvehicles > PLATE_MOD)
        return LEX_EINVAL;
    lex_population_t *p = calloc(1, sizeof *p);
    if (!p)
        return LEX_ENOMEM;
    memcpy(p->state, state, 3);
    p->seed = mix(hash_str(state, 1469598103934665603ull));
    p->ndrivers = ndrivers;
    p->nvehicles = nvehicles;
    p->lic_inv = mod_inverse(LIC_MUL, LIC_MOD);
    p->plate_inv = mod_inverse(PLATE_MUL, PLATE_MOD);
    p->vin_inv = mod_inverse(VIN_MUL, VIN_MOD);
    p->names = malloc((size_t)ndrivers * sizeof *p->names);
    p->owners = malloc(((size_t)nvehicles + 1) * sizeof *p->owners);
    if (!p->names || !p->owners) {
        lex_population_destroy(&p);
        return LEX_ENOMEM;
    }
    lex_driver_t d;
    for (uint32_t i = 0; i < ndrivers; i++) {
        lex_population_driver(p, i, &d);
        p->names[i] = (name_entry_t){name_hash(d.name, d.dob), i};
    }
    qsort(p->names, ndrivers, sizeof *p->names, cmp_name);
    for (uint32_t v = 0; v < nvehicles; v++)
        p->owners[v] = (owner_entry_t){owner_of(p, v), v};
    qsort(p->owners, nvehicles, sizeof *p->owners, cmp_owner);
    *out = p;
    return 0;
}

void lex_population_destroy(lex_population_t **pp)
{
    if (!pp || !*pp)
        return;
    free((*pp)->names);
    free((*pp)->owners);
    free(*pp);
    *pp = NULL;
}

const char *lex_population_state(const lex_population_t *p) { return p->state; }
uint32_t lex_population_drivers(const lex_population_t *p) { return p->ndrivers; }
uint32_t lex_population_vehicles(const lex_population_t *p) { return p->nvehicles; }

/* Parses exactly n decimal digits. */
static int digits(const char *s, size_t n, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    }
    return s[n] == 0 ? 0 : -1;
}

int lex_population_find_lic(const lex_population_t *p, const char *lic, uint32_t *index)
{
    uint64_t v;
    if (!lic || lic[0] != p->state[0] || digits(lic + 1, 8, &v) != 0)
        return LEX_ENOTFOUND;
    uint64_t i = mulmod(v, p->lic_inv, LIC_MOD);
    if (i >= p->ndrivers)
        return LEX_ENOTFOUND;
    *index = (uint32_t)i;
    return 0;
}

int lex_population_find_plate(const lex_population_t *p, const char *plate, uint32_t *index)
{
    uint64_t d;
    if (!plate || strlen(plate) != 7)
        return LEX_ENOTFOUND;
    for (int k = 0; k < 3; k++)
        if (plate[k] < 'A' || plate[k] > 'Z')
            return LEX_ENOTFOUND;
    if (digits(plate + 3, 4, &d) != 0)
        return LEX_ENOTFOUND;
    uint64_t letters = (uint64_t)(plate[0] - 'A') * 676 + (uint64_t)(plate[1] - 'A') * 26 +
                       (uint64_t)(plate[2] - 'A');
    uint64_t i = mulmod(letters * 10000 + d, p->plate_inv, PLATE_MOD);
    if (i >= p->nvehicles)
        return LEX_ENOTFOUND;
    *index = (uint32_t)i;
    return 0;
}

int lex_population_find_vin(const lex_population_t *p, const char *vin, uint32_t *index)
{
    uint64_t v;
    if (!vin || strlen(vin) != 17 || vin[0] != '1' || vin[1] != 'L' || vin[2] != p->state[0] ||
        vin[3] != p->state[1] || digits(vin + 4, 13, &v) != 0)
        return LEX_ENOTFOUND;
    uint64_t i = mulmod(v, p->vin_inv, VIN_MOD);
    if (i >= p->nvehicles)
        return LEX_ENOTFOUND;
    *index = (uint32_t)i;
    return 0;
}

size_t lex_population_find_name(const lex_population_t *p, const char *name, const char *dob,
                                const char *sex, uint32_t *out, size_t max)
{
    uint64_t h = name_hash(name, dob);
    size_t lo = 0, hi = p->ndrivers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->names[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    lex_driver_t d;
    for (size_t i = lo; i < p->ndrivers && p->names[i].hash == h && n < max; i++) {
        lex_population_driver(p, p->names[i].index, &d);
        if (strcmp(d.name, name) != 0 || strcmp(d.dob, dob) != 0)
            continue; /* hash collision */
        if (sex && sex[0] && strcmp(d.sex, sex) != 0)
            continue;
        out[n++] = d.index;
    }
    return n;
}

size_t lex_population_vehicles_of(const lex_population_t *p, uint32_t driver, uint32_t *out,
                                  size_t max)
{
    size_t lo = 0, hi = p->nvehicles;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->owners[mid].owner < driver)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < p->nvehicles && p->owners[i].owner == driver && n < max; i++)
        out[n++] = p->owners[i].vehicle;
    return n;
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

static void pack_vehicle(const lex_population_t *p, msgpack_packer *pk, uint32_t vi)
{
    lex_vehicle_t v;
    lex_driver_t d;
    lex_population_vehicle(p, vi, &v);
    lex_population_driver(p, v.owner, &d);
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

#define MATCH_MAX 50

/* Reads an optional string field; 0 if absent, -1 if malformed. */
static int opt_str(const msgpack_object *map, const char *name, char *buf, size_t size)
{
    buf[0] = 0;
    const msgpack_object *o = lex_mp_get(map, name);
    if (!o)
        return 0;
    return lex_mp_str(o, buf, size) == 0 ? 1 : -1;
}

int lex_population_answer(const lex_population_t *p, const char *key, const void *qbody,
                          size_t qlen, char resp_key[LEX_KEY_MAX + 1], lex_buf_t *body)
{
    msgpack_unpacked up;
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, lex_buf_write);
    if (lex_body_parse(qbody, qlen, &up) != 0) {
        strcpy(resp_key, "ST");
        return lex_status_body(body, LEX_ST_BAD_BODY, "query body is not a msgpack map");
    }
    const msgpack_object *q = &up.data;
    char lic[24], name[72], dob[16], sex[4], plate[16], pstate[4], vin[24];
    int bad = opt_str(q, "lic", lic, sizeof lic) < 0 || opt_str(q, "name", name, sizeof name) < 0 ||
              opt_str(q, "dob", dob, sizeof dob) < 0 || opt_str(q, "sex", sex, sizeof sex) < 0 ||
              opt_str(q, "plate", plate, sizeof plate) < 0 ||
              opt_str(q, "plate_state", pstate, sizeof pstate) < 0 ||
              opt_str(q, "vin", vin, sizeof vin) < 0;
    msgpack_unpacked_destroy(&up);
    if (bad) {
        strcpy(resp_key, "ST");
        return lex_status_body(body, LEX_ST_BAD_BODY, "a query field has the wrong type");
    }
    uint32_t found[MATCH_MAX];
    size_t n = 0;
    uint32_t idx;
    if (strcmp(key, "DQ") == 0) {
        if (lic[0])
            n = lex_population_find_lic(p, lic, &idx) == 0 ? (found[0] = idx, 1) : 0;
        else if (name[0] && dob[0])
            n = lex_population_find_name(p, name, dob, sex, found, MATCH_MAX);
        if (n) {
            strcpy(resp_key, "DR");
            msgpack_pack_map(&pk, 2);
            lex_mp_pack_str(&pk, "records");
            msgpack_pack_array(&pk, n);
            lex_driver_t d;
            for (size_t i = 0; i < n; i++) {
                lex_population_driver(p, found[i], &d);
                pack_driver(&pk, &d);
            }
            lex_mp_pack_kv_uint(&pk, "count", n);
        }
    } else if (strcmp(key, "KQ") == 0) {
        if (lic[0] && lex_population_find_lic(p, lic, &idx) == 0) {
            n = 1;
            lex_driver_t d;
            lex_history_t h[8];
            lex_population_driver(p, idx, &d);
            size_t nh = lex_population_history(p, idx, h, 8);
            strcpy(resp_key, "KR");
            msgpack_pack_map(&pk, 3);
            lex_mp_pack_kv_str(&pk, "lic", d.lic);
            lex_mp_pack_kv_str(&pk, "name", d.name);
            lex_mp_pack_str(&pk, "history");
            msgpack_pack_array(&pk, nh);
            for (size_t i = 0; i < nh; i++) {
                msgpack_pack_map(&pk, 3);
                lex_mp_pack_kv_str(&pk, "date", h[i].date);
                lex_mp_pack_kv_str(&pk, "kind", h[i].kind);
                lex_mp_pack_kv_str(&pk, "text", h[i].text);
            }
        }
    } else if (strcmp(key, "RQ") == 0 || strcmp(key, "RNQ") == 0) {
        if (strcmp(key, "RQ") == 0) {
            int state_ok = !pstate[0] || strcmp(pstate, p->state) == 0;
            if (plate[0] && state_ok && lex_population_find_plate(p, plate, &idx) == 0)
                found[n++] = idx;
            else if (!plate[0] && vin[0] && lex_population_find_vin(p, vin, &idx) == 0)
                found[n++] = idx;
        } else if (name[0] && dob[0]) {
            uint32_t drivers[MATCH_MAX];
            size_t nd = lex_population_find_name(p, name, dob, NULL, drivers, MATCH_MAX);
            for (size_t i = 0; i < nd && n < MATCH_MAX; i++)
                n += lex_population_vehicles_of(p, drivers[i], found + n, MATCH_MAX - n);
        }
        if (n) {
            strcpy(resp_key, strcmp(key, "RQ") == 0 ? "RR" : "RNR");
            msgpack_pack_map(&pk, 2);
            lex_mp_pack_str(&pk, "vehicles");
            msgpack_pack_array(&pk, n);
            for (size_t i = 0; i < n; i++)
                pack_vehicle(p, &pk, found[i]);
            lex_mp_pack_kv_uint(&pk, "count", n);
        }
    } else if (strcmp(key, "IMQ") == 0) {
        if (lic[0] && lex_population_find_lic(p, lic, &idx) == 0) {
            n = 1;
            uint64_t r = rec_rand(p, 5, idx);
            size_t size = 20000 + (size_t)(r % 20000);
            unsigned char *img = malloc(size);
            if (!img)
                return LEX_ENOMEM;
            for (size_t i = 0; i < size; i += 8) {
                r = mix(r);
                memcpy(img + i, &r, size - i < 8 ? size - i : 8);
            }
            memcpy(img, "\xff\xd8\xff\xe0", 4);
            strcpy(resp_key, "IMR");
            msgpack_pack_map(&pk, 3);
            lex_mp_pack_kv_str(&pk, "lic", lic);
            lex_mp_pack_kv_str(&pk, "format", "jpeg");
            lex_mp_pack_str(&pk, "photo");
            msgpack_pack_bin(&pk, size);
            msgpack_pack_bin_body(&pk, img, size);
            free(img);
        }
    } else {
        return LEX_EUNKNOWNKEY;
    }
    if (n == 0) {
        strcpy(resp_key, "ST");
        return lex_status_body(body, LEX_ST_NO_RECORD, "no record found");
    }
    return body->failed ? LEX_ENOMEM : 0;
}

int lex_population_sample_query(const lex_population_t *p, const char *key, uint64_t rnd,
                                unsigned miss_pct, lex_buf_t *body)
{
    uint64_t r = mix(rnd);
    int miss = (unsigned)(r % 100) < miss_pct;
    unsigned form = (unsigned)((r >> 8) % 100);
    uint32_t di = (uint32_t)((r >> 16) % p->ndrivers);
    uint32_t vi = p->nvehicles ? (uint32_t)((r >> 16) % p->nvehicles) : 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, lex_buf_write);
    lex_driver_t d;
    lex_population_driver(p, di, &d);
    char lic[16];
    if (miss)
        lic_of(p, p->ndrivers + (uint32_t)((r >> 40) % 1000), lic);
    else
        strcpy(lic, d.lic);
    if (strcmp(key, "DQ") == 0 && form < 65) {
        msgpack_pack_map(&pk, 1);
        lex_mp_pack_kv_str(&pk, "lic", lic);
    } else if (strcmp(key, "DQ") == 0 || strcmp(key, "RNQ") == 0) {
        msgpack_pack_map(&pk, 2);
        lex_mp_pack_kv_str(&pk, "name", d.name);
        lex_mp_pack_kv_str(&pk, "dob", miss ? "1900-01-01" : d.dob);
    } else if (strcmp(key, "KQ") == 0 || strcmp(key, "IMQ") == 0) {
        msgpack_pack_map(&pk, 1);
        lex_mp_pack_kv_str(&pk, "lic", lic);
    } else if (strcmp(key, "RQ") == 0) {
        uint64_t v = miss || !p->nvehicles ? p->nvehicles + (r >> 40) % 1000 : vi;
        if (form < 85) {
            char plate[9];
            plate_of(v, plate);
            msgpack_pack_map(&pk, 2);
            lex_mp_pack_kv_str(&pk, "plate", plate);
            lex_mp_pack_kv_str(&pk, "plate_state", p->state);
        } else {
            char vin[18];
            vin_of(p, v, vin);
            msgpack_pack_map(&pk, 1);
            lex_mp_pack_kv_str(&pk, "vin", vin);
        }
    } else {
        return LEX_EUNKNOWNKEY;
    }
    return body->failed ? LEX_ENOMEM : 0;
}
