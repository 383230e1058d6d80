#!/usr/bin/env python3
"""feedwatchd speaks the sd_notify protocol as a Type=notify service with a watchdog.

The test plays the service manager: it binds its own NOTIFY_SOCKET (AF_UNIX, SOCK_DGRAM,
SO_PASSCRED so every datagram carries the sender's pid), sets WATCHDOG_USEC=6000000,
starts the daemon on a temporary config with one file:// feed, and checks, each against a
deadline:

- READY=1 arrives, and only once the control socket exists (mode 0660) and answers;
- a STATUS= line arrives, and another after the first poll cycle;
- WATCHDOG=1 arrives within the watchdog period (pings are due at half of it), and keeps
  coming at less than the period: a 6 s period leaves a loaded machine 3 s of slack;
- SIGHUP: RELOADING=1, then READY=1, and the new config is in force; a reload with a bad
  config also gives RELOADING=1, READY=1 and keeps the old config running;
- SIGTERM: STOPPING=1, exit code 0, the socket file removed;
- every datagram comes from the daemon's main pid (the unit has NotifyAccess=main) and is
  newline-separated KEY=VALUE lines.

Env (set by ctest): FEEDWATCHD (daemon binary), FW_SOURCE_DIR (for config/feeds/*.xml).
"""

import json
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

