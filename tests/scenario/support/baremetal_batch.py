#!/usr/bin/python3
# Runs many `baremetal` CLI commands in one interpreter: for each JSON line on stdin
# ({"argv": [...]}) it calls ironicclient.shell.main(argv) -- exactly what /usr/bin/baremetal
# calls, a fresh cliff App each time -- with stdout/stderr captured, and answers one JSON line
# {"code", "stdout", "stderr"}. It saves the ~1 s of Python start-up and imports per command,
# so a scenario of ~50 commands fits the time a test file may take.
import io
import json
import logging
import sys

from ironicclient.shell import main

real_stdout = sys.stdout
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    argv = json.loads(line)["argv"]
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err
    # the program name and osc-lib's early look at the auth options come from sys.argv
    sys.argv = ["baremetal"] + argv
    # cliff configures the root logger on every run; drop the previous run's handlers
    logging.getLogger().handlers.clear()
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:  # a crash of the client is a failed command, not a dead runner
        err.write(f"{type(e).__name__}: {e}\n")
        code = 99
    finally:
        sys.stdout, sys.stderr = real_stdout, sys.__stderr__
    real_stdout.write(json.dumps({"code": code or 0, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    real_stdout.flush()
