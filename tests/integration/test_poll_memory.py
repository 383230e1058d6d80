#!/usr/bin/python3
"""One memory budget for the polls in flight (issue 14, F7): with max_poll_memory small, many
large feeds (gzip on the wire) polled at once still get every item of every feed stored, once;
no poll fails for the budget (due feeds wait in line, downloads pause and resume), the bytes
the daemon accounts stay within the budget plus one document, and its peak RSS (VmHWM) stays
well below what the same feeds take without a budget worth mentioning. And a feed author's slow
feed cannot turn the budget against other feeds (issue 14): a download that holds the budget and
trickles is cut at its own fetch_timeout, the ones paused behind it do not count that time and
end ok, and due feeds start (a 304 at once) while others are paused. Loopback only."""

import datetime
import random
import time
from xml.sax.saxutils import escape

import fwtest

MB = 1 << 20
N_FEEDS = 14
N_ITEMS = 400                    # a feed: ~2.6 MB of XML, ~0.5 MB gzip
FEED_SIZE = "4M"                 # max_feed_size
BUDGET = 4 * MB                  # max_poll_memory, the least it may be (max_feed_size)
HWM_LIMIT_MB = 90                # the daemon's peak RSS with the small budget: ~60 measured, ~120 unbounded
ASAN_EXTRA_MB = 500              # ASan: its 256 MB quarantine, shadow and redzones (433 MB seen);
                                 # the accounted peak (poll_memory) is the check that holds there

WORDS = ("river council border minister market energy school winter harbour report court "
         "station festival harvest museum bridge election season railway forest summit "
         "treaty island village storm engine").split()


