#!/usr/bin/python3
"""Where a URL that strangers chose may lead the daemon (issue 14, holes 1 and 2).

An item's link (fetch_article = yes) and a feed's redirect to another host reach public
addresses only: loopback in every spelling (127.0.0.1, one number, hex, IPv4-mapped IPv6,
::1, a name), link-local (the cloud metadata address) and the rest are refused with
"address A is not public (allow_private_addresses)", and the server is never asked;
allow_private_addresses = yes (per feed, or in [daemon] with a feed's own value winning)
lets them through. The configured feed URL and redirects on its host are the operator's
choice. Through a proxy the daemon checks the address itself: the proxy is never asked for
a non-public one, and a public one is pinned (a CONNECT tunnel to that address). A feed's header and credentials go to its origin only, never along a
redirect to another one. A file: feed's links are never read as files."""

import os
import socket
import threading
from xml.sax.saxutils import escape

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PAGE = os.path.join(SRC, "tests", "fixtures", "html", "seed-000.page.html")
REFUSED = "is not public (allow_private_addresses)"


def rss(items):
    """RSS 2.0: items are (title, link, description text)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
           "<title>Wire</title><link>http://127.0.0.1/</link><description>d</description>"]
    for i, (title, link, desc) in enumerate(items):
        out.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                   f"<guid>item-{i}</guid><description>{escape(desc)}</description></item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def texts(d, n=None):
    """{title: text} of the stored items, once n of them are there (`feeds` may show a poll
    a moment before its transaction commits)."""
    if n is not None:
        fwtest.wait_until(lambda: d.count_items() >= n, 20, f"{n} items stored")
    return dict(d.query("SELECT title, text FROM items"))


def test_article_links_to_private_addresses_are_refused(t):
    s = t.httpd()
    port = s.port
    links = {
        "plain": s.url("/p/plain.html"),
        "number": f"http://2130706433:{port}/p/number.html",      # 127.0.0.1 as one number
        "hex": f"http://0x7f.1:{port}/p/hex.html",                # 127.0.0.1 in hex, short
        "name": f"http://localhost:{port}/p/name.html",           # a name for loopback
        "mapped": f"http://[::ffff:127.0.0.1]:{port}/p/mapped.html",
        "v6": f"http://[::1]:{port}/p/v6.html",
        "metadata": "http://169.254.169.254/latest/meta-data/",  # the cloud metadata address
        "private": f"http://10.255.255.1:{port}/p/private.html",
    }
    for name in links:
        s.add_file(f"/p/{name}.html", file=PAGE, content_type="text/html; charset=utf-8")
    items = [(name, url, f"Teaser {name}.") for name, url in links.items()]
    s.add_file("/wire.xml", rss(items))
    d = t.daemon({"wire": {"url": s.url("/wire.xml"), "fetch_article": "yes"}}).start()
    # The configured feed URL is on loopback: the operator's choice, fetched.
    assert d.wait_polled(["wire"], timeout=30)["wire"]["state"] == "ok"
    stored = texts(d, len(links))
    assert stored == {name: f"Teaser {name}." for name in links}, stored
    for name in links:
        assert s.count(f"/p/{name}.html") == 0, f"{name}: the page was requested"
    log = d.log()
    lines = [line for line in log.splitlines() if "article: address" in line]
    for name, url in links.items():
        line = next((line for line in lines if url in line), None)
        assert line is not None and REFUSED in line, (name, lines)
    assert f"article: address 127.0.0.1 {REFUSED}: {links['plain']}" in log
    assert f"article: address 127.0.0.1 {REFUSED}: {links['number']}" in log
    assert f"article: address 127.0.0.1 {REFUSED}: {links['hex']}" in log
    assert f"article: address ::ffff:127.0.0.1 {REFUSED}" in log
    assert f"article: address ::1 {REFUSED}" in log
    assert f"article: address 169.254.169.254 {REFUSED}" in log
    assert f"article: address 10.255.255.1 {REFUSED}" in log
    assert d.stop() == 0


def test_allow_private_addresses_per_feed_and_daemon(t):
    s = t.httpd()
    s.add_file("/page.html", file=PAGE, content_type="text/html; charset=utf-8")
    s.add_file("/page2.html", file=PAGE, content_type="text/html; charset=utf-8")
    s.add_file("/open.xml", rss([("open", f"http://2130706433:{s.port}/page.html", "Teaser.")]))
    s.add_file("/shut.xml", rss([("shut", s.url("/page2.html"), "Teaser shut.")]))
    # [daemon] allows; the feed "shut" says no for itself.
    d = t.daemon({"open": {"url": s.url("/open.xml"), "fetch_article": "yes"},
                  "shut": {"url": s.url("/shut.xml"), "fetch_article": "yes",
                           "allow_private_addresses": "no"}},
                 allow_private_addresses="yes").start()
    d.wait_polled(["open", "shut"], timeout=30)
    stored = texts(d, 2)
    assert s.count("/page.html") == 1
    assert stored["open"] and stored["open"] != "Teaser." and len(stored["open"]) > 200, stored
    assert s.count("/page2.html") == 0
    assert stored["shut"] == "Teaser shut.", stored
    assert f"article: address 127.0.0.1 {REFUSED}" in d.log()
    assert d.stop() == 0


def test_feed_redirect_off_its_host_must_be_public(t):
    s = t.httpd()
    s.add_file("/real.xml", rss([("one", "", "x")]))
    s.add_redirect("/away.xml", f"http://localhost:{s.port}/real.xml")   # another host
    s.add_redirect("/home.xml", s.url("/real.xml"))                      # the same host
    s.add_redirect("/away-ok.xml", f"http://localhost:{s.port}/real.xml")
    d = t.daemon({"away": s.url("/away.xml"), "home": s.url("/home.xml"),
                  "awayok": {"url": s.url("/away-ok.xml"), "allow_private_addresses": "yes"}})
    d.start()
    state = d.wait_polled(["away", "home", "awayok"], timeout=30)
    assert state["home"]["state"] == "ok", state["home"]
    assert state["awayok"]["state"] == "ok", state["awayok"]
    assert state["away"]["state"] == "failing", state["away"]
    assert REFUSED in state["away"]["last_error"], state["away"]
    assert s.count("/real.xml") == 2          # home and awayok, never away's hop
    assert f"{REFUSED}" in d.log()
    assert d.stop() == 0


def test_secrets_stay_with_their_origin(t):
    s1, s2 = t.httpd(), t.httpd()
    pw = os.path.join(t.dir, "pw")
    with open(pw, "w") as f:
        f.write("hunter2\n")
    # another origin (host and port): the header and the credentials stay behind
    s1.add_redirect("/moved.xml", f"http://localhost:{s2.port}/feed.xml")
    s2.add_file("/feed.xml", rss([("moved", "", "x")]))
    # the same origin: they go along
    s1.add_redirect("/a.xml", s1.url("/b.xml"))
    s1.add_file("/b.xml", rss([("same", "", "x")]))
    secret = {"header": "X-Api-Key: s3cret-key", "user": "reader", "password_file": pw,
              "allow_private_addresses": "yes"}
    # credentials in the URL itself stay behind too
    s1.add_redirect("/moved2.xml", f"http://localhost:{s2.port}/feed2.xml")
    s2.add_file("/feed2.xml", rss([("moved2", "", "x")]))
    d = t.daemon({"moved": dict(secret, url=s1.url("/moved.xml")),
                  "same": dict(secret, url=s1.url("/a.xml")),
                  "urlauth": {"url": f"http://reader:hunter2@127.0.0.1:{s1.port}/moved2.xml",
                              "allow_private_addresses": "yes"}}).start()
    state = d.wait_polled(["moved", "same", "urlauth"], timeout=30)
    assert all(state[n]["state"] == "ok" for n in ("moved", "same", "urlauth")), state
    assert s1.requests("/moved2.xml")[0]["headers"].get("authorization")
    assert "authorization" not in s2.requests("/feed2.xml")[0]["headers"]
    first = s1.requests("/moved.xml")[0]["headers"]
    assert first.get("x-api-key") == "s3cret-key" and first.get("authorization"), first
    hop = s2.requests("/feed.xml")[0]["headers"]
    assert "x-api-key" not in hop, hop
    assert "authorization" not in hop, hop
    for path in ("/a.xml", "/b.xml"):
        h = s1.requests(path)[0]["headers"]
        assert h.get("x-api-key") == "s3cret-key" and h.get("authorization"), (path, h)
    assert d.stop() == 0


def test_file_feed_links_are_never_read_as_files(t):
    secret = os.path.join(t.dir, "secret.html")
    with open(secret, "w") as f:
        f.write("<html><body><article><p>" + "SECRET-LOCAL-FILE must never be stored. " * 30 +
                "</p></article></body></html>")
    feed = os.path.join(t.dir, "feed.xml")
    with open(feed, "wb") as f:
        f.write(rss([("local", "file://" + secret, "The teaser stays."),
                     ("local2", "FILE://" + secret, "The second teaser stays.")]))
    d = t.daemon({"local": {"url": "file://" + feed, "fetch_article": "yes",
                            "allow_private_addresses": "yes"}}).start()
    assert d.wait_polled(["local"], timeout=30)["local"]["state"] == "ok"
    stored = texts(d, 2)
    assert stored == {"local": "The teaser stays.", "local2": "The second teaser stays."}, stored
    assert d.stop() == 0


def test_userinfo_of_a_feed_url_is_never_shown(t):
    s = t.httpd()
    s.add_file("/feed.xml", rss([("one", "", "x")]))
    s.add_redirect("/old.xml", f"http://reader:hunter2@127.0.0.1:{s.port}/feed.xml", status=301)
    url = f"http://reader:hunter2@127.0.0.1:{s.port}/old.xml"
    # The move is applied on the first poll that sees it (move_confirmations = 1; the default
    # of 3 consecutive polls is test_feed_events.py's), and its feed-moved event says it.
    d = t.daemon({"auth": url}, move_confirmations="1").start()
    assert d.wait_polled(["auth"], timeout=30)["auth"]["state"] == "ok"
    # the server got the credentials: they are in use, not dropped
    assert s.requests("/old.xml")[0]["headers"].get("authorization")
    shown = d.feed("auth")
    assert shown["configured_url"] == f"http://***@127.0.0.1:{s.port}/old.xml", shown
    assert shown["url"] == f"http://***@127.0.0.1:{s.port}/feed.xml", shown
    rc, _ = d.cli("feeds", json_out=False)
    out = d.last[2]
    assert rc == 0 and "auth" in out and "hunter2" not in out and "reader" not in out, out
    log = d.log()
    assert f"moved permanently to 'http://***@127.0.0.1:{s.port}/feed.xml'" in log, log
    assert "hunter2" not in log, log
    # Nor in the feed event a hook would get.
    ev = d.query("SELECT url, reason FROM feed_events")
    assert ev == [(f"http://***@127.0.0.1:{s.port}/feed.xml",
                   f"moved permanently from http://***@127.0.0.1:{s.port}/old.xml to "
                   f"http://***@127.0.0.1:{s.port}/feed.xml (seen on 1 consecutive polls)")], ev
    assert d.stop() == 0


def test_relative_links_do_not_carry_the_feed_urls_userinfo(t):
    """review16: "#comments" resolved against http://reader:hunter2@host/feed.xml put the
    password into the item's URL, which every peer of the socket reads."""
    s = t.httpd()
    s.add_file("/feeds/feed.xml", rss([("one", "#comments", "x"), ("two", "./", "y"),
                                       ("three", "/top", "z")]))
    url = f"http://reader:hunter2@127.0.0.1:{s.port}/feeds/feed.xml"
    d = t.daemon({"auth": url}).start()
    assert d.wait_polled(["auth"], timeout=30)["auth"]["state"] == "ok"
    assert s.requests("/feeds/feed.xml")[0]["headers"].get("authorization")
    urls = {i["title"]: i["url"] for i in d.items()}
    base = f"http://127.0.0.1:{s.port}"
    assert urls == {"one": f"{base}/feeds/feed.xml#comments", "two": f"{base}/feeds/",
                    "three": f"{base}/top"}, urls
    rc, _ = d.cli("items", json_out=False)
    assert rc == 0 and "hunter2" not in d.last[2] and "reader" not in d.last[2], d.last[2]
    assert d.stop() == 0


