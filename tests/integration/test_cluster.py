#!/usr/bin/python3
"""Three feedwatchd on one PostgreSQL database (issue 16): 300 feeds on six loopback hosts
(127.0.0.1 to 127.0.0.6, servers that log every request) are shared by host; no feed is fetched
twice within its interval, every item is stored once, every alert raised once and delivered;
after a kill -9 of one node its feeds are polled by the others within a lease and an interval;
when it comes back it takes its share again. `status` shows the nodes.

The server is the suite's own (tests/pg/pgscratch, ctest fixture `pg`, FW_TEST_PG)."""

import os
import re
import sys
import time

import fwtest
import httpd
from test_pg_daemon import new_database, psql

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")
HOSTS = [f"127.0.0.{i}" for i in range(1, 7)]
PER_HOST = 50
INTERVAL = 10   # seconds
LEASE = 5


def feed_body(host_no, i):
    """Two items a feed; every 10th feed's first item is about the OSCE (30 alerts in all)."""
    first = f"OSCE talks, report {host_no}-{i}" if i % 10 == 0 else f"Weather {host_no}-{i}"
    return fwtest.rss_items([(f"h{host_no}f{i}a", first), (f"h{host_no}f{i}b", f"Sports {i}")])


def start_cluster(t):
    db = new_database(t)
    servers = []
    feeds = {}
    for n, host in enumerate(HOSTS, 1):
        s = httpd.Server(host=host).start()
        t.servers.append(s)
        servers.append(s)
        for i in range(PER_HOST):
            path = f"/f{i}.xml"
            s.add_file(path, feed_body(n, i))
            feeds[f"h{n}f{i}"] = s.url(path)
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    topics = (f'\n[topic "osce"]\nmatch = OSCE\nhooks = rec\n\n'
              f'[hook "rec"]\nexec = {sys.executable} {HOOK} {outdir}\ntimeout = 10s\n')
    nodes = {}
    for name in ("n1", "n2", "n3"):
        d = t.daemon(feeds, name=name, database=db, node=name, lease=f"{LEASE}s",
                     interval=f"{INTERVAL}s", min_interval=f"{INTERVAL}s", log_level="info")
        d.write_config(fwtest.conf_text(d.settings, d.feeds, topics))
        nodes[name] = d
    for d in nodes.values():
        d.start(timeout=30)
    return db, servers, feeds, nodes, outdir


def fetches(servers):
    """Every feed request: (host number, path, monotonic time), in time order."""
    out = []
    for n, s in enumerate(servers, 1):
        out += [(n, r["path"], r["time"]) for r in s.requests() if r["method"] == "GET"]
    return sorted(out, key=lambda r: r[2])


def assert_no_double_fetch(servers):
    """No feed fetched twice within its interval (half of it, for the scheduler's jitter)."""
    last = {}
    for n, path, at in fetches(servers):
        key = (n, path)
        if key in last:
            gap = at - last[key]
            assert gap >= INTERVAL / 2, f"127.0.0.{n}{path} fetched twice {gap:.2f}s apart"
        last[key] = at


def polls_in_log(d, since_marker=None):
    text = d.log()
    if since_marker is not None:
        text = text[text.rindex(since_marker):]
    return len(re.findall(r"poll: feed '", text))


def test_three_nodes_share_the_feeds(t):
    db, servers, feeds, nodes, outdir = start_cluster(t)
    # Every feed fetched, every item stored once.
    fwtest.wait_until(lambda: len({(n, p) for n, p, _ in fetches(servers)}) == len(feeds), 60,
                      "every feed fetched")
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM items") == [[str(2 * len(feeds))]],
                      60, "every item stored")
    assert psql(db, "SELECT count(DISTINCT (feed_id, key)) FROM items") == [[str(2 * len(feeds))]]
    # Every alert raised once, and delivered (at least once) by some node.
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM alerts") == [["30"]], 60,
                      "30 alerts")
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM alerts WHERE state = 'delivered'")
                      == [["30"]], 60, "30 alerts delivered")
    runs = fwtest.hook_runs(outdir)
    delivered = {r["env"]["FEEDWATCH_ALERT_ID"] for r in runs}
    # While every node lives, each delivery is claimed by one node: each alert runs once.
    assert len(delivered) == 30 and len(runs) == 30, (len(delivered), len(runs))
    # status: three nodes alive, one config.
    cl = nodes["n1"].status()["cluster"]
    assert cl["node"] == "n1" and cl["nodes_alive"] == 3 and cl["config_differs"] is False, cl
    assert sorted(n["name"] for n in cl["nodes"]) == ["n1", "n2", "n3"], cl
    nodes["n1"].cli("status", json_out=False)
    human = nodes["n1"].last[2]
    assert "node n1, 3 alive" in human and human.count("  node:") == 3, human

    # A second round at the interval: still no feed fetched twice within it, and now each
    # node polls some (the first node up may have claimed every host before the others came):
    # a host is one live node's, by rendezvous hashing of host and node names.
    time.sleep(INTERVAL + 3)
    assert_no_double_fetch(servers)
    for name, d in nodes.items():
        assert polls_in_log(d) > 0, f"{name} polled nothing"

    # kill -9 n2: its hosts go to the others within a lease, its feeds are polled within
    # a lease and an interval.
    nodes["n2"].kill()
    killed = time.monotonic()
    n2_feeds = {(int(h), f"/f{i}.xml")
                for h, i in re.findall(r"poll: feed 'h(\d)f(\d+)'", nodes["n2"].log())}
    assert n2_feeds, "n2 had polled feeds"

    def all_taken():
        after = {(n, p) for n, p, at in fetches(servers) if at > killed}
        return n2_feeds <= after
    fwtest.wait_until(all_taken, LEASE + INTERVAL + 30, "n2's feeds polled by the others")
    took = time.monotonic() - killed
    print(f"    failover: n2's {len(n2_feeds)} feeds all polled again {took:.1f}s after kill -9")
    assert took < LEASE + 2 * INTERVAL + 15, took
    assert_no_double_fetch(servers)
    fwtest.wait_until(lambda: not any(n["name"] == "n2" and n["alive"] for n in
                                      nodes["n1"].status()["cluster"]["nodes"]),
                      LEASE + 10, "n2 seen dead")

    # n2 comes back and takes its share again.
    nodes["n2"].start(timeout=30)
    marker = f"--- fwtest: start #{nodes['n2'].starts}"
    fwtest.wait_until(lambda: polls_in_log(nodes["n2"], marker) > 0, INTERVAL + 30,
                      "n2 polling again")
    assert psql(db, "SELECT count(*) FROM items") == [[str(2 * len(feeds))]]
    assert psql(db, "SELECT count(*) FROM alerts") == [["30"]]
    assert_no_double_fetch(servers)
    for d in nodes.values():
        assert d.stop(timeout=30) == 0


