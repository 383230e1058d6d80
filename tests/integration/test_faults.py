#!/usr/bin/python3
"""Faults: a damaged database at start is refused with what to do (exit 1); a full disk and a
read-only database give a clear error, keep polling where it can, write nothing by halves and
recover by themselves; kill -9 at random points across many polls and hook runs loses no alert,
doubles none and leaves a sound database.

The disk tests mount a small tmpfs (and a read-only bind mount) in a private mount namespace
of their own (unshare -m): they need root, as CI has. FW_FAULT_KILLS sets how many kill -9
rounds the kill test runs (default 30; `scripts/test --long` runs 1,000)."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import fwtest
from fwtest import wait_until

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")
HERE = os.path.dirname(os.path.abspath(__file__))


def make_store(t, n_items=2000):
    """A daemon whose database holds n_items items (polled once with --once)."""
    s = t.httpd()
    s.add_file("/news.xml", body=fwtest.rss_items([(f"g{i}", f"item {i}") for i in range(n_items)]))
    d = t.daemon({"news": s.url("/news.xml")})
    d.start("--once", wait=False)
    assert d.wait_exit(60) == 0, d.log()
    assert d.count_items() == n_items
    return d


def start_fails(d, *needles):
    """Starts d, which must exit 1 with each of needles in its log."""
    d.start(wait=False)
    assert d.wait_exit(30) == 1, d.log()
    log = d.log()
    for n in needles:
        assert n in log, f"{n!r} not in the log:\n{log}"


# -- a damaged database at start -------------------------------------------------------------

def test_damaged_database_refused_at_start(t):
    d = make_store(t)
    with open(d.db, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        page = 4096
        # Pages in the middle of the file (items' b-tree pages), the header left intact.
        rnd = random.Random(7)
        for p in range(size // page // 3, size // page // 3 + 6):
            f.seek(p * page)
            f.write(bytes(rnd.randrange(256) for _ in range(page)))
    start_fails(d, d.db, "failed its check", "move the file", "-wal and -shm")


def test_not_a_database_refused_at_start(t):
    d = t.daemon({})
    with open(d.db, "wb") as f:
        f.write(os.urandom(16384))
    start_fails(d, d.db, "file is not a database", "move the file")


def test_truncated_database_refused_at_start(t):
    d = make_store(t)
    with open(d.db, "r+b") as f:
        f.truncate(f.seek(0, os.SEEK_END) // 2)
    start_fails(d, d.db, "move the file")


# -- a full disk, a read-only database -------------------------------------------------------

def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def fill(path):
    """Writes path until the file system is full (unbuffered: a short write ends it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for block in (1 << 20, 4096, 512):
            try:
                while os.write(fd, b"\0" * block) == block:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)


def hooked_daemon(t, feeds, db, **settings):
    """A daemon with a topic that matches every item, delivered by a recording hook."""
    out = os.path.join(t.dir, "hook")
    os.makedirs(out, exist_ok=True)
    d = t.daemon(feeds, database=db, **settings)
    d.db = db
    d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                    '\n[topic "all"]\nmatch = item\nhooks = rec\n'
                                    f'\n[hook "rec"]\nexec = {sys.executable} {HOOK} {out}\n'
                                    "timeout = 20s\nretries = 100\n"))
    return d, out


def test_full_disk_then_space_returns(t):
    disk = os.path.join(t.dir, "disk")
    os.makedirs(disk)
    mount("-t", "tmpfs", "-o", "size=64m", "tmpfs", disk)
    try:
        s = t.httpd()
        first = [(f"a{i}", f"item {i}") for i in range(40)]
        s.add_file("/a.xml", body=fwtest.rss_items(first))
        d, out = hooked_daemon(t, {"a": s.url("/a.xml")}, os.path.join(disk, "fw.db"),
                               interval="1s", min_interval="1s")
        d.start()
        wait_until(lambda: d.count_items() == 40, 20, "the first 40 items")
        wait_until(lambda: len(fwtest.hook_runs(out)) == 40, 60, "the first 40 hook runs")
        fill(os.path.join(disk, "filler"))
        # Texts of their own: near-copies would be one story (issue 17: one feed's too).
        more = first + [(f"b{i}", f"item b{i} " + " ".join(f"w{i}x{k}" for k in range(80)))
                        for i in range(120)]
        s.add_file("/a.xml", body=fwtest.rss_items(more))
        # A clear error, and the daemon goes on: fetching, answering, reading.
        d.wait_log("or disk is full", 30)
        fetched = s.count("/a.xml")
        wait_until(lambda: s.count("/a.xml") >= fetched + 2, 30, "polls to go on")
        st = d.status()
        assert st["ok"] is True
        # Nothing half-written: the failed polls left nothing.
        assert d.count_items() == 40
        assert len(d.items(limit=100)) == 40
        # Space returns: the daemon carries on by itself.
        os.unlink(os.path.join(disk, "filler"))
        wait_until(lambda: d.count_items() == 160, 60, "the new items once space returned")
        wait_until(lambda: len(fwtest.hook_runs(out)) >= 160, 120, "every alert's hook run")
        ids = [r["env"]["FEEDWATCH_ALERT_ID"] for r in fwtest.hook_runs(out)]
        assert len(set(ids)) == 160, len(set(ids))
        assert d.duplicates() == []
        assert d.stop() == 0
        assert d.query("PRAGMA integrity_check") == [("ok",)]
    finally:
        for dm in t.daemons:
            dm.kill()
        umount(disk)