def test_secret_query_parameters_of_a_feed_url_are_never_shown(t):
    s = t.httpd()
    s.add_file("/feed.xml", rss([("one", "", "x")]))
    s.add_redirect("/old.xml", f"http://127.0.0.1:{s.port}/feed.xml?X-Api-Key=MOVEDKEY&page=2",
                   status=301)
    url = f"http://127.0.0.1:{s.port}/old.xml?token=QUERYTOKEN&lang=en&Access_Token=ACCESS"
    d = t.daemon({"q": url}, move_confirmations="1").start()  # moved at its first poll
    assert d.wait_polled(["q"], timeout=30)["q"]["state"] == "ok"
    # the server got them: in use, not dropped
    assert s.requests("/old.xml")[0]["target"].endswith(
        "?token=QUERYTOKEN&lang=en&Access_Token=ACCESS")
    assert s.requests("/feed.xml")[0]["target"].endswith("?X-Api-Key=MOVEDKEY&page=2")
    rc, doc = d.cli("feeds", "--json")
    assert rc == 0, d.describe_last()
    shown = next(f for f in doc["feeds"] if f["name"] == "q")
    assert shown["configured_url"] == \
        f"http://127.0.0.1:{s.port}/old.xml?token=***&lang=en&Access_Token=***", shown
    assert shown["url"] == f"http://127.0.0.1:{s.port}/feed.xml?X-Api-Key=***&page=2", shown
    out = d.last[2]
    rc, _ = d.cli("feeds", json_out=False)
    out += d.last[2]
    log = d.log()
    for secret in ("QUERYTOKEN", "ACCESS", "MOVEDKEY"):
        assert secret not in out, out
        assert secret not in log, log
    assert f"moved permanently to 'http://127.0.0.1:{s.port}/feed.xml?X-Api-Key=***&page=2'" \
        in log, log
    events = repr(d.query("SELECT url, reason FROM feed_events"))
    assert "X-Api-Key=***" in events, events
    for secret in ("QUERYTOKEN", "ACCESS", "MOVEDKEY"):
        assert secret not in events, events
    assert d.stop() == 0


