/*
 * dfeed.h — a feed at run time (struct dfeed, prefix dfeed_): its settings (the config's, or
 * the owned ones of a feed added with `feedwatch add`), its persisted state, its place on the
 * schedule and in the ready queue (feedtable.h), its poll in flight and who waits for it;
 * the state a user sees; and the writes of its row, all through the store's writer
 * (writer.h): a save of its state, the load of its row (created when new), the run-time
 * marker, and the jobs of the run-time changes (feedtable.c finishes them).
 *
 * The feed table (feedtable.h) owns every struct dfeed; a poll (feedpoll.h) borrows one.
 * Loop thread only (writer jobs copy what they need and hand it back in their done callbacks).
 */
#ifndef FEEDWATCH_DFEED_H
#define FEEDWATCH_DFEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "scheduler.h"
#include "store.h"
#include "writer.h"

struct dctx;
struct dfeed_rows;
struct feedpoll;
struct feedtable;

enum poll_outcome {
    POLL_OK,           /* fetched (200 or a file) and stored */
    POLL_NOT_MODIFIED, /* 304: state saved, nothing parsed */
    POLL_FAILED,       /* failure saved in the feed's state; backoff scheduled */
    POLL_ABORTED,      /* cancelled (reload, removal, shutdown): nothing saved */
};

/* Told that a poll asked for with feedtable_poll_now has ended (ctx is the caller's). */
typedef void (*dfeed_poll_done_cb)(void *ctx, enum poll_outcome outcome, uint64_t new_items,
                                   uint64_t new_alerts);

/* Someone waiting for a feed's current poll to end (`poll --wait`). */
struct dfeed_waiter {
    dfeed_poll_done_cb cb;
    void *ctx;
};

/* A configured feed at run time. */
/*
 * What feed events remember beyond st, for this run only (a restart forgets it): when the
 * last feed-ids-changed and feed-purged were raised (each at most once in a while), and
 * whether the last document was a purge's first (a purge is told when the next one shows it
 * too, so that one short document among long ones is no purge).
 */
struct dfeed_life_mem {
    int64_t ids_changed_at;
    int64_t purged_at;
    bool purge_pending;
    int64_t purge_items; /* the items of that first short document */
};

struct dfeed {
    const struct conf_feed *cfg; /* points into the config (re-pointed on reload), or runtime_cfg */
    struct conf_feed *runtime_cfg; /* owned settings of a feed added at run time; NULL else */
    bool runtime_interval;         /* runtime_cfg's interval was given to `add`: reloads keep it */
    struct store_feed st;          /* persisted state, saved after every poll */
    /*
     * What `feeds` shows of st: NULL (st itself), or, while a settled poll's writes wait for
     * the store's writer, the poll's copy of st from before it settled (feedpoll.c), so that
     * a poll's outcome shows with its items, once they are stored. See dfeed_shown().
     */
    const struct store_feed *shown;
    struct sched_entry sched;
    struct feedpoll *poll;        /* the poll in flight, or NULL */
    struct dfeed_waiter *waiters; /* told when the current poll ends */
    size_t n_waiters;
    bool removed;         /* dropped (config or `remove`) while a poll was in flight */
    bool kept;            /* scratch of a reload: still in the new config */
    int64_t next_poll_ms; /* the last poll's next poll to the ms (the row keeps seconds) */
    bool ready;           /* due, waiting in the ready queue for a free poll slot */
    uint64_t poll_bytes;  /* body bytes the poll in flight received (metrics) */
    int64_t poll_lag_ms;  /* how late it started after it was due; -1: not known */
    uint64_t st_gen;      /* bumped when the loop changes st outside a poll */
    int64_t told_wait_ms; /* the wait to the next poll of its last poll's feed event; 0: none */
    struct dfeed_life_mem life_mem; /* feed events' memory not saved with the poll (feedpoll.c) */
    int64_t edit_cursor; /* the last item compared by a poll that compared not all (feedpoll.c) */
    struct dfeed *ready_prev, *ready_next;
};

enum dfeed_state {
    DFEED_OK,
    DFEED_FAILING,
    DFEED_DISABLED,
    DFEED_PAUSED,
};

/* The state a user sees (paused and disabled win over failing), and its JSON name. */
enum dfeed_state dfeed_state(const struct dfeed *f);
const char *dfeed_state_name(enum dfeed_state s);

/* The feed's state as the control socket shows it (f->shown, else f->st), and its state. */
const struct store_feed *dfeed_shown(const struct dfeed *f);
enum dfeed_state dfeed_state_shown(const struct dfeed *f);

/* Whether f is polled: ok or failing. */
bool dfeed_pollable(const struct dfeed *f);

/* The options of `feedwatch add` (the socket's interval, tags and fetch_article). */
struct dfeed_opts {
    uint64_t interval_s; /* seconds, >= 1; 0: the daemon's interval (also after reloads) */
    char **tags;         /* each as a config tag (feed_tag_valid), at most FEED_TAGS_MAX */
    size_t n_tags;
    bool fetch_article;
};

/* Checks the options of `add`; 0, or -EINVAL with *reterr_msg (malloc'd, may be NULL). */
int dfeed_opts_check(const struct dfeed_opts *o, char **reterr_msg);

/* The options of `add` as stored (runtime_opts), or NULL when out of memory. */
char *dfeed_opts_json(const struct dfeed_opts *o);

/*
 * Reads stored options (NULL text: none). 0, -ENOMEM, or -EINVAL when the text is not what
 * dfeed_opts_json wrote (a hand-edited database): *o is then zeroed (the defaults).
 */
