#!/usr/bin/python3
"""feedwatchd on a PostgreSQL server that stops answering (review F6): the loop keeps serving.

`status`, `feeds` and the metrics answer within seconds while every backend of the daemon's
database is stopped (SIGSTOP: a hung server, which neither TCP keepalives nor a
statement_timeout can notice), `status` saying its store part is stale; once the server answers
again, `status` is fresh again. A lock held on the items table holds a poll's lookups on the
loop for the loop reader's statement_timeout only, and the poll is stored once the lock is gone;
a hook whose alert cannot be read for a lock is tried again, not failed for good.

The server is the suite's own (tests/pg/pgscratch, ctest fixture `pg`); only the backends of
this test's own database are stopped, so that the other tests sharing the server go on."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import fwtest
from test_pg_daemon import HOOK, TOPIC, new_database, psql, seed_feeds

PSQL = "psql"


def backends(db):
    """The pids of the server processes serving db (the daemon's connections)."""
    name = [w[len("dbname="):] for w in db.split() if w.startswith("dbname=")][0]
    rows = psql(db, "SELECT pid FROM pg_stat_activity WHERE datname = "
                    f"'{name}' AND pid <> pg_backend_pid()")
    return [int(r[0]) for r in rows]


def wake(pids):
    """SIGCONT to each of pids still there."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def timed(fn):
    start = time.monotonic()
    out = fn()
    return out, time.monotonic() - start


def metrics_text(port, timeout):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        return r.read().decode()


class LockHolder:
    """A psql session holding an ACCESS EXCLUSIVE lock on table of db until release()."""

    def __init__(self, db, table):
        self.db = db
        self.proc = subprocess.Popen([PSQL, "-X", "-q", "-d", db], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     text=True)
        self.proc.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n")
        self.proc.stdin.flush()
        fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM pg_locks l JOIN pg_class c"
                                           f" ON c.oid = l.relation WHERE c.relname = '{table}'"
                                           " AND l.mode = 'AccessExclusiveLock' AND l.granted")
                          == [["1"]], 20, f"the lock on {table}")

    def release(self):
        self.proc.stdin.write("ROLLBACK;\n\\q\n")
        self.proc.stdin.close()
        self.proc.wait(20)


def test_status_answers_while_the_database_is_frozen(t):
    db = new_database(t)
    port = free_port()
    d = t.daemon(seed_feeds(), database=db, metrics_listen=f"127.0.0.1:{port}")
    d.start()
    d.wait_polled(list(seed_feeds()))
    st = d.status()
    assert st["store"]["stale"] is False and st["store"]["error"] is None, st
    assert st["alerts"]["no_hook"] == 0 and st["database_bytes"] > 0, st
    assert st["cluster"]["nodes_alive"] == 1 and 0 <= st["search_lag_items"] <= 13, st
    pids = backends(db)
    assert len(pids) >= 2, pids  # the writer's, the loop's, the status reader's, ...
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        # Each answers within seconds (the loop does not wait for the database), from what the
        # loop knows, the store's part marked stale with the last values read.
        st, took = timed(lambda: d.cli_ok("status", timeout=20))
        assert took < 15, took
        assert st["store"]["stale"] is True, st
        assert "did not answer" in st["store"]["error"], st
        assert st["store"]["read_at"] is not None, st
        assert st["feeds"]["total"] == 3 and st["database_bytes"] > 0, st
        assert st["cluster"]["node"] and st["cluster"]["nodes_alive"] == 1, st
        rc, _ = d.cli("status", json_out=False, timeout=20)
        human = d.last[2]
        assert rc == 0 and "stale" in human and "did not answer" in human, d.describe_last()
        feeds = d.cli_ok("feeds", timeout=20)["feeds"]
        assert sorted(f["name"] for f in feeds) == sorted(seed_feeds()), feeds
        text, took = timed(lambda: metrics_text(port, 20))
        assert took < 15 and "feedwatch_store_stale 1" in text, text
        assert "feedwatch_feeds{state=\"ok\"} 3" in text, text
        text = d.cli_ok("metrics", timeout=20)["text"]
        assert "feedwatch_store_stale 1" in text, text
        # Several requests while the reader is still stuck: each answers (no pile-up).
        for _ in range(3):
            assert d.cli_ok("status", timeout=20)["store"]["stale"] is True
    finally:
        wake(pids)
    fwtest.wait_until(lambda: d.status()["store"]["stale"] is False, 30,
                      "a fresh status once the server answers")
    assert "feedwatch_store_stale 0" in metrics_text(port, 20)
    assert d.stop(30) == 0


def test_a_locked_table_holds_the_loop_for_seconds(t):
    """A poll's lookups on the loop meet a lock held elsewhere: the loop reader's statement
    timeout ends them in seconds (the writer's is a minute); the lookup's failure is logged,
    and once the lock is gone the poll's items are stored (nothing is lost)."""
    db = new_database(t)
    httpd = t.httpd()
    content = httpd.add_file("/a.xml", fwtest.rss_items([("a1", "first")]))
    d = t.daemon({"a": httpd.url("/a.xml")}, database=db, interval="1h")
    d.start()
    d.wait_polled(["a"])
    content.set(fwtest.rss_items([("a1", "first"), ("a2", "second")]))
    holder = LockHolder(db, "items")
    try:
        fetched = httpd.count("/a.xml")
        d.cli_ok("poll", "a")  # no --wait: the poll runs, its lookups meet the lock
        fwtest.wait_until(lambda: httpd.count("/a.xml") > fetched, 20, "the poll's fetch")
        # The loop answers in seconds (the loop reader's statement_timeout), not after the
        # writer's minute.
        st, took = timed(lambda: d.cli_ok("status", timeout=40))
        assert took < 20, took
        d.wait_log("cannot look up the stored items", 30)
        line = [ln for ln in d.log().splitlines() if "cannot look up" in ln]
        assert "statement timeout" in line[0], line
    finally:
        holder.release()
    fwtest.wait_until(lambda: len(d.items("a")) == 2, 90, "the poll's new item stored")
    assert psql(db, "SELECT count(*), count(DISTINCT key) FROM items") == [["2", "2"]]
    assert d.stop(30) == 0


def test_a_poll_meeting_a_frozen_server_holds_the_loop_for_seconds(t):
    """A poll's lookup on the loop meets a server whose backends were stopped while the feed
    was being fetched (SIGSTOP: its statement_timeout cannot fire): the loop's own deadline
    (5 s + 2 s) drops the connection, `status` answers within seconds, the lookup's failure
    is logged (its items taken as new), and once the server wakes the poll's items are
    stored. (Before, the loop waited for as long as the server slept.)"""
    db = new_database(t)
    httpd = t.httpd()
    httpd.add_slow("/a.xml", fwtest.rss_items([("a1", "first")]), delay=0.01)
    d = t.daemon({"a": httpd.url("/a.xml")}, database=db, interval="1h")
    d.start()
    d.wait_polled(["a"])
    httpd.add_slow("/a.xml", fwtest.rss_items([("a1", "first"), ("a2", "second")]), delay=3)
    pids = backends(db)
    try:
        d.cli_ok("poll", "a", timeout=20)  # no --wait: claimed, then fetched for 3 s
        fwtest.wait_until(lambda: httpd.active > 0, 20, "the poll's fetch under way")
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        worst = 0.0
        for _ in range(4):
            _, took = timed(lambda: d.cli_ok("status", timeout=30))
            worst = max(worst, took)
        assert worst < 12, worst
        d.wait_log("no answer from", 30)
        line = [ln for ln in d.log().splitlines() if "cannot look up the stored items" in ln]
        assert line and "no answer from" in line[0], d.log()
    finally:
        wake(pids)
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM items") == [["2"]], 90,
                      "the poll's new item stored")
    assert psql(db, "SELECT count(*), count(DISTINCT key) FROM items") == [["2", "2"]]
    assert d.stop(30) == 0

def test_a_hook_whose_alert_is_locked_runs_later(t):
    """A delivery whose alert cannot be read (its sources locked: the loop's read times out)
    is pending again and runs once the lock is gone; it was marked failed for good."""
    db = new_database(t)
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    feeds = {"nl-nieuws": seed_feeds()["nl-nieuws"]}
    d = t.daemon(feeds, database=db)
    d.write_config(fwtest.conf_text(d.settings, d.feeds, TOPIC.format(
        python=sys.executable, hook=HOOK, outdir=outdir)))
    d.start()
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 1, 30, "the alert's hook run")
    alert = d.cli_ok("alerts")["alerts"][0]["id"]
    holder = LockHolder(db, "alert_sources")
    try:
        d.cli_ok("redeliver", str(alert))
        d.wait_log("cannot read the alert, tried again later", 30)
        states = psql(db, "SELECT state FROM deliveries")
        assert states in ([["pending"]], [["running"]]), states
        assert len(fwtest.hook_runs(outdir)) == 1
    finally:
        holder.release()
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 2, 60, "the hook run again")
    fwtest.wait_until(lambda: psql(db, "SELECT state FROM deliveries") == [["delivered"]], 30,
                      "the delivery delivered")
    assert d.stop(30) == 0


if __name__ == "__main__":
    fwtest.main()
