#!/usr/bin/env python3
"""Prints "N passed, N failed[, N skipped]" for one or more meson build
directories, from their meson-logs/testlog.junit.xml (one count per GoogleTest
case, one per plain test) cross-checked against meson-logs/testlog.json, so a
test binary that crashed before writing its results still counts as failed.

A --step NAME=STATUS argument counts one test for a step of
scripts/test.sh that is no meson test (the Debian packages): passed when
STATUS is 0, skipped when it is 77 (a tool is missing; the step said
which), failed otherwise.

Usage: test-summary.py [--step NAME=STATUS]... BUILD_DIR... ; exit status 0
when nothing failed.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET


def summarize(build_dir):
    passed = failed = skipped = 0
    junit = os.path.join(build_dir, "meson-logs", "testlog.junit.xml")
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    if not os.path.exists(junit) or not os.path.exists(log):
        print(f"{build_dir}: no test results (was the suite run?)", file=sys.stderr)
        return 0, 1, 0
    suites_with_failures = set()
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            kinds = {child.tag for child in case}
            if kinds & {"failure", "error"}:
                failed += 1
                suites_with_failures.add(suite.get("name", ""))
            elif "skipped" in kinds or case.get("status") == "notrun":
                skipped += 1
            else:
                passed += 1
    with open(log) as lines:
        for line in lines:
            test = json.loads(line)
            if test.get("result") in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
                name = test.get("name", "")
                # A crashed gtest binary leaves no failing case behind: count it here.
                if not any(name in suite for suite in suites_with_failures):
                    failed += 1
    return passed, failed, skipped


def main():
    totals = [0, 0, 0]
    args = sys.argv[1:]
    while len(args) >= 2 and args[0] == "--step":
        name, _, status = args[1].partition("=")
        if status == "0":
            totals[0] += 1
        elif status == "77":
            totals[2] += 1
        else:
            totals[1] += 1
            print(f"{name}: failed (exit status {status})", file=sys.stderr)
        args = args[2:]
    for build_dir in args:
        for i, count in enumerate(summarize(build_dir)):
            totals[i] += count
    passed, failed, skipped = totals
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
