#!/usr/bin/env python3
"""The layers of docs/architecture.md, checked on every #include.

Each library lives in one folder. A source file may include headers of its
own folder and of the layers below it, never of a layer above or beside it:
the CLI and the client library never see the daemon's headers, the kernel
glue never sees the daemon, and the policy library sees nothing of ours.

Usage: check-layering.py SOURCE_ROOT
       check-layering.py --self-test SOURCE_ROOT
The self-test copies the tree, plants one violation per rule and fails
unless each one is reported, so this check is known to be able to fail.
"""
import os
import re
import shutil
import sys
import tempfile

# folder -> the folders its files may include from (besides its own).
# "dbus" is the wire API: the generated adaptors and the sdbus-c++ seam
# (sdbus-compat.hpp). Every user of sdbus-c++, the CLI and libwcbroker
# included, goes through that seam so the tree builds against 1.x and 2.x;
# the seam itself sees nothing of ours.
LAYERS = {
    "policy": [],
    # The wcalias module's uAPI: shared with the kernel module, so it
    # includes only the kernel's own headers (<linux/...>).
    "kmod/uapi": [],
    "kernel": ["policy", "kmod/uapi"],
    "dbus": [],
    "daemon/core": ["kernel", "policy"],
    "daemon/dbus": ["daemon/core", "kernel", "policy", "dbus"],
    "daemon": ["daemon/dbus", "daemon/core", "kernel", "policy", "dbus"],
    "cli": ["kernel", "policy", "client/libwcbroker", "dbus"],
    "client/libwcbroker": ["dbus"],
    # The preload shim is a client like any other: libwcbroker's C API only.
    "client/preload": ["client/libwcbroker"],
}
# Headers generated into the build tree, by the folder that generates them.
GENERATED = {
    "wcbroker-config.h": None,  # configuration, for everyone
    "org.wcbroker.Broker1-adaptor.h": "dbus",
    "org.wcbroker.Device1-adaptor.h": "dbus",
    "org.wcbroker.Lease1-adaptor.h": "dbus",
}
SOURCE_SUFFIXES = (".c", ".cpp", ".h", ".hpp")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(relpath):
    """The deepest layer folder holding relpath, or None."""
    best = None
    for folder in LAYERS:
        if relpath.startswith(folder + "/") and "/" not in relpath[len(folder) + 1:]:
            best = folder
    return best


def project_headers(root):
    """basename -> folder, for every header in a layer folder."""
    headers = {}
    for folder in LAYERS:
        directory = os.path.join(root, folder)
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            if name.endswith((".h", ".hpp")):
                headers[name] = folder
    return headers


def unlisted_folders(root):
    """Folders of code that no layer names: a new library must say where it sits."""
    found = []
    # kmod/ holds the kernel module, built by kbuild and never linked with
    # ours; only its uapi/ folder is a layer.
    for top in sorted({folder.split("/")[0] for folder in LAYERS} - {"kmod"}):
        for directory, _, names in os.walk(os.path.join(root, top)):
            folder = os.path.relpath(directory, root)
            if folder not in LAYERS and any(n.endswith(SOURCE_SUFFIXES) for n in names):
                found.append(f"{folder}/: holds code but is no layer; add it to LAYERS in {sys.argv[0]}")
    return found


def violations(root):
    headers = project_headers(root)
    found = unlisted_folders(root)
    for folder, allowed in LAYERS.items():
        directory = os.path.join(root, folder)
        if not os.path.isdir(directory):
            found.append(f"{folder}/: the layer's folder is missing")
            continue
        for name in sorted(os.listdir(directory)):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as source:
                for number, line in enumerate(source, 1):
                    match = INCLUDE.match(line)
                    if not match:
                        continue
                    quote, target = match.groups()
                    where = f"{folder}/{name}:{number}"
                    if "/" in target and quote == "<":
                        continue  # a system header such as <sys/stat.h>
                    if "/" in target:
                        resolved = os.path.normpath(os.path.join(folder, target))
                        owner = layer_of(resolved)
                        if owner is None:
                            found.append(f'{where}: includes "{target}", outside every layer folder')
                            continue
                    elif target in GENERATED:
                        owner = GENERATED[target]
                        if owner is None:
                            continue
                    elif target in headers:
                        owner = headers[target]
                    elif quote == '"':
                        found.append(f'{where}: includes "{target}", which no layer folder holds')
                        continue
                    else:
                        continue  # a system header
                    if owner != folder and owner not in allowed:
                        may = ", ".join(allowed) or "nothing of ours"
                        found.append(f"{where}: includes {target} from {owner}/; {folder}/ may include {may}")
    return found


def self_test(root):
    plants = {
        "cli/cli.cpp": '#include "broker.hpp"\n',
        "client/libwcbroker/wcbroker.cpp": '#include "kernel-paths.hpp"\n',
        "kernel/iomem.cpp": '#include "log.hpp"\n',
        "policy/policy.cpp": '#include "sysfs-files.hpp"\n',
        "daemon/core/broker.cpp": '#include "broker-dbus.hpp"\n',
        "cli/cli.hpp": '#include "../daemon/core/lease.hpp"\n',
        "kmod/uapi/wcalias.h": '#include "unique-fd.hpp"\n',
    }
    with tempfile.TemporaryDirectory() as scratch:
        for folder in LAYERS:
            source = os.path.join(root, folder)
            target = os.path.join(scratch, folder)
            os.makedirs(target, exist_ok=True)
            for name in os.listdir(source):
                if name.endswith(SOURCE_SUFFIXES):
                    shutil.copy(os.path.join(source, name), target)
        clean = violations(scratch)
        if clean:
            print("self-test: the unmodified copy already has violations:", *clean, sep="\n  ")
            return 1
        for path, line in plants.items():
            with open(os.path.join(scratch, path), "a", encoding="utf-8") as planted:
                planted.write(line)
        reported = violations(scratch)
        missed = [path for path in plants if not any(r.startswith(path + ":") for r in reported)]
        for report in reported:
            print("self-test: reported as expected:", report)
        if missed or len(reported) != len(plants):
            print("self-test: FAILED; planted but not reported:", ", ".join(missed) or "(count differs)")
            return 1
    print(f"self-test: all {len(plants)} planted violations reported")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    found = violations(argv[1])
    for report in found:
        print(report)
    if found:
        print(f"{len(found)} layering violation(s); the layers are in docs/architecture.md")
        return 1
    print("layering: every include stays within its layer or below")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
