#!/usr/bin/env python3
"""Restore-rate benchmark: time from jumpback's first read to the end of placement for
synthetic cores (tools/mkcore) of 64 MiB to 4 GiB, side by side in the same run with:
 - jumpback's own dry run (the restore's very reads into free RAM, nothing placed: the disk's
   rate as the stub sees it),
 - the same core as a jumpback image, every segment's checksum verified as it lands (on
   two CPUs, and with nosmp on one),
 - jumpback's BIOS path (int 13h) on the same AHCI disk,
 - the same raw core on an NVMe and on a virtio-blk disk, restored and dry-run by jumpback's
   own drivers for them, and
 - GRUB loading the same number of bytes from the same disk as a multiboot module (a
   blocklist), through the BIOS and with its own AHCI driver (`insmod ahci`), timed as the
   wall time of a boot with the load minus one without.
The cores lay their data out as Linux's /proc/vmcore does (mkcore --page-offsets: each
segment's file offset equals its physical address modulo 4 KiB). jumpback's columns are
measured with several disk models, in the same run (--disks):
 - unthrottled: the disk image read from the host's page cache (QEMU's default). This "disk"
   delivers 6 to 12 GiB/s from 256 MiB up, faster than real disks and about as fast as the emulated CPU can
   even load the bytes (bench/hash-choice.md), so whatever the guest does per byte shows;
 - 3500MBps and 550MBps: the same disk throttled by QEMU (throttling.bps-read) to the
   sequential read rate of a PCIe 3.0 x4 NVMe disk and of a SATA SSD.
The BIOS, GRUB and NVMe/virtio-blk columns are measured with the first disk model only (the
first two read at 25 to 200 MiB/s, below every throttle here).
Absolute numbers under TCG are noisy: read the ratios. Medians of --runs runs."""
import argparse
import json
import math
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
        f.write(qemu.memmap_text(qemu.stub_ram(serial)))
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


def machine(mem):
    """The bench's guest: two CPUs, as the host has (a verified restore checks chunks on the
    second), and RAM allocated up front (-mem-prealloc). Otherwise the host faults in each
    page of guest RAM the first time a restore writes it, a cost of the emulation that real
    RAM does not have."""
    return qemu.machine_args(mem) + ["-smp", "2", "-mem-prealloc"]


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


# How QEMU opens each disk image, by disk model (see the docstring).
DISK_MODELS = {"unthrottled": "", "3500MBps": ",throttling.bps-read=3500000000",
               "550MBps": ",throttling.bps-read=550000000"}


def drive(path, ident, model):
    return f"if=none,id={ident},format=raw,file={path}{DISK_MODELS[model]}"


def ahci_disk_args(path, model):
    return qemu.ahci_disk_args(path, drive=drive(path, "d0", model))


def grub_ms(build, tmp, disk, mib, mem, model, native=False):
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
        args = machine(mem) + ["-cdrom", iso, "-boot", "d"] + ahci_disk_args(disk, model)
        res = qemu.run(args, 1800)
        if res.timed_out:
            raise RuntimeError("GRUB baseline did not finish\n" + res.describe())
        times[name] = res.seconds
    return max(0.0, times["with"] - times["without"]) * 1000


def size_setup(size):
    """mkcore arguments, payload and guest RAM for an image of about size MiB. Up to 2 GiB one
    big segment from 32 MiB; past that, the rest goes above 4 GiB (ELF64, the 64-bit payload,
    a guest whose RAM reaches past 4 GiB: QEMU's pc machine keeps 3 GiB below 4 GiB)."""
    if size <= 2048:
        return ["--big-mb", str(size)], "payload.elf", "1G" if size <= 512 else "3G"
    return (["--big-mb", "2048", "--high-mb", str(size - 2048), "--machine", "x86_64"],
            "payload64.elf", f"{5 + (size - 2048 + 1023) // 1024}G")


# GRUB's multiboot loader places modules below 4 GiB, in the low RAM QEMU's pc machine keeps.
GRUB_MAX_MIB = 2048

COLUMNS = ("raw", "dryrun", "verified", "verified_1cpu", "bios", "grub_ahci", "grub_bios")


def nvme_disk_args(path, model):
    return ["-drive", drive(path, "n0", model),
            "-device", "nvme,serial=jbbench,drive=n0"]


def virtio_disk_args(path, model):
    return ["-drive", drive(path, "v0", model),
            "-device", "virtio-blk-pci,disable-legacy=on,drive=v0"]


# Each native driver on the same core: raw restore and dry run, (resume=, disk arguments).
DRIVERS = {"ahci": ("ahci:0", ahci_disk_args), "nvme": ("nvme:0", nvme_disk_args),
           "virtio": ("virtio:0", virtio_disk_args)}
DRIVER_COLUMNS = tuple(f"{d}_{k}" for d in DRIVERS for k in ("raw", "dryrun"))


def make_core(args, tmp, size):
    """The core of about size MiB (tools/mkcore): (path, entry, guest RAM)."""
    mk_args, payload, mem = size_setup(size)
    core = os.path.join(tmp, "core.img")
    out = subprocess.run([os.path.join(args.build, "tools", "mkcore"), "--payload",
                          os.path.join(args.build, "test", payload), "--out", core,
                          "--page-offsets"] + mk_args,
                         check=True, capture_output=True, text=True).stdout
    return core, re.search(r"^entry=(0x[0-9a-fA-F]+)$", out, re.M).group(1), mem


