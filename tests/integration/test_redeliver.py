#!/usr/bin/python3
"""`redeliver --failed` over many failed deliveries (issue 14): batches of 10,000, each its
own writer transaction, so a poll's commit and `status` go on between them and the answer
(the total) comes when the last batch is stored; a kill -9 part way leaves whole batches
requeued (the first keys, in key order) and the rest failed, and the command repeated
requeues the rest."""

import os
import signal
import sqlite3

import fwtest

N = 60000       # six batches
BATCH = 10000   # HOOK_REDELIVER_BATCH


def failed_daemon(t):
    """A daemon whose store holds N failed deliveries to the hook "h" (/bin/true), one alert
    each, made while it was stopped; started again."""
    s = t.httpd()
    s.add_file("/a.xml", fwtest.rss_items([("a1", "volcano one"), ("a2", "volcano two")]))
    d = t.daemon({"a": s.url("/a.xml")}, max_hooks=1)
    d.write_config(fwtest.conf_text(d.settings, d.feeds, """
[topic "volcano"]
match = volcano

[hook "h"]
exec = /bin/true
"""))
    d.start()
    d.poll_wait()
    d.stop()
    db = sqlite3.connect(d.db)
    item = db.execute("SELECT id FROM items LIMIT 1").fetchone()[0]
    with db:
        db.executemany("INSERT INTO alerts (topic, item_id, state, attempts, raised_at)"
                       " VALUES (?, ?, 'failed', 1, 0)", ((f"x{i}", item) for i in range(N)))
        db.execute("INSERT INTO deliveries (alert_id, hook, state, attempts, last_error)"
                   " SELECT id, 'h', 'failed', 1, 'exit status 1' FROM alerts"
                   " WHERE topic LIKE 'x%'")
    db.close()
    d.start()
    return d, s


def failed_keys(d):
    return [r[0] for r in fwtest.query(d.db, "SELECT alert_id FROM deliveries WHERE hook = 'h'"
                                       " AND state = 'failed' ORDER BY alert_id")]


def test_redeliver_failed_in_batches_while_the_loop_goes_on(t):
    d, s = failed_daemon(t)
    assert d.status()["alerts"]["failed"] == N
    polls = s.count("/a.xml")
    big, other = fwtest.Control(d.sock, timeout=120), fwtest.Control(d.sock, timeout=120)
    big.send({"cmd": "redeliver", "failed": True})
    # A poll asked for right after: its commit goes through the same writer, between two
    # batches, so its answer comes before the redeliver's (one transaction made it wait).
    other.send({"cmd": "poll", "feed": "a", "wait": True})
    first_poll = other.recv_line()
    assert first_poll["ok"] is True, first_poll
    assert s.count("/a.xml") > polls
    big.sock.setblocking(False)
    try:
        early = big.sock.recv(65536)
    except BlockingIOError:
        early = None
    assert early is None, ("redeliver answered before the poll", early[:200])
    # `status` answers meanwhile, too, and sees the batches' progress.
    seen = []
    answer = None
    while answer is None:
        st = other.request({"cmd": "status"})
        assert st["ok"] is True, st
        seen.append(st["alerts"]["failed"])
        try:
            chunk = big.sock.recv(65536)
            assert chunk, "the daemon closed the redeliver connection"
            big.buf += chunk
            if b"\n" in big.buf:
                big.sock.setblocking(True)
                answer = big.recv_line()
        except BlockingIOError:
            pass
    assert answer["ok"] is True and answer["queued"] == N, {k: answer[k] for k in answer
                                                           if k != "deliveries"}
    assert len(answer["deliveries"]) == 100, len(answer["deliveries"])
    assert seen[0] > 0 and seen == sorted(seen, reverse=True), seen[:20]
    # Every one is requeued (pending, or delivered since by /bin/true), none is failed.
    assert failed_keys(d) == []
    assert d.status()["alerts"]["failed"] == 0
    assert d.query("SELECT count(*) FROM alerts WHERE topic LIKE 'x%' AND state = 'failed'") \
        == [(0,)]
    big.close()
    other.close()
    d.kill()


def test_kill_between_batches_leaves_whole_batches(t):
    d, s = failed_daemon(t)
    keys = failed_keys(d)
    assert len(keys) == N
    c = fwtest.Control(d.sock, timeout=120)
    c.send({"cmd": "redeliver", "failed": True})
    # Kill it once some batch is stored (or all are: then there is nothing between).
    fwtest.wait_until(lambda: len(failed_keys(d)) < N, 60, "a first batch")
    d.signal(signal.SIGKILL)
    d.wait_exit(10)
    c.close()
    left = failed_keys(d)
    done = N - len(left)
    assert done % BATCH == 0, done                 # whole batches only
    assert left == keys[done:], (done, left[:3])   # the first keys, in key order
    assert fwtest.query(d.db, "PRAGMA integrity_check") == [("ok",)]
    # An alert is failed exactly when its delivery is (each batch refreshed its alerts).
    assert fwtest.query(d.db, "SELECT count(*) FROM alerts AS a JOIN deliveries AS e"
                        " ON e.alert_id = a.id WHERE (a.state = 'failed') !="
                        " (e.state = 'failed')") == [(0,)]
    d.start()
    doc = d.cli_ok("redeliver", "--failed", timeout=120)
    assert doc["queued"] == len(left), (doc["queued"], len(left))
    assert failed_keys(d) == []
    d.kill()


if __name__ == "__main__":
    fwtest.main()
