/*
 * writer.h — the store's single writer: one connection, its queue and its batching, on a
 * thread of its own.
 *
 * Every write of the daemon is a job handed to writer_submit() on the loop thread. Jobs run
 * one at a time on the writer's thread, in the order they were submitted (FIFO), each through
 * the writer's connection; the job's done callback then runs on the loop thread (a uv_async_t
 * wakes it), in the same order, with the job's result. The loop never waits for a write and
 * never holds SQLite's write lock: its own connection reads (WAL), and sees a job's writes
 * from the job's done callback on.
 *
 * Transactions are the writer's (enum writer_mode): a WRITER_TXN job runs in a transaction of
 * its own; WRITER_BATCH jobs queued next to each other (finished polls) share one, each in a
 * part (savepoint) of its own, so a job whose work fails is undone alone and the others
 * commit; a batch waits up to WRITER_BATCH_DELAY_MS after its first job for others to join
 * it, at most WRITER_BATCH_MAX jobs; a WRITER_OWN job manages its transactions itself.
 *
 * The queue holds at most WRITER_QUEUE_MAX jobs: beyond that writer_submit() refuses with
 * -EAGAIN and queues nothing, so the caller reports the write as failed (a poll is retried
 * with backoff, a delivery stays due, a command answers an error). The bound is above what
 * feeds the queue: each poll holds a poll slot until its done callback ran (at most 20,000
 * slots), each hook run two states (max_hooks <= 256), each control connection one command,
 * retention one batch.
 *
 * Loop thread only, but for the jobs' work functions (writer thread).
 */
#ifndef FEEDWATCH_WRITER_H
#define FEEDWATCH_WRITER_H

#include <stdint.h>
#include <uv.h>

#define WRITER_QUEUE_MAX 32768   /* jobs queued and not done at most */
#define WRITER_BATCH_MAX 64      /* WRITER_BATCH jobs in one transaction at most */
#define WRITER_BATCH_DELAY_MS 20 /* how long a batch's first job waits for others */
#define WRITER_ERROR_MAX 512     /* bytes of a job's error message */

struct store;
struct writer;
struct writer_job;

enum writer_mode {
    WRITER_TXN,   /* one transaction of its own */
    WRITER_BATCH, /* a part of a transaction shared with the batch jobs next to it */
    WRITER_OWN,   /* no transaction from the writer: the work begins and ends its own */
};

/*
 * Writer thread: writes through store; 0 (or a count) on success, a negative errno on
 * failure (the writer then undoes the job's part or transaction and keeps the message).
 */
typedef int (*writer_work_fn)(struct writer_job *job, struct store *store);

/*
 * Loop thread: the job's writes are committed (result >= 0, the work's result) or not
 * (negative errno; job->error says why). The job is the caller's again: it may be freed here.
 */
typedef void (*writer_done_fn)(struct writer_job *job, int result);

/* Embedded in the caller's own struct; the caller fills work, done and mode. */
struct writer_job {
    writer_work_fn work;
    writer_done_fn done;
    enum writer_mode mode;
    /* The writer's: */
    struct writer_job *next;
    int64_t queued_ms; /* monotonic, when submitted */
    int result;
    char error[WRITER_ERROR_MAX]; /* the store's message when result < 0, else "" */
};

/*
 * Opens the writer connection to the database at path (creating and migrating it: the
 * store's open) and starts the thread; done callbacks run on loop. 0, or a negative errno
 * with *reterr_msg (malloc'd).
 */
int writer_open(uv_loop_t *loop, const char *path, struct writer **ret_writer, char **reterr_msg);

/*
 * Queues job (FIFO). 0; -EAGAIN when the queue is full, -ESHUTDOWN after writer_close(): the
 * job was not queued and its done callback will not run.
 */
int writer_submit(struct writer *w, struct writer_job *job);

/*
 * Queues job before every job not started yet (a cluster's beat, whose lease renewals must
 * not wait behind a backlog of poll saves); otherwise as writer_submit.
 */
int writer_submit_first(struct writer *w, struct writer_job *job);

/*
 * Runs job and waits for it (the jobs queued before it first), then runs its done callback on
 * the calling thread before returning its result. Blocks: for start-up only, before the loop
 * runs (hook_new, the feeds' rows); once the loop runs every write is writer_submit's.
 */
int writer_call(struct writer *w, struct writer_job *job);

/* Jobs submitted and not done yet (their done callback has not run). */
unsigned writer_queued(const struct writer *w);

/*
 * Drains the queue (jobs that done callbacks submit meanwhile too), running every done
 * callback on the calling (loop) thread, then joins the thread and closes the wake-up
 * handle; later submissions fail with -ESHUTDOWN. Accepts NULL.
 */
void writer_close(struct writer *w);

/* Closes the connection and frees w (after writer_close and after the loop ended). */
void writer_free(struct writer *w);

#endif
