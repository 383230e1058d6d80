/*
 * writer.c — the store's single writer thread (writer.h).
 *
 * The queue is a singly linked FIFO under one mutex. The thread takes the job at its head
 * (or the run of WRITER_BATCH jobs there), runs it outside the lock, and moves it to the done
 * list, which the loop empties from the uv_async_t callback in the same order. The loop never
 * takes the lock for longer than a list splice.
 */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

struct writer {
    uv_loop_t *loop;
    uv_async_t async;    /* wakes the loop for done callbacks */
    struct store *store; /* the writer thread's alone while it runs */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* the thread: a job was queued, or stop */
    pthread_cond_t done_cond; /* writer_call and writer_close: a job finished */
    /* Under lock: */
    struct writer_job *head, *tail;           /* queued, not started */
    struct writer_job *done_head, *done_tail; /* finished, done callback not run yet */
    bool busy;                                /* the thread is running jobs taken off the queue */
    bool flush;                               /* closing: batches do not wait for others */
    bool stop;                                /* the thread ends once the queue is empty */
    /* Loop thread's: */
    unsigned n_jobs; /* submitted, done callback not run yet */
    bool closed;     /* writer_close ran: nothing more is accepted */
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
job_fail(struct writer_job *job, struct store *store, int r)
{
    job->result = r;
    (void)snprintf(job->error, sizeof(job->error), "%s",
                   r == -ENOMEM ? "out of memory" : store_errmsg(store));
}

/* Writer thread: one job in a transaction of its own, or in none (WRITER_OWN). */
static void
run_one(struct store *store, struct writer_job *job)
{
    int r;
    if (job->mode == WRITER_OWN) {
        r = job->work(job, store);
        if (r < 0)
            job_fail(job, store, r);
        else
            job->result = r;
        return;
    }
    r = store_begin(store);
    if (r < 0) {
        job_fail(job, store, r);
        return;
    }
    r = job->work(job, store);
    if (r < 0) {
        job_fail(job, store, r);
        store_rollback(store);
        return;
    }
    job->result = r;
    if ((r = store_commit(store)) < 0) {
        job_fail(job, store, r);
        store_rollback(store);
    }
}

/* Writer thread: a run of WRITER_BATCH jobs in one transaction, each a part of its own. */
static void
run_batch(struct store *store, struct writer_job *batch)
{
    int r = store_begin(store);
    for (struct writer_job *job = batch; job; job = job->next) {
        if (r < 0) {
            job_fail(job, store, r);
            continue;
        }
        int jr = store_part_begin(store);
        if (jr == 0 && (jr = job->work(job, store)) >= 0) {
            job->result = jr;
            jr = store_part_end(store);
        }
        if (jr < 0) {
            job_fail(job, store, jr);
            store_part_rollback(store);
        }
    }
    if (r == 0 && (r = store_commit(store)) < 0) {
        /* Nothing of the batch was kept: every job of it failed. */
        for (struct writer_job *job = batch; job; job = job->next)
            if (job->result >= 0)
                job_fail(job, store, r);
        store_rollback(store);
    }
}

/* Under lock: the number of WRITER_BATCH jobs at the head (at most WRITER_BATCH_MAX). */
static unsigned
batch_len(const struct writer *w, bool *ret_more)
{
    unsigned n = 0;
    const struct writer_job *job = w->head;
    for (; job && job->mode == WRITER_BATCH && n < WRITER_BATCH_MAX; job = job->next)
        n++;
    *ret_more = job != NULL; /* something is queued behind the batch */
    return n;
}

/* Under lock: waits until a batch at the head is full, has waited its delay, or must go. */
static void
batch_wait(struct writer *w)
{
    while (!w->flush && w->head && w->head->mode == WRITER_BATCH) {
        bool more;
        unsigned n = batch_len(w, &more);
        int64_t deadline = w->head->queued_ms + WRITER_BATCH_DELAY_MS;
        if (n >= WRITER_BATCH_MAX || more || mono_ms() >= deadline)
            return;
        struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = deadline % 1000 * 1000000};
        (void)pthread_cond_timedwait(&w->work_cond, &w->lock, &ts);
    }
}

