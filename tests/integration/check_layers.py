#!/usr/bin/env python3
"""The layers of src/ (docs/architecture.md): each folder may include its
own headers and those of the folders below it, never one above or beside
it. The build enforces this too (each layer's library sees only its view);
this test names every offending line, relative includes included."""
import argparse
import os
import re
import sys

# What each folder may include besides itself.
BELOW = {
    # The syscall buffer's library, loaded into tracees: plain C, on its own.
    "preload": set(),
    "util": set(),
    "core": {"util", "preload"},
    "trace": {"util", "core", "preload"},
    "record": {"util", "core", "trace", "preload"},
    "replay": {"util", "core", "trace", "preload"},
    "checkpoint": {"util", "core", "trace", "record", "replay", "preload"},
    "gdb": {"util", "core", "trace", "replay", "checkpoint", "preload"},
    "cli": {"util", "core", "trace", "record", "replay", "checkpoint", "gdb", "preload"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"|^\s*using\s+\w+\s*=\s*import\s*"([^"]+)"', re.M)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--src", required=True)
    src = os.path.abspath(p.parse_args().src)
    problems = []
    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    unknown = [d for d in folders if d not in BELOW]
    if unknown:
        problems.append("folders without a layer: %s (add them to BELOW and to CMakeLists.txt)" % unknown)
    checked = 0
    for layer in folders:
        for name in sorted(os.listdir(os.path.join(src, layer))):
            path = os.path.join(src, layer, name)
            with open(path, errors="replace") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1) or m.group(2)
                # Resolve a relative include against the including file's folder.
                target = os.path.normpath(os.path.join(os.path.dirname(path), inc)) if inc.startswith(".") else \
                    os.path.join(src, inc)
                rel = os.path.relpath(target, src)
                to = rel.split(os.sep)[0]
                checked += 1
                if to == layer or rel.startswith("..") or to not in BELOW:
                    continue
                if to not in BELOW.get(layer, set()):
                    line = text.count("\n", 0, m.start()) + 1
                    problems.append("src/%s/%s:%d includes %s: %s may not include %s" % (layer, name, line, inc, layer, to))
    for pr in problems:
        print("FAIL:", pr)
    if problems:
        sys.exit(1)
    print("layers: %d includes in %d folders, none upward or sideways" % (checked, len(folders)))


if __name__ == "__main__":
    main()
