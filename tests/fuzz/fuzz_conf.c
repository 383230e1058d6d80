/*
 * fuzz_conf.c — the config reader under arbitrary files.
 *
 * conf_load reads a path, so each input is written to one file in a private folder made
 * once per process (in /dev/shm when it exists, so no disk is touched), and loaded from
 * there: relative includes and @FILE values resolve in that folder, which holds nothing
 * else. Oracles (conf.h): 0 with a config and no message, or a negative errno with no
 * config and a message whose every line is "file:line: ..." text without NUL; a loaded
 * config has feeds, topics and hooks with names, and each name is found again by
 * conf_*_find.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dbspec.h"
#include "conf.h"
#include "fuzz.h"

static char fuzz_dir[64];
static char fuzz_path[96];

static void
fuzz_dir_remove(void)
{
    (void)unlink(fuzz_path);
    (void)rmdir(fuzz_dir);
}

static void
fuzz_dir_make(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    (void)snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fw-fuzz-conf-XXXXXX", base);
    if (!mkdtemp(fuzz_dir))
        abort();
    (void)snprintf(fuzz_path, sizeof fuzz_path, "%s/fuzz.conf", fuzz_dir);
    (void)atexit(fuzz_dir_remove);
}

static void
write_input(const uint8_t *data, size_t size)
{
    int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t off = 0;

    if (fd < 0)
        abort();
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    if (close(fd) < 0)
        abort();
}

static void
conf_check(const struct conf *c)
{
    assert(c->path && c->path[0] == '/');
    /* A file is made absolute against the config's folder; a PostgreSQL string stays as given. */
    assert(c->daemon.database &&
           (c->daemon.database[0] == '/' || dbspec_kind(c->daemon.database) == DBSPEC_POSTGRES));
    assert(c->daemon.socket && c->daemon.socket[0] == '/');
    for (size_t i = 0; i < c->n_feeds; i++) {
        assert(c->feeds[i].name && c->feeds[i].url);
        assert(conf_feed_find(c, c->feeds[i].name) == &c->feeds[i]);
        assert(!conf_feed_changed(&c->feeds[i], &c->feeds[i]));
    }
    for (size_t i = 0; i < c->n_topics; i++) {
        assert(c->topics[i].name && c->topics[i].match);
        assert(conf_topic_find(c, c->topics[i].name) == &c->topics[i]);
        for (size_t k = 0; k < c->topics[i].n_hooks; k++)
            assert(conf_hook_find(c, c->topics[i].hooks[k]));
        for (size_t k = 0; k < c->topics[i].n_feeds; k++)
            assert(conf_feed_find(c, c->topics[i].feeds[k]));
    }
    for (size_t i = 0; i < c->n_hooks; i++) {
        const struct conf_hook *h = &c->hooks[i];

        assert(h->name && conf_hook_find(c, h->name) == h);
        assert((h->exec_argv != NULL) != (h->url != NULL));
    }
}

/* Runs the code under test on one input; always returns 0 (libFuzzer's convention). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf *c = NULL;
    char *why = NULL;
    int r;

    if (!fuzz_dir[0])
        fuzz_dir_make();
    write_input(data, size);
    r = conf_load(fuzz_path, &c, &why);
    if (r == 0) {
        assert(c && !why);
        conf_check(c);
        conf_free(c);
    } else {
        assert(r < 0 && !c);
        assert(r == -ENOMEM || (why && why[0]));
        free(why);
    }
    return 0;
}
