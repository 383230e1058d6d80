"""Harness for feedwatch's integration tests (STYLE.md section 7).

A test script defines functions `test_<scenario>(t)` and ends with `fwtest.main()`. Each
function runs in order with a fresh Ctx `t`: a private temp directory, and factories for
daemons (`t.daemon(...)`) and scripted HTTP servers (`t.httpd()`) that are cleaned up after
it. A passing test's directory is removed; a failing test's is kept, and its path and each
daemon's stderr are printed. Waits are event-based (`wait_until`), never fixed sleeps.

Environment (set by tests/CMakeLists.txt): FEEDWATCHD, FEEDWATCH (binaries), FW_FIXTURES.
`python3 test_x.py [NAME...]` runs only the tests whose names contain one of NAME.
"""

import atexit
import datetime
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import xml.etree.ElementTree as ET

import httpd

HERE = os.path.dirname(os.path.abspath(__file__))
FEEDWATCHD = os.environ.get("FEEDWATCHD", "")
FEEDWATCH = os.environ.get("FEEDWATCH", "")
FIXTURES = os.environ.get("FW_FIXTURES") or os.path.join(HERE, "..", "fixtures")
HTTP_FIXTURES = os.path.join(FIXTURES, "http")

_live = []          # every Daemon with a process that may still run, for atexit


def fixture(name):
    """Path of a file of tests/fixtures/http."""
    return os.path.join(HTTP_FIXTURES, name)


def feed_titles(path):
    """The item titles of an RSS 2.0 or Atom 1.0 file, in document order."""
    root = ET.parse(path).getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    if root.tag == atom + "feed":
        return [e.findtext(atom + "title") for e in root.findall(atom + "entry")]
    return [i.findtext("title") for i in root.iter("item")]


