#!/usr/bin/python3
"""feedwatchd on PostgreSQL (issue 16): with `database` a libpq connection string, the daemon
polls, stores, alerts, runs hooks once, searches, and starts again on the same database without
storing an item or raising an alert twice; a password in the connection string is shown nowhere;
a database it cannot reach stops the start with a clear error.

The server is the suite's own (tests/pg/pgscratch, ctest fixture `pg`): FW_TEST_PG is its
maintenance database's connection string. Each test makes a database of its own."""

import os
import shutil
import signal
import subprocess
import sys

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SEED_FEEDS = os.path.join(SRC, "config", "feeds")
HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")
PG = os.environ.get("FW_TEST_PG")

# Four topics that each match the seeds' one story (the OSCE letter, in four articles): one
# alert per topic, the other three articles its sources (issue 17), so four alerts to deliver.
OSCE = 'OSCE OR OVSE OR OSZE OR ОБСЕ OR "Organization for Security and Co-operation in Europe"'
TOPICS = "".join(f"""
[topic "osce-{n}"]
match = {OSCE}
hooks = rec
""" for n in range(1, 5)) + """
[hook "rec"]
exec = {python} {hook} {outdir}
timeout = 10s
"""
# One topic of them, with the hook: one alert per matching item.
TOPIC = TOPICS[:TOPICS.index('[topic "osce-2"]')] + TOPICS[TOPICS.index('[hook "rec"]'):]


def psql(conninfo, sql):
    """Runs sql with psql on conninfo; returns its unaligned rows as lists of strings."""
    exe = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    out = subprocess.run([exe, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                          "-c", sql], check=True, capture_output=True, text=True, timeout=60)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def new_database(t, **extra):
    """A new empty database on the suite's server; its connection string (extra keywords
    added, e.g. a password that trust authentication ignores)."""
    assert PG, "FW_TEST_PG is not set: run this test through ctest (its fixture starts the server)"
    name = "fwd_%d_%s" % (os.getpid(), t.name[5:30].replace("-", "_"))
    psql(PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(PG, f"CREATE DATABASE {name}")
    words = [w for w in PG.split() if not w.startswith("dbname=")]
    words.append(f"dbname={name}")
    words += [f"{k}={v}" for k, v in extra.items()]
    return " ".join(words)


def seed_feeds():
    return {name: {"url": "file://" + os.path.join(SEED_FEEDS, name + ".xml")}
            for name in ("afp-world", "nl-nieuws", "vi-thegioi")}


def test_daemon_on_postgresql(t):
    db = new_database(t)
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    d = t.daemon(seed_feeds(), database=db)
    d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                    TOPICS.format(python=sys.executable, hook=HOOK, outdir=outdir)))
    d.start()
    d.wait_polled(list(seed_feeds()))
    # The example feeds: the five seed articles among 13 items.
    fwtest.wait_until(lambda: len(d.items()) == 13, 20, "the 13 items stored")
    stored = psql(db, "SELECT count(*), count(DISTINCT (feed_id, key)) FROM items")
    assert stored == [["13", "13"]], stored

    # Four of the five seed articles report the OSCE letter: one alert per topic (four), each
    # with the other three as its sources (story grouping on PostgreSQL), each delivered once.
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 4, 30, "four hook runs")
    alerts = d.cli_ok("alerts", "--limit", "100")["alerts"]
    assert len(alerts) == 4 and {a["state"] for a in alerts} == {"delivered"}, alerts
    assert sorted(a["topic"] for a in alerts) == [f"osce-{n}" for n in range(1, 5)], alerts
    assert all(len(a["sources"]) == 3 for a in alerts), alerts

    # Search: the PostgreSQL index, verified by the matcher.
    fwtest.wait_until(lambda: d.status()["search_lag_items"] == 0, 30, "the index caught up")
    got = d.cli_ok("search", "OVSE OR ОБСЕ")
    assert [i["title"] for i in got["items"]] == [
        "EU nodigt Rusland uit voor gesprekken binnen de OVSE"], got
    got = d.cli_ok("search", "oekraïne OR ukrain*")
    assert len(got["items"]) >= 2, got
    assert d.cli_ok("search", "NOT osce")["items"], "a query the index cannot narrow"
    assert d.status()["database_bytes"] > 0

    # Again on the same database: the same items polled again store nothing new, raise nothing.
    assert d.stop() == 0
    d.start()
    d.poll_wait()
    assert psql(db, "SELECT count(*) FROM items") == [["13"]]
    assert psql(db, "SELECT count(*) FROM alerts") == [["4"]]
    assert len(fwtest.hook_runs(outdir)) == 4
    assert len(d.items()) == 13
    assert d.stop() == 0


