#!/usr/bin/env python3
"""Image checksum candidates (bench/hash-choice.md): host rates from the hashbench-host
programs, then --boots boots of the hash-rate kernel under QEMU TCG. Per boot the kernel times
every hash over the same 64 MiB (best of 3, turn-taking order); this prints each hash's median
rate over the boots and the median of the per-boot ratios to jbhash64, which is what to read:
absolute TCG rates move with the host's load, ratios taken in the same boot much less."""
import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "test", "qemu"))
import qemu  # noqa: E402

RATE = re.compile(r"^hashbench: rate (\S+) ([\d.]+) MiB/s", re.M)
BASE = "jbhash64"


def host_rates(build):
    for name in ("hashbench-host64", "hashbench-host32"):
        path = os.path.join(build, "bench", name)
        try:
            out = subprocess.run([path, name[len("hashbench-"):]], check=True,
                                 capture_output=True, text=True, timeout=600).stdout
        except OSError as e:
            print(f"hashbench-host: {name} cannot run here ({e.strerror}): "
                  "this kernel runs no i386 programs")
            continue
        sys.stdout.write(out)
        sys.stdout.flush()


def tcg_boot(elf, timeout):
    res = qemu.run(qemu.machine_args("256M") + ["-kernel", elf], timeout=timeout)
    if res.timed_out or res.status != qemu.EXIT_PAYLOAD_PASS:
        raise RuntimeError(f"hash-rate kernel failed\n{res.describe()}")
    return {m.group(1): float(m.group(2)) for m in RATE.finditer(res.serial)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--boots", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per QEMU boot")
    ap.add_argument("--no-host", action="store_true", help="skip the host rates")
    args = ap.parse_args()

    if not args.no_host:
        host_rates(args.build)
    elf = os.path.join(args.build, "bench", "hashbench.elf")
    boots = []
    for i in range(args.boots):
        rates = tcg_boot(elf, args.timeout)
        boots.append(rates)
        print(f"hashbench-tcg: boot {i + 1}/{args.boots}: " +
              "  ".join(f"{k} {v:.1f}" for k, v in rates.items()), flush=True)
    print(f"\nQEMU TCG, 64 MiB per hash, {args.boots} boots (MiB/s: median, min..max; "
          f"ratio to {BASE}: median of the per-boot ratios)")
    print(f"{'hash':<22} {'MiB/s':>8} {'min..max':>17} {'/' + BASE:>10}")
    for name in boots[0]:
        rates = [b[name] for b in boots]
        ratio = statistics.median(b[name] / b[BASE] for b in boots)
        print(f"{name:<22} {statistics.median(rates):8.1f} "
              f"{min(rates):8.1f}..{max(rates):<8.1f} {ratio:10.3f}")


if __name__ == "__main__":
    main()