def vm_hwm_kb(pid):
    """Peak resident set size (VmHWM) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def vm_hwm_mb(pid):
    """Peak resident set size (VmHWM) of a process, in MiB."""
    return vm_hwm_kb(pid) / 1024


def status_latency(d):
    """Seconds from connecting to the full answer of `status` on a fresh connection."""
    start = time.monotonic()
    c = Control(d.sock, timeout=30)
    try:
        doc = c.request({"cmd": "status"})
    finally:
        c.close()
    took = time.monotonic() - start
    assert doc and doc.get("ok") is True, doc
    return took


def big_store(t, n_items):
    """A started daemon with about n_items stored items (text included), polled once."""
    srv = t.httpd()
    srv.add_file("/big.xml", httpd.make_rss(n_items * 400, tag="big"))
    d = t.daemon({"big": srv.url("/big.xml")})
    d.start()
    d.poll_wait()
    n = d.count_items()
    assert n >= n_items * 0.8, n
    return d


def wait_until(predicate, timeout, what, interval=0.05):
    """Calls predicate every interval seconds until it returns a true value, which is
    returned; raises AssertionError naming `what` when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def parse_time(text):
    """RFC 3339 text to Unix seconds (float)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def query(db_path, sql, params=()):
    """Runs one query on a read-only connection to the database and returns every row."""
    uri = "file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(db_path))
    conn = sqlite3.connect(uri, uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def conf_text(daemon, feeds, extra=""):
    """INI text: a [daemon] section from a dict, one [feed "name"] section per entry of
    feeds (a URL, or a dict of keys), then extra text as is."""
    lines = ["# written by tests/integration/fwtest.py", "[daemon]"]
    lines += [f"{k} = {v}" for k, v in daemon.items() if v is not None]
    for name, feed in feeds.items():
        if isinstance(feed, str):
            feed = {"url": feed}
        lines += ["", f'[feed "{name}"]']
        lines += [f"{k} = {v}" for k, v in feed.items() if v is not None]
    return "\n".join(lines) + "\n" + extra


def _child_env():
    """The environment for our children: no proxy, no systemd or journal connection."""
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy") or \
                k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID"):
            del env[k]
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


class Control:
    """A raw connection to the control socket, for protocol tests."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data):
        if isinstance(data, dict):
            data = json.dumps(data) + "\n"
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def recv_line(self):
        """The next response line parsed as JSON; None when the daemon closed the connection."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, data):
        self.send(data)
        return self.recv_line()

    def close(self):
        self.sock.close()


class Daemon:
    """One feedwatchd: its config, database, socket and log in the test's directory."""

    def __init__(self, directory, feeds=None, name="feedwatchd", **settings):
        for binary in (FEEDWATCHD, FEEDWATCH):
            if not binary or not os.access(binary, os.X_OK):
                raise AssertionError(f"binary not found: {binary!r} (set FEEDWATCHD and FEEDWATCH)")
        self.dir = directory
        self.conf = os.path.join(directory, name + ".conf")
        self.db = os.path.join(directory, name + ".db")
        self.sock = os.path.join(directory, name + ".sock")
        self.log_path = os.path.join(directory, name + ".log")
        self.settings = {"database": self.db, "socket": self.sock, "interval": "1h",
                         "log_level": "debug", "fetch_timeout": "10s"}
        self.settings.update(settings)
        self.feeds = dict(feeds or {})
        self.proc = None
        self.starts = 0
        self.last = None   # (argv, rc, stdout, stderr) of the last cli() call
        self.write_config()

    # -- config ------------------------------------------------------------------------
    def write_config(self, text=None):
        """Writes text, or the config built from self.settings and self.feeds."""
        if text is None:
            text = conf_text(self.settings, self.feeds)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf)
        return text

    # -- process -----------------------------------------------------------------------
    def start(self, *args, wait=True, timeout=10):
        """Starts feedwatchd --config C --foreground ARGS; waits until it answers status."""
        assert not self.running(), "daemon already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- fwtest: start #{self.starts}: {' '.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [FEEDWATCHD, "--config", self.conf, "--foreground", *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_child_env())
        _live.append(self)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=10):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"feedwatchd exited with {self.proc.returncode} during start")
            if not os.path.exists(self.sock):
                return False
            rc, doc = self.cli("status", timeout=5)
            return rc == 0 and doc is not None and doc.get("ok") is True
        wait_until(ready, timeout, "feedwatchd to answer status on its socket")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if not self.running():
            code = self.proc.returncode if self.proc else None
            raise AssertionError(f"feedwatchd is not running (exit status {code})")
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Waits for the process to end and returns its exit status (negative: signal)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"feedwatchd still running after {timeout:g}s") from None

    def stop(self, timeout=10):
        """SIGTERM, then waits with a deadline; returns the exit status."""
        self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=10):
        wait_until(lambda: text in self.log(), timeout, f"{text!r} in feedwatchd's log")

    # -- CLI ---------------------------------------------------------------------------
    def cli(self, *args, timeout=30, json_out=True):
        """Runs feedwatch --socket S [--json] ARGS; returns (exit status, parsed JSON or None)."""
        argv = [FEEDWATCH, "--socket", self.sock] + (["--json"] if json_out else []) + list(args)
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout, env=_child_env())
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{' '.join(argv)}: no answer after {timeout}s") from None
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        self.last = (argv, p.returncode, out, err)
        # --json answers are one JSON document: anything else (a second line, trailing text)
        # is not parsed away but makes doc None, which the caller's checks then catch.
        doc = None
        if out.strip():
            try:
                doc = json.loads(out)
            except ValueError:
                doc = None
        return p.returncode, doc

    def describe_last(self):
        if self.last is None:
            return "(no CLI call)"
        argv, rc, out, err = self.last
        return f"$ {' '.join(argv[1:])}\nexit {rc}\nstdout: {out.strip()}\nstderr: {err.strip()}"

    def cli_ok(self, *args, timeout=30):
        """cli() that must exit 0 with {"ok": true, ...}; returns the document."""
        rc, doc = self.cli(*args, timeout=timeout)
        if rc != 0 or not isinstance(doc, dict) or doc.get("ok") is not True:
            raise AssertionError("CLI call failed:\n" + self.describe_last())
        return doc

    def status(self):
        return self.cli_ok("status")

    def feeds_state(self):
        """{name: entry of `feeds --json`}."""
        return {f["name"]: f for f in self.cli_ok("feeds")["feeds"]}

    def feed(self, name):
        entry = self.feeds_state().get(name)
        assert entry is not None, f"feed {name!r} not listed by `feeds`"
        return entry

    def items(self, feed=None, limit=1000):
        args = ["items", "--limit", str(limit)] + (["--feed", feed] if feed else [])
        return self.cli_ok(*args)["items"]

    def poll_wait(self, feed=None, timeout=60):
        """`poll --wait [FEED]`; returns the response's "cycle" counts."""
        doc = self.cli_ok("poll", "--wait", *([feed] if feed else []), timeout=timeout)
        assert isinstance(doc.get("cycle"), dict), "poll --wait without cycle: " + json.dumps(doc)
        return doc["cycle"]

    def wait_polled(self, names, timeout=15):
        """Waits until each named feed has been polled at least once; returns feeds_state().
        `feeds` shows a poll once it is stored, with its items (test_writer.py)."""
        def done():
            state = self.feeds_state()
            return state if all(state.get(n, {}).get("last_poll") for n in names) else None
        return wait_until(done, timeout, f"a first poll of {', '.join(names)}")

    def wait_feed(self, name, predicate, timeout, what):
        """Waits until predicate(entry of feed name) holds; returns that entry."""
        def check():
            entry = self.feeds_state().get(name)
            return entry if entry is not None and predicate(entry) else None
        return wait_until(check, timeout, f"feed {name!r}: {what}")

    # -- database ----------------------------------------------------------------------
    def query(self, sql, params=()):
        return query(self.db, sql, params)

    def count_items(self, feed=None):
        if feed is None:
            return self.query("SELECT count(*) FROM items")[0][0]
        return self.query("SELECT count(*) FROM items JOIN feeds ON feeds.id = items.feed_id "
                          "WHERE feeds.name = ?", (feed,))[0][0]

    def duplicates(self):
        return self.query("SELECT feed_id, key, count(*) FROM items "
                          "GROUP BY feed_id, key HAVING count(*) > 1")

    def connect(self, timeout=10):
        return Control(self.sock, timeout)


