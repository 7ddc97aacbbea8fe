#!/usr/bin/env python3
"""Lists the tests a Swift Testing run started and never finished, from its console output.

scripts/test.sh calls it when a test phase outlives its time limit, so a hung test is
named in the log instead of the whole run waiting out CI's limit.

    scripts/unfinished_tests.py OUTPUT_FILE
"""
import re
import sys

STARTED = re.compile(r"◇ Test (.*) started\.$")
# "✔ Test NAME passed after 1.2 seconds." / "✘ Test NAME with 3 test cases failed after ...":
# the name may itself contain "passed" or "failed", so the match is anchored on "after".
ENDED = re.compile(r"[✔✘] Test (.*?)(?: with \d+ test cases?)? (?:passed|failed) after ")
SKIPPED = re.compile(r"[➜↷] Test (.*?) skipped")


def unfinished(lines):
    started, ended = [], set()
    for line in lines:
        line = line.rstrip("\n")
        match = STARTED.match(line)
        if match:
            # "Test run started." is the run itself; "Test case passing …" one argument set.
            if match.group(1) != "run" and not match.group(1).startswith("case passing"):
                started.append(match.group(1))
            continue
        match = ENDED.match(line) or SKIPPED.match(line)
        if match:
            ended.add(match.group(1))
    return [name for name in started if name not in ended]


def main():
    with open(sys.argv[1], encoding="utf-8", errors="replace") as output:
        for name in unfinished(output):
            print(f"  still running: {name}")


if __name__ == "__main__":
    main()
