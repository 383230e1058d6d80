#!/usr/bin/python3
"""Article downloads under abuse (issue 14, hole 3): whatever a feed's links say, the daemon
downloads at most max_articles_per_poll pages a poll, a few at a time, each cut at
max_article_size after decompression, and no more pages in memory at once than
max_article_memory allows (all feeds together); its peak RSS (VmHWM) stays bounded.

Served on loopback (allow_private_addresses = yes on the feeds): a feed of 150 links to pages
of 6 MB, gzip bombs (64 MB inflated) and ordinary pages; feeds of slow pages, counting the
requests in progress at once; pages that stall until the transfer's timeout."""

import gzip
import os
import signal
import time
from xml.sax.saxutils import escape

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PAGE = os.path.join(SRC, "tests", "fixtures", "html", "seed-000.page.html")
MB = 1 << 20
HWM_LIMIT_MB = 100               # the daemon's peak RSS; more under ASan (see hwm_limit)
ASAN_EXTRA_MB = 300              # ASan's quarantine keeps up to 256 MB of freed memory mapped


def rss(items):
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
           "<title>Wire</title><link>http://127.0.0.1/</link><description>d</description>"]
    for i, (title, link, desc) in enumerate(items):
        out.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                   f"<guid>item-{i}</guid><description>{escape(desc)}</description></item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()




def hwm_limit(pid):
    """HWM_LIMIT_MB, plus ASAN_EXTRA_MB for an ASan build."""
    with open(f"/proc/{pid}/maps") as f:
        asan = "libasan" in f.read()
    return HWM_LIMIT_MB + (ASAN_EXTRA_MB if asan else 0)