static void *
writer_thread(void *arg)
{
    struct writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->work_cond, &w->lock);
        if (!w->head)
            break; /* stop, and nothing left */
        batch_wait(w);
        struct writer_job *first = w->head, *last = first;
        if (first->mode == WRITER_BATCH) {
            bool more;
            unsigned n = batch_len(w, &more);
            while (--n > 0)
                last = last->next;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        w->busy = true;
        pthread_mutex_unlock(&w->lock);

        if (first->mode == WRITER_BATCH)
            run_batch(w->store, first);
        else
            run_one(w->store, first);

        pthread_mutex_lock(&w->lock);
        if (w->done_tail)
            w->done_tail->next = first;
        else
            w->done_head = first;
        w->done_tail = last;
        w->busy = false;
        pthread_cond_broadcast(&w->done_cond);
        (void)uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Loop thread: runs the done callbacks of the finished jobs, in order. */
static void
run_done(struct writer *w)
{
    pthread_mutex_lock(&w->lock);
    struct writer_job *job = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    while (job) {
        struct writer_job *next = job->next;
        job->next = NULL;
        w->n_jobs--;
        job->done(job, job->result); /* may free job */
        job = next;
    }
}

static void
on_async(uv_async_t *a)
{
    run_done(a->data);
}

static void
on_async_closed_free(uv_handle_t *h)
{
    writer_free(h->data);
}

int
writer_open(uv_loop_t *loop, const char *path, struct writer **ret_writer, char **reterr_msg)
{
    struct writer *w = calloc(1, sizeof(*w));
    if (!w) {
        if (reterr_msg)
            *reterr_msg = strdup("cannot start the store's writer: out of memory");
        return -ENOMEM;
    }
    w->loop = loop;
    int r = store_open(path, &w->store, reterr_msg);
    if (r < 0) {
        free(w);
        return r;
    }
    pthread_condattr_t ca;
    bool cond_ok = false;
    if (pthread_condattr_init(&ca) == 0) {
        cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&w->work_cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!cond_ok) {
        store_free(w->store);
        free(w);
        if (reterr_msg)
            *reterr_msg = strdup("cannot start the store's writer: no condition variable");
        return -ENOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->done_cond, NULL);
    r = uv_async_init(loop, &w->async, on_async);
    if (r == 0) {
        w->async.data = w;
        r = -pthread_create(&w->thread, NULL, writer_thread, w);
        if (r < 0) {
            /* w is freed by the close callback, once the loop runs it. */
            uv_close((uv_handle_t *)&w->async, on_async_closed_free);
            w = NULL;
        }
    }
    if (r < 0) {
        if (reterr_msg &&
            asprintf(reterr_msg, "cannot start the store's writer: %s", strerror(-r)) < 0)
            *reterr_msg = NULL;
        if (w)
            writer_free(w);
        return r;
    }
    w->thread_started = true;
    *ret_writer = w;
    return 0;
}

/* Queues job at the tail, or at the head (first: before every job not started yet). */
static int
submit(struct writer *w, struct writer_job *job, bool first)
{
    if (!w || w->closed)
        return -ESHUTDOWN;
    if (w->n_jobs >= WRITER_QUEUE_MAX)
        return -EAGAIN;
    job->next = NULL;
    job->result = 0;
    job->error[0] = '\0';
    job->queued_ms = mono_ms();
    w->n_jobs++;
    pthread_mutex_lock(&w->lock);
    if (first) {
        job->next = w->head;
        w->head = job;
        if (!w->tail)
            w->tail = job;
    } else {
        if (w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
    }
    pthread_cond_signal(&w->work_cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int
writer_submit(struct writer *w, struct writer_job *job)
{
    return submit(w, job, false);
}

int
writer_submit_first(struct writer *w, struct writer_job *job)
{
    return submit(w, job, true);
}

/* Under lock: whether job is still queued or running (not on the done list yet). */
static bool
job_pending(const struct writer *w, const struct writer_job *job)
{
    for (const struct writer_job *j = w->done_head; j; j = j->next)
        if (j == job)
            return false;
    return true;
}

int
writer_call(struct writer *w, struct writer_job *job)
{
    int r = writer_submit(w, job);
    if (r < 0)
        return r;
    pthread_mutex_lock(&w->lock);
    while (job_pending(w, job))
        pthread_cond_wait(&w->done_cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    r = job->result;
    run_done(w); /* job's too, after those of the jobs before it */
    return r;
}

unsigned
writer_queued(const struct writer *w)
{
    return w ? w->n_jobs : 0;
}

void
writer_close(struct writer *w)
{
    if (!w || w->closed)
        return;
    pthread_mutex_lock(&w->lock);
    w->flush = true;
    pthread_cond_signal(&w->work_cond);
    pthread_mutex_unlock(&w->lock);
    /* Done callbacks may submit more: drain until nothing is queued, running or done. */
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (w->head || w->busy)
            pthread_cond_wait(&w->done_cond, &w->lock);
        bool idle = !w->done_head;
        pthread_mutex_unlock(&w->lock);
        if (idle)
            break;
        run_done(w);
    }
    w->closed = true;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->work_cond);
    pthread_mutex_unlock(&w->lock);
    if (w->thread_started)
        (void)pthread_join(w->thread, NULL);
    w->thread_started = false;
    uv_close((uv_handle_t *)&w->async, NULL);
}

void
writer_free(struct writer *w)
{
    if (!w)
        return;
    if (w->thread_started) {
        /* writer_close was not called (a failed start): nothing was queued. */
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_signal(&w->work_cond);
        pthread_mutex_unlock(&w->lock);
        (void)pthread_join(w->thread, NULL);
    }
    store_free(w->store);
    pthread_cond_destroy(&w->work_cond);
    pthread_cond_destroy(&w->done_cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
