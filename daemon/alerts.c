#include "alerts.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text/simhash.h"
#include "topics/match.h"
#include "topics/story.h"

/*
 * Cross-language candidates of a new item (story.h), bounded whatever the window holds: the
 * newest STORY_KEY_LIMIT alerts of the topic in the window for each of the item's first
 * STORY_LOOKUP_KEYS keys (numbers, then names, then places: the rarer kinds first), at most
 * STORY_MAX_CANDIDATES alerts in all, each compared once. At 10,000 feeds a matching item costs
 * at most 32 index ranges of 8 rows, 64 signature reads and 64 comparisons per topic it hits.
 */
#define STORY_LOOKUP_KEYS 32
#define STORY_KEY_LIMIT 8
#define STORY_MAX_CANDIDATES 64

struct alerts {
    const struct conf *conf; /* borrowed: replaced together with the conf on reload */
    struct match *matcher;
    uint64_t story_window_s;
};

/*
 * Story signatures' place finder (story.h): the same for every config, so built once per
 * process, by the first alerts_new of a config with topics (loop thread; about 0.2 s, before
 * the first poll at start), and kept across reloads; the writer thread only reads it (the
 * struct alerts that carries it there is handed over under the writer's lock). Never freed:
 * it lives as long as the process.
 */
static struct story_places *places;

/* Compiles the topics of conf. */
int
alerts_new(const struct conf *conf, struct alerts **ret_alerting, char **reterr_msg)
{
    struct alerts *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->conf = conf;
    a->story_window_s = conf->daemon.story_window_s;
    if (!places && conf->n_topics > 0 && story_places_new(&places) < 0) {
        free(a);
        return -ENOMEM;
    }
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
    int64_t alert_id;
};

static int
on_story_candidate(void *userdata, int64_t alert_id, uint64_t simhash, int64_t feed_id)
{
    struct story_find *s = userdata;
    (void)feed_id; /* any feed, the same one included: a repeat is a source too */
    if (simhash_same_story(s->simhash, simhash)) {
        s->alert_id = alert_id;
        return 1;
    }
    return 0;
}

struct story_cands {
    int64_t ids[STORY_MAX_CANDIDATES];
    size_t n;
    /* Each name key looked up, with the rows its lookup gave (at most STORY_KEY_LIMIT): how
     * many of the topic's alerts in the window have it, the name's rarity (story_df_fn). */
    uint32_t name_keys[STORY_LOOKUP_KEYS];
    unsigned name_rows[STORY_LOOKUP_KEYS];
    size_t n_names;
    unsigned *rows; /* the current lookup's count, NULL for a number or place key */
};

/* Of the topic's alerts in the window but the one compared, how many have key (capped). */
static unsigned
story_cands_df(void *userdata, uint32_t key)
{
    const struct story_cands *c = userdata;
    for (size_t i = 0; i < c->n_names; i++)
        if (c->name_keys[i] == key)
            return c->name_rows[i] > 0 ? c->name_rows[i] - 1 : 0;
    return 0;
}

static int
on_story_key_candidate(void *userdata, int64_t alert_id)
{
    struct story_cands *c = userdata;
    if (c->rows)
        (*c->rows)++;
    for (size_t i = 0; i < c->n; i++)
        if (c->ids[i] == alert_id)
            return 0;
    if (c->n == STORY_MAX_CANDIDATES)
        return 1;
    c->ids[c->n++] = alert_id;
    return 0;
}

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * The first alert (lowest id) of topic in the window whose story signature is the same story
 * as sig by story_same(), among the bounded candidates its keys give: 1 with *ret_alert_id,
 * 0 when none, <0 on a store error.
 */
