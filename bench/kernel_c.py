#!/usr/bin/env python3
"""Power-on to kernel A running again: jumpback against the seed design's kernel C.

For each --mem (default 256 MiB and 1 GiB of RAM), one real hibernation
(test/linux/roundtrip.py's: Linux 6.12 kernel A, 2 CPUs, the image on AHCI), then, side by side
in the same run and from copies of the same disks:
 - jumpback: a fresh machine boots GRUB, GRUB starts jumpback (empty command line), jumpback
   restores and verifies the image and enters kernel A;
 - jumpback started by QEMU -kernel, as kernel C is (no GRUB), the same otherwise;
 - kernel C: a fresh machine boots the same Linux with kernel B's command line (confined to the
   kexec window) and bench/kernel-c/init, which puts kernel A's memory back through /dev/mem
   (bench/kernel-c/jbrestore.c, no checks) and enters kernel A with a kexec jump
   (jbjump --back).
Each time runs from power-on, the firmware's first line (SeaBIOS on its debug port), to kernel
A running again: the first line its user space prints after the resume (jumpback-hibernate's
"kernel A runs again", printed as soon as the jump it made returns), and, in parentheses, to
the jump into kernel A. What QEMU does before the firmware runs (mostly preallocating the
guest's RAM, from 0.05 to over 1 s at 1 GiB depending on the host's memory) is not part of
either path and is given apart. Medians of --runs runs; absolute times under TCG are noisy,
read the ratio. --disks: the disk models of bench/restore_rate.py to resume with (default
unthrottled: QEMU's own).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "linux"))
import roundtrip as rt  # noqa: E402
from restore_rate import DISK_MODELS  # noqa: E402

RESUMED = r"^jbtest-linux: resumed"  # the test's checks, a second later: the run is over
RUNNING = r"^jumpback-hibernate: kernel A runs again"


def kernel_c_initrd(env, build):
    """Kernel C's initramfs: busybox, jbrestore, jbjump and bench/kernel-c/init."""
    root = env.path("kernel-c.d")
    os.makedirs(os.path.join(root, "bin"))
    for d in ("dev", "proc", "sys"):
        os.makedirs(os.path.join(root, d))
    shutil.copy("/bin/busybox", os.path.join(root, "bin"))
    shutil.copy(os.path.join(build, "bench", "jbrestore"), os.path.join(root, "bin"))
    shutil.copy(os.path.join(build, "static", "jbjump"), os.path.join(root, "bin"))
    shutil.copy(os.path.join(HERE, "kernel-c", "init"), os.path.join(root, "init"))
    for applet in rt.sh(["/bin/busybox", "--list"]).split():
        if not os.path.exists(os.path.join(root, "bin", applet)):
            os.symlink("busybox", os.path.join(root, "bin", applet))
    out = env.path("kernel-c.cpio")
    with open(out, "wb") as f:
        names = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
        subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                       input=names, stdout=f, check=True)
    return out


def first(pattern, serial):
    m = re.search(pattern, serial, re.M)
    return m.group(1) if m else "?"


JUMPBACK_ENTERS = r"^jumpback: jumping to"
JUMPBACK_RESTORE = r"jumpback: restored (\d+ MiB in \d+) ms"


def paths(env, initrd, b_cmdline):
    """Each restore path: (key, name, its extra QEMU arguments, the line it prints just
    before it enters kernel A, its restore line)."""
    return (
        ("grub", "jumpback (GRUB)", ["-boot", "d"], JUMPBACK_ENTERS, JUMPBACK_RESTORE),
        ("kernel", "jumpback (-kernel)",
         rt.qemu.kernel_args(os.path.join(env.build, "jumpback.elf"), ""), JUMPBACK_ENTERS,
         JUMPBACK_RESTORE),
        ("c", "kernel C", ["-kernel", env.kernel, "-initrd", initrd, "-append",
                           b_cmdline + " loglevel=4 rdinit=/init"],
         r"^kernel-c: entering kernel A", r"jbrestore: restored (\d+ MiB in \d+) ms"),
    )


def with_disk_model(args, model):
    """QEMU arguments with the disk model on every disk but GRUB's CD."""
    return [a + DISK_MODELS[model] if prev == "-drive" and "media=cdrom" not in a else a
            for prev, a in zip([None] + args, args)]


