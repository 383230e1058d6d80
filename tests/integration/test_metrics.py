#!/usr/bin/python3
"""Metrics: `feedwatch metrics` and, with `[daemon] metrics_listen`, GET /metrics over HTTP
give the same Prometheus text, which a Prometheus text-format parser (python3-prometheus-client)
reads: polls by outcome, HTTP status classes, bytes, new items, alerts by topic, hook
deliveries by hook and outcome with their latency, feeds by state, poll lag, queue lengths,
search lag, memory and per-host errors. Only /metrics is served."""

import os
import socket
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import fwtest
from fwtest import fixture

NEWS = fixture("rss-news.xml")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text):
    """{(name, frozenset(labels)): value} and the set of family names, from the text."""
    out, families = {}, {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam.type
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, families


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


def test_metrics_text_and_http(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_status("/broken.xml", 503)
    port = free_port()
    hook_dir = os.path.join(t.dir, "hook")
    os.mkdir(hook_dir)
    hook = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")
    d = t.daemon({"news": s.url("/news.xml"), "broken": s.url("/broken.xml")},
                 metrics_listen=f"127.0.0.1:{port}")
    d.write_config(fwtest.conf_text(d.settings, d.feeds, f"""
[topic "any"]
match = title:vienna OR title:harbour OR title:wheat
hooks = rec

[hook "rec"]
exec = {sys.executable} {hook} {hook_dir}
"""))
    d.start()
    d.wait_polled(["news", "broken"])
    alerts = d.cli_ok("alerts", "--limit", "1000")["alerts"]
    assert alerts, "the topic matched nothing: the test needs an alert"
    fwtest.wait_until(lambda: all(a["state"] == "delivered" for a in
                                  d.cli_ok("alerts", "--limit", "1000")["alerts"]),
                      30, "every alert delivered")
    d.poll_wait()     # a second cycle: 304 for news, 503 again for broken

    rc, doc = d.cli("metrics")
    assert rc == 0 and doc["ok"] is True, d.describe_last()
    text = doc["text"]
    smp, fams = samples(text)
    items = d.count_items("news")
    assert value(smp, "feedwatch_polls_total", outcome="ok") == 1, text
    assert value(smp, "feedwatch_polls_total", outcome="not_modified") == 1, text
    assert value(smp, "feedwatch_polls_total", outcome="error") == 2, text
    assert value(smp, "feedwatch_http_responses_total", **{"class": "5xx"}) == 2
    assert value(smp, "feedwatch_http_responses_total", **{"class": "2xx"}) == 1
    assert value(smp, "feedwatch_http_responses_total", **{"class": "3xx"}) == 1
    assert value(smp, "feedwatch_fetched_bytes_total") >= os.path.getsize(NEWS)
    assert value(smp, "feedwatch_items_new_total") == items
    assert value(smp, "feedwatch_alerts_total", topic="any") == len(alerts)
    assert value(smp, "feedwatch_hook_deliveries_total", hook="rec",
                 outcome="delivered") == len(alerts)
    assert value(smp, "feedwatch_delivery_latency_seconds_count", hook="rec") == len(alerts)
    assert value(smp, "feedwatch_host_errors_total", host="127.0.0.1") == 2
    assert value(smp, "feedwatch_feeds", state="ok") == 1
    assert value(smp, "feedwatch_feeds", state="failing") == 1
    # The two scheduled first polls have a lag; the two asked for with `poll` were not due.
    assert value(smp, "feedwatch_poll_lag_seconds_count") == 2, text
    assert value(smp, "feedwatch_items") == items
    assert value(smp, "feedwatch_resident_memory_bytes") > 1 << 20
    for name in ("queue_length", "search_lag_items", "database_bytes", "uptime_seconds"):
        assert "feedwatch_" + name in fams, (name, sorted(fams))
    assert fams["feedwatch_poll_lag_seconds"] == "histogram"
    assert fams["feedwatch_delivery_latency_seconds"] == "histogram"

    # The same families over HTTP, with the text format's content type.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        http_smp, http_fams = samples(r.read().decode())
    assert http_fams == fams
    assert value(http_smp, "feedwatch_polls_total", outcome="error") == 2
    for path, status in (("/", 404), ("/metrics/x", 404), ("/other", 404)):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            raise AssertionError(f"{path} answered 200")
        except urllib.error.HTTPError as e:
            assert e.code == status, (path, e.code)
    # A client that sends nothing does not hold up the others.
    idle = socket.create_connection(("127.0.0.1", port))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
    idle.close()
    assert d.stop() == 0


def test_metrics_listen_is_checked_and_off_by_default(t):
    d = t.daemon({}, metrics_listen="localhost:9464")
    p = d.start(wait=False)
    assert d.wait_exit(10) == 2, d.log()
    assert "metrics_listen" in d.log() and "numeric address" in d.log(), d.log()
    d2 = t.daemon({}, name="plain").start()
    assert "metrics: serving" not in d2.log()
    rc, doc = d2.cli("metrics")     # the socket command works without a listener
    assert rc == 0 and "feedwatch_polls_total" in doc["text"]
    assert d2.stop() == 0


if __name__ == "__main__":
    fwtest.main()
