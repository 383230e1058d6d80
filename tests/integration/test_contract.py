#!/usr/bin/python3
"""Behaviours the README promises that no other test covered: state-changing socket commands
refused to other users, fetch_timeout against a server that trickles, the global
max_connections with its FIFO of due feeds, Cache-Control: no-store voiding a freshness
hint, and overdue feeds spread after a restart instead of polled in one instant."""

import os
import subprocess
import time

import fwtest
from fwtest import fixture, parse_time

NEWS = fixture("rss-news.xml")
NOBODY = 65534


def as_nobody(d, *args):
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            fwtest.FEEDWATCH, "--socket", d.sock, "--json"] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_state_changes_need_root_or_the_daemon_user(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    os.chmod(t.dir, 0o755)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])
    os.chmod(d.sock, 0o666)   # as if nobody were in the socket's group
    for args in (("status",), ("feeds",), ("items",), ("alerts",), ("search", "x")):
        p = as_nobody(d, *args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    polls = s.count("/news.xml")
    for args in (("poll",), ("reload",), ("add", "x", "http://127.0.0.1:9/x.xml"),
                 ("remove", "news"), ("pause", "news"), ("resume", "news")):
        p = as_nobody(d, *args)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert "root or the daemon's user" in p.stdout + p.stderr or \
            "not allowed" in p.stdout + p.stderr, (args, p.stdout, p.stderr)
    # Nothing happened: no poll, no new feed, not paused.
    assert s.count("/news.xml") == polls
    state = d.feeds_state()
    assert set(state) == {"news"} and state["news"]["state"] == "ok", state
    # Root may.
    d.cli_ok("pause", "news")
    assert d.feed("news")["state"] == "paused"
    assert d.stop() == 0


def test_fetch_timeout_against_a_trickling_server(t):
    """A server that sends a byte every half second never stalls (curl's low-speed limit
    does not fire) but must still be cut at fetch_timeout."""
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)

    def trickle():
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        for _ in range(120):            # at most a minute, then the test has failed anyway
            time.sleep(0.5)
            yield b" "

    s.add_stream("/trickle.xml", trickle)
    d = t.daemon({"news": s.url("/news.xml"), "trickle": s.url("/trickle.xml")},
                 fetch_timeout="3s").start()
    e = d.wait_feed("trickle", lambda f: f["state"] == "failing", 40, "the trickle cut off")
    err = (e["last_error"] or "").lower()
    assert "timed out" in err or "timeout" in err, e
    assert e["items"] == 0 and d.count_items("trickle") == 0, e
    # Cut by the timeout, not by the server's end: well under the minute it would trickle.
    assert parse_time(e["last_poll"]) - parse_time(d.feed("news")["last_poll"]) < 30, e
    assert d.feed("news")["state"] == "ok"
    assert d.stop() == 0


def test_global_max_connections_and_the_fifo(t):
    s = t.httpd()
    names = [f"g{i:02d}" for i in range(30)]
    for name in names:
        s.add_slow(f"/{name}.xml", fwtest.httpd.make_rss(400, tag=name), delay=0.1)
    d = t.daemon({n: s.url(f"/{n}.xml") for n in names}, max_connections=2, max_per_host=8,
                 log_level="notice").start()
    state = d.wait_polled(names, timeout=120)
    # Every due feed waited its turn in the FIFO and was polled once.
    assert all(state[n]["state"] == "ok" for n in names), \
        [state[n] for n in names if state[n]["state"] != "ok"]
    assert all(s.count(f"/{n}.xml") == 1 for n in names)
    # The global limit held though the per-host limit allowed eight.
    assert 1 <= s.max_active <= 2, s.max_active
    assert s.max_connections <= 2, s.max_connections
    assert d.stop() == 0


def test_cache_control_no_store_voids_the_hint(t):
    s = t.httpd()
    body = open(NEWS, "rb").read()
    s.add_raw("/maxage.xml", body, headers=[("Cache-Control", "max-age=7200")])
    s.add_raw("/nostore.xml", body, headers=[("Cache-Control", "max-age=7200, no-store")])
    d = t.daemon({"maxage": s.url("/maxage.xml"), "nostore": s.url("/nostore.xml")},
                 interval="60s", min_interval="10s").start()
    state = d.wait_polled(["maxage", "nostore"])
    now = time.time()
    assert parse_time(state["maxage"]["next_poll"]) - now > 7000, state["maxage"]
    assert parse_time(state["nostore"]["next_poll"]) - now <= 60 * 1.1 + 2, state["nostore"]
    assert d.stop() == 0


def test_overdue_feeds_are_spread_after_a_restart(t):
    s = t.httpd()
    names = [f"o{i:02d}" for i in range(20)]
    for name in names:
        s.add_file(f"/{name}.xml", body=fwtest.httpd.make_rss(300, tag=name))
    d = t.daemon({n: s.url(f"/{n}.xml") for n in names}, interval="1h").start()
    d.wait_polled(names)
    assert d.stop() == 0
    # Down through their next poll: every feed overdue by ten minutes.
    past = int(time.time()) - 600
    with fwtest.sqlite3.connect(d.db) as db:
        db.execute("UPDATE feeds SET next_poll_at = ?", (past,))
    d.start()
    start = time.time()
    nexts = [parse_time(e["next_poll"]) - start for e in d.cli_ok("feeds")["feeds"]
             if e["next_poll"] is not None]
    # Each is due soon (within 30 s of the restart, a tenth of the interval at most); those
    # due in its first seconds may already have been polled, and are due again in an hour.
    soon = [x for x in nexts if x < 600]
    assert len(soon) >= 12, nexts
    assert all(-2 <= x <= 31 for x in soon), nexts
    assert all(x > 3000 for x in nexts if x >= 600), nexts
    due = soon
    # Not all at once: the restart spreads them.
    assert max(due) - min(due) >= 10, sorted(due)
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
