#!/usr/bin/env python3
"""A writer no crash can fool: tools/jbwrite is interrupted at every write and fsync it makes
(SIGKILL, ENOSPC), at every read of the core (EIO), and at random byte counts (a file-size
limit: killed by SIGXFSZ, or a short write then EFBIG), each time over a complete older image
on the target. No result may carry a header that the stub's own checks (lib/jbimage.c, run on
the host by `jbwrite --show`) accept over anything but a complete core: an accepted result
must hold the old image or the new one byte for byte. A sample of the results is then booted
in the stub under QEMU with verify=off (so only the header checks stand between a torn image
and a jump): the refused ones must print an error and not jump, the accepted ones must resume
and pass the payload's check of every byte.
Prints one line per check, 'interrupted writer: N/M results safe' and 'N passed, N failed'."""
import argparse
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "qemu"))
from checks import Checks  # noqa: E402
import qemu  # noqa: E402

HEADER_SIZE = 8192
BOOT_TIMEOUT = 120


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Env:
    def __init__(self, build, tmp, seed):
        self.build, self.tmp, self.seed = build, tmp, seed
        self.jbwrite_bin = os.path.join(build, "tools", "jbwrite")

    def path(self, name):
        return os.path.join(self.tmp, name)

    def mkcore(self, name, seed, big_mb):
        out = self.path(name)
        res = subprocess.run([os.path.join(self.build, "tools", "mkcore"), "--payload",
                              os.path.join(self.build, "test", "payload.elf"), "--out", out,
                              "--seed", str(seed), "--big-mb", str(big_mb)],
                             capture_output=True, text=True, timeout=120, check=True)
        return out, int(re.search(r"^entry=(0x[0-9a-f]+)$", res.stdout, re.M).group(1), 16)

    def memmap(self):
        """Usable RAM of the test machine as the stub prints it: the image's map must match."""
        return qemu.probe_memmap(os.path.join(self.build, "jumpback.elf"), self.tmp)

    def jbwrite_cmd(self, core, out, entry, memmap):
        return [self.jbwrite_bin, "--core", core, "--out", out, "--entry", hex(entry),
                "--memmap-file", memmap, "--quiet"]

    def show(self, image):
        res = subprocess.run([self.jbwrite_bin, "--show", image], capture_output=True, text=True,
                             timeout=120)
        return res.returncode == 0 and "check: ok" in res.stdout


def count_calls(env, cmd, name, target, old):
    """How many times jbwrite calls `name` on a clean run over the old image."""
    shutil.copyfile(old, target)
    log = env.path("strace.log")
    subprocess.run(["strace", "-f", "-qq", "-o", log, "-e", f"trace={name}"] + cmd,
                   check=True, capture_output=True, timeout=300)
    with open(log) as f:
        return sum(1 for line in f if re.search(rf"\b{name}\(", line))


def check_order(c, env, cmd, target, old):
    """The order a power cut cannot fool (writes between two fsyncs land in any order): the old
    header is zeroed and synced before the first core byte, and the new header is written last,
    after an fsync that covers every core and table byte, then synced itself."""
    shutil.copyfile(old, target)
    log = env.path("order.log")
    subprocess.run(["strace", "-f", "-qq", "-o", log, "-e", "trace=pwrite64,fsync"] + cmd,
                   check=True, capture_output=True, timeout=300)
    calls = []  # ("write", offset, bytes, starts with magic) or ("fsync",)
    with open(log) as f:
        for line in f:
            m = re.search(r'pwrite64\(\d+, "(.{0,8})[^,]*, (\d+), (\d+)\) = (\d+)', line)
            if m:
                calls.append(("write", int(m.group(3)), int(m.group(2)),
                              m.group(1).startswith("JUMPBACK")))
            elif re.search(r"\bfsync\(\d+\)\s*= 0", line):
                calls.append(("fsync",))
    writes = [i for i, k in enumerate(calls) if k[0] == "write"]
    headers = [i for i in writes if calls[i][3]]
    c.check("order: the old header is zeroed first (8 KiB at byte 0)",
            bool(writes) and calls[writes[0]][1:] == (0, HEADER_SIZE, False), str(calls[:3]))
    c.check("order: the zeroed header is synced before the core is written",
            len(writes) > 1 and ("fsync",) in calls[writes[0]:writes[1]], str(calls[:4]))
    c.check("order: one header with the magic, written last",
            len(headers) == 1 and headers[0] == writes[-1], str(calls[-4:]))
    c.check("order: an fsync between the last core or table write and the header",
            len(writes) > 1 and ("fsync",) in calls[writes[-2]:writes[-1]], str(calls[-4:]))
    c.check("order: the header is synced", ("fsync",) in calls[writes[-1]:], str(calls[-3:]))


