#!/usr/bin/python3
"""Cluster nodes on one PostgreSQL database (issue 16), beside test_cluster: feeds only some
nodes can poll, run-time adds and removes seen by every node, one node name per daemon (lives,
twins in other PID namespaces), configs that differ in a hook. Each case failed before its fix
(review18, review19).

The server is the suite's own (tests/pg/pgscratch, ctest fixture `pg`, FW_TEST_PG)."""

import os
import signal
import subprocess
import sys
import time

import fwtest
import httpd
from test_cluster import HOOK, LEASE, feed_body
from test_pg_daemon import new_database, psql


def test_feeds_the_host_owner_cannot_poll(t):
    """A feed that only another node's config names, or that the host's node has off, is
    polled by a node that can poll it (review18 F1: the host's node left it, and no other node
    would take a feed of a host that is not its own: never polled). One host, two nodes: each
    config has a feed the other lacks, and one feed on for n2 only; whichever node the host
    falls to, all of them are polled; the others of the host stay with its node."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    for i in range(4):
        s.add_file(f"/f{i}.xml", feed_body(1, i))
    shared = {f"f{i}": s.url(f"/f{i}.xml") for i in range(2)}
    nodes = {}
    for name, own in (("n1", "f2"), ("n2", "f3")):
        feeds = dict(shared, **{own: s.url(f"/{own}.xml")})
        if name == "n1":   # f1 is off in n1's config
            feeds["f1"] = {"url": shared["f1"], "enabled": "no"}
        nodes[name] = t.daemon(feeds, name=name, database=db, node=name, lease=f"{LEASE}s",
                               interval="1h", log_level="info")
    # The host's node (rendezvous: the highest hashtext of host/node) starts first and alone,
    # so that it claims every feed, the ones it cannot poll too.
    host = s.url("/").split("/")[2].split(":")[0]
    first = psql(db, f"SELECT CASE WHEN hashtext('{host}/n1') > hashtext('{host}/n2')"
                     f" THEN 'n1' ELSE 'n2' END")[0][0]
    second = "n2" if first == "n1" else "n1"
    nodes[first].start(timeout=30)
    fwtest.wait_until(lambda: sum(s.count(f"/f{i}.xml") for i in range(4)) >= 2, 30,
                      f"{first}'s polls")
    time.sleep(LEASE + 2)   # the leases of the feeds it cannot poll ended
    nodes[second].start(timeout=30)
    fwtest.wait_until(lambda: all(s.count(f"/f{i}.xml") >= 1 for i in range(4)), 30,
                      "every feed polled by a node that can poll it")
    time.sleep(2)
    assert [s.count(f"/f{i}.xml") for i in range(4)] == [1, 1, 1, 1]
    pollers = {}
    for i in range(4):
        pollers[i] = [n for n, d in nodes.items() if f"poll: feed 'f{i}'" in d.log()]
        assert len(pollers[i]) == 1, (i, pollers)
    assert pollers[2] == ["n1"] and pollers[3] == ["n2"] and pollers[1] == ["n2"], pollers
    # The other nodes see the polls: each node's `feeds` shows the shared feeds polled.
    for name, d in nodes.items():
        def polled_here_too():
            rc, doc = d.cli("feeds")
            rows = {f["name"]: f for f in (doc or {}).get("feeds", [])}
            return all(rows[n]["last_status"] == 200 and rows[n]["last_poll"] for n in shared)
        fwtest.wait_until(polled_here_too, 10, f"{name}'s feeds to show the other's polls")
    for d in nodes.values():
        assert d.stop(timeout=30) == 0


def test_runtime_add_and_remove_are_seen_by_every_node(t):
    """`add` and `remove` on one node are seen by the other in its `feeds` (the other knew
    an added feed only once it claimed it, and a removed one never left its table)."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    s.add_file("/f.xml", feed_body(1, 1))
    s.add_file("/new.xml", feed_body(1, 2))
    nodes = [t.daemon({"f": s.url("/f.xml")}, name=name, database=db, node=name,
                      lease=f"{LEASE}s", interval="1h", log_level="info").start(timeout=30)
             for name in ("n1", "n2")]

    def names(d):
        rc, doc = d.cli("feeds")
        return sorted(f["name"] for f in (doc or {}).get("feeds", []))
    nodes[0].cli_ok("add", "new", s.url("/new.xml"))
    fwtest.wait_until(lambda: names(nodes[1]) == ["f", "new"], 15, "n2 to list the added feed")
    fwtest.wait_until(lambda: s.count("/new.xml") >= 1, 15, "the added feed polled")
    nodes[0].cli_ok("remove", "new")
    fwtest.wait_until(lambda: names(nodes[1]) == ["f"], 15, "n2 to drop the removed feed")
    assert names(nodes[0]) == ["f"]
    for d in nodes:
        assert d.stop(timeout=30) == 0


