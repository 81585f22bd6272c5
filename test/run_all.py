#!/usr/bin/env python3
"""The whole suite behind `make test`: host unit tests (ASan+UBSan), the standalone fuzz runs
of the parsers, partinfo against sfdisk/sgdisk/blkid, jbwrite against an independent reader and
interrupted at every write, the bad-input corpus (test/corpus), the disk-fault matrix
(test/qemu/faults.py), the QEMU tests, then the real-Linux round trip (test/linux/roundtrip.py).
Closes with 'N passed, N failed' over all of them."""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, timeout):
    start = time.monotonic()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        out, rc = res.stdout + res.stderr, res.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") + "\n[timed out]", -1
    return rc, out, time.monotonic() - start


def stream(cmd):
    """Runs a test runner, echoing its lines but its own summary; returns (rc, output)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    for line in proc.stdout:
        out += line
        if not re.match(r"^\d+ passed, \d+ failed$", line):
            print(line, end="", flush=True)
    proc.wait()
    return proc.returncode, out


def runner(what, cmd):
    """A test runner's own 'N passed, N failed' as (passed, failed); one more failure when it
    printed none, or exited non-zero with no failure counted."""
    rc, out = stream(cmd)
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    if not m:
        print(f"FAIL {what} printed no summary (exit {rc})\n{out[-3000:]}")
        return 0, 1
    passed, failed = int(m.group(1)), int(m.group(2))
    return passed, failed + (1 if rc != 0 and failed == 0 else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--fuzz-iterations", type=int, default=200000)
    ap.add_argument("units", nargs="*", help="unit test binaries")
    args = ap.parse_args()
    passed = failed = 0

    for unit in args.units:
        rc, out, secs = run([unit], 300)
        counts = re.findall(r"\[  PASSED  \] (\d+) test", out)
        n = int(counts[-1]) if counts else 0
        if rc == 0 and n > 0:
            passed += n
            print(f"PASS {os.path.basename(unit)}: {n} tests ({secs:.1f}s)")
        else:
            failed += 1
            print(f"FAIL {os.path.basename(unit)} (exit {rc}):\n{out[-3000:]}")

    # fuzz_jbimage's inputs are 8 KiB headers, each checked in full: fewer of them.
    for name, iterations in (("fuzz_parsers", args.fuzz_iterations),
                             ("fuzz_part", args.fuzz_iterations),
                             ("fuzz_jbimage", args.fuzz_iterations // 10)):
        fuzz = os.path.join(args.build, "fuzz", name)
        rc, out, secs = run([fuzz, str(iterations)], 600)
        if rc == 0:
            passed += 1
            print(f"PASS {name}: {iterations} inputs ({secs:.1f}s)")
        else:
            failed += 1
            print(f"FAIL {name} (exit {rc}):\n{out[-3000:]}")

    for script, what in (("part/check_partinfo.py", "partinfo against sfdisk/sgdisk/blkid"),
                         ("jbwrite/check_jbwrite.py", "jbwrite against an independent reader"),
                         ("jbwrite/check_interrupted.py",
                          "jbwrite interrupted at every write, fsync and read"),
                         ("linux/check_scripts.py", "the kexec procedure's shell tools")):
        rc, out, secs = run([sys.executable, os.path.join(HERE, script), "--build", args.build],
                            600)
        m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
        name = os.path.basename(script)
        if rc == 0 and m and int(m.group(2)) == 0:
            passed += 1
            print(f"PASS {name}: {m.group(1)} checks, {what} ({secs:.1f}s)")
            # A script's own tally of what it tried ("interrupted writer: 75/75 results safe").
            for line in re.findall(r"^[a-z][\w ]*: \d+/\d+ .*$", out, re.M):
                print(f"  {line}")
        else:
            failed += 1
            print(f"FAIL {name} (exit {rc}):\n{out[-3000:]}")

    sys.stdout.flush()
    for what, script in (("the bad-input corpus", os.path.join("corpus", "corpus.py")),
                         ("the fault matrix", os.path.join("qemu", "faults.py")),
                         ("qemu tests", os.path.join("qemu", "run_tests.py")),
                         # Its kernel build (about 10 minutes, once) is cached.
                         ("the linux round trip", os.path.join("linux", "roundtrip.py"))):
        p, f = runner(what, [sys.executable, os.path.join(HERE, script), "--build", args.build])
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
