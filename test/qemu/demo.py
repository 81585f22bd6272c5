#!/usr/bin/env python3
"""make demo: hibernate a running QEMU guest the way kexec hibernation does, then resume it
with jumpback on a fresh machine, showing what each side prints:
 1. "kernel A" (the bare-metal test payload) runs and fills its memory;
 2. QEMU's dump-guest-memory writes the running guest's memory as an ELF core, which is what
    kernel B reads from /proc/vmcore;
 3. tools/jbwrite (kernel B's part) writes it to a disk as a jumpback image with checksums;
 4. jumpback boots with an empty command line, finds the image, verifies and restores it,
    marks it used and jumps back; kernel A checks its CPU state and every word of its memory;
 5. a second boot of the same disk refuses the used image."""
import argparse
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

READY = r"^jbtest: ready entry=(0x[0-9a-f]+) begin=(0x[0-9a-f]+) length=(0x[0-9a-f]+)"


def show(title, serial):
    print(f"\n=== {title} ===")
    for line in serial.splitlines():
        if line.startswith(("jumpback:", "jbtest:")):
            print("  " + line)


def machine_memmap(stub, mem, tmp):
    """The usable RAM of this machine as jumpback sees it (kernel B would read
    /sys/firmware/memmap), as a jbwrite --memmap-file."""
    return qemu.probe_memmap(stub, tmp, mem)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--mem", default="256M", help="guest RAM (default 256M)")
    args = ap.parse_args()
    stub = os.path.join(args.build, "jumpback.elf")
    payload = os.path.join(args.build, "test", "payload.elf")
    jbwrite = os.path.join(args.build, "tools", "jbwrite")
    seed = random.randrange(1, 2**31)

    with tempfile.TemporaryDirectory(prefix="jbdemo-") as tmp:
        vmcore = os.path.join(tmp, "vmcore")
        disk = os.path.join(tmp, "disk.img")
        print(f"1. Booting 'kernel A' ({payload}) in a {args.mem} guest; it fills its memory"
              f" (seed {seed}).")
        print("2. Taking the snapshot with QEMU's dump-guest-memory (kernel B's /proc/vmcore).")
        # The same devices as the restore boot: SeaBIOS's AHCI support takes a page of top RAM.
        blank = os.path.join(tmp, "blank.img")
        with open(blank, "wb") as f:
            f.truncate(1 << 20)
        guest = (qemu.machine_args(args.mem) + qemu.kernel_args(payload, f"seed={seed}")
                 + qemu.ahci_disk_args(blank))
        match, res = qemu.dump_guest(guest, 300, READY, vmcore,
                                     lambda m: (int(m.group(2), 16), int(m.group(3), 16)))
        show("kernel A before hibernation", res.serial)
        if not match or not os.path.exists(vmcore):
            print("demo: the guest did not get ready or no snapshot was written\n"
                  + res.describe())
            return 1
        os.chmod(vmcore, 0o644)
        entry = match.group(1)
        print(f"\n   snapshot: {os.path.getsize(vmcore) >> 20} MiB ELF core; entry {entry}")

        print(f"3. Writing it as a jumpback image: {jbwrite} --core vmcore --out disk.img"
              f" --entry {entry} --memmap-file memmap.txt")
        subprocess.run([jbwrite, "--core", vmcore, "--out", disk, "--entry", entry,
                        "--memmap-file", machine_memmap(stub, args.mem, tmp),
                        "--release", "demo-kernel-A"], check=True)
        qemu.pad_to_sectors(disk)

        print("4. Booting jumpback on a fresh machine with an empty command line")
        boot = qemu.machine_args(args.mem) + qemu.kernel_args(stub, "") + qemu.ahci_disk_args(disk)
        res = qemu.run(boot, 300)
        show("jumpback, then the resumed kernel A", res.serial)
        ok = res.status == qemu.EXIT_PAYLOAD_PASS and res.lines("jbtest: PASS")

        print("\n5. Booting the same disk again")
        again = qemu.run(qemu.machine_args(args.mem) + qemu.kernel_args(stub, "onerror=reboot")
                         + qemu.ahci_disk_args(disk), 60)
        show("jumpback, second boot", again.serial)
        refused = bool(again.lines("jumpback: error:")) and not again.lines("jbtest:")
        if ok and refused:
            print("\ndemo: resumed: kernel A found its CPU state and every word of its memory"
                  " intact, and the used image was not resumed twice")
            return 0
        print("\ndemo: FAILED\n" + res.describe())
        return 1


if __name__ == "__main__":
    sys.exit(main())
