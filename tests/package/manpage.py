# SPDX-License-Identifier: Apache-2.0
"""Every option that `batchmd [command] --help` prints is described in docs/batchmd.1, and every
command the top-level help lists has its section: the man page cannot fall behind the CLI."""
import os
import re
import subprocess
import sys

binary = os.environ["BATCHMD_BIN"]
page = open(os.path.join(os.environ["BATCHMD_SOURCE_DIR"], "docs", "batchmd.1"), encoding="utf-8").read()
text = page.replace("\\-", "-")


def help_of(*args):
    r = subprocess.run([binary, *args, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} --help exited {r.returncode}")
    return r.stdout


top = help_of()
commands = re.findall(r"^  (\w+)\s{2,}", top.split("Subcommands:")[1], re.M) if "Subcommands:" in top else []
if not commands:
    sys.exit("FAIL: no subcommands found in batchmd --help")
missing = []
for cmd in [None, *commands]:
    out = help_of(*([cmd] if cmd else []))
    for opt in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out):
        if opt not in text:
            missing.append(f"{cmd or 'batchmd'} {opt}")
    if cmd and f"B {cmd}" not in text:
        missing.append(f"command {cmd}")
if missing:
    sys.exit("FAIL: not in docs/batchmd.1: " + ", ".join(sorted(set(missing))))
print(f"man page covers {len(commands)} commands and their options")
