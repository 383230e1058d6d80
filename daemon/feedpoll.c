#include "feedpoll.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/xmlerror.h>

#include "alerts.h"
#include "text/article.h"
#include "text/boilerplate.h"
#include "text/content.h"
#include "text/edits.h"
#include "text/simhash.h"
#include "events.h"
#include "fetch.h"
#include "parse/charset.h"
#include "parse/feedparse.h"
#include "hook.h"
#include "log.h"
#include "metrics.h"
#include "search.h"
#include "base/hash.h"
#include "base/url.h"
#include "util.h"
#include "writer.h"

#define FEEDPOLL_MAX_PASSWORD 4096
#define FEEDPOLL_ARTICLES_AT_ONCE 4 /* article downloads (and extractions) of one poll at once */
/* feed-purged: the document lists less than half the items of the last, which had this many. */
#define FEEDPOLL_PURGE_MIN_ITEMS 5
/* feed-purged and feed-ids-changed: at most once a day and once a week per feed (a flapping
 * server, or ids that change on every poll, would raise them on every poll). */
#define FEEDPOLL_PURGE_QUIET_S 86400
#define FEEDPOLL_IDS_QUIET_S (7 * 86400)
/* feed-recovered: only after this many (weighted) consecutive failures, or a disable: one
 * transient error is not worth telling, nor its end. */
#define FEEDPOLL_FAILING_MIN 3
/*
 * Edited items (docs/PRODUCT.md "Edited items"): an item's edit is kept at most once an hour,
 * so a feed that rewrites its items at every poll (a timestamp in the text) keeps a version an
 * hour of each, and its hooks hear of it as often; the edits in between add up into the next.
 */
#define FEEDPOLL_EDIT_GAP_S 3600
/*
 * Changed items of a feed compared in one poll at most (hostile review L2): a feed that
 * rewrites its 1000 items at once raises at most this many item-updated a poll. The others
 * keep their fingerprint and wait (no validators kept: the next poll fetches the document
 * whole); those whose last kept edit is oldest (never edited first) go first, so each is
 * reached in turn, however often the first ones change.
 */
#define FEEDPOLL_EDITS_MAX 50u
/* Feed events one poll may raise at most (recovered, moved, ids changed, purged, stalled). */
#define FEEDPOLL_LIFE_MAX 5

/* A feed event a poll raises (PRODUCT.md "Feed events"), stored with the poll. */
struct life_event {
    enum conf_event ev;
    char *reason;
    char *url;         /* the feed's URL in use, after the poll */
    const char *state; /* dfeed_state_name of the feed after the poll */
    char **hooks;      /* the hooks that take it */
    size_t n_hooks;
    int64_t id; /* once stored */
};

/* One article page of a new item, downloaded and extracted (fetch_article = yes). */
struct article_fetch {
    struct feedpoll *p;
    size_t idx;              /* in p->news */
    struct fetch_xfer *xfer; /* the download in flight, or NULL */
    char *body;              /* the page as it arrived (bounded by max_article_size) */
    size_t len, cap;
    uint64_t reserved;   /* bytes of d->article_bytes held for it (0 once released) */
    char charset[64];    /* from Content-Type, "" when none */
    struct article *art; /* the extraction's result (thread pool), NULL when none */
    uv_work_t work;
    bool in_work;
};

/*
 * A poll goes fetch (streaming parse) -> content (thread pool: clean text, language,
 * signature of each new item) -> articles (optional downloads, extracted in the thread pool)
 * -> store (a part of a writer transaction, writer.h). Each stage runs only when the one
 * before produced something for it.
 */
struct feedpoll {
    struct dctx *d;
    struct dfeed *f;
    feedpoll_done_cb done; /* told when the poll ends */
    void *done_ctx;
    struct fetch_xfer *xfer;
    struct feedparse *parser;
    bool cancelled; /* feedpoll_cancel() came while work was in the thread pool */
    /* What the fetch said, kept past its callback. */
    enum fetch_status status;
    long http_status;
    char *fetch_error;
    char *etag, *last_modified, *permanent_url;
    int64_t retry_after_at, fresh_until_at;
    struct feed_doc *doc;
    char *error; /* why the poll failed, NULL when it did not */
    /* The items not stored before, and the content stage's work on them. */
    struct content_item *news;
    size_t n_news;
    char *model; /* the feed's boilerplate model as saved; then as to save */
    size_t model_len;
    bool model_dirty; /* model holds a new version to save */
    int content_r;    /* the content stage's result */
    uv_work_t work;
    bool in_work;
    /* The article stage. */
    struct article_fetch *arts;
    size_t n_arts;
    size_t arts_next;           /* the next of arts to start */
    unsigned arts_running;      /* started and holding a reservation */
    unsigned arts_pending;      /* articles not settled yet (started or not) */
    struct feedpoll *wait_next; /* d->article_wait_head list: waiting for memory */
    bool waiting;
    /* Poll memory (max_poll_memory): what this poll accounts in d->poll_memory. */
    uint64_t mem;
    uint64_t doc_bytes; /* feed_doc_bytes of doc, once parsed */
    bool content_done;  /* the content stage is over: news hold their final text */
    bool fetching;      /* on d's list of downloading polls (line order: fetching_to_tail) */
    bool in_line;       /* its place in that line is from its first body byte */
    bool mem_paused;    /* its transfer waits paused for memory */
    struct feedpoll *fetch_prev, *fetch_next;
    /* The store stage: its writer job, and what its part of the transaction did. */
    struct writer_job job;
    struct topics_pin *pin; /* the topics it matches with, kept until its write ends */
    int64_t store_now;      /* Unix seconds the items are first seen at */
    struct sched_poll pn;   /* what it tells the schedule (scheduler.h) */
    char *name;             /* the feed's name, for the writer thread */
    char **tags;            /* and its tags (topics' `tags =`) */
    size_t n_tags;
    struct store_feed st; /* the feed's state to save, copied on the loop */
    uint64_t st_gen;      /* f->st_gen when it was copied */
    /* The feed's state before the poll settled: what `feeds` shows until it is stored. */
    struct store_feed before;
    int store_r;
    char *store_error;
    uint64_t fresh;
    uint64_t edited; /* stored items whose edits were kept */
    struct alerts_outcome alerts;
    int64_t *fresh_ids; /* per new item: its row id when stored, else 0; NULL: OOM */
    bool seen_changed;  /* settling changed what `watch` shows of the feed (feed_event_due) */
    struct life_event life[FEEDPOLL_LIFE_MAX]; /* feed events raised by the poll */
    unsigned n_life;
    struct dfeed_life_mem life_mem; /* the feed's, before the poll settled (life_restore) */
    bool before_ok;                 /* before holds the feed's state before it settled */
    /* Items of the document under a new key whose link is a stored item's (rekey_lookup). */
    struct poll_rekey {
        int64_t item_id;              /* the stored item */
        const struct feed_item *item; /* in doc: its new key and guid */
    } * rekeys;
    size_t n_rekeys;
    size_t n_rekeys_moved; /* of them, those whose link moved between http and https */
    /* Stored items of the document whose fields differ from their fingerprint (collect_news). */
    struct poll_edit {
        int64_t item_id;              /* the stored item */
        const struct feed_item *item; /* in doc: its fields now */
        uint64_t fingerprint;         /* of them */
        bool first;                   /* the item has no fingerprint yet: set it, compare none */
    } * edits;
    size_t n_edits;
    /*
     * The items whose material edits the part stored, with the title and body search indexed
     * before (store_edit): queued to index again once the part is committed (poll_finish).
     */
    struct poll_reindex {
        int64_t item_id;
        char *title, *body;
    } * reindex;
    size_t n_reindex;
    size_t edits_waiting; /* changed items left for the next poll (FEEDPOLL_EDITS_MAX) */
    bool page_text;       /* fetch_article: the stored text is the page's, an edit keeps it */
    /*
     * An item of the document differs from its stored fields but was edited less than
     * FEEDPOLL_EDIT_GAP_S ago: the edit waits, so the poll keeps no validators (a 304 would
     * hide the edit for good if the document does not change again).
     */
    bool edits_deferred;
};

static void poll_store(struct feedpoll *p);
static void article_settled(struct feedpoll *p);
static void poll_abort(struct feedpoll *p);

_Static_assert(SCHED_TIME_NONE == FEED_TIME_NONE, "a feed's times are the schedule's");

/* The intervals that bound f's polls (scheduler.h's policy reads them). */
static struct sched_intervals
feed_intervals(const struct dctx *d, const struct dfeed *f)
{
    return (struct sched_intervals){
        .interval_s = f->cfg->interval_s,
        .min_interval_s = d->conf->daemon.min_interval_s,
        .max_interval_s = d->conf->daemon.max_interval_s,
    };
}

/*
 * Resumes paused transfers, oldest first, while the budget lets each take a first read; the
 * oldest downloading poll always goes on. Only flags and a timer: safe inside curl's callbacks.
 */
static struct feedpoll *fetching_oldest(const struct dctx *d);

static void
mem_pump(struct dctx *d)
{
    uint64_t budget = d->conf->daemon.max_poll_memory, used = d->poll_memory;
    const struct feedpoll *oldest = fetching_oldest(d);
    for (struct feedpoll *q = d->fetching_head; q && d->poll_memory_paused > 0; q = q->fetch_next) {
        if (!q->mem_paused)
            continue;
        if (!sched_mem_grow(used, d->poll_memory - d->poll_memory_fetching, SCHED_MEM_CHUNK, budget,
                            q == oldest, false))
            break;
        q->mem_paused = false;
        d->poll_memory_paused--;
        used += SCHED_MEM_CHUNK;
        fetch_resume(q->xfer);
    }
}

/* Sets what p accounts in d->poll_memory; memory released resumes paused transfers. */
static void
mem_set(struct feedpoll *p, uint64_t bytes)
{
    struct dctx *d = p->d;
    uint64_t old = p->mem;
    assert(d->poll_memory >= old);
    d->poll_memory = d->poll_memory - old + bytes;
    if (p->fetching) {
        assert(d->poll_memory_fetching >= old);
        d->poll_memory_fetching = d->poll_memory_fetching - old + bytes;
    }
    p->mem = bytes;
    if (d->poll_memory > d->poll_memory_peak)
        d->poll_memory_peak = d->poll_memory;
    if (bytes < old)
        mem_pump(d);
}

/*
 * What p holds now, on the loop (never while its content stage runs in the thread pool): while
 * it downloads, its parser's bytes (counted twice, sched_mem_fetch_charge); then the document,
 * the new items' texts and, before the content stage made them, their HTML as the bound of the
 * text (and of the blocks the stage holds meanwhile), the boilerplate model. Article pages are
 * max_article_memory's; the text taken from them is counted here.
 */
