#!/usr/bin/env python3
"""The whole suite behind `make test`: host unit tests (ASan+UBSan), the standalone fuzz runs
of the parsers, partinfo against sfdisk/sgdisk/blkid, jbwrite against an independent reader,
the QEMU tests, then the real-Linux round trip (test/linux/roundtrip.py). Closes with
'N passed, N failed' over all of them."""
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
                         ("linux/check_scripts.py", "the kexec procedure's shell tools")):
        rc, out, secs = run([sys.executable, os.path.join(HERE, script), "--build", args.build],
                            600)
        m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
        name = os.path.basename(script)
        if rc == 0 and m and int(m.group(2)) == 0:
            passed += 1
            print(f"PASS {name}: {m.group(1)} checks, {what} ({secs:.1f}s)")
        else:
            failed += 1
            print(f"FAIL {name} (exit {rc}):\n{out[-3000:]}")

    sys.stdout.flush()
    rc, qemu_out = stream([sys.executable, os.path.join(HERE, "qemu", "run_tests.py"),
                           "--build", args.build])
    m = re.search(r"^(\d+) passed, (\d+) failed$", qemu_out, re.M)
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
    else:
        failed += 1
        print(f"FAIL qemu tests printed no summary (exit {rc})\n{qemu_out[-3000:]}")
    if rc != 0 and (not m or int(m.group(2)) == 0):
        failed += 1

    # The real-Linux round trip: its kernel build (about 10 minutes, once) is cached.
    print("linux round trip (the first run builds Linux 6.12 from linux-source-6.12)", flush=True)
    rc, out = stream([sys.executable, os.path.join(HERE, "linux", "roundtrip.py"),
                      "--build", args.build])
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
    else:
        failed += 1
        print(f"FAIL the linux round trip printed no summary (exit {rc})\n{out[-3000:]}")
    if rc != 0 and (not m or int(m.group(2)) == 0):
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
