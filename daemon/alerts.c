#include "alerts.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "topics/match.h"
#include "text/simhash.h"

struct alerts {
    const struct conf *conf; /* borrowed: replaced together with the conf on reload */
    struct match *matcher;
    uint64_t story_window_s;
};

/* Compiles the topics of conf. */
int
alerts_new(const struct conf *conf, struct alerts **ret_alerting, char **reterr_msg)
{
    struct alerts *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->conf = conf;
    a->story_window_s = conf->daemon.story_window_s;
    a->matcher = match_new();
    if (!a->matcher) {
        free(a);
        return -ENOMEM;
    }
    for (size_t i = 0; i < conf->n_aliases; i++) {
        const struct conf_alias *al = &conf->aliases[i];
        int r = match_alias(a->matcher, al->name, (const char *const *)al->names, al->n_names);
        if (r < 0) {
            if (asprintf(reterr_msg, "%s:%u: names: %s", al->origin.file, al->origin.line,
                         strerror(-r)) < 0)
                *reterr_msg = NULL;
            alerts_free(a);
            return r;
        }
    }
    for (size_t i = 0; i < conf->n_topics; i++) {
        const struct conf_topic *t = &conf->topics[i];
        char *why = NULL;
        int r = match_add(a->matcher, i, t->name, t->match, &why);
        if (r < 0) {
            if (asprintf(reterr_msg, "%s:%u: match: %s", t->origin.file, t->origin.line,
                         why ? why : strerror(-r)) < 0)
                *reterr_msg = NULL;
            free(why);
            alerts_free(a);
            return r;
        }
    }
    int r = match_build(a->matcher);
    if (r < 0) {
        alerts_free(a);
        return r;
    }
    *ret_alerting = a;
    return 0;
}

/* Releases the matcher; accepts NULL. */
void
alerts_free(struct alerts *a)
{
    if (!a)
        return;
    match_free(a->matcher);
    free(a);
}

/* Number of topics compiled. */
size_t
alerts_topics(const struct alerts *a)
{
    return a->conf->n_topics;
}

/*
 * A topic covers a feed named in its `feeds =` (none: every feed) that also carries one of
 * its `tags =` (none: every feed): with both set, a feed must satisfy both.
 */
static bool
topic_covers_feed(const struct conf_topic *t, const char *feed_name, char *const *tags,
                  size_t n_tags)
{
    bool named = t->n_feeds == 0, tagged = t->n_tags == 0;
    for (size_t i = 0; !named && i < t->n_feeds; i++)
        named = strcmp(t->feeds[i], feed_name) == 0;
    for (size_t i = 0; named && !tagged && i < t->n_tags; i++)
        for (size_t j = 0; !tagged && j < n_tags; j++)
            tagged = strcmp(t->tags[i], tags[j]) == 0;
    return named && tagged;
}

/* Whether topic t covers feed (its `feeds =` and `tags =`): `feedwatch feeds NAME` shows it. */
bool
alerts_topic_covers(const struct conf_topic *t, const struct conf_feed *feed)
{
    return topic_covers_feed(t, feed->name, feed->tags, feed->n_tags);
}

struct story_find {
    uint64_t simhash;
    int64_t feed_id;
    int64_t alert_id;
};

static int
on_story_candidate(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id)
{
    struct story_find *s = userdata;
    /* Another feed's copy of the same story; the same feed repeating itself is a new item. */
    if (feed_id != s->feed_id && simhash_same_story(s->simhash, simhash)) {
        s->alert_id = alert_id;
        return 1;
    }
    return 0;
}

/* Matches an item that was just stored and raises or attaches its alerts. */
int
alerts_item(struct alerts *a, struct store *store, const char *feed_name, char *const *tags,
            size_t n_tags, int64_t feed_id, int64_t item_id, const struct feed_item *item,
            const char *text, uint64_t simhash, int64_t now, struct alerts_outcome *out)
{
    struct match_doc doc = {.title = item->title, .text = text, .lang = item->language};
    struct match_result res = {0};
    char qf[LOG_QUOTE_MAX], qt[LOG_QUOTE_MAX], qi[LOG_QUOTE_MAX];
    bool locked = false;
    if (a->conf->n_topics == 0)
        return 0; /* nothing to match: no need to read the text */
    int r = match_run(a->matcher, &doc, &res);
    if (r < 0)
        return r;
    for (size_t i = 0; i < res.n_hits && r >= 0; i++) {
        const struct match_hit *hit = &res.hits[i];
        const struct conf_topic *t = &a->conf->topics[hit->topic];
        if (!topic_covers_feed(t, feed_name, tags, n_tags))
            continue;
        if (simhash) {
            struct story_find s = {.simhash = simhash, .feed_id = feed_id};
            /* Another node storing this story now raises its alert first, or after this one. */
            if (!locked && (r = store_story_lock(store)) < 0)
                break;
            locked = true;
            r = store_story_candidates(store, t->name, now - (int64_t)a->story_window_s, simhash,
                                       feed_id, on_story_candidate, &s, &out->story_steps);
            if (r < 0)
                break;
            if (s.alert_id) {
                r = store_alert_add_source(store, s.alert_id, item_id);
                if (r < 0)
                    break;
                out->attached++;
                log_notice("alert: topic '%s': feed '%s': '%s' is the story of alert %" PRId64
                           ", added as a source",
                           log_quote(t->name, qt, sizeof(qt)), log_quote(feed_name, qf, sizeof(qf)),
                           log_quote(item->title ? item->title : "", qi, sizeof(qi)), s.alert_id);
                continue;
            }
        }
        char *matched = match_terms_json(hit);
        int64_t alert_id = 0;
        r = store_alert_add(store, t->name, item_id, matched, t->hooks, t->n_hooks, now, &alert_id);
        free(matched);
        if (r == 1) {
            out->raised++;
            if (out->n_ids < ALERTS_IDS_MAX)
                out->ids[out->n_ids++] = alert_id;
            log_notice("alert: topic '%s': feed '%s': '%s' (alert %" PRId64 ")",
                       log_quote(t->name, qt, sizeof(qt)), log_quote(feed_name, qf, sizeof(qf)),
                       log_quote(item->title ? item->title : "", qi, sizeof(qi)), alert_id);
        }
        if (r > 0)
            r = 0;
    }
    match_result_done(&res);
    return r;
}

