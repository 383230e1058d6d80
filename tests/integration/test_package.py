#!/usr/bin/python3
"""The Debian package scripts/package built (scripts/test builds it before the suite, into
FW_PACKAGE_DIR): unpacked with dpkg-deb -x into a scratch root, it holds the two programs,
the unit, the sysusers and tmpfiles snippets, the config as a conffile, the man pages and
the completions; the unit passes `systemd-analyze verify --root`; the unpacked daemon runs."""

import glob
import gzip
import os
import re
import shutil
import subprocess

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PKG_DIR = os.environ.get("FW_PACKAGE_DIR") or os.path.join(SRC, "build-package", "out")

FILES = [
    "usr/sbin/feedwatchd",
    "usr/bin/feedwatch",
    "usr/lib/systemd/system/feedwatchd.service",
    "usr/lib/sysusers.d/feedwatch.conf",
    "usr/lib/tmpfiles.d/feedwatch.conf",
    "etc/feedwatch/feedwatch.conf",
    "etc/feedwatch/conf.d",
    "usr/share/man/man8/feedwatchd.8.gz",
    "usr/share/man/man1/feedwatch.1.gz",
    "usr/share/man/man5/feedwatch.conf.5.gz",
    "usr/share/bash-completion/completions/feedwatch",
    "usr/share/bash-completion/completions/feedwatchd",
    "usr/share/zsh/vendor-completions/_feedwatch",
    "usr/share/doc/feedwatch/copyright",
    "usr/share/doc/feedwatch/examples/feedwatch.conf",
]


def package():
    debs = sorted(glob.glob(os.path.join(PKG_DIR, "feedwatch_*.deb")), key=os.path.getmtime)
    assert debs, f"no package in {PKG_DIR}: run scripts/package {PKG_DIR} (scripts/test does)"
    return debs[-1]


def version():
    text = open(os.path.join(SRC, "CMakeLists.txt")).read()
    return re.search(r"project\(feedwatch VERSION ([0-9.]+)", text).group(1)


def test_files_and_control(t):
    deb = package()
    root = os.path.join(t.dir, "root")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    for f in FILES:
        assert os.path.exists(os.path.join(root, f)), f"{f} missing from {deb}"
    for prog in ("usr/sbin/feedwatchd", "usr/bin/feedwatch"):
        assert os.access(os.path.join(root, prog), os.X_OK), prog
    ctl = os.path.join(t.dir, "DEBIAN")
    subprocess.run(["dpkg-deb", "-e", deb, ctl], check=True)
    assert open(os.path.join(ctl, "conffiles")).read().split() == ["/etc/feedwatch/feedwatch.conf"]
    control = open(os.path.join(ctl, "control")).read()
    assert f"Version: {version()}-1\n" in control, control
    for lib in ("libcurl4", "libuv1", "libxml2", "libsqlite3-0", "libpq5"):
        assert re.search(rf"^Depends:.*\b{lib}\b", control, re.M), (lib, control)
    # The daemon refuses libcurl < 7.85 and SQLite < 3.35 at start: the package must not install
    # beside them.
    assert re.search(r"^Depends:.*\blibcurl4 \(>= 7\.85\.0\)", control, re.M), control
    assert re.search(r"^Depends:.*\blibsqlite3-0 \(>= 3\.35\.0\)", control, re.M), control
    for script in ("postinst", "prerm", "postrm"):
        p = subprocess.run(["sh", "-n", os.path.join(ctl, script)], capture_output=True)
        assert p.returncode == 0, (script, p.stderr)
    assert "systemd-sysusers feedwatch.conf" in open(os.path.join(ctl, "postinst")).read()
    # The man pages are roff made by scdoc, one per program and one for the config.
    for page, title in (("man8/feedwatchd.8.gz", '"feedwatchd" "8"'),
                        ("man1/feedwatch.1.gz", '"feedwatch" "1"'),
                        ("man5/feedwatch.conf.5.gz", '"feedwatch.conf" "5"')):
        text = gzip.open(os.path.join(root, "usr/share/man", page), "rt").read()
        assert f".TH {title}" in text, (page, text[:300])


def test_unpacked_programs_run(t):
    root = os.path.join(t.dir, "root")
    subprocess.run(["dpkg-deb", "-x", package(), root], check=True)
    for prog, name in (("usr/sbin/feedwatchd", "feedwatchd"), ("usr/bin/feedwatch", "feedwatch")):
        p = subprocess.run([os.path.join(root, prog), "--version"], capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 0 and p.stdout.strip() == f"{name} {version()}", (prog, p)
    # The installed config is valid as shipped (its include of conf.d/*.conf matches nothing
    # here; the database folder is the service's state directory, not made yet).
    conf = os.path.join(root, "etc/feedwatch/feedwatch.conf")
    text = open(conf).read().replace("/etc/feedwatch/conf.d", os.path.join(root, "etc/feedwatch/conf.d"))
    open(conf, "w").write(text)
    p = subprocess.run([os.path.join(root, "usr/sbin/feedwatchd"), "--check", "--config", conf],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr


def test_unit_verifies_in_the_unpacked_root(t):
    root = os.path.join(t.dir, "root")
    subprocess.run(["dpkg-deb", "-x", package(), root], check=True)
    # What the unit needs of the system besides the package: the targets it orders against
    # and /bin/kill of ExecReload.
    units = os.path.join(root, "usr/lib/systemd/system")
    for target in glob.glob("/lib/systemd/system/*.target"):
        dst = os.path.join(units, os.path.basename(target))
        if not os.path.exists(dst):
            shutil.copy(target, dst)
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    shutil.copy("/bin/kill", os.path.join(root, "bin/kill"))
    unit = open(os.path.join(units, "feedwatchd.service")).read()
    assert "ExecStart=/usr/sbin/feedwatchd --config /etc/feedwatch/feedwatch.conf" in unit
    p = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "feedwatchd.service"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    # verify does look inside the root: without the daemon the same unit fails.
    os.rename(os.path.join(root, "usr/sbin/feedwatchd"), os.path.join(t.dir, "feedwatchd"))
    p = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "feedwatchd.service"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "/usr/sbin/feedwatchd" in p.stdout + p.stderr, p


if __name__ == "__main__":
    fwtest.main()
