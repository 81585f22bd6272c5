#!/usr/bin/env python3
"""The fault matrix: disk errors injected with QEMU's blkdebug driver in every phase of a
restore: the raw core's ELF headers, a jumpback image's header, its hash table and its ELF
headers, the middle of a segment (AHCI and BIOS), the used-mark write and its read-back. A
transient error (once) must be retried and the restore complete; a persistent one must be
retried, then reported with the LBA that failed (and that it was tried 3 times), with nothing
jumped to. Prints one line per case, 'faults: N/M passed' and 'N passed, N failed'."""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

TIMEOUT = 120
TRIES = 3  # DISK_READ_TRIES
STATE_AT = 12


class Fault:
    """A blkdebug rule: `event` (read_aio, write_aio) fails with EIO at `sector`; once or every
    time; after_write: only once the stub has written (the used mark's read-back)."""

    def __init__(self, event, sector, once, after_write=False):
        self.event, self.sector, self.once, self.after_write = event, sector, once, after_write

    def config(self):
        rules = ""
        state = ""
        if self.after_write:
            rules += '[set-state]\nevent = "write_aio"\nstate = "1"\nnew_state = "2"\n\n'
            state = 'state = "2"\n'
        rules += (f'[inject-error]\nevent = "{self.event}"\nerrno = "5"\n'
                  f'sector = "{self.sector}"\nonce = "{"on" if self.once else "off"}"\n{state}')
        return rules


class Case:
    def __init__(self, name, image, fault, append, resumes, words=(), entry=None, bios=False,
                 state=None):
        self.name, self.image, self.fault, self.append = name, image, fault, append
        self.resumes, self.words, self.entry, self.bios, self.state = (resumes, words, entry,
                                                                      bios, state)


class Matrix:
    def __init__(self, build, tmp, seed):
        self.build, self.tmp, self.seed = build, tmp, seed
        self.stub = os.path.join(build, "jumpback.elf")
        self.verbose = False

    def path(self, name):
        return os.path.join(self.tmp, name)

    def mkcore(self, name, big_mb):
        out = self.path(name)
        res = subprocess.run([os.path.join(self.build, "tools", "mkcore"), "--payload",
                              os.path.join(self.build, "test", "payload.elf"), "--out", out,
                              "--seed", str(self.seed), "--big-mb", str(big_mb)],
                             capture_output=True, text=True, timeout=120, check=True)
        entry = int(re.search(r"^entry=(0x[0-9a-f]+)$", res.stdout, re.M).group(1), 16)
        big = int(re.search(r"paddr=0x0*2000000 .*offset=(0x[0-9a-f]+)", res.stdout).group(1), 16)
        qemu.pad_to_sectors(out)
        return out, entry, big

    def jbwrite(self, core, entry):
        memmap = qemu.probe_memmap(self.stub, self.tmp)
        out = self.path("base.jbi")
        subprocess.run([os.path.join(self.build, "tools", "jbwrite"), "--core", core, "--out", out,
                        "--entry", hex(entry), "--memmap-file", memmap, "--quiet"],
                       check=True, capture_output=True, timeout=120)
        qemu.pad_to_sectors(out)
        with open(out, "rb") as f:
            core_offset = struct.unpack_from("<Q", f.read(48), 40)[0]
        return out, core_offset

    def run(self, case, index):
        disk = self.path(f"case{index}.img")
        cfg = self.path(f"case{index}.cfg")
        subprocess.run(["cp", "--sparse=always", case.image, disk], check=True)
        with open(cfg, "w") as f:
            f.write(case.fault.config())
        spec = f"format=raw,file=blkdebug:{cfg}:{disk}"
        if case.bios:
            drive = ["-drive", f"if=ide,index=0,{spec}"]
        else:
            drive = qemu.ahci_disk_args(disk, drive=f"if=none,id=d0,{spec}")
        res = qemu.run(qemu.machine_args() + qemu.kernel_args(self.stub, case.append
                                                             + " onerror=reboot") + drive,
                       TIMEOUT)
        with open(disk, "rb") as f:
            f.seek(OFFSET * 512 + STATE_AT)
            state = f.read(4)
        os.unlink(disk)
        if self.verbose:
            print("\n".join(res.lines("jumpback: error: ") + res.lines("jumpback: warning: ")))
        return check(case, res, state)


def lba_ranges(serial):
    """(first LBA, sectors) of every failed command the stub reports."""
    out = [(int(a), int(n)) for a, n in re.findall(r"at LBA (\d+) \(\+(\d+) sectors\) failed",
                                                   serial)]
    out += [(int(a), int(n)) for n, a in re.findall(r"int 13h \w+ of (\d+) sectors at LBA (\d+)"
                                                    r" failed", serial)]
    return out


