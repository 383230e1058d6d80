#!/usr/bin/python3
"""Hooks stay in their box (issue 14, hole 5 and the smaller items): the timeout ends the run
and kills the hook's whole process group even after its first process exited; a grandchild
that ignores SIGTERM is killed too; only FEEDWATCH_*, PATH, LANG, TZ and the hook's `env`
allow-list reach it; no descriptor but 0, 1 and 2 crosses exec; an over-long title is cut in
the environment (the whole of it is on stdin) instead of making exec fail."""

import json
import os
import stat
import sys
import time

import fwtest

TOPIC = '\n[topic "box"]\nmatch = boxcar\nhooks = h\n'


def feed_xml(title, n=1):
    items = "".join(
        f"<item><title>{title if i == 0 else 'boxcar filler %d' % i}</title>"
        f"<link>http://example.org/box/{i}</link><guid>urn:box:{i}</guid>"
        f"<description>the boxcar story {i}</description></item>" for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>box</title><link>http://example.org/</link>{items}</channel></rss>").encode()


def script(t, name, body):
    """An executable /bin/sh script in the test's directory; returns its path."""
    path = os.path.join(t.dir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, stat.S_IRWXU)
    return path


def start(t, hook_exec, title="boxcar alert", timeout="2s", retries=0, extra_hook="",
          env=None):
    srv = t.httpd()
    srv.add_file("/feed.xml", feed_xml(title))
    d = t.daemon({"box": srv.url("/feed.xml")})
    d.write_config(fwtest.conf_text(
        d.settings, d.feeds,
        TOPIC + f'\n[hook "h"]\nexec = {hook_exec}\ntimeout = {timeout}\n'
        f"retries = {retries}\n{extra_hook}"))
    saved = dict(os.environ)
    try:
        os.environ.update(env or {})
        d.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return d


def delivery(d):
    rows = d.query("SELECT state, attempts, last_error FROM deliveries")
    return rows[0] if rows else None


def wait_delivery(d, states, timeout, what):
    return fwtest.wait_until(lambda: (lambda r: r if r and r[0] in states else None)(
        delivery(d)), timeout, what)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read_pid(path):
    pid = fwtest.wait_until(lambda: os.path.exists(path) and open(path).read().strip(), 15,
                            f"the hook to write {path}")
    return int(pid)


def test_timeout_ends_a_run_whose_first_process_exited(t):
    # The first process exits 0 at once; its background child keeps stdout open for 40 s.
    pidfile = os.path.join(t.dir, "bg.pid")
    hook = script(t, "bg.sh", f"sleep 40 &\necho $! > {pidfile}\nexit 0\n")
    d = start(t, hook, timeout="2s")
    bg = read_pid(pidfile)
    began = time.monotonic()
    row = wait_delivery(d, ("failed", "delivered"), 35, "the delivery to end")
    took = time.monotonic() - began
    assert row[0] == "failed", row
    assert "timed out" in row[2], row
    # Timeout 2 s plus the 3 s grace at most: well before the child's 40 s (a hang guard with
    # room for a loaded machine, not a speed test).
    assert took < 30, took
    fwtest.wait_until(lambda: not alive(bg), 10, "the background child killed")
    assert d.stop() == 0


def test_grandchild_that_ignores_sigterm_is_killed(t):
    # The grandchild ignores SIGTERM and lets go of stdout/stderr: nothing holds the pipes,
    # the first process exits 0, and the group still lives at the timeout.
    pidfile = os.path.join(t.dir, "stubborn.pid")
    hook = script(t, "stubborn.sh",
                  "trap '' TERM\n"
                  f"sleep 40 </dev/null >/dev/null 2>&1 &\necho $! > {pidfile}\nexit 0\n")
    d = start(t, hook, timeout="2s", retries=1)
    bg = read_pid(pidfile)
    row = wait_delivery(d, ("pending", "failed", "delivered"), 15, "the first attempt to end")
    assert row[0] == "pending" and row[1] == 1, row     # failed, retried per its policy
    assert "timed out" in row[2] and "still running" in row[2], row
    fwtest.wait_until(lambda: not alive(bg), 10, "the SIGTERM-proof grandchild killed")
    d.wait_log("still running after 2s")
    assert d.stop() == 0


def test_a_hook_that_finishes_with_its_children_is_delivered(t):
    # A background child that ends well within the timeout: delivered, not a timeout.
    hook = script(t, "quick.sh", "sleep 0.3 &\nwait\nexit 0\n")
    d = start(t, hook, timeout="10s")
    row = wait_delivery(d, ("failed", "delivered"), 20, "the delivery to end")
    assert row[0] == "delivered", row
    assert d.stop() == 0


def test_hook_environment_is_only_the_documented_one(t):
    dump = os.path.join(t.dir, "env.json")
    # A Python program run directly (a shell would add PWD of its own).
    hook = script(t, "env.py", "")
    with open(hook, "w") as f:
        f.write(f"#!{sys.executable}\nimport json, os\n"
                f"json.dump(dict(os.environ), open({dump!r}, 'w'))\n")
    d = start(t, hook, timeout="10s", extra_hook="env = KEEP_ME, ALSO_ABSENT\n",
              env={"KEEP_ME": "kept", "SECRET_TOKEN": "s3cret", "LANG": "C.UTF-8",
                   "TZ": "UTC", "https_proxy": "http://user:pw@proxy.invalid:3128/"})
    row = wait_delivery(d, ("failed", "delivered"), 20, "the delivery to end")
    assert row[0] == "delivered", row
    with open(dump) as f:
        env = json.load(f)
    extra = {k for k in env if not k.startswith("FEEDWATCH_")}
    # python3 itself may add LC_CTYPE when it coerces the C locale; nothing else.
    extra.discard("LC_CTYPE")
    assert extra == {"PATH", "LANG", "TZ", "KEEP_ME"}, sorted(extra)
    assert env["KEEP_ME"] == "kept" and env["LANG"] == "C.UTF-8" and env["TZ"] == "UTC"
    assert env["FEEDWATCH_TOPIC"] == "box" and env["FEEDWATCH_EVENT"] == "alert", env
    assert d.stop() == 0


def test_hook_gets_no_descriptor_but_0_1_2(t):
    dump = os.path.join(t.dir, "fds.txt")
    # /proc/self/fd of the hook's own process, read by a program that opens nothing else
    # first: `ls -l` of its fd directory, minus the descriptor ls reads it through.
    hook = script(t, "fds.sh", f"exec ls -l /proc/self/fd/ > {dump}\n")
    d = start(t, hook, timeout="10s")
    row = wait_delivery(d, ("failed", "delivered"), 20, "the delivery to end")
    assert row[0] == "delivered", row
    with open(dump) as f:
        lines = [l for l in f.read().splitlines() if "->" in l]
    fds = {}
    for line in lines:
        name, target = line.split("->", 1)
        fds[int(name.split()[-1])] = target.strip()
    # ls's own descriptor on the directory it lists is the only one above 2.
    others = {fd: tgt for fd, tgt in fds.items()
              if fd > 2 and not tgt.startswith("/proc/") and "/fd" not in tgt}
    assert set(fds) >= {0, 1, 2}, fds
    assert others == {}, others
    assert d.stop() == 0


def test_huge_title_is_cut_in_the_environment_not_on_stdin(t):
    title = "boxcar " + "é" * 70000          # 140 KB: more than one exec string may hold
    out = os.path.join(t.dir, "got.json")
    hook = script(t, "title.sh",
                  "exec python3 -c 'import json, os, sys; "
                  "json.dump({\"env\": os.environ[\"FEEDWATCH_TITLE\"], "
                  "\"stdin\": json.load(sys.stdin)[\"item\"][\"title\"]}, "
                  "open(sys.argv[1], \"w\"))' " + out + "\n")
    d = start(t, hook, title=title, timeout="10s")
    row = wait_delivery(d, ("failed", "delivered"), 20, "the delivery to end")
    assert row[0] == "delivered", row
    with open(out, encoding="utf-8") as f:
        got = json.load(f)
    env = got["env"]
    assert len(env.encode()) <= 4096, len(env.encode())
    assert len(env.encode()) > 4000, len(env.encode())   # cut near the bound, not emptied
    assert title.startswith(env), env[:40]                # a prefix, whole characters only
    assert got["stdin"] == title
    assert d.stop() == 0


fwtest.main()