def big_feed(k):
    """N_ITEMS items of ~6 KB of text each, different words in each feed (gzip ~5:1)."""
    rnd = random.Random(k)
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
           f"<title>Big {k}</title><link>http://127.0.0.1/</link><description>d</description>"]
    for i in range(N_ITEMS):
        paras = "".join("<p>" + " ".join(rnd.choice(WORDS) for _ in range(140)) + ".</p>"
                        for _ in range(6))
        out.append(f"<item><title>big {k} item {i}</title><guid>b{k}-{i}</guid>"
                   f"<link>http://127.0.0.1/b{k}/{i}</link>"
                   f"<description>{escape(paras)}</description></item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def hwm_limit(pid):
    with open(f"/proc/{pid}/maps") as f:
        asan = "libasan" in f.read()
    return HWM_LIMIT_MB + (ASAN_EXTRA_MB if asan else 0)


def test_large_feeds_under_a_small_budget(t):
    s = t.httpd()
    feeds, size = {}, 0
    for k in range(N_FEEDS):
        body = big_feed(k)
        size = max(size, len(body))
        s.add_file(f"/big{k}.xml", body)
        feeds[f"big{k}"] = {"url": s.url(f"/big{k}.xml")}
    d = t.daemon(feeds, max_feed_size=FEED_SIZE, max_poll_memory=str(BUDGET // 1024) + "k",
                 fetch_timeout="120s", log_level="notice")
    d.start()
    pid = d.proc.pid
    state = d.wait_polled(list(feeds), timeout=240)
    # Not failed: every feed was read whole, none timed out waiting for memory.
    assert all(state[n]["state"] == "ok" and not state[n].get("last_error") for n in feeds), state
    fwtest.wait_until(lambda: d.count_items() == N_FEEDS * N_ITEMS, 60, "every item stored")
    assert d.duplicates() == []
    titles = {r[0] for r in d.query("SELECT title FROM items")}
    assert titles == {f"big {k} item {i}" for k in range(N_FEEDS) for i in range(N_ITEMS)}
    for k in range(N_FEEDS):
        assert d.count_items(f"big{k}") == N_ITEMS
    # The budget held: what the polls accounted never went past it by more than one
    # document (counted twice while it downloads, with its items' structs), and it is all
    # released once they end.
    # (the rows are visible a moment before the loop hears of the commit and frees the poll)
    fwtest.wait_until(lambda: d.status()["poll_memory"]["bytes"] == 0, 30, "memory released")
    pm = d.status()["poll_memory"]
    print(f"    poll_memory {pm}, documents of {size} bytes")
    assert pm["max_bytes"] == BUDGET
    assert pm["paused"] == 0, pm
    assert 0 < pm["peak_bytes"] <= BUDGET + 3 * size, pm
    hwm, limit = fwtest.vm_hwm_mb(pid), hwm_limit(pid)
    print(f"    VmHWM {hwm:.0f} MB (limit {limit} MB)")
    assert hwm < limit, f"daemon peak RSS {hwm:.0f} MB >= {limit} MB"
    # `status` shows it to people too.
    rc, _ = d.cli("status", json_out=False)
    assert rc == 0 and "poll memory" in d.last[2], d.describe_last()
    assert d.stop() == 0


def test_default_budget_follows_max_feed_size(t):
    s = t.httpd()
    s.add_file("/small.xml", fwtest.rss_items([("s1", "one"), ("s2", "two")]))
    d = t.daemon({"small": {"url": s.url("/small.xml")}}, max_feed_size="8M")
    d.start()
    d.wait_polled(["small"], timeout=30)
    pm = d.status()["poll_memory"]
    assert pm["max_bytes"] == 128 * MB, pm
    fwtest.wait_until(lambda: d.status()["poll_memory"]["bytes"] == 0, 20, "memory released")
    assert d.stop() == 0


HOG_ITEMS = 250                  # ~1.25 MB at once: counted twice, more than SLOW_BUDGET
SLOW_BUDGET = 2 * MB             # max_poll_memory (and max_feed_size) of the slow-feed test
TIMEOUT_S = 10                   # fetch_timeout of the slow-feed test


def hog_head():
    yield ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
           '<title>hog</title><link>http://127.0.0.1/</link><description>d</description>').encode()
    for i in range(HOG_ITEMS):
        yield (f"<item><title>hog {i}</title><guid>h{i}</guid><description>"
               + ("word " * 1000) + "</description></item>").encode()


def hog_chunks():
    """A fast ~1.25 MB, then 64 bytes a second: above curl's 1 byte/s stall limit, for far
    longer than fetch_timeout (the server stops writing when the daemon hangs up)."""
    yield from hog_head()
    for _ in range(60):
        time.sleep(1)
        yield b"<!-- " + b"x" * 55 + b" -->"
    yield b"</channel></rss>"


def big_chunks():
    """An honest feed as large as a hog's fast part, whole at once (chunked: no length)."""
    yield from hog_head()
    yield b"</channel></rss>"


def test_slow_feeds_do_not_starve_others(t):
    s = t.httpd()
    s.add_stream("/hog1.xml", hog_chunks)
    s.add_stream("/hog2.xml", hog_chunks)
    s.add_stream("/big.xml", big_chunks)
    s.add_file("/cond.xml", fwtest.rss_items([("c1", "cond one")]))
    for k in range(3):
        s.add_file(f"/ok{k}.xml", fwtest.rss_items([(f"o{k}a", "one"), (f"o{k}b", "two")]))
    feeds = {"cond": {"url": s.url("/cond.xml")}, "hog1": {"url": s.url("/hog1.xml")},
             "hog2": {"url": s.url("/hog2.xml")}}
    d = t.daemon(feeds, max_feed_size="2M", max_poll_memory=str(SLOW_BUDGET // 1024) + "k",
                 fetch_timeout=f"{TIMEOUT_S}s", log_level="info",
                 max_per_host=8)  # every feed is on 127.0.0.1: only the budget may hold them
    d.start()
    # One connection to the socket: a CLI process per request is slow on a loaded machine.
    c = d.connect(timeout=30)
    ask = lambda req: c.request(req)
    # The hogs hold the budget: the older one downloads, the younger one waits paused.
    fwtest.wait_until(lambda: ask({"cmd": "status"})["poll_memory"]["paused"] >= 1, 20,
                      "a hog paused")
    fwtest.wait_until(lambda: "poll: feed 'cond': HTTP 200" in d.log(), 20, "cond's first poll")
    # Now: a poll of cond (a 304: no body memory), three small feeds added (Content-Length:
    # curl holds each whole at its first byte, a pause would free nothing) and a large one
    # that must wait for the hogs.
    reqs = [{"cmd": "poll", "feed": "cond", "wait": False}]
    reqs += [{"cmd": "add", "name": f"ok{k}", "url": s.url(f"/ok{k}.xml")} for k in range(3)]
    reqs.append({"cmd": "add", "name": "big", "url": s.url("/big.xml")})
    for req in reqs:
        doc = ask(req)
        assert doc.get("ok") is True, (req, doc)
    c.close()
    # Every one of them starts while the hogs hold the budget, the large one too.
    def first():
        if s.count("/big.xml"):
            return "big requested"
        return "a hog cut" if "timed out" in d.log() else None
    assert fwtest.wait_until(first, TIMEOUT_S, "big requested") == "big requested"
    state = d.wait_polled([f"ok{k}" for k in range(3)], timeout=4 * TIMEOUT_S)
    for k in range(3):
        assert state[f"ok{k}"]["state"] == "ok" and not state[f"ok{k}"]["last_error"], state
    cond = d.wait_feed("cond", lambda f: f["last_status"] == 304, 4 * TIMEOUT_S, "a 304")
    assert cond["state"] == "ok" and 304 in s.statuses("/cond.xml"), (cond, s.statuses("/cond.xml"))
    # The large one waits paused behind the hogs, for longer than fetch_timeout, and ends ok.
    state = d.wait_polled(["big", "hog1", "hog2"], timeout=4 * TIMEOUT_S)
    assert state["big"]["state"] == "ok" and not state["big"]["last_error"], state["big"]
    # Each hog is cut at its own fetch_timeout, the time it was paused not counted.
    errors = sorted(state[h]["last_error"] or "" for h in ("hog1", "hog2"))
    for e in errors:
        assert e.startswith(f"timed out after {TIMEOUT_S} s"), errors
    assert any("(not counting " in e and "paused for max_poll_memory)" in e for e in errors), errors
    assert all(state[h]["state"] == "failing" for h in ("hog1", "hog2")), state
    # In the log: the 304 and the small feeds ended before the first hog was cut, the large
    # one after the second.
    fwtest.wait_until(lambda: "poll: feed 'big': HTTP 200" in d.log(), 30, "big stored")
    log = d.log().splitlines()
    at = lambda needle: next(i for i, line in enumerate(log) if needle in line)
    cuts = sorted(at(f"fetch: feed '{h}': timed out") for h in ("hog1", "hog2"))
    assert at("control: feed 'big': added") < cuts[0], "too slow a machine: a hog ended first"
    for name in [f"ok{k}" for k in range(3)]:
        assert at(f"poll: feed '{name}': HTTP 200") < cuts[0], "\n".join(log)
    assert at("poll: feed 'cond': not modified") < cuts[0], "\n".join(log)
    assert at("poll: feed 'big': HTTP 200") > cuts[1], "\n".join(log)
    when = lambda i: datetime.datetime.fromisoformat(log[i].split()[0].replace("Z", "+00:00"))
    waited = (when(at("poll: feed 'big': HTTP 200")) - when(at("control: feed 'big': added")))
    print(f"    big ended ok {waited.total_seconds():.1f} s after it was added; hogs: {errors}")
    assert waited.total_seconds() > TIMEOUT_S, waited
    # The honest feeds' items are stored; the budget is all released.
    fwtest.wait_until(lambda: d.count_items("big") == HOG_ITEMS, 30, "big's items stored")
    for k in range(3):
        assert d.count_items(f"ok{k}") == 2
    assert d.count_items("cond") == 1
    assert d.count_items("hog1") == d.count_items("hog2") == 0
    fwtest.wait_until(lambda: d.status()["poll_memory"]["bytes"] == 0, 30, "memory released")
    assert d.status()["poll_memory"]["paused"] == 0
    assert d.stop() == 0

if __name__ == "__main__":
    fwtest.main()
