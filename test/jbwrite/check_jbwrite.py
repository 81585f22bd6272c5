#!/usr/bin/env python3
"""Checks build/tools/jbwrite against docs/image-format.md, read independently in Python.

Makes ELF cores with build/tools/mkcore (ELF64 and ELF32, EM_386 and EM_X86_64) and by hand
(with VMCOREINFO notes, program headers or notes far into the file, a PT_LOAD with p_memsz 0),
writes images with jbwrite, and checks every header field with the struct module, the CRC with
zlib.crc32, each 16 MiB chunk checksum and the table's with an XXH64 written here from the
spec (or Debian's python3-xxhash when importable, checked against it), and that the core
follows the header byte for byte; then --offset, the sysfs memory map, --dry-run, --show and
--verify on damaged images, a write that dies half-way, and the error exits. The memory source
(kernel B without /proc/vmcore) runs on a sparse file standing in for /dev/mem, with
kexec-tools-style ELF headers at elfcorehdr=, a fake /proc/iomem and /proc/cmdline, and kernel
A's low-memory copy; the core it writes is compared with one built here from the same rules.
Prints one line per check and "N passed, N failed"; exits non-zero on any failure.
"""
import argparse
import array
import os
import random
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import Checks  # noqa: E402

SECTOR = 512
HEADER_SIZE = 8192
MAGIC = b"JUMPBACK"
STATE_VALID = 0x444C4156
STATE_USED = 0x44455355
FLAG_MODE64 = 1
FLAG_PAE = 2
MAX_MEM = 128
MEM_AT = 144
TAIL_AT = MEM_AT + 24 * MAX_MEM  # 3216: hash_offset, table_xxh64, chunk_size, reserved0
RESERVED1_AT = TAIL_AT + 24  # 3240
CHUNK = 16 << 20
# magic, version, state, header_size, header_crc, flags, nmem, entry, core_offset, core_size,
# created, nseg, nchunk, release
HEADER = struct.Struct("<8sIIIIIIQQQQII72s")
TAIL = struct.Struct("<QQII")
MEM = struct.Struct("<QQII")
PT_LOAD, PT_NOTE = 1, 4
EM_386, EM_X86_64 = 3, 62
CREATED = 1700000000