int dfeed_opts_parse(const char *text, struct dfeed_opts *o);

/* Frees the tags of options read by dfeed_opts_parse. */
void dfeed_opts_done(struct dfeed_opts *o);

/* Frees the owned settings of a run-time feed; accepts NULL. */
void dfeed_cfg_free(struct conf_feed *c);

/*
 * Creates the run-time feed for cfg with its row: taken from rows (a reload: loaded by the
 * writer beforehand, dfeed_rows_*), or, when rows is NULL, loaded (or created) now, waiting
 * for the writer (at start, before the loop runs). err gets why not.
 */
int dfeed_new(struct dctx *d, const struct conf_feed *cfg, struct dfeed_rows *rows,
              struct dfeed **ret, char *err, size_t err_size);

/*
 * Creates the run-time feed of a feed added with `feedwatch add` (opts may be NULL), with its
 * row loaded when load (at start), else with none (`add`: its row is written by the writer).
 */
int dfeed_new_runtime(struct dctx *d, const char *name, const char *url,
                      const struct dfeed_opts *opts, bool load, struct dfeed **ret);

/* Frees f (no poll in flight); its waiters are told POLL_ABORTED. Accepts NULL. */
void dfeed_free(struct dfeed *f);

/*
 * Run-time changes tell their caller once: 0 and the feed (NULL for remove) once the change
 * is stored, or a negative errno and the message for the user (NULL when out of memory).
 */
typedef void (*dfeed_change_cb)(void *ctx, int r, struct dfeed *f, const char *err);

/*
 * A feed row written through the writer (run-time changes, saves outside a poll). The feed
 * is found again by name when it is done: it may have been removed or reloaded meanwhile.
 */
enum dfeed_write_kind {
    DFEED_WRITE_SAVE,    /* st, as copied */
    DFEED_WRITE_RUNTIME, /* the run-time marker: url (NULL: a config feed) and removed */
    DFEED_WRITE_ADD,     /* the row of `add`, created or taken over, with its marker */
    DFEED_WRITE_LOAD,    /* the row of a feed loaded (created if new); a config feed's unmarked */
};

struct dfeed_write {
    struct writer_job job;
    struct dctx *d;
    enum dfeed_write_kind kind;
    char *name;
    char *url;
    char *opts_json;
    bool removed;
    int64_t id;
    struct store_feed st;    /* SAVE: to write; ADD: the row as stored */
    struct dfeed *f;         /* ADD: the feed to insert once stored */
    struct feedtable *table; /* the table whose change it is (feedtable.c); NULL else */
    bool config_feed;        /* LOAD: clear the run-time marker */
    /* pause, resume: undone when the store refuses them and nothing changed since */
    uint64_t gen;
    bool was_paused;
    unsigned was_failures;
    char *was_reason;
    void (*finish)(struct dfeed_write *fw, int r);
    dfeed_change_cb cb;
    void *ctx;
    /* LOAD: where the row and the error go (writer_call) */
    struct store_feed *out;
    char *out_err;
    size_t out_err_size;
};

/*
 * A row write of the feed called name, to be finished by finish(fw, r) on the loop once the
 * writer is done (fw is freed after it); NULL when out of memory.
 */
struct dfeed_write *dfeed_write_new(struct dctx *d, enum dfeed_write_kind kind, const char *name,
                                    void (*finish)(struct dfeed_write *, int), dfeed_change_cb cb,
                                    void *ctx);

/* Queues fw in the writer; on failure frees it and returns the message for the user. */
int dfeed_write_submit(struct dfeed_write *fw, const char *what, char **reterr_msg);

void dfeed_write_free(struct dfeed_write *fw);

/* Saves a copy of f's state as it is now through the writer; an error is logged. */
void dfeed_save(struct dctx *d, struct dfeed *f);

/*
 * Loads the row of the feed called name (creating it if new; a config feed loses its run-time
 * marker) into *ret, waiting for the writer (writer_call): at start only, before the loop
 * runs, when nothing else waits for the loop. 0, or a negative errno with err saying why.
 */
int dfeed_row_load(struct dctx *d, const char *name, const char *url, bool config_feed,
                   struct store_feed *ret, char *err, size_t err_size);

/*
 * The rows a reload needs before it applies: those of the feeds it brings and of the feeds
 * whose URL changed, each loaded as dfeed_row_load does, all by one writer job, so that the
 * loop goes on meanwhile. dfeed_rows_submit queues the job (0, or -EAGAIN / -ESHUTDOWN: not
 * queued, done will not run); done(ctx, rows, r, err) then runs on the loop with r < 0 and
 * err when the store refused (nothing of the job was written). The caller owns rows and frees
 * it (dfeed_rows_free) after done, or after a failed submit.
 */
typedef void (*dfeed_rows_done_cb)(void *ctx, struct dfeed_rows *rows, int r, const char *err);
struct dfeed_rows *dfeed_rows_new(struct dctx *d, dfeed_rows_done_cb done, void *ctx);
int dfeed_rows_add(struct dfeed_rows *rows, const char *name, const char *url, bool config_feed);
size_t dfeed_rows_count(const struct dfeed_rows *rows);
int dfeed_rows_submit(struct dfeed_rows *rows);
/* Moves the row loaded for name into *ret (the caller's to free); false when none was. */
bool dfeed_rows_take(struct dfeed_rows *rows, const char *name, struct store_feed *ret);
void dfeed_rows_free(struct dfeed_rows *rows);

/* Clears the run-time marker of f's row (a reload's config names it now); errors are logged. */
void dfeed_marker_clear(struct dctx *d, struct dfeed *f);

#endif
