/*
 * feedrule.h — what a feed's name, URL and tags may be: one rule for the config reader
 * (config/conf.c), run-time `add` (daemon/daemon.c) and OPML import (cli/opml.c), so that a
 * feed one of them takes, the others take too.
 *
 * Pure; any thread.
 */
#ifndef FEEDWATCH_FEEDRULE_H
#define FEEDWATCH_FEEDRULE_H

#include <stdbool.h>
#include <stddef.h>

#define FEED_NAME_MAX 128 /* characters of a name (ASCII: bytes) */
#define FEED_URL_MAX 8192 /* bytes of a URL */
#define FEED_TAG_MAX 256  /* bytes of one tag */
#define FEED_TAGS_MAX 32  /* tags of a feed added at run time or imported */

/*
 * A name: 1 to FEED_NAME_MAX of A-Z a-z 0-9 . _ - (as safe in a log line, a file name or a
 * shell as in the socket's JSON). s is n bytes (it need not end there). The config gives
 * its topics and hooks names by the same rule.
 */
bool feed_name_valid(const char *s, size_t n);

/*
 * An http or https URL a feed may have: the scheme (any case), "//", a host part that is
 * not empty, at most FEED_URL_MAX bytes, and no byte that is a space, a control or DEL.
 * Whether it may carry user:password@ is each caller's policy (the config allows it, `add`
 * does not). file: URLs are the config's own business.
 */
bool feed_url_valid(const char *url);

/*
 * A tag: 1 to FEED_TAG_MAX bytes, no comma (tags are written as a comma list), no control
 * character or DEL, no blank (space, tab) at either end.
 */
bool feed_tag_valid(const char *tag, size_t n);

#endif