def test_edited_item_on_postgresql(t):
    """Edited items on PostgreSQL: the version kept, one item-updated delivered on the alert
    with its changes, the fingerprint stored with the item; a whitespace edit raises nothing."""
    db = new_database(t)
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    s = t.httpd()

    def rss(title, text):
        return ('<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>'
                '<link>http://x.test/</link><item><guid isPermaLink="false">urn:talks</guid>'
                f"<title>{title}</title><link>http://x.test/talks</link>"
                f"<description>{text}</description></item></channel></rss>").encode()

    doc = s.add_file("/f.xml", rss("OSCE talks planned", "The envoy was hopeful. Talks go on."))
    d = t.daemon({"f": s.url("/f.xml")}, database=db, interval="1h", min_interval="1s",
                 allow_private_addresses="yes", respect_feed_hints="no")
    topics = TOPIC.format(python=sys.executable, hook=HOOK, outdir=outdir)
    topics = topics.replace("hooks = rec", "hooks = rec\non_update = alert")
    topics += "events = alert, item-updated\n"
    d.write_config(fwtest.conf_text(d.settings, d.feeds, topics))
    d.start()
    d.wait_polled(["f"])
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 1, 30, "the alert's hook run")
    assert psql(db, "SELECT count(*) FROM items WHERE fingerprint IS NOT NULL") == [["1"]]
    doc.set(rss("  OSCE talks  planned ", "The envoy was hopeful.\n Talks go on."))
    d.poll_wait("f")
    assert psql(db, "SELECT count(*) FROM item_versions") == [["0"]]
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM search_queue") == [["0"]], 20,
                      "the item indexed")
    doc.set(rss("OSCE talks collapse", "The envoy walked out. Talks go on."))
    d.poll_wait("f")
    # The index takes the edit's words (the edit queues the item again): found by "walked".
    fwtest.wait_until(lambda: len(d.cli_ok("search", "walked")["items"]) == 1, 20,
                      "the edited item found by its new words")
    assert d.cli_ok("search", "hopeful")["items"] == []
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 2, 30, "the item-updated run")
    runs = fwtest.hook_runs(outdir)
    alert = runs[0]["stdin"]["alert_id"]
    up = runs[1]
    assert up["env"]["FEEDWATCH_EVENT"] == "item-updated", up
    assert up["stdin"]["alert_id"] == alert and up["env"]["FEEDWATCH_ALERT_ID"] == str(alert), up
    changes = {c["field"]: c for c in up["stdin"]["changes"]}
    assert changes["title"] == {"field": "title", "before": "OSCE talks planned",
                                "after": "OSCE talks collapse"}, changes
    assert changes["text"]["before"] == ["The envoy was hopeful."], changes
    assert changes["text"]["after"] == ["The envoy walked out."], changes
    item = d.cli_ok("item", str(up["stdin"]["item"]["id"]))["item"]
    assert [v["title"] for v in item["versions"]] == ["OSCE talks planned"], item
    fwtest.wait_until(lambda: d.cli_ok("alerts")["alerts"][0]["updates"][0]["state"] ==
                      "delivered", 15, "the item-updated delivered in `alerts`")
    assert psql(db, "SELECT count(*) FROM alerts") == [["1"]]
    assert psql(db, "SELECT count(*) FROM feed_events WHERE event = 'item-updated'") == [["1"]]
    assert d.cli_ok("events")["events"] == []
    assert d.stop() == 0