static int
story_find_by_keys(struct store *store, const char *topic, int64_t since_at,
                   const struct story_sig *sig, int64_t *ret_alert_id, uint64_t *steps)
{
    struct story_cands c = {.n = 0, .n_names = 0};
    size_t asked = 0;
    int r = 0;
    for (int kind = STORY_KEY_NUMBER; kind >= (int)STORY_KEY_PLACE && r == 0; kind--) {
        for (size_t i = 0; i < sig->n_keys && asked < STORY_LOOKUP_KEYS && r == 0; i++) {
            if ((int)STORY_KEY_KIND(sig->keys[i]) != kind)
                continue;
            asked++;
            c.rows = NULL;
            if (kind == STORY_KEY_NAME) {
                c.name_keys[c.n_names] = sig->keys[i];
                c.name_rows[c.n_names] = 0;
                c.rows = &c.name_rows[c.n_names++];
            }
            r = store_story_key_candidates(store, topic, since_at, sig->keys[i], STORY_KEY_LIMIT,
                                           on_story_key_candidate, &c, steps);
            if (c.n == STORY_MAX_CANDIDATES)
                break;
        }
    }
    if (r < 0)
        return r;
    qsort(c.ids, c.n, sizeof(c.ids[0]), cmp_id);
    for (size_t i = 0; i < c.n; i++) {
        uint8_t buf[STORY_SIG_BYTES_MAX];
        size_t len = 0;
        struct story_sig other;
        r = store_alert_story_sig(store, c.ids[i], buf, sizeof(buf), &len, NULL, steps);
        if (r < 0)
            return r;
        if (r == 0 || story_sig_unpack(buf, len, &other) < 0)
            continue;
        if (story_same_df(sig, &other, story_cands_df, &c)) {
            *ret_alert_id = c.ids[i];
            return 1;
        }
    }
    return 0;
}

/*
 * story-source: item_id (of feed_id) became a source of alert_id; the hooks of topic t that
 * take the event get it, delivered as feed events are (store_story_source_add). Nothing when
 * none of them does.
 */
static int
story_source_event(const struct alerts *a, const struct conf_topic *t, struct store *store,
                   int64_t feed_id, int64_t alert_id, int64_t item_id, int64_t now,
                   struct alerts_outcome *out)
{
    char **hooks = t->n_hooks ? calloc(t->n_hooks, sizeof(*hooks)) : NULL;
    size_t n = 0;
    if (t->n_hooks && !hooks)
        return -ENOMEM;
    for (size_t i = 0; i < t->n_hooks; i++) {
        const struct conf_hook *h = conf_hook_find(a->conf, t->hooks[i]);
        if (h && (h->events & (1u << CONF_EVENT_STORY_SOURCE)))
            hooks[n++] = t->hooks[i];
    }
    int r = n ? store_story_source_add(store, feed_id, alert_id, item_id, hooks, n, now, NULL) : 0;
    if (r >= 0 && n)
        out->source_events++;
    free(hooks);
    return r;
}

/*
 * The alert of topic t raised since since_at whose story the item (its title, text, language
 * and SimHash) is: a copy by SimHash first, then the same event by its signature's keys. 1
 * with *ret_alert_id, 0 when none, <0 on an error. Takes the story lock at the first call
 * (*locked) and makes the item's signature at the first that needs it (*sig, freed by the
 * caller): the same for every topic of one item.
 */
static int
story_of(struct store *store, const struct conf_topic *t, int64_t since_at,
         const struct feed_item *item, const char *text, uint64_t simhash, bool *locked,
         struct story_sig **sig, int64_t *ret_alert_id, struct alerts_outcome *out)
{
    struct story_find s = {.simhash = simhash};
    int r;
    /* Another node storing this story now raises its alert first, or after this one. */
    if (!*locked && (r = store_story_lock(store)) < 0)
        return r;
    *locked = true;
    if (simhash) {
        /* Copies first: the SimHash bands (feed 0: every feed, the item's own included). */
        r = store_story_candidates(store, t->name, since_at, simhash, 0, on_story_candidate, &s,
                                   &out->story_steps);
        if (r < 0)
            return r;
    }
    if (!*sig) {
        if (!(*sig = malloc(sizeof(**sig))))
            return -ENOMEM;
        r = story_sig_make(places, item->title, text, item->language, simhash, *sig);
        if (r < 0) {
            free(*sig);
            *sig = NULL;
            return r;
        }
    }
    if (!s.alert_id) {
        /* The same event in other words or another language: the keys' candidates. */
        r = story_find_by_keys(store, t->name, since_at, *sig, &s.alert_id, &out->story_steps);
        if (r < 0)
            return r;
    }
    *ret_alert_id = s.alert_id;
    return s.alert_id != 0;
}