static uint64_t
mem_held(const struct feedpoll *p)
{
    if (p->parser)
        return sched_mem_fetch_charge(feedparse_bytes(p->parser));
    uint64_t n = p->doc_bytes + p->model_len + p->n_news * sizeof(*p->news);
    for (size_t i = 0; i < p->n_news; i++) {
        const struct content_item *ci = &p->news[i];
        if (ci->text) {
            n += strlen(ci->text) + 1;
        } else if (!p->content_done) {
            const char *html = ci->item->content ? ci->item->content : ci->item->summary;
            n += html ? strlen(html) + 1 : 0;
        }
    }
    return n;
}

/* Accounts what p holds now (mem_held). */
static void
mem_update(struct feedpoll *p)
{
    mem_set(p, mem_held(p));
}

/* Takes p off d's list of downloading polls; the next one may now be the oldest. */
static void
fetching_unlink(struct feedpoll *p)
{
    struct dctx *d = p->d;
    if (!p->fetching)
        return;
    if (p->fetch_prev)
        p->fetch_prev->fetch_next = p->fetch_next;
    else
        d->fetching_head = p->fetch_next;
    if (p->fetch_next)
        p->fetch_next->fetch_prev = p->fetch_prev;
    else
        d->fetching_tail = p->fetch_prev;
    p->fetch_prev = p->fetch_next = NULL;
    p->fetching = false;
    assert(d->poll_memory_fetching >= p->mem);
    d->poll_memory_fetching -= p->mem;
    if (p->mem_paused) {
        p->mem_paused = false;
        d->poll_memory_paused--;
    }
    mem_pump(d);
}

/* The oldest download in the line: the first poll of d's list that has had a body byte. */
static struct feedpoll *
fetching_oldest(const struct dctx *d)
{
    struct feedpoll *q = d->fetching_head;
    while (q && !q->in_line)
        q = q->fetch_next;
    return q;
}

/*
 * Moves p to the end of d's line of downloads, at its first body byte. A poll joins the line
 * when it starts, but its transfer may wait in the fetcher's queue (max_per_host, a free
 * connection) and its clock only starts when it enters curl: had it kept its first place, a
 * chain of slow feeds of one host, each started before an honest feed of another host and
 * each older than it once it began, kept the budget spent one after another until the honest
 * download, paused behind them, reached its wall cap (review16; test_poll_memory_chain).
 * Polls with no body byte yet are in no line: they are never the oldest, never paused.
 */
static void
fetching_to_tail(struct feedpoll *p)
{
    struct dctx *d = p->d;
    p->in_line = true;
    if (!p->fetching || d->fetching_tail == p)
        return;
    if (p->fetch_prev)
        p->fetch_prev->fetch_next = p->fetch_next;
    else
        d->fetching_head = p->fetch_next;
    p->fetch_next->fetch_prev = p->fetch_prev;
    p->fetch_prev = d->fetching_tail;
    p->fetch_next = NULL;
    d->fetching_tail->fetch_next = p;
    d->fetching_tail = p;
}

/*
 * Whether p's transfer may take len more bytes now (sched_mem_grow): when not, it is paused
 * and resumed by mem_pump as memory is released.
 */
static bool
mem_may_grow(struct feedpoll *p, size_t len)
{
    struct dctx *d = p->d;
    if (!p->xfer || !fetch_pausable(p->xfer))
        return true; /* a file: is read at once; its size cap still holds */
    if (!p->in_line)
        fetching_to_tail(p);
    bool oldest = p == fetching_oldest(d), older_paused = false;
    for (struct feedpoll *q = d->fetching_head; d->poll_memory_paused > 0 && q && q != p;
         q = q->fetch_next)
        if (q->mem_paused) {
            older_paused = true;
            break;
        }
    uint64_t more = sched_mem_fetch_charge(len) - SCHED_MEM_POLL_BASE;
    if (sched_mem_grow(d->poll_memory, d->poll_memory - d->poll_memory_fetching, more,
                       d->conf->daemon.max_poll_memory, oldest, older_paused))
        return true;
    if (!p->mem_paused) {
        p->mem_paused = true;
        d->poll_memory_paused++;
    }
    return false;
}

/* fetch: body bytes of a 2xx response go straight into the push parser. */
static int
on_fetch_data(void *userdata, const char *effective_url, const char *content_type, const char *buf,
              size_t len, char **reterr_msg)
{
    struct feedpoll *p = userdata;
    if (!mem_may_grow(p, len))
        return FETCH_DATA_PAUSE;
    p->f->poll_bytes += len;
    if (!p->parser) {
        char cs[64];
        /* Relative links resolve against the URL without its userinfo (url.h). */
        char *base = url_strip_userinfo(effective_url);
        if (!base)
            return -ENOMEM;
        p->parser = feedparse_new(base, NULL);
        if (!p->parser) {
            free(base);
            return -ENOMEM;
        }
        /* Kept with the feed's state: what the socket's group may not see of item URLs. */
        free(p->f->st.base_url);
        p->f->st.base_url = base;
        /* A raw gzip body (no Content-Encoding) inflates under the same cap as any other. */
        (void)feedparse_set_max_size(p->parser, p->d->conf->daemon.max_feed_size);
        if (charset_from_content_type(content_type, cs, sizeof(cs)))
            (void)feedparse_set_charset(p->parser, cs);
    }
    int r = feedparse_push(p->parser, buf, len);
    if (r < 0) {
        const char *why = feedparse_error(p->parser);
        *reterr_msg = strdup(why ? why : strerror(-r));
    }
    mem_update(p);
    return r;
}