def test_edit_raised_alert_is_a_story_on_postgresql(t):
    """review M4 on PostgreSQL: an item edited so that it newly matches raises an alert with
    the edited version's story signature; the same story from another feed is its source."""
    db = new_database(t)
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    s = t.httpd()

    def rss(key, title, text):
        return ('<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>'
                f'<link>http://x.test/</link><item><guid isPermaLink="false">urn:{key}</guid>'
                f"<title>{title}</title><link>http://x.test/{key}</link>"
                f"<description>{text}</description></item></channel></rss>").encode()

    story = ("Delegations of Armenia and Azerbaijan meet at the OSCE in Vienna on Monday, envoy"
             " Laura Bianchi said. The envoy was hopeful about the 12 points on the table.")
    a = s.add_file("/a.xml", rss("a1", "Harvest festival opens", "The village fair opens today"
                                 " with music, bread and cider. Farmers bring pumpkins."))
    b = s.add_file("/b.xml", rss("b0", "Nothing here", "A quiet day in the valley."))
    d = t.daemon({"a": s.url("/a.xml"), "b": s.url("/b.xml")}, database=db, interval="1h",
                 min_interval="1s", allow_private_addresses="yes", respect_feed_hints="no",
                 story_window="48h")
    topics = TOPIC.format(python=sys.executable, hook=HOOK, outdir=outdir)
    topics = topics.replace("hooks = rec", "hooks = rec\non_update = alert")
    d.write_config(fwtest.conf_text(d.settings, d.feeds, topics))
    d.start()
    d.wait_polled(["a", "b"])
    a.set(rss("a1", "OSCE talks planned in Vienna", story))
    d.poll_wait("a")
    assert psql(db, "SELECT count(*), count(story_sig) FROM alerts") == [["1", "1"]]
    assert int(psql(db, "SELECT count(*) FROM story_keys")[0][0]) > 0
    b.set(rss("b1", "Armenia and Azerbaijan to meet at the OSCE", story))
    d.poll_wait("b")
    (alert,) = d.cli_ok("alerts")["alerts"]
    assert [x["feed"] for x in alert["sources"]] == ["b"], alert
    assert d.stop() == 0


def test_a_reload_shortens_a_batch_wait_on_postgresql(t):
    """review M1 on PostgreSQL: the delivery deferred to the end of an hour's window runs
    within seconds once a reload makes the window 2 s."""
    db = new_database(t)
    outdir = os.path.join(t.dir, "hook-out")
    os.mkdir(outdir)
    s = t.httpd()

    def rss(n):
        items = "".join(f'<item><guid isPermaLink="false">urn:{k}</guid><title>OSCE {k}</title>'
                        f"<link>http://x.test/{k}</link><description>OSCE item {k}"
                        "</description></item>" for k in range(1, n + 1))
        return ('<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>'
                f"<link>http://x.test/</link>{items}</channel></rss>").encode()

    doc = s.add_file("/f.xml", rss(1))
    d = t.daemon({"f": s.url("/f.xml")}, database=db, interval="1h", min_interval="1s",
                 allow_private_addresses="yes", respect_feed_hints="no")
    topics = TOPIC.format(python=sys.executable, hook=HOOK, outdir=outdir)

    def config(batch):
        d.write_config(fwtest.conf_text(d.settings, d.feeds, topics + f"batch = {batch}\n"))

    config("1h")
    d.start()
    d.wait_polled(["f"])
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 1, 30, "the first batch")
    doc.set(rss(2))
    d.poll_wait("f")
    fwtest.wait_until(lambda: psql(db, "SELECT d.next_attempt_at - b.last_run_at FROM"
                                       " deliveries AS d, hook_batches AS b WHERE"
                                       " d.state = 'pending'") == [["3600"]], 30,
                      "the second alert waiting for the window's end")
    config("2s")
    d.cli_ok("reload")
    fwtest.wait_until(lambda: len(fwtest.hook_runs(outdir)) == 2, 20, "the second batch")
    assert [x["item"]["title"] for x in fwtest.hook_runs(outdir)[1]["stdin"]] == ["OSCE 2"]
    assert d.stop() == 0


