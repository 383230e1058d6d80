#!/usr/bin/python3
"""The control socket under hostile clients, and the CLI when the daemon is not there."""

import json
import os
import socket
import threading

import fwtest
from fwtest import feed_titles, fixture

NEWS = fixture("rss-news.xml")


def started(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])
    return s, d


def is_error(resp):
    return isinstance(resp, dict) and resp.get("ok") is False and \
        isinstance(resp.get("error"), str) and resp["error"] != ""


def assert_status_ok(resp):
    assert isinstance(resp, dict) and resp.get("ok") is True, resp
    assert resp.get("protocol") == 2 and resp["feeds"]["total"] == 1, resp


def test_malformed_requests_keep_connection(t):
    s, d = started(t)
    c = d.connect()
    bad = [b"not json\n", b"{\"cmd\": \"status\"\n", b"[1, 2]\n", b"\"status\"\n", b"{}\n",
           b"{\"cmd\": 5}\n", b"{\"cmd\": null}\n", b"{\"cmd\": \"bogus\"}\n",
           b"{\"cmd\": \"status\\u0000\"}\n", b"\xff\xfe{\"cmd\": \"status\"}\n",
           b"{\"cmd\": \"items\", \"limit\": \"ten\"}\n", b"{\"cmd\": \"items\", \"limit\": -1}\n",
           b"{\"cmd\": \"items\", \"feed\": 7}\n", b"{\"cmd\": \"poll\", \"wait\": \"yes\"}\n"]
    for req in bad:
        resp = c.request(req)
        assert is_error(resp), f"{req!r} -> {resp!r}"
        assert_status_ok(c.request({"cmd": "status"}))
    resp = c.request({"cmd": "bogus"})
    assert "bogus" in resp["error"], resp
    resp = c.request({"cmd": "poll", "feed": "nope"})
    assert is_error(resp) and "nope" in resp["error"], resp
    resp = c.request({"cmd": "items", "feed": "nope"})
    assert is_error(resp), resp
    c.close()
    assert d.running()
    assert d.stop() == 0


def test_overlong_line(t):
    s, d = started(t)
    c = d.connect()
    for line in (b"x" * 100 * 1024 + b"\n",
                 (json.dumps({"cmd": "status", "pad": "y" * 100 * 1024}) + "\n").encode()):
        resp = c.request(line)
        assert is_error(resp), resp
        try:
            resp = c.request({"cmd": "status"})
        except OSError:
            resp = None
        if resp is None:    # the daemon may drop a client that sent this; it must still serve
            c.close()
            c = d.connect()
            resp = c.request({"cmd": "status"})
        assert_status_ok(resp)
    c.close()
    # a client that sends a huge line and vanishes before the newline
    c = d.connect()
    c.send(b"z" * 300 * 1024)
    c.close()
    assert_status_ok(d.connect().request({"cmd": "status"}))
    assert d.stop() == 0


def test_pipelined_and_split_requests(t):
    s, d = started(t)
    c = d.connect()
    c.send(b'{"cmd":"status"}\n{"cmd":"feeds"}\n{"cmd":"items","limit":2}\n')
    assert_status_ok(c.recv_line())
    assert [f["name"] for f in c.recv_line()["feeds"]] == ["news"]
    items = c.recv_line()
    assert items["ok"] is True and len(items["items"]) == 2, items
    for byte in b'{"cmd": "items", "feed": "news"}\n':
        c.send(bytes([byte]))
    items = c.recv_line()
    assert sorted(i["title"] for i in items["items"]) == sorted(feed_titles(NEWS)), items
    c.close()
    assert d.stop() == 0


def test_clients_that_vanish(t):
    s, d = started(t)
    # half a request, then gone
    c = d.connect()
    c.send(b'{"cmd": "sta')
    c.close()
    # a waiting poll whose client leaves before the answer
    c = d.connect()
    c.send({"cmd": "poll", "wait": True})
    c.close()
    fwtest.wait_until(lambda: s.count("/news.xml") == 2, 10, "the poll of the vanished client")
    fwtest.wait_until(lambda: d.status()["polls_in_flight"] == 0, 10, "the poll to end")
    # many clients at once
    results = []

    def one():
        try:
            results.append(d.connect().request({"cmd": "status"}))
        except OSError as e:
            results.append(e)
    threads = [threading.Thread(target=one) for _ in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    assert len(results) == 16 and all(isinstance(r, dict) and r["ok"] for r in results), results
    assert d.running()
    assert d.stop() == 0


def test_cli_exit_3_without_daemon(t):
    d = t.daemon()
    rc, doc = d.cli("status")
    assert rc == 3, d.describe_last()
    assert d.last[3].strip(), "no message on stderr"
    # a stale socket file nobody listens on
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(d.sock)
    try:
        rc, doc = d.cli("feeds")
        assert rc == 3, d.describe_last()
    finally:
        stale.close()
        os.unlink(d.sock)


if __name__ == "__main__":
    fwtest.main()
