/*
 * test_writer.c — the store's single writer (daemon/writer.h) against a real database: jobs
 * run in order on a thread of their own, their done callbacks on the loop thread, a failing
 * job is undone alone, batches share a transaction, close drains, a full queue refuses.
 *
 * What is committed is read through a separate reader connection (WAL), as the daemon's loop
 * reads: a job's work looks through it to tell whether the jobs before it were committed.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "store.h"
#include "writer.h"

#define N_JOBS 32

struct fixture {
    char dir[64];
    char db[128];
    uv_loop_t loop;
    struct writer *w;
    struct store *reader; /* used by one thread at a time: the jobs' work, or the test */
};

struct tjob {
    struct writer_job job;
    struct fixture *fx;
    int index;
    int fail;           /* the work returns this after its write (0: it succeeds) */
    int seen_committed; /* feeds the reader saw committed when the work ran; -1: not read */
    pthread_t work_thread;
    pthread_t done_thread;
    int result;
    char error[WRITER_ERROR_MAX];
    bool done;
};

static int done_order[WRITER_QUEUE_MAX + 1];
static int n_done;

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    (void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_writer.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    (void)snprintf(fx->db, sizeof(fx->db), "%s/feedwatch.db", fx->dir);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    char *err = NULL;
    assert_int_equal(writer_open(&fx->loop, fx->db, &fx->w, &err), 0);
    assert_null(err);
    assert_int_equal(store_open_reader(fx->db, &fx->reader, &err), 0);
    n_done = 0;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    writer_close(fx->w);
    (void)uv_run(&fx->loop, UV_RUN_DEFAULT); /* runs the close */
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    store_free(fx->reader);
    writer_free(fx->w);
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[400];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        (void)snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(fx->dir), 0);
    free(fx);
    return 0;
}

static int
on_count(void *userdata, const struct store_feed *feed)
{
    (void)feed;
    (*(int *)userdata)++;
    return 0;
}

/* Feeds committed, as another connection sees them. */
static int
committed_feeds(struct store *reader)
{
    int n = 0;
    assert_int_equal(store_feed_list(reader, on_count, &n), 0);
    return n;
}

/* Writer thread: creates feed f<index>, notes what was committed before, maybe fails. */
static int
tjob_work(struct writer_job *job, struct store *store)
{
    struct tjob *t = (struct tjob *)job;
    t->work_thread = pthread_self();
    t->seen_committed = committed_feeds(t->fx->reader);
    char name[32];
    (void)snprintf(name, sizeof(name), "f%d", t->index);
    struct store_feed st = {0};
    int r = store_feed_ensure(store, name, "http://127.0.0.1/feed", &st);
    store_feed_done(&st);
    if (r < 0)
        return r;
    return t->fail ? t->fail : t->index;
}

static void
tjob_done(struct writer_job *job, int result)
{
    struct tjob *t = (struct tjob *)job;
    t->done_thread = pthread_self();
    t->result = result;
    memcpy(t->error, job->error, sizeof(t->error));
    t->done = true;
    done_order[n_done++] = t->index;
}

static void
tjob_init(struct tjob *t, struct fixture *fx, int index, enum writer_mode mode)
{
    *t = (struct tjob){.fx = fx, .index = index, .seen_committed = -1};
    t->job.work = tjob_work;
    t->job.done = tjob_done;
    t->job.mode = mode;
}

/* Runs the loop until n done callbacks ran (bounded: a hang is a failure, not a wait). */
static void
run_until(struct fixture *fx, int n)
{
    for (int i = 0; i < 20000 && n_done < n; i++) {
        (void)uv_run(&fx->loop, UV_RUN_NOWAIT);
        if (n_done < n)
            usleep(1000);
    }
    assert_int_equal(n_done, n);
}

struct find {
    char name[32];
    bool found;
};

static int
on_find(void *userdata, const struct store_feed *feed)
{
    struct find *c = userdata;
    if (strcmp(feed->name, c->name) == 0)
        c->found = true;
    return 0;
}

/* Whether feed f<index> is committed. */
static bool
feed_exists(struct fixture *fx, int index)
{
    struct find c = {.found = false};
    (void)snprintf(c.name, sizeof(c.name), "f%d", index);
    assert_int_equal(store_feed_list(fx->reader, on_find, &c), 0);
    return c.found;
}

/* FIFO: jobs run one after another in submission order, each committed before the next. */
static void
test_writer_order_and_threads(void **state)
{
    struct fixture *fx = *state;
    static struct tjob jobs[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) {
        tjob_init(&jobs[i], fx, i, WRITER_TXN);
        assert_int_equal(writer_submit(fx->w, &jobs[i].job), 0);
    }
    assert_int_equal(writer_queued(fx->w), N_JOBS);
    run_until(fx, N_JOBS);
    assert_int_equal(writer_queued(fx->w), 0);
    pthread_t self = pthread_self();
    for (int i = 0; i < N_JOBS; i++) {
        assert_int_equal(done_order[i], i);
        assert_int_equal(jobs[i].result, i);
        assert_string_equal(jobs[i].error, "");
        /* Each job of its own transaction: the ones before it were committed. */
        assert_int_equal(jobs[i].seen_committed, i);
        assert_true(pthread_equal(jobs[i].done_thread, self));
        assert_false(pthread_equal(jobs[i].work_thread, self));
        assert_true(pthread_equal(jobs[i].work_thread, jobs[0].work_thread));
    }
    assert_int_equal(committed_feeds(fx->reader), N_JOBS);
}