def test_pause_on_another_node_keeps_the_poll_state(t):
    """`pause` and `resume` on a node that did not poll the feed change its paused state only:
    the ETag, the last and next poll another node stored stay (review18 F3: the whole row was
    written from the node's old copy, and the feed fetched again without its validators)."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    s.add_file("/f.xml", feed_body(1, 1))
    nodes = {}
    for name in ("n1", "n2"):
        d = t.daemon({"f": s.url("/f.xml")}, name=name, database=db, node=name,
                     lease=f"{LEASE}s", interval="1h", log_level="info")
        nodes[name] = d.start(timeout=30)
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM feeds WHERE etag IS NOT NULL"
                                       " AND lease_node IS NULL") == [["1"]], 30,
                      "the feed polled and saved")
    poller = next(n for n, d in nodes.items() if "poll: feed 'f'" in d.log())
    other = nodes["n2" if poller == "n1" else "n1"]
    before = psql(db, "SELECT etag, last_poll_at, next_poll_at FROM feeds")
    other.cli_ok("pause", "f")
    after = psql(db, "SELECT etag, last_poll_at, next_poll_at, paused FROM feeds")
    assert after[0][:3] == before[0] and after[0][3] == "t", (before, after)
    other.cli_ok("resume", "f")
    fwtest.wait_until(lambda: s.count("/f.xml") >= 2, 30, "the poll that resume asks for")
    again = s.requests("/f.xml")[1]
    assert again["headers"].get("if-none-match"), again   # with the validators it had
    assert psql(db, "SELECT paused FROM feeds") == [["f"]]
    for d in nodes.values():
        assert d.stop(timeout=30) == 0


def test_a_node_whose_clock_is_off(t):
    """A node whose clock is two minutes behind the database server's polls at the interval,
    not at every claim (review18 F4: its next_poll_at was always in the server's past), and
    says that its clock is off."""
    lib = os.environ.get("FW_CLOCK_SKEW_LIB")
    assert lib and os.path.exists(lib), "FW_CLOCK_SKEW_LIB: run this test through ctest"
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    s.add_file("/f.xml", feed_body(1, 1))
    d = t.daemon({"f": s.url("/f.xml")}, database=db, node="behind", lease=f"{LEASE}s",
                 interval="30s", min_interval="30s", log_level="info")
    saved = {k: os.environ.get(k) for k in ("LD_PRELOAD", "FW_CLOCK_SKEW_S", "ASAN_OPTIONS")}
    os.environ["LD_PRELOAD"] = lib
    os.environ["FW_CLOCK_SKEW_S"] = "120"
    # A sanitized daemon takes the shim after its runtime (it checks the order by default).
    os.environ["ASAN_OPTIONS"] = (saved["ASAN_OPTIONS"] + ":" if saved["ASAN_OPTIONS"] else "") \
        + "verify_asan_link_order=0"
    try:
        d.start(timeout=30)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    fwtest.wait_until(lambda: s.count("/f.xml") >= 1, 20, "the first poll")
    time.sleep(12)
    assert s.count("/f.xml") == 1, f"{s.count('/f.xml')} fetches in 12 s at a 30 s interval"
    assert "this node's clock is 120 s behind" in d.log(), d.log()
    assert d.stop(timeout=30) == 0


if __name__ == "__main__":
    fwtest.main()
