#!/usr/bin/env python3
"""Checks the shell tools of the kexec procedure on the host, without a kernel: what
jumpback-hibernate --dry-run computes from a fake /sys and /proc (kernel B's command line, the
kexec command, the low-memory copy) and each of its refusals; what jumpback-mkinitrd puts in
kernel B's initramfs and what it refuses; when grub.d/42_jumpback adds its entry.
Prints one line per check and "N passed, N failed"; exits non-zero on any failure.
"""
import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test"))
from checks import Checks  # noqa: E402

TOOLS = os.path.join(ROOT, "tools", "linux")
# SeaBIOS's map for a QEMU machine with 256 MiB and one AHCI controller, as kernel A's
# /sys/firmware/memmap shows it (start, end inclusive, type).
QEMU_256M = [(0x0, 0x9fbff, "System RAM"), (0x9fc00, 0x9ffff, "Reserved"),
             (0xf0000, 0xfffff, "Reserved"), (0x100000, 0xffdbfff, "System RAM"),
             (0xffdc000, 0xfffffff, "Reserved"), (0xfffc0000, 0xffffffff, "Reserved")]
# What jumpback-hibernate must give kernel B for that map (docs/hibernate-with-kexec.md).
B_CMDLINE_256M = ("console=ttyS0,115200 nokaslr nr_cpus=1 panic=10 memmap=exactmap "
                  "memmap=0x1f000@0x1000 memmap=0x400$0x9fc00 memmap=0x10000$0xf0000 "
                  "memmap=0x3ef0000@0x100000 memmap=0x10000$0x3ff0000 "
                  "memmap=0xbfdc000#0x4000000 memmap=0x24000$0xffdc000 "
                  "memmap=0x40000$0xfffc0000")


class Fake:
    """A fake kernel A: /sys (firmware memmap, block devices), /proc (config, cmdline),
    /boot/jumpback and a stand-in /dev/mem."""

    def __init__(self, root, memmap=QEMU_256M, config="CONFIG_KEXEC_JUMP=y\nCONFIG_DEVMEM=y\n",
                 parts=(("sda1", "hibernate", 700000),)):
        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        self.sys = os.path.join(root, "sys")
        self.proc = os.path.join(root, "proc")
        self.lib = os.path.join(root, "boot")
        for d in (self.proc, self.lib, os.path.join(self.sys, "class", "block")):
            os.makedirs(d)
        if memmap is not None:
            for i, (start, end, kind) in enumerate(memmap):
                d = os.path.join(self.sys, "firmware", "memmap", str(i))
                os.makedirs(d)
                for name, value in (("start", hex(start)), ("end", hex(end)), ("type", kind)):
                    with open(os.path.join(d, name), "w") as f:
                        f.write(value + "\n")
        for name, label, sectors in parts:
            d = os.path.join(self.sys, "class", "block", name)
            os.makedirs(d)
            with open(os.path.join(d, "uevent"), "w") as f:
                f.write(f"MAJOR=8\nDEVNAME={name}\nDEVTYPE=partition\nPARTNAME={label}\n")
            with open(os.path.join(d, "size"), "w") as f:
                f.write(f"{sectors}\n")
        if config is not None:
            with gzip.open(os.path.join(self.proc, "config.gz"), "wt") as f:
                f.write(config)
        with open(os.path.join(self.proc, "cmdline"), "w") as f:
            f.write("console=ttyS0,115200 root=/dev/vda rw\n")
        for name in ("kernel-b", "initrd-b.cpio"):
            open(os.path.join(self.lib, name), "w").close()

    def hibernate(self, *args):
        env = dict(os.environ, JUMPBACK_SYSFS=self.sys, JUMPBACK_PROCFS=self.proc,
                   JUMPBACK_LIBDIR=self.lib, JUMPBACK_DEVMEM="/dev/zero", JBJUMP="true",
                   KEXEC="true")
        res = subprocess.run(["sh", os.path.join(TOOLS, "jumpback-hibernate"), "--dry-run",
                              *args], capture_output=True, text=True, env=env, timeout=60)
        return res.returncode, res.stdout + res.stderr


