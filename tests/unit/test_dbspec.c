/*
 * Unit tests for feeds/base/dbspec.c: what a `database` value names (a file or a PostgreSQL
 * server, as libpq reads it), and how it is shown with its secrets hidden.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/dbspec.h"

/* Paths, absolute or relative, whatever they look like, are files. */
static void
test_dbspec_files(void **state)
{
    (void)state;
    static const char *const files[] = {
        "/var/lib/feedwatch/feedwatch.db",
        "feedwatch.db",
        "../build/quickstart/feedwatch.db",
        "",
        "a=b.db",            /* a '=' after a word libpq does not know */
        "/srv/host=db/x.db", /* a path's first word is the path */
        "hostname=x",        /* not a keyword (host is) */
        "host",              /* a keyword with no '=' */
        "dbname feeds",      /* the same */
        "=feeds",            /* no keyword */
        "postgresql:feeds",  /* libpq's URIs need "//" */
        "postgresql:/x",
        "PostgreSQL://h/db", /* libpq compares the prefix in its case */
        "POSTGRES://h/db",
        "postgresq://h/db",
        "mysql://h/db",
        "sqlite:///x.db",
        "./service=feeds",
        "file:feeds.db?mode=ro",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (dbspec_kind(files[i]) != DBSPEC_FILE)
            fail_msg("'%s' is not taken for a file", files[i]);
    }
    assert_int_equal(dbspec_kind(NULL), DBSPEC_FILE);
}

/* libpq's URIs and its keyword/value strings are PostgreSQL. */
static void
test_dbspec_postgres(void **state)
{
    (void)state;
    static const char *const pg[] = {
        "postgresql://",
        "postgresql://localhost",
        "postgresql://feeds@db.example:5433/feedwatch?sslmode=require",
        "postgresql://u:secret@h1:5432,h2:5432/feeds",
        "postgresql:///feeds?host=/run/postgresql",
        "postgres://h/db",
        "service=feeds",
        "host=/run/postgresql dbname=feeds",
        "dbname = feeds",
        "  user=feedwatch",
        "\tport=5433",
        "password='a b' host=x",
        "sslmode=verify-full host=db",
        "application_name=x",
        "target_session_attrs=read-write",
        "load_balance_hosts=random",
        "sslnegotiation=direct",
    };
    for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
        if (dbspec_kind(pg[i]) != DBSPEC_POSTGRES)
            fail_msg("'%s' is not taken for PostgreSQL", pg[i]);
    }
}

static void
assert_redacts(const char *in, const char *want)
{
    char *got = dbspec_redact(in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("dbspec_redact('%s') = '%s', want '%s'", in, got, want);
    free(got);
}

/* Passwords never show: a URI's userinfo and secret parameters, keyword values. */
static void
test_dbspec_redact(void **state)
{
    (void)state;
    assert_redacts("/var/lib/feedwatch/password=x.db", "/var/lib/feedwatch/password=x.db");
    assert_redacts("postgresql://h/db", "postgresql://h/db");
    assert_redacts("postgresql://feeds:s3cret@db.example/feedwatch",
                   "postgresql://***@db.example/feedwatch");
    assert_redacts("postgres://u:p@h1,h2/db?sslmode=require&password=x&sslpassword=y",
                   "postgres://***@h1,h2/db?sslmode=require&password=***&sslpassword=***");
    assert_redacts("postgresql:///db?host=/run/postgresql&sslpassword=k3y",
                   "postgresql:///db?host=/run/postgresql&sslpassword=***");
    assert_redacts("service=feeds", "service=feeds");
    assert_redacts("host=db password=s3cret dbname=feeds", "host=db password=*** dbname=feeds");
    assert_redacts("host=db  password = 's3 cr\\'et' user=u", "host=db  password = *** user=u");
    assert_redacts("password=a\\ b sslpassword=c", "password=*** sslpassword=***");
    assert_redacts("dbname=x password=", "dbname=x password=***");
    assert_redacts("user=u oauth_client_secret=zz", "user=u oauth_client_secret=***");
    /* What libpq could not read is not shown: it may be a password gone wrong. */
    assert_redacts("host=db password='s3cret", "host=db \xe2\x80\xa6");
    assert_redacts("host=db s3cret", "host=db \xe2\x80\xa6");
    assert_null(dbspec_redact(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dbspec_files),
        cmocka_unit_test(test_dbspec_postgres),
        cmocka_unit_test(test_dbspec_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