def header(data):
    core_offset, core_size = struct.unpack_from("<QQ", data, 40)
    nchunk = struct.unpack_from("<I", data, 68)[0]
    return core_offset, core_size, nchunk


def what_it_holds(data, images):
    """'old' or 'new' when data is that complete image (header aside from its creation time and
    CRC), else None."""
    for name, ref in images.items():
        co, cs, nchunk = header(ref)
        if len(data) < co + cs or header(data) != (co, cs, nchunk):
            continue
        a, b = bytearray(data[:HEADER_SIZE]), bytearray(ref[:HEADER_SIZE])
        for h in (a, b):
            h[56:64] = bytes(8)  # created
            h[20:24] = bytes(4)  # header_crc
        if a == b and data[HEADER_SIZE:co + cs] == ref[HEADER_SIZE:co + cs]:
            return name
    return None


def interruptions(env, cmd, target, old, rng):
    """(name, argv prefix, preexec_fn) for every interruption point."""
    out = []
    writes = count_calls(env, cmd, "pwrite64", target, old)
    syncs = count_calls(env, cmd, "fsync", target, old)
    reads = count_calls(env, cmd, "pread64", target, old)
    if writes < 3 or syncs < 3 or reads < 2:
        raise RuntimeError(f"jbwrite made {writes} writes, {syncs} fsyncs, {reads} reads")
    print(f"interrupted writer: a clean run makes {writes} writes, {syncs} fsyncs, {reads} reads")

    def strace(inject):
        return ["strace", "-f", "-qq", "-o", os.devnull, "-e", f"inject={inject}"]
    for k in range(1, writes + 1):
        out.append((f"SIGKILL before write {k} of {writes}",
                    strace(f"pwrite64:signal=SIGKILL:when={k}"), None))
        out.append((f"ENOSPC at write {k} of {writes}",
                    strace(f"pwrite64:error=ENOSPC:when={k}"), None))
    for k in range(1, syncs + 1):
        out.append((f"SIGKILL before fsync {k} of {syncs}",
                    strace(f"fsync:signal=SIGKILL:when={k}"), None))
        out.append((f"EIO from fsync {k} of {syncs}", strace(f"fsync:error=EIO:when={k}"), None))
    for k in range(1, reads + 1):
        out.append((f"EIO reading the core, read {k} of {reads}",
                    strace(f"pread64:error=EIO:when={k}"), None))
    size = os.path.getsize(env.ref)
    for i in range(40):
        limit = rng.randrange(0, size)
        kill = i % 2 == 0

        def small_target(limit=limit, kill=kill):
            if not kill:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a short write, then EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        out.append((f"target full after {limit} bytes ({'SIGXFSZ' if kill else 'EFBIG'})",
                    [], small_target))
    return out


def keep_result(env, kept, result, seen, boots, rng):
    """Keeps a uniform sample (reservoir) of the refused results, boots - 2 of them, and the
    first result that holds a whole image of each kind, as files for the boots."""
    name, target, holds = result
    if holds is None:
        pool, cap, slot = kept["refused"], max(1, boots - 2), None
        if len(pool) < cap:
            slot = len(pool)
            pool.append(None)
        else:
            j = rng.randrange(seen + 1)
            slot = j if j < cap else None
        if slot is None:
            return
    else:
        pool = kept["whole"]
        if any(k[2] == holds for k in pool):
            return
        slot = len(pool)
        pool.append(None)
    copy = env.path(f"result-{holds or 'refused'}-{slot}.img")
    shutil.copyfile(target, copy)
    qemu.pad_to_sectors(copy)
    pool[slot] = (name, copy, holds)


