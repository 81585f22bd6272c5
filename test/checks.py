"""A tally of named checks for the host-side check scripts (test/part, test/jbwrite): one
line per check, and a closing 'N passed, N failed' that test/run_all.py reads."""
import sys


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()
        return ok

    def equal(self, name, got, want):
        return self.check(name, got == want, f"got {got!r}, want {want!r}")

    def skip(self, name, why):
        print(f"SKIP {name}: {why}")