def check(case, res, state):
    """None when the stub behaved, else why not."""
    sector = case.fault.sector
    warnings = [l for l in res.lines("jumpback: warning: ") if "attempt" in l]
    if res.timed_out:
        return f"QEMU did not exit within {TIMEOUT}s\n{res.describe()}"
    for first, n in lba_ranges(res.serial):
        if not first <= sector < first + n:
            return f"a message names LBA {first} (+{n}), not sector {sector}\n{res.describe()}"
    if not warnings or "attempt 1 of 3" not in warnings[0]:
        return f"no retry of the failed command\n{res.describe()}"
    if case.resumes:
        jump = f"jumpback: jumping to 0x{case.entry:08x}"
        if res.lines("jumpback: error") or jump not in res.serial or \
                res.status != qemu.EXIT_PAYLOAD_PASS:
            return f"the retried restore did not resume\n{res.describe()}"
    else:
        errors = res.lines("jumpback: error: ")
        if len(errors) != 1:
            return f"{len(errors)} error lines, want 1\n{res.describe()}"
        line = errors[0]
        if "jumpback: jumping to" in res.serial or res.lines("jbtest:"):
            return f"jumped after a disk error\n{res.describe()}"
        if len(warnings) != TRIES - 1 and not case.fault.after_write:
            return f"{len(warnings)} retry warnings, want {TRIES - 1}\n{res.describe()}"
        for w in (f"tried {TRIES} times",) + tuple(case.words):
            if w not in line:
                return f"error line lacks {w!r}:\n  {line}"
        if not lba_ranges(line):
            return f"error line names no LBA:\n  {line}"
        if not line.endswith("; nothing was jumped to"):
            return f"error line does not end in '; nothing was jumped to':\n  {line}"
    if case.state is not None and state != case.state:
        return f"the image's state on disk is {state!r}, want {case.state!r}"
    return None


def at_offset(m, path):
    """The image 1 MiB into the disk (resume_offset=2048): the firmware reads sector 0 at boot
    and would take a one-time fault meant for the stub."""
    out = path + ".disk"
    with open(out, "wb") as f, open(path, "rb") as src:
        f.truncate(OFFSET * 512)
        f.seek(OFFSET * 512)
        f.write(src.read())
    return out


OFFSET = 2048


def cases(m):
    core, entry, big = m.mkcore("raw.core", 24)
    image, core_offset = m.jbwrite(core, entry)
    core, image = at_offset(m, core), at_offset(m, image)
    mid = OFFSET + (big + (5 << 20)) // 512
    jmid = OFFSET + (core_offset + big + (5 << 20)) // 512
    raw = f"resume=ahci:0 resume_offset={OFFSET} entry=0x{entry:x}"
    jbi = f"resume=ahci:0 resume_offset={OFFSET}"
    out = []
    for once in (True, False):
        how = "once: retried, resumes" if once else "every time: reported"

        def add(name, img, fault, append, words=(), **kw):
            out.append(Case(f"{name}, {how}", img, fault, append, once,
                            () if once else words, entry, **kw))
        add("raw core: read error in the first sector", core, Fault("read_aio", OFFSET, once),
            raw, ("reading the first sector of the image: ", f"at LBA {OFFSET} "))
        add("raw core: read error in the program headers", core,
            Fault("read_aio", OFFSET + 1, once), raw, ("reading the ELF header: ",))
        add("raw core: read error mid-segment", core, Fault("read_aio", mid, once), raw,
            ("segment ",))
        add("raw core over the BIOS: read error mid-segment", core,
            Fault("read_aio", mid, once), raw.replace("ahci:0", "bios:0x80"),
            ("bios:0x80: int 13h read of",), bios=True)
        add("image: read error in the image header", image, Fault("read_aio", OFFSET, once),
            jbi + " keep", ("reading the first sector of the image: ", f"at LBA {OFFSET} "),
            state=b"VALD")
        add("image: read error in the hash table", image, Fault("read_aio", OFFSET + 16, once),
            jbi + " keep", ("reading the image's hash table: ",), state=b"VALD")
        add("image: read error in the core's ELF headers", image,
            Fault("read_aio", OFFSET + core_offset // 512, once), jbi + " keep",
            ("reading the ELF header: ",), state=b"VALD")
        add("image: read error mid-segment (verified, in flight)", image,
            Fault("read_aio", jmid, once), jbi + " keep", ("segment ",), state=b"VALD")
        add("image: write error at the used mark", image, Fault("write_aio", OFFSET, once),
            jbi, (f"ahci:0 LBA {OFFSET}: could not mark the image used", "boot with keep"),
            state=b"USED" if once else b"VALD")
        add("image: read error reading the used mark back", image,
            Fault("read_aio", OFFSET, once, after_write=True), jbi,
            (f"ahci:0 LBA {OFFSET}: could not read the used mark back",
             "may be marked used already"), state=b"USED")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-k", default="")
    ap.add_argument("-v", action="store_true", help="print the stub's error and warning lines")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jbfaults-") as tmp:
        m = Matrix(args.build, tmp, args.seed)
        m.verbose = args.v
        todo = [c for c in cases(m) if args.k in c.name]
        slot = {id(c): i for i, c in enumerate(todo)}  # each case its own disk file
        failed = qemu.run_cases("faults", todo, lambda c: m.run(c, slot[id(c)]), args.jobs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
