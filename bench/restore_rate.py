#!/usr/bin/env python3
"""Restore-rate benchmark: time from jumpback's first read to the end of placement for
synthetic cores of several sizes, side by side with two baselines measured in the same run:
 - jumpback's own dry run (every byte read by DMA into one stub buffer: the disk's rate as
   the stub sees it, without placement), and
 - GRUB reading the same number of bytes from the same disk through the BIOS (`cat` of a
   blocklist into a module), timed between two serial markers.
Absolute numbers under TCG are noisy: read the ratios. Medians of --runs runs."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "qemu"))
import qemu  # noqa: E402

RATE = re.compile(r"^jumpback: (restored|read) (\d+) MiB in (\d+) ms", re.M)


def stub_ms(res, word):
    m = [x for x in RATE.finditer(res.serial) if x.group(1) == word]
    if not m:
        raise RuntimeError(f"no '{word} ... ms' line\n{res.describe()}")
    return int(m[-1].group(2)), int(m[-1].group(3))


def grub_ms(build, tmp, disk, mib):
    """Milliseconds between GRUB's two echo markers around loading mib MiB of the disk."""
    root = os.path.join(tmp, "iso.d")
    os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write("serial --unit=0 --speed=115200\nterminal_output serial\n"
                "multiboot /boot/jumpback.elf\necho jbbench-start\n"
                f"module (hd0)0+{mib * 2048}\necho jbbench-end\nhalt\n")
    shutil.copy(os.path.join(build, "jumpback.elf"), os.path.join(root, "boot"))
    iso = os.path.join(tmp, "bench.iso")
    subprocess.run(["grub-mkrescue", "-o", iso, root], check=True, capture_output=True)
    args = qemu.machine_args("1G") + ["-cdrom", iso, "-boot", "d"] + qemu.ahci_disk_args(disk)
    marks = {}
    with tempfile.TemporaryDirectory() as t2:
        serial = os.path.join(t2, "s.txt")
        proc = subprocess.Popen([qemu.QEMU] + args + ["-serial", f"file:{serial}",
                                                      "-monitor", "none"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.monotonic()
        try:
            while proc.poll() is None and time.monotonic() - start < 600:
                text = qemu._read(serial)
                for mark in ("jbbench-start", "jbbench-end"):
                    if mark in text and mark not in marks:
                        marks[mark] = time.monotonic()
                if len(marks) == 2:
                    break
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if len(marks) != 2:
        raise RuntimeError("GRUB baseline did not finish")
    return (marks["jbbench-end"] - marks["jbbench-start"]) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="32,64,128,256", help="MiB of the big segment")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-grub", action="store_true")
    args = ap.parse_args()
    stub = os.path.join(args.build, "jumpback.elf")
    print("size_mib  restore_ms  MiB/s  dryrun_ms  restore/dryrun  grub_ms  grub/restore")
    with tempfile.TemporaryDirectory(prefix="jbbench-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            core = os.path.join(tmp, "core.img")
            out = subprocess.run([os.path.join(args.build, "tools", "mkcore"), "--payload",
                                  os.path.join(args.build, "test", "payload.elf"), "--out", core,
                                  "--big-mb", str(size)], check=True, capture_output=True,
                                 text=True).stdout
            entry = re.search(r"^entry=(0x[0-9a-fA-F]+)$", out, re.M).group(1)
            base = qemu.machine_args("1G") + qemu.ahci_disk_args(core)
            restore, dry, grub = [], [], []
            mib = 0
            for _ in range(args.runs):
                res = qemu.run(base + qemu.kernel_args(stub, f"resume=ahci:0 entry={entry}"),
                               600, until=r"^jbtest: (PASS|FAIL)")
                mib, ms = stub_ms(res, "restored")
                restore.append(ms)
                res = qemu.run(base + qemu.kernel_args(
                    stub, f"resume=ahci:0 entry={entry} dryrun onerror=reboot"), 600)
                dry.append(stub_ms(res, "read")[1])
                if not args.no_grub:
                    grub.append(grub_ms(args.build, tmp, core, mib))
            r, d = statistics.median(restore), statistics.median(dry)
            g = statistics.median(grub) if grub else float("nan")
            print(f"{mib:8d}  {r:10.0f}  {mib * 1000 / max(r, 1):5.0f}  {d:9.0f}"
                  f"  {r / max(d, 1):14.2f}  {g:7.0f}  {g / max(r, 1):12.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
