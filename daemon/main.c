/*
 * main.c — feedwatchd: argv, then daemon_run (or daemon_check). Exit codes: 0 clean stop,
 * 1 runtime failure, 2 bad config or usage. Never forks; --foreground is accepted and
 * changes nothing.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "ctlcmd.h"
#include "daemon.h"
#include "log.h"

static const char *arg_config = "/etc/feedwatch/feedwatch.conf";
static bool arg_once;
static bool arg_check;

static void
usage(FILE *out)
{
    fprintf(out, "usage: feedwatchd [--config FILE] [--once] [--foreground]\n"
                 "       feedwatchd --check [--config FILE]\n"
                 "  --config FILE  configuration (default /etc/feedwatch/feedwatch.conf)\n"
                 "  --once         poll every feed once, then exit (0: all fetched, 1: not)\n"
                 "  --check        validate the configuration, then exit (0: good, 2: not);\n"
                 "                 no polling, no database, no hooks\n"
                 "  --foreground   accepted for compatibility; feedwatchd never forks\n"
                 "  --version      print the version\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"check", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:ofhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            arg_config = optarg;
            break;
        case 'o':
            arg_once = true;
            break;
        case 'f':
            break;
        case 'C':
            arg_check = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("feedwatchd %s\n", FW_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (arg_check && arg_once)) {
        usage(stderr);
        return 2;
    }
    if (arg_check)
        return daemon_check(arg_config, stdout);
    log_setup();
    static const struct daemon_control ctl = {.listen = ctlcmd_listen, .close = ctlcmd_close};
    return daemon_run(arg_config, arg_once, &ctl);
}
