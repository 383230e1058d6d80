#!/usr/bin/python3
"""A feed's redirects on its own host name, with a public address at hand (issue 14, F4).

The tests run in a private network and mount namespace (unshare -n -m, as root: CI runs as
root): 11.0.0.1 on loopback stands in for a public host, and /etc/hosts is replaced by one
where `both.example` resolves to 11.0.0.1 and to 127.0.0.1, `pub.example` to 11.0.0.1 and
`local.example` to 127.0.0.1. Nothing leaves the namespace.

A redirect on the configured URL's origin is exempt from the address policy only when the
configured URL's own connection went to a non-public address (an intranet feed); a feed
reached on a public address has every hop checked, whatever the name says."""

import os
import shutil
import subprocess
import sys
import tempfile

import fwtest
import httpd

PUBLIC = "11.0.0.1"
REFUSED = "is not public (allow_private_addresses)"
HOSTS = f"""127.0.0.1 localhost
::1 localhost
{PUBLIC} pub.example
{PUBLIC} both.example
127.0.0.1 both.example
127.0.0.1 local.example
"""


def rss(title):
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<item><title>{title} item</title><guid>{title}-1</guid></item>"
            "</channel></rss>").encode()


def server(t, host):
    s = httpd.Server(host=host).start()
    t.servers.append(s)
    return s


def titles(d):
    return sorted(title for (title,) in d.query("SELECT title FROM items"))


def test_a_public_feed_cannot_redirect_inside_on_its_own_name(t):
    pub, inside = server(t, PUBLIC), server(t, "127.0.0.1")
    inside.add_file("/admin.xml", rss("INTERNAL"))
    inside.add_file("/feed.xml", rss("intranet"))
    pub.add_file("/real.xml", rss("public"))
    # Another port of the same name: only 127.0.0.1 answers there.
    pub.add_redirect("/port.xml", f"http://both.example:{inside.port}/admin.xml")
    # The same origin (name and port): 127.0.0.1 has nothing on this port, 11.0.0.1 has.
    pub.add_redirect("/home.xml", f"http://both.example:{pub.port}/real.xml")
    d = t.daemon({"port": f"http://both.example:{pub.port}/port.xml",
                  "home": f"http://pub.example:{pub.port}/home.xml",
                  "same": f"http://both.example:{pub.port}/home.xml"}).start()
    state = d.wait_polled(["port", "home", "same"], timeout=30)
    assert state["port"]["state"] == "failing", state["port"]
    assert f"address 127.0.0.1 {REFUSED}" in state["port"]["last_error"], state["port"]
    assert inside.count("/admin.xml") == 0
    # A public feed's redirects to public addresses are followed (the policy is no blanket no).
    assert state["home"]["state"] == "ok", state["home"]
    assert state["same"]["state"] == "ok", state["same"]
    assert pub.count("/real.xml") == 2
    assert "INTERNAL item" not in titles(d)
    assert d.stop() == 0


def test_an_intranet_feed_may_redirect_on_its_origin(t):
    inside, other = server(t, "127.0.0.1"), server(t, "127.0.0.1")
    inside.add_file("/feed.xml", rss("intranet"))
    inside.add_redirect("/old.xml", f"http://local.example:{inside.port}/feed.xml")
    other.add_file("/admin.xml", rss("OTHER"))
    # The same private host, another port: another service, not the feed's origin.
    inside.add_redirect("/port.xml", f"http://local.example:{other.port}/admin.xml")
    d = t.daemon({"home": f"http://local.example:{inside.port}/old.xml",
                  "port": f"http://local.example:{inside.port}/port.xml",
                  "allowed": {"url": f"http://local.example:{inside.port}/port.xml",
                              "allow_private_addresses": "yes"}}).start()
    state = d.wait_polled(["home", "port", "allowed"], timeout=30)
    assert state["home"]["state"] == "ok", state["home"]
    assert inside.count("/feed.xml") == 1
    assert state["port"]["state"] == "failing", state["port"]
    assert f"address 127.0.0.1 {REFUSED}" in state["port"]["last_error"], state["port"]
    assert state["allowed"]["state"] == "ok", state["allowed"]
    assert other.count("/admin.xml") == 1      # the allowed feed's hop only
    assert d.stop() == 0


def enter_namespace():
    """Re-runs this script in a private network and mount namespace with the stand-ins."""
    if os.environ.get("FW_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "addr", "add", f"{PUBLIC}/32", "dev", "lo"], check=True)
        tmp = tempfile.mkdtemp(prefix="fw-netns-")
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write(HOSTS)
        subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)
        shutil.rmtree(tmp)      # the mount keeps the file
        return
    if os.geteuid() != 0:
        sys.exit("test_netpolicy_ns.py: the namespace tests need root (CI runs as root)")
    env = dict(os.environ, FW_NETNS="1")
    os.execvpe("unshare", ["unshare", "-n", "-m", "--propagation", "private", sys.executable,
                           os.path.abspath(__file__), *sys.argv[1:]], env)


if __name__ == "__main__":
    enter_namespace()
    fwtest.main()
