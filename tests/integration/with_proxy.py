#!/usr/bin/python3
"""Runs a command against a fresh proxy: with_proxy.py CMD [ARGS...].

Starts sluice (harness.Proxy, reads kept on the primary), exports SLUICE_TEST_PORT with its port, runs the command,
then stops the proxy. Fails if the command failed or the proxy did not exit cleanly
(exit status, sanitizer reports); the proxy's log is printed on any failure.
"""

import os
import subprocess
import sys

import harness


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: with_proxy.py CMD [ARGS...]")
    harness.require_sandbox()
    with harness.Proxy(harness.PRIMARY_ONLY) as proxy:
        env = dict(os.environ, SLUICE_TEST_PORT=str(proxy.port))
        rc = subprocess.call(sys.argv[1:], env=env)
        if rc != 0:
            proxy.print_log("command exited with %d" % rc)
    sys.exit(rc)


if __name__ == "__main__":
    main()
