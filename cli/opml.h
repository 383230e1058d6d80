/*
 * opml.h — `feedwatch export-opml` and `feedwatch import-opml`: the daemon's feeds as
 * OPML 2.0 (a folder outline per first tag, tags as `category="/a,/b"`), and the feeds of an
 * OPML file added as run-time feeds through the socket, reported (--dry-run) or printed as
 * config sections (--ini).
 *
 * An OPML file is hostile input: at most OPML_MAX_BYTES, parsed by libxml2 without network
 * access, DTD loading or entity substitution, and refused outright when it declares
 * entities. Messages go to stderr as "feedwatch: ..."; single-threaded.
 */
#ifndef FEEDWATCH_OPML_H
#define FEEDWATCH_OPML_H

#include <stdbool.h>
#include <stddef.h>

#include "base/feedrule.h" /* a feed's name, URL and tags: FEED_TAGS_MAX... */

#define OPML_MAX_BYTES (16u * 1024u * 1024u) /* an OPML file larger than this is refused */
#define OPML_NAME_MAX 64 /* bytes of a name made for a feed (within FEED_NAME_MAX) */

/* What `import-opml` was asked. */
struct opml_import_args {
    const char *socket;      /* the daemon's socket; NULL with ini */
    const char *file;        /* the OPML file, "-" for standard input */
    const char *const *tags; /* --tag T...: added to every feed */
    size_t n_tags;
    bool dry_run; /* only report what would be done */
    bool ini;     /* print [feed] sections; no daemon */
};

/* Prints every feed of the daemon at socket as OPML. Exit status: 0, 1, or 3 (unreachable). */
int opml_export(const char *socket);

/*
 * Imports an OPML file as args say, one line per feed on stdout ("added NAME URL",
 * "skipped URL (why)", "failed URL: why"; with dry_run "would add NAME URL"). Exit status:
 * 0 all went well, 1 some feed failed, 2 the file is unreadable or not OPML, 3 the daemon
 * is not reachable.
 */
int opml_import(const struct opml_import_args *args);

#endif
