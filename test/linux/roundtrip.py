#!/usr/bin/env python3
"""The real-Linux round trip (make test-linux; part of make test).

A real Linux 6.12 kernel A (built once from Debian's linux-source-6.12 by build-kernel.sh, cached
outside the checkout) boots from its virtio disk, starts a counter process and a tmpfs file, and
runs tools/linux/jumpback-hibernate: Debian's kexec loads kernel B (the same bzImage) with
--load-preserve-context and jbjump jumps; kernel B's initramfs (tools/linux/jumpback-mkinitrd)
writes the image with the static jbwrite into the `hibernate` GPT partition of an AHCI disk and
powers off. Then a fresh machine of the same shape boots GRUB (grub.cfg from
tools/linux/grub.d/42_jumpback) into jumpback with an empty command line; kernel A carries on and
checks its counter, its file, its CPUs and its disk. Also: a second boot refuses the used image,
the BIOS path from an IDE disk, and the raw vmcore with entry=.
Prints one line per test and closes with 'N passed, N failed'.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "qemu"))
import qemu  # noqa: E402

MEM = "256M"
TARGET_MB = 320           # the hibernate partition: the image of 256 MiB of RAM fits
HIBERNATE_TIMEOUT = 600   # boot A, kexec -l, boot B, write ~190 MiB: ~20 s, TCG runs vary 10x
RESUME_TIMEOUT = 600     # ~4 s native, ~30 s through the BIOS from IDE
ERROR_TIMEOUT = 90
JBI_HEADER = struct.Struct("<8sII")  # magic, version, state
STATE_VALID = 0x444C4156
STATE_USED = 0x44455355
STUB_ERROR = r"^jumpback: error: "  # a resume run stops at once on jumpback's refusal
# loglevel=4: kernel A's info messages (disk probes after the resume) would cut into the
# lines the test reads.
KERNEL_A_CMDLINE = ("console=ttyS0,115200 loglevel=4 root=/dev/vda rw rootfstype=ext2"
                    " init=/sbin/init")


class Failure(Exception):
    pass


def sh(cmd, timeout=600, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if res.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed (exit {res.returncode}): "
                      f"{(res.stderr or res.stdout)[-1500:]}")
    return res.stdout


class Env:
    """What every test shares: the kernel, the static tools, kernel A's root disk, GRUB's ISO."""

    def __init__(self, build, tmp, cache):
        self.build = build
        self.tmp = tmp
        self.cache = cache
        self.stub = os.path.join(build, "jumpback.elf")
        self.static = os.path.join(build, "static")
        self.times = {}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def log(self, name, res):
        """Keeps a run's whole serial output beside the disks (see --keep)."""
        with open(self.path(name + ".serial.txt"), "w") as f:
            f.write(res.serial)
        return res

    def timed(self, what, seconds):
        self.times.setdefault(what, []).append(seconds)

    def prepare(self):
        start = time.monotonic()
        out = sh(["sh", os.path.join(HERE, "build-kernel.sh"), self.cache], timeout=3600)
        self.kernel = out.strip().splitlines()[-1]
        with open(os.path.join(os.path.dirname(self.kernel), ".config")) as f:
            m = re.search(r"^# Linux/\S+ (\S+) Kernel Configuration$", f.read(), re.M)
        self.release = m.group(1)
        self.timed("kernel (build or cache)", time.monotonic() - start)
        self.iso = self.grub_iso()

    def rootfs(self, name, hibernate_args="", scribble=False):
        """Kernel A's root disk, ext2 on a raw image: busybox, Debian's kexec with its
        libraries, jumpback as `make install` puts it, kernel A's kernel in /boot, and the
        test's init, which does the rest of the set-up of docs/hibernate-with-kexec.md."""
        d = self.path(name + ".d")
        for sub in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "boot", "lib64",
                    "lib/x86_64-linux-gnu"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        shutil.copy("/bin/busybox", os.path.join(d, "bin", "busybox"))
        for applet in sh(["/bin/busybox", "--list"]).split():
            link = os.path.join(d, "bin", applet)
            if not os.path.exists(link):
                os.symlink("busybox", link)
        kexec = shutil.which("kexec") or "/sbin/kexec"
        shutil.copy(kexec, os.path.join(d, "sbin", "kexec"))
        for lib in re.findall(r"(/\S+\.so[.\d]*) \(0x", sh(["ldd", kexec])):
            shutil.copy(lib, d + lib)
        sh(["make", "-C", ROOT, "--no-print-directory", "install", f"DESTDIR={d}",
            f"BUILD={os.path.abspath(self.build)}"])
        shutil.copy(self.kernel, os.path.join(d, "boot", f"vmlinuz-{self.release}"))
        shutil.copy(os.path.join(HERE, "kernel-a-init"), os.path.join(d, "sbin", "init"))
        with open(os.path.join(d, "etc", "jbtest-hibernate-args"), "w") as f:
            f.write(hibernate_args + "\n")
        if scribble:
            open(os.path.join(d, "etc", "jbtest-scribble-lowmem"), "w").close()
        data = os.urandom(2 << 20)
        with open(os.path.join(d, "data.bin"), "wb") as f:
            f.write(data)
        import hashlib
        with open(os.path.join(d, "data.sha256"), "w") as f:
            f.write(hashlib.sha256(data).hexdigest() + "\n")
        img = self.path(name + ".ext2")
        sh(["mke2fs", "-q", "-t", "ext2", "-d", d, "-F", img, "64M"])
        shutil.rmtree(d)
        return img

    def target_disk(self, name, label):
        """A disk with one GPT partition named `label` (the image target)."""
        img = self.path(name)
        with open(img, "wb") as f:
            f.truncate((TARGET_MB + 4) << 20)
        sh(["sgdisk", "-n", f"1:2048:+{TARGET_MB}M", "-c", f"1:{label}", img])
        return img

    def grub_iso(self):
        """GRUB's rescue CD whose grub.cfg is what grub.d/42_jumpback prints, as update-grub
        would put it in a user's grub.cfg (the target check reads a sysfs with the partition)."""
        root = self.path("iso.d")
        os.makedirs(os.path.join(root, "boot", "grub"))
        shutil.copy(self.stub, os.path.join(root, "boot", "jumpback.elf"))
        fake_sys = self.path("sysfs")
        os.makedirs(os.path.join(fake_sys, "class", "block", "sda1"))
        with open(os.path.join(fake_sys, "class", "block", "sda1", "uevent"), "w") as f:
            f.write("MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTN=1\n"
                    "PARTNAME=hibernate\n")
        defaults = self.path("default-jumpback")
        with open(defaults, "w") as f:   # as /etc/default/jumpback would say it
            f.write(f"JUMPBACK_ELF={self.stub}\nJUMPBACK_GRUB_PATH=/boot/jumpback.elf\n")
        env = dict(os.environ, JUMPBACK_SYSFS=fake_sys, JUMPBACK_DEFAULTS=defaults)
        entry = sh(["sh", os.path.join(ROOT, "tools", "linux", "grub.d", "42_jumpback")],
                   env=env)
        if "menuentry 'Resume from hibernation (jumpback)'" not in entry:
            raise Failure(f"42_jumpback printed no entry:\n{entry}")
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write("set timeout=0\nset default=jumpback-resume\n" + entry)
        self.grub_entry = entry
        iso = self.path("grub.iso")
        sh(["grub-mkrescue", "-o", iso, root], timeout=180)
        shutil.rmtree(root)
        return iso


