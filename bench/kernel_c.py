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
Each time is QEMU's start to kernel A's first line after the resume. Medians of --runs runs;
absolute times under TCG are noisy, read the ratio.
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

RESUMED = r"^jbtest-linux: resumed"


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


# The moment each restore path enters kernel A (its last line before the jump).
ENTERS = {"jumpback": r"^jumpback: jumping to", "kernel C": r"^kernel-c: entering kernel A"}


def resume(args, timeout, what):
    res = rt.qemu.run(args, timeout, until=RESUMED,
                      marks={"enter": ENTERS["kernel C" if what == "kernel C" else "jumpback"]})
    if not re.search(RESUMED, res.serial, re.M) or "enter" not in res.marks:
        raise SystemExit(f"{what} did not resume kernel A\n" + res.describe())
    return res


def bench_mem(env, initrd, mem, runs):
    """One hibernation with mem of RAM, then runs resumes by each path; median seconds."""
    rt.MEM = mem
    rt.TARGET_MB = max(320, int(mem[:-1]) * (1024 if mem.endswith("G") else 1) + 64)
    snap = rt.Snapshot(env, 2)
    b_cmdline = first(r"^jumpback-hibernate: kernel B's command line: (.*)$", snap.serial)
    times = {"grub": [], "kernel": [], "c": []}
    enter = {"grub": [], "kernel": [], "c": []}
    print(f"\nkernel A with {mem} of RAM")
    print("seconds from power-on to kernel A running (in parentheses: to the jump into it)")
    print("run  jumpback_grub_s  jumpback_kernel_s   kernel_c_s"
          "  (restore inside: jumpback, jumpback ms, kernel C ms)")
    for run in range(runs):
        rootfs, target, ide = snap.copy(f"g{run}")
        res = resume(rt.machine(2, rootfs, target, ide, env.iso) + ["-boot", "d"], 900,
                     "jumpback (GRUB)")
        times["grub"].append(res.seconds)
        enter["grub"].append(res.marks["enter"])
        g_ms = first(r"jumpback: restored (\d+ MiB in \d+) ms", res.serial)
        rootfs, target, ide = snap.copy(f"k{run}")
        res = resume(rt.machine(2, rootfs, target, ide, env.iso)
                     + rt.qemu.kernel_args(os.path.join(env.build, "jumpback.elf"), ""), 900,
                     "jumpback (-kernel)")
        times["kernel"].append(res.seconds)
        enter["kernel"].append(res.marks["enter"])
        k_ms = first(r"jumpback: restored \d+ MiB in (\d+) ms", res.serial)
        rootfs, target, ide = snap.copy(f"c{run}")
        res = resume(rt.machine(2, rootfs, target, ide, env.iso)
                     + ["-kernel", env.kernel, "-initrd", initrd, "-append",
                        b_cmdline + " loglevel=4 rdinit=/init"], 900, "kernel C")
        times["c"].append(res.seconds)
        enter["c"].append(res.marks["enter"])
        c_ms = first(r"jbrestore: restored \d+ MiB in (\d+) ms", res.serial)
        print(f"{run:3d}  {times['grub'][-1]:5.1f} ({enter['grub'][-1]:4.1f})"
              f"  {times['kernel'][-1]:10.1f} ({enter['kernel'][-1]:4.1f})"
              f"  {times['c'][-1]:5.1f} ({enter['c'][-1]:4.1f})  ({g_ms}, {k_ms}, {c_ms})",
              flush=True)
        for disk in (rootfs, target, ide):
            for suffix in ("g", "k", "c"):
                try:
                    os.unlink(disk[:disk.rindex(".")] + f".{suffix}{run}")
                except OSError:
                    pass
    for label, t in (("power-on to kernel A running", times),
                     ("power-on to the jump into kernel A", enter)):
        med = {k: statistics.median(v) for k, v in t.items()}
        print(f"median ({runs} runs), {label}: jumpback through GRUB {med['grub']:.1f} s,"
              f" jumpback by -kernel {med['kernel']:.1f} s, kernel C {med['c']:.1f} s;"
              f" kernel C / jumpback: {med['c'] / med['grub']:.2f} (GRUB),"
              f" {med['c'] / med['kernel']:.2f} (-kernel, like kernel C)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mem", default="256M,1G", help="kernel A's RAM, one hibernation each")
    ap.add_argument("--cache", default=os.environ.get("JUMPBACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "jumpback"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="jbkernelc-")
    try:
        env = rt.Env(args.build, tmp, args.cache)
        env.prepare()
        initrd = kernel_c_initrd(env, args.build)
        for mem in args.mem.split(","):
            bench_mem(env, initrd, mem, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
