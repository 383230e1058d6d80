#!/usr/bin/python3
"""Behaviours the README promises that no other test covered: state-changing socket commands
refused to other users, fetch_timeout against a server that trickles, the global
max_connections with its FIFO of due feeds, Cache-Control: no-store voiding a freshness
hint, overdue feeds spread after a restart instead of polled in one instant, adaptive
intervals applied by the running daemon, max_hooks and the 1 h cap on hook retries, the
CLI's human `watch` output and the offline `extract` and `match` tools."""

import json
import os
import re
import select
import stat
import subprocess
import time
from xml.sax.saxutils import escape

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


def test_adaptive_intervals_applied_by_the_running_daemon(t):
    """The next poll follows the feed's item rate (3600 / rate, within [min_interval,
    max_interval]), not the configured interval, and each good poll updates the rate."""
    s = t.httpd()
    for name in ("busy", "quiet", "fixed"):
        s.add_file(f"/{name}.xml", body=fwtest.httpd.make_rss(300, tag=name))
    d = t.daemon({n: s.url(f"/{n}.xml") for n in ("busy", "quiet", "fixed")},
                 interval="1h", min_interval="2m", max_interval="5h")
    # "fixed" asks for less than min_interval: used as given, never adapted.
    d.feeds["fixed"] = {"url": s.url("/fixed.xml"), "interval": "60s"}
    d.write_config(fwtest.conf_text(d.settings, d.feeds))
    d.start()
    d.wait_polled(["busy", "quiet", "fixed"])
    assert d.stop() == 0
    # As if observed for a while: busy posts every 20 s (180/h), quiet once in 20 h. The last
    # poll was ten minutes ago, so the next one counts as evidence.
    past = int(time.time()) - 600
    with fwtest.sqlite3.connect(d.db) as db:
        db.execute("UPDATE feeds SET item_rate = 180.0 WHERE name = 'busy'")
        db.execute("UPDATE feeds SET item_rate = 0.05 WHERE name = 'quiet'")
        db.execute("UPDATE feeds SET item_rate = 180.0 WHERE name = 'fixed'")
        db.execute("UPDATE feeds SET last_poll_at = ?, next_poll_at = ?", (past, past + 60))
    d.start()
    fwtest.wait_until(lambda: all(parse_time(e["last_poll"]) > past + 300
                                  for e in d.feeds_state().values()),
                      60, "a poll of each feed after the restart")
    state = d.feeds_state()
    rates = dict(d.query("SELECT name, item_rate FROM feeds"))

    def planned(name):
        e = state[name]
        return parse_time(e["next_poll"]) - parse_time(e["last_poll"])

    # busy: 3600 / ~180 = 20 s, held at min_interval (2 min), jitter ±10 %.
    assert 120 * 0.9 - 1 <= planned("busy") <= 120 * 1.1 + 1, (planned("busy"), state["busy"])
    # quiet: 3600 / 0.05 = 20 h, held at max_interval (5 h).
    assert 18000 * 0.9 - 1 <= planned("quiet") <= 18000 * 1.1 + 1, (planned("quiet"),
                                                                    state["quiet"])
    # fixed: its own 60 s, whatever its rate.
    assert 60 * 0.9 - 1 <= planned("fixed") <= 60 * 1.1 + 1, (planned("fixed"), state["fixed"])
    # The poll updated the rates (no new items in ten minutes: a little lower, not reset).
    assert 100 < rates["busy"] < 180, rates
    assert 0 < rates["quiet"] < 0.05, rates
    assert d.stop() == 0


def _script(t, name, body):
    path = os.path.join(t.dir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, stat.S_IRWXU)
    return path


def _box_feed(titles):
    items = "".join(f"<item><title>{escape(title)}</title><link>http://example.org/box/{i}</link>"
                    f"<guid>urn:box:{i}</guid><description>the boxcar story {i}</description>"
                    "</item>" for i, title in enumerate(titles))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>box</title><link>http://example.org/</link>{items}</channel></rss>").encode()