def machine(smp, rootfs, target, ide, iso):
    """The machine shape both runs share: RAM, CPUs, a virtio root disk, one AHCI disk, an IDE
    disk and GRUB's CD (SeaBIOS's memory map depends on the controllers present)."""
    return (qemu.machine_args(MEM) + ["-smp", str(smp),
            "-drive", f"if=virtio,file={rootfs},format=raw"]
            + qemu.ahci_disk_args(target)
            + ["-drive", f"if=ide,index=0,file={ide},format=raw",
               "-drive", f"if=ide,index=2,media=cdrom,file={iso},format=raw"])


# The stages the consoles time, for the report at the end.
STAGES = (("kernel A boots (uptime at init)", r"jbtest-linux: kernel A up after ([\d.]+) s"),
          ("kexec -l loads kernel B, s", r"jumpback-hibernate: kernel B loaded in (\d+) s"),
          ("kernel B boots (uptime at init), s", r"jumpback-b: kernel B up after ([\d.]+) s"),
          ("kernel B writes the image, s", r"jumpback-b: image written to \S+ in ([\d.]+) s"),
          ("jumpback restores the image, ms", r"jumpback: restored \d+ MiB in (\d+) ms"),
          ("kernel A away (hibernate to resumed), s", r"kernel A is back after (\d+) s"))