def big_page_chunks():
    """A 6 MB HTML page, generated as it is sent."""
    para = ("<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 +
            "</p>\n").encode()
    block = para * (64 * 1024 // len(para) + 1)

    def chunks():
        yield b"<html><head><title>big</title></head><body><article>"
        for _ in range(6 * MB // len(block) + 1):
            yield block
        yield b"</article></body></html>"
    return chunks


def test_many_links_big_pages_and_gzip_bombs(t):
    s = t.httpd()
    bomb = gzip.compress(b"<html><body><p>" + b"A" * (64 * MB) + b"</p></body></html>",
                         compresslevel=9, mtime=0)
    items = []
    for i in range(150):
        kind = ("big", "bomb", "page")[i % 3]
        path = f"/{kind}/{i}.html"
        if kind == "big":
            s.add_stream(path, big_page_chunks(), content_type="text/html")
        elif kind == "bomb":
            s.add_raw(path, bomb, [("Content-Encoding", "gzip")], content_type="text/html")
        else:
            s.add_file(path, file=PAGE, content_type="text/html; charset=utf-8")
        items.append((f"{kind} {i}", s.url(path), f"Teaser {i}."))
    s.add_file("/wire.xml", rss(items))
    d = t.daemon({"wire": {"url": s.url("/wire.xml"), "fetch_article": "yes",
                           "allow_private_addresses": "yes"}}, fetch_timeout="60s")
    d.start()
    pid = d.proc.pid
    assert d.wait_polled(["wire"], timeout=120)["wire"]["state"] == "ok"
    hwm, limit = fwtest.vm_hwm_mb(pid), hwm_limit(pid)
    print(f"    VmHWM {hwm:.0f} MB (limit {limit} MB)")
    # `feeds` may show the poll a moment before its transaction commits
    fwtest.wait_until(lambda: d.count_items("wire") == 150, 20, "the 150 items stored")
    asked = [r["path"] for r in s.requests() if r["path"] != "/wire.xml"]
    # max_articles_per_poll (50): the first 50 links of the document, each once.
    want = sorted(f"/{('big', 'bomb', 'page')[i % 3]}/{i}.html" for i in range(50))
    assert sorted(asked) == want, (len(asked), sorted(asked)[:5])
    stored = dict(d.query("SELECT title, text FROM items"))
    for i in range(150):
        kind = ("big", "bomb", "page")[i % 3]
        text = stored[f"{kind} {i}"]
        if kind == "page" and i < 50:
            assert text != f"Teaser {i}." and len(text) > 500, (i, text[:80])
        else:
            assert text == f"Teaser {i}.", (i, text[:80])
    log = d.log()
    assert "page exceeds max_article_size (2097152 bytes)" in log
    assert "150 new items with a page, downloading 50 (max_articles_per_poll)" in log
    assert hwm < limit, f"daemon peak RSS {hwm:.0f} MB >= {limit} MB"
    assert d.stop() == 0


def test_pages_a_few_at_a_time_within_the_memory_budget(t):
    page = open(PAGE, "rb").read()
    # One feed of 12 slow pages: a few at a time (4), every one downloaded.
    s1 = t.httpd()
    items = []
    for i in range(12):
        s1.add_slow(f"/slow/{i}.html", page, delay=0.4, content_type="text/html")
        items.append((f"slow {i}", s1.url(f"/slow/{i}.html"), f"Teaser {i}."))
    s1.add_file("/one.xml", rss(items))
    # Four feeds of 5 slow pages each, under a memory budget of two pages (all feeds).
    s2 = t.httpd()
    feeds = {"one": {"url": s1.url("/one.xml"), "fetch_article": "yes",
                     "allow_private_addresses": "yes"}}
    for k in range(4):
        its = []
        for i in range(5):
            path = f"/f{k}/{i}.html"
            s2.add_slow(path, page, delay=0.4, content_type="text/html")
            its.append((f"f{k} {i}", s2.url(path), f"Teaser f{k} {i}."))
        s2.add_file(f"/f{k}.xml", rss(its))
        feeds[f"f{k}"] = {"url": s2.url(f"/f{k}.xml"), "fetch_article": "yes",
                          "allow_private_addresses": "yes"}
    # max_per_host well above 4: the limit seen is the poll's own.
    one = t.daemon({"one": feeds.pop("one")}, name="one", max_per_host=32).start()
    assert one.wait_polled(["one"], timeout=60)["one"]["state"] == "ok"
    assert all(s1.count(f"/slow/{i}.html") == 1 for i in range(12))
    assert 1 <= s1.max_active <= 4, s1.max_active
    assert one.stop() == 0

    four = t.daemon(feeds, name="four", max_per_host=32, max_article_size="1M",
                    max_article_memory="2M").start()
    state = four.wait_polled(list(feeds), timeout=60)
    assert all(state[n]["state"] == "ok" for n in feeds), state
    assert all(s2.count(f"/f{k}/{i}.html") == 1 for k in range(4) for i in range(5))
    assert 1 <= s2.max_active <= 2, s2.max_active
    fwtest.wait_until(lambda: four.count_items() == 20, 20, "the 20 items stored")
    stored = dict(four.query("SELECT title, text FROM items"))
    assert all(stored[f"f{k} {i}"] != f"Teaser f{k} {i}." for k in range(4) for i in range(5))
    assert four.stop() == 0


def test_stalled_pages_end_at_the_timeout(t):
    s = t.httpd()
    items = []
    for i in range(8):
        s.add_stall(f"/stall/{i}.html", head=b"<html><body><p>Half a page")
        items.append((f"stall {i}", s.url(f"/stall/{i}.html"), f"Teaser {i}."))
    s.add_file("/wire.xml", rss(items))
    d = t.daemon({"wire": {"url": s.url("/wire.xml"), "fetch_article": "yes",
                           "allow_private_addresses": "yes"}}, fetch_timeout="2s")
    started = time.monotonic()
    d.start()
    # 8 pages, 4 at a time, 2 s each: the poll ends (with the feed's text) in a few seconds.
    assert d.wait_polled(["wire"], timeout=30)["wire"]["state"] == "ok"
    took = time.monotonic() - started
    assert all(s.count(f"/stall/{i}.html") == 1 for i in range(8))
    fwtest.wait_until(lambda: d.count_items() == 8, 20, "the 8 items stored")
    stored = dict(d.query("SELECT title, text FROM items"))
    assert stored == {f"stall {i}": f"Teaser {i}." for i in range(8)}, stored
    assert d.status()["ok"] is True
    print(f"    poll with 8 stalled pages ended after {took:.1f}s")
    assert d.stop() == 0


def test_stop_and_reload_while_pages_wait_for_memory(t):
    """Polls waiting in line for article memory: a reload that removes their feeds cancels
    them, and a SIGTERM ends the rest cleanly; nothing is half stored."""
    s = t.httpd()
    feeds = {}
    for k in range(4):
        its = []
        for i in range(3):
            path = f"/w{k}/{i}.html"
            s.add_stall(path, head=b"<html><body><p>Half a page")
            its.append((f"w{k} {i}", s.url(path), f"Teaser w{k} {i}."))
        s.add_file(f"/w{k}.xml", rss(its))
        feeds[f"w{k}"] = {"url": s.url(f"/w{k}.xml"), "fetch_article": "yes",
                          "allow_private_addresses": "yes"}
    # one page in memory at a time: one download runs, the others wait in line
    d = t.daemon(feeds, fetch_timeout="30s", max_article_size="1M",
                 max_article_memory="1M").start()

    def pages():
        return [r["path"] for r in s.requests() if r["path"].endswith(".html")]
    fwtest.wait_until(lambda: len(pages()) >= 1 and
                      all(s.count(f"/w{k}.xml") == 1 for k in range(4)), 20,
                      "the four feeds fetched and a page requested")
    time.sleep(0.5)
    assert len(pages()) == 1, pages()             # the rest wait for memory
    # The reload removes three feeds: their polls, downloading or waiting, are cancelled.
    d.feeds = {"w0": feeds["w0"]}
    d.write_config()
    d.signal(signal.SIGHUP)
    fwtest.wait_until(lambda: "config: reloaded" in d.log(), 10, "the reload")
    fwtest.wait_until(lambda: all(f"poll: feed 'w{k}': aborted" in d.log() for k in (1, 2, 3)),
                      10, "the removed feeds' polls aborted")
    assert d.status()["ok"] is True
    t0 = time.monotonic()
    assert d.stop(timeout=15) == 0
    assert time.monotonic() - t0 < 10, "stop waited for the stalled downloads"
    assert d.count_items() == 0, "a poll stored while its articles were cut short"


if __name__ == "__main__":
    fwtest.main()