/* Replaces *dst with a copy of src (NULL allowed); -ENOMEM keeps *dst. */
static int
set_str(char **dst, const char *src)
{
    char *c = NULL;
    if (src && !(c = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

/*
 * Sets the feed's item rate (from the fresh items a good poll found) and its next poll: the
 * adaptive interval (or backoff), then Retry-After and the freshness hints as lower bounds.
 */
static void
plan_next(struct dctx *d, struct dfeed *f, struct sched_poll *pn, uint64_t fresh)
{
    struct sched_intervals iv = feed_intervals(d, f);
    f->st.next_poll_at =
        sched_plan_next(&iv, pn, f->st.failures, fresh, &f->st.item_rate, util_rng_next(&d->rng));
}

/* Forgets the items queued to index again (a part undone, or the poll done with). */
static void
reindex_clear(struct feedpoll *p)
{
    for (size_t i = 0; i < p->n_reindex; i++) {
        free(p->reindex[i].title);
        free(p->reindex[i].body);
    }
    p->n_reindex = 0;
}

/* Adds an edited item to index again, with what search indexed of it before (f). */
static int
reindex_add(struct feedpoll *p, int64_t item_id, const struct store_item_fields *f)
{
    if (!p->reindex && !(p->reindex = calloc(p->n_edits, sizeof(*p->reindex))))
        return -ENOMEM;
    struct poll_reindex *x = &p->reindex[p->n_reindex];
    *x = (struct poll_reindex){.item_id = item_id};
    if ((f->title && !(x->title = strdup(f->title))) || (f->body && !(x->body = strdup(f->body)))) {
        free(x->title);
        free(x->body);
        return -ENOMEM;
    }
    p->n_reindex++;
    return 0;
}

/*
 * One stored item whose fields differ from its fingerprint (collect_news): compared with what
 * the store holds, as its feed gives them (text/edits.h); a material edit keeps the version it
 * replaces and raises item-updated where a topic asks (alerts_item_edited), one that is not
 * only moves the fingerprint. The text's cleaning failing is no error of the poll: the item
 * stays as it was and is compared again at the next. Writer thread.
 */
static int
store_edit(struct feedpoll *p, struct store *store, struct alerts *alerting,
           const struct poll_edit *e, int64_t now)
{
    char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX];
    struct store_item_fields f;
    char *before = NULL, *after = NULL, *changes = NULL;
    if (e->first)
        return store_item_fingerprint_set(store, e->item_id, e->fingerprint);
    int r = store_item_fields_get(store, e->item_id, &f);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    if (f.pruned || f.fingerprint == e->fingerprint) {
        store_item_fields_done(&f);
        return 0;
    }
    const struct feed_item *item = e->item;
    int c = edits_feed_text(f.summary, f.content, &before);
    if (c == 0)
        c = edits_feed_text(item->summary, item->content, &after);
    if (c == 0)
        c = edits_compare(f.title, before, item->title, after, &changes);
    if (c == 0) {
        r = store_item_fingerprint_set(store, e->item_id, e->fingerprint);
    } else if (c == 1) {
        int64_t version_id = 0;
        /*
         * The edited text's story signature: the alerts the edit raises take it (alerts.c).
         * With fetch_article the stored text is the page's, which the edit keeps, and the story
         * bands and the feed's other alerts are the page's: so is the edit's signature.
         */
        bool page = p->page_text && f.has_text; /* else its page was never fetched */
        uint64_t simhash = page ? f.simhash : after && after[0] ? simhash_text(after) : 0;
        const char *story_text = page ? f.body : after;
        struct store_item_edit edit = {
            .item = item,
            .text = p->page_text ? NULL : after,
            .simhash = simhash,
            .fingerprint = e->fingerprint,
            .prev_title = f.title,
            .prev_text = before,
            .prev_seen_at = f.since_at,
            .changes = changes,
        };
        r = store_item_edit(store, e->item_id, &edit, now, &version_id);
        if (r >= 0)
            r = reindex_add(p, e->item_id, &f);
        if (r >= 0) {
            p->edited++;
            log_info("item: feed '%s': '%s' was edited (item %" PRId64 ")",
                     log_quote(p->name, q1, sizeof(q1)),
                     log_quote(item->title ? item->title : "", q2, sizeof(q2)), e->item_id);
            r = alerts_item_edited(alerting, store, p->name, p->tags, p->n_tags, p->st.id,
                                   e->item_id, item, after, story_text, simhash, f.title, before,
                                   version_id, now, &p->alerts);
        }
    } else {
        log_warn("poll: feed '%s': cannot compare item %" PRId64 " with its stored version: %s",
                 log_quote(p->name, q1, sizeof(q1)), e->item_id, strerror(-c));
    }
    free(changes);
    free(after);
    free(before);
    store_item_fields_done(&f);
    return r;
}

/*
 * Stores the poll's new items, their alerts, the feed's boilerplate model and its state in
 * the part of a writer transaction the writer opened for it (a poll happened or it did not:
 * on an error the writer undoes the part); new items and alerts are counted. Runs on the
 * writer thread: it reads only what the loop handed over (p->name, p->st, p->news, the
 * pinned alerting).
 */
static int
store_poll(struct feedpoll *p, struct store *store, struct alerts *alerting, int64_t now)
{
    char q1[LOG_QUOTE_MAX], q2[LOG_QUOTE_MAX], q3[LOG_QUOTE_MAX];
    int r = 0;
    /* Items whose ids changed while their links stayed: the stored ones, under new keys. */
    for (size_t i = 0; i < p->n_rekeys; i++) {
        const struct feed_item *item = p->rekeys[i].item;
        r = store_item_rekey(store, p->st.id, p->rekeys[i].item_id, item->key, item->id);
        if (r < 0)
            return r;
    }
    /* The new items at once (one statement on PostgreSQL), then each stored one's alerts. */
    if (p->n_news > 0) {
        struct store_new_item *add = calloc(p->n_news, sizeof(*add));
        int64_t *ids = p->fresh_ids ? p->fresh_ids : calloc(p->n_news, sizeof(*ids));
        if (!add || !ids) {
            free(add);
            if (ids != p->fresh_ids)
                free(ids);
            return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_news; i++)
            add[i] = (struct store_new_item){
                .item = p->news[i].item, .text = p->news[i].text, .simhash = p->news[i].simhash};
        r = store_items_add(store, p->st.id, add, p->n_news, now, ids);
        free(add);
        for (size_t i = 0; r >= 0 && i < p->n_news; i++) {
            const struct content_item *ci = &p->news[i];
            const struct feed_item *item = ci->item;
            if (!ids[i])
                continue;
            p->fresh++;
            log_info("item: feed '%s': '%s' %s%s", log_quote(p->name, q1, sizeof(q1)),
                     log_quote(item->title ? item->title : "", q2, sizeof(q2)),
                     item->link ? log_quote_url(item->link, q3, sizeof(q3)) : "-",
                     ci->from_page ? " (article text from the page)" : "");
            r = alerts_item(alerting, store, p->name, p->tags, p->n_tags, p->st.id, ids[i], item,
                            ci->text, ci->simhash, now, &p->alerts);
        }
        if (ids != p->fresh_ids)
            free(ids);
        if (r < 0)
            return r;
    }
    reindex_clear(p); /* a part undone and stored again queues its edits again */
    for (size_t i = 0; i < p->n_edits; i++)
        if ((r = store_edit(p, store, alerting, &p->edits[i], now)) < 0)
            return r;
    if (p->model_dirty) {
        r = store_feed_model_set(store, p->st.id, p->model, p->model_len);
        if (r < 0)
            return r;
    }
    /* Its feed events, in its part: a poll not stored (fenced, failed) raised none. */
    for (unsigned i = 0; i < p->n_life; i++) {
        struct life_event *le = &p->life[i];
        r = store_feed_event_add(store, p->st.id, conf_event_name(le->ev), le->url, le->state,
                                 le->reason, le->hooks, le->n_hooks, now, &le->id);
        if (r < 0)
            return r;
    }
    return store_feed_save(store, &p->st);
}

/* Whether two strings, each NULL or not, are the same. */
static bool
str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * Whether a committed poll changed what a `watch` client sees of its feed (docs/PRODUCT.md,
 * `watch`): its state, reason, URL in use, last error, failures or XML recovery (settled:
 * p->seen_changed), its items (fresh ones stored), or the wait to its next poll, by more than
 * a quarter of the longer of it and the wait the feed's last poll event showed (the ±10 %
 * jitter alone moves it by 2/11 at most). The first poll since the start always is a change.
 * last_poll and last_status alone are not: every poll sets them. Remembers the wait told.
 */
static bool
feed_event_due(struct feedpoll *p, uint64_t fresh)
{
    struct dfeed *f = p->f;
    int64_t wait = p->pn.next_ms > 0 ? p->pn.next_ms - p->pn.now_ms : 0;
    int64_t told = f->told_wait_ms;
    int64_t longer = wait > told ? wait : told;
    int64_t moved = wait > told ? wait - told : told - wait;
    if (!p->seen_changed && fresh == 0 && told > 0 && moved <= longer / 4)
        return false;
    f->told_wait_ms = wait;
    return true;
}

/* Publishes what a committed poll did: new items, alerts, then the feed if it changed. */
static void
poll_events(struct dctx *d, struct feedpoll *p, uint64_t fresh)
{
    for (size_t i = 0; p->fresh_ids && i < p->n_news; i++) {
        if (!p->fresh_ids[i])
            continue;
        const struct feed_item *item = p->news[i].item;
        struct store_item_row row = {
            .id = p->fresh_ids[i],
            .feed = p->name,
            .key = item->key,
            .title = item->title,
            .url = item->link,
            .published_at = item->published_at,
            .updated_at = item->updated_at,
            .author = item->author,
            .language = item->language,
            .summary = item->summary,
        };
        events_publish(d->events, &(struct events_event){.kind = EVENTS_ITEM, .item = &row});
    }
    for (unsigned k = 0; k < p->alerts.n_ids; k++)
        events_publish(d->events,
                       &(struct events_event){.kind = EVENTS_ALERT, .alert_id = p->alerts.ids[k]});
    for (unsigned k = 0; k < p->alerts.n_updates; k++)
        events_publish(d->events, &(struct events_event){.kind = EVENTS_UPDATE,
                                                         .update_id = p->alerts.updates[k].id});
    metrics_item_edits(d->metrics, p->edited, p->alerts.updated);
    if (feed_event_due(p, fresh))
        events_publish(d->events, &(struct events_event){.kind = EVENTS_FEED, .feed = p->f});
    for (unsigned i = 0; i < p->n_life; i++) {
        const struct life_event *le = &p->life[i];
        char qn[LOG_QUOTE_MAX], qr[LOG_QUOTE_MAX];
        log_notice("feed: '%s': %s: %s (event %" PRId64 ", %zu hooks)",
                   log_quote(p->f->cfg->name, qn, sizeof(qn)), conf_event_name(le->ev),
                   log_quote(le->reason, qr, sizeof(qr)), le->id, le->n_hooks);
        metrics_feed_event(d->metrics, conf_event_name(le->ev));
        struct events_life life = {
            .id = le->id,
            .event = conf_event_name(le->ev),
            .feed = p->f,
            .url = le->url,
            .state = le->state,
            .reason = le->reason,
        };
        events_publish(d->events, &(struct events_event){.kind = EVENTS_LIFE, .life = &life});
    }
}

static void article_wait_remove(struct feedpoll *p);

static void
feedpoll_free(struct feedpoll *p)
{
    if (!p)
        return;
    article_wait_remove(p);
    fetching_unlink(p);
    mem_set(p, 0);
    for (size_t i = 0; i < p->n_arts; i++) {
        free(p->arts[i].body);
        article_free(p->arts[i].art);
    }
    free(p->arts);
    content_items_done(p->news, p->n_news);
    free(p->news);
    free(p->model);
    feed_doc_free(p->doc);
    feedparse_free(p->parser);
    free(p->fetch_error);
    free(p->etag);
    free(p->last_modified);
    free(p->permanent_url);
    free(p->error);
    free(p->store_error);
    free(p->fresh_ids);
    free(p->rekeys);
    free(p->edits);
    reindex_clear(p);
    free(p->reindex);
    for (unsigned i = 0; i < p->n_life; i++) {
        free(p->life[i].reason);
        free(p->life[i].url);
        for (size_t k = 0; k < p->life[i].n_hooks; k++)
            free(p->life[i].hooks[k]);
        free(p->life[i].hooks);
    }
    free(p->name);
    for (size_t i = 0; i < p->n_tags; i++)
        free(p->tags[i]);
    free(p->tags);
    store_feed_done(&p->st);
    if (p->f && p->f->shown == &p->before)
        p->f->shown = NULL; /* poll_finish did; a poll freed otherwise must not leave it */
    store_feed_done(&p->before);
    free(p);
}

/* Ends a poll that was cancelled: nothing is saved. */
static void
poll_abort(struct feedpoll *p)
{
    struct dfeed *f = p->f;
    char qn[LOG_QUOTE_MAX];
    log_debug("poll: feed '%s': aborted", log_quote(f->cfg->name, qn, sizeof(qn)));
    feedpoll_done_cb done = p->done;
    void *done_ctx = p->done_ctx;
    f->poll = NULL;
    feedpoll_free(p);
    done(done_ctx, f, POLL_ABORTED, 0, 0);
}

/* Whether the poll must stop where it is (cancelled, or the daemon is stopping). */
static bool
poll_stopped(const struct feedpoll *p)
{
    return p->cancelled || p->d->stopping;
}

/* Swallows libxml2's generic error messages in a pool thread (they go to stderr otherwise). */
static void
on_xml_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Thread pool: the content stage over the new items, with the feed's model. */
static void
content_work(uv_work_t *w)
{
    struct feedpoll *p = w->data;
    struct boilerplate_model *model = NULL;
    char *why = NULL;

    xmlSetGenericErrorFunc(NULL, on_xml_generic_error);
    if (p->model && boilerplate_model_load(p->model, p->model_len, &model, &why) < 0)
        model = NULL; /* a model that cannot be read is relearnt: it is only a hint */
    free(why);
    if (!model)
        model = boilerplate_model_new();
    p->content_r = content_clean_items(p->news, p->n_news, model);
    if (p->content_r == 0 && model) {
        char *blob = NULL;
        size_t len = 0;
        if (boilerplate_model_save(model, &blob, &len) == 0) {
            free(p->model);
            p->model = blob;
            p->model_len = len;
            p->model_dirty = true;
        }
    }
    boilerplate_model_free(model);
}

/*
 * Whether the item's link may be downloaded: http(s) only, whatever the feed's own scheme (a
 * file: feed's links are written by whoever writes the file, not by the operator).
 */
static bool
article_url_ok(const char *link)
{
    return link && (strncasecmp(link, "http://", 7) == 0 || strncasecmp(link, "https://", 8) == 0);
}

/* Takes p off the list of polls waiting for article memory (when it is on it). */
static void
article_wait_remove(struct feedpoll *p)
{
    if (!p->waiting)
        return;
    struct dctx *d = p->d;
    struct feedpoll *prev = NULL;
    for (struct feedpoll *q = d->article_wait_head; q; prev = q, q = q->wait_next) {
        if (q != p)
            continue;
        if (prev)
            prev->wait_next = p->wait_next;
        else
            d->article_wait_head = p->wait_next;
        if (d->article_wait_tail == p)
            d->article_wait_tail = prev;
        break;
    }
    p->wait_next = NULL;
    p->waiting = false;
}

static int on_article_data(void *userdata, const char *effective_url, const char *content_type,
                           const char *buf, size_t len, char **reterr_msg);
static void on_article_done(void *userdata, const struct fetch_result *res);

/*
 * Starts the poll's next article downloads while fewer than FEEDPOLL_ARTICLES_AT_ONCE run and
 * the daemon's article memory has room for one more page (each reserves max_article_size);
 * when it has not, the poll waits in line for a page of another poll to be released. A
 * stopped poll drops the articles it has not started. The caller holds p (arts_pending).
 */
static void
articles_pump(struct feedpoll *p)
{
    struct dctx *d = p->d;
    const struct conf_daemon *dc = &d->conf->daemon;
    if (poll_stopped(p)) {
        article_wait_remove(p);
        assert(p->arts_pending > p->n_arts - p->arts_next);
        p->arts_pending -= (unsigned)(p->n_arts - p->arts_next);
        p->arts_next = p->n_arts;
        return;
    }
    while (p->arts_next < p->n_arts && p->arts_running < FEEDPOLL_ARTICLES_AT_ONCE) {
        uint64_t need = dc->max_article_size;
        /*
         * In line behind the polls already waiting (FIFO), or waiting when the page does not
         * fit. Nothing held at all: one page goes whatever the limit (a reload may lower it).
         */
        bool behind = d->article_wait_head && !p->waiting;
        if (d->article_bytes > 0 && (behind || d->article_bytes + need > dc->max_article_memory)) {
            if (!p->waiting) {
                p->waiting = true;
                p->wait_next = NULL;
                if (d->article_wait_tail)
                    d->article_wait_tail->wait_next = p;
                else
                    d->article_wait_head = p;
                d->article_wait_tail = p;
            }
            return;
        }
        struct article_fetch *af = &p->arts[p->arts_next++];
        bool allow = p->f->cfg->allow_private_addresses;
        struct fetch_req req = {
            .url = p->news[af->idx].item->link,
            .max_size = dc->max_article_size,
            .net = allow ? FETCH_NET_ANY : FETCH_NET_PUBLIC,
            .http_only = true,
            .size_name = "page exceeds max_article_size",
        };
        af->reserved = need;
        d->article_bytes += need;
        p->arts_running++;
        af->xfer = fetch_start(d->fetcher, &req, on_article_data, on_article_done, af);
        if (!af->xfer) {
            d->article_bytes -= af->reserved;
            af->reserved = 0;
            p->arts_running--;
            p->arts_pending--; /* the caller's hold keeps it above zero */
        }
    }
    if (p->arts_next == p->n_arts)
        article_wait_remove(p);
}

/*
 * An article's page left memory: its reservation goes back, and the polls waiting for
 * memory start what now fits, oldest first (each held while it does).
 */
static void
article_release(struct article_fetch *af)
{
    struct feedpoll *p = af->p;
    struct dctx *d = p->d;
    free(af->body);
    af->body = NULL;
    af->len = af->cap = 0;
    if (af->reserved == 0)
        return;
    assert(d->article_bytes >= af->reserved && p->arts_running > 0);
    d->article_bytes -= af->reserved;
    af->reserved = 0;
    p->arts_running--;
    /* Wake the waiting polls present now; one that cannot go on waits again at the end. */
    struct feedpoll *q = d->article_wait_head;
    d->article_wait_head = d->article_wait_tail = NULL;
    while (q) {
        struct feedpoll *next = q->wait_next;
        q->wait_next = NULL;
        q->waiting = false;
        if (q != p) {
            q->arts_pending++;
            articles_pump(q);
            article_settled(q);
        } else {
            articles_pump(p); /* held by the article being settled */
        }
        q = next;
    }
}

/* One article settled (downloaded and extracted, or given up): the last one stores the poll. */
static void
article_settled(struct feedpoll *p)
{
    assert(p->arts_pending > 0);
    if (--p->arts_pending > 0)
        return;
    if (poll_stopped(p))
        poll_abort(p);
    else
        poll_store(p);
}

/* Thread pool: the main text and metadata of one downloaded page. */
static void
article_work(uv_work_t *w)
{
    struct article_fetch *af = w->data;
    xmlSetGenericErrorFunc(NULL, on_xml_generic_error);
    if (article_extract(af->body, af->len, af->charset[0] ? af->charset : NULL, &af->art) < 0)
        af->art = NULL;
}

/* Loop: an extraction came back; its text and metadata go into the item. */
static void
article_work_done(uv_work_t *w, int status)
{
    struct article_fetch *af = w->data;
    struct feedpoll *p = af->p;
    af->in_work = false;
    if (status == 0 && af->art && !poll_stopped(p)) {
        struct content_item *ci = &p->news[af->idx];
        if (content_apply_article(ci, af->art) < 0) {
            char qn[LOG_QUOTE_MAX];
            log_warn("poll: feed '%s': out of memory taking an article, the feed's text stays",
                     log_quote(p->f->cfg->name, qn, sizeof(qn)));
        }
    }
    article_free(af->art);
    af->art = NULL;
    mem_update(p); /* a page's text may replace the feed's */
    article_release(af);
    articles_pump(p);
    article_settled(p);
}

/* fetch: bytes of an article page, kept up to the transfer's own cap. */
static int
on_article_data(void *userdata, const char *effective_url, const char *content_type,
                const char *buf, size_t len, char **reterr_msg)
{
    struct article_fetch *af = userdata;
    (void)effective_url;
    if (af->len == 0 && !af->charset[0] &&
        !charset_from_content_type(content_type, af->charset, sizeof(af->charset)))
        af->charset[0] = '\0';
    if (len > af->cap - af->len) {
        /* Grows by doubling within the page's reservation (the fetcher caps it too). */
        if (len > af->reserved || af->len > af->reserved - len) {
            *reterr_msg = strdup("page exceeds max_article_size");
            return -EMSGSIZE;
        }
        size_t cap = af->cap ? af->cap : 64 * 1024;
        while (cap - af->len < len)
            cap *= 2;
        if (cap > af->reserved)
            cap = (size_t)af->reserved;
        char *nb = realloc(af->body, cap);
        if (!nb)
            return -ENOMEM;
        af->body = nb;
        af->cap = cap;
    }
    memcpy(af->body + af->len, buf, len);
    af->len += len;
    return 0;
}

/* fetch: an article download ended; a page goes to the thread pool, anything else stays. */
static void
on_article_done(void *userdata, const struct fetch_result *res)
{
    struct article_fetch *af = userdata;
    struct feedpoll *p = af->p;
    char qn[LOG_QUOTE_MAX], qu[LOG_QUOTE_MAX], qe[LOG_QUOTE_MAX];
    af->xfer = NULL;
    if (res->status == FETCH_OK && af->len > 0 && !poll_stopped(p)) {
        af->work.data = af;
        if (uv_queue_work(&p->d->loop, &af->work, article_work, article_work_done) == 0) {
            af->in_work = true;
            return;
        }
    }
    if (res->status != FETCH_OK && res->status != FETCH_ABORTED)
        log_warn("poll: feed '%s': article: %s: %s, keeping the feed's text",
                 log_quote(p->f->cfg->name, qn, sizeof(qn)),
                 log_quote(res->error ? res->error : "not modified", qe, sizeof(qe)),
                 log_quote_url(p->news[af->idx].item->link, qu, sizeof(qu)));
    article_release(af);
    articles_pump(p);
    article_settled(p);
}

/*
 * Starts downloading the page of every new item with a link (fetch_article = yes). Returns
 * false when there is nothing to download (the poll goes straight to the store).
 */
static bool
articles_start(struct feedpoll *p)
{
    size_t n = 0, max = p->d->conf->daemon.max_articles_per_poll;
    for (size_t i = 0; i < p->n_news; i++)
        if (article_url_ok(p->news[i].item->link))
            n++;
    if (n > max) {
        char qn[LOG_QUOTE_MAX];
        log_notice("poll: feed '%s': article: %zu new items with a page, downloading %zu "
                   "(max_articles_per_poll), the others keep the feed's text",
                   log_quote(p->f->cfg->name, qn, sizeof(qn)), n, max);
        n = max;
    }
    if (n == 0 || !(p->arts = calloc(n, sizeof(*p->arts))))
        return false;
    for (size_t i = 0; i < p->n_news && p->n_arts < n; i++) {
        if (!article_url_ok(p->news[i].item->link))
            continue;
        struct article_fetch *af = &p->arts[p->n_arts++];
        af->p = p;
        af->idx = i;
    }
    /* Held while starting: a download that ends at once must not store the poll early. */
    p->arts_pending = (unsigned)p->n_arts + 1;
    articles_pump(p);
    article_settled(p);
    return true;
}

/* Loop: the content stage is back; articles next (if asked for), then the store. */
static void
content_work_done(uv_work_t *w, int status)
{
    struct feedpoll *p = w->data;
    p->in_work = false;
    p->content_done = true;
    if (status != 0 || poll_stopped(p)) {
        poll_abort(p);
        return;
    }
    if (p->content_r < 0) {
        char qn[LOG_QUOTE_MAX];
        log_warn("poll: feed '%s': cannot clean the items' text: %s, storing them without",
                 log_quote(p->f->cfg->name, qn, sizeof(qn)), strerror(-p->content_r));
        content_items_done(p->news, p->n_news);
    }
    mem_update(p); /* the texts replace their HTML's reservation */
    dctx_poll_memory_released(p->d);
    if (p->f->cfg->fetch_article && articles_start(p))
        return;
    poll_store(p);
}

struct str_at {
    const char *s;
    size_t i;
};

static int
str_at_cmp(const void *a, const void *b)
{
    return strcmp(((const struct str_at *)a)->s, ((const struct str_at *)b)->s);
}

static bool
title_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether titles a and b (NULL: none) are one, whitespace runs and ASCII case aside. */
static bool
title_same(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    while (title_space(*a))
        a++;
    while (title_space(*b))
        b++;
    for (;;) {
        bool wa = title_space(*a), wb = title_space(*b);
        while (title_space(*a))
            a++;
        while (title_space(*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (wa != wb)
            return false;
        unsigned char ca = (unsigned char)*a++, cb = (unsigned char)*b++;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb - 'A' + 'a');
        if (ca != cb)
            return false;
    }
}

/*
 * Whether item, not stored under its key, is the stored item ref under a new key: its fields
 * are the stored item's as they were last compared (the same fingerprint: hash_item_fields),
 * or, the fields being edited meanwhile, its title (whitespace and ASCII case aside) and its
 * date are the stored item's, both dated. An item stored before fingerprints (0) keeps the
 * older rule: the same title, and the same date where both have one, and a title or a date at
 * all. The link alone is not enough: a page at a fixed address (a live page, a daily briefing,
 * a feed whose items all link to the site) carries new stories under one title, and taking one
 * for an old item would lose it; when in doubt the item is new (a double beats a miss).
 */
static bool
rekey_same(const struct feed_item *item, const struct store_item_ref *ref)
{
    bool dated = item->published_at != FEED_TIME_NONE && ref->published_at != FEED_TIME_NONE;
    if (ref->fingerprint != 0 &&
        hash_item_fields(item->title, item->summary, item->content) == ref->fingerprint)
        return true;
    if (!title_same(item->title, ref->title) || (dated && item->published_at != ref->published_at))
        return false;
    if (ref->fingerprint != 0)
        return dated && !title_same(item->title, NULL);
    /* Something besides the link must say so: a title, or the date. */
    return dated || !title_same(item->title, NULL);
}

/* A link without its "http://" or "https://" (the rest as it is). */
static const char *
link_sans_scheme(const char *link)
{
    return strncmp(link, "https://", 8) == 0  ? link + 8
           : strncmp(link, "http://", 7) == 0 ? link + 7
                                              : link;
}

/*
 * Of the items of the document whose key is not stored (!known), those that are a stored
 * item under a new key (feed-ids-changed): its link is the link of exactly one item of the
 * document and of exactly one stored item of the feed, whose key the document does not list
 * (else two items share a link: both are items of their own), and the two are the same
 * (rekey_same). They go to p->rekeys and are known from now on (known[i] set): no item is
 * stored or alerted again for them. Any failure leaves them new, as before this lookup (the
 * (feed, key) constraint still holds).
 */
static void
rekey_lookup(struct feedpoll *p, bool *known)
{
    struct feed_doc *doc = p->doc;
    size_t n = doc->n_items, n_links = 0, n_cand = 0;
    struct str_at *links = malloc(n * sizeof(*links)), *keys = malloc(n * sizeof(*keys));
    size_t *cand = malloc(n * sizeof(*cand));
    char **alts = calloc(n, sizeof(*alts));
    const char **urls = malloc(2 * n * sizeof(*urls));
    struct store_item_ref *refs = calloc(2 * n, sizeof(*refs));
    if (!links || !keys || !cand || !alts || !urls || !refs)
        goto done;
    /* A link is the document's one item's whatever its scheme (below). */
    for (size_t i = 0; i < n; i++) {
        keys[i] = (struct str_at){doc->items[i].key, i};
        if (doc->items[i].link)
            links[n_links++] = (struct str_at){link_sans_scheme(doc->items[i].link), i};
    }
    qsort(keys, n, sizeof(*keys), str_at_cmp);
    qsort(links, n_links, sizeof(*links), str_at_cmp);
    for (size_t k = 0; k < n_links; k++) {
        bool unique = (k == 0 || strcmp(links[k - 1].s, links[k].s) != 0) &&
                      (k + 1 == n_links || strcmp(links[k + 1].s, links[k].s) != 0);
        if (unique && !known[links[k].i]) {
            cand[n_cand] = links[k].i;
            urls[n_cand++] = doc->items[links[k].i].link;
        }
    }
    /*
     * Each link in the other of http and https too, in the same lookup (urls[n_cand + c]): a
     * site that moves to https changes its links and, where its ids are its links (RSS
     * permalink guids), its ids at once. A link of neither scheme is looked up twice as it is.
     */
    for (size_t c = 0; c < n_cand; c++) {
        const char *rest = link_sans_scheme(urls[c]);
        if (rest != urls[c] &&
            asprintf(&alts[c], "%s%s", urls[c][4] == 's' ? "http://" : "https://", rest) < 0) {
            alts[c] = NULL;
            goto done;
        }
        urls[n_cand + c] = alts[c] ? alts[c] : urls[c];
    }
    if (n_cand == 0 || store_items_by_url(p->d->store, p->f->st.id, urls, 2 * n_cand, refs) < 0)
        goto done;
    for (size_t c = 0; c < n_cand; c++) {
        const struct store_item_ref *ref = &refs[c];
        bool moved = ref->id <= 0 && alts[c] && refs[n_cand + c].id > 0;
        if (moved)
            ref = &refs[n_cand + c];
        if (ref->id <= 0 || !ref->key)
            continue;
        struct str_at want = {ref->key, 0};
        if (bsearch(&want, keys, n, sizeof(*keys), str_at_cmp))
            continue; /* its stored item is in the document too: another item of that link */
        if (!rekey_same(&doc->items[cand[c]], ref))
            continue; /* another story at the same address: a new item */
        if (!p->rekeys && !(p->rekeys = calloc(n_cand, sizeof(*p->rekeys))))
            break;
        p->rekeys[p->n_rekeys++] = (struct poll_rekey){ref->id, &doc->items[cand[c]]};
        p->n_rekeys_moved += moved;
        known[cand[c]] = true;
    }
done:
    for (size_t c = 0; refs && c < 2 * n_cand; c++)
        store_item_ref_done(&refs[c]);
    for (size_t c = 0; alts && c < n_cand; c++)
        free(alts[c]);
    free(refs);
    free(alts);
    free(urls);
    free(cand);
    free(keys);
    free(links);
}

static int edit_cmp(const void *a, const void *b);

/*
 * Keeps FEEDPOLL_EDITS_MAX of the edits to compare (those without a fingerprint, only set,
 * do not count), in turn: by item id from the one after the last item the feed's previous
 * bounded poll compared (f->edit_cursor), round the end and back. So every changed item is
 * compared within a few polls, however many others change at every poll without a material
 * edit (a token in every item's HTML: compared, they change again and would always come first
 * by any other order). The others wait for the next poll (their fingerprint unchanged, no
 * validators kept), and the log says how many, once a poll. The turn is the daemon's memory:
 * a start begins it at a random item.
 */
static void
edits_bound(struct feedpoll *p)
{
    size_t n_compared = 0;
    for (size_t i = 0; i < p->n_edits; i++)
        n_compared += !p->edits[i].first;
    if (n_compared <= FEEDPOLL_EDITS_MAX)
        return;
    /* Firsts to the front (kept all), then the compared ones oldest edit first. */
    size_t n_first = 0;
    for (size_t i = 0; i < p->n_edits; i++) {
        if (p->edits[i].first) {
            struct poll_edit e = p->edits[i];
            p->edits[i] = p->edits[n_first];
            p->edits[n_first++] = e;
        }
    }
    struct poll_edit *cmp = p->edits + n_first;
    qsort(cmp, n_compared, sizeof(*cmp), edit_cmp);
    size_t from = 0; /* the first after the cursor; none: the turn starts again */
    if (p->f->edit_cursor == 0) {
        /*
         * The daemon's first bounded poll of the feed (a start, a --once run): from a random
         * item, so that runs that each compare one turn still reach every item (review12 N1).
         */
        from = (size_t)(util_rng_next(&p->d->rng) % n_compared);
    } else {
        while (from < n_compared && cmp[from].item_id <= p->f->edit_cursor)
            from++;
        if (from == n_compared)
            from = 0;
    }
    struct poll_edit *turn = malloc(n_compared * sizeof(*turn));
    if (turn) {
        memcpy(turn, cmp + from, (n_compared - from) * sizeof(*turn));
        memcpy(turn + (n_compared - from), cmp, from * sizeof(*turn));
        memcpy(cmp, turn, n_compared * sizeof(*turn));
        free(turn);
    } /* out of memory: from the first item, this poll */
    p->f->edit_cursor = cmp[FEEDPOLL_EDITS_MAX - 1].item_id;
    p->n_edits = n_first + FEEDPOLL_EDITS_MAX;
    p->edits_waiting = n_compared - FEEDPOLL_EDITS_MAX;
    p->edits_deferred = true; /* the next poll fetches the document whole */
    char q[LOG_QUOTE_MAX];
    log_notice("poll: feed '%s': %zu changed items wait for the next poll (%u compared, the"
               " most a poll)",
               log_quote(p->f->cfg->name, q, sizeof(q)), p->edits_waiting, FEEDPOLL_EDITS_MAX);
}

/* Orders edits by item, then by their place in the document (items are an array of it). */
static int
edit_cmp(const void *a, const void *b)
{
    const struct poll_edit *x = a, *y = b;
    if (x->item_id != y->item_id)
        return x->item_id < y->item_id ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/*
 * Of the stored items of the document (seen[i].id set), those whose fields as the feed gives
 * them differ from their stored fingerprint (a hash of the bytes: an unchanged item costs no
 * read of its text), unless pruned or edited less than FEEDPOLL_EDIT_GAP_S ago, each once (a key
 * the document lists twice is compared at its first), at most FEEDPOLL_EDITS_MAX of them
 * (edits_bound): to p->edits, for the writer (store_edit).
 * Items without a fingerprint (stored before schema 13) get one, without a comparison.
 * Out of memory leaves them for the next poll.
 */
static void
collect_edits(struct feedpoll *p, const struct store_item_seen *seen)
{
    struct feed_doc *doc = p->doc;
    int64_t now = util_now();
    for (size_t i = 0; i < doc->n_items; i++) {
        const struct feed_item *item = &doc->items[i];
        if (seen[i].id <= 0 || seen[i].pruned)
            continue;
        uint64_t fp = hash_item_fields(item->title, item->summary, item->content);
        if (fp == seen[i].fingerprint)
            continue;
        if (seen[i].edited_at != FEED_TIME_NONE && now - seen[i].edited_at < FEEDPOLL_EDIT_GAP_S) {
            p->edits_deferred = true; /* compared once the hour is over (poll_settle) */
            continue;
        }
        if (!p->edits && !(p->edits = calloc(doc->n_items, sizeof(*p->edits))))
            return;
        p->edits[p->n_edits++] = (struct poll_edit){
            .item_id = seen[i].id,
            .item = item,
            .fingerprint = fp,
            .first = seen[i].fingerprint == 0,
        };
    }
    /* A key listed twice: its first entry only (sorted by item, then document order). */
    if (p->n_edits < 2)
        return;
    qsort(p->edits, p->n_edits, sizeof(*p->edits), edit_cmp);
    size_t kept = 1;
    for (size_t i = 1; i < p->n_edits; i++)
        if (p->edits[i].item_id != p->edits[kept - 1].item_id)
            p->edits[kept++] = p->edits[i];
    p->n_edits = kept;
    edits_bound(p);
}

/*
 * The items of the document not stored before, and those stored before under another key
 * (rekey_lookup). A lookup that fails counts the item as new: the store's (feed, key)
 * constraint still keeps it once.
 */
static int
collect_news(struct feedpoll *p)
{
    struct feed_doc *doc = p->doc;
    if (!doc || doc->n_items == 0)
        return 0;
    p->news = calloc(doc->n_items, sizeof(*p->news));
    if (!p->news)
        return -ENOMEM;
    const char **keys = malloc(doc->n_items * sizeof(*keys));
    bool *known = calloc(doc->n_items, sizeof(*known));
    struct store_item_seen *seen = calloc(doc->n_items, sizeof(*seen));
    if (!keys || !known || !seen) {
        free(keys);
        free(known);
        free(seen);
        return -ENOMEM;
    }
    for (size_t i = 0; i < doc->n_items; i++)
        keys[i] = doc->items[i].key;
    bool txn = store_begin_read(p->d->store) == 0;
    /* One lookup for the document (a round trip per item on PostgreSQL blocked the loop). */
    if (store_items_seen(p->d->store, p->f->st.id, keys, doc->n_items, seen) < 0) {
        char q[LOG_QUOTE_MAX];
        log_warn("poll: feed '%s': cannot look up the stored items (all taken as new, the"
                 " store keeps each once): %s",
                 log_quote(p->f->cfg->name, q, sizeof(q)), store_errmsg(p->d->store));
        memset(seen, 0, doc->n_items * sizeof(*seen));
    } else {
        for (size_t i = 0; i < doc->n_items; i++)
            known[i] = seen[i].id > 0;
        collect_edits(p, seen);
        rekey_lookup(p, known);
    }
    for (size_t i = 0; i < doc->n_items; i++)
        if (!known[i])
            p->news[p->n_news++].item = &doc->items[i];
    free(keys);
    free(known);
    free(seen);
    if (p->n_news > 0)
        (void)store_feed_model_get(p->d->store, p->f->st.id, &p->model, &p->model_len);
    if (txn)
        store_rollback(p->d->store); /* nothing was written */
    return 0;
}

/* fetch: the transfer ended; finish the parse, then the new items' content stage. */
static void
on_fetch_done(void *userdata, const struct fetch_result *res)
{
    struct feedpoll *p = userdata;
    p->xfer = NULL;
    fetching_unlink(p);
    if (res->status == FETCH_ABORTED) {
        poll_abort(p);
        return;
    }
    p->status = res->status;
    p->http_status = res->http_status;
    p->retry_after_at = res->retry_after_at;
    p->fresh_until_at = res->fresh_until_at;
    if ((res->error && !(p->fetch_error = strdup(res->error))) ||
        (res->etag && !(p->etag = strdup(res->etag))) ||
        (res->last_modified && !(p->last_modified = strdup(res->last_modified))) ||
        (res->permanent_url && !(p->permanent_url = strdup(res->permanent_url))))
        p->error = strdup("out of memory");

    if (p->error) {
        /* nothing more to do */
    } else if (res->status == FETCH_OK) {
        if (!p->parser) {
            p->error = strdup("empty document");
        } else if (feedparse_finish(p->parser, &p->doc) < 0) {
            const char *why = feedparse_error(p->parser);
            p->error = strdup(why ? why : "cannot parse the document");
        } else if (!p->doc) {
            p->error = strdup("not a feed");
        }
        feedparse_free(p->parser);
        p->parser = NULL;
    } else if (res->status != FETCH_NOT_MODIFIED) {
        p->error = strdup(res->error ? res->error : "failed");
    }
    feedparse_free(p->parser); /* a failed transfer's */
    p->parser = NULL;
    p->doc_bytes = feed_doc_bytes(p->doc);

    bool content = !p->error && p->doc && collect_news(p) == 0 && p->n_news > 0;
    /* The parser's bytes become the document's, and the new items' HTML the bound of their text
     * to come: let the polls that wait for memory have what this one no longer needs. */
    p->content_done = !content;
    mem_update(p);
    dctx_poll_memory_released(p->d);
    if (content) {
        p->work.data = p;
        if (uv_queue_work(&p->d->loop, &p->work, content_work, content_work_done) == 0) {
            p->in_work = true;
            return;
        }
        p->content_done = true;
    }
    poll_store(p);
}

static void poll_finish(struct feedpoll *p, int r);
static int poll_prepare(struct feedpoll *p, int64_t now_ms);
static int store_job_work(struct writer_job *job, struct store *store);
static void store_job_done(struct writer_job *job, int result);

/*
 * The last stage. The poll is settled, and its writes go to the writer as a WRITER_BATCH
 * job: the polls that finish together (writer.h: within WRITER_BATCH_DELAY_MS, at most
 * WRITER_BATCH_MAX) are written in one transaction, each as a part of its own, so that the
 * pages every commit rewrites (the items' indexes) are written once for the batch rather
 * than once a poll. The poll ends in store_job_done, after the commit.
 */
static void
poll_store(struct feedpoll *p)
{
    struct dctx *d = p->d;
    int64_t now_ms = util_now_ms();
    /*
     * Settling changes the feed's state at once (the schedule and the run-time commands build
     * on it), but the poll has happened for a user only once the writer has stored it, with
     * its items: until then `feeds` shows the feed as it was (f->shown, dfeed.h). Without
     * memory for that copy it shows the settled state, as it would a moment later.
     */
    bool before = store_feed_copy(&p->before, &p->f->st) == 0;
    p->before_ok = before;
    p->life_mem = p->f->life_mem;
    int r = poll_prepare(p, now_ms);
    p->content_done = true;
    mem_update(p); /* a failed poll dropped its texts */
    /* Without memory for it, the poll is stored all the same, told to nobody. */
    free(p->fresh_ids);
    p->fresh_ids = r == 0 && p->n_news ? calloc(p->n_news, sizeof(*p->fresh_ids)) : NULL;
    if (r == 0 && !(p->pin = dctx_topics_pin(d)))
        r = -ENOMEM;
    if (r == 0) {
        p->store_now = now_ms / 1000;
        p->page_text = p->f->cfg->fetch_article;
        p->job = (struct writer_job){
            .work = store_job_work, .done = store_job_done, .mode = WRITER_BATCH};
        r = writer_submit(d->writer, &p->job);
        if (r == 0) {
            if (before)
                p->f->shown = &p->before;
            return;
        }
        dctx_topics_unpin(p->pin);
        p->pin = NULL;
        if (r == -ESHUTDOWN) {
            poll_abort(p); /* the daemon stops: nothing is saved, as for a cancelled poll */
            return;
        }
    }
    free(p->store_error);
    p->store_error = strdup(r == -EAGAIN ? "the store's writer queue is full" : strerror(-r));
    poll_finish(p, r);
}

/*
 * Raises feed event ev with reason (printf): its hooks are those whose `events` take it, of the
 * feed's `hooks` when it names some; the state and URL are set once the poll is settled
 * (life_finish). Out of memory, the event is logged and lost, the poll goes on.
 */
static void life_raise(struct feedpoll *p, enum conf_event ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
life_raise(struct feedpoll *p, enum conf_event ev, const char *fmt, ...)
{
    const struct conf *conf = p->d->conf;
    const struct conf_feed *fc = p->f->cfg;
    char qn[LOG_QUOTE_MAX];
    if (p->n_life >= FEEDPOLL_LIFE_MAX)
        return;
    struct life_event *le = &p->life[p->n_life];
    *le = (struct life_event){.ev = ev};
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&le->reason, fmt, ap);
    va_end(ap);
    bool ok = n >= 0 && (le->hooks = calloc(conf->n_hooks + 1, sizeof(*le->hooks)));
    for (size_t i = 0; ok && i < conf->n_hooks; i++) {
        const struct conf_hook *h = &conf->hooks[i];
        bool take = (h->events & (1u << ev)) != 0;
        for (size_t k = 0; take && fc->hooks_set; k++) {
            if (k == fc->n_hooks) {
                take = false;
                break;
            }
            if (strcmp(fc->hooks[k], h->name) == 0)
                break;
        }
        if (take && !(le->hooks[le->n_hooks++] = strdup(h->name)))
            ok = false;
    }
    if (!ok) {
        if (n < 0)
            le->reason = NULL;
        free(le->reason);
        for (size_t k = 0; le->hooks && k < le->n_hooks; k++)
            free(le->hooks[k]);
        free(le->hooks);
        *le = (struct life_event){0};
        log_error("poll: feed '%s': out of memory: %s not raised",
                  log_quote(fc->name, qn, sizeof(qn)), conf_event_name(ev));
        return;
    }
    p->n_life++;
}

/* The events raised: the feed's state and URL after the poll, as its events carry them. */
static void
life_finish(struct feedpoll *p)
{
    struct dfeed *f = p->f;
    const char *url = f->st.url ? f->st.url : f->cfg->url;
    for (unsigned i = 0; i < p->n_life; i++) {
        p->life[i].state = dfeed_state_name(dfeed_state(f));
        /* As the log shows URLs: no userinfo, no secret parameters (hooks, `events`). */
        if (!p->life[i].url)
            p->life[i].url = url_redact(url);
    }
}

/* A duration in words for reasons: "3h", "2d", "45s". */
static void
life_span(int64_t s, char *buf, size_t size)
{
    if (s >= 2 * 86400)
        snprintf(buf, size, "%" PRId64 "d", s / 86400);
    else if (s >= 2 * 3600)
        snprintf(buf, size, "%" PRId64 "h", s / 3600);
    else if (s >= 120)
        snprintf(buf, size, "%" PRId64 "m", s / 60);
    else
        snprintf(buf, size, "%" PRId64 "s", s);
}

/*
 * A good poll's feed events (docs/DESIGN.md "Feed events"): back from failing or disabled; a
 * permanent redirect applied once seen on move_confirmations consecutive polls (the URL in use
 * stays until then); the items' pace (the usual gap between new items, a decaying average of
 * the time since the last new item over the number of new ones) and a stall, once, when no new
 * item came for stall_factor of those gaps and at least stall_min; a purge, when the document
 * lists less than half the items of the last one and the last one listed at least
 * FEEDPOLL_PURGE_MIN_ITEMS. The state lives in f->st, saved with the poll.
 */
static void
life_good_poll(struct feedpoll *p, int64_t now, const char *was_error)
{
    struct dctx *d = p->d;
    struct dfeed *f = p->f;
    const struct conf_daemon *dc = &d->conf->daemon;
    char qn[LOG_QUOTE_MAX], qe[LOG_QUOTE_MAX];
    const char *name = log_quote(f->cfg->name, qn, sizeof(qn));

    if (f->st.life) {
        if (strcmp(f->st.life, "disabled") == 0)
            life_raise(p, CONF_EVENT_FEED_RECOVERED, "polled again after it was disabled");
        else
            life_raise(p, CONF_EVENT_FEED_RECOVERED, "back after failing (last error: %s)",
                       was_error ? was_error : "unknown");
        (void)set_str(&f->st.life, NULL);
    }

    const char *cur = f->st.url ? f->st.url : f->cfg->url;
    if (p->permanent_url && strcmp(p->permanent_url, cur) != 0) {
        unsigned need =
            f->cfg->move_confirmations ? f->cfg->move_confirmations : dc->move_confirmations;
        if (str_same(f->st.move_url, p->permanent_url)) {
            f->st.move_seen++;
        } else if (set_str(&f->st.move_url, p->permanent_url) == 0) {
            f->st.move_seen = 1;
        }
        if (f->st.move_seen >= need && str_same(f->st.move_url, p->permanent_url)) {
            char *from = url_redact(cur), *to = url_redact(p->permanent_url);
            log_notice("fetch: feed '%s': moved permanently to '%s' (seen on %u consecutive "
                       "polls)",
                       name, log_quote_url(p->permanent_url, qe, sizeof(qe)), f->st.move_seen);
            p->seen_changed = true;
            if (set_str(&f->st.url, p->permanent_url) == 0)
                life_raise(p, CONF_EVENT_FEED_MOVED,
                           "moved permanently from %s to %s (seen on %u consecutive polls)",
                           from ? from : "its URL", to ? to : "a new URL", f->st.move_seen);
            free(from);
            free(to);
            (void)set_str(&f->st.move_url, NULL);
            f->st.move_seen = 0;
        } else {
            log_notice("fetch: feed '%s': permanent redirect to '%s' seen on %u of the %u "
                       "consecutive polls that move the feed",
                       name, log_quote_url(p->permanent_url, qe, sizeof(qe)), f->st.move_seen,
                       need);
        }
    } else if (f->st.move_url) {
        log_notice("fetch: feed '%s': the permanent redirect to '%s' is gone, the feed stays", name,
                   log_quote_url(f->st.move_url, qe, sizeof(qe)));
        (void)set_str(&f->st.move_url, NULL);
        f->st.move_seen = 0;
    }

    if (p->doc && p->n_rekeys > 0) {
        char qn2[LOG_QUOTE_MAX];
        struct dfeed_life_mem *m = &f->life_mem;
        if (p->n_rekeys * 2 >= p->doc->n_items &&
            (m->ids_changed_at <= 0 || now - m->ids_changed_at >= FEEDPOLL_IDS_QUIET_S)) {
            if (p->n_rekeys_moved == 0)
                life_raise(
                    p, CONF_EVENT_FEED_IDS_CHANGED,
                    "%zu of its %zu items have new ids, their links unchanged: not new items",
                    p->n_rekeys, p->doc->n_items);
            else
                life_raise(p, CONF_EVENT_FEED_IDS_CHANGED,
                           "%zu of its %zu items have new ids, their links unchanged (%zu moved"
                           " between http and https): not new items",
                           p->n_rekeys, p->doc->n_items, p->n_rekeys_moved);
            m->ids_changed_at = now;
        } else
            log_notice("poll: feed '%s': %zu items have new ids, their links unchanged: not new",
                       log_quote(f->cfg->name, qn2, sizeof(qn2)), p->n_rekeys);
    }
    /*
     * A purge is told when two documents in a row (or one and a 304 Not Modified, the same
     * again) list less than half the items of the one before them (which stays the measure
     * meanwhile), at most once a day.
     */
    struct dfeed_life_mem *m = &f->life_mem;
    if (p->doc || (p->status == FETCH_NOT_MODIFIED && m->purge_pending)) {
        int64_t n = p->doc ? (int64_t)p->doc->n_items : m->purge_items;
        bool shrunk = f->st.doc_items >= FEEDPOLL_PURGE_MIN_ITEMS && n * 2 < f->st.doc_items;
        if (shrunk && !m->purge_pending) {
            m->purge_pending = true; /* the next document tells */
            m->purge_items = n;
        } else {
            if (shrunk && (m->purged_at <= 0 || now - m->purged_at >= FEEDPOLL_PURGE_QUIET_S)) {
                life_raise(p, CONF_EVENT_FEED_PURGED,
                           "%" PRId64 " of the %" PRId64
                           " items of its document are gone (two polls in a row)",
                           f->st.doc_items - n, f->st.doc_items);
                m->purged_at = now;
            }
            m->purge_pending = false;
            f->st.doc_items = n;
        }
    }

    if (p->n_news > 0) {
        /*
         * The gap is between polls that found new items, however many each found (a feed that
         * publishes in batches is not faster for it). The first poll's items are the feed's
         * past, not its pace (new_gap_s < 0: the next poll with new items starts the measure).
         */
        if (f->st.last_new_at == FEED_TIME_NONE || f->st.last_new_at <= 0) {
            f->st.new_gap_s = -1.0;
        } else if (f->st.new_gap_s < 0.0) {
            f->st.new_gap_s = 0.0;
        } else if (now > f->st.last_new_at) {
            double gap = (double)(now - f->st.last_new_at);
            f->st.new_gap_s = f->st.new_gap_s > 0.0 ? 0.75 * f->st.new_gap_s + 0.25 * gap : gap;
        }
        f->st.last_new_at = now;
        if (f->st.stalled)
            log_notice("poll: feed '%s': new items again, no longer stalled", name);
        f->st.stalled = false;
    } else if (!f->st.stalled && f->st.new_gap_s > 0.0 && f->st.last_new_at > 0) {
        double limit = f->st.new_gap_s * dc->stall_factor;
        if (limit < (double)dc->stall_min_s)
            limit = (double)dc->stall_min_s;
        int64_t quiet = now - f->st.last_new_at;
        if ((double)quiet >= limit) {
            char q[32], g[32];
            life_span(quiet, q, sizeof(q));
            life_span((int64_t)(f->st.new_gap_s + 0.5), g, sizeof(g));
            life_raise(p, CONF_EVENT_FEED_STALLED, "no new item for %s (usually one every %s)", q,
                       g);
            f->st.stalled = true;
        }
    }
}

/* Sets the feed's new state from what the poll found (in memory; saved by store_poll). */
static void
poll_settle(struct feedpoll *p, int64_t now_ms)
{
    struct dctx *d = p->d;
    struct dfeed *f = p->f;
    bool failed = p->error != NULL;

    p->pn = (struct sched_poll){
        .failed = failed,
        .prev_ok = f->st.failures == 0 && f->st.last_error == NULL,
        .prev_poll_at = f->st.last_poll_at,
        .now_ms = now_ms,
    };
    struct sched_poll *pn = &p->pn;
    /* What `watch` shows and a poll may change (feed_event_due); the rest is compared below. */
    enum dfeed_state was_state = dfeed_state(f);
    unsigned was_failures = f->st.failures;
    bool was_recovered = f->st.recovered;
    p->seen_changed = !str_same(f->st.last_error, p->error);
    if (p->status == FETCH_HTTP_ERROR && (p->http_status == 429 || p->http_status == 503))
        pn->retry_after_at = p->retry_after_at;
    if (!failed && d->conf->daemon.respect_feed_hints) {
        pn->fresh_until_at = p->fresh_until_at;
        /* The document's own <ttl> / sy:updatePeriod: not polled again sooner than that. */
        if (p->doc && p->doc->refresh_s > 0) {
            int64_t doc_until = now_ms / 1000 + p->doc->refresh_s;
            if (doc_until > pn->fresh_until_at)
                pn->fresh_until_at = doc_until;
        }
    }
    f->st.last_poll_at = now_ms / 1000;
    f->st.last_status = (int)p->http_status;
    if (!failed) {
        char *was_error = f->st.last_error; /* the reason of feed-recovered */
        f->st.last_error = NULL;
        f->st.failures = 0;
        if (p->etag || p->last_modified || p->status == FETCH_OK) {
            (void)set_str(&f->st.etag, p->etag);
            (void)set_str(&f->st.last_modified, p->last_modified);
        }
        if (p->edits_deferred) {
            /* The next poll fetches the document whole, to compare the waiting edit. */
            (void)set_str(&f->st.etag, NULL);
            (void)set_str(&f->st.last_modified, NULL);
        }
        if (p->doc)
            f->st.recovered = p->doc->recovered;
        life_good_poll(p, now_ms / 1000, was_error);
        free(was_error);
        p->seen_changed |= f->st.failures != was_failures || f->st.recovered != was_recovered ||
                           dfeed_state(f) != was_state;
        life_finish(p);
        return;
    }
    long http_status = p->status == FETCH_HTTP_ERROR ? p->http_status : 0;
    f->st.failures = sched_failures_after(f->st.failures, http_status);
    (void)set_str(&f->st.last_error, p->error);
    unsigned max = d->conf->daemon.max_failures;
    char reason[256];
    switch (sched_disable_after(f->st.failures, max, http_status)) {
    case SCHED_DISABLE_GONE:
        snprintf(reason, sizeof(reason), "HTTP 410 Gone");
        pn->disabled = true;
        break;
    case SCHED_DISABLE_FAILURES:
        snprintf(reason, sizeof(reason), "%u consecutive failures (max_failures %u), last: %s",
                 f->st.failures, max, f->st.last_error ? f->st.last_error : "error");
        pn->disabled = true;
        break;
    case SCHED_KEEP:
        break;
    }
    if (pn->disabled) {
        (void)set_str(&f->st.disabled_reason, reason);
        life_raise(p, CONF_EVENT_FEED_DISABLED, "%s", reason);
        (void)set_str(&f->st.life, "disabled");
    } else if (!f->st.life && f->st.failures >= FEEDPOLL_FAILING_MIN) {
        (void)set_str(&f->st.life, "failing");
    }
    /* A failed poll breaks the run of polls that saw a permanent redirect. */
    (void)set_str(&f->st.move_url, NULL);
    f->st.move_seen = 0;
    life_finish(p);
    p->seen_changed |= f->st.failures != was_failures || dfeed_state(f) != was_state;
    content_items_done(p->news, p->n_news);
    p->n_news = 0;
    p->model_dirty = false;
}

/*
 * Settles the poll on the loop and copies what the writer thread needs: the next poll is
 * planned here from the number of new items (they were looked up before the content stage),
 * then the feed's state and name are copied. 0 or -ENOMEM.
 */
static int
poll_prepare(struct feedpoll *p, int64_t now_ms)
{
    struct dfeed *f = p->f;
    poll_settle(p, now_ms);
    plan_next(p->d, f, &p->pn, p->error ? 0 : p->n_news);
    p->st_gen = f->st_gen;
    if (store_feed_copy(&p->st, &f->st) < 0 || !(p->name = strdup(f->cfg->name)))
        return -ENOMEM;
    /* A cluster's due times are the database server's: this node's clock may be off. */
    if (p->d->clustered && p->d->clock_offset_s != 0) {
        if (p->st.last_poll_at != FEED_TIME_NONE)
            p->st.last_poll_at += p->d->clock_offset_s;
        if (p->st.next_poll_at != FEED_TIME_NONE)
            p->st.next_poll_at += p->d->clock_offset_s;
    }
    if (f->cfg->n_tags > 0 && !(p->tags = calloc(f->cfg->n_tags, sizeof(*p->tags))))
        return -ENOMEM;
    for (; p->n_tags < f->cfg->n_tags; p->n_tags++)
        if (!(p->tags[p->n_tags] = strdup(f->cfg->tags[p->n_tags])))
            return -ENOMEM;
    return 0;
}

/*
 * A poll that was not stored raised no feed event (its rows went with its transaction) and
 * must leave the feed's life as it found it, or the events would be lost for good: a move
 * applied with no feed-moved, a recovery or a stall never told. The next poll decides again.
 */
static void
life_restore(struct feedpoll *p)
{
    struct dfeed *f = p->f;
    const struct store_feed *b = &p->before;

    f->life_mem = p->life_mem;
    if (!p->before_ok)
        return; /* out of memory for the copy: the settled life stays */
    (void)set_str(&f->st.url, b->url);
    (void)set_str(&f->st.move_url, b->move_url);
    (void)set_str(&f->st.life, b->life);
    f->st.move_seen = b->move_seen;
    f->st.last_new_at = b->last_new_at;
    f->st.new_gap_s = b->new_gap_s;
    f->st.stalled = b->stalled;
    f->st.doc_items = b->doc_items;
}

/* After the batch's commit (r: the poll's own result, or the commit's): events and logs. */
static void
poll_finish(struct feedpoll *p, int r)
{
    struct dctx *d = p->d;
    struct dfeed *f = p->f;
    char qn[LOG_QUOTE_MAX], qe[LOG_QUOTE_MAX];
    const char *name = log_quote(f->cfg->name, qn, sizeof(qn));
    int64_t now_ms = p->pn.now_ms;
    struct sched_poll *pn = &p->pn;
    bool failed = p->error != NULL;
    uint64_t fresh = r == 0 ? p->fresh : 0;

    f->shown = NULL; /* the poll is stored (or failed to be): `feeds` shows it from now on */
    if (r < 0)
        life_restore(p);
    if (r < 0) {
        /*
         * The poll could not be saved (a full disk...): forget the validators it brought, or
         * the next poll would get 304 Not Modified and the items it did not store would be
         * lost for good. The next poll fetches the whole document again.
         */
        free(f->st.etag);
        free(f->st.last_modified);
        f->st.etag = f->st.last_modified = NULL;
    }
    if (r < 0 && !pn->disabled) {
        /* The poll could not be saved: back off rather than poll again at once. */
        struct sched_intervals iv = feed_intervals(d, f);
        pn->next_ms = sched_next_ms(&iv, f->st.item_rate, f->st.failures, true, now_ms,
                                    util_rng_next(&d->rng));
        f->st.next_poll_at = (pn->next_ms + 999) / 1000;
    }
    if (f->st_gen != p->st_gen && r != -ESTALE) {
        /*
         * A run-time command (pause, resume...) saved the feed after the poll settled it, with
         * what the poll brought: save the current state again (the validators forgotten above
         * when the poll could not be saved).
         */
        dfeed_save(d, f);
    }
    int64_t next_ms = pn->next_ms;
    f->next_poll_ms = next_ms;
    bool life_hooks = false;
    for (unsigned i = 0; i < p->n_life; i++)
        life_hooks |= p->life[i].n_hooks > 0;
    if (r == 0 &&
        (p->alerts.raised > 0 || p->alerts.updated > 0 || p->alerts.source_events > 0 ||
         life_hooks) &&
        d->hooks) /* a stop may close it */
        hook_kick(d->hooks);
    /* Edited items, in commit order with retention's forgets (search.h: search_reindex). */
    for (size_t i = 0; r == 0 && i < p->n_reindex; i++)
        if (search_reindex(d->search, p->reindex[i].item_id, p->reindex[i].title,
                           p->reindex[i].body) < 0)
            log_warn("search: feed '%s': item %" PRId64
                     " was edited and is not indexed again (out of memory): search finds it by"
                     " its old words",
                     name, p->reindex[i].item_id);
    if (r == 0 && (fresh > 0 || p->n_reindex > 0))
        search_kick(d->search);
    if (r == 0) {
        f->st.items += (int64_t)fresh; /* before the feed event, which shows them */
        poll_events(d, p, fresh);
    }
    if (r == -ESTALE) {
        /* A cluster: the lease ended and another node holds the feed now (cluster.h). */
        log_warn("cluster: feed '%s': this poll is not stored: %s", name,
                 p->store_error ? p->store_error : "its lease was taken over");
        failed = true;
    } else if (r < 0) {
        log_error("store: feed '%s': cannot save the poll: %s, will retry", name,
                  p->store_error ? p->store_error : "error");
        failed = true;
    } else if (pn->disabled) {
        log_notice("fetch: feed '%s': %s, feed disabled until `feedwatch resume`", name,
                   log_quote(f->st.disabled_reason, qe, sizeof(qe)));
    } else if (failed) {
        log_warn("fetch: feed '%s': %s, retrying in %" PRId64 "s", name,
                 log_quote(f->st.last_error, qe, sizeof(qe)), (next_ms - now_ms + 999) / 1000);
    } else if (p->status == FETCH_NOT_MODIFIED) {
        log_info("poll: feed '%s': not modified", name);
    } else {
        char how[16];
        if (p->http_status)
            snprintf(how, sizeof(how), "HTTP %ld", p->http_status);
        else
            snprintf(how, sizeof(how), "read");
        log_info("poll: feed '%s': %s, %zu items, %" PRIu64 " new%s", name, how, p->doc->n_items,
                 fresh, p->doc->recovered ? ", recovered from malformed XML" : "");
        if (r == 0 && (p->alerts.raised || p->alerts.attached))
            log_debug("poll: feed '%s': %u alerts, %u attached as sources, story lookups %" PRIu64
                      " steps",
                      name, p->alerts.raised, p->alerts.attached, p->alerts.story_steps);
    }
    enum poll_outcome outcome = failed                            ? POLL_FAILED
                                : p->status == FETCH_NOT_MODIFIED ? POLL_NOT_MODIFIED
                                                                  : POLL_OK;
    unsigned raised = r == 0 ? p->alerts.raised : 0;
    feedpoll_done_cb done = p->done;
    void *done_ctx = p->done_ctx;
    f->poll = NULL;
    feedpoll_free(p);
    done(done_ctx, f, outcome, fresh, raised);
}

/* Writer thread: the poll's part of the batch's transaction. */
static int
store_job_work(struct writer_job *job, struct store *store)
{
    struct feedpoll *p = (struct feedpoll *)((char *)job - offsetof(struct feedpoll, job));
    return store_poll(p, store, dctx_topics_alerting(p->pin), p->store_now);
}

/* Loop: the batch is committed (or not); the poll ends. */
static void
store_job_done(struct writer_job *job, int result)
{
    struct feedpoll *p = (struct feedpoll *)((char *)job - offsetof(struct feedpoll, job));
    /*
     * The pin keeps the config the poll began with alive until the poll is finished: a feed
     * a reload removed meanwhile still points into it (f->cfg), and poll_finish reads it. Let go
     * first, the last pin of a retired config freed it under poll_finish (ASan saw it).
     */
    struct topics_pin *pin = p->pin;
    p->pin = NULL;
    if (result < 0) {
        free(p->store_error);
        p->store_error = strdup(job->error);
    }
    poll_finish(p, result < 0 ? result : 0);
    dctx_topics_unpin(pin);
}

/* Starts polling f (f->poll is set); done(ctx) is told when it ends. */
int
feedpoll_start(struct dctx *d, struct dfeed *f, feedpoll_done_cb done, void *ctx)
{
    const struct conf_feed *c = f->cfg;
    struct feedpoll *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->d = d;
    p->f = f;
    p->done = done;
    p->done_ctx = ctx;
    char *password = NULL;
    if (c->user && c->password_file &&
        !(password = util_read_secret(c->password_file, FEEDPOLL_MAX_PASSWORD))) {
        char q[LOG_QUOTE_MAX];
        log_warn("poll: feed '%s': cannot read password_file, trying without",
                 log_quote(c->name, q, sizeof(q)));
    }
    struct fetch_req req = {
        .url = f->st.url ? f->st.url : c->url,
        .etag = f->st.etag,
        .last_modified = f->st.last_modified,
        .header = c->header,
        .user = c->user,
        .password = password,
        .max_size = d->conf->daemon.max_feed_size,
        /* The configured URL's host is the operator's choice; other hosts must be public. */
        .net = c->allow_private_addresses ? FETCH_NET_ANY : FETCH_NET_PUBLIC_OFF_HOST,
        .origin = c->url,
        .pausable = true, /* max_poll_memory */
    };
    f->poll = p;
    /* Downloading, the newest: after every poll that started before it. */
    p->fetching = true;
    p->fetch_prev = d->fetching_tail;
    if (d->fetching_tail)
        d->fetching_tail->fetch_next = p;
    else
        d->fetching_head = p;
    d->fetching_tail = p;
    mem_set(p, SCHED_MEM_POLL_BASE);
    p->xfer = fetch_start(d->fetcher, &req, on_fetch_data, on_fetch_done, p);
    int start_errno = errno;
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    if (!p->xfer) {
        int r = start_errno == EINVAL ? -EINVAL : -ENOMEM;
        f->poll = NULL;
        fetching_unlink(p);
        mem_set(p, 0);
        free(p);
        return r;
    }
    return 0;
}

/*
 * Aborts the poll. A transfer ends through the normal completion path before this returns;
 * work in the thread pool cannot be stopped midway, so a poll there ends when it returns.
 */
void
feedpoll_cancel(struct feedpoll *p)
{
    if (!p || p->cancelled)
        return;
    if (p->xfer) {
        fetch_cancel(p->xfer);
        return;
    }
    p->cancelled = true;
    if (p->in_work)
        (void)uv_cancel((uv_req_t *)&p->work);
    if (p->arts_pending == 0)
        return;
    /* Held while cancelling: the last download to end must not free p under this loop. */
    p->arts_pending++;
    articles_pump(p); /* drops the articles not started */
    for (size_t i = 0; i < p->n_arts; i++) {
        if (p->arts[i].xfer)
            fetch_cancel(p->arts[i].xfer);
        else if (p->arts[i].in_work)
            (void)uv_cancel((uv_req_t *)&p->arts[i].work);
    }
    article_settled(p);
}