def boot(env, image, entry):
    args = (qemu.machine_args() + qemu.kernel_args(
        os.path.join(env.build, "jumpback.elf"), "resume=ahci:0 verify=off keep onerror=reboot")
        + qemu.ahci_disk_args(image))
    return qemu.run(args, BOOT_TIMEOUT)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--boots", type=int, default=8, help="results booted in the stub")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1, 2**31)
    print(f"interrupted writer: seed {seed} (rerun with --seed {seed})")
    rng = random.Random(seed)
    # LeakSanitizer cannot run under ptrace (strace); everything else of ASan/UBSan still does.
    os.environ["ASAN_OPTIONS"] = "detect_leaks=0"
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="jbcrash-") as tmp:
        env = Env(args.build, tmp, seed)
        new_core, new_entry = env.mkcore("new.core", seed % 1000 + 1, 20)
        old_core, old_entry = env.mkcore("old.core", seed % 1000 + 2, 3)
        memmap = env.memmap()
        old, env.ref, target = env.path("old.img"), env.path("new.img"), env.path("target.img")
        subprocess.run(env.jbwrite_cmd(old_core, old, old_entry, memmap), check=True,
                       capture_output=True)
        subprocess.run(env.jbwrite_cmd(new_core, env.ref, new_entry, memmap), check=True,
                       capture_output=True)
        images = {"old": read(old), "new": read(env.ref)}
        entries = {"old": old_entry, "new": new_entry}
        c.check("the old image is accepted on the host", env.show(old))
        c.check("the new image is accepted on the host", env.show(env.ref))
        cmd = env.jbwrite_cmd(new_core, target, new_entry, memmap)
        check_order(c, env, cmd, target, old)
        points = interruptions(env, cmd, target, old, rng)
        kept = {"refused": [], "whole": []}  # (name, path, holds) of results booted later
        safe = 0
        seen = {"refused": 0, "old": 0, "new": 0}
        for name, prefix, preexec in points:
            shutil.copyfile(old, target)
            res = subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=300,
                                 preexec_fn=preexec)
            data = read(target)
            accepted = env.show(target)
            holds = what_it_holds(data, images) if accepted else None
            ok = res.returncode != 0 and (not accepted or holds is not None)
            key = "refused" if not accepted else holds or "torn"
            seen[key] = seen.get(key, 0) + 1
            safe += ok
            c.check(f"interrupted: {name}: " + ("refused" if not accepted else
                                                f"accepted, holds the {holds} image complete"
                                                if holds else "ACCEPTED OVER AN INCOMPLETE CORE"),
                    ok, f"jbwrite exit {res.returncode}: {res.stderr.strip()[-300:]}")
            if ok:
                keep_result(env, kept, (name, target, holds), safe, args.boots, rng)
        print(f"interrupted writer: {safe}/{len(points)} results safe ({seen['refused']} refused,"
              f" {seen['old']} the old image intact, {seen['new']} the new image complete)")
        for name, path, holds in kept["refused"] + kept["whole"]:
            res = boot(env, path, entries.get(holds))
            jumped = "jumpback: jumping to" in res.serial
            if holds is None:
                c.check(f"stub on the result of {name}: refused, no jump",
                        not jumped and bool(res.lines("jumpback: error: ")) and not res.timed_out,
                        res.describe())
            else:
                c.check(f"stub on the result of {name}: the {holds} image resumes intact",
                        jumped and bool(res.lines("jbtest: PASS"))
                        and res.status == qemu.EXIT_PAYLOAD_PASS, res.describe())
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
