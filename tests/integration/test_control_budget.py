#!/usr/bin/python3
"""The control socket's output bounds (issue 14, hole 4): clients that do not read their big
answers do not grow the daemon's memory (no request is read while 1 MiB of a client's answers
wait), and the unread answers of all clients share one budget (a big answer that does not fit
becomes an error). Root's `status` answers within a second meanwhile."""

import json
import os
import socket
import time

import fwtest

N_ITEMS = 3000








def test_clients_that_do_not_read_big_answers_stay_bounded(t):
    # Under AddressSanitizer freed memory sits in a quarantine (256 MB by default) that would
    # count as growth; a small one keeps the peak about live memory. Others ignore it.
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
        "quarantine_size_mb=8:thread_local_quarantine_size_kb=64"
    try:
        d = fwtest.big_store(t, N_ITEMS)
    finally:
        if asan:
            os.environ["ASAN_OPTIONS"] = asan
        else:
            del os.environ["ASAN_OPTIONS"]
    pid = d.proc.pid
    base = fwtest.vm_hwm_kb(pid)
    req = (json.dumps({"cmd": "items", "limit": 10000, "text": True}) + "\n").encode()
    one = fwtest.Control(d.sock)
    answer = len(json.dumps(one.request({"cmd": "items", "limit": 10000, "text": True})))
    one.close()
    assert answer > 1_000_000, answer      # each answer is over a megabyte
    base = max(base, fwtest.vm_hwm_kb(pid))
    clients = []
    for _ in range(4):
        c = fwtest.Control(d.sock)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(req * 30)                    # 30 answers each, never read
        clients.append(c)
    # Watch the peak for a while: the old daemon queued every answer (~150 MB here).
    worst = 0.0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        worst = max(worst, fwtest.status_latency(d))
        grown_mb = (fwtest.vm_hwm_kb(pid) - base) / 1024
        assert grown_mb < 64, f"the daemon grew by {grown_mb:.0f} MB"
        time.sleep(0.2)
    print(f"    peak growth {grown_mb:.1f} MB, status at worst {worst * 1000:.0f} ms")
    assert worst < 1.0, worst
    # The clients are served in turn once they read: every answer arrives, in order.
    got = 0
    c = clients[0]
    c.sock.settimeout(60)
    for _ in range(30):
        doc = c.recv_line()
        assert doc and doc["ok"] is True and len(doc["items"]) >= N_ITEMS, str(doc)[:200]
        got += 1
    assert got == 30
    for c in clients:
        c.close()
    assert d.stop() == 0


def test_unread_answers_of_all_clients_share_one_budget(t):
    d = fwtest.big_store(t, N_ITEMS)
    req = (json.dumps({"cmd": "items", "limit": 10000, "text": True}) + "\n").encode()
    # 72 clients, one big answer each, none read yet: more than the 64 MiB budget together.
    clients = []
    for _ in range(72):
        c = fwtest.Control(d.sock, timeout=60)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(req)
        clients.append(c)
    d.wait_log("is over the output budget", timeout=60)
    assert fwtest.status_latency(d) < 1.0
    answers, refused = 0, 0
    for c in clients:
        doc = c.recv_line()
        assert doc is not None
        if doc["ok"]:
            assert len(doc["items"]) >= N_ITEMS * 0.8
            answers += 1
        else:
            assert "output budget" in doc["error"], doc
            refused += 1
        c.close()
    assert refused >= 1 and answers >= 40, (answers, refused)
    # With the budget free again, a big answer goes through.
    c = fwtest.Control(d.sock, timeout=60)
    assert c.request({"cmd": "items", "limit": 10000, "text": True})["ok"] is True
    c.close()
    assert d.stop() == 0


fwtest.main()
