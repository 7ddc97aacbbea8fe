#!/usr/bin/env python3
"""Prints the key table of docs/configuration.md from Sources/SwiftletConfig/ConfigKeys.swift.

The table is generated so it cannot drift from the code; a test also checks that every
key appears in the docs."""
import re, sys, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
source = (root / "Sources/SwiftletConfig/ConfigKeys.swift").read_text()
blocks = re.findall(r"\.init\((key:.*?isSecret: (?:true|false))\)", source, re.S)

def field(block, name):
    match = re.search(name + r': "((?:[^"\\]|\\.)*)"', block, re.S)
    return match.group(1) if match else ""

def environment(key):
    out, previous_lower = "SWIFTLET_", False
    for c in key:
        if c == ".":
            out += "_"; previous_lower = False
        elif c.isupper() and previous_lower:
            out += "_" + c; previous_lower = False
        else:
            out += c.upper(); previous_lower = c.islower() or c.isdigit()
    return out

print("| key | environment | type | default | meaning |")
print("|---|---|---|---|---|")
for block in blocks:
    key = field(block, "key")
    secret = "isSecret: true" in block
    summary = field(block, "summary").replace("|", "/")
    if secret:
        summary += " **Secret**: masked in `config check` and logs."
    print(f"| `{key}` | `{environment(key)}` | {field(block, 'type').replace('|', '/')} | `{field(block, 'defaultValue')}` | {summary} |")
