#!/usr/bin/python3
"""The store's single writer (issue 18): every write goes through the writer thread, so the
loop never waits for SQLite's write lock. While another connection holds that lock, `status`
answers within a second; a delivery whose "running" state is on its way to the store is not
started a second time by the due reads meanwhile; finished polls and run-time commands wait
for the lock in the writer and land once it is free."""

import os
import re
import sqlite3
import sys
import time

import fwtest
from fwtest import wait_until

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")


class WriteLock:
    """SQLite's write lock on the daemon's database, held by a connection of the test."""

    def __init__(self, db):
        self.conn = sqlite3.connect(db, timeout=10, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self):
        self.conn.execute("ROLLBACK")
        self.conn.close()


def delivery(d):
    rows = d.query("SELECT state, attempts FROM deliveries")
    return rows[0] if len(rows) == 1 else None


def test_delivery_not_started_twice_while_its_state_waits(t):
    s = t.httpd()
    s.add_file("/a.xml", body=fwtest.rss_items([("a1", "first item")]))
    out = os.path.join(t.dir, "hook")
    os.makedirs(out)
    d = t.daemon({"a": s.url("/a.xml")})
    d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                    '\n[topic "all"]\nmatch = item\nhooks = rec\n'
                                    f'\n[hook "rec"]\nexec = {sys.executable} {HOOK} {out} '
                                    "--fail 1\ntimeout = 20s\nretries = 5\n"))
    d.start()
    # The first attempt fails: the delivery is pending again, due 2 s later.
    wait_until(lambda: delivery(d) == ("pending", 1), 30, "the first attempt to fail")
    lock = WriteLock(d.db)
    held = time.monotonic()
    try:
        # The retry falls due while the lock is held: its "running" state waits in the
        # writer, the due read still shows it pending, and the hook timer reads it again
        # every second. The loop answers meanwhile.
        worst = 0.0
        while time.monotonic() - held < 3.5:
            worst = max(worst, fwtest.status_latency(d))
            time.sleep(0.1)
        assert len(fwtest.hook_runs(out)) == 1, fwtest.hook_runs(out)  # the retry has not run: its state waits
    finally:
        lock.release()
    print(f"    status at worst {worst * 1000:.0f} ms while the write lock was held")
    assert worst < 1.0, worst
    wait_until(lambda: delivery(d) == ("delivered", 2), 30, "the retry to be delivered")
    time.sleep(2.5)  # a second start would show by now
    assert [r["run"] for r in fwtest.hook_runs(out)] == [1, 2], fwtest.hook_runs(out)
    assert delivery(d) == ("delivered", 2)
    assert d.stop() == 0