def stage_times(env, serial):
    for what, pattern in STAGES:
        for m in re.finditer(pattern, serial):
            env.timed(what, float(m.group(1)))


class Snapshot:
    """One hibernation: kernel A's root disk and the target disk as kernel B left them."""

    def __init__(self, env, smp, on_ide=False):
        self.env = env
        self.smp = smp
        self.on_ide = on_ide
        self.name = f"smp{smp}" + ("-ide" if on_ide else "")
        label = "hibernate-ide" if on_ide else "hibernate"
        self.rootfs = env.rootfs(self.name + "-root", f"--target PARTLABEL={label}")
        self.target = env.target_disk(self.name + "-target.img", "hibernate")
        self.ide = env.target_disk(self.name + "-ide.img", "hibernate-ide")
        args = machine(smp, self.rootfs, self.target, self.ide, env.iso)
        args += qemu.kernel_args(env.kernel, KERNEL_A_CMDLINE)
        res = env.log(self.name + "-hibernate", qemu.run(args, HIBERNATE_TIMEOUT))
        env.timed(f"hibernate run ({smp} CPUs)", res.seconds)
        stage_times(env, res.serial)
        self.serial = res.serial
        if "jbtest-linux: FAIL" in res.serial or "jbtest-linux: kernel A up" not in res.serial:
            raise Failure(f"kernel A did not hibernate\n{res.describe()}")
        if "jumpback-b: image written" not in res.serial:
            raise Failure(f"kernel B wrote no image\n{res.describe()}")
        if res.timed_out:
            raise Failure(f"kernel B did not power off\n{res.describe()}")
        m = re.search(r"^jbtest-linux: state: counter at (\d+)", res.serial, re.M)
        self.count_before = int(m.group(1))
        self.entry = int(re.search(r"kexec_jump_back_entry=(0x[0-9a-f]+)", res.serial).group(1), 16)

    def copy(self, suffix):
        """Disks for one resume: each resume starts from the hibernated state."""
        out = []
        for disk in (self.rootfs, self.target, self.ide):
            dst = f"{disk}.{suffix}"
            shutil.copyfile(disk, dst)
            out.append(dst)
        return out

    def image_state(self, disk):
        with open(disk, "rb") as f:
            f.seek(2048 * 512)
            magic, _, state = JBI_HEADER.unpack(f.read(JBI_HEADER.size))
        return magic, state


def expect_resumed(res, snap, how):
    s = res.serial
    if "jbtest-linux: kernel A up" in s:
        raise Failure(f"kernel A booted afresh instead of resuming\n{res.describe()}")
    if "jumpback: jumping to" not in s:
        raise Failure(f"jumpback did not jump\n{res.describe()}")
    if f"jumpback-hibernate: kernel A is back after" not in s or how not in s:
        raise Failure(f"jumpback-hibernate did not report the resume ({how})\n{res.describe()}")
    if "jbtest-linux: PASS" not in s:
        raise Failure(f"kernel A's checks did not pass\n{res.describe()}")
    m = re.search(r"^jbtest-linux: resumed: counter at (\d+)", s, re.M)
    if not m or int(m.group(1)) < snap.count_before:
        raise Failure(f"counter did not continue from {snap.count_before}\n{res.describe()}")
    if res.timed_out:
        raise Failure(f"kernel A did not power off after its checks\n{res.describe()}")