def test_max_hooks_runs_at_most_that_many(t):
    """max_hooks = 1: five alerts, each run half a second long, never two at once (each
    run's start and end, written by the hook itself, do not interleave)."""
    log = os.path.join(t.dir, "runs.log")
    hook = _script(t, "one.sh", f"echo start $FEEDWATCH_ALERT_ID >> {log}\nsleep 0.5\n"
                                f"echo end $FEEDWATCH_ALERT_ID >> {log}\n")
    s = t.httpd()
    s.add_file("/box.xml", _box_feed([f"boxcar {i}" for i in range(5)]))
    d = t.daemon({"box": s.url("/box.xml")}, max_hooks=1)
    d.write_config(fwtest.conf_text(
        d.settings, d.feeds, '\n[topic "box"]\nmatch = boxcar\nhooks = h\n'
        f'\n[hook "h"]\nexec = {hook}\ntimeout = 20s\nretries = 0\n'))
    d.start()
    fwtest.wait_until(lambda: [r[0] for r in d.query("SELECT state FROM deliveries")]
                      == ["delivered"] * 5, 60, "five deliveries")
    with open(log) as f:
        lines = f.read().split()
    events = list(zip(lines[0::2], lines[1::2]))
    assert len(events) == 10, events
    # start A, end A, start B, end B ...: one at a time.
    for k in range(0, 10, 2):
        assert events[k][0] == "start" and events[k + 1] == ("end", events[k][1]), events
    assert len({e[1] for e in events}) == 5, events
    assert d.stop() == 0