def test_read_only_database_refused_clearly(t):
    d = make_store(t, 100)
    ro = os.path.join(t.dir, "ro")
    os.makedirs(ro)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(d.db + suffix):
            shutil.copy(d.db + suffix, os.path.join(ro, "fw.db" + suffix))
    before = {n: open(os.path.join(ro, n), "rb").read() for n in os.listdir(ro)}
    mount("--bind", ro, ro)
    try:
        mount("-o", "remount,bind,ro", ro)
        d.settings["database"] = os.path.join(ro, "fw.db")
        d.write_config()
        start_fails(d, os.path.join(ro, "fw.db"), "read-only")
        after = {n: open(os.path.join(ro, n), "rb").read() for n in os.listdir(ro)}
        assert after == before, "the read-only database changed"
    finally:
        umount(ro)


# -- kill -9 at random points -----------------------------------------------------------------

WORDS = ("amber basalt cobalt dune ember fjord garnet harbor indigo juniper kelp lagoon mesa "
         "nectar onyx prairie quartz reef sierra tundra umber velvet willow xenon yarrow zephyr "
         "anchor beacon canyon delta estuary falcon glacier heron island jetty knoll").split()


def test_kill_9_at_random_points(t):
    kills = int(os.environ.get("FW_FAULT_KILLS", "30"))
    rnd = random.Random(int(os.environ.get("FW_FAULT_SEED", "14")))
    s = t.httpd()
    names = ["f1", "f2", "f3"]
    served = {n: [] for n in names}

    def grow(k):
        """Adds k items with distinct words (no two are one story) to every feed."""
        for n in names:
            for _ in range(k):
                i = len(served[n])
                title = f"item {n} {i} " + " ".join(rnd.sample(WORDS, 6))
                served[n].append((f"{n}-{i}", title))
            # A feed lists every item it ever had: with a window of its newest, a stretch of
            # runs killed before their first poll (1,000 kills on a loaded machine) let items
            # scroll out unseen, which is the feed's doing, not a loss of the daemon's.
            s.add_file(f"/{n}.xml", body=fwtest.rss_items(served[n]))

    grow(3)
    d, out = hooked_daemon(t, {n: s.url(f"/{n}.xml") for n in names},
                           os.path.join(t.dir, "fw.db"), interval="1s", min_interval="1s",
                           story_window="1s", retention="3s")   # kills land in prunes too
    for k in range(kills):
        d.start(wait=False)
        time.sleep(rnd.uniform(0.02, 1.2))
        d.kill()
        assert d.proc.returncode == -signal.SIGKILL, d.proc.returncode
        grow(rnd.randrange(0, 3))
    # A last run, left to finish: every item stored once, every alert delivered.
    total = sum(len(v) for v in served.values())
    d.start()
    wait_until(lambda: d.count_items() == total, 60, f"all {total} items")
    # The runs killed before their poll was stored leave the last one most of the items: its
    # hooks (4 at a time, a Python start each) take time in proportion, on a busy machine too.
    wait_until(lambda: (lambda a: a["pending"] == 0 and a["failed"] == 0 and
                        a["delivered"] == total)(d.status()["alerts"]), 120 + total // 2,
               "every alert delivered")
    wait_until(lambda: d.status()["pruned_items"] > 0, 30, "retention to prune")
    assert d.stop() == 0
    assert d.query("PRAGMA integrity_check") == [("ok",)]
    assert d.duplicates() == []
    keys = {k for (k,) in d.query("SELECT key FROM items")}
    assert keys == {g for v in served.values() for g, _ in v}, "items lost or invented"
    # One alert per (topic, item), each delivered at least once.
    assert d.query("SELECT topic, item_id FROM alerts GROUP BY topic, item_id"
                   " HAVING count(*) > 1") == []
    alert_ids = {str(a) for (a,) in d.query("SELECT id FROM alerts")}
    assert len(alert_ids) == total
    delivered = {r["env"]["FEEDWATCH_ALERT_ID"] for r in fwtest.hook_runs(out)}
    assert alert_ids <= delivered, sorted(alert_ids - delivered)[:10]
    print(f"    {kills} kills, {total} items, {len(fwtest.hook_runs(out))} hook runs for {total} alerts, "
          f"{sum(1 for line in d.log().splitlines() if 'poll: feed' in line)} polls",
          file=sys.stderr)


if __name__ == "__main__":
    # The disk tests mount file systems: they run in a private mount namespace, as root.
    if os.environ.get("FW_FAULTS_NS") != "1":
        if os.geteuid() != 0:
            sys.exit("test_faults.py: the disk fault tests need root (CI runs as root)")
        env = dict(os.environ, FW_FAULTS_NS="1")
        os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                               os.path.abspath(__file__), *sys.argv[1:]], env)
    fwtest.main()