# The map of a QEMU guest with -m 128M (mkcore's default layout fits in it).
MEMMAP_TEXT = """# jumpback test map: START END(exclusive) TYPE
0x0        0x9fc00    usable
0x9fc00    0xa0000    reserved   # EBDA
0xf0000    0x100000   2
0x100000   0x7fe0000  1
0x7fe0000  134217728  reserved
0xfffc0000 0x100000000 reserved
"""
MEMMAP = [(0x0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
          (0x100000, 0x7ee0000, 1), (0x7fe0000, 0x20000, 2), (0xfffc0000, 0x40000, 2)]


# ---- XXH64 (xxHash specification, "XXH64 algorithm description"), written here ----

M64 = (1 << 64) - 1
M32 = 0xFFFFFFFF
XP1, XP2, XP3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
XP4, XP5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def _rotl64(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _xround(acc, lane):
    return _rotl64((acc + lane * XP2) & M64, 31) * XP1 & M64


def _xmerge(h, v):
    return ((h ^ _xround(0, v)) * XP1 + XP4) & M64


def xxh64_py(data, seed=0):
    data = bytes(data)
    n, p = len(data), 0
    if n >= 32:
        v = [(seed + XP1 + XP2) & M64, (seed + XP2) & M64, seed, (seed - XP1) & M64]
        while p + 32 <= n:
            lanes = struct.unpack_from("<4Q", data, p)
            v = [_xround(v[i], lanes[i]) for i in range(4)]
            p += 32
        h = (_rotl64(v[0], 1) + _rotl64(v[1], 7) + _rotl64(v[2], 12) + _rotl64(v[3], 18)) & M64
        for x in v:
            h = _xmerge(h, x)
    else:
        h = (seed + XP5) & M64
    h = (h + n) & M64
    while p + 8 <= n:
        h = (_rotl64(h ^ _xround(0, struct.unpack_from("<Q", data, p)[0]), 27) * XP1 + XP4) & M64
        p += 8
    if p + 4 <= n:
        h = (_rotl64(h ^ (struct.unpack_from("<I", data, p)[0] * XP1 & M64), 23) * XP2 + XP3) & M64
        p += 4
    while p < n:
        h = _rotl64(h ^ (data[p] * XP5 & M64), 11) * XP1 & M64
        p += 1
    h ^= h >> 33
    h = h * XP2 & M64
    h ^= h >> 29
    h = h * XP3 & M64
    return h ^ (h >> 32)


def _fast_xxh64():
    """Debian's python3-xxhash (for the system Python; also found from another 3.11), else
    None: the Python above then hashes the images (slower, same values)."""
    try:
        import xxhash
    except ImportError:
        if sys.version_info[:2] != (3, 11) or not os.path.isdir("/usr/lib/python3/dist-packages"):
            return None
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import xxhash
        except ImportError:
            return None
    return lambda data: xxhash.xxh64_intdigest(bytes(data), 0)


FAST_XXH64 = _fast_xxh64()


def xxh64(data):
    return FAST_XXH64(data) if FAST_XXH64 else xxh64_py(data)


def chunk_hashes(core, loads):
    """The hash table: XXH64 of each 16 MiB chunk of each segment's file data, in order."""
    out, cache = [], {}
    for off, filesz in loads:
        for lo in range(0, filesz, CHUNK):
            key = (off + lo, min(CHUNK, filesz - lo))
            if key not in cache:
                cache[key] = xxh64(memoryview(core)[key[0]:key[0] + key[1]])
            out.append(cache[key])
    return out


def core_offset_of(nchunk):
    return HEADER_SIZE + (nchunk * 8 + 4095) // 4096 * 4096


def image_core(img, offset=0):
    """The core of the image at byte offset, where its header says it starts."""
    co, size = struct.unpack_from("<QQ", img, offset + 40)
    return img[offset + co:offset + co + size]


def header_crc(hdr):
    z = bytearray(hdr)
    z[12:16] = bytes(4)
    z[20:24] = bytes(4)
    return zlib.crc32(bytes(z)) & M32


# ---- ELF cores, read and written here ----

def core_loads(core):
    """(offset, filesz) of each PT_LOAD with p_memsz > 0, in program-header order."""
    cls = core[4]
    if cls == 2:
        phoff, = struct.unpack_from("<Q", core, 32)
        phentsize, phnum = struct.unpack_from("<HH", core, 54)
    else:
        phoff, = struct.unpack_from("<I", core, 28)
        phentsize, phnum = struct.unpack_from("<HH", core, 42)
    loads = []
    for i in range(phnum):
        p = phoff + i * phentsize
        if cls == 2:
            ptype, _, off, _, _, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", core, p)
        else:
            ptype, off, _, _, filesz, memsz, _, _ = struct.unpack_from("<IIIIIIII", core, p)
        if ptype == PT_LOAD and memsz > 0:
            loads.append((off, filesz))
    return loads


def note(name, ntype, desc):
    n = name + b"\0"
    pad = lambda b: b + bytes(-len(b) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def build_core(elf32=False, machine=EM_X86_64, notes=b"", loads=(), phdrs_at=None,
               notes_after=False, seed=1):
    """An ET_CORE file: [ehdr][phdrs][notes][load data...] with the notes moved after the load
    data when notes_after, and the program headers at phdrs_at when given. loads are
    (paddr, filesz, memsz); data is random; memsz 0 loads get no data. Returns bytes."""
    rng = random.Random(seed)
    ehsize, phentsize = (52, 32) if elf32 else (64, 56)
    phnum = (1 if notes else 0) + len(loads)
    phoff = phdrs_at if phdrs_at is not None else ehsize
    body_at = ehsize + (0 if phdrs_at is not None else phnum * phentsize)
    body = bytearray()
    segs = []
    if notes and not notes_after:
        note_off = body_at + len(body)
        body += notes
    for paddr, filesz, memsz in loads:
        body += bytes(rng.randrange(1, 4))  # odd gaps: no offset is aligned
        off = body_at + len(body)
        body += rng.randbytes(filesz)
        segs.append((PT_LOAD, off, paddr, filesz, memsz))
    if notes and notes_after:
        body += bytes(5)
        note_off = body_at + len(body)
        body += notes
    if notes:
        segs.insert(0, (PT_NOTE, note_off, 0, len(notes), 0))
    out = bytearray(b"\x7fELF" + bytes([1 if elf32 else 2, 1, 1]) + bytes(9))
    if elf32:
        out += struct.pack("<HHIIIIIHHHHHH", 4, machine, 1, 0, phoff, 0, 0, ehsize, phentsize,
                           phnum, 0, 0, 0)
    else:
        out += struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, phoff, 0, 0, ehsize, phentsize,
                           phnum, 0, 0, 0)
    out += body
    table = bytearray()
    for ptype, off, paddr, filesz, memsz in segs:
        if elf32:
            table += struct.pack("<IIIIIIII", ptype, off, paddr, paddr, filesz, memsz, 7, 0)
        else:
            table += struct.pack("<IIQQQQQQ", ptype, 7, off, paddr, paddr, filesz, memsz, 0)
    if phdrs_at is None:
        out[phoff:phoff] = table
    else:
        assert phdrs_at >= len(out)
        out += bytes(phdrs_at - len(out)) + table
    return bytes(out)


# ---- running the tools ----

def run(cmd, check=True, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


def read(path):
    with open(path, "rb") as f:
        return f.read()


def read_if(path):
    """The file's bytes, or none when a failed run left no file."""
    return read(path) if os.path.exists(path) else b""


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class Env:
    def __init__(self, build, tmp):
        self.jbwrite_bin = os.path.join(build, "tools", "jbwrite")
        self.mkcore_bin = os.path.join(build, "tools", "mkcore")
        self.payload32 = os.path.join(build, "test", "payload.elf")
        self.payload64 = os.path.join(build, "test", "payload64.elf")
        self.tmp = tmp
        self.memmap = os.path.join(tmp, "memmap.txt")
        write(self.memmap, MEMMAP_TEXT.encode())

    def path(self, name):
        return os.path.join(self.tmp, name)

    def mkcore(self, name, *args, payload64=False):
        out = self.path(name)
        res = run([self.mkcore_bin, "--payload", self.payload64 if payload64 else self.payload32,
                   "--out", out] + list(args))
        entry = int(re.search(r"^entry=(0x[0-9a-f]+)", res.stdout, re.M).group(1), 16)
        return out, entry

    def jbwrite(self, *args, **kw):
        return run([self.jbwrite_bin] + [str(a) for a in args], check=False, **kw)

    def write_image(self, core, out, entry, *extra):
        return self.jbwrite("--core", core, "--out", out, "--entry", hex(entry),
                            "--memmap-file", self.memmap, "--created", CREATED, *extra)


def parse_header(hdr):
    f = HEADER.unpack_from(hdr, 0)
    h = dict(zip(("magic", "version", "state", "header_size", "header_crc", "flags", "nmem",
                  "entry", "core_offset", "core_size", "created", "nseg", "nchunk",
                  "release"), f))
    h["mem"] = [MEM.unpack_from(hdr, MEM_AT + 24 * i) for i in range(MAX_MEM)]
    h.update(zip(("hash_offset", "table_xxh64", "chunk_size", "reserved0"),
                 TAIL.unpack_from(hdr, TAIL_AT)))
    return h


def check_image(c, env, name, img_path, core_path, offset=0, entry=None, flags=0,
                release=b"unknown", mem=MEMMAP, created=CREATED):
    """Checks the image at byte offset of img_path against the core, field by field."""
    img = read(img_path)
    core = read(core_path)
    hdr = img[offset:offset + HEADER_SIZE]
    if not c.check(f"{name}: header present", len(hdr) == HEADER_SIZE, f"{len(hdr)} bytes"):
        return
    h = parse_header(hdr)
    c.equal(f"{name}: magic", h["magic"], MAGIC)
    c.equal(f"{name}: version", h["version"], 2)
    c.equal(f"{name}: state VALD", h["state"], STATE_VALID)
    c.equal(f"{name}: header_size", h["header_size"], HEADER_SIZE)
    c.equal(f"{name}: header CRC (zlib)", h["header_crc"], header_crc(hdr))
    c.equal(f"{name}: flags", h["flags"], flags)
    c.equal(f"{name}: entry", h["entry"], entry)
    c.equal(f"{name}: core_size", h["core_size"], len(core))
    if isinstance(created, tuple):
        c.check(f"{name}: created is now", created[0] <= h["created"] <= created[1],
                f"{h['created']} not in {created}")
    else:
        c.equal(f"{name}: created", h["created"], created)
    c.equal(f"{name}: release", h["release"], release + bytes(72 - len(release)))
    c.equal(f"{name}: nmem", h["nmem"], len(mem))
    c.equal(f"{name}: mem entries", [e[:3] for e in h["mem"][:h["nmem"]]], list(mem))
    c.check(f"{name}: mem padding and unused entries zero",
            all(e[3] == 0 for e in h["mem"][:h["nmem"]]) and
            all(e == (0, 0, 0, 0) for e in h["mem"][h["nmem"]:]))
    loads = core_loads(core)
    nz = [l for l in loads]
    c.equal(f"{name}: nseg", h["nseg"], len(loads))
    want = chunk_hashes(core, loads)
    c.equal(f"{name}: nchunk", h["nchunk"], len(want))
    c.equal(f"{name}: chunk_size", h["chunk_size"], CHUNK)
    c.equal(f"{name}: hash_offset", h["hash_offset"], HEADER_SIZE)
    c.equal(f"{name}: core_offset", h["core_offset"], core_offset_of(len(want)))
    co = offset + h["core_offset"]
    table = img[offset + HEADER_SIZE:offset + HEADER_SIZE + 8 * len(want)]
    c.equal(f"{name}: table_xxh64", h["table_xxh64"], xxh64(table))
    got = list(struct.unpack(f"<{len(want)}Q", table)) if len(table) == 8 * len(want) else []
    bad = [i for i in range(len(want)) if i >= len(got) or got[i] != want[i]]
    c.check(f"{name}: {len(want)} chunk checksums of {len(nz)} segments (XXH64"
            f" {'python3-xxhash' if FAST_XXH64 else 'in Python'})", not bad,
            f"chunks {bad[:10]} differ")
    c.check(f"{name}: table padding, reserved fields zero",
            not any(img[offset + HEADER_SIZE + 8 * len(want):co]) and h["reserved0"] == 0 and
            not any(hdr[RESERVED1_AT:]))
    c.check(f"{name}: core follows the table byte for byte", img[co:co + len(core)] == core)
    res = env.jbwrite("--show", img_path, "--offset", offset // SECTOR, "--verify")
    c.check(f"{name}: jbwrite --show --verify", res.returncode == 0 and
            "header CRC: 0x%08x ok" % h["header_crc"] in res.stdout and
            f"chunks: {len(want)} (XXH64 per 16 MiB)" in res.stdout and
            f"verify: {len(want)} of {len(want)} chunk checksums match" in res.stdout,
            f"exit {res.returncode}: {res.stdout[-800:]}{res.stderr}")
    return h


def expect_error(c, env, name, args, words, out=None):
    """jbwrite exits 1 with 'jbwrite: error:' (after any notes on segments it skips) and every
    word; writes no out file."""
    res = env.jbwrite(*args)
    err = res.stderr
    first = [l for l in err.splitlines() if not l.startswith("jbwrite: skipping segment")]
    ok = res.returncode == 1 and first and first[0].startswith("jbwrite: error:") and \
        all(w in err for w in words) and (out is None or not os.path.exists(out))
    c.check(f"error: {name}", ok, f"exit {res.returncode}, stderr {err.strip()[:300]!r}")


# ---- the checks ----

def check_mkcore_images(c, env):
    core, entry = env.mkcore("c32.core", "--big-mb", "1", "--seed", "2")
    img = env.path("c32.img")
    res = env.write_image(core, img, entry)
    c.check("EM_386 ELF64 core: jbwrite exits 0", res.returncode == 0, res.stderr)
    c.check("EM_386 ELF64 core: summary line", re.search(
        r"wrote image: entry 0x%x, mode 32, \d+ segments in \d+ chunks hashed, core %d bytes,"
        r" release unknown"
        % (entry, os.path.getsize(core)), res.stdout) is not None, res.stdout)
    check_image(c, env, "EM_386 ELF64 core", img, core, entry=entry, flags=0)

    core, entry = env.mkcore("c32pae.core", "--elf32", "--pae", "--big-mb", "1", "--seed", "3")
    img = env.path("c32pae.img")
    res = env.write_image(core, img, entry, "--mode", "32", "--pae")
    c.check("ELF32 PAE core: jbwrite exits 0", res.returncode == 0, res.stderr)
    check_image(c, env, "ELF32 PAE core", img, core, entry=entry, flags=FLAG_PAE)

    # A 40 MiB big segment: its data spans three 16 MiB checksum chunks.
    core, entry = env.mkcore("c64.core", "--machine", "x86_64", "--big-mb", "40",
                             payload64=True)  # 40 MiB: a segment of 3 chunks
    img = env.path("c64.img")
    t0 = int(time.time())
    res = env.jbwrite("--core", core, "--out", img, "--entry", hex(entry),
                      "--memmap-file", env.memmap)
    t1 = int(time.time())
    c.check("EM_X86_64 core: jbwrite exits 0", res.returncode == 0, res.stderr)
    check_image(c, env, "EM_X86_64 core (auto mode 64, created now)", img, core, entry=entry,
                flags=FLAG_MODE64, created=(t0, t1))

    # --mode 32 on an x86_64 core (a 32-bit kernel on a 64-bit machine's dump), and a
    # decimal entry.
    img = env.path("c64as32.img")
    res = env.jbwrite("--core", core, "--out", img, "--entry", str(entry), "--mode", "32",
                      "--memmap-file", env.memmap, "--created", CREATED, "--quiet")
    c.check("--mode 32 --quiet: exit 0, silent", res.returncode == 0 and res.stdout == "",
            res.stdout + res.stderr)
    h = parse_header(read(img)[:HEADER_SIZE])
    c.equal("--mode 32 on an EM_X86_64 core: flags", h["flags"], 0)
    c.equal("decimal --entry", h["entry"], entry)
    return core, entry


def check_offset(c, env, core, entry):
    rng = random.Random(7)
    size = os.path.getsize(core)
    prefix = rng.randbytes(2048 * SECTOR)
    suffix = rng.randbytes(65536)
    disk = env.path("disk.img")
    room = core_offset_of(len(chunk_hashes(read(core), core_loads(read(core)))))
    write(disk, prefix + rng.randbytes(room + size) + suffix)
    res = env.write_image(core, disk, entry, "--offset", 2048)
    c.check("--offset 2048: exit 0", res.returncode == 0, res.stderr)
    data = read(disk)
    c.check("--offset 2048: bytes before the image untouched", data[:len(prefix)] == prefix)
    c.check("--offset 2048: bytes after the image untouched (no truncation)",
            len(data) == len(prefix) + room + size + len(suffix) and
            data[-len(suffix):] == suffix)
    check_image(c, env, "--offset 2048", disk, core, offset=2048 * SECTOR, entry=entry,
                flags=FLAG_MODE64)
    res = env.jbwrite("--show", disk)
    c.check("--show without the offset: no image at byte 0", res.returncode == 1 and
            "no jumpback image at byte 0" in res.stderr, res.stderr)


def check_vmcoreinfo(c, env):
    info = b"OSRELEASE=6.1.0-21-amd64+jb\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff82e0a000\n"
    prstatus = note(b"CORE", 1, bytes(336))
    loads = [(0x100000, 0x3000, 0x3000), (0x200000, 0, 0x1000), (0x300000, 0x1234, 0x2000),
             (0x400000, 0, 0), (0x500000, 7, 8)]

    def one(name, core_bytes, want_release, *extra, flags=FLAG_MODE64):
        core = env.path(name + ".core")
        img = env.path(name + ".img")
        write(core, core_bytes)
        res = env.write_image(core, img, 0x1000000, *extra)
        if c.check(f"{name}: exit 0", res.returncode == 0, res.stderr):
            check_image(c, env, name, img, core, entry=0x1000000, flags=flags, release=want_release)

    # Decoys first: a name of the same length, and Xen's VMCOREINFO_XEN.
    decoys = note(b"VMCOREINFx", 0, b"OSRELEASE=decoy\n") + \
        note(b"VMCOREINFO_XEN", 0, b"OSRELEASE=xen\n")
    one("VMCOREINFO release", build_core(notes=prstatus + decoys + note(b"VMCOREINFO", 0, info),
                                         loads=loads), b"6.1.0-21-amd64+jb")
    one("VMCOREINFO, --release wins", build_core(notes=note(b"VMCOREINFO", 0, info),
                                                 loads=loads),
        b"my-release", "--release", "my-release")
    one("ELF32 EM_386 VMCOREINFO", build_core(elf32=True, machine=EM_386,
                                              notes=note(b"VMCOREINFO", 0, b"OSRELEASE=4.19.0-686-pae\n"),
                                              loads=loads), b"4.19.0-686-pae", flags=0)
    one("VMCOREINFO without OSRELEASE", build_core(notes=note(b"VMCOREINFO", 0, b"PAGESIZE=4096\n"),
                                                   loads=loads), b"unknown")
    one("no VMCOREINFO note", build_core(notes=prstatus, loads=loads), b"unknown")
    one("OSRELEASE not on the first line, no final newline",
        build_core(notes=note(b"VMCOREINFO", 0, b"PAGESIZE=4096\nOSRELEASE=5.10.0-1"),
                   loads=loads), b"5.10.0-1")
    # Notes and program headers past the first 4 MiB chunk: read on their own.
    big = [(0x1000000, 5 << 20, 5 << 20)] + loads
    one("notes after 5 MiB of data", build_core(notes=note(b"VMCOREINFO", 0, info), loads=big,
                                                notes_after=True), b"6.1.0-21-amd64+jb")
    one("program headers at 6 MiB", build_core(notes=note(b"VMCOREINFO", 0, info), loads=big,
                                               phdrs_at=6 << 20), b"6.1.0-21-amd64+jb")
    core = env.path("longrel.core")
    write(core, build_core(notes=note(b"VMCOREINFO", 0, b"OSRELEASE=" + b"r" * 72 + b"\n"),
                           loads=loads))
    expect_error(c, env, "OSRELEASE longer than 71 bytes",
                 ["--core", core, "--out", env.path("longrel.img"), "--entry", "0x1000000",
                  "--memmap-file", env.memmap], ["OSRELEASE", "--release"],
                 out=env.path("longrel.img"))
    write(core, build_core(notes=note(b"VMCOREINFO", 0, b"OSRELEASE=" + b"r" * 71 + b"\n"),
                           loads=loads))
    res = env.jbwrite("--core", core, "--dry-run", "--entry", "0x1000000", "--memmap-file",
                      env.memmap)
    c.check("OSRELEASE of exactly 71 bytes fits", res.returncode == 0 and
            "release: " + "r" * 71 + "\n" in res.stdout, res.stdout[-300:] + res.stderr)


def check_sysfs(c, env, core, entry):
    root = env.path("memmap")
    entries = [(0x0, 0x9fbff, "System RAM"), (0x9fc00, 0x9ffff, "Reserved"),
               (0xf0000, 0xfffff, "Reserved"), (0x100000, 0x7fdffff, "System RAM"),
               (0x7fe0000, 0x7feffff, "ACPI Tables"), (0x7ff0000, 0x7ffffff,
                                                       "ACPI Non-volatile Storage"),
               (0xfed00000, 0xfed003ff, "Unusable memory"), (0xfee00000, 0xfee00fff,
                                                             "Something new"),
               (0x100000000, 0x17fffffff, "System RAM"), (0x180000000, 0x18fffffff,
                                                          "Persistent Memory"),
               (0x190000000, 0x190000fff, "Reserved"), (0xfffc0000, 0xffffffff, "Reserved")]
    types = {"System RAM": 1, "Reserved": 2, "ACPI Tables": 3, "ACPI Non-volatile Storage": 4,
             "Unusable memory": 5, "Persistent Memory": 7}
    for i, (start, end, typ) in enumerate(entries):
        d = os.path.join(root, str(i))
        os.makedirs(d)
        write(os.path.join(d, "start"), b"0x%x\n" % start)
        write(os.path.join(d, "end"), b"0x%x\n" % end)
        write(os.path.join(d, "type"), typ.encode() + b"\n")
    img = env.path("sysfs.img")
    res = env.jbwrite("--core", core, "--out", img, "--entry", hex(entry), "--memmap-sysfs",
                      root, "--created", CREATED)
    c.check("--memmap-sysfs: exit 0", res.returncode == 0, res.stderr)
    # Read in numeric order (10 after 9), stored sorted by start (docs/image-format.md).
    want = sorted((s, e - s + 1, types.get(t, 2)) for s, e, t in entries)
    check_image(c, env, "--memmap-sysfs (12 entries, numeric order, types, sorted by start)",
                img, core, entry=entry, flags=FLAG_MODE64, mem=want)
    os.remove(os.path.join(root, "5", "end"))
    expect_error(c, env, "--memmap-sysfs entry without end",
                 ["--core", core, "--out", env.path("x.img"), "--entry", hex(entry),
                  "--memmap-sysfs", root], ["5/end"], out=env.path("x.img"))


def check_dry_run(c, env, core, entry):
    out = env.path("dry.img")
    res = env.jbwrite("--core", core, "--out", out, "--entry", hex(entry), "--memmap-file",
                      env.memmap, "--dry-run", "--release", "6.6.6")
    loads = core_loads(read(core))
    c.check("--dry-run: exit 0, nothing written", res.returncode == 0 and
            not os.path.exists(out), res.stderr)
    nchunk = len(chunk_hashes(read(core), loads))
    c.check("--dry-run: prints the header and each chunk's checksum",
            "dry run (nothing written)" in res.stdout and "release: 6.6.6" in res.stdout and
            f"chunks: {nchunk} (XXH64 per 16 MiB)" in res.stdout and
            len(re.findall(r"^  segment \d+ .*: \d+ chunks$", res.stdout, re.M)) == len(loads) and
            len(re.findall(r"^    chunk \d+ .*: 0x[0-9a-f]{16}$", res.stdout, re.M)) == nchunk,
            res.stdout[-600:])


def check_show_damage(c, env, core, entry):
    img = env.path("damage.img")
    env.write_image(core, img, entry)
    good = read(img)
    loads = core_loads(read(core))

    def show(data, verify=False):
        write(img, data)
        return env.jbwrite("--show", img, *(["--verify"] if verify else []))

    res = show(good)
    c.check("--show: fields", res.returncode == 0 and
            re.search(r"^state: VALD", res.stdout, re.M) and
            f"entry: 0x{entry:x}\n" in res.stdout and "mode: 64 (flags 0x1)" in res.stdout and
            "created: 2023-11-14 22:13:20 UTC (1700000000)" in res.stdout and
            f"memory map: {len(MEMMAP)} entries" in res.stdout and
            "  mem 3: 0x0000000000100000-0x0000000007fe0000 type 1 usable" in res.stdout and
            f"segments: {len(loads)}" in res.stdout and "chunks: " in res.stdout and
            "check: ok" in res.stdout, res.stdout + res.stderr)
    bad = bytearray(good)
    bad[32] ^= 0x10  # entry
    res = show(bad)
    c.check("--show: damaged entry fails the CRC", res.returncode == 1 and
            "header CRC" in res.stdout and "MISMATCH" in res.stdout and "CRC" in res.stderr,
            res.stdout[-300:] + res.stderr)
    used = bytearray(good)
    used[12:16] = struct.pack("<I", STATE_USED)
    res = show(used)
    c.check("--show: a USED image passes and says so", res.returncode == 0 and
            "state: USED" in res.stdout and "check: ok" in res.stdout, res.stdout + res.stderr)
    odd = bytearray(good)
    odd[12:16] = b"XXXX"
    res = show(odd)
    c.check("--show: unknown state fails", res.returncode == 1 and "state" in res.stderr,
            res.stderr)
    res = show(good[:-1])
    c.check("--show: image one byte short is truncated", res.returncode == 1 and
            "truncated" in res.stderr, res.stderr)
    k = max(range(len(loads)), key=lambda i: loads[i][1])  # the biggest segment
    off, filesz = loads[k]
    co = parse_header(good)["core_offset"]
    nchunk = parse_header(good)["nchunk"]
    broken = bytearray(good)
    at = off + filesz // 2
    broken[co + at] ^= 0x01
    res = show(broken)
    c.check("--show without --verify: core damage not looked at", res.returncode == 0,
            res.stderr)
    res = show(broken, verify=True)
    same = [i for i, l in enumerate(loads) if l == loads[k]]  # duplicates share the data
    kc = filesz // 2 // CHUNK
    lo, hi = kc * CHUNK, min((kc + 1) * CHUNK, filesz)
    c.check(f"--show --verify: names damaged segment {k}'s chunk {kc} and its range",
            res.returncode == 1 and
            re.search(rf"^    chunk {kc} \(segment bytes 0x{lo:x}-0x{hi:x}, image bytes"
                      rf" {co + off + lo}-{co + off + hi}\): DIFFERS", res.stdout, re.M) and
            len(re.findall("DIFFERS", res.stdout)) == len(same) and
            f"verify: {nchunk - len(same)} of {nchunk} chunk checksums match" in res.stdout
            and f"{len(same)} chunk checksums differ" in res.stderr,
            res.stdout[-900:] + res.stderr)
    table = bytearray(good)
    table[HEADER_SIZE + 5] ^= 0x20
    res = show(table)
    c.check("--show: a damaged hash table fails its XXH64", res.returncode == 1 and
            "XXH64 mismatch" in res.stderr and "table" in res.stderr, res.stdout[-300:] + res.stderr)
    for version, words in ((1, "image format version 1 (jbhash64) is no longer read; write the"
                               " image again with this jumpback's jbwrite"),
                           (3, "image format version 3, this jumpback reads version 2")):
        old = bytearray(good)
        old[8:12] = struct.pack("<I", version)
        old[20:24] = struct.pack("<I", header_crc(bytes(old[:HEADER_SIZE])))
        res = show(old)
        c.check(f"--show: version {version} refused, naming the versions",
                res.returncode == 1 and words in res.stderr, res.stdout[-300:] + res.stderr)


def check_crash_midway(c, env, core, entry):
    """A write that dies inside the core leaves no valid header, not even the old one."""
    img = env.path("crash.img")
    res = env.write_image(core, img, entry)
    c.check("crash: first image written", res.returncode == 0, res.stderr)
    limit = parse_header(read(img))["core_offset"] + os.path.getsize(core) // 2

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    os.truncate(img, HEADER_SIZE)  # the file must grow again, past the limit
    res = env.jbwrite("--core", core, "--out", img, "--entry", hex(entry), "--memmap-file",
                      env.memmap, preexec_fn=small_files)
    c.check("crash: a write that fails half-way exits 1", res.returncode == 1 and
            "write error" in res.stderr, f"exit {res.returncode}: {res.stderr}")
    c.check("crash: no valid-looking header left", read(img)[:8] != MAGIC,
            read(img)[:16].hex())
    res = env.jbwrite("--show", img)
    c.check("crash: --show refuses the remains", res.returncode == 1, res.stdout + res.stderr)


def check_errors(c, env, core, entry):
    out = env.path("err.img")
    base = ["--out", out, "--entry", hex(entry), "--memmap-file", env.memmap]
    junk = env.path("junk.core")
    write(junk, random.Random(3).randbytes(100000))
    expect_error(c, env, "core not ELF", ["--core", junk] + base, ["junk.core", "ELF magic"],
                 out=out)
    empty = env.path("empty.core")
    write(empty, b"")
    expect_error(c, env, "empty core", ["--core", empty] + base, ["empty.core"], out=out)
    expect_error(c, env, "core missing", ["--core", env.path("nope.core")] + base,
                 ["nope.core", "No such file"], out=out)
    for bad, word in (("magic", "ELF magic"), ("compressed", "kdump-compressed"),
                      ("truncate", "truncated")):
        bcore, bentry = env.mkcore(f"bad-{bad}.core", "--bad", bad, "--big-mb", "1")
        expect_error(c, env, f"mkcore --bad {bad}", ["--core", bcore] + base, [word], out=out)
    write(env.path("noentry.cmdline"), b"ro quiet\n")
    expect_error(c, env, "--entry missing",
                 ["--core", core, "--out", out, "--memmap-file", env.memmap, "--cmdline",
                  env.path("noentry.cmdline")], ["--entry", "noentry.cmdline"], out=out)
    for value in ("xyz", "0x", "12ab", "-5", "0x1g", "99999999999999999999999"):
        expect_error(c, env, f"--entry {value}",
                     ["--core", core, "--out", out, "--entry", value, "--memmap-file",
                      env.memmap], ["--entry", value], out=out)
    expect_error(c, env, "--entry 0",
                 ["--core", core, "--out", out, "--entry", "0", "--memmap-file", env.memmap],
                 ["--entry 0"], out=out)
    expect_error(c, env, "--entry above 4 GiB in mode 32",
                 ["--core", core, "--mode", "32", "--out", out, "--entry", "0x100000000",
                  "--memmap-file", env.memmap], ["0x100000000", "4 GiB"], out=out)
    expect_error(c, env, "--pae with an EM_X86_64 core", ["--core", core, "--pae"] + base,
                 ["--pae"], out=out)
    expect_error(c, env, "--mode 64 --pae", ["--core", core, "--mode", "64", "--pae"] + base,
                 ["--pae"], out=out)
    expect_error(c, env, "--mode 16", ["--core", core, "--mode", "16"] + base, ["--mode"],
                 out=out)
    expect_error(c, env, "--release of 72 bytes", ["--core", core, "--release", "r" * 72] + base,
                 ["--release", "72"], out=out)
    # Memory maps.
    mbase = ["--core", core, "--out", out, "--entry", hex(entry)]
    expect_error(c, env, "memmap file missing", mbase + ["--memmap-file", env.path("no.map")],
                 ["no.map"], out=out)
    expect_error(c, env, "memmap sysfs dir missing",
                 mbase + ["--memmap-sysfs", env.path("nomap")], ["nomap"], out=out)
    expect_error(c, env, "both memmap options",
                 mbase + ["--memmap-file", env.memmap, "--memmap-sysfs", env.tmp], ["both"],
                 out=out)
    cases = [("empty", "# nothing\n\n", ["no entries"]),
             ("no usable RAM", "0 0x1000 reserved\n", ["no usable RAM"]),
             ("bad number", "0 0x9fc00 usable\n0x100000 0x8zz 1\n", ["bad.map:2", "0x8zz"]),
             ("bad type", "0 0x9fc00 usable\n0x100000 0x800000 ram\n", ["bad.map:2", "ram"]),
             ("two words", "\n0 0x9fc00\n", ["bad.map:2", "2 words"]),
             ("end before start", "0x2000 0x1000 usable\n", ["bad.map:1", "END"]),
             ("overlapping entries", "0x100000 0x800000 usable\n0 0x100001 reserved\n",
              ["0x100000-0x800000 overlaps 0x0-0x100001"]),
             ("129 entries", "".join(f"{i * 0x2000:#x} {i * 0x2000 + 0x1000:#x} 1\n"
                                     for i in range(129)), ["bad.map:129", "128"])]
    for name, text, words in cases:
        write(env.path("bad.map"), text.encode())
        expect_error(c, env, f"memmap file: {name}",
                     mbase + ["--memmap-file", env.path("bad.map")], words, out=out)
    write(env.path("ok.map"), "".join(f"{i * 0x2000:#x} {i * 0x2000 + 0x1000:#x} 1\n"
                                      for i in range(128)).encode())
    res = env.jbwrite(*mbase[:-2], "--dry-run", "--entry", hex(entry), "--memmap-file",
                      env.path("ok.map"), "--quiet")
    c.check("memmap file: 128 entries fit", res.returncode == 0, res.stderr)
    res = env.jbwrite("--core", core)
    c.check("error: usage without --out/--entry", res.returncode == 1 and
            "usage:" in res.stderr, res.stderr)


# ---- the memory source: kexec-tools' headers and /dev/mem, without /proc/vmcore ----

PAGE = 4096
ELFCOREHDR = 0x1F7E000  # inside kernel B's window, where kexec-tools puts it
JUMP_ENTRY = 0x1C7B5E0
LOWMEM_LEN = 0x100000
# Kernel B's own RAM: a little low memory for its trampoline, and the kexec window 16-32 MiB.
B_IOMEM = """00000000-00000fff : Reserved
00001000-0000ffff : System RAM
00010000-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
01000000-01ffffff : System RAM
  01000000-01a00000 : Kernel code
  01c00000-01dfffff : System RAM
fec00000-fec003ff : IOAPIC 0
"""
B_RAM = [(0x1000, 0x10000), (0x1000000, 0x2000000)]
KTEXT_VADDR = 0xFFFFFFFF81000000
DIRECT_MAP = 0xFFFF888000000000
# kexec-tools' table for kernel A: (type, paddr, size, vaddr); empty notes, the kernel text
# inside kernel B's window, low RAM partly over kernel B's, RAM around the window, and a
# segment whose size is not a page multiple.
MEM_PHDRS = [(PT_NOTE, ELFCOREHDR + 0x400, 0x400, 0), (PT_NOTE, ELFCOREHDR + 0x800, 0x400, 0),
             (PT_LOAD, 0x1000000, 0x400000, KTEXT_VADDR),
             (PT_LOAD, 0x1000, 0x9E000, DIRECT_MAP + 0x1000),
             (PT_LOAD, 0x100000, 0xF00000, DIRECT_MAP + 0x100000),
             (PT_LOAD, 0x2000000, 0x800000, DIRECT_MAP + 0x2000000),
             (PT_LOAD, 0x3000000, 0x1234, DIRECT_MAP + 0x3000000)]
MEM_KEPT = [p for p in MEM_PHDRS if p[0] == PT_LOAD and p[1] != 0x1000000]


def kexec_headers(phdrs, elf32=False, machine=EM_X86_64):
    """ELF core headers as kexec-tools writes them: p_offset = p_paddr, p_filesz = p_memsz."""
    ehsize, phentsize = (52, 32) if elf32 else (64, 56)
    out = bytearray(b"\x7fELF" + bytes([1 if elf32 else 2, 1, 1]) + bytes(9))
    if elf32:
        out += struct.pack("<HHIIIIIHHHHHH", 4, machine, 1, 0, ehsize, 0, 0, ehsize, phentsize,
                           len(phdrs), 0, 0, 0)
    else:
        out += struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, ehsize, 0, 0, ehsize, phentsize,
                           len(phdrs), 0, 0, 0)
    for ptype, paddr, size, vaddr in phdrs:
        if elf32:
            out += struct.pack("<IIIIIIII", ptype, paddr, vaddr & M32, paddr, size, size, 7, 0)
        else:
            out += struct.pack("<IIQQQQQQ", ptype, 7, paddr, vaddr, paddr, size, size, 0)
    return bytes(out)


def expected_mem_core(kept, phys, elf32=False, machine=EM_X86_64):
    """The core jbwrite should build: headers for the kept PT_LOADs, then each one's bytes
    (phys(paddr, size)) at the next 4 KiB boundary, zeros between."""
    ehsize, phentsize = (52, 32) if elf32 else (64, 56)
    at = ehsize + len(kept) * phentsize
    offsets = []
    for _, _, size, _ in kept:
        at = -(-at // PAGE) * PAGE
        offsets.append(at)
        at += size
    out = bytearray(at)
    hdr = bytearray(kexec_headers(kept, elf32, machine))
    for i, (_, paddr, size, vaddr) in enumerate(kept):
        p = ehsize + i * phentsize
        if elf32:
            struct.pack_into("<I", hdr, p + 4, offsets[i])
        else:
            struct.pack_into("<Q", hdr, p + 8, offsets[i])
        out[offsets[i]:offsets[i] + size] = phys(paddr, size)
    out[:len(hdr)] = hdr
    return bytes(out)


class MemFixture:
    """A sparse file standing in for /dev/mem with kernel A's RAM (random bytes), kexec-tools'
    headers at ELFCOREHDR, and kernel B's changes to low memory; plus the /proc files."""

    def __init__(self, env, name, phdrs=MEM_PHDRS, elf32=False, machine=EM_X86_64, seed=11,
                 cmdline=None):
        rng = random.Random(seed)
        self.env = env
        self.mem = env.path(name + ".mem")
        self.iomem = env.path(name + ".iomem")
        self.cmdline = env.path(name + ".cmdline")
        self.lowmem = env.path(name + ".lowmem")
        self.a = {}  # paddr -> kernel A's bytes of each PT_LOAD
        end = ELFCOREHDR + PAGE
        for ptype, paddr, size, _ in phdrs:
            if ptype == PT_LOAD:
                self.a[paddr] = rng.randbytes(size)
                end = max(end, paddr + size)
        low = bytearray(rng.randbytes(LOWMEM_LEN))  # kernel A's low memory, as saved
        for paddr, data in self.a.items():
            if paddr < LOWMEM_LEN:
                low[paddr:paddr + len(data)] = data[:LOWMEM_LEN - paddr]
                self.a[paddr] = bytes(low[paddr:paddr + len(data)])
        write(self.lowmem, bytes(low))
        # Kernel B's boot writes into its own low RAM (page 0x5000), and into page 0 and the
        # hole at 0xa0000, which no segment holds.
        self.b_low = bytearray(low)
        for at in (0x5000, 0x5ABC, 0x0, 0xA0010):
            self.b_low[at] ^= 0xFF
        with open(self.mem, "wb") as f:
            f.truncate(end)
            for paddr, data in self.a.items():
                f.seek(paddr)
                f.write(data if paddr >= LOWMEM_LEN else bytes(self.b_low[paddr:paddr + len(data)]))
            f.seek(0)
            f.write(bytes(self.b_low[:0x1000]))
            f.seek(0xA0000)
            f.write(bytes(self.b_low[0xA0000:0xA1000]))
            f.seek(ELFCOREHDR)
            f.write(kexec_headers(phdrs, elf32, machine))
        write(self.iomem, B_IOMEM.encode())
        if cmdline is None:
            cmdline = "BOOT_IMAGE=/vmlinuz-b root=/dev/ram0 console=ttyS0 irqpoll nr_cpus=1 " \
                "reset_devices elfcorehdr=%dK kexec_jump_back_entry=0x%016x\n" % \
                (ELFCOREHDR // 1024, JUMP_ENTRY)
        write(self.cmdline, cmdline.encode())

    def phys(self, lowmem):
        """Physical bytes as the image should hold them: kernel A's where --lowmem gave them,
        else what kernel B's /dev/mem shows."""
        def read_at(paddr, size):
            data = bytearray(self.a[paddr])
            if not lowmem and paddr < LOWMEM_LEN:
                n = min(size, LOWMEM_LEN - paddr)
                data[:n] = self.b_low[paddr:paddr + n]
            return bytes(data)
        return read_at

    def args(self, *extra, lowmem=True, core="mem"):
        return (["--core", core, "--cmdline", self.cmdline, "--mem", self.mem, "--iomem",
                 self.iomem, "--memmap-file", self.env.memmap, "--created", CREATED] +
                (["--lowmem", self.lowmem] if lowmem else []) + [str(a) for a in extra])


def check_mem_image(c, env, name, fx, img, res, kept=MEM_KEPT, lowmem=True, elf32=False,
                    machine=EM_X86_64, flags=FLAG_MODE64):
    """The image holds exactly the kept segments with the right bytes."""
    if not c.check(f"{name}: exit 0", res.returncode == 0, res.stderr[-600:]):
        return
    want = env.path(name.replace(" ", "_") + ".want")
    write(want, expected_mem_core(kept, fx.phys(lowmem), elf32, machine))
    check_image(c, env, name, img, want, entry=JUMP_ENTRY, flags=flags)
    core = image_core(read(img))
    paddrs = []
    cls = core[4]
    phoff = struct.unpack_from("<Q" if cls == 2 else "<I", core, 32 if cls == 2 else 28)[0]
    phnum = struct.unpack_from("<H", core, 56 if cls == 2 else 44)[0]
    for i in range(phnum):
        p = phoff + i * (56 if cls == 2 else 32)
        paddrs.append(struct.unpack_from("<Q", core, p + 24)[0] if cls == 2 else
                      struct.unpack_from("<I", core, p + 12)[0])
    c.equal(f"{name}: PT_LOADs are the kept segments, the kernel text absent",
            paddrs, [p[1] for p in kept])


def check_memory_source(c, env):
    fx = MemFixture(env, "mem")
    img = env.path("mem.img")
    res = env.jbwrite(*fx.args("--out", img))
    check_mem_image(c, env, "memory source with --lowmem", fx, img, res)
    c.check("memory source: says which source", "jbwrite: core source: elfcorehdr=0x%x and %s"
            " (--core mem)\n" % (ELFCOREHDR, fx.mem) in res.stdout, res.stdout)
    c.check("memory source: the kernel text skipped, on stderr",
            "jbwrite: skipping segment at 0x1000000 (+0x400000): inside kernel B's own RAM"
            " (the kexec window)\n" in res.stderr and res.stderr.count("skipping") == 1,
            res.stderr)
    c.check("memory source: low memory summary (158 pages, page 0x5000 replaced)",
            "jbwrite: low memory: 158 pages checked against kernel A's copy, 1 of kernel B's"
            " replaced by kernel A's\n" in res.stdout, res.stdout)
    c.check("memory source: entry from the command line",
            f"entry 0x{JUMP_ENTRY:x}," in res.stdout, res.stdout)
    c.check("memory source: the bytes kernel B changed at 0x5000 are kernel A's",
            image_core(read_if(img))[PAGE + 0x5000 - 0x1000:][:1] ==
            bytes([read(fx.lowmem)[0x5000]]) and read(fx.lowmem)[0x5000] != fx.b_low[0x5000])

    # Without --lowmem: low memory as kernel B finds it, and a warning.
    img = env.path("mem-nolow.img")
    res = env.jbwrite(*fx.args("--out", img, lowmem=False))
    check_mem_image(c, env, "memory source without --lowmem", fx, img, res, lowmem=False)
    c.check("without --lowmem: warns", "jbwrite: warning: no --lowmem" in res.stderr and
            "low memory:" not in res.stdout, res.stderr)

    # --core auto (the default) with no vmcore falls back to memory; --entry wins.
    img = env.path("mem-auto.img")
    args = fx.args("--out", img, "--vmcore", env.path("no-vmcore"))
    del args[:2]
    res = env.jbwrite(*args)
    check_mem_image(c, env, "--core auto without a vmcore", fx, img, res)
    c.check("--core auto: says it fell back", "jbwrite: core source: elfcorehdr=0x%x and %s"
            " (no %s)\n" % (ELFCOREHDR, fx.mem, env.path("no-vmcore")) in res.stdout, res.stdout)
    junk = env.path("junk-vmcore")
    write(junk, b"not an ELF core" * 10)
    res = env.jbwrite(*fx.args("--out", img, "--vmcore", junk, "--entry", "0x1234", core="auto"))
    c.check("--core auto with an unreadable vmcore: memory, and why", res.returncode == 0 and
            "(%s: no ELF magic" % junk in res.stdout, res.stdout + res.stderr)
    c.check("--entry wins over the command line", res.returncode == 0 and
            parse_header(read(img))["entry"] == 0x1234)
    vmcore = env.path("vmcore")
    write(vmcore, build_core(loads=[(0x100000, 0x3000, 0x3000)], seed=5))
    img = env.path("vmcore-auto.img")
    res = env.jbwrite("--vmcore", vmcore, "--out", img, "--cmdline", fx.cmdline,
                      "--memmap-file", env.memmap, "--created", CREATED)
    c.check("--core auto with a vmcore uses it", res.returncode == 0 and
            f"jbwrite: core source: {vmcore}\n" in res.stdout and
            image_core(read(img)) == read(vmcore) and
            parse_header(read(img))["entry"] == JUMP_ENTRY, res.stdout + res.stderr)

    # ELF32 headers make an ELF32 core; elfcorehdr= in hex and in size@addr form.
    fx32 = MemFixture(env, "mem32", elf32=True, machine=EM_386, seed=12,
                      cmdline="elfcorehdr=0x%x kexec_jump_back_entry=0x%x" % (ELFCOREHDR,
                                                                            JUMP_ENTRY))
    img = env.path("mem32.img")
    res = env.jbwrite(*fx32.args("--out", img))
    check_mem_image(c, env, "memory source, ELF32 EM_386", fx32, img, res, elf32=True,
                    machine=EM_386, flags=0)
    write(fx32.cmdline, b"elfcorehdr=4K@%dK kexec_jump_back_entry=%d" % (ELFCOREHDR // 1024,
                                                                         JUMP_ENTRY))
    res = env.jbwrite(*fx32.args("--out", img, "--quiet"))
    c.check("elfcorehdr=SIZE@ADDR, decimal entry, --quiet", res.returncode == 0 and
            res.stdout == "" and parse_header(read(img))["entry"] == JUMP_ENTRY,
            res.stdout + res.stderr)

    # The checks that stop jbwrite before it writes.
    out = env.path("mem-err.img")
    low = bytearray(read(fx.lowmem))
    low[0x9C123] ^= 1  # kernel A's copy differs from memory outside kernel B's RAM
    write(env.path("bad.lowmem"), bytes(low))
    args = fx.args("--out", out, lowmem=False) + ["--lowmem", env.path("bad.lowmem")]
    expect_error(c, env, "low memory changed outside kernel B's RAM", args,
                 ["low memory page 0x9c000 differs from kernel A's copy and is not kernel B's"
                  " RAM: kernel A's low memory changed after it was saved, or this is not"
                  " kernel A's memory; nothing written"], out=out)
    low = bytearray(read(fx.lowmem))
    low[0x9FFFF] ^= 1  # in no kept segment (they end at 0x9f000): not looked at
    low[0x20] ^= 1
    write(env.path("ok.lowmem"), bytes(low))
    args = fx.args("--out", out, lowmem=False) + ["--lowmem", env.path("ok.lowmem")]
    res = env.jbwrite(*args)
    c.check("low memory outside the kept segments is not compared", res.returncode == 0,
            res.stderr)
    if os.path.exists(out):
        os.remove(out)
    write(env.path("empty.lowmem"), b"")
    expect_error(c, env, "empty --lowmem", fx.args("--out", out, lowmem=False) +
                 ["--lowmem", env.path("empty.lowmem")], ["empty.lowmem", "0 bytes"], out=out)
    expect_error(c, env, "--lowmem with a vmcore",
                 fx.args("--out", out, "--vmcore", vmcore, core="auto"),
                 ["--lowmem", "--core mem"], out=out)

    def with_cmdline(name, text, words):
        path = env.path("c.cmdline")
        write(path, text.encode())
        expect_error(c, env, name, fx.args("--out", out) + ["--cmdline", path], words, out=out)

    with_cmdline("no elfcorehdr=", "ro kexec_jump_back_entry=0x1000\n",
                 ["no elfcorehdr=", "--load-preserve-context"])
    with_cmdline("no kexec_jump_back_entry= and no --entry", "elfcorehdr=%dK\n" %
                 (ELFCOREHDR // 1024), ["kexec_jump_back_entry=", "--entry"])
    with_cmdline("elfcorehdr= not a number", "elfcorehdr=12Q", ["elfcorehdr=12Q"])
    with_cmdline("kexec_jump_back_entry=0", "elfcorehdr=%dK kexec_jump_back_entry=0" %
                 (ELFCOREHDR // 1024), ["kexec_jump_back_entry=0"])
    with_cmdline("elfcorehdr= at no ELF header", "elfcorehdr=%dK kexec_jump_back_entry=0x1" %
                 (ELFCOREHDR // 1024 + 4), ["elfcorehdr=0x1f7f000", "ELF magic"])
    with_cmdline("elfcorehdr= past the end of memory", "elfcorehdr=1G kexec_jump_back_entry=1",
                 ["0x40000000"])
    with_cmdline("elfcorehdr= size@ too small", "elfcorehdr=256@%dK kexec_jump_back_entry=1" %
                 (ELFCOREHDR // 1024), ["0x1c8", "0x100"])
    write(env.path("zero.iomem"), b"00000000-00000000 : System RAM\n")
    expect_error(c, env, "iomem read without root",
                 fx.args("--out", out) + ["--iomem", env.path("zero.iomem")],
                 ["zero.iomem", "root"], out=out)
    write(env.path("all.iomem"), b"00000000-7fffffff : System RAM\n")
    expect_error(c, env, "every segment inside kernel B's RAM",
                 fx.args("--out", out) + ["--iomem", env.path("all.iomem")],
                 ["all 5 PT_LOAD", "kernel B's own RAM"], out=out)
    short = env.path("short.mem")
    write(short, read(fx.mem)[:0x2400000])
    # /dev/mem has no size: this one is found while writing, and leaves no valid header.
    expect_error(c, env, "memory ends inside a segment",
                 fx.args("--out", out) + ["--mem", short], ["short.mem", "0x2400000"])
    c.check("memory ends inside a segment: no image header left", read_if(out)[:8] != MAGIC)
    if os.path.exists(out):
        os.remove(out)
    expect_error(c, env, "--out is the memory", fx.args("--out", fx.mem), ["core itself"])
    expect_error(c, env, "--mem with --core PATH",
                 ["--core", vmcore, "--out", out, "--entry", "1", "--mem", fx.mem],
                 ["--mem", "memory source"], out=out)
    expect_error(c, env, "--vmcore with --core mem",
                 fx.args("--out", out, "--vmcore", vmcore), ["--vmcore"], out=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="jb-jbwrite-") as tmp:
        env = Env(args.build, tmp)
        # XXH64 against xxHash's known answers, and the Python one against the fast one.
        for data, want in ((b"", 0xef46db3751d8e999), (b"a", 0xd24ec4f1a98c6e5b),
                           (b"abc", 0x44bc2cf5ad770999)):
            c.equal(f"python XXH64 of {data!r}", xxh64_py(data), want)
            c.equal(f"XXH64 of {data!r}", xxh64(data), want)
        rnd = random.Random(3).randbytes(1000)
        c.check("python XXH64 = python3-xxhash's (or itself) at every length to 100 and 1000",
                all(xxh64_py(rnd[:n]) == xxh64(rnd[:n]) for n in list(range(101)) + [1000]))
        core64, entry64 = check_mkcore_images(c, env)
        check_offset(c, env, core64, entry64)
        check_vmcoreinfo(c, env)
        check_sysfs(c, env, core64, entry64)
        check_dry_run(c, env, core64, entry64)
        check_show_damage(c, env, core64, entry64)
        check_crash_midway(c, env, core64, entry64)
        check_errors(c, env, core64, entry64)
        check_memory_source(c, env)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
