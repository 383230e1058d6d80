#!/usr/bin/python3
"""A hook for the tests: records what feedwatchd hands it, then succeeds or fails on request.

usage: hook_record.py OUTDIR [--fail N] [--fail-while PATH] [--sleep S]
  Each run appends one JSON line to OUTDIR/runs.jsonl: {"env": FEEDWATCH_* variables,
  "stdin": the parsed JSON document, "time": monotonic seconds, "pid": its pid, "run": its
  number, "failed": whether it exits 1}.
  --fail N           exit 1 on the first N runs (counted in OUTDIR/count), succeed afterwards
  --fail-while PATH  exit 1 while PATH exists (a broken hook, fixed by removing PATH)
  --sleep S          sleep S seconds before answering (a hook that hangs)
"""
import json
import os
import sys
import time


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    fail = int(args[args.index("--fail") + 1]) if "--fail" in args else 0
    sleep = float(args[args.index("--sleep") + 1]) if "--sleep" in args else 0.0
    broken = args[args.index("--fail-while") + 1] if "--fail-while" in args else None
    doc = json.loads(sys.stdin.read() or "null")
    env = {k: v for k, v in os.environ.items() if k.startswith("FEEDWATCH_")}
    count_path = os.path.join(out, "count")
    try:
        with open(count_path) as f:
            count = int(f.read() or "0")
    except FileNotFoundError:
        count = 0
    count += 1
    with open(count_path, "w") as f:
        f.write(str(count))
    failing = count <= fail or (broken is not None and os.path.exists(broken))
    # One write(2) of the whole line on an O_APPEND descriptor: a reader polling the file never
    # sees half a record (a buffered text write may flush a long line in pieces).
    line = json.dumps({"env": env, "stdin": doc, "time": time.time(), "pid": os.getpid(),
                       "run": count, "failed": failing}) + "\n"
    fd = os.open(os.path.join(out, "runs.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        data = line.encode()
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
    print(f"hook run {count} for alert {env.get('FEEDWATCH_ALERT_ID')}")
    if sleep:
        time.sleep(sleep)
    if failing:
        print("failing on purpose", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
