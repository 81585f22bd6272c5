#!/usr/bin/env python3
"""The bad-input corpus: broken raw vmcores and jumpback images made at test time from a good
core (tools/mkcore) and a good image (tools/jbwrite), each booted in the real stub under QEMU
(onerror=reboot, so QEMU exits) and checked on its own: its `jumpback: error:` line holds the
exact expected text, ends in '; nothing was jumped to' with no generic code text, and nothing
is jumped to. A few controls must pass instead, so that the cases fail for their own reason.
Prints one line per case, 'corpus: N/M passed', and 'N passed, N failed'."""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qemu"))
sys.path.insert(0, HERE)
import qemu  # noqa: E402
from images import (E_IDENT_CLASS, E_IDENT_DATA, E_MACHINE, E_PHENTSIZE, E_PHNUM,  # noqa: E402
                    E_PHOFF, E_TYPE, ELF64_PHDR, PT_LOAD, PT_NULL, Elf64, Jbi, build_elf64,
                    xxh64, JBI_HEADER_SIZE, JBI_RELEASE)

BOOT_TIMEOUT = 30
MIB = 1 << 20
ENTRY = None  # the payload's entry, from mkcore


class Case:
    """One corpus entry: make(path) writes the disk; the stub is booted with append; `expect`
    must appear in its error line (or, for a control, `ok` on serial)."""

    def __init__(self, name, make, expect=None, append=None, ok=None):
        self.name, self.make, self.expect, self.append, self.ok = name, make, expect, append, ok


def generic_texts():
    """The error codes' generic texts (include/errors.h): none may follow a message."""
    with open(os.path.join(HERE, "..", "..", "include", "errors.h")) as f:
        return re.findall(r'X\(JB_\w+, "([^"]+)"\)', f.read())


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    qemu.pad_to_sectors(path)


class Corpus:
    def __init__(self, build, tmp, seed):
        self.build, self.tmp, self.seed = build, tmp, seed
        self.stub = os.path.join(build, "jumpback.elf")
        self.generic = generic_texts()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def mkcore(self, name, *extra):
        out = self.path(name)
        res = subprocess.run([os.path.join(self.build, "tools", "mkcore"), "--payload",
                              os.path.join(self.build, "test", "payload.elf"), "--out", out,
                              "--seed", str(self.seed), "--big-mb", "1"] + list(extra),
                             capture_output=True, text=True, timeout=120, check=True)
        entry = int(re.search(r"^entry=(0x[0-9a-f]+)$", res.stdout, re.M).group(1), 16)
        with open(out, "rb") as f:
            return f.read(), entry

    def boot(self, disk, append):
        args = (qemu.machine_args() + qemu.kernel_args(self.stub, append + " onerror=reboot")
                + qemu.ahci_disk_args(disk))
        return qemu.run(args, BOOT_TIMEOUT)

    def ram_ranges(self):
        """Usable RAM of the corpus's machine as the stub prints it (one boot on a blank disk)."""
        blank = self.path("probe.img")
        write(blank, bytes(MIB))
        res = self.boot(blank, "resume=ahci:0")
        ranges = [(int(a, 16), int(b, 16)) for a, b in qemu.stub_ram(res.serial)]
        if not ranges:
            raise RuntimeError(f"no RAM lines from the stub\n{res.describe()}")
        return ranges

    def jbwrite(self, core_bytes, entry, memmap, name):
        core, out = self.path(name + ".core"), self.path(name + ".jbi")
        write(core, core_bytes)
        subprocess.run([os.path.join(self.build, "tools", "jbwrite"), "--core", core, "--out", out,
                        "--entry", hex(entry), "--memmap-file", memmap, "--quiet"],
                       check=True, capture_output=True, timeout=120)
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(core)
        os.unlink(out)
        return data

    def run_case(self, case):
        disk = self.path(re.sub(r"[^\w.-]", "_", case.name) + ".img")
        try:
            case.make(disk)
            res = self.boot(disk, case.append)
        finally:
            if os.path.exists(disk):
                os.unlink(disk)
        return check(self, case, res)


