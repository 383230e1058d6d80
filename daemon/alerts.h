/*
 * alerts.h — raising alerts: every topic of the config compiled into one matcher
 * (feeds/match.h), new items matched against it inside their poll's transaction, and story
 * grouping (feeds/topics/story.h): an item that reports the same event as an alert of the
 * same topic raised within story_window — a copy (SimHash), or the same event in other words
 * or another language (places, names, numbers), from any feed, its own included — becomes a
 * source of that alert instead of a new one. An alert is one (topic, item), raised once ever
 * (UNIQUE in the store). struct alerts is built from one struct conf and replaced whole on reload
 * (never changed; the place finder of story signatures is one per process, alerts.c). Threads:
 * alerts_new, alerts_free and alerts_topics on the loop thread; alerts_item on the store's writer
 * thread (writer.h), inside a poll's part of a writer transaction, with the struct pinned until
 * that write is done (dctx_topics_pin), one writer job at a time.
 */
#ifndef FEEDWATCH_ALERTS_H
#define FEEDWATCH_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "parse/feed.h"
#include "store.h"

struct alerts;

/*
 * Compiles the topics of conf. A query error is returned as -EINVAL with *reterr_msg in the
 * config's form: "FILE:LINE: match: topic \"x\": expected ')' at column 17".
 */
int alerts_new(const struct conf *conf, struct alerts **ret_alerting, char **reterr_msg);

void alerts_free(struct alerts *a);

/* What alerts_item did. */
#define ALERTS_IDS_MAX 64

struct alerts_outcome {
    unsigned raised;             /* new alerts */
    unsigned attached;           /* items attached to an earlier alert as another source */
    unsigned source_events;      /* story-source events raised for hooks that take them */
    uint64_t story_steps;        /* SQLite VM steps of the story lookups: what they cost */
    int64_t ids[ALERTS_IDS_MAX]; /* the first raised alerts' ids, for `watch` events */
    unsigned n_ids;
    unsigned updated;      /* item-updated raised on alerts (edited items) */
    struct alerts_update { /* the first of them, for `watch` events */
        int64_t id, alert_id, item_id;
        int64_t version_id;
        size_t topic; /* index of the topic in the config */
    } updates[ALERTS_IDS_MAX];
    unsigned n_updates;
};

/*
 * Matches an item that was just stored (item_id) from the feed called feed_name (feed_id)
 * carrying n_tags tags (a topic's `feeds =` and `tags =` say which feeds it covers),
 * within the open transaction, and raises or attaches its alerts. text is its cleaned text
 * (may be NULL); simhash its story signature (0: none). Returns 0 or a store error.
 */
int alerts_item(struct alerts *a, struct store *store, const char *feed_name, char *const *tags,
                size_t n_tags, int64_t feed_id, int64_t item_id, const struct feed_item *item,
                const char *text, uint64_t simhash, int64_t now, struct alerts_outcome *out);

/*
 * An item of the feed (feed_id, feed_name, tags) was edited (docs/PRODUCT.md "Edited items"):
 * item is its new version (text: its new plain text), prev_title and prev_text the version
 * version_id kept. For each topic with on_update = alert that covers the feed and that the new
 * version matches, when the edit matters to it (the old version did not match, or its matched
 * terms or snippets differ), raises item-updated on the topic's alert of the item, to its hooks
 * that take item-updated. An item that is neither the topic's alert's nor a source of one is
 * to the topic's stories as a new item (story_text and simhash: the text its story signature is
 * made of and its SimHash, 0: none; the page's with fetch_article, as for its new items): a source
 * of the alert of its story in the window when there is one (story-source to the hooks that take
 * it), else it gets an alert first, with the edited version's story signature; either way
 * that alert gets the item-updated. Within the open transaction; 0 or a store error.
 */
int alerts_item_edited(struct alerts *a, struct store *store, const char *feed_name,
                       char *const *tags, size_t n_tags, int64_t feed_id, int64_t item_id,
                       const struct feed_item *item, const char *text, const char *story_text,
                       uint64_t simhash, const char *prev_title, const char *prev_text,
                       int64_t version_id, int64_t now, struct alerts_outcome *out);

/* Whether some topic has on_update = alert (else edits need no matching). */
bool alerts_on_update(const struct alerts *a);

/* Whether topic t covers feed: named by its `feeds =` (none: all) and tagged as its `tags =`. */
bool alerts_topic_covers(const struct conf_topic *t, const struct conf_feed *feed);

/* Number of topics compiled. */
size_t alerts_topics(const struct alerts *a);

#endif
