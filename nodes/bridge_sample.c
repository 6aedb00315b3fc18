/* bridge_sample.c: `lexnode bridge --init-sample FILE`: a small SQLite
 * database of Nevada drivers, vehicles and driving history, and a config
 * answering DQ, KQ and RQ from it, to start from when wiring a real
 * records system. Never overwrites a file. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "lex_bridge.h"
#include "lex_error.h"

static const char sample_sql[] =
    "CREATE TABLE drivers (lic TEXT PRIMARY KEY, name TEXT NOT NULL, dob TEXT NOT NULL,"
    " sex TEXT, address TEXT, city TEXT, zip TEXT, class TEXT, status TEXT, expiry TEXT);\n"
    "CREATE INDEX drivers_name ON drivers(name, dob);\n"
    "CREATE TABLE vehicles (plate TEXT, plate_state TEXT, vin TEXT PRIMARY KEY, year INTEGER,"
    " make TEXT, model TEXT, color TEXT, type TEXT, status TEXT, owner_lic TEXT);\n"
    "CREATE INDEX vehicles_plate ON vehicles(plate);\n"
    "CREATE TABLE history (lic TEXT, date TEXT, kind TEXT, text TEXT);\n"
    "CREATE INDEX history_lic ON history(lic);\n"
    "INSERT INTO drivers VALUES"
    " ('NV1000001','DOE,JANE','1984-07-12','F','12 Sierra St','RENO','89501','C','VALID','2028-07-12'),"
    " ('NV1000002','ROE,RICHARD','1971-01-30','M','4 Fremont Ave','LAS VEGAS','89101','C','SUSPENDED','2026-01-30'),"
    " ('NV1000003','ROE,RICHARD','1999-11-02','M','88 Lake Rd','CARSON CITY','89701','M','VALID','2029-11-02');\n"
    "INSERT INTO vehicles VALUES"
    " ('NVX001','NV','4S3BMHB68B3286050',2011,'SUBARU','LEGACY','BLUE','PC','VALID','NV1000001'),"
    " ('NVX002','NV','1FTFW1ET5DFC10312',2013,'FORD','F-150','WHITE','TK','VALID','NV1000002');\n"
    "INSERT INTO history VALUES"
    " ('NV1000002','2024-03-02','CONVICTION','speeding 20+ over'),"
    " ('NV1000002','2025-06-18','SUSPENSION','points');\n";

static const char sample_conf[] =
    "# lexnode bridge configuration: answer queries from a SQL database.\n"
    "# database = sqlite:PATH  or  postgresql:CONNINFO (libpq keywords, e.g.\n"
    "#   postgresql:host=127.0.0.1 port=5432 dbname=dmv user=bridge)\n"
    "database = sqlite:%s\n"
    "ori = NVDMV0000\n"
    "states = NV\n"
    "# connect = tcp://127.0.0.1:7400\n"
    "# key_file = /etc/lex/nv-bridge.key   (bound at the switch as Nevada's responder:\n"
    "#   lexctl keys gen nv-bridge --role responder --bind NVDMV0000 --states NV)\n"
    "# switch_key_file = /etc/lex/switch.pub\n"
    "#\n"
    "# One statement per query key. :name is the query's field of that name\n"
    "# (NULL when absent); each row is one record of the answer, its columns\n"
    "# the record's fields. A trailing backslash continues a line.\n"
    "DQ = SELECT lic, name, dob, sex, address, city, zip, class, status, expiry \\\n"
    "     FROM drivers WHERE lic = :lic OR (name = :name AND dob = :dob) \\\n"
    "     ORDER BY lic LIMIT 50\n"
    "KQ = SELECT date, kind, text FROM history WHERE lic = :lic ORDER BY date\n"
    "RQ = SELECT plate, plate_state, vin, year, make, model, color, type, status \\\n"
    "     FROM vehicles WHERE plate = :plate OR vin = :vin ORDER BY vin LIMIT 50\n";

static int create_new(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 access(path, F_OK) == 0 ? "already exists (not overwritten)" : "cannot create");
        return LEX_EEXIST;
    }
    close(fd);
    return 0;
}

int lex_bridge_init_sample(const char *conf_path, char *err, size_t errlen)
{
    char db_path[600];
    const char *slash = strrchr(conf_path, '/');
    const char *dot = strrchr(conf_path, '.');
    size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - conf_path) : strlen(conf_path);
    if (stem + 4 >= sizeof db_path) {
        snprintf(err, errlen, "%s: path too long", conf_path);
        return LEX_EINVAL;
    }
    snprintf(db_path, sizeof db_path, "%.*s.db", (int)stem, conf_path);
    if (access(conf_path, F_OK) == 0) {
        snprintf(err, errlen, "%s: already exists (not overwritten)", conf_path);
        return LEX_EEXIST;
    }
    int rc = create_new(db_path, err, errlen);
    if (rc != 0)
        return rc;
    sqlite3 *db = NULL;
    char *msg = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sample_sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db_path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        unlink(db_path);
        return LEX_EIO;
    }
    sqlite3_close(db);
    FILE *f = fopen(conf_path, "wx");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create", conf_path);
        unlink(db_path);
        return LEX_EIO;
    }
    fprintf(f, sample_conf, db_path);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed", conf_path);
        return LEX_EIO;
    }
    return 0;
}
