#!/usr/bin/env python3
"""Checks the module graph: every target of Package.swift depends on, and every file imports, only the
Sluice modules that docs/architecture.md ("Modules") allows it. Exits 1 naming each violation.

Usage: scripts/check-modules.py [PACKAGE_DUMP_JSON]   (default: runs `swift package dump-package`)
"""
import json
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package():
    if len(sys.argv) > 1:
        with open(sys.argv[1]) as f:
            return json.load(f)
    out = subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def allowed_imports():
    """module -> set of modules it may import, from the table in docs/architecture.md."""
    rules, order = {}, []
    with open(os.path.join(root, "docs/architecture.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 3 or not re.fullmatch(r"`[\w-]+`", cells[0]):
                continue
            name = cells[0].strip("`")
            rule = cells[2]
            if rule.startswith("every module above but"):
                excluded = set(re.findall(r"`([\w-]+)`", rule))
                rules[name] = {m for m in order if m not in excluded}
            else:
                rules[name] = set(re.findall(r"`([\w-]+)`", rule))
            order.append(name)
    return rules


def main():
    pkg = package()
    local = {t["name"] for t in pkg["targets"]}
    rules = allowed_imports()
    problems = []
    for target in pkg["targets"]:
        name, kind = target["name"], target["type"]
        declared = set()
        for dep in target.get("dependencies", []):
            for key in ("byName", "target"):
                if key in dep and dep[key][0] in local:
                    declared.add(dep[key][0])
        if kind != "test":
            if name not in rules:
                problems.append(f"{name}: not in the module table of docs/architecture.md")
                continue
            for dep in sorted(declared - rules[name]):
                problems.append(f"Package.swift: {name} depends on {dep}, which docs/architecture.md does not allow")
        folder = os.path.join(root, "Tests" if kind == "test" else "Sources", target.get("path") or name)
        for base, _, files in os.walk(folder):
            for file in sorted(files):
                if not file.endswith(".swift"):
                    continue
                path = os.path.join(base, file)
                with open(path) as f:
                    for number, line in enumerate(f, 1):
                        match = re.match(r"\s*(?:@testable\s+)?import\s+(\w+)", line)
                        if match and match.group(1) in local and match.group(1) not in declared:
                            problems.append(f"{os.path.relpath(path, root)}:{number}: imports {match.group(1)}, not a dependency of {name}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"module graph: {len(problems)} problem(s); see docs/architecture.md, \"Modules\"", file=sys.stderr)
        return 1
    print(f"module graph: {len(pkg['targets'])} targets follow docs/architecture.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