def test_once_on_postgresql(t):
    """--once polls every feed once through the cluster's claims (one node here), then stops."""
    db = new_database(t)
    d = t.daemon(seed_feeds(), database=db)
    d.start("--once", wait=False)
    assert d.wait_exit(60) == 0, d.log()
    assert psql(db, "SELECT count(*) FROM items") == [["13"]]
    assert psql(db, "SELECT count(*) FROM feeds WHERE last_poll_at IS NOT NULL"
                    " AND lease_node IS NULL") == [["3"]]

    # No feed at all: done at once too (it waited for good: its first claim of deliveries,
    # in flight when --once looked, never told it when it found nothing).
    empty = t.daemon({}, name="empty", database=new_database(t))
    empty.start("--once", wait=False)
    assert empty.wait_exit(20) == 0, empty.log()


def test_poll_of_a_paused_feed_does_not_stop_its_polls(t):
    """`poll NAME` claims the feed whatever its state: a paused one is not polled then, and
    once resumed it polls at its interval again (review18 F2: it was left out for good)."""
    db = new_database(t)
    d = t.daemon({"afp-world": seed_feeds()["afp-world"]}, database=db, interval="3s",
                 min_interval="3s", log_level="info")
    d.start()
    d.wait_polled(["afp-world"])
    d.cli_ok("pause", "afp-world")
    d.cli("poll", "--wait", "afp-world")
    d.cli_ok("resume", "afp-world")
    mark = len(d.log())
    fwtest.wait_until(lambda: d.log()[mark:].count("poll: feed 'afp-world'") >= 3, 30,
                      "three polls after the resume")
    assert d.stop() == 0


def test_search_goes_on_after_the_server_restarts(t):
    """The server restarts under a running daemon (a server of this test's own): the store's
    connections and the search index's connect again; what is stored after is found
    (review18 F5: search failed for good, and the indexer never came back)."""
    pgscratch = os.path.join(SRC, "tests", "pg", "pgscratch")
    pgdir = f"/tmp/fwpg-t{os.getpid()}"
    base = subprocess.run([pgscratch, "start", pgdir], check=True, capture_output=True,
                          text=True, timeout=120).stdout.strip()
    try:
        psql(base, "CREATE DATABASE restarts")
        db = base.replace("dbname=postgres", "dbname=restarts")
        s = t.httpd()
        s.add_file("/f.xml", fwtest.rss_items([("a1", "Alpha volcano erupts")]))
        d = t.daemon({"f": s.url("/f.xml")}, database=db)
        d.start()
        d.wait_polled(["f"])
        fwtest.wait_until(lambda: d.status()["search_lag_items"] == 0, 30, "the index")
        assert len(d.cli_ok("search", "volcano")["items"]) == 1
        subprocess.run([pgscratch, "restart", pgdir], check=True, timeout=120)
        s.add_file("/f.xml", fwtest.rss_items([("a1", "Alpha volcano erupts"),
                                               ("b2", "Bravo volcano sleeps")]))
        fwtest.wait_until(lambda: d.cli("poll", "--wait", "f")[0] == 0 and len(d.items()) == 2,
                          60, "the new item stored after the restart")
        fwtest.wait_until(lambda: len((d.cli("search", "bravo")[1] or {}).get("items", [])) == 1,
                          60, "the new item found by search after the restart")
        assert d.stop() == 0
    finally:
        subprocess.run([pgscratch, "stop", pgdir], timeout=120)


def two_daemons(t, db, sleeps, lease="60s"):
    """Daemons n0, n1, ... on one database db, each with its own hook output folder and a
    hook that sleeps sleeps[i] seconds; (daemons, outdirs)."""
    daemons, outdirs = [], []
    for i, sleep in enumerate(sleeps):
        outdir = os.path.join(t.dir, f"hook-out-{i}")
        os.mkdir(outdir)
        d = t.daemon(seed_feeds(), name=f"feedwatchd{i}", database=db, node=f"n{i}",
                     lease=lease)
        hooks = TOPICS.format(python=sys.executable, hook=HOOK, outdir=outdir)
        hooks = hooks.replace("timeout = 10s", f"timeout = 120s\nretries = 0")
        if sleep:
            hooks = hooks.replace(outdir, f"{outdir} --sleep {sleep}")
        d.write_config(fwtest.conf_text(d.settings, d.feeds, hooks))
        daemons.append(d)
        outdirs.append(outdir)
    return daemons, outdirs