class Proxy:
    """A loopback HTTP proxy that records each request line and answers 502; with
    redirect_to, a CONNECT is accepted and the request inside the tunnel is answered with a
    302 to that URL (an outside server sending its client inside)."""

    def __init__(self, redirect_to=None):
        self.redirect_to = redirect_to
        self.lines = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    line = data.split(b"\r\n", 1)[0].decode("latin-1")
                    self.lines.append(line)
                    if self.redirect_to and line.startswith("CONNECT "):
                        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        inner = b""
                        while b"\r\n\r\n" not in inner and len(inner) < 65536:
                            chunk = conn.recv(4096)
                            if not chunk:
                                break
                            inner += chunk
                        self.lines.append("tunnel: " + inner.split(b"\r\n", 1)[0].decode())
                        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: %s\r\n"
                                     b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                                     % self.redirect_to.encode())
                        continue
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_through_a_proxy_the_daemon_checks_the_address(t):
    proxy = Proxy()
    try:
        # 127.0.0.2 and 2130706434 are loopback but not in the tests' NO_PROXY.
        feed = os.path.join(t.dir, "feed.xml")
        with open(feed, "wb") as f:
            f.write(rss([("two", "http://127.0.0.2:9/p/two.html", "Teaser two."),
                         ("num", "http://2130706434:9/p/num.html", "Teaser num."),
                         # public (a deprecated anycast block): pinned, tunnelled through
                         # the proxy, which answers 502 (nothing leaves loopback)
                         ("pub", "http://192.88.99.1:9/p/pub.html", "Teaser pub.")]))
        open_feed = os.path.join(t.dir, "open.xml")
        with open(open_feed, "wb") as f:
            f.write(rss([("open", "http://127.0.0.2:9/p/open.html", "Teaser open.")]))
        d = t.daemon({"shut": {"url": "file://" + feed, "fetch_article": "yes"}},
                     proxy=f"http://127.0.0.1:{proxy.port}").start()
        assert d.wait_polled(["shut"], timeout=30)["shut"]["state"] == "ok"
        assert proxy.lines == ["CONNECT 192.88.99.1:9 HTTP/1.1"], proxy.lines
        assert texts(d, 3) == {"two": "Teaser two.", "num": "Teaser num.", "pub": "Teaser pub."}
        log = d.log()
        assert f"article: address 127.0.0.2 {REFUSED}: http://127.0.0.2:9/p/two.html" in log
        assert f"article: address 127.0.0.2 {REFUSED}: http://2130706434:9/p/num.html" in log
        assert d.stop() == 0

        proxy.lines.clear()
        # Allowed, the same kind of link goes to the proxy as it is (no pin, no tunnel).
        d.feeds = {"open": {"url": "file://" + open_feed, "fetch_article": "yes",
                            "allow_private_addresses": "yes"}}
        d.write_config()
        d.start()
        d.wait_polled(["open"], timeout=30)
        fwtest.wait_until(lambda: proxy.lines, 10, "a request through the proxy")
        assert proxy.lines == ["GET http://127.0.0.2:9/p/open.html HTTP/1.1"], proxy.lines
        assert d.stop() == 0
    finally:
        proxy.close()


