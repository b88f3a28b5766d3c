#!/usr/bin/env python3
"""Checks the engine's layers the way the build means them.

Each engine layer may include only itself and the layers below it:

    common  <-  io  <-  log  <-  shard  <-  api

and runtime/ (the shard's event loop), which everything may use and which
includes nothing of the project above it. Front ends and tools see the
engine only through engine/api and engine/common. No Redis or etcd wording
lives in the engine: protocol texts are made in the front ends from status
codes. And no engine source file grows past FILE_LIMIT lines (one concept
per file).

Usage: layering_check.py REPO_ROOT. Exit status 1 with one line per
violation."""

import pathlib
import re
import sys

LAYERS = ["common", "io", "log", "shard", "api"]
RUNTIME = re.compile(r'^\s*#\s*include\s+"(engine|frontends|tools)/')
FRONT_ALLOWED = {"api", "common"}
PROTOCOL_WORDS = re.compile(r"NOGROUP|BUSYGROUP|WRONGTYPE|etcdserver")
INCLUDE = re.compile(r'^\s*#\s*include\s+"engine/([a-z_]+)/')
FILE_LIMIT = 650


def sources(root, folder):
    for p in sorted((root / folder).rglob("*")):
        if p.suffix in (".h", ".cc"):
            yield p


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for rank, layer in enumerate(LAYERS):
        allowed = set(LAYERS[: rank + 1])
        for p in sources(root, f"engine/{layer}"):
            text = p.read_text()
            for n, line in enumerate(text.splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) not in allowed:
                    problems.append(f"{p.relative_to(root)}:{n}: {layer}/ includes engine/{m.group(1)}/ (a higher layer)")
                if PROTOCOL_WORDS.search(line):
                    problems.append(f"{p.relative_to(root)}:{n}: protocol wording in the engine: {line.strip()}")
            lines = text.count("\n")
            if lines > FILE_LIMIT:
                problems.append(f"{p.relative_to(root)}: {lines} lines, more than {FILE_LIMIT}")
    # api headers are what front ends compile against: nothing below common.
    for p in sources(root, "engine/api"):
        if p.suffix != ".h":
            continue
        for n, line in enumerate(p.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1) not in FRONT_ALLOWED:
                problems.append(f"{p.relative_to(root)}:{n}: the facade's header exposes engine/{m.group(1)}/")
    # runtime/ sits below everything.
    for p in sources(root, "runtime"):
        for n, line in enumerate(p.read_text().splitlines(), 1):
            m = RUNTIME.match(line)
            if m:
                problems.append(f"{p.relative_to(root)}:{n}: runtime/ includes {m.group(1)}/, which sits above it")
    for folder in ("frontends", "tools"):
        for p in sources(root, folder):
            for n, line in enumerate(p.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) not in FRONT_ALLOWED:
                    problems.append(f"{p.relative_to(root)}:{n}: reaches past the engine's API into engine/{m.group(1)}/")
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} layering problem(s)")
        return 1
    print("layers: runtime; common <- io <- log <- shard <- api; front ends and tools use api and common only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