def test_one_node_name_two_daemons(t):
    """Two daemons given one node name (review18 F7: the second's start ended the first's
    leases): the second waits a lease for the first to stop beating, is refused, and the first
    polls on. A daemon of
    that name killed (-9) on this machine is replaced at once by a new start (its process is
    gone). One that stopped beating for longer than its lease (SIGSTOP) loses the name to a
    new daemon, and stops when it wakes up, with status 1."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    s.add_file("/f.xml", feed_body(1, 1))
    feeds = {"f": s.url("/f.xml")}
    one = t.daemon(feeds, name="one", database=db, node="same", lease=f"{LEASE}s",
                   interval="2s", min_interval="1s", log_level="info")
    two = t.daemon(feeds, name="two", database=db, node="same", lease=f"{LEASE}s",
                   interval="2s", min_interval="1s", log_level="info")
    one.start(timeout=30)
    fwtest.wait_until(lambda: s.count("/f.xml") >= 1, 20, "the first poll")
    two.start(wait=False)
    assert two.wait_exit(30) != 0
    assert "node 'same' is alive: pid" in two.log(), two.log()
    assert f"waiting up to {LEASE + 5} s for it to stop beating" in two.log(), two.log()
    n = s.count("/f.xml")
    fwtest.wait_until(lambda: s.count("/f.xml") >= n + 2, 20, "the first daemon polling on")

    one.kill()
    two.start(timeout=30)   # at once: the life it replaces was this machine's, and is gone
    n = s.count("/f.xml")
    fwtest.wait_until(lambda: s.count("/f.xml") >= n + 2, 20, "the new daemon polling")

    two.signal(signal.SIGSTOP)
    try:
        time.sleep(LEASE + 3)
        one.start(timeout=30)
    finally:
        two.signal(signal.SIGCONT)
    assert two.wait_exit(30) == 1
    assert "another daemon joined as node 'same'" in two.log(), two.log()
    n = s.count("/f.xml")
    fwtest.wait_until(lambda: s.count("/f.xml") >= n + 2, 20, "the daemon that took the name")
    assert psql(db, "SELECT count(*) FROM nodes") == [["1"]]
    # A new name in the config takes effect at a start, not at a reload (review18 F9).
    one.settings["node"] = "renamed"
    one.write_config()
    one.cli_ok("reload")
    assert "node 'renamed' takes effect when the daemon starts again" in one.log(), one.log()
    assert one.cli_ok("status")["cluster"]["node"] == "same"
    assert psql(db, "SELECT name FROM nodes") == [["same"]]
    assert one.stop(timeout=30) == 0



def test_a_node_without_the_hook_leaves_its_deliveries(t):
    """Configs that differ in a hook (a rolling change): a node whose config lacks the hook
    does not claim that hook's deliveries (review19 F2: it claimed one at failover and failed
    it for good, "the hook is no longer configured"); the node that has the hook delivers it
    when it is back."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    s.add_file("/f.xml", fwtest.rss_items([("a", "OSCE talks")]))
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    topic = '\n[topic "osce"]\nmatch = OSCE\n'
    hook = (f'hooks = rec\n\n[hook "rec"]\nexec = {sys.executable} {HOOK} {outdir} --sleep 40\n'
            f'timeout = 60s\n')
    nodes = {}
    for name, text in (("n1", topic + hook), ("n2", topic)):
        d = t.daemon({"f": s.url("/f.xml")}, name=name, database=db, node=name,
                     lease=f"{LEASE}s", interval="1h", log_level="info")
        d.write_config(fwtest.conf_text(d.settings, d.feeds, text))
        nodes[name] = d
    nodes["n1"].start(timeout=30)
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM deliveries WHERE state ="
                                       " 'running'") == [["1"]], 30, "the hook running on n1")
    nodes["n2"].start(timeout=30)
    nodes["n1"].kill()
    for run in fwtest.hook_runs(outdir):
        try:
            os.kill(run["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(LEASE + 6)   # the lease ended: n2 could claim it, and must not
    assert psql(db, "SELECT state, lease_node FROM deliveries") == [["running", "n1"]]
    hook = hook.replace(" --sleep 40", "")
    nodes["n1"].write_config(fwtest.conf_text(nodes["n1"].settings, nodes["n1"].feeds,
                                              topic + hook))
    nodes["n1"].start(timeout=30)
    fwtest.wait_until(lambda: psql(db, "SELECT state FROM deliveries") == [["delivered"]], 30,
                      "n1 to deliver it once back")
    for d in nodes.values():
        assert d.stop(timeout=30) == 0


def test_a_readded_feed_is_polled_at_its_new_url(t):
    """A run-time feed another node adopted, then removed and added again with another URL
    (review19 F4: the adopting node polled the old URL for good) or a name the node skipped
    added at run time (review19 F5: polled once, then never)."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    for name in ("old", "new", "dummy", "x"):
        s.add_file(f"/{name}.xml", feed_body(1, len(name)))
    nodes = [t.daemon({"dummy": s.url("/dummy.xml"), "x": s.url("/x.xml")}, name=name,
                      database=db, node=name, lease=f"{LEASE}s", interval="2s",
                      min_interval="1s", log_level="info") for name in ("n1", "n2")]
    n1, n2 = nodes
    n1.start(timeout=30)
    n2.start(timeout=30)
    n2.cli_ok("add", "rt", s.url("/old.xml"))
    fwtest.wait_until(lambda: "feed 'rt' was added on another node" in n1.log(), 20,
                      "n1 to adopt rt")
    n2.cli_ok("remove", "rt")
    n2.cli_ok("add", "rt", s.url("/new.xml"))
    assert n2.stop(timeout=30) == 0          # n1 alone: it polls rt
    fwtest.wait_until(lambda: s.count("/new.xml") >= 2, 20, "rt polled at its new URL")
    old = s.count("/old.xml")
    time.sleep(4)
    assert s.count("/old.xml") == old
    # x leaves n1's config (skipped when claimed), then comes back by `add`: polled on.
    del n1.feeds["x"]
    n1.write_config()
    n1.cli_ok("reload")
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM feed_skips") == [["1"]], 20,
                      "x skipped by n1")
    n1.cli_ok("add", "x", s.url("/x.xml"))
    n = s.count("/x.xml")
    fwtest.wait_until(lambda: s.count("/x.xml") >= n + 3, 20, "x polled on after its add")
    assert n1.stop(timeout=30) == 0


def test_a_twin_in_another_pid_namespace_does_not_take_the_name(t):
    """Two daemons with one host name, hence one default node name, in two PID namespaces
    (containers; review19 F3: the second found the first's pid missing and took its name):
    the second waits a lease, then exits, and the first polls on."""
    db = new_database(t)
    s = httpd.Server().start()
    t.servers.append(s)
    s.add_file("/f.xml", feed_body(1, 1))
    feeds = {"f": s.url("/f.xml")}
    one = t.daemon(feeds, name="one", database=db, lease=f"{LEASE}s", interval="2s",
                   min_interval="1s", log_level="info")   # node: the default, the host name
    two = t.daemon(feeds, name="two", database=db, lease=f"{LEASE}s", interval="2s",
                   min_interval="1s", log_level="info")
    one.start(timeout=30)
    fwtest.wait_until(lambda: s.count("/f.xml") >= 1, 20, "the first poll")
    with open(two.log_path, "ab") as log:
        p = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                              fwtest.FEEDWATCHD, "--config", two.conf, "--foreground"],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        assert p.wait(LEASE + 30) != 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert "is alive: pid" in two.log(), two.log()
    assert one.running()
    n = s.count("/f.xml")
    fwtest.wait_until(lambda: s.count("/f.xml") >= n + 2, 20, "the first daemon polling on")
    assert one.stop(timeout=30) == 0


if __name__ == "__main__":
    fwtest.main()