class Ctx:
    """What one test function gets: a temp directory, and daemons and servers to clean up."""

    def __init__(self, name):
        base = tempfile.gettempdir()
        if len(base) > 40:      # keep socket paths well under sun_path's 108 bytes
            base = "/tmp"
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="fw-%s-" % name[5:25], dir=base)
        self.daemons = []
        self.servers = []

    def daemon(self, feeds=None, name="feedwatchd", **settings):
        """A Daemon (not started) whose files are in this test's directory."""
        d = Daemon(self.dir, feeds, name=name, **settings)
        self.daemons.append(d)
        return d

    def httpd(self):
        """A started httpd.Server."""
        s = httpd.Server().start()
        self.servers.append(s)
        return s

    def cleanup(self, passed):
        for d in self.daemons:
            d.kill()
        for s in self.servers:
            s.shutdown()
        if passed:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        print(f"    kept {self.dir}")
        for d in self.daemons:
            if d.last is not None:
                print("    last CLI call:\n" + _indent(d.describe_last(), 6))
            lines = d.log().splitlines()
            print(f"    {os.path.basename(d.log_path)} ({len(lines)} lines"
                  f"{', last 150' if len(lines) > 150 else ''}):")
            print(_indent("\n".join(lines[-150:]), 6))


def _indent(text, n):
    return "\n".join(" " * n + line for line in text.splitlines())


@atexit.register
def _kill_live():
    for d in _live:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()


def rss_items(items):
    """An RSS 2.0 document (bytes) of (guid, title) items, each with a link and a description."""
    body = "".join(f"<item><guid isPermaLink=\"false\">{g}</guid><title>{t}</title>"
                   f"<link>http://example.org/{g}</link>"
                   f"<description>{t} and some words about it.</description></item>\n"
                   for g, t in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            "<title>t</title><link>http://example.org/</link><description>d</description>\n"
            + body + "</channel></rss>\n").encode()


def hook_runs(outdir):
    """The runs tests/integration/hook_record.py recorded in outdir (runs.jsonl), in order."""
    path = os.path.join(outdir, "runs.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        # A line without its newline is a run still being recorded: not a run yet.
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def main():
    """Runs the calling script's test_* functions in definition order; exits 1 on a failure."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    module = sys.modules["__main__"]
    tests = [f for n, f in vars(module).items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda f: f.__code__.co_firstlineno)
    wanted = sys.argv[1:]
    if wanted:
        tests = [f for f in tests if any(w in f.__name__ for w in wanted)]
    failed = []
    for func in tests:
        ctx = Ctx(func.__name__)
        start = time.monotonic()
        passed = False
        try:
            func(ctx)
            passed = True
        except Exception:
            failed.append(func.__name__)
            print(f"FAIL {func.__name__} ({time.monotonic() - start:.1f}s)")
            print(_indent(traceback.format_exc().rstrip(), 4))
        finally:
            ctx.cleanup(passed)
        if passed:
            print(f"ok   {func.__name__} ({time.monotonic() - start:.1f}s)")
        sys.stdout.flush()
    print(f"{len(tests) - len(failed)} passed, {len(failed)} failed"
          + (": " + ", ".join(failed) if failed else ""))
    sys.exit(1 if failed else 0)