def check_hibernate(c, tmp):
    root = os.path.join(tmp, "a")
    rc, out = Fake(root).hibernate()
    c.equal("hibernate: a dry run succeeds", rc, 0)
    c.check("hibernate: kernel B's command line for a 256 MiB QEMU machine",
            f"kernel B's command line: {B_CMDLINE_256M}\n" in out, out)
    c.check("hibernate: kexec loads kernel B into [1 MiB, 64 MiB) with preserve-context",
            "'--load-preserve-context' '--mem-min=0x100000' '--mem-max=0x3ffffff'" in out
            and "'--append=" + B_CMDLINE_256M + "'" in out, out)
    c.check("hibernate: kernel A's low memory read in whole pages up to 0x9f000",
            "'bs=4096' 'count=159'" in out, out)
    c.check("hibernate: the target found by partition name", "/dev/sda1 (PARTLABEL=hibernate)"
            in out, out)
    c.check("hibernate: a dry run jumps nowhere", "nothing loaded, nothing jumped to" in out, out)
    rc, out = Fake(root).hibernate("--window-mb", "32", "--low-kb", "64", "--append", "quiet",
                                   "--grub-reboot")
    c.check("hibernate: --window-mb, --low-kb and --append shape kernel B's command line",
            rc == 0 and "memmap=0x10000@0x1000 " in out and "memmap=0x1ef0000@0x100000 " in out
            and "memmap=0xdfdc000#0x2000000" in out and out.count(" quiet") == 2, out)
    c.check("hibernate: --grub-reboot arms the resume entry", "'grub-reboot' 'jumpback-resume'"
            in out, out)

    refusals = [
        ("no KEXEC_JUMP", dict(config="CONFIG_DEVMEM=y\n"), (), "lacks CONFIG_KEXEC_JUMP=y"),
        ("no DEVMEM", dict(config="CONFIG_KEXEC_JUMP=y\n"), (), "lacks CONFIG_DEVMEM=y"),
        ("no firmware memmap", dict(memmap=None), (), "CONFIG_FIRMWARE_MEMMAP=y"),
        ("no target partition", dict(parts=()), (), "no partition named 'hibernate'"),
        ("two target partitions", dict(parts=(("sda1", "hibernate", 700000),
                                              ("sdb1", "hibernate", 700000))), (),
         "several partitions are named 'hibernate'"),
        ("target too small", dict(parts=(("sda1", "hibernate", 100000),)), (),
         "holds 48 MiB; an image of this system's RAM needs about 196 MiB"),
        ("window past RAM", {}, ("--window-mb", "512"), "is not all usable RAM"),
        ("window too small", {}, ("--window-mb", "8"), "at least 16 MiB"),
        ("low RAM too small", {}, ("--low-kb", "8"), "at least 32 KiB"),
        ("low RAM past its end", {}, ("--low-kb", "700"), "low RAM ends at 0x9fc00"),
        ("no low RAM", dict(memmap=QEMU_256M[1:]), (), "no usable RAM at 0x1000"),
        ("a bad number", {}, ("--window-mb", "6x"), "'6x' is not a number"),
        ("an unknown option", {}, ("--frobnicate",), "unknown argument '--frobnicate'"),
        ("a bad target", {}, ("--target", "sda1"), "want PARTLABEL=NAME or /dev/NODE"),
        ("no kernel B", {}, ("--kernel-b", "/nonexistent"), "kernel B '/nonexistent' not found"),
    ]
    for name, fake_args, args, text in refusals:
        rc, out = Fake(root, **fake_args).hibernate(*args)
        c.check(f"hibernate refuses {name}: '{text}'",
                rc == 1 and f"jumpback-hibernate: error: " in out and text in out, out)