def expect_helper_cpu(res):
    """A verified image on a machine with more CPUs: the second CPU checked chunks, and kernel A
    still gets all its CPUs back (expect_resumed)."""
    if qemu.chunks_by_second_cpu(res.serial) == 0:
        raise Failure(f"no chunk was checked by a second CPU\n{res.describe()}")


def test_grub_resume(env, snap):
    """GRUB, empty command line, native AHCI: kernel A resumes; then a second boot refuses."""
    rootfs, target, ide = snap.copy("grub")
    magic, state = snap.image_state(target)
    if magic != b"JUMPBACK" or state != STATE_VALID:
        raise Failure(f"no valid image in the hibernate partition: {magic!r} 0x{state:x}")
    args = machine(snap.smp, rootfs, target, ide, env.iso) + ["-boot", "d"]
    res = env.log(snap.name + "-resume-grub", qemu.run(args, RESUME_TIMEOUT, until=STUB_ERROR))
    env.timed(f"resume run, GRUB + AHCI ({snap.smp} CPUs)", res.seconds)
    if "jumpback: loader: GRUB" not in res.serial:
        raise Failure(f"jumpback was not booted by GRUB\n{res.describe()}")
    expect_resumed(res, snap, "resumed by jumpback")
    expect_helper_cpu(res)
    stage_times(env, res.serial)
    if snap.image_state(target)[1] != STATE_USED:
        raise Failure("the image is not marked used after the resume")
    # The same entry again: the image is used, jumpback refuses and jumps nowhere.
    res = qemu.run(args, ERROR_TIMEOUT, until=r"^jumpback: error: ")
    errors = [l for l in res.serial.splitlines() if l.startswith("jumpback: error: ")]
    if not errors or "used image" not in errors[0]:
        raise Failure(f"the second boot did not refuse the used image\n{res.describe()}")
    if "jumpback: jumping to" in res.serial:
        raise Failure(f"the second boot jumped\n{res.describe()}")


def test_bios_resume(env, snap):
    """The image on an IDE disk, read through the BIOS (int 13h), by partition label."""
    rootfs, target, ide = snap.copy("bios")
    args = machine(snap.smp, rootfs, target, ide, env.iso)
    args += qemu.kernel_args(env.stub, "resume=PARTLABEL=hibernate-ide driver=bios onerror=reboot")
    res = env.log(snap.name + "-resume-bios", qemu.run(args, RESUME_TIMEOUT, until=STUB_ERROR))
    env.timed(f"resume run, BIOS + IDE ({snap.smp} CPUs)", res.seconds)
    if not re.search(r"^jumpback: .*bios:0x8", res.serial, re.M):
        raise Failure(f"the image was not read through the BIOS\n{res.describe()}")
    expect_resumed(res, snap, "resumed by jumpback")
    expect_helper_cpu(res)
    if snap.image_state(ide)[1] != STATE_USED:
        raise Failure("the image is not marked used after the resume")


def test_raw_resume(env, snap):
    """The core alone (a raw vmcore, as `dd if=/proc/vmcore` writes it) with entry=."""
    rootfs, target, ide = snap.copy("raw")
    part = 2048 * 512
    with open(target, "r+b") as f:
        f.seek(part)
        header = f.read(8192)
        core_off, core_size = struct.unpack_from("<QQ", header, 40)  # core_offset, core_size
        f.seek(part + core_off)
        core = f.read(core_size)
        f.seek(part)
        f.write(core)
        f.write(b"\0" * 8192)
    args = machine(snap.smp, rootfs, target, ide, env.iso)
    args += qemu.kernel_args(env.stub, f"resume=PARTLABEL=hibernate entry=0x{snap.entry:x}")
    res = env.log(snap.name + "-resume-raw", qemu.run(args, RESUME_TIMEOUT, until=STUB_ERROR))
    env.timed(f"resume run, raw vmcore ({snap.smp} CPUs)", res.seconds)
    expect_resumed(res, snap, "resumed from the raw core")


