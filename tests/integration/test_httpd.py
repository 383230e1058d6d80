#!/usr/bin/python3
"""Self-test of the scripted HTTP server the other integration tests rely on (no daemon)."""

import gzip
import http.client
import threading
import time
import xml.etree.ElementTree as ET

import fwtest
import httpd


def get(server, path, headers=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_file_validators_and_304(t):
    s = t.httpd()
    raw = open(fwtest.fixture("rss-news.xml"), "rb").read()
    content = s.add_file("/news.xml", file=fwtest.fixture("rss-news.xml"))
    resp, body = get(s, "/news.xml")
    assert resp.status == 200 and body == raw
    etag, lm = resp.getheader("ETag"), resp.getheader("Last-Modified")
    assert etag and lm
    assert get(s, "/news.xml", {"If-None-Match": etag})[0].status == 304
    assert get(s, "/news.xml", {"If-None-Match": 'W/"x", ' + etag})[0].status == 304
    assert get(s, "/news.xml", {"If-Modified-Since": lm})[0].status == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    assert get(s, "/news.xml", {"If-None-Match": '"other"', "If-Modified-Since": lm})[0].status == 200
    content.set(open(fwtest.fixture("rss-news-updated.xml"), "rb").read())
    resp, body = get(s, "/news.xml", {"If-None-Match": etag, "If-Modified-Since": lm})
    assert resp.status == 200 and resp.getheader("ETag") != etag
    assert get(s, "/news.xml", {"If-Modified-Since": lm})[0].status == 200
    assert s.statuses("/news.xml") == [200, 304, 304, 304, 200, 200, 200]
    assert s.requests("/news.xml")[1]["headers"]["if-none-match"] == etag
    assert s.count("/nothing") == 0


def test_gzip_when_accepted(t):
    s = t.httpd()
    raw = open(fwtest.fixture("atom-blog.xml"), "rb").read()
    s.add_file("/blog.atom", raw, content_type="application/atom+xml")
    resp, body = get(s, "/blog.atom", {"Accept-Encoding": "deflate, gzip;q=0.5, br"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == raw
    resp, body = get(s, "/blog.atom", {"Accept-Encoding": "gzip;q=0"})
    assert resp.getheader("Content-Encoding") is None and body == raw
    resp, body = get(s, "/blog.atom")
    assert resp.getheader("Content-Encoding") is None and body == raw
    assert [r["encoding"] for r in s.requests("/blog.atom")] == ["gzip", None, None]


def test_redirect_and_status(t):
    s = t.httpd()
    s.add_redirect("/old", "/new", 301)
    s.add_status("/gone", 404)
    s.add_status("/broken", 500, b"oops\n")
    resp, _ = get(s, "/old")
    assert resp.status == 301 and resp.getheader("Location") == "/new"
    resp, body = get(s, "/gone")
    assert resp.status == 404 and body
    resp, body = get(s, "/broken")
    assert resp.status == 500 and body == b"oops\n"
    assert get(s, "/unknown")[0].status == 404


def test_large_bodies_are_valid_rss(t):
    s = t.httpd()
    n = s.add_large("/big.xml", 200 * 1024)
    resp, body = get(s, "/big.xml")
    assert resp.status == 200 and len(body) == n >= 200 * 1024
    assert len(ET.fromstring(body).findall("channel/item")) > 100
    n = s.add_large("/bomb.xml", 1 << 20, gzip_body=True)
    resp, body = get(s, "/bomb.xml", {"Accept-Encoding": "gzip"})
    assert resp.getheader("Content-Encoding") == "gzip" and len(body) == n < 64 * 1024
    assert len(gzip.decompress(body)) >= 1 << 20


def test_stall_released_by_shutdown(t):
    s = t.httpd()
    s.add_stall("/stall")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    conn.request("GET", "/stall")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read1(65536).startswith(b"<?xml")
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("rest", resp.read1(65536)))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive(), "the stalled body should not have continued"
    start = time.monotonic()
    s.shutdown()
    assert time.monotonic() - start < 1.5, "shutdown blocked by a stalled request"
    reader.join(5)
    assert not reader.is_alive() and got["rest"] == b"", "stall did not end at shutdown"
    conn.close()


def test_wait_until(t):
    start = time.monotonic()
    assert fwtest.wait_until(lambda: time.monotonic() - start > 0.1 and 42, 2, "x") == 42
    try:
        fwtest.wait_until(lambda: False, 0.2, "never")
    except AssertionError as e:
        assert "never" in str(e)
    else:
        raise AssertionError("wait_until did not time out")


if __name__ == "__main__":
    fwtest.main()