bool
alerts_on_update(const struct alerts *a)
{
    for (size_t i = 0; a && i < a->conf->n_topics; i++)
        if (a->conf->topics[i].on_update_alert)
            return true;
    return false;
}

/* The hit of topic in res, or NULL. */
static const struct match_hit *
hit_of(const struct match_result *res, size_t topic)
{
    for (size_t i = 0; i < res->n_hits; i++)
        if (res->hits[i].topic == topic)
            return &res->hits[i];
    return NULL;
}

/* The hooks of t that take item-updated, into hooks (t->n_hooks of room): how many. */
static size_t
update_hooks(const struct conf *conf, const struct conf_topic *t, char **hooks)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_hooks; i++) {
        const struct conf_hook *h = conf_hook_find(conf, t->hooks[i]);
        if (h && (h->events & (1u << CONF_EVENT_ITEM_UPDATED)))
            hooks[n++] = t->hooks[i];
    }
    return n;
}

int
alerts_item_edited(struct alerts *a, struct store *store, const char *feed_name, char *const *tags,
                   size_t n_tags, int64_t feed_id, int64_t item_id, const struct feed_item *item,
                   const char *text, const char *prev_title, const char *prev_text,
                   int64_t version_id, int64_t now, struct alerts_outcome *out)
{
    struct match_doc doc = {.title = item->title, .text = text, .lang = item->language};
    struct match_doc old = {.title = prev_title, .text = prev_text, .lang = item->language};
    struct match_result res = {0}, was = {0};
    char qf[LOG_QUOTE_MAX], qt[LOG_QUOTE_MAX], qi[LOG_QUOTE_MAX];
    if (!alerts_on_update(a))
        return 0;
    int r = match_run(a->matcher, &doc, &res);
    if (r >= 0)
        r = match_run(a->matcher, &old, &was);
    for (size_t i = 0; r >= 0 && i < res.n_hits; i++) {
        const struct match_hit *hit = &res.hits[i];
        const struct conf_topic *t = &a->conf->topics[hit->topic];
        if (!t->on_update_alert || !topic_covers_feed(t, feed_name, tags, n_tags))
            continue;
        const struct match_hit *before = hit_of(&was, hit->topic);
        char *matched = match_terms_json(hit);
        char *matched_before = before ? match_terms_json(before) : NULL;
        if (!matched || (before && !matched_before)) {
            free(matched);
            free(matched_before);
            r = -ENOMEM;
            break;
        }
        bool matters = !before || strcmp(matched, matched_before) != 0;
        free(matched_before);
        int64_t alert_id = 0;
        if (matters)
            r = store_alert_find(store, t->name, item_id, &alert_id);
        if (matters && r == 0) {
            /* It newly matches: its alert first, as any (no story grouping for an edit). */
            r = store_alert_add(store, t->name, item_id, matched, t->hooks, t->n_hooks, now,
                                &alert_id);
            if (r == 1) {
                out->raised++;
                if (out->n_ids < ALERTS_IDS_MAX)
                    out->ids[out->n_ids++] = alert_id;
                log_notice("alert: topic '%s': feed '%s': '%s' (alert %" PRId64 ", an edit)",
                           log_quote(t->name, qt, sizeof(qt)), log_quote(feed_name, qf, sizeof(qf)),
                           log_quote(item->title ? item->title : "", qi, sizeof(qi)), alert_id);
            }
        }
        free(matched);
        if (!matters || r < 0)
            continue;
        char **hooks = calloc(t->n_hooks + 1, sizeof(*hooks));
        int64_t id = 0;
        if (!hooks) {
            r = -ENOMEM;
            break;
        }
        size_t n = update_hooks(a->conf, t, hooks);
        r = store_item_update_add(store, feed_id, alert_id, version_id, hooks, n, now, &id);
        free(hooks);
        if (r < 0)
            break;
        out->updated++;
        if (out->n_updates < ALERTS_IDS_MAX)
            out->updates[out->n_updates++] = (struct alerts_update){
                .id = id,
                .alert_id = alert_id,
                .item_id = item_id,
                .version_id = version_id,
                .topic = hit->topic,
            };
        log_notice("alert: topic '%s': feed '%s': '%s' was edited (alert %" PRId64
                   ", item-updated %" PRId64 ", %zu hooks)",
                   log_quote(t->name, qt, sizeof(qt)), log_quote(feed_name, qf, sizeof(qf)),
                   log_quote(item->title ? item->title : "", qi, sizeof(qi)), alert_id, id, n);
    }
    match_result_done(&res);
    match_result_done(&was);
    return r < 0 ? r : 0;
}
