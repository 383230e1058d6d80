/*
 * check.h — `feedwatchd --check`: validates a config as a start would, without starting.
 */
#ifndef FEEDWATCH_CHECK_H
#define FEEDWATCH_CHECK_H

#include <stdio.h>

/*
 * Reads and validates the config at config_path: keys and values, topic queries, each exec
 * hook's program, the secret files, the database's folder. Writes one line per problem (or
 * one "ok" line) to out. Touches no database and no network. Run as root while the
 * service's user exists, the check runs as that user. 0 when good, 2 when not, 1 when the
 * check itself could not run.
 */
int daemon_check(const char *config_path, FILE *out);

#endif