def test_a_redirect_from_outside_to_inside_is_refused(t):
    """An item page on a public address that redirects to loopback: the hop is checked as the
    first was (here through a proxy, whose tunnel stands in for the outside server)."""
    s = t.httpd()
    s.add_file("/p/inside.html", file=PAGE, content_type="text/html; charset=utf-8")
    inside = f"http://127.0.0.2:{s.port}/p/inside.html"   # not in the tests' NO_PROXY
    proxy = Proxy(redirect_to=inside)
    try:
        feed = os.path.join(t.dir, "feed.xml")
        with open(feed, "wb") as f:
            f.write(rss([("out", "http://192.88.99.1:9/p/out.html", "Teaser out.")]))
        d = t.daemon({"f": {"url": "file://" + feed, "fetch_article": "yes"}},
                     proxy=f"http://127.0.0.1:{proxy.port}").start()
        assert d.wait_polled(["f"], timeout=30)["f"]["state"] == "ok"
        assert texts(d, 1) == {"out": "Teaser out."}
        assert proxy.lines == ["CONNECT 192.88.99.1:9 HTTP/1.1",
                               "tunnel: GET /p/out.html HTTP/1.1"], proxy.lines
        assert s.count("/p/inside.html") == 0
        assert f"article: address 127.0.0.2 {REFUSED}: http://192.88.99.1:9/p/out.html" \
            in d.log()
        assert d.stop() == 0
    finally:
        proxy.close()


if __name__ == "__main__":
    fwtest.main()