WATCHDOG_USEC = 6_000_000
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # Linux: SCM_TIMESTAMPNS is the same
TIMESPEC = struct.Struct("@ql")
START_TIMEOUT = 15.0     # READY=1 after exec (database creation included)
STATUS_TIMEOUT = 15.0    # the STATUS= after the first poll cycle
RELOAD_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def parse_datagram(data):
    """A notification datagram as a list of (KEY, VALUE), in order."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Failure(f"notification is not UTF-8: {data!r}") from e
    pairs = []
    for line in text.split("\n"):
        if line == "":
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        check(m, f"notification line is not KEY=VALUE: {line!r} in {text!r}")
        pairs.append((m.group(1), m.group(2)))
    check(pairs, f"empty notification: {data!r}")
    return pairs


class Notifier:
    """The service manager's end of NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        # The kernel stamps each datagram as it arrives: gaps between pings are measured
        # between sends, not between the moments this (possibly busy) test read them.
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.pid = None
        self.log = []       # (monotonic time, [(KEY, VALUE)...]) of every datagram
        self.on_ready = None

    def close(self):
        self.sock.close()

    def _receive(self, timeout):
        """Receives one datagram within timeout seconds; returns its pairs or None."""
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return None
        data, anc, flags, _ = self.sock.recvmsg(
            4096, socket.CMSG_SPACE(struct.calcsize("iII")) + socket.CMSG_SPACE(TIMESPEC.size))
        now = time.monotonic()
        wall = time.time()
        check(not flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC),
              "notification or its credentials truncated")
        pid = arrived = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", cdata[:struct.calcsize("iII")])
            elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack(cdata[:TIMESPEC.size])
                arrived = sec + nsec / 1e9
        check(arrived is not None, "no arrival time (SO_TIMESTAMPNS) on the notification")
        # The arrival on the monotonic clock: how long ago it arrived, back from now.
        now -= min(max(wall - arrived, 0.0), 60.0)
        pairs = parse_datagram(data)
        check(pid == self.pid,
              f"notification {pairs!r} from pid {pid}, not the daemon's main pid {self.pid}")
        self.log.append((now, pairs))
        if self.on_ready and ("READY", "1") in pairs:
            self.on_ready(pairs)
        return pairs

    def wait_for(self, key, value=None, timeout=10.0, what=None):
        """Reads notifications until one holds KEY (=value); returns (time, pairs)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            pairs = self._receive(left)
            if pairs is None:
                if time.monotonic() >= deadline:
                    seen = [p for _, p in self.log[-10:]]
                    raise Failure(f"timed out after {timeout:.1f}s waiting for {what or key}; "
                                  f"last seen: {seen!r}")
                continue
            for k, v in pairs:
                if k == key and (value is None or v == value):
                    return self.log[-1][0], pairs

    def drain(self):
        """Reads whatever is queued now, without waiting."""
        while self._receive(0) is not None:
            pass


def control_request(sock_path, request, timeout=10.0):
    """One request on the control socket; the decoded response line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall((json.dumps(request) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            check(chunk, f"control socket closed before answering {request!r}")
            buf += chunk
            check(len(buf) < 16 << 20, "control response too long")
    return json.loads(buf.split(b"\n", 1)[0])


def write_config(path, tmp, feeds):
    lines = [
        "[daemon]",
        f"database = {os.path.join(tmp, 'feedwatch.db')}",
        f"socket = {os.path.join(tmp, 'feedwatch.sock')}",
        "interval = 15m",
        "log_level = info",
        "",
    ]
    for name, url in feeds:
        lines += [f'[feed "{name}"]', f"url = {url}", ""]
    tmp_path = path + ".new"
    with open(tmp_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp_path, path)


def main():
    daemon = os.environ.get("FEEDWATCHD")
    check(daemon and os.access(daemon, os.X_OK), f"FEEDWATCHD is not an executable: {daemon!r}")
    source_dir = os.environ.get("FW_SOURCE_DIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    feed_a = os.path.join(source_dir, "config", "feeds", "afp-world.xml")
    feed_b = os.path.join(source_dir, "config", "feeds", "nl-nieuws.xml")
    for f in (feed_a, feed_b):
        check(os.path.isfile(f), f"{f} exists")

    with tempfile.TemporaryDirectory(prefix="fw-notify-") as tmp:
        conf = os.path.join(tmp, "feedwatch.conf")
        ctl = os.path.join(tmp, "feedwatch.sock")
        logpath = os.path.join(tmp, "daemon.log")
        write_config(conf, tmp, [("afp-world", "file://" + feed_a)])

        notifier = Notifier(os.path.join(tmp, "notify.sock"))
        env = dict(os.environ)
        for k in ("WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                  "JOURNAL_STREAM", "INVOCATION_ID"):
            env.pop(k, None)
        env["NOTIFY_SOCKET"] = notifier.path
        env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)

        ready_checks = []

        def on_ready(pairs):
            # Runs the moment a READY=1 datagram is read: the socket must be there already.
            try:
                st = os.stat(ctl)
            except FileNotFoundError:
                raise Failure(f"READY=1 arrived before {ctl} existed") from None
            check(stat.S_ISSOCK(st.st_mode), f"{ctl} is not a socket")
            ready_checks.append(stat.S_IMODE(st.st_mode))

        notifier.on_ready = on_ready
        logf = open(logpath, "wb")
        proc = None
        try:
            t0 = time.monotonic()
            proc = subprocess.Popen([daemon, "--config", conf], stdin=subprocess.DEVNULL,
                                    stdout=logf, stderr=subprocess.STDOUT, env=env)
            notifier.pid = proc.pid

            # READY=1, once the control socket listens.
            t_ready, pairs = notifier.wait_for("READY", "1", START_TIMEOUT, "READY=1")
            mode = ready_checks[-1]
            check(mode == 0o660, f"control socket mode {mode:04o}, want 0660")
            resp = control_request(ctl, {"cmd": "status"})
            check(resp.get("ok") is True, f"status after READY=1: {resp!r}")
            print(f"ok: READY=1 after {t_ready - t0:.2f}s, socket 0660 and answering")

            # STATUS=: one line, not empty; another after the first poll cycle.
            statuses = [(t, v) for t, ps in notifier.log for k, v in ps if k == "STATUS"]
            if not statuses:
                t, ps = notifier.wait_for("STATUS", None, STATUS_TIMEOUT, "STATUS=")
                statuses = [(t, v) for k, v in ps if k == "STATUS"]
            t_status, first_status = statuses[0]
            check(first_status.strip(), "STATUS= is empty")
            check(all(0x20 <= ord(c) != 0x7f for c in first_status),
                  f"STATUS= has control characters: {first_status!r}")
            if t_status <= t_ready:
                notifier.wait_for("STATUS", None, STATUS_TIMEOUT, "STATUS= after the poll cycle")
            later = [v for t, ps in notifier.log if t > t_ready for k, v in ps if k == "STATUS"]
            check(later, "no STATUS= after READY=1")
            print(f"ok: STATUS={first_status!r}, then STATUS={later[-1]!r}")

            # WATCHDOG=1 within the period of start, then each within the watchdog period of the
            # last, by the kernel's arrival times (one read late while the test was busy is
            # neither a gap nor, with the next one read at once, a flood).
            period = WATCHDOG_USEC / 1e6
            pings = [t for t, ps in notifier.log if ("WATCHDOG", "1") in ps]
            if not pings:
                t, _ = notifier.wait_for("WATCHDOG", "1", t0 + period + 0.5 - time.monotonic(),
                                         "the first WATCHDOG=1")
                pings.append(t)
            check(pings[0] - t0 <= period + 0.5,
                  f"first WATCHDOG=1 {pings[0] - t0:.2f}s after start (watchdog {period}s)")
            notifier.drain()
            fresh = []
            for _ in range(3):
                t, _ = notifier.wait_for("WATCHDOG", "1", period, "the next WATCHDOG=1")
                fresh.append(t)
            gaps = [b - a for a, b in zip(fresh, fresh[1:])]
            check(min(gaps) > period / 10, f"WATCHDOG=1 floods: gaps {gaps!r}")
            print(f"ok: WATCHDOG=1 {pings[0] - t0:.2f}s after start, then every "
                  + ", ".join(f"{g:.2f}s" for g in gaps))

            # SIGHUP with a new feed: RELOADING=1, then READY=1, and the feed is there.
            notifier.drain()
            write_config(conf, tmp, [("afp-world", "file://" + feed_a),
                                     ("nl-nieuws", "file://" + feed_b)])
            proc.send_signal(signal.SIGHUP)
            t_rl, _ = notifier.wait_for("RELOADING", "1", RELOAD_TIMEOUT, "RELOADING=1")
            t_rr, _ = notifier.wait_for("READY", "1", RELOAD_TIMEOUT, "READY=1 after RELOADING=1")
            check(proc.poll() is None, "daemon exited on SIGHUP")
            resp = control_request(ctl, {"cmd": "feeds"})
            names = sorted(f.get("name") for f in resp.get("feeds") or [])
            check(resp.get("ok") is True and names == ["afp-world", "nl-nieuws"],
                  f"feeds after reload: {resp!r}")
            print(f"ok: SIGHUP: RELOADING=1, READY=1 {t_rr - t_rl:.2f}s later; feeds {names}")

            # SIGHUP with a bad config: RELOADING=1, READY=1, old config still running.
            with open(conf, "a", encoding="utf-8") as f:
                f.write("\n[daemon]\nno_such_key = 1\n")
            proc.send_signal(signal.SIGHUP)
            notifier.wait_for("RELOADING", "1", RELOAD_TIMEOUT, "RELOADING=1 (bad config)")
            notifier.wait_for("READY", "1", RELOAD_TIMEOUT, "READY=1 after a failed reload")
            check(proc.poll() is None, "daemon exited on a reload with a bad config")
            resp = control_request(ctl, {"cmd": "feeds"})
            names = sorted(f.get("name") for f in resp.get("feeds") or [])
            check(resp.get("ok") is True and names == ["afp-world", "nl-nieuws"],
                  f"feeds after a failed reload: {resp!r}")
            print("ok: SIGHUP with a bad config: RELOADING=1, READY=1, old config kept")

            # Still alive for the watchdog after the reloads.
            notifier.wait_for("WATCHDOG", "1", period + 0.5, "WATCHDOG=1 after the reloads")

            # SIGTERM: STOPPING=1, exit 0, socket removed.
            proc.send_signal(signal.SIGTERM)
            notifier.wait_for("STOPPING", "1", STOP_TIMEOUT, "STOPPING=1")
            try:
                rc = proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Failure(f"daemon still running {STOP_TIMEOUT}s after SIGTERM") from None
            check(rc == 0, f"exit code {rc} after SIGTERM, want 0")
            check(not os.path.exists(ctl), f"{ctl} left behind after exit")
            notifier.drain()
            print("ok: SIGTERM: STOPPING=1, exit 0, socket removed")
        except Failure as e:
            print(f"FAIL: {e}")
            logf.flush()
            with open(logpath, "rb") as f:
                tail = f.read()[-8000:].decode("utf-8", "replace")
            print("--- daemon log (tail) ---\n" + tail)
            return 1
        finally:
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
            logf.close()
            notifier.close()
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as err:
        print(f"FAIL: {err}")
        sys.exit(1)
