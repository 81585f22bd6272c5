#!/usr/bin/env python3
"""Restore-rate benchmark: time from jumpback's first read to the end of placement for
synthetic cores of several sizes, side by side in the same run with:
 - jumpback's own dry run (every byte read by DMA into one stub buffer: the disk's rate as
   the stub sees it, without placement),
 - the same core as a jumpback image, every segment's checksum verified as it lands,
 - jumpback's BIOS path (int 13h) on the same AHCI disk, and
 - GRUB loading the same number of bytes from the same disk as a multiboot module (a
   blocklist), through the BIOS and with its own AHCI driver (`insmod ahci`), timed as the
   wall time of a boot with the load minus one without.
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


def jumpback_image(build, tmp, core, entry, serial):
    """The same core as a jumpback image (tools/jbwrite), for the verified column; the memory
    map is the one the stub printed on this machine."""
    memmap = os.path.join(tmp, "memmap.txt")
    with open(memmap, "w") as f:
        for start, end in re.findall(r"^jumpback:   RAM (0x[0-9a-f]+)-(0x[0-9a-f]+)$", serial,
                                     re.M):
            f.write(f"{start} {end} usable\n")
    image = os.path.join(tmp, "core.jbi")
    subprocess.run([os.path.join(build, "tools", "jbwrite"), "--core", core, "--out", image,
                    "--entry", entry, "--memmap-file", memmap, "--quiet"], check=True)
    qemu.pad_to_sectors(image)
    return image


def rate(mib, ms):
    return mib * 1000.0 / max(ms, 1)


def stub_ms(res, word):
    m = [x for x in RATE.finditer(res.serial) if x.group(1) == word]
    if not m:
        raise RuntimeError(f"no '{word} ... ms' line\n{res.describe()}")
    return int(m[-1].group(2)), int(m[-1].group(3))


def grub_iso(build, tmp, name, load_line):
    root = os.path.join(tmp, name + ".d")
    os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        # Modules come from the CD, which `insmod ahci` takes away: load them first.
        f.write(f"insmod halt\ninsmod multiboot\nmultiboot /boot/jumpback.elf\n{load_line}\n"
                "halt\n")
    shutil.copy(os.path.join(build, "jumpback.elf"), os.path.join(root, "boot"))
    iso = os.path.join(tmp, name + ".iso")
    subprocess.run(["grub-mkrescue", "-o", iso, root], check=True, capture_output=True)
    return iso


def grub_ms(build, tmp, disk, mib, native=False):
    """GRUB's time to load mib MiB of the disk, through the BIOS or (native) with its own AHCI
    driver: the wall time of a boot that loads them as a multiboot module (a blocklist) minus
    that of the same boot without. GRUB's own serial output is buffered, so its markers
    cannot time it. After `insmod ahci` GRUB drops the BIOS's disks: the disk is (ahci0)."""
    times = {}
    sectors = int(mib * 2048)
    prefix, disk_name = ("insmod ahci\n", "ahci0") if native else ("", "hd0")
    for name, line in (("with", f"{prefix}module --nounzip ({disk_name})0+{sectors}"),
                       ("without", prefix.strip())):
        iso = grub_iso(build, tmp, "grub-" + name, line)
        args = qemu.machine_args("1G") + ["-cdrom", iso, "-boot", "d"] + qemu.ahci_disk_args(disk)
        res = qemu.run(args, 600)
        if res.timed_out:
            raise RuntimeError("GRUB baseline did not finish\n" + res.describe())
        times[name] = res.seconds
    return max(0.0, times["with"] - times["without"]) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="32,64,128,256", help="MiB of the big segment")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-grub", action="store_true")
    args = ap.parse_args()
    stub = os.path.join(args.build, "jumpback.elf")
    print("Rates in MiB/s (median of runs); ratios against jumpback's native AHCI restore.")
    print("image_mib  native  dryrun  native/dryrun  verified  verified/native  bios  bios/native"
          "  grub  grub/native  grub_ahci  grub_ahci/native")
    with tempfile.TemporaryDirectory(prefix="jbbench-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            core = os.path.join(tmp, "core.img")
            out = subprocess.run([os.path.join(args.build, "tools", "mkcore"), "--payload",
                                  os.path.join(args.build, "test", "payload.elf"), "--out", core,
                                  "--big-mb", str(size)], check=True, capture_output=True,
                                 text=True).stdout
            entry = re.search(r"^entry=(0x[0-9a-fA-F]+)$", out, re.M).group(1)
            disk_mib = os.path.getsize(core) / (1 << 20)
            base = qemu.machine_args("1G") + qemu.ahci_disk_args(core)
            native, dry, verified, bios, grub, grub_ahci = [], [], [], [], [], []
            image = None
            for _ in range(args.runs):
                res = qemu.run(base + qemu.kernel_args(stub, f"resume=ahci:0 entry={entry}"),
                               600, until=r"^jbtest: (PASS|FAIL)")
                native.append(rate(*stub_ms(res, "restored")))
                if image is None:
                    image = jumpback_image(args.build, tmp, core, entry, res.serial)
                res = qemu.run(qemu.machine_args("1G") + qemu.ahci_disk_args(image)
                               + qemu.kernel_args(stub, "resume=ahci:0 keep"),
                               600, until=r"^jbtest: (PASS|FAIL)")
                verified.append(rate(*stub_ms(res, "restored")))
                res = qemu.run(base + qemu.kernel_args(
                    stub, f"resume=ahci:0 entry={entry} dryrun onerror=reboot"), 600)
                dry.append(rate(*stub_ms(res, "read")))
                res = qemu.run(base + qemu.kernel_args(stub, f"resume=bios:0x80 entry={entry}"),
                               600, until=r"^jbtest: (PASS|FAIL)")
                bios.append(rate(*stub_ms(res, "restored")))
                if not args.no_grub:
                    grub.append(rate(disk_mib, grub_ms(args.build, tmp, core, disk_mib)))
                    grub_ahci.append(rate(disk_mib, grub_ms(args.build, tmp, core, disk_mib,
                                                            native=True)))
            n, d, b = statistics.median(native), statistics.median(dry), statistics.median(bios)
            v = statistics.median(verified)
            g = statistics.median(grub) if grub else float("nan")
            ga = statistics.median(grub_ahci) if grub_ahci else float("nan")
            print(f"{disk_mib:9.0f}  {n:6.0f}  {d:6.0f}  {n / d:13.2f}  {v:8.0f}  {v / n:15.2f}"
                  f"  {b:4.0f}  {b / n:11.2f}  {g:4.0f}  {g / n:11.2f}  {ga:9.0f}"
                  f"  {ga / n:16.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