def measure(args, tmp, size, core, entry, mem, model, first_model, image=None):
    """Median times in ms for each column on one core of about size MiB with one disk model
    (the BIOS, GRUB and driver columns with the first model only); NaN where skipped. Returns
    the row and the jumpback image (made on the first run)."""
    disk_mib = os.path.getsize(core) / (1 << 20)
    stub = os.path.join(args.build, "jumpback.elf")
    done = r"^jbtest: (PASS|FAIL)"
    runs = {c: [] for c in COLUMNS + DRIVER_COLUMNS}
    grub = first_model and not args.no_grub and disk_mib <= GRUB_MAX_MIB

    def stub_run(disk_args, cmdline, word, until=done):
        res = qemu.run(machine(mem) + disk_args + qemu.kernel_args(stub, cmdline),
                       1800, until=until)
        if until and not re.search(r"^jbtest: PASS", res.serial, re.M):
            raise RuntimeError(f"{cmdline}: the payload did not pass\n{res.describe()}")
        return res, stub_ms(res, word)

    for _ in range(args.runs):
        res, (mib, ms) = stub_run(ahci_disk_args(core, model), f"resume=ahci:0 entry={entry}",
                                  "restored")
        runs["raw"].append(ms)
        if image is None:
            image = jumpback_image(args.build, tmp, core, entry, res.serial)
        runs["verified"].append(stub_run(ahci_disk_args(image, model), "resume=ahci:0 keep",
                                         "restored")[1][1])
        runs["verified_1cpu"].append(stub_run(ahci_disk_args(image, model),
                                              "resume=ahci:0 keep nosmp", "restored")[1][1])
        runs["dryrun"].append(stub_run(ahci_disk_args(core, model),
                                       f"resume=ahci:0 entry={entry} dryrun onerror=reboot",
                                       "read", until=None)[1][1])
        if first_model:
            runs["bios"].append(stub_run(ahci_disk_args(core, model),
                                         f"resume=bios:0x80 entry={entry}", "restored")[1][1])
        for name, (where, disk_fn) in DRIVERS.items():
            if name != "ahci" and first_model and not args.no_drivers:
                runs[f"{name}_raw"].append(stub_run(disk_fn(core, model),
                                                    f"resume={where} entry={entry}",
                                                    "restored")[1][1])
                runs[f"{name}_dryrun"].append(stub_run(
                    disk_fn(core, model), f"resume={where} entry={entry} dryrun onerror=reboot",
                    "read",
                    until=None)[1][1])
        runs["ahci_raw"], runs["ahci_dryrun"] = runs["raw"], runs["dryrun"]
        if grub:
            runs["grub_ahci"].append(grub_ms(args.build, tmp, core, disk_mib, mem, model,
                                             native=True))
            runs["grub_bios"].append(grub_ms(args.build, tmp, core, disk_mib, mem, model))
    med = {c: statistics.median(v) if v else float("nan") for c, v in runs.items()}
    return {"size_mib": size, "disk": model, "image_mib": round(disk_mib, 1),
            "restored_mib": mib, "guest_ram": mem, "runs": args.runs, "median_ms": med,
            "all_ms": runs}, image


def rate_of(row, col):
    return row["restored_mib"] * 1000.0 / max(row["median_ms"][col], 1)


def print_drivers(row):
    if math.isnan(row["median_ms"]["nvme_raw"]):
        return
    parts = []
    for d in DRIVERS:
        raw, dry = rate_of(row, f"{d}_raw"), rate_of(row, f"{d}_dryrun")
        parts.append(f"{d} {raw:.0f} raw, {dry:.0f} dry run ({raw / dry:.2f})")
    print(f"{'':9}  {row['disk']:6}  per driver, MiB/s: " + "; ".join(parts), flush=True)


def print_row(row):
    r = {c: rate_of(row, c) for c in COLUMNS}
    print(f"{row['image_mib']:9.0f}  {row['disk']:6}  {r['raw']:6.0f}  {r['dryrun']:6.0f}"
          f"  {r['raw'] / r['dryrun']:10.2f}  {r['verified']:8.0f}"
          f"  {r['verified'] / r['raw']:12.2f}  {r['verified_1cpu'] / r['raw']:17.2f}"
          f"  {r['bios']:4.0f}  {r['grub_ahci']:9.0f}"
          f"  {r['verified'] / r['grub_ahci']:17.1f}  {r['grub_bios']:9.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="64,256,1024,4096",
                    help="image sizes in MiB; past 2048 the guest has RAM above 4 GiB")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-grub", action="store_true")
    ap.add_argument("--no-drivers", action="store_true",
                    help="skip the NVMe and virtio-blk columns (the same core on each)")
    ap.add_argument("--json", help="also write every time measured here, as JSON")
    ap.add_argument("--disks", default=",".join(DISK_MODELS),
                    help="disk models, in order (the first also gets the BIOS and GRUB"
                    " columns): " + ", ".join(DISK_MODELS))
    args = ap.parse_args()
    models = args.disks.split(",")
    if set(models) - set(DISK_MODELS):
        ap.error(f"--disks: one or more of {', '.join(DISK_MODELS)}")
    print(f"MiB/s, medians of {args.runs} runs in this run; restored = every byte placed or "
          "zero-filled.")
    print("image_mib  disk        raw  dryrun  raw/dryrun  verified  verified/raw"
          "  one CPU: ver/raw  bios  grub_ahci  verified/grub_ahci  grub_bios")
    rows = []
    with tempfile.TemporaryDirectory(prefix="jbbench-") as tmp:
        for size in [int(x) for x in args.sizes.split(",")]:
            core, entry, mem = make_core(args, tmp, size)
            image = None
            for model in models:
                row, image = measure(args, tmp, size, core, entry, mem, model,
                                     model == models[0], image)
                rows.append(row)
                print_row(rows[-1])
                print_drivers(rows[-1])
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump({"columns": COLUMNS, "driver_columns": DRIVER_COLUMNS,
                                   "disks": models, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