def test_watch_human_output(t):
    """`feedwatch watch` without --json: a header line, then one readable line per event
    (item, ALERT, feed), control and bidi characters of feed text never raw; exit 3 when the
    daemon stops."""
    s = t.httpd()
    # C1 CSI (XML allows it, unlike ESC) and a right-to-left override in a title.
    s.add_file("/box.xml", _box_feed(["plain boxcar news", "evil \u009b31mboxcar\u202e title"]))
    d = t.daemon({}, interval="1h")
    d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                    '\n[topic "box"]\nmatch = boxcar\n'))
    d.start()
    p = subprocess.Popen([fwtest.FEEDWATCH, "--socket", d.sock, "watch"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=fwtest._child_env())
    pending = [b""]

    def readline(timeout=30):
        """The next line of watch's stdout (b"" at its end), within timeout seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in pending[0]:
            left = deadline - time.monotonic()
            assert left > 0, ("no line from watch", pending[0])
            if select.select([p.stdout], [], [], left)[0]:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                pending[0] += chunk
        line, nl, pending[0] = pending[0].partition(b"\n")
        return line + nl

    try:
        header = readline().decode()
        assert header == "watching for new items and alerts (Ctrl-C to stop)\n", header
        d.feeds = {"box": s.url("/box.xml")}
        d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                        '\n[topic "box"]\nmatch = boxcar\n'))
        d.cli_ok("reload")
        lines = []
        while not any(" feed   box: " in line for line in lines):
            raw = readline()
            assert raw, ("watch ended early", lines, p.stderr.read())
            assert "\u009b".encode() not in raw and "\u202e".encode() not in raw, raw
            lines.append(raw.decode())
    finally:
        assert d.stop() == 0
        rest, err = p.communicate(timeout=30)
    # The daemon went away: exit 3, "not reachable" (PRODUCT.md's exit codes).
    assert p.returncode == 3, (p.returncode, err)
    assert b"the event stream ended" in err, err
    stamp = r"^\d\d:\d\d:\d\d "
    items = [l for l in lines if re.match(stamp + "item   box: ", l)]
    alerts = [l for l in lines if re.match(stamp + "ALERT  box: box: ", l)]
    feeds = [l for l in lines if re.match(stamp + "feed   box: ok\n$", l)]
    assert len(items) == 2 and len(alerts) == 2 and len(feeds) == 1, lines
    assert any("plain boxcar news  http://example.org/box/0" in l for l in items), items
    assert any("evil " in l and "title  http://example.org/box/1" in l for l in alerts), alerts
    assert len(lines) == 5, lines


def test_hook_retries_are_at_most_an_hour_apart(t):
    """2 s, 4 s, 8 s ... at most 1 h: a delivery on its 12th attempt (2^12 s would be over an
    hour) is planned 3600 s after its failure, read from the row the runner wrote."""
    s = t.httpd()
    s.add_file("/box.xml", _box_feed(["boxcar"]))
    d = t.daemon({"box": s.url("/box.xml")})
    d.write_config(fwtest.conf_text(
        d.settings, d.feeds, '\n[topic "box"]\nmatch = boxcar\nhooks = h\n'
        '\n[hook "h"]\nexec = /bin/false\ntimeout = 10s\nretries = 30\n'))
    d.start()
    first = fwtest.wait_until(
        lambda: (lambda r: r if r and r[0][1] == 1 and r[0][0] != "running" else None)(
            d.query("SELECT state, attempts, next_attempt_at FROM deliveries")),
        30, "the first attempt's end")   # its "running" row is stored before it runs
    assert first[0][0] == "pending", first
    assert d.stop() == 0
    # As if eleven attempts had failed: the next is the twelfth.
    with fwtest.sqlite3.connect(d.db) as db:
        db.execute("UPDATE deliveries SET attempts = 11, next_attempt_at = ?",
                   (int(time.time()) - 1,))
    before = int(time.time())
    d.start()
    row = fwtest.wait_until(
        lambda: (lambda r: r if r and r[0][1] == 12 and r[0][0] == "pending" else None)(
            d.query("SELECT state, attempts, next_attempt_at FROM deliveries")),
        30, "the twelfth attempt")
    after = time.time()
    assert before + 3600 <= row[0][2] <= after + 3600, (row, before, after)
    assert d.stop() == 0


SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
HTML = os.path.join(SRC, "tests", "fixtures", "html")
SEEDS = os.path.join(SRC, "tests", "fixtures", "corpus", "seeds")


def _cli(*args):
    return subprocess.run([fwtest.FEEDWATCH] + list(args), capture_output=True, timeout=60,
                          env=fwtest._child_env(), stdin=subprocess.DEVNULL)


def test_offline_extract(t):
    """`feedwatch extract`: the article's main text, boilerplate removed, paragraphs apart;
    several files each under a `==> FILE <==` line; --json one line per file."""
    page_en = os.path.join(HTML, "seed-001.page.html")
    page_nl = os.path.join(HTML, "seed-000.page.html")
    with open(os.path.join(SEEDS, "001_c3de49d25fb89459.txt"), encoding="utf-8") as f:
        seed = [line.strip() for line in f if line.strip()]
    p = _cli("extract", page_en)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    paras = [x for x in text.split("\n\n") if x.strip()]
    assert not text.startswith("==>"), text[:200]
    # The article's first paragraph first; the page's captions and datelines are not text.
    first = next(x for x in seed if x.startswith("The European Union member states"))
    assert paras[0].strip() == first, paras[:2]
    assert "Caption:" not in text and "Published:" not in text, text[:400]
    assert len(paras) >= 5, paras
    p = _cli("extract", page_en, page_nl)
    assert p.returncode == 0, p.stderr
    heads = [l for l in p.stdout.decode().splitlines() if l.startswith("==> ")]
    assert heads == [f"==> {page_en} <==", f"==> {page_nl} <=="], heads
    p = _cli("--json", "extract", page_en, page_nl)
    assert p.returncode == 0, p.stderr
    docs = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert [list(x) for x in docs] == [["file", "title", "author", "published", "language",
                                        "text"]] * 2, docs
    assert [(x["file"], x["language"]) for x in docs] == [(page_en, "en"), (page_nl, "nl")]
    assert docs[0]["title"] == "EU invites Russia to take security concerns to OSCE", docs[0]
    assert docs[0]["text"].startswith(first), docs[0]["text"][:200]
    p = _cli("extract", os.path.join(t.dir, "missing.html"))
    assert p.returncode == 1 and b"missing.html" in p.stderr, p


def test_offline_match(t):
    """`feedwatch match QUERY FILE`: exit 0 and the matching items when something matched,
    1 when nothing did, 2 on a bad query, as grep."""
    feed = os.path.join(SRC, "config", "feeds", "afp-world.xml")
    p = _cli("--json", "match", "OSCE", feed)
    assert p.returncode == 0, p.stderr
    got = [json.loads(l) for l in p.stdout.decode().splitlines()]
    titles = sorted(x["title"] for x in got)
    assert titles == ["Borrell invites Russia to dialogue at the OSCE in letter on behalf "
                      "of the 27", "EU invites Russia to take security concerns to OSCE"], titles
    assert all(x["file"] == feed and x["matched"][0]["term"] == "OSCE" for x in got), got
    p = _cli("match", "OSCE", feed)
    assert p.returncode == 0 and b"EU invites Russia" in p.stdout, p
    p = _cli("match", "zzyzx-nowhere", feed)
    assert p.returncode == 1 and p.stdout == b"", p
    p = _cli("match", "(OSCE", feed)
    assert p.returncode == 2 and b"column" in p.stderr, p


if __name__ == "__main__":
    fwtest.main()
