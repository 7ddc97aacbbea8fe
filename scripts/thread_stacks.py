#!/usr/bin/env python3
"""Condenses gdb's `thread apply all bt` output into one line per distinct stack.

scripts/test.sh takes the test process's stacks when a test phase outlives its time limit,
before killing it: a hang then shows where every thread waits (a blocked cooperative
thread, a lock, a child process) instead of only which tests never ended. Threads with the
same innermost frames are counted together, most frequent first, with names cut to their
type and function (pipe gdb's output through `swift demangle --simplified` first).

    scripts/thread_stacks.py GDB_OUTPUT [FRAMES]
"""
import collections
import re
import sys

THREAD = re.compile(r'^Thread \d+ \(Thread 0x[0-9a-f]+ \(LWP \d+\)(?: "([^"]*)")?\)')
LIBC_WAITS = {"do_futex_wait", "epoll_wait", "futex_wait", "syscall", "poll", "read", "write", "select"}
FRAME = re.compile(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(.+?) \(")


def short(function):
    """A demangled Swift or C++ name without its module path, arguments and generic clutter."""
    previous = None
    while previous != function:  # innermost generic arguments first
        previous, function = function, re.sub(r"<[^<>]*>", "", function)
    function = function.split(" ")[-1]
    return ".".join(function.split(".")[-2:])


def stacks(lines, depth):
    name, frames = None, None
    for line in lines:
        match = THREAD.match(line)
        if match:
            if frames is not None:
                yield name, frames
            name, frames = re.sub(r"\d+", "N", match.group(1) or "?"), []
            continue
        match = FRAME.match(line)
        if match and frames is not None and len(frames) < depth:
            function = short(match.group(1))
            # The C library's own frames under a wait say nothing about who waits.
            if not frames and (function.startswith("__") or function in LIBC_WAITS):
                continue
            frames.append(function)
    if frames is not None:
        yield name, frames


def main():
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with open(sys.argv[1], encoding="utf-8", errors="replace") as output:
        counts = collections.Counter((name, " < ".join(frames)) for name, frames in stacks(output, depth))
    for (name, frames), count in counts.most_common():
        print(f"  {count:4d} × [{name}] {frames}")


if __name__ == "__main__":
    main()