def test_polls_and_commands_wait_for_the_lock_not_the_loop(t):
    """A poll and run-time commands wait in the writer while another connection holds the
    write lock; the loop answers `status` meanwhile, and everything lands after."""
    s = t.httpd()
    s.add_file("/a.xml", body=fwtest.rss_items([("a1", "first")]))
    d = t.daemon({"a": s.url("/a.xml")})
    d.start()
    d.poll_wait()
    assert d.count_items() == 1
    lock = WriteLock(d.db)
    try:
        c = d.connect(timeout=30)
        c.send(b'{"cmd": "poll", "wait": true}\n')
        wait_until(lambda: s.count("/a.xml") >= 2, 10, "the poll to fetch")
        worst = max(fwtest.status_latency(d) for _ in range(5))
        assert worst < 1.0, worst
        assert d.count_items() == 1  # nothing could be written yet
    finally:
        lock.release()
    answer = c.recv_line()
    c.close()
    assert answer["ok"] is True, answer
    s.add_file("/a.xml", body=fwtest.rss_items([("a1", "first"), ("a2", "fourth")]))
    d.poll_wait()
    assert d.count_items() == 2

    # Run-time commands answer once their change is stored: after the lock, not before.
    s.add_file("/b.xml", body=fwtest.rss_items([("b1", "other")]))
    lock = WriteLock(d.db)
    try:
        pause = d.connect(timeout=30)
        pause.send({"cmd": "pause", "name": "a"})
        add = d.connect(timeout=30)
        add.send({"cmd": "add", "name": "b", "url": s.url("/b.xml")})
        time.sleep(0.5)
        for c in (pause, add):
            c.sock.setblocking(False)
            try:
                early = c.sock.recv(1)
            except BlockingIOError:
                early = None
            c.sock.setblocking(True)
            assert early is None, "answered before the change was stored"
        assert max(fwtest.status_latency(d) for _ in range(3)) < 1.0
        # A name being added cannot be added again meanwhile: refused at once.
        twice = d.connect().request({"cmd": "add", "name": "b", "url": s.url("/b.xml")})
        assert twice["ok"] is False and "exists" in twice["error"], twice
        assert d.query("SELECT paused FROM feeds WHERE name = 'a'") == [(0,)]
    finally:
        lock.release()
    answer = pause.recv_line()
    assert answer["ok"] is True and answer["feed"]["state"] == "paused", answer
    answer = add.recv_line()
    assert answer["ok"] is True and answer["feed"]["name"] == "b", answer
    pause.close()
    add.close()
    assert d.query("SELECT paused FROM feeds WHERE name = 'a'") == [(1,)]
    assert d.query("SELECT runtime_url FROM feeds WHERE name = 'b'") == [(s.url("/b.xml"),)]
    wait_until(lambda: d.count_items("b") == 1, 30, "the added feed's first poll")
    # A removed feed is gone for a second remove.
    assert d.connect().request({"cmd": "remove", "name": "b"})["ok"] is True
    again = d.connect().request({"cmd": "remove", "name": "b"})
    assert again["ok"] is False and "no feed" in again["error"], again
    assert d.query("SELECT removed FROM feeds WHERE name = 'b'") == [(1,)]
    assert d.stop() == 0


def store_queue(d):
    """Writes queued in the store's writer and not done yet (`metrics`)."""
    text = d.cli_ok("metrics")["text"]
    m = re.search(r'^feedwatch_queue_length\{queue="store"\} (\d+)$', text, re.M)
    assert m, text
    return int(m.group(1))


SHOWN = ("last_poll", "last_status", "last_error", "failures", "state", "items")


def test_feeds_shows_a_poll_once_its_items_are_stored(t):
    """`feeds` shows a poll (its last_poll, status, error and items) once the writer stored
    it, all in one step: while another connection holds the write lock, a settled poll waits
    in the writer and `feeds` shows the feed as it was before the poll, as `items` does."""
    s = t.httpd()
    s.add_status("/a.xml", 500)
    d = t.daemon({"a": {"url": s.url("/a.xml"), "interval": "1h"}})
    d.start()
    before = d.wait_feed("a", lambda f: f["last_status"] == 500, 30, "a failed first poll")
    wait_until(lambda: store_queue(d) == 0, 30, "the first poll stored")
    before = d.feed("a")
    assert before["state"] == "failing" and before["items"] == 0, before
    s.add_file("/a.xml", body=fwtest.rss_items([("a1", "first"), ("a2", "second")]))
    lock = WriteLock(d.db)
    try:
        d.cli_ok("poll", "a")
        # The poll has settled once its writes wait in the writer (whose wait for the lock
        # starts there and lasts 5 s at most: the lock is released well before).
        wait_until(lambda: store_queue(d) >= 1, 30, "the poll's writes queued in the writer")
        during = d.feed("a")
        assert d.count_items() == 0
    finally:
        lock.release()
    assert {k: during[k] for k in SHOWN} == {k: before[k] for k in SHOWN}, (before, during)
    after = d.wait_feed("a", lambda f: f["last_status"] == 200, 30, "the poll shown")
    assert after["state"] == "ok" and after["items"] == 2, after
    assert d.count_items("a") == 2
    assert len(d.items("a")) == 2
    assert d.stop() == 0


