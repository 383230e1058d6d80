/*
 * check.c — `feedwatchd --check`: everything a start would refuse, found without starting.
 * The config is read as the daemon reads it (keys, values, includes, header @FILEs), the
 * topics are compiled, each exec hook's program must exist and be executable, each secret
 * file (password_file, secret_file) must be readable, and the database's folder writable;
 * settings that would do nothing are warned of (exit 0). Nothing is opened for writing, no database
 * is created, no network is touched.
 *
 * Run as root while the service's user (feedwatch) exists, the whole check runs in a child
 * that has taken that user's identity, so "readable" means readable by the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alerts.h"
#include "base/dbspec.h"
#include "check.h"
#include "conf.h"
#include "store.h"

#define CHECK_SERVICE_USER "feedwatch"
#define CHECK_DEFAULT_STATE_DIR "/var/lib/feedwatch"

struct check {
    FILE *out;
    unsigned problems;
};

static void problem(struct check *c, const struct conf_origin *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct check *c, const struct conf_origin *at, const char *fmt, ...)
{
    va_list ap;
    if (at && at->file)
        (void)fprintf(c->out, "%s:%u: ", at->file, at->line);
    va_start(ap, fmt);
    (void)vfprintf(c->out, fmt, ap);
    va_end(ap);
    (void)fputc('\n', c->out);
    c->problems++;
}

/* What works but is surely not what was meant: said, not counted as a problem. */
static void warning(struct check *c, const struct conf_origin *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
warning(struct check *c, const struct conf_origin *at, const char *fmt, ...)
{
    va_list ap;
    if (at && at->file)
        (void)fprintf(c->out, "%s:%u: ", at->file, at->line);
    (void)fputs("warning: ", c->out);
    va_start(ap, fmt);
    (void)vfprintf(c->out, fmt, ap);
    va_end(ap);
    (void)fputc('\n', c->out);
}

/*
 * A topic with `on_update = alert` none of whose hooks lists item-updated in its `events`:
 * no hook hears of an edit (alerts.c gives item-updated only to such hooks). The setting still
 * raises an alert for an item edited into matching (`ignore` would not), so the warning says
 * both, lest a user "fix" it by losing those alerts (review11 M2).
 */
static void
check_on_update(struct check *c, const struct conf *conf)
{
    for (size_t i = 0; i < conf->n_topics; i++) {
        const struct conf_topic *t = &conf->topics[i];
        bool heard = false;
        for (size_t j = 0; t->on_update_alert && j < t->n_hooks && !heard; j++) {
            const struct conf_hook *h = conf_hook_find(conf, t->hooks[j]);
            heard = h && (h->events & (1u << CONF_EVENT_ITEM_UPDATED));
        }
        if (t->on_update_alert && !heard)
            warning(c, &t->origin,
                    "topic '%s': on_update = alert: none of its hooks lists item-updated in "
                    "its events, so none hears of an edit (an item edited into matching "
                    "still raises an alert)",
                    t->name);
    }
}

/* True when prog (a path with a slash, or a name looked up in PATH) is an executable file. */
static bool
find_executable(const char *prog, char *found, size_t found_size)
{
    struct stat st;
    if (strchr(prog, '/')) {
        (void)snprintf(found, found_size, "%s", prog);
        return stat(prog, &st) == 0 && S_ISREG(st.st_mode) && access(prog, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        (void)snprintf(found, found_size, "%.*s/%s", (int)n, n ? path : ".", prog);
        if (stat(found, &st) == 0 && S_ISREG(st.st_mode) && access(found, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    (void)snprintf(found, found_size, "%s", prog);
    return false;
}

static void
check_readable(struct check *c, const struct conf_origin *at, const char *what, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        problem(c, at, "%s: cannot read %s: %s", what, path, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
        problem(c, at, "%s: %s is not a regular file", what, path);
    (void)close(fd);
}

/* The database's folder must be writable, or creatable: the daemon makes missing folders. */
static void
check_database_dir(struct check *c, const char *database)
{
    char *copy = strdup(database);
    if (!copy) {
        problem(c, NULL, "out of memory");
        return;
    }
    char *dir = dirname(copy);
    struct stat st;
    bool missing = false;
    while (stat(dir, &st) != 0) {
        if (errno != ENOENT || strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0) {
            problem(c, NULL, "database: folder %s: %s", dir, strerror(errno));
            free(copy);
            return;
        }
        if (strcmp(dir, CHECK_DEFAULT_STATE_DIR) == 0) {
            /* The service's StateDirectory= creates it, owned by the service's user. */
            (void)fprintf(c->out, "database: %s does not exist yet; the service creates it\n", dir);
            free(copy);
            return;
        }
        missing = true;
        dir = dirname(dir);
    }
    if (!S_ISDIR(st.st_mode))
        problem(c, NULL, "database: %s is not a folder", dir);
    else if (access(dir, W_OK | X_OK) != 0)
        problem(c, NULL, "database: folder %s is not writable%s: %s", dir,
                missing ? " (the database's folders would be made in it)" : "", strerror(errno));
    else if (!missing && access(database, F_OK) == 0 && access(database, R_OK | W_OK) != 0)
        problem(c, NULL, "database: %s is not readable and writable: %s", database,
                strerror(errno));
    free(copy);
}

/* The whole check as the current user: 0 when nothing is wrong, else 2. */
static int
check_as_self(const char *config_path, FILE *out)
{
    struct check c = {.out = out};
    struct conf *conf = NULL;
    char *err = NULL;
    int r = conf_load(config_path, &conf, &err);
    if (r < 0) {
        (void)fprintf(out, "%s\n", err ? err : strerror(-r));
        free(err);
        return 2;
    }

    struct alerts *alerting = NULL;
    r = alerts_new(conf, &alerting, &err);
    if (r < 0) {
        problem(&c, NULL, "%s", err ? err : strerror(-r));
        free(err);
    }
    alerts_free(alerting);
    for (size_t i = 0; i < conf->n_warnings; i++)
        (void)fprintf(c.out, "%s\n", conf->warnings[i]);
    check_on_update(&c, conf);

    for (size_t i = 0; i < conf->n_feeds; i++) {
        const struct conf_feed *f = &conf->feeds[i];
        if (f->password_file)
            check_readable(&c, &f->origin, "password_file", f->password_file);
    }
    for (size_t i = 0; i < conf->n_hooks; i++) {
        const struct conf_hook *h = &conf->hooks[i];
        if (h->exec_argv && h->exec_argv[0]) {
            char found[4096];
            if (!find_executable(h->exec_argv[0], found, sizeof(found)))
                problem(&c, &h->origin, "exec: %s is not an executable file%s", found,
                        strchr(h->exec_argv[0], '/') ? "" : " in PATH");
        }
        if (h->secret_file)
            check_readable(&c, &h->origin, "secret_file", h->secret_file);
    }
    char *dberr = NULL;
    r = store_supports(conf->daemon.database, &dberr);
    if (r < 0)
        problem(&c, NULL, "%s", dberr ? dberr : strerror(-r));
    else if (dbspec_kind(conf->daemon.database) == DBSPEC_FILE)
        check_database_dir(&c, conf->daemon.database);
    free(dberr);

    if (c.problems == 0)
        (void)fprintf(out, "%s: ok (%zu feeds, %zu topics, %zu hooks)\n", conf->path, conf->n_feeds,
                      conf->n_topics, conf->n_hooks);
    conf_free(conf);
    return c.problems ? 2 : 0;
}

/* Runs the check in a child that has become pw's user; its exit status is the answer. */
static int
check_as_user(const char *config_path, FILE *out, const struct passwd *pw)
{
    (void)fprintf(out, "checking as user %s (the service's user)\n", pw->pw_name);
    (void)fflush(out);
    pid_t pid = fork();
    if (pid < 0) {
        (void)fprintf(out, "cannot fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
            setuid(pw->pw_uid) != 0) {
            (void)fprintf(out, "cannot become user %s: %s\n", pw->pw_name, strerror(errno));
            (void)fflush(out);
            _exit(1);
        }
        int r = check_as_self(config_path, out);
        (void)fflush(out);
        _exit(r);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int
daemon_check(const char *config_path, FILE *out)
{
    if (geteuid() == 0) {
        const struct passwd *pw = getpwnam(CHECK_SERVICE_USER);
        if (pw && pw->pw_uid != 0)
            return check_as_user(config_path, out, pw);
    }
    return check_as_self(config_path, out);
}
