#!/usr/bin/env python3
"""Runs a command that prints one JSON object (a report), and prints it as one
line with a label and the command's whole wall time added.

    timed_json.py LABEL -- CMD ARGS...
"""
import json
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__.strip(), file=sys.stderr)
        return 2
    label, cmd = sys.argv[1], sys.argv[3:]
    t0 = time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    elapsed = time.monotonic() - t0
    if done.returncode != 0:
        print(f"timed_json.py: {label}: exit {done.returncode}", file=sys.stderr)
        return done.returncode
    text = done.stdout.decode()
    report = json.loads(text[text.index("{"):])
    report = {"label": label, "command_s": round(elapsed, 3), **report}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
