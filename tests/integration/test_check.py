#!/usr/bin/python3
"""feedwatchd --check: validates a config as a start would (keys, queries, hook programs,
secret files, the database's folder) and exits 0 or 2 without creating a database, opening
the socket, polling or running a hook."""

import json
import os
import subprocess

import fwtest

FEEDWATCHD = fwtest.FEEDWATCHD


def check(path, user=None):
    argv = [FEEDWATCHD, "--check", "--config", path]
    if user:  # as a user who is not root: file modes then count
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def write(directory, name, text, mode=0o644):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def test_good_config_touches_nothing(t):
    hook = write(t.dir, "hook.sh", "#!/bin/sh\ntouch ran\n", 0o755)
    secret = write(t.dir, "key", "s3cret")
    conf = write(t.dir, "fw.conf", f"""
[daemon]
database = state/sub/fw.db
socket = fw.sock
[feed "a"]
url = http://127.0.0.1:9/a.xml
[topic "osce"]
match = OSCE OR "ukraine border"~4
hooks = run, web
[hook "run"]
exec = {hook} --flag
[hook "web"]
url = http://127.0.0.1:9/hook
secret_file = key
""")
    rc, out = check(conf)
    assert rc == 0, out
    assert "ok (1 feeds, 1 topics, 2 hooks)" in out, out
    # No database, socket or folder made; nothing ran.
    assert sorted(os.listdir(t.dir)) == ["fw.conf", "hook.sh", "key"], os.listdir(t.dir)


def test_every_problem_is_named(t):
    # The config reader names every unreadable secret file, with its line.
    conf = write(t.dir, "fw.conf", """
[daemon]
database = fw.db
[feed "a"]
url = http://127.0.0.1:9/a.xml
password_file = no-such-pass
user = me
[hook "web"]
url = http://127.0.0.1:9/hook
secret_file = no-such-key
""")
    rc, out = check(conf)
    assert rc == 2, out
    assert f"{conf}:6: password_file: cannot read '{t.dir}/no-such-pass'" in out, out
    assert f"{conf}:10: secret_file: cannot read '{t.dir}/no-such-key'" in out, out
    # Then each hook program must exist and be executable (a start only finds out when the
    # first alert runs it).
    write(t.dir, "not-exec", "#!/bin/sh\n", 0o644)
    conf = write(t.dir, "fw2.conf", """
[daemon]
database = fw.db
[topic "t"]
match = OSCE
hooks = run, sh, plain
[hook "run"]
exec = ./missing-program
[hook "sh"]
exec = no-such-program-in-path-xyz --x
[hook "plain"]
exec = ./not-exec
""")
    rc, out = check(conf)
    assert rc == 2, out
    # (each names its [hook] section's line; relative programs are made absolute)
    assert f"{conf}:7: exec: {t.dir}/missing-program is not an executable file" in out, out
    assert f"{conf}:9: exec: no-such-program-in-path-xyz is not an executable file in PATH" \
        in out, out
    assert f"{conf}:11: exec: {t.dir}/not-exec is not an executable file" in out, out
    assert not os.path.exists(os.path.join(t.dir, "fw.db"))


def test_bad_query_and_bad_key(t):
    conf = write(t.dir, "fw.conf", '[topic "t"]\nmatch = (OSCE\n')
    rc, out = check(conf)
    assert rc == 2 and "expected ')'" in out, out
    conf = write(t.dir, "fw2.conf", "[daemon]\nintervl = 5m\n")
    rc, out = check(conf)
    assert rc == 2 and f"{conf}:2" in out and "intervl" in out, out
    rc, out = check(os.path.join(t.dir, "absent.conf"))
    assert rc == 2 and "absent.conf" in out, out


def test_settings_that_do_nothing_or_make_no_sense(t):
    """Hostile review L3: a topic with on_update = alert none of whose hooks lists
    item-updated in its events raises nothing on edits: --check warns (file:line), the config
    stays good (exit 0); a hook of the topic that takes item-updated silences it. A batch
    window over a day, or a story window over 30 days, is an error naming file and line."""
    conf = write(t.dir, "fw.conf", """
[daemon]
database = fw.db
[topic "quiet"]
match = OSCE
on_update = alert
hooks = run
[topic "heard"]
match = OVSE
on_update = alert
hooks = run, edits
[topic "plain"]
match = OSZE
hooks = run
[hook "run"]
exec = /bin/true
[hook "edits"]
exec = /bin/true
events = alert, item-updated
""")
    rc, out = check(conf)
    assert rc == 0, out
    assert (f"{conf}:4: warning: topic 'quiet': on_update = alert: none of its hooks lists"
            " item-updated in its events, so none hears of an edit (an item edited into"
            " matching still raises an alert)") in out, out
    assert "'heard'" not in out and "'plain'" not in out, out
    assert "ok (0 feeds, 3 topics, 2 hooks)" in out, out
    conf = write(t.dir, "fw2.conf", """
[daemon]
database = fw.db
story_window = 31d
[hook "digest"]
exec = /bin/true
batch = 36500d
""")
    rc, out = check(conf)  # taken at their bounds, with warnings (review11 M3)
    assert rc == 0, out
    assert (f"{conf}:4: warning: story_window: duration '31d' is longer than the most, 30d:"
            " 30d is used") in out, out
    assert (f"{conf}:7: warning: batch: duration '36500d' is longer than the most, 1d: 1d is"
            " used") in out, out