def check_mkinitrd(c, tmp, build):
    jbwrite = os.path.join(build, "static", "jbwrite")
    jbjump = os.path.join(build, "static", "jbjump")
    out = os.path.join(tmp, "initrd.cpio")
    res = subprocess.run(["sh", os.path.join(TOOLS, "jumpback-mkinitrd"), "--jbwrite", jbwrite,
                          "--jbjump", jbjump, out], capture_output=True, text=True, timeout=120)
    c.equal("mkinitrd: builds kernel B's initramfs", res.returncode, 0)
    listing = subprocess.run(["cpio", "-it", "--quiet"], stdin=open(out, "rb"),
                             capture_output=True, text=True).stdout.split()
    for want in ("init", "bin/busybox", "bin/sh", "bin/jbwrite", "bin/jbjump", "bin/poweroff",
                 "dev", "proc", "sys"):
        c.check(f"mkinitrd: the initramfs holds {want}", want in listing, " ".join(listing[:20]))
    res = subprocess.run(["sh", os.path.join(TOOLS, "jumpback-mkinitrd"), "--jbwrite",
                          shutil.which("kexec") or "/sbin/kexec", "--jbjump", jbjump,
                          os.path.join(tmp, "bad.cpio")], capture_output=True, text=True)
    c.check("mkinitrd: refuses a dynamically linked program",
            res.returncode == 1 and "is dynamically linked" in res.stderr
            and not os.path.exists(os.path.join(tmp, "bad.cpio")), res.stderr)
    res = subprocess.run(["sh", os.path.join(TOOLS, "jumpback-mkinitrd"), "--jbwrite",
                          os.path.join(TOOLS, "kernel-b-init"), "--jbjump", jbjump,
                          os.path.join(tmp, "bad.cpio")], capture_output=True, text=True)
    c.check("mkinitrd: refuses a file that is no program",
            res.returncode == 1 and "is not an ELF program" in res.stderr, res.stderr)


def check_grub(c, tmp):
    sysfs = os.path.join(tmp, "gsys")
    shutil.rmtree(sysfs, ignore_errors=True)
    os.makedirs(os.path.join(sysfs, "class", "block", "sda1"))
    elf = os.path.join(tmp, "jumpback.elf")
    open(elf, "w").close()
    defaults = os.path.join(tmp, "default-jumpback")

    def run(settings):
        with open(defaults, "w") as f:
            f.write(settings)
        env = dict(os.environ, JUMPBACK_SYSFS=sysfs, JUMPBACK_DEFAULTS=defaults)
        res = subprocess.run(["sh", os.path.join(TOOLS, "grub.d", "42_jumpback")], env=env,
                             capture_output=True, text=True, timeout=30)
        return res.returncode, res.stdout, res.stderr

    base = f"JUMPBACK_ELF={elf}\nJUMPBACK_GRUB_PATH=/boot/jumpback.elf\n"
    uevent = os.path.join(sysfs, "class", "block", "sda1", "uevent")
    with open(uevent, "w") as f:
        f.write("PARTNAME=other\n")
    rc, out, err = run(base)
    c.check("grub.d: no entry without a target partition",
            rc == 0 and out == "" and "no partition named 'hibernate'" in err, out + err)
    with open(uevent, "w") as f:
        f.write("PARTNAME=hibernate\n")
    rc, out, err = run(base + "JUMPBACK_CMDLINE='verify=on'\n")
    c.check("grub.d: the resume entry, with its id and the command line",
            rc == 0 and "menuentry 'Resume from hibernation (jumpback)' --id jumpback-resume {"
            in out and "\tmultiboot /boot/jumpback.elf verify=on\n" in out, out + err)
    os.makedirs(os.path.join(sysfs, "firmware", "efi"))
    rc, out, err = run(base)
    c.check("grub.d: multiboot2 on UEFI firmware", "\tmultiboot2 /boot/jumpback.elf" in out,
            out + err)
    rc, out, err = run(f"JUMPBACK_ELF={tmp}/missing.elf\n")
    c.check("grub.d: no entry without jumpback.elf", rc == 0 and out == "", out + err)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="jbscripts-") as tmp:
        check_hibernate(c, tmp)
        check_mkinitrd(c, tmp, args.build)
        check_grub(c, tmp)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
