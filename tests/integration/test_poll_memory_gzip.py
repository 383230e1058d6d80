#!/usr/bin/python3
"""max_poll_memory and compressed bodies (issue 14, review16 c): a download paused while the
budget is spent must not hold its body inflated where the budget does not see it. libcurl
inflates a whole read before it looks at a pause and keeps the rest of that read, inflated,
in its pause buffer: 4 KB of gzip are 4 MB, so 16 gzip feeds paused behind a feed that held a
4 MiB budget took the daemon's RSS ~66 MB past it. Here a feed holds the budget, 16 gzip
bombs (20 KB on the wire, 20 MB inflated, never ending) start and pause behind it, and the
daemon's peak RSS grows by a few MB at most. Then most of the bombs are removed (a paused
transfer ends at once), the holder ends, the other bombs resume one after another and each
ends at max_feed_size, and the honest holder's items are stored. Loopback only."""

import gzip
import threading

import fwtest

MB = 1 << 20
K = 16                         # gzip feeds paused at once
KEPT = 4                       # of them resumed to their end (each inflates max_feed_size)
BUDGET = "4M"                  # max_poll_memory (the least it may be: max_feed_size)
HOLD_ITEMS = 500               # ~2.5 MB at once, counted twice: the budget is spent
GROWTH_LIMIT_MB = 16           # the paused bombs' share of the peak RSS: ~1 measured, ~66 before
BOMB_INFLATED = 20 * MB


def bomb_payload():
    """A gzip body of ~20 KB that inflates to 20 MB (a title of spaces, never closed)."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
    return gzip.compress(head + b" " * BOMB_INFLATED, compresslevel=9, mtime=0)


def test_paused_gzip_downloads_stay_within_the_budget(t):
    release = threading.Event()    # the holder ends its document
    hold_open = threading.Event()  # the holder's first part is sent
    payload = bomb_payload()
    assert len(payload) < 64 * 1024, len(payload)

    def hold_chunks():
        yield ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
               '<title>hold</title><link>http://127.0.0.1/</link><description>d</description>'
               ).encode()
        for i in range(HOLD_ITEMS):
            yield (f"<item><title>hold {i}</title><guid>h{i}</guid><description>"
                   + ("word " * 1000) + "</description></item>").encode()
        hold_open.set()
        # Bytes now and then, so that curl's low-speed limit does not end it meanwhile.
        while not release.wait(0.5):
            yield b"<!-- -->"
        yield b"</channel></rss>"

    def bomb_chunks():
        yield payload
        release.wait(60)           # the body never ends while the bombs are paused
        yield b"\x00" * 8          # nor later: what follows is cut at max_feed_size

    s = t.httpd()
    s.add_stream("/hold.xml", hold_chunks)
    for k in range(K):
        s.add_stream(f"/z{k}.xml", bomb_chunks, headers=[("Content-Encoding", "gzip")])
    d = t.daemon({"hold": {"url": s.url("/hold.xml")}}, max_poll_memory=BUDGET,
                 max_feed_size="4M", fetch_timeout="60s", log_level="info",
                 max_connections=64, max_per_host=64)  # all on 127.0.0.1: only the budget holds
    try:
        d.start()
        pid = d.proc.pid
        c = d.connect(timeout=30)
        ask = lambda req: c.request(req)
        # The holder is read whole up to its trickle and holds more than the budget.
        fwtest.wait_until(hold_open.is_set, 30, "the holder's first part sent")
        fwtest.wait_until(lambda: ask({"cmd": "status"})["poll_memory"]["bytes"] > 4 * MB, 30,
                          "the budget spent by the holder")
        base = fwtest.vm_hwm_kb(pid)
        for k in range(K):
            doc = ask({"cmd": "add", "name": f"z{k}", "url": s.url(f"/z{k}.xml")})
            assert doc.get("ok") is True, doc
        # Each one starts and pauses at its first bytes: the budget is spent.
        pm = fwtest.wait_until(
            lambda: (lambda p: p if p["paused"] == K else None)(ask({"cmd": "status"})["poll_memory"]),
            30, f"{K} downloads paused")
        assert all(s.count(f"/z{k}.xml") == 1 for k in range(K))
        hwm = fwtest.vm_hwm_kb(pid)
        grew = (hwm - base) / 1024
        print(f"    VmHWM {base / 1024:.1f} MB with the budget spent, {hwm / 1024:.1f} MB with {K} "
              f"gzip downloads paused (+{grew:.1f} MB, limit +{GROWTH_LIMIT_MB}); poll_memory {pm}")
        assert grew < GROWTH_LIMIT_MB, f"paused gzip downloads took {grew:.1f} MB"
        # Removed, a paused download ends at once.
        for k in range(KEPT, K):
            doc = ask({"cmd": "remove", "name": f"z{k}"})
            assert doc.get("ok") is True, doc
        fwtest.wait_until(lambda: ask({"cmd": "status"})["poll_memory"]["paused"] == KEPT, 30,
                          "the removed downloads ended")
        # The holder ends; the other bombs resume in turn and each ends at max_feed_size.
        release.set()
        names = ["hold"] + [f"z{k}" for k in range(KEPT)]
        state = d.wait_polled(names, timeout=60)
        assert state["hold"]["state"] == "ok" and not state["hold"]["last_error"], state["hold"]
        for k in range(KEPT):
            err = state[f"z{k}"]["last_error"] or ""
            assert "4194304" in err, state[f"z{k}"]
        fwtest.wait_until(lambda: d.count_items("hold") == HOLD_ITEMS, 30, "the holder's items")
        fwtest.wait_until(lambda: ask({"cmd": "status"})["poll_memory"]["bytes"] == 0, 30,
                          "memory released")
        hwm = fwtest.vm_hwm_kb(pid)
        print(f"    after: VmHWM {hwm / 1024:.1f} MB; {state['z0']['last_error']}")
        c.close()
        assert d.stop() == 0
    finally:
        release.set()


if __name__ == "__main__":
    fwtest.main()