def test_files_are_checked_as_the_user(t):
    """A secret only root may read is a problem for a daemon that runs as another user."""
    os.chmod(t.dir, 0o755)
    secret = write(t.dir, "key", "s3cret", 0o600)
    db_dir = os.path.join(t.dir, "db")
    os.mkdir(db_dir, 0o755)
    conf = write(t.dir, "fw.conf", f"""
[daemon]
database = {db_dir}/fw.db
[hook "web"]
url = http://127.0.0.1:9/hook
secret_file = {secret}
""")
    rc, out = check(conf)
    assert rc == 0, out                      # root reads anything
    rc, out = check(conf, user=65534)   # nobody
    assert rc == 2, out
    assert "secret_file: cannot read" in out and "Permission denied" in out, out
    os.chmod(secret, 0o644)
    rc, out = check(conf, user=65534)
    assert rc == 2, out
    assert f"database: folder {db_dir} is not writable" in out, out
    os.chmod(db_dir, 0o777)
    rc, out = check(conf, user=65534)
    assert rc == 0, out


def test_cli_reads_only_the_socket_of_a_config(t):
    """`feedwatch --config F status` takes F's socket and nothing else: a secret the CLI user
    may not read, or a mistake elsewhere in F, does not stop it."""
    os.chmod(t.dir, 0o755)
    d = t.daemon({}).start()
    os.chmod(d.sock, 0o666)
    secret = write(t.dir, "key", "s3cret", 0o600)
    inc = write(t.dir, "more.conf", f"[daemon]\nsocket = {d.sock}\n", 0o644)
    conf = write(t.dir, "cli.conf", f"""
[feed "a"]
url = http://127.0.0.1:9/a.xml
password_file = {secret}
user = me
[hook "web"]
url = http://127.0.0.1:9/hook
secret_file = {secret}
[topic "broken"]
match = (unclosed
nonsense line without equals
[nosuchsection "x"]
whatever = 1
include = {inc}
""", 0o644)

    def cli(*argv, user=None):
        argv = [fwtest.FEEDWATCH, "--config", conf, "--json"] + list(argv)
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    for user in (None, 65534):        # root, then nobody (who cannot read the secret)
        p = cli("status", user=user)
        assert p.returncode == 0, (user, p.stdout, p.stderr)
        assert json.loads(p.stdout)["ok"] is True, p.stdout
    # A socket value that is no path is still an error, with its file and line.
    bad = write(t.dir, "bad.conf", "[daemon]\nsocket = " + "x" * 200 + "\n", 0o644)
    p = subprocess.run([fwtest.FEEDWATCH, "--config", bad, "status"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and f"{bad}:2" in p.stderr, p
    # An unreadable --config is an error too.
    p = subprocess.run([fwtest.FEEDWATCH, "--config", os.path.join(t.dir, "absent.conf"),
                        "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "absent.conf" in p.stderr, p
    assert d.stop() == 0


def test_postgresql_database_is_not_taken_for_a_file(t):
    """A PostgreSQL connection string in `database` is no relative file name (issue 16): it
    goes to the PostgreSQL engine, --check takes it, and a start that cannot reach the server
    fails, saying so with its password hidden, and creates no file or folder for it (the
    '/' of a URI or of host=/run/postgresql are no folders). The servers are Unix sockets
    that are not there, so nothing leaves the machine."""
    cases = [
        ("postgresql://feeds:s3cret@%2Fnonexistent%2Ffwpg:5433/feedwatch?sslmode=disable",
         "'postgresql://***@%2Fnonexistent%2Ffwpg:5433/feedwatch?sslmode=disable'"),
        ("postgres://%2Fnonexistent%2Ffwpg/feedwatch", "'postgres://%2Fnonexistent%2Ffwpg/feedwatch'"),
        ("host=/nonexistent/fwpg dbname=feeds password=s3cret",
         "'host=/nonexistent/fwpg dbname=feeds password=***'"),
        ("service=feeds", "'service=feeds'"),
    ]
    for i, (value, shown) in enumerate(cases):
        conf = write(t.dir, f"pg{i}.conf", f"""
[daemon]
database = {value}
socket = fw{i}.sock
[feed "a"]
url = http://127.0.0.1:9/a.xml
""")
        before = sorted(os.listdir(t.dir))
        rc, out = check(conf)
        assert rc == 0, (value, out)
        p = subprocess.run([FEEDWATCHD, "--config", conf, "--foreground"], capture_output=True,
                           text=True, timeout=60, cwd=t.dir)
        assert p.returncode == 1, (value, p.stdout, p.stderr)
        assert f"store: cannot open database {shown}: " in p.stderr, (value, p.stderr)
        assert "s3cret" not in p.stdout + p.stderr, p.stderr
        # Nothing was made for it: no "postgresql:" or "host=" folder, no database, no socket.
        assert sorted(os.listdir(t.dir)) == before, (value, os.listdir(t.dir))
    # A file name with a '=' after a word libpq does not know stays a file (beside the config).
    conf = write(t.dir, "file.conf", "[daemon]\ndatabase = run=1.db\n")
    rc, out = check(conf)
    assert rc == 0, out


if __name__ == "__main__":
    fwtest.main()