/* Keeps sig as the story signature of the new alert_id of topic (its keys for later items). */
static int
story_keep(struct store *store, int64_t alert_id, const char *topic, int64_t now,
           const struct story_sig *sig)
{
    uint8_t packed[STORY_SIG_BYTES_MAX];
    size_t plen = story_sig_pack(sig, packed);
    return store_alert_set_story(store, alert_id, topic, now, packed, plen, sig->keys, sig->n_keys);
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
    struct story_sig *sig = NULL; /* made at the first topic that needs it */
    for (size_t i = 0; i < res.n_hits && r >= 0; i++) {
        const struct match_hit *hit = &res.hits[i];
        const struct conf_topic *t = &a->conf->topics[hit->topic];
        if (!topic_covers_feed(t, feed_name, tags, n_tags))
            continue;
        int64_t since = now - (int64_t)a->story_window_s, story = 0;
        r = story_of(store, t, since, item, text, simhash, &locked, &sig, &story, out);
        if (r < 0)
            break;
        if (story) {
            /* A story stays its first item's: a source's keys do not join its signature. */
            r = store_alert_add_source(store, story, item_id);
            if (r >= 0)
                r = story_source_event(a, t, store, feed_id, story, item_id, now, out);
            if (r < 0)
                break;
            out->attached++;
            log_notice("alert: topic '%s': feed '%s': '%s' is the story of alert %" PRId64
                       ", added as a source",
                       log_quote(t->name, qt, sizeof(qt)), log_quote(feed_name, qf, sizeof(qf)),
                       log_quote(item->title ? item->title : "", qi, sizeof(qi)), story);
            continue;
        }
        char *matched = match_terms_json(hit);
        int64_t alert_id = 0;
        r = store_alert_add(store, t->name, item_id, matched, t->hooks, t->n_hooks, now, &alert_id);
        free(matched);
        if (r == 1) {
            int rs = story_keep(store, alert_id, t->name, now, sig);
            if (rs < 0) {
                r = rs;
                break;
            }
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
    free(sig);
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

/* store_item_alerts' callback: the alert of topic the item is a source of (the first). */
struct source_of {
    const char *topic;
    int64_t alert_id;
};

static int
on_source_of(void *userdata, const struct store_alert_row *row, bool source)
{
    struct source_of *so = userdata;
    if (source && so->alert_id == 0 && row->topic && strcmp(row->topic, so->topic) == 0)
        so->alert_id = row->id;
    return 0;
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
                   const char *text, const char *story_text, uint64_t simhash,
                   const char *prev_title, const char *prev_text, int64_t version_id, int64_t now,
                   struct alerts_outcome *out)
{
    struct match_doc doc = {.title = item->title, .text = text, .lang = item->language};
    struct match_doc old = {.title = prev_title, .text = prev_text, .lang = item->language};
    struct match_result res = {0}, was = {0};
    char qf[LOG_QUOTE_MAX], qt[LOG_QUOTE_MAX], qi[LOG_QUOTE_MAX];
    struct story_sig *sig = NULL; /* the edited version's, made at the first topic needing it */
    bool locked = false;
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
            /* A source of the topic's alert of its story: told on that alert, not a new one. */
            struct source_of so = {.topic = t->name};
            r = store_item_alerts(store, item_id, on_source_of, &so);
            if (r >= 0 && so.alert_id > 0) {
                alert_id = so.alert_id;
                r = 1;
            } else if (r >= 0) {
                r = 0;
            }
        }
        if (matters && r == 0) {
            /*
             * It newly matches (no alert of the topic, a source of none): the edited version is
             * a new item to the topic's stories. The story of an alert of the topic in the
             * window: a source of it, as a new item of that story is (one story, one alert),
             * told on that alert below; else its alert, with the edited version's story
             * signature, which later items of the story attach to. Either way no second
             * alert row of (topic, item): the store's alert_find said there is none.
             */
            int64_t since = now - (int64_t)a->story_window_s, story = 0;
            r = story_of(store, t, since, item, story_text, simhash, &locked, &sig, &story, out);
            if (r == 1) {
                alert_id = story;
                r = store_alert_add_source(store, story, item_id);
                if (r >= 0)
                    r = story_source_event(a, t, store, feed_id, story, item_id, now, out);
                if (r >= 0) {
                    r = 1;
                    out->attached++;
                    log_notice("alert: topic '%s': feed '%s': '%s' is the story of alert %" PRId64
                               ", added as a source (an edit)",
                               log_quote(t->name, qt, sizeof(qt)),
                               log_quote(feed_name, qf, sizeof(qf)),
                               log_quote(item->title ? item->title : "", qi, sizeof(qi)), story);
                }
            }
        }
        if (matters && r == 0) {
            r = store_alert_add(store, t->name, item_id, matched, t->hooks, t->n_hooks, now,
                                &alert_id);
            if (r == 1) {
                int rs = story_keep(store, alert_id, t->name, now, sig);
                if (rs < 0)
                    r = rs;
            }
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
    free(sig);
    match_result_done(&res);
    match_result_done(&was);
    return r < 0 ? r : 0;
}
