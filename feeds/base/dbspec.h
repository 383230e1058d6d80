/*
 * dbspec.h — what the `database` key names: a file (SQLite) or a PostgreSQL server, as libpq
 * would read the value. One rule for the config reader (config/conf.c: a file path is made
 * absolute, a connection string is kept as written) and the store (daemon/store.c: which
 * engine opens it), so that the two never disagree.
 *
 * Pure; any thread.
 */
#ifndef FEEDWATCH_DBSPEC_H
#define FEEDWATCH_DBSPEC_H

enum dbspec_kind {
    DBSPEC_FILE,     /* a file path, absolute or relative: the SQLite engine */
    DBSPEC_POSTGRES, /* a libpq connection string: the PostgreSQL engine */
};

/*
 * The kind of a `database` value. PostgreSQL: libpq's URI forms ("postgresql://…",
 * "postgres://…", in that case, as libpq takes them) and its keyword/value form, a string
 * whose first word, after any blanks, is one of libpq's connection keywords followed by '='
 * ("service=feeds", "host=/run/postgresql dbname=feeds", "dbname = feeds"). Anything else is
 * a file path ("feeds.db", "/var/lib/feedwatch/feedwatch.db", "a=b.db", "postgresql:x").
 */
enum dbspec_kind dbspec_kind(const char *database);

/*
 * database as it may be shown (an error, a log line): a PostgreSQL connection string with
 * the values of its secrets (password, sslpassword, and the like; a URI's "user:password@")
 * replaced by "***", and, in the keyword/value form, what follows a part libpq could not
 * read replaced by "…"; a file path as it is. NULL when database is NULL or memory runs out.
 */
char *dbspec_redact(const char *database);

#endif