def check(corpus, case, res):
    """None when the case behaved, else why not."""
    jumped = "jumpback: jumping to" in res.serial or res.lines("jbtest:")
    if res.timed_out:
        return f"QEMU did not exit within {BOOT_TIMEOUT}s\n{res.describe()}"
    errors = res.lines("jumpback: error: ")
    if case.ok:
        if errors or case.ok not in res.serial:
            return f"control: want '{case.ok}'\n{res.describe()}"
        return "a dry run jumped" if jumped else None
    if jumped:
        return f"jumped although the image is broken\n{res.describe()}"
    if len(errors) != 1:
        return f"{len(errors)} error lines, want 1\n{res.describe()}"
    line = errors[0]
    if case.expect not in line:
        return f"error line lacks {case.expect!r}:\n  {line}"
    if not line.endswith("; nothing was jumped to"):
        return f"error line does not end in '; nothing was jumped to':\n  {line}"
    for g in corpus.generic:
        if f"({g})" in line:
            return f"error line carries the generic code text ({g}):\n  {line}"
    return None


# ---- the cases ----------------------------------------------------------------------------
def raw_cases(c, base, entry, ram):
    """Raw vmcores: every ELF header and program-header field out of range or inconsistent."""
    cases = []
    append = f"resume=ahci:0 entry=0x{entry:x}"
    e = Elf64(base)
    loads = e.loads()
    size = len(base)
    ram_end = max(end for _, end in ram if end <= 1 << 32)

    def elf_case(name, edit, expect, app=append, data=None):
        def make(path):
            m = Elf64(data if data is not None else base)
            edit(m)
            write(path, bytes(m.b))
        cases.append(Case("raw " + name, make, expect, app))

    def field(f, v):
        return lambda m: m.field(f, v)

    def ident(i, v):
        def edit(m):
            m.b[i] = v
        return edit

    elf_case("control: the good core (dry run)", lambda m: None, None)
    cases[-1].ok = f"jumpback: dryrun: image checked; would jump to 0x{entry:08x} (32-bit)"
    cases[-1].append = append + " dryrun"
    elf_case("e_ident magic", lambda m: m.b.__setitem__(slice(0, 4), b"XELF"),
             "no ELF magic at the image start (found 58 45 4c 46); check resume= and"
             " resume_offset=")
    for v in (0, 3):
        elf_case(f"EI_CLASS={v}", ident(E_IDENT_CLASS, v),
                 f"ahci:0 LBA 0: ELF header: EI_CLASS={v} is neither ELFCLASS32 (1) nor"
                 " ELFCLASS64 (2)")
    for v in (0, 2):
        elf_case(f"EI_DATA={v}", ident(E_IDENT_DATA, v),
                 f"ELF header: EI_DATA={v}, not little-endian (1), so not an x86 core; check"
                 " resume= and resume_offset=, or write the core again")
    for v in (0, 2, 0xffff):
        elf_case(f"e_type={v}", field(E_TYPE, v), f"ELF header: e_type={v} is not ET_CORE (4)")
    for v in (0, 40, 0xffff):
        elf_case(f"e_machine={v}", field(E_MACHINE, v),
                 f"ELF header: e_machine={v} is neither EM_386 (3) nor EM_X86_64 (62)")
    for v in (0, 32, 55, 57, 0xffff):
        elf_case(f"e_phentsize={v}", field(E_PHENTSIZE, v),
                 f"ELF header: e_phentsize={v}, but ELF64 program headers are 56 bytes; the"
                 " header is damaged")
    elf_case("e_phnum=0", field(E_PHNUM, 0), "ELF header: e_phnum=0, no program headers")
    elf_case("e_phnum=PN_XNUM", field(E_PHNUM, 0xffff),
             "ELF header: e_phnum=0xffff (PN_XNUM, more than 65534 program headers)")
    huge = 65534
    elf_case("e_phnum huge, table inside the image", field(E_PHNUM, huge),
             f"ahci:0 LBA 0: ELF header: program headers end at byte 0x{64 + huge * 56:x}, past"
             " the 65536 bytes this jumpback reads for them")
    elf_case("e_phnum huge, table past the image end", field(E_PHNUM, huge),
             f"ELF header: {huge} program headers at 0x40 end at 0x{64 + huge * 56:x}, past the"
             f" image end (0x{MIB:x} bytes): the image is truncated, or e_phoff or e_phnum is"
             " wrong", data=base[:MIB])
    far = 0x7fff_ffff_0000_0000
    elf_case("e_phoff past the image end", field(E_PHOFF, far),
             f"ELF header: {e.phnum} program headers at 0x{far:x} end at"
             f" 0x{far + e.phnum * 56:x}, past the image end")
    elf_case("e_phoff + table wraps 2^64", field(E_PHOFF, (1 << 64) - 8),
             f"ELF header: e_phoff=0x{(1 << 64) - 8:x} + {e.phnum} program headers wraps past"
             " 2^64")

    # Program headers: the mid segment (data), the odd-dest one (moved around memory).
    mid = next(l for l in loads if l[5] > 0x100000)
    odd = loads[-2]
    pi, si, _, off, paddr, filesz, memsz = mid
    elf_case("p_filesz > p_memsz", lambda m: m.set_phdr(pi, filesz=memsz + 1),
             f"program header {pi}: p_filesz 0x{memsz + 1:x} exceeds p_memsz 0x{memsz:x}; the"
             " header is damaged")
    wrap_off = (1 << 64) - 0x1000
    elf_case("p_offset + p_filesz wraps 2^64", lambda m: m.set_phdr(pi, offset=wrap_off),
             f"program header {pi}: p_offset 0x{wrap_off:x} + p_filesz 0x{filesz:x} wraps past"
             " 2^64")
    elf_case("p_offset past the image end", lambda m: m.set_phdr(pi, offset=size + 0x1000),
             f"program header {pi}: data at 0x{size + 0x1000:x} (+0x{filesz:x}) runs past the"
             f" image end (0x{size:x} bytes): the image is truncated")
    elf_case("p_filesz past the image end",
             lambda m: m.set_phdr(pi, filesz=0x10000000, memsz=0x10000000),
             f"program header {pi}: data at 0x{off:x} (+0x10000000) runs past the image end")
    wrap_pa = (1 << 64) - 0x1000
    elf_case("p_paddr + p_memsz wraps 2^64", lambda m: m.set_phdr(pi, paddr=wrap_pa),
             f"program header {pi}: p_paddr 0x{wrap_pa:x} + p_memsz 0x{memsz:x} wraps past"
             " 2^64")
    elf_case("p_paddr past 2^52", lambda m: m.set_phdr(pi, paddr=1 << 52),
             f"program header {pi}: physical range 0x{1 << 52:x} (+0x{memsz:x}) ends past"
             " 2^52, more than x86 can address")
    elf_case("p_paddr + p_memsz crosses 2^52",
             lambda m: m.set_phdr(pi, paddr=(1 << 52) - 0x1000),
             f"program header {pi}: physical range 0x{(1 << 52) - 0x1000:x} (+0x{memsz:x}) ends"
             " past 2^52")
    opi, osi, _, _, _, ofilesz, omemsz = odd
    for what, where in (("the VGA hole", 0xa0000), ("the BIOS ROM", 0xf0000),
                        ("MMIO (the local APIC)", 0xfee00000),
                        ("above RAM", 0x10000000), ("across the end of RAM", ram_end - 0x1000)):
        elf_case(f"PT_LOAD in {what}", lambda m, w=where: m.set_phdr(opi, paddr=w),
                 f"segment {osi} (0x{where:x}-0x{where + omemsz:x}) is not inside usable RAM of"
                 " this machine's memory map")

    def all_loads(edit):
        def f(m):
            for l in loads:
                edit(m, l[0])
        return f
    elf_case("no PT_LOAD (all PT_NULL)", all_loads(lambda m, i: m.set_phdr(i, type_=PT_NULL)),
             f"the core's {e.phnum} program headers hold no PT_LOAD segment with memory to"
             " restore")
    elf_case("every PT_LOAD p_memsz=0",
             all_loads(lambda m, i: m.set_phdr(i, filesz=0, memsz=0)),
             f"the core's {e.phnum} program headers hold no PT_LOAD segment")

    # Segments that disagree: the duplicate of the mid segment given other data, or no data.
    dup = next(l for l in loads if l[4] == paddr and l[0] != pi)
    low = loads[1]
    new = base[low[3]:low[3] + low[5]]
    old = base[off:off + filesz]
    k = next(i for i in range(min(len(new), len(old))) if new[i] != old[i])
    elf_case("duplicate PT_LOAD with different data",
             lambda m: m.set_phdr(dup[0], offset=low[3]),
             f"segment {dup[1]} overlaps an earlier segment at 0x{paddr + k:x} but holds"
             f" different data (0x{new[k]:02x}, earlier 0x{old[k]:02x})")
    z = next(i for i in range(len(old)) if old[i])
    elf_case("duplicate PT_LOAD zero-fills data", lambda m: m.set_phdr(dup[0], filesz=0),
             f"segment {dup[1]} zero-fills 0x{paddr + z:x}, where an earlier segment holds data"
             f" (0x{old[z]:02x})")
    # The same deep inside the data, past the scans' first 32-byte blocks, at an odd offset.
    deep = min(filesz, dup[5]) - 0x35
    assert deep > 0x100, "the duplicate segment is too short for the deep cases"

    def flip_deep(m):
        m.b[dup[3] + deep] ^= 0x5a
    elf_case("duplicate PT_LOAD differing in one byte deep inside", flip_deep,
             f"segment {dup[1]} overlaps an earlier segment at 0x{paddr + deep:x} but holds"
             f" different data (0x{old[deep] ^ 0x5a:02x}, earlier 0x{old[deep]:02x})")

    def zero_head(m):
        m.b[off:off + deep] = bytes(deep)
        m.b[off + deep] |= 1
        m.set_phdr(dup[0], filesz=0)
    elf_case("duplicate PT_LOAD zero-fills data deep inside", zero_head,
             f"segment {dup[1]} zero-fills 0x{paddr + deep:x}, where an earlier segment holds"
             f" data (0x{old[deep] | 1:02x})")
    many = build_elf64([(0x2000000 + i * 0x1000, bytes([i & 0xff]) * 16, 0x1000)
                        for i in range(513)])
    cases.append(Case("raw 513 PT_LOAD segments", lambda p: write(p, many),
                      "program header 512: more than 512 PT_LOAD segments, the most this"
                      " jumpback restores", append))
    cases.append(Case("raw kdump-compressed", lambda p: write(p, b"KDUMP   " + bytes(4096)),
                      "image is a kdump-compressed dump (makedumpfile -c, dump-guest-memory -z)",
                      append))
    cases.append(Case("raw makedumpfile flattened",
                      lambda p: write(p, b"makedumpfile" + bytes(4096)),
                      "image is makedumpfile's flattened format; rearrange it with makedumpfile"
                      " -R first", append))
    cases.append(Case("raw blank disk", lambda p: write(p, bytes(MIB)),
                      "ahci:0 LBA 0: the sector is blank (all zeros), no image starts here",
                      append))
    elf_case("entry= outside every segment", lambda m: None,
             f"entry 0x7000000 (entry=) is not inside any of the {len(loads)} segments of the"
             " image on ahci:0", app="resume=ahci:0 entry=0x7000000")
    elf_case("no entry= for a raw core", lambda m: None,
             "no entry= given: the raw vmcore on ahci:0 needs kernel A's jump-back entry",
             app="resume=ahci:0")
    elf_case("32-bit entry above 4 GiB", lambda m: None,
             "entry 0x100000000 is above 4 GiB, out of reach in 32-bit mode",
             app="resume=ahci:0 entry=0x100000000 mode=32")

    # Truncation at 20 points: the first program header whose data runs past the cut.
    cuts = [512, 1024] + [(size * k // 19) // 512 * 512 for k in range(1, 19)]
    for cut in cuts:
        if cut < e.phoff + e.phnum * ELF64_PHDR:
            want = (f"ELF header: {e.phnum} program headers at 0x{e.phoff:x} end at"
                    f" 0x{e.phoff + e.phnum * ELF64_PHDR:x}, past the image end (0x{cut:x}"
                    f" bytes)")
        else:
            i, _, _, o, _, fs, _ = next(l for l in loads if l[3] + l[5] > cut)
            want = (f"ahci:0 LBA 0: program header {i}: data at 0x{o:x} (+0x{fs:x}) runs past"
                    f" the image end (0x{cut:x} bytes): the image is truncated; write the core"
                    f" again from kernel B's /proc/vmcore (ahci:0 ends at LBA {cut // 512}")
        elf_case(f"truncated at byte {cut}", lambda m: None, want, data=base[:cut])
    return cases


def elf32_cases(c):
    """ELF32 cores (kexec-tools' default on i386). With EM_X86_64 (kexec-tools
    --elf32-core-headers on x86_64) it is legal, and mode=auto takes 64-bit from e_machine."""
    core, entry = c.mkcore("elf32.core", "--elf32")
    append = f"resume=ahci:0 entry=0x{entry:x}"

    def patched(at, fmt, value):
        data = bytearray(core)
        struct.pack_into(fmt, data, at, value)
        return lambda p: write(p, data)
    phnum = struct.unpack_from("<H", core, 44)[0]
    phoff = struct.unpack_from("<I", core, 28)[0]
    memsz2 = struct.unpack_from("<I", core, phoff + 2 * 32 + 20)[0]  # a PT_LOAD with data
    return [
        Case("raw ELF32 with EM_X86_64 (control: accepted, 64-bit)", patched(18, "<H", 62), None,
             append + " dryrun",
             ok=f"jumpback: dryrun: image checked; would jump to 0x{entry:08x} (64-bit)"),
        Case("raw ELF32 e_phentsize=56", patched(42, "<H", 56),
             "ELF header: e_phentsize=56, but ELF32 program headers are 32 bytes", append),
        Case("raw ELF32 e_phnum=0", patched(44, "<H", 0), "ELF header: e_phnum=0", append),
        Case("raw ELF32 e_phoff past the image end", patched(28, "<I", 0xfffff000),
             f"ELF header: {phnum} program headers at 0xfffff000 end at"
             f" 0x{0xfffff000 + phnum * 32:x}, past the image end", append),
        Case("raw ELF32 p_filesz > p_memsz", patched(phoff + 2 * 32 + 16, "<I", memsz2 + 1),
             f"program header 2: p_filesz 0x{memsz2 + 1:x} exceeds p_memsz 0x{memsz2:x}", append),
    ]


def jbi_cases(c, base_core, entry, ram):
    """Jumpback images whose header CRC is valid but whose fields lie."""
    mm = c.path("memmap.txt")
    with open(mm, "w") as f:
        f.write("".join(f"0x{a:x} 0x{b:x} usable\n" for a, b in ram))
    image = c.jbwrite(base_core, entry, mm, "base")
    other = c.path("memmap-other.txt")
    with open(other, "w") as f:
        f.write("0x0 0x9f000 usable\n0x100000 0x10000000 usable\n")
    other_image = c.jbwrite(base_core, entry, other, "other")
    j = Jbi(image)
    nchunk, nseg, nmem = j["nchunk"], j["nseg"], j["nmem"]
    if j.crc() != j["header_crc"] or xxh64(j.table(nchunk)) != j["table_xxh64"]:
        raise RuntimeError("the corpus's CRC-32 or XXH64 disagrees with jbwrite's")
    area = len(image) + (-len(image)) % 512
    cases = []
    append = "resume=ahci:0"
    pre = "ahci:0 LBA 0: image header: "

    def jbi_case(name, edit, expect, crc=True, data=image, app=append):
        def make(path):
            m = Jbi(data)
            edit(m)
            if crc:
                m.fix_crc()
            write(path, bytes(m.b))
        cases.append(Case("image " + name, make, expect, app))

    def setf(name, v):
        return lambda m: m.__setitem__(name, v)

    jbi_case("control: the good image (dry run)", lambda m: None, None, app=append + " dryrun")
    cases[-1].ok = f"jumpback: dryrun: image checked; would jump to 0x{entry:08x} (32-bit)"
    jbi_case("version 3 (newer)", setf("version", 3),
             "image format version 3, this jumpback reads version 2; write the image again")
    jbi_case("version 1", setf("version", 1), "image format version 1 (jbhash64) is no longer read")
    jbi_case("version 0", setf("version", 0),
             "image format version 0, this jumpback reads version 2")
    jbi_case("header_size 4096", setf("header_size", 4096),
             pre + "header_size 4096, expected 8192; the header is damaged")
    jbi_case("CRC wrong", lambda m: m.b.__setitem__(100, m.b[100] ^ 1),
             pre + "CRC mismatch (stored 0x", crc=False)
    jbi_case("state DEAD", setf("state", 0x44414544),
             pre + "state 0x44414544 is neither VALD nor USED; the header is damaged")
    jbi_case("state 0", setf("state", 0), pre + "state 0x00000000 is neither VALD nor USED")
    jbi_case("state USED", setf("state", 0x44455355),
             "ahci:0 LBA 0: the image was resumed once already (marked used)")
    for v in (0x4, 0x80000001):
        jbi_case(f"flags 0x{v:x}", setf("flags", v),
                 pre + f"flags 0x{v:x} has bits this jumpback does not know (0x{v & ~3:x})")
    jbi_case("nmem 129 (too many entries)", setf("nmem", 129),
             pre + "nmem=129 memory map entries, at most 128 fit")
    jbi_case("nseg 100000", setf("nseg", 100000), pre + "nseg=100000 segments, at most 512")
    jbi_case("chunk_size 4 MiB", setf("chunk_size", 4 << 20),
             pre + "chunk_size 0x400000, this jumpback reads only 0x1000000 (16 MiB)")
    jbi_case("hash_offset 0x3000", setf("hash_offset", 0x3000),
             pre + "hash_offset 0x3000, expected 0x2000")
    jbi_case("core_offset 0x1000", setf("core_offset", 0x1000),
             pre + f"core_offset 0x1000, expected 0x{j['core_offset']:x} (after the header and a"
             f" table of {nchunk} chunk checksums)")
    co, cs = j["core_offset"], j["core_size"]
    jbi_case("core_size past the partition", setf("core_size", cs + MIB),
             pre + f"the core (0x{cs + MIB:x} bytes at 0x{co:x}) runs past the image area"
             f" (0x{area:x} bytes): the image is truncated or core_size is wrong")
    jbi_case("core_size 2^64-1", setf("core_size", (1 << 64) - 1),
             pre + f"the core (0x{(1 << 64) - 1:x} bytes at 0x{co:x}) runs past the image area")
    big = (area // 8 // 4096 + 1) * 4096  # a table that alone outgrows the image area
    jbi_case(f"nchunk {big} (table past the partition)",
             lambda m: (m.__setitem__("nchunk", big), m.__setitem__("core_offset", 8192 + big * 8)),
             pre + f"the hash table ({big} chunks) ends at 0x{8192 + big * 8:x}, past the image"
             f" area (0x{area:x} bytes): the image is truncated")

    def more_chunks(m):
        m["nchunk"] = nchunk + 1  # same padded table, one zero entry more, its XXH64 right
        m["table_xxh64"] = xxh64(m.table(nchunk + 1))
    jbi_case("nchunk one more than the segments make", more_chunks,
             pre.replace("image header: ", "") + f"image header: nchunk={nchunk + 1} chunk"
             f" checksums, but the core's segments make {nchunk} chunks of 16 MiB")
    jbi_case("nseg one more than the core has", setf("nseg", nseg + 1),
             pre + f"nseg={nseg + 1}, but the core behind it has {nseg} PT_LOAD segments")
    jbi_case("table_xxh64 wrong", setf("table_xxh64", j["table_xxh64"] ^ 1),
             f"ahci:0 LBA 16: image hash table: XXH64 mismatch (header 0x"
             f"{j['table_xxh64'] ^ 1:016x}, table 0x{j['table_xxh64']:016x})")
    (s0, l0), (s1, l1) = j.mem(0), j.mem(1)

    def swap(m):
        m.mem(0, s1, l1)
        m.mem(1, s0, l0)
    jbi_case("memory map unsorted", swap,
             pre + f"memory map entry 1 starts at 0x{s0:x}, below entry 0 at 0x{s1:x} (entries"
             " must be sorted)")
    jbi_case("memory map entries overlap", lambda m: m.mem(0, s0, s1 - s0 + 0x1000),
             pre + f"memory map entry 1 (0x{s1:x} +0x{l1:x}) overlaps entry 0 (0x{s0:x}"
             f" +0x{s1 - s0 + 0x1000:x})")
    jbi_case("memory map entry empty", lambda m: m.mem(nmem - 1, None, 0),
             pre + f"memory map entry {nmem - 1} (0x{j.mem(nmem - 1)[0]:x} +0x0) is empty")
    last = j.mem(nmem - 1)[0]
    wrap = (1 << 64) - last + 0x1000
    jbi_case("memory map entry wraps 2^64", lambda m: m.mem(nmem - 1, None, wrap),
             pre + f"memory map entry {nmem - 1} (0x{last:x} +0x{wrap:x}) is empty or wraps past"
             " 2^64")
    jbi_case("release without its NUL",
             lambda m: m.b.__setitem__(slice(JBI_RELEASE[0], sum(JBI_RELEASE)), b"x" * 72),
             pre + "release (kernel A's uname -r) has no NUL in its 72 bytes")
    jbi_case("entry outside the core", setf("entry", 0x7000000),
             "entry 0x7000000 (image header) is not inside any of the"
             f" {nseg} segments of the image on ahci:0; the header is damaged")
    jbi_case("memory map of another machine", lambda m: None,
             "ahci:0 LBA 0: memory map differs from the one at hibernation", data=other_image)
    jbi_case("zeroed header (interrupted jbwrite)",
             lambda m: m.b.__setitem__(slice(0, JBI_HEADER_SIZE), bytes(JBI_HEADER_SIZE)),
             "ahci:0 LBA 0: the sector is blank (all zeros), no image starts here", crc=False)
    # A data byte of the core's first segment with data: its chunk's checksum fails.
    first = Elf64(image[co:]).loads()
    seg = next(l for l in first if l[5])
    at = co + seg[3] + 5

    def flip(m):
        m.b[at] ^= 0x40
    jbi_case("one data byte flipped", flip,
             f"segment {seg[1]} (phdr {seg[0]}) chunk 0 (table entry 0): data checksum mismatch",
             crc=False)
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-k", default="", help="run only cases whose name contains this")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jbcorpus-") as tmp:
        c = Corpus(args.build, tmp, args.seed)
        base, entry = c.mkcore("base.core")
        ram = c.ram_ranges()
        cases = (raw_cases(c, base, entry, ram) + elf32_cases(c)
                 + jbi_cases(c, base, entry, ram))
        cases = [k for k in cases if args.k in k.name]
        failed = qemu.run_cases("corpus", cases, c.run_case, args.jobs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
