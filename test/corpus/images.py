"""Bytes of broken images for the bad-input corpus (test/corpus/corpus.py): ELF64/ELF32 header
and program-header fields, a small ELF64 core builder, the jumpback image header
(docs/image-format.md) with its CRC-32 made right, and XXH64 for the hash table's checksum."""
import struct
import zlib

ELF64_PHDR = 56
# ELF64 header fields: (offset, struct format)
E_IDENT_CLASS, E_IDENT_DATA = 4, 5
E_TYPE, E_MACHINE, E_PHOFF, E_PHENTSIZE, E_PHNUM = (16, "<H"), (18, "<H"), (32, "<Q"), \
    (54, "<H"), (56, "<H")
PT_NULL, PT_LOAD, PT_NOTE = 0, 1, 4


def put(buf, at, fmt, value):
    struct.pack_into(fmt, buf, at, value)


def get(buf, at, fmt):
    return struct.unpack_from(fmt, buf, at)[0]


class Elf64:
    """The ELF64 core in a bytearray: header fields and program headers by index."""

    def __init__(self, data):
        self.b = bytearray(data)

    def field(self, f, value=None):
        if value is None:
            return get(self.b, f[0], f[1])
        put(self.b, f[0], f[1], value)
        return value

    @property
    def phoff(self):
        return self.field(E_PHOFF)

    @property
    def phnum(self):
        return self.field(E_PHNUM)

    def phdr(self, i):
        """(type, offset, paddr, filesz, memsz) of program header i."""
        at = self.phoff + i * ELF64_PHDR
        return (get(self.b, at, "<I"), get(self.b, at + 8, "<Q"), get(self.b, at + 24, "<Q"),
                get(self.b, at + 32, "<Q"), get(self.b, at + 40, "<Q"))

    def set_phdr(self, i, type_=None, offset=None, paddr=None, filesz=None, memsz=None):
        at = self.phoff + i * ELF64_PHDR
        for value, off, fmt in ((type_, 0, "<I"), (offset, 8, "<Q"), (paddr, 24, "<Q"),
                                (paddr, 16, "<Q"), (filesz, 32, "<Q"), (memsz, 40, "<Q")):
            if value is not None:
                put(self.b, at + off, fmt, value)

    def loads(self):
        """[(phdr index, segment index, type, offset, paddr, filesz, memsz)] of the PT_LOADs the
        parser keeps (p_memsz > 0), in program-header order."""
        out = []
        for i in range(self.phnum):
            t, off, paddr, filesz, memsz = self.phdr(i)
            if t == PT_LOAD and memsz:
                out.append((i, len(out), t, off, paddr, filesz, memsz))
        return out


def build_elf64(segments, machine=3):
    """A small ELF64 ET_CORE: segments are (paddr, data bytes, memsz); the data follows the
    program headers."""
    phoff = 64
    data_at = phoff + len(segments) * ELF64_PHDR
    hdr = bytearray(64)
    hdr[0:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", hdr, 16, 4, machine, 1, 0, phoff, 0, 0, 64,
                     ELF64_PHDR, len(segments), 0, 0, 0)
    phdrs = bytearray()
    body = bytearray()
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, 7, data_at + len(body), paddr, paddr,
                             len(data), memsz, 0x1000)
        body += data
    return bytes(hdr + phdrs + body)


# ---- the jumpback image header ------------------------------------------------------------
JBI_HEADER_SIZE = 8192
JBI_FIELDS = {  # name: (offset, struct format)
    "version": (8, "<I"), "state": (12, "<I"), "header_size": (16, "<I"),
    "header_crc": (20, "<I"), "flags": (24, "<I"), "nmem": (28, "<I"), "entry": (32, "<Q"),
    "core_offset": (40, "<Q"), "core_size": (48, "<Q"), "nseg": (64, "<I"),
    "nchunk": (68, "<I"), "hash_offset": (3216, "<Q"), "table_xxh64": (3224, "<Q"),
    "chunk_size": (3232, "<I"),
}
JBI_RELEASE = (72, 72)
JBI_MEM = 144  # 24-byte entries: u64 start, u64 len, u32 type, u32 0


class Jbi:
    """A jumpback image in a bytearray; fix_crc() makes the header CRC right again."""

    def __init__(self, data):
        self.b = bytearray(data)

    def __getitem__(self, name):
        at, fmt = JBI_FIELDS[name]
        return get(self.b, at, fmt)

    def __setitem__(self, name, value):
        at, fmt = JBI_FIELDS[name]
        put(self.b, at, fmt, value)

    def mem(self, i, start=None, length=None):
        at = JBI_MEM + 24 * i
        if start is not None:
            put(self.b, at, "<Q", start)
        if length is not None:
            put(self.b, at + 8, "<Q", length)
        return get(self.b, at, "<Q"), get(self.b, at + 8, "<Q")

    def crc(self):
        z = bytearray(self.b[:JBI_HEADER_SIZE])
        z[12:16] = bytes(4)
        z[20:24] = bytes(4)
        return zlib.crc32(bytes(z))

    def fix_crc(self):
        self["header_crc"] = self.crc()

    def table(self, n):
        return bytes(self.b[JBI_HEADER_SIZE:JBI_HEADER_SIZE + 8 * n])


# ---- XXH64 (the xxHash specification), for table_xxh64 ------------------------------------
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
M64 = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    return (_rotl((acc + lane * P2) & M64, 31) * P1) & M64


def _merge(acc, val):
    return ((acc ^ _round(0, val)) * P1 + P4) & M64


def xxh64(data, seed=0):
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = _merge(h, v[k])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    return h ^ (h >> 32)