/* A failing job reports its error, its writes are undone, and the next job still runs. */
static void
test_writer_failing_job(void **state)
{
    struct fixture *fx = *state;
    static struct tjob jobs[3];
    for (int i = 0; i < 3; i++) {
        tjob_init(&jobs[i], fx, i, WRITER_TXN);
        if (i == 1)
            jobs[i].fail = -EIO;
        assert_int_equal(writer_submit(fx->w, &jobs[i].job), 0);
    }
    run_until(fx, 3);
    assert_int_equal(jobs[0].result, 0);
    assert_int_equal(jobs[1].result, -EIO);
    assert_int_equal(jobs[2].result, 2);
    assert_true(feed_exists(fx, 0));
    assert_false(feed_exists(fx, 1)); /* rolled back */
    assert_true(feed_exists(fx, 2));
}

/*
 * A gate: a job that holds the writer thread until the test opens it, so that the jobs
 * submitted meanwhile are all queued when the thread comes back (no timing involved).
 */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_entered;

static int
gate_work(struct writer_job *job, struct store *store)
{
    (void)job;
    (void)store;
    pthread_mutex_lock(&gate_lock);
    gate_entered = true;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return 0;
}

static void
gate_done(struct writer_job *job, int result)
{
    (void)job;
    assert_int_equal(result, 0);
    done_order[n_done++] = -1;
}

static struct writer_job gate_job;

static void
gate_close(struct fixture *fx)
{
    gate_open = gate_entered = false;
    gate_job = (struct writer_job){.work = gate_work, .done = gate_done, .mode = WRITER_OWN};
    assert_int_equal(writer_submit(fx->w, &gate_job), 0);
}

