/*
 * pgtest.h — scratch databases on the test PostgreSQL server, for the store's unit tests
 * (test_store_iface.c's PostgreSQL row, test_store_pg.c). Include after <cmocka.h>.
 *
 * FW_TEST_PG holds a libpq connection string of the server's maintenance database (ctest's
 * pg fixture, tests/pg/pgscratch, starts the server in a scratch folder and sets it, e.g.
 * "host=/tmp/fwpg-x user=feedwatch dbname=postgres"). Without it the tests fail: a PostgreSQL case
 * is never skipped. Each database is made with a name of the test's own (fwt_<pid>_<n>), and the
 * `database` value the store gets is FW_TEST_PG with that dbname, in keyword=value form.
 */
#ifndef FEEDWATCH_PGTEST_H
#define FEEDWATCH_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

/* FW_TEST_PG, or the test fails with why. */
static const char *
pgtest_base(void)
{
    const char *s = getenv("FW_TEST_PG");

    if (!s || !*s)
        fail_msg(
            "FW_TEST_PG is not set: the PostgreSQL tests need a scratch server and its"
            " maintenance database's connection string (ctest's pg fixture, tests/pg/pgscratch,"
            " starts one and sets it)");
    return s;
}

/* Writes FW_TEST_PG with dbname replaced by dbname into out (keyword='value' pairs). */
static void
pgtest_conninfo(const char *dbname, char *out, size_t size)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(pgtest_base(), &err);
    size_t len = 0;

    if (!opts)
        fail_msg("FW_TEST_PG: %s", err ? err : "cannot be parsed");
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;

        if (!v)
            continue;
        /* Room for the keyword, "='", each byte escaped, "'" and the NUL. */
        if (len + strlen(o->keyword) + 2 * strlen(v) + 5 > size)
            fail_msg("FW_TEST_PG is too long");
        len += (size_t)snprintf(out + len, size - len, "%s%s='", len ? " " : "", o->keyword);
        for (const char *c = v; *c; c++) {
            if (*c == '\'' || *c == '\\')
                out[len++] = '\\';
            out[len++] = *c;
        }
        out[len++] = '\'';
        out[len] = '\0';
    }
    PQconninfoFree(opts);
}

/* Runs sql (no values in it but the test's own names) on the database dbname; fails on error. */
static void
pgtest_exec(const char *dbname, const char *sql)
{
    char conninfo[512];
    PGconn *conn;
    PGresult *res;

    if (dbname)
        pgtest_conninfo(dbname, conninfo, sizeof(conninfo));
    conn = PQconnectdb(dbname ? conninfo : pgtest_base());
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("FW_TEST_PG: cannot connect: %s", PQerrorMessage(conn));
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(conn);
}

/*
 * Makes a new, empty database: its name into name (fwt_<pid>_<n>) and the `database` value
 * that opens it into database.
 */
static void
pgtest_create(char *name, size_t name_size, char *database, size_t database_size)
{
    static unsigned counter;
    char sql[256];

    (void)snprintf(name, name_size, "fwt_%ld_%u", (long)getpid(), counter++);
    (void)snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    pgtest_exec(NULL, sql);
    pgtest_conninfo(name, database, database_size);
}

/* Drops the database name, closing any connection still on it. */
static void
pgtest_drop(const char *name)
{
    char sql[256];

    (void)snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgtest_exec(NULL, sql);
}

#endif