def alert_ids(outdir):
    return [int(r["env"]["FEEDWATCH_ALERT_ID"]) for r in fwtest.hook_runs(outdir)]


def test_two_daemons_deliver_each_alert_once(t):
    """Two daemons on one database, a slow hook: each alert is raised once and delivered once
    while both live. The second starts while the first runs the hooks: it leaves those running
    deliveries alone (a single daemon's start makes every running delivery pending again)."""
    db = new_database(t)
    (a, b), outdirs = two_daemons(t, db, [3, 3])
    a.start()
    fwtest.wait_until(lambda: len(alert_ids(outdirs[0])) == 4, 30, "four hooks running on n0")
    b.start()
    b.poll_wait()
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM alerts WHERE state = 'delivered'")
                      == [["4"]], 60, "four alerts delivered")
    assert psql(db, "SELECT count(*), count(DISTINCT (feed_id, key)) FROM items") == [["13", "13"]]
    ran = alert_ids(outdirs[0]) + alert_ids(outdirs[1])
    want = sorted(int(r[0]) for r in psql(db, "SELECT id FROM alerts"))
    assert sorted(ran) == want, (ran, want)
    # Both poll again (the same items): nothing new, nothing run again.
    a.poll_wait()
    b.poll_wait()
    assert psql(db, "SELECT count(*) FROM alerts") == [["4"]]
    assert len(alert_ids(outdirs[0]) + alert_ids(outdirs[1])) == 4
    assert psql(db, "SELECT count(*) FROM deliveries WHERE lease_node IS NOT NULL"
                " OR lease_until IS NOT NULL OR attempts != 1") == [["0"]]
    assert a.stop() == 0
    assert b.stop() == 0


def test_dead_node_deliveries_run_elsewhere(t):
    """A node killed (-9) while its hooks run: once their leases end, another node claims
    those deliveries and runs them (at least once)."""
    db = new_database(t)
    (a, b), outdirs = two_daemons(t, db, [60, 0], lease="5s")
    a.start()
    fwtest.wait_until(lambda: len(alert_ids(outdirs[0])) == 4, 30, "four hooks running on n0")
    running = psql(db, "SELECT state, lease_node, attempts FROM deliveries")
    assert running == [["running", "n0", "1"]] * 4, running
    a.kill()
    for run in fwtest.hook_runs(outdirs[0]):
        try:
            os.kill(run["pid"], signal.SIGKILL)  # the orphaned hooks: nothing waits for them
        except ProcessLookupError:
            pass
    b.start()
    fwtest.wait_until(lambda: psql(db, "SELECT count(*) FROM alerts WHERE state = 'delivered'")
                      == [["4"]], 30, "n1 to deliver the four alerts n0 was running")
    assert sorted(alert_ids(outdirs[1])) == sorted(alert_ids(outdirs[0]))
    assert psql(db, "SELECT DISTINCT attempts FROM deliveries") == [["2"]]
    assert b.stop() == 0


def test_password_is_shown_nowhere(t):
    """Trust authentication ignores the password, so the daemon runs; it must not print it."""
    db = new_database(t, password="SECRETPW1")
    d = t.daemon(seed_feeds(), database=db)
    d.start()
    d.wait_polled(list(seed_feeds()))
    shown = []
    for args in (("status",), ("feeds",)):
        d.cli(*args, json_out=False)
        shown.append(d.last[2] + d.last[3])
    status = d.status()
    assert d.stop() == 0
    for text in shown + [str(status), d.log()]:
        assert "SECRETPW1" not in text, text


def test_unreachable_database_stops_the_start(t):
    d = t.daemon(seed_feeds(),
                 database=f"host={t.dir}/nowhere user=feedwatch dbname=x password=SECRETPW2")
    d.start(wait=False)
    rc = d.wait_exit(30)
    assert rc != 0, rc
    log = d.log()
    assert "SECRETPW2" not in log, log
    assert "store:" in log and "nowhere" in log, log


if __name__ == "__main__":
    fwtest.main()