static void
gate_release(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* Waits until the writer thread is in the gate's work. */
static void
gate_wait_entered(void)
{
    pthread_mutex_lock(&gate_lock);
    while (!gate_entered)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

/*
 * writer_submit_first: a job queued first runs before every job not started yet (a cluster's
 * beat before a backlog of saves), after the one running.
 */
static void
test_writer_submit_first(void **state)
{
    struct fixture *fx = *state;
    static struct tjob jobs[5];
    gate_close(fx);
    gate_wait_entered();
    for (int i = 0; i < 5; i++) {
        tjob_init(&jobs[i], fx, i, WRITER_TXN);
        assert_int_equal((i == 4 ? writer_submit_first : writer_submit)(fx->w, &jobs[i].job), 0);
    }
    gate_release();
    run_until(fx, 6);
    int want[] = {-1, 4, 0, 1, 2, 3};
    for (int i = 0; i < 6; i++)
        assert_int_equal(done_order[i], want[i]);
    assert_int_equal(jobs[4].seen_committed, 0);
}

/* WRITER_BATCH jobs queued together commit in one transaction; a failing one alone undone. */
static void
test_writer_batch_one_transaction(void **state)
{
    struct fixture *fx = *state;
    static struct tjob jobs[8];
    gate_close(fx);
    for (int i = 0; i < 8; i++) {
        tjob_init(&jobs[i], fx, i, WRITER_BATCH);
        if (i == 5)
            jobs[i].fail = -EINVAL;
        assert_int_equal(writer_submit(fx->w, &jobs[i].job), 0);
    }
    gate_release();
    run_until(fx, 9);
    assert_int_equal(done_order[0], -1);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(done_order[i + 1], i);
        /* Nothing of the batch was committed while its jobs ran: one transaction. */
        assert_int_equal(jobs[i].seen_committed, 0);
        assert_int_equal(jobs[i].result, i == 5 ? -EINVAL : i);
        assert_int_equal(feed_exists(fx, i), i != 5);
    }
    assert_int_equal(committed_feeds(fx->reader), 7);

    /* A transaction job between batch jobs splits them: the later batch sees the first. */
    static struct tjob more[3];
    tjob_init(&more[0], fx, 10, WRITER_BATCH);
    tjob_init(&more[1], fx, 11, WRITER_TXN);
    tjob_init(&more[2], fx, 12, WRITER_BATCH);
    gate_close(fx);
    for (int i = 0; i < 3; i++)
        assert_int_equal(writer_submit(fx->w, &more[i].job), 0);
    gate_release();
    run_until(fx, 13);
    assert_int_equal(more[0].seen_committed, 7);
    assert_int_equal(more[1].seen_committed, 8);
    assert_int_equal(more[2].seen_committed, 9);
}

/* writer_close runs every queued job and its done callback before it returns. */
static void
test_writer_close_drains(void **state)
{
    struct fixture *fx = *state;
    static struct tjob jobs[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) {
        tjob_init(&jobs[i], fx, i, i % 3 == 0 ? WRITER_TXN : WRITER_BATCH);
        assert_int_equal(writer_submit(fx->w, &jobs[i].job), 0);
    }
    writer_close(fx->w); /* the loop never ran */
    assert_int_equal(n_done, N_JOBS);
    for (int i = 0; i < N_JOBS; i++) {
        assert_int_equal(done_order[i], i);
        assert_true(pthread_equal(jobs[i].done_thread, pthread_self()));
    }
    assert_int_equal(committed_feeds(fx->reader), N_JOBS);
    static struct tjob late;
    tjob_init(&late, fx, 99, WRITER_TXN);
    assert_int_equal(writer_submit(fx->w, &late.job), -ESHUTDOWN);
}

/* A done callback that submits another job during close: that one is drained too. */
static struct tjob chained;

static void
tjob_done_chain(struct writer_job *job, int result)
{
    struct tjob *t = (struct tjob *)job;
    tjob_done(job, result);
    tjob_init(&chained, t->fx, 77, WRITER_TXN);
    assert_int_equal(writer_submit(t->fx->w, &chained.job), 0);
}

static void
test_writer_close_drains_chained(void **state)
{
    struct fixture *fx = *state;
    static struct tjob first;
    tjob_init(&first, fx, 1, WRITER_TXN);
    first.job.done = tjob_done_chain;
    assert_int_equal(writer_submit(fx->w, &first.job), 0);
    writer_close(fx->w);
    assert_int_equal(n_done, 2);
    assert_true(chained.done);
    assert_true(feed_exists(fx, 77));
}

/* writer_call waits for its job, after running the done callbacks of the jobs before it. */
static void
test_writer_call(void **state)
{
    struct fixture *fx = *state;
    static struct tjob jobs[4];
    for (int i = 0; i < 3; i++) {
        tjob_init(&jobs[i], fx, i, WRITER_BATCH);
        assert_int_equal(writer_submit(fx->w, &jobs[i].job), 0);
    }
    tjob_init(&jobs[3], fx, 3, WRITER_TXN);
    assert_int_equal(writer_call(fx->w, &jobs[3].job), 3);
    assert_int_equal(n_done, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(done_order[i], i);
    assert_int_equal(writer_queued(fx->w), 0);
}

static int
noop_work(struct writer_job *job, struct store *store)
{
    (void)job;
    (void)store;
    return 0;
}

static void
noop_done(struct writer_job *job, int result)
{
    (void)job;
    assert_int_equal(result, 0);
    done_order[n_done++] = 0;
}

/* The queue is bounded: beyond WRITER_QUEUE_MAX jobs not done, a submission is refused. */
static void
test_writer_queue_full(void **state)
{
    struct fixture *fx = *state;
    struct writer_job *jobs = calloc(WRITER_QUEUE_MAX + 1, sizeof(*jobs));
    assert_non_null(jobs);
    for (int i = 0; i <= WRITER_QUEUE_MAX; i++)
        jobs[i] = (struct writer_job){.work = noop_work, .done = noop_done, .mode = WRITER_OWN};
    for (int i = 0; i < WRITER_QUEUE_MAX; i++)
        assert_int_equal(writer_submit(fx->w, &jobs[i]), 0);
    /* Done callbacks run on the loop only: the queue stays full until the loop runs them. */
    assert_int_equal(writer_submit(fx->w, &jobs[WRITER_QUEUE_MAX]), -EAGAIN);
    run_until(fx, WRITER_QUEUE_MAX);
    assert_int_equal(writer_submit(fx->w, &jobs[WRITER_QUEUE_MAX]), 0);
    run_until(fx, WRITER_QUEUE_MAX + 1);
    free(jobs);
}

/* The loop is never held by a write: a job waiting on a lock another connection holds. */
static void
test_writer_loop_free_while_locked(void **state)
{
    struct fixture *fx = *state;
    struct store *other = NULL;
    char *err = NULL;
    assert_int_equal(store_open(fx->db, &other, &err), 0);
    assert_int_equal(store_begin(other), 0);
    struct store_feed st = {0};
    assert_int_equal(store_feed_ensure(other, "held", "http://127.0.0.1/h", &st), 0);
    store_feed_done(&st);
    /* The write lock is held: the job waits in the writer thread (busy timeout). */
    static struct tjob job;
    tjob_init(&job, fx, 5, WRITER_TXN);
    assert_int_equal(writer_submit(fx->w, &job.job), 0);
    for (int i = 0; i < 100; i++) {
        (void)uv_run(&fx->loop, UV_RUN_NOWAIT); /* returns at once: nothing blocks the loop */
        usleep(2000);
    }
    assert_false(job.done);
    assert_int_equal(store_commit(other), 0);
    store_free(other);
    run_until(fx, 1);
    assert_int_equal(job.result, 5);
    assert_true(feed_exists(fx, 5));
}

#define WT(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        WT(test_writer_order_and_threads),
        WT(test_writer_failing_job),
        WT(test_writer_batch_one_transaction),
        WT(test_writer_submit_first),
        WT(test_writer_close_drains),
        WT(test_writer_close_drains_chained),
        WT(test_writer_call),
        WT(test_writer_queue_full),
        WT(test_writer_loop_free_while_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