def bench_machine(env, disks, model):
    """The round trip's machine with the disk model, and its RAM preallocated, as in
    bench/restore_rate.py: otherwise each path pays the host's first-touch faults on the RAM
    it restores, a cost real RAM does not have."""
    return with_disk_model(rt.machine(2, *disks, env.iso), model) + ["-mem-prealloc"]


def resume(snap, env, name, extra, enters, model):
    """One resume from fresh copies of the hibernated disks; the copies go afterwards."""
    disks = snap.copy("resume")
    os.sync()  # the copies' writeback would otherwise compete with the run that reads them
    for disk in disks:  # and they start in the host's page cache, the disk models' premise
        with open(disk, "rb") as f:
            while f.read(16 << 20):
                pass
    try:
        res = rt.qemu.run(bench_machine(env, disks, model) + extra, 900, until=RESUMED,
                          marks={"power": rt.qemu.FIRMWARE_STARTS, "enter": enters,
                                 "running": RUNNING}, firmware_log=True)
    finally:
        for disk in disks:
            os.unlink(disk)
    if not re.search(RESUMED, res.serial, re.M) or {"power", "enter", "running"} - set(res.marks):
        raise SystemExit(f"{name} did not resume kernel A\n" + res.describe())
    return res


def bench_mem(env, initrd, mem, runs, models):
    """One hibernation with mem of RAM, then runs resumes by each path and disk model; median
    seconds."""
    rt.MEM = mem
    rt.TARGET_MB = max(320, int(mem[:-1]) * (1024 if mem.endswith("G") else 1) + 64)
    snap = rt.Snapshot(env, 2)
    b_cmdline = first(r"^jumpback-hibernate: kernel B's command line: (.*)$", snap.serial)
    for model in models:
        bench_paths(snap, env, paths(env, initrd, b_cmdline), mem, runs, model)


def bench_paths(snap, env, todo, mem, runs, model):
    times = {key: [] for key, *_ in todo}
    enter = {key: [] for key, *_ in todo}
    setup = {key: [] for key, *_ in todo}
    print(f"\nkernel A with {mem} of RAM, disks {model}")
    print("seconds from power-on to kernel A running (in parentheses: to the jump into it),"
          " the restore inside, and [QEMU's own start, before the firmware runs]")
    print("run  " + "  ".join(f"{name:>34}" for _, name, *_ in todo))
    for run in range(runs):
        cells = []
        for key, name, extra, enters, restored in todo:
            res = resume(snap, env, name, extra, enters, model)
            power = res.marks["power"]
            times[key].append(res.marks["running"] - power)
            enter[key].append(res.marks["enter"] - power)
            setup[key].append(power)
            cells.append(f"{times[key][-1]:5.2f} ({enter[key][-1]:5.2f}) "
                         f"{first(restored, res.serial) + ' ms':>16} [{power:4.2f}]")
        print(f"{run:3d}  " + "  ".join(cells), flush=True)
    med = {k: statistics.median(v) for k, v in setup.items()}
    print(f"median ({runs} runs, {mem}, {model}), QEMU's start to power-on (not counted):"
          f" {med['grub']:.2f} s, {med['kernel']:.2f} s, {med['c']:.2f} s")
    for label, t in (("power-on to kernel A running", times),
                     ("power-on to the jump into kernel A", enter)):
        med = {k: statistics.median(v) for k, v in t.items()}
        print(f"median ({runs} runs, {mem}, {model}), {label}: jumpback through GRUB"
              f" {med['grub']:.2f} s, jumpback by -kernel {med['kernel']:.2f} s, kernel C"
              f" {med['c']:.2f} s; kernel C / jumpback: {med['c'] / med['grub']:.2f} (GRUB),"
              f" {med['c'] / med['kernel']:.2f} (-kernel, like kernel C)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mem", default="256M,1G", help="kernel A's RAM, one hibernation each")
    ap.add_argument("--disks", default="unthrottled",
                    help="disk models, of " + ", ".join(DISK_MODELS))
    ap.add_argument("--cache", default=os.environ.get("JUMPBACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "jumpback"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="jbkernelc-")
    try:
        env = rt.Env(args.build, tmp, args.cache)
        env.prepare()
        initrd = kernel_c_initrd(env, args.build)
        for mem in args.mem.split(","):
            bench_mem(env, initrd, mem, args.runs, args.disks.split(","))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
