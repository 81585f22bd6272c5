#!/usr/bin/env python3
"""make demo: hibernate a running QEMU guest to a disk image with dump-guest-memory, then
resume it with jumpback on a fresh machine, showing what each side prints."""
import argparse
import os
import random
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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--mem", default="256M", help="guest RAM (default 256M)")
    args = ap.parse_args()
    stub = os.path.join(args.build, "jumpback.elf")
    payload = os.path.join(args.build, "test", "payload.elf")
    seed = random.randrange(1, 2**31)

    with tempfile.TemporaryDirectory(prefix="jbdemo-") as tmp:
        core = os.path.join(tmp, "vmcore.img")
        print(f"1. Booting 'kernel A' ({payload}) in a {args.mem} guest; it fills its memory"
              f" (seed {seed}).")
        print("2. Taking the snapshot with QEMU's dump-guest-memory, like kernel B's"
              " /proc/vmcore.")
        # The same devices as the restore boot: SeaBIOS's AHCI support takes a page of top RAM.
        blank = os.path.join(tmp, "blank.img")
        with open(blank, "wb") as f:
            f.truncate(1 << 20)
        guest = (qemu.machine_args(args.mem) + qemu.kernel_args(payload, f"seed={seed}")
                 + qemu.ahci_disk_args(blank))
        match, res = qemu.dump_guest(guest, 300, READY, core,
                                     lambda m: (int(m.group(2), 16), int(m.group(3), 16)))
        show("kernel A before hibernation", res.serial)
        if not match or not os.path.exists(core):
            print("demo: the guest did not get ready or no snapshot was written\n"
                  + res.describe())
            return 1
        os.chmod(core, 0o644)
        qemu.pad_to_sectors(core)
        entry = int(match.group(1), 16)
        print(f"\n   snapshot: {os.path.getsize(core) >> 20} MiB ELF core; entry 0x{entry:x}")

        append = f"resume=ahci:0 entry=0x{entry:x}"
        print(f"3. Booting jumpback on a fresh machine: -kernel {stub} -append \"{append}\"")
        res = qemu.run(qemu.machine_args(args.mem) + qemu.kernel_args(stub, append)
                       + qemu.ahci_disk_args(core), 300)
        show("jumpback, then the resumed kernel A", res.serial)
        ok = res.status == qemu.EXIT_PAYLOAD_PASS and res.lines("jbtest: PASS")
        print("\ndemo: " + ("resumed: kernel A found its CPU state and every word of its memory"
                             " intact" if ok else "FAILED\n" + res.describe()))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