def test_an_overdue_feed_polled_after_a_restart_shows_when_it_fell_due(t):
    """After a restart an overdue feed is polled within the first seconds (spread over them);
    while that poll downloads, and while its writes wait in the writer, `feeds` shows that time
    as its next poll, not the time on record ten minutes ago; then the next poll it planned."""
    s = t.httpd()
    s.add_file("/a.xml", body=fwtest.rss_items([("a1", "first")]))
    d = t.daemon({"a": {"url": s.url("/a.xml"), "interval": "60s"}})
    d.start()
    d.wait_polled(["a"])
    assert d.stop() == 0
    past = int(time.time()) - 600
    with sqlite3.connect(d.db) as db:
        db.execute("UPDATE feeds SET next_poll_at = ?", (past,))
    s.add_slow("/a.xml", fwtest.rss_items([("a1", "first"), ("a2", "second")]), delay=3)
    start = time.time()
    d.start()
    wait_until(lambda: s.active >= 1, 40, "the overdue feed's poll to download")
    fetching = d.feed("a")
    lock = WriteLock(d.db)
    try:
        wait_until(lambda: store_queue(d) >= 1, 30, "the poll's writes queued in the writer")
        storing = d.feed("a")
    finally:
        lock.release()
    for e in (fetching, storing):
        due = fwtest.parse_time(e["next_poll"]) - start
        assert -2 <= due <= 7, (due, e)  # spread over a tenth of the interval
        assert e["items"] == 1, e
    after = d.wait_feed("a", lambda f: f["items"] == 2, 30, "the poll stored")
    assert fwtest.parse_time(after["next_poll"]) - time.time() > 40, after  # its own plan
    assert d.stop() == 0


def no_answer_yet(c):
    """Whether nothing has come back on control connection c so far."""
    c.sock.setblocking(False)
    try:
        early = c.sock.recv(1)
    except BlockingIOError:
        early = None
    c.sock.setblocking(True)
    return early is None


def test_reload_adding_feeds_waits_for_the_writer_not_the_loop(t):
    """A reload that brings feeds has their rows loaded by the writer: while another
    connection holds the write lock, the loop answers `status` (the old config still in
    force, the new feeds neither listed nor fetched), the reload's answer waits, a second
    reload waits behind it; once the lock is free both answer with the new feeds, which poll."""
    s = t.httpd()
    s.add_file("/a.xml", body=fwtest.rss_items([("a1", "first")]))
    s.add_file("/b.xml", body=fwtest.rss_items([("b1", "second")]))
    s.add_file("/c.xml", body=fwtest.rss_items([("c1", "third")]))
    d = t.daemon({"a": s.url("/a.xml")})
    d.start()
    d.poll_wait()
    d.feeds.update({"b": s.url("/b.xml"), "c": s.url("/c.xml")})
    d.write_config()
    lock = WriteLock(d.db)
    try:
        first = d.connect(timeout=30)
        first.send({"cmd": "reload"})
        second = d.connect(timeout=30)
        second.send({"cmd": "reload"})
        # Each connection's request is read on its own loop turn: a status answered on a
        # third connection after both were sent means the loop went on past the reload.
        for _ in range(3):
            st = d.connect(timeout=30).request({"cmd": "status"})
            assert st["ok"] is True, st
            assert st["feeds"]["total"] == 1, st  # the reload waits for its rows
        assert no_answer_yet(first), "the reload answered before its rows were loaded"
        assert no_answer_yet(second), "the second reload answered before the first ended"
        assert sorted(d.feeds_state()) == ["a"]
        assert s.count("/b.xml") == 0 and s.count("/c.xml") == 0
    finally:
        lock.release()
    for c in (first, second):
        answer = c.recv_line()
        c.close()
        assert answer["ok"] is True and answer["feeds"]["total"] == 3, answer
    assert d.status()["feeds"]["total"] == 3
    wait_until(lambda: d.count_items("b") == 1 and d.count_items("c") == 1, 30,
               "the new feeds' first polls")
    assert d.query("SELECT count(*) FROM feeds WHERE name IN ('b', 'c')") == [(2,)]
    assert d.log().count("config: reloaded") == 2, d.log()
    assert d.stop() == 0


fwtest.main()