def test_refused_hibernation(env):
    """Kernel A's low memory changes after jumpback-hibernate saved it (a process writes to it
    through /dev/mem): jbwrite in kernel B refuses, naming the page, B jumps back, kernel A
    carries on with its state, and no image is left on the target."""
    rootfs = env.rootfs("refused-root", "--target PARTLABEL=hibernate", scribble=True)
    target = env.target_disk("refused-target.img", "hibernate")
    ide = env.target_disk("refused-ide.img", "hibernate-ide")
    args = machine(2, rootfs, target, ide, env.iso) + qemu.kernel_args(env.kernel,
                                                                       KERNEL_A_CMDLINE)
    res = env.log("refused-hibernate", qemu.run(args, HIBERNATE_TIMEOUT))
    env.timed("refused hibernation run (2 CPUs)", res.seconds)
    s = res.serial
    for want in ("jbwrite: error: low memory page 0x50000 differs from kernel A's copy",
                 "jumpback-b: jumping back to kernel A: nothing was hibernated",
                 "jumpback-hibernate: error: kernel B returned after",
                 "jbtest-linux: jumpback-hibernate failed as it should",
                 "jbtest-linux: PASS"):
        if want not in s:
            raise Failure(f"no '{want}'\n{res.describe()}")
    with open(target, "rb") as f:
        f.seek(2048 * 512)
        if f.read(8) == b"JUMPBACK":
            raise Failure("a refused hibernation left an image header")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--cache", default=os.environ.get("JUMPBACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "jumpback"))
    ap.add_argument("--smp", default="2,4", help="CPU counts to hibernate with")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--no-refusal", dest="refusal", action="store_false",
                    help="leave out the refused hibernation")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="jblinux-")
    env = Env(args.build, tmp, args.cache)
    smps = [int(n) for n in args.smp.split(",") if n]
    passed = failed = 0

    def check(name, fn, *a):
        nonlocal passed, failed
        start = time.monotonic()
        try:
            fn(*a)
            passed += 1
            print(f"PASS {name} ({time.monotonic() - start:.1f}s)", flush=True)
            return True
        except (Failure, subprocess.TimeoutExpired, OSError, AttributeError) as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            return False

    try:
        if check("linux_prepare: kernel, kernel B's initramfs, GRUB ISO", env.prepare):
            # Two CPUs: the image on AHCI, resumed through GRUB and as a raw core; four CPUs:
            # the image on an IDE disk, resumed through the BIOS.
            for smp, on_ide, tests in ((2, False, [("grub", "GRUB, empty command line, AHCI;"
                                                    " refused once used", test_grub_resume),
                                                   ("raw", "raw vmcore with entry=",
                                                    test_raw_resume)]),
                                       (4, True, [("bios", "BIOS int 13h from an IDE disk",
                                                   test_bios_resume)])):
                if smp not in smps:
                    continue
                snap = []
                if not check(f"linux_hibernate_smp{smp}: kernel A with {smp} CPUs hibernates,"
                             f" kernel B writes the image ({'IDE' if on_ide else 'AHCI'})",
                             lambda: snap.append(Snapshot(env, smp, on_ide))):
                    continue
                for name, what, fn in tests:
                    check(f"linux_resume_{name}_smp{smp}: {what}", fn, env, snap[0])
            if args.refusal:
                check("linux_hibernate_refused: kernel A's low memory changed after it was"
                      " saved: kernel B refuses and jumps back, A carries on",
                      test_refused_hibernation, env)
        for what, secs in env.times.items():
            print(f"  time: {what}: " + ", ".join(f"{s:.1f}" for s in secs))
    finally:
        if args.keep:
            print(f"  work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
