#!/usr/bin/env python3
"""QEMU tests: the real stub restores synthetic and QEMU-written cores over AHCI; the kernel-A
test payload checks the CPU state and every byte it owns, then exits QEMU with a status.
Prints one line per test and closes with 'N passed, N failed'."""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt  # noqa: E402
import qemu  # noqa: E402

RESTORE_TIMEOUT = 180
ERROR_TIMEOUT = 60


class Failure(Exception):
    pass


class Ctx:
    def __init__(self, build, tmp, seed):
        self.build = build
        self.tmp = tmp
        self.seed = seed
        self.stub = os.path.join(build, "jumpback.elf")
        self.payload = os.path.join(build, "test", "payload.elf")
        self.payload64 = os.path.join(build, "test", "payload64.elf")
        self.mkcore_bin = os.path.join(build, "tools", "mkcore")
        self.jbwrite_bin = os.path.join(build, "tools", "jbwrite")
        self.memmaps = {}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def mkcore(self, name, *extra, payload=None):
        """Writes a synthetic core wrapping the test payload; returns (path, entry)."""
        out = self.path(name)
        cmd = [self.mkcore_bin, "--payload", payload or self.payload, "--out", out,
               "--seed", str(self.seed)] + list(extra)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise Failure(f"mkcore {' '.join(extra)} failed: {res.stderr.strip()}")
        m = re.search(r"^entry=(0x[0-9a-fA-F]+)$", res.stdout, re.M)
        if not m:
            raise Failure("mkcore printed no entry= line")
        ret = re.search(r"^return=(0x[0-9a-fA-F]+)$", res.stdout, re.M)
        self.return_now = int(ret.group(1), 16) if ret else None
        return out, int(m.group(1), 16)

    def restore(self, disk, append, mem="128M", disk_args=None, timeout=RESTORE_TIMEOUT,
                until=None):
        args = qemu.machine_args(mem) + qemu.kernel_args(self.stub, append)
        args += disk_args if disk_args is not None else qemu.ahci_disk_args(disk)
        return qemu.run(args, timeout, until=until)


def expect_resumed(res, entry, bits=32):
    """The stub jumped to entry and the payload found everything it was promised."""
    jump = f"jumpback: jumping to 0x{entry:08x} ({bits}-bit)"
    if jump not in res.serial:
        raise Failure(f"no '{jump}' line\n{res.describe()}")
    if not res.lines("jbtest: PASS") or res.status != qemu.EXIT_PAYLOAD_PASS:
        raise Failure(f"payload did not pass (want exit {qemu.EXIT_PAYLOAD_PASS})\n"
                      f"{res.describe()}")
    if res.lines("jumpback: error"):
        raise Failure(f"error line before the jump\n{res.describe()}")


def generic_texts():
    """The error codes' generic texts (include/errors.h), which no error line may carry."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include",
                           "errors.h")) as f:
        return re.findall(r'X\(JB_\w+, "([^"]+)"\)', f.read())


GENERIC = generic_texts()


def expect_error(res, text):
    """A clear error line containing text, written to docs/errors.md's rule (ends in
    '; nothing was jumped to', no generic code text), and no jump, no payload."""
    errors = res.lines("jumpback: error: ")
    if not errors:
        raise Failure(f"no 'jumpback: error:' line\n{res.describe()}")
    if text not in errors[0]:
        raise Failure(f"error line lacks '{text}': {errors[0]}")
    if not errors[0].endswith("; nothing was jumped to"):
        raise Failure(f"error line does not end in '; nothing was jumped to': {errors[0]}")
    for g in GENERIC:
        if f"({g})" in errors[0]:
            raise Failure(f"error line carries the generic code text ({g}): {errors[0]}")
    if "jumpback: jumping to" in res.serial or res.lines("jbtest:"):
        raise Failure(f"jumped although the image failed a check\n{res.describe()}")
    if res.timed_out:
        raise Failure(f"did not reboot after the error (onerror=reboot)\n{res.describe()}")


# ---- the tests --------------------------------------------------------------------------
def test_restore_elf64_i386(c):
    disk, entry = c.mkcore("core64.img")
    expect_resumed(c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}"), entry)


def test_restore_elf32(c):
    disk, entry = c.mkcore("core32.img", "--elf32")
    expect_resumed(c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}"), entry)


def test_restore_page_offsets(c):
    """Data laid out as Linux's /proc/vmcore (offset = address modulo 4 KiB): every 16 MiB piece
    starts on a block, none needs the bounce buffer but the odd-address segment's; raw, and as
    a verified image, whose chunks then match the pieces."""
    disk, entry = c.mkcore("pgoff.img", "--page-offsets", "--big-mb", "40")
    expect_resumed(c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}"), entry)
    image, entry, _ = make_image(c, "pgoff-jbi", "--page-offsets", "--big-mb", "40")
    expect_resumed(c.restore(image, "resume=ahci:0"), entry)


def test_restore_mode32_of_x86_64_core(c):
    disk, entry = c.mkcore("corex64.img", "--machine", "x86_64")
    expect_resumed(c.restore(disk, f"resume=ahci:0 entry=0x{entry:x} mode=32"), entry)


def test_restore_other_port_and_offset(c):
    """The image 64 sectors into the only disk, on AHCI port 2: it is the first AHCI disk,
    resume=ahci:0 resume_offset=64."""
    core, entry = c.mkcore("core-off.img")
    disk = c.path("disk-off.img")
    with open(disk, "wb") as out, open(core, "rb") as src:
        out.write(os.urandom(64 * 512))
        shutil.copyfileobj(src, out)
    qemu.pad_to_sectors(disk)
    args = ["-device", "ahci,id=ahci",
            "-drive", f"if=none,id=d2,format=raw,file={disk}",
            "-device", "ide-hd,drive=d2,bus=ahci.2"]
    res = c.restore(None, f"resume=ahci:0 resume_offset=64 entry=0x{entry:x}", disk_args=args)
    if not re.search(r"jumpback: ahci:0: .* port 2 of AHCI", res.serial):
        raise Failure(f"ahci:0 is not the disk on port 2\n{res.describe()}")
    expect_resumed(res, entry)


def test_dryrun_reads_and_stops(c):
    disk, entry = c.mkcore("dry.img")
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x} dryrun onerror=reboot",
                    timeout=ERROR_TIMEOUT)
    if "jumpback: dryrun: image checked" not in res.serial:
        raise Failure(f"no dryrun summary\n{res.describe()}")
    if "jumpback:   read" not in res.serial:
        raise Failure(f"dryrun printed no plan\n{res.describe()}")
    if "jumping to" in res.serial or res.lines("jbtest:") or res.timed_out:
        raise Failure(f"dryrun jumped or hung\n{res.describe()}")
    # The reads land in free RAM, the restore's own pieces, never where the plan places data.
    m = re.search(r"dryrun: reads land in free RAM at 0x([0-9a-f]+)-0x([0-9a-f]+)", res.serial)
    if not m:
        raise Failure(f"no dry-run scratch line\n{res.describe()}")
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    for a, b in re.findall(r"^jumpback:   (?:read|zero|check|check-zero) +seg \d+ +"
                           r"0x([0-9a-f]+)-0x([0-9a-f]+)", res.serial, re.M):
        if int(a, 16) < hi and lo < int(b, 16):
            raise Failure(f"dry-run scratch 0x{lo:x}-0x{hi:x} meets a destination "
                          f"0x{a}-0x{b}\n{res.describe()}")


def test_vga_screen_matches_serial(c):
    """The VGA text screen, read from the adapter, shows the last 25 rows of what serial shows,
    wrapped at 80 columns: a dry run prints more than a screenful (the plan, the progress bar),
    so the screen has scrolled, and it halts with its last line on screen (onerror=halt)."""
    disk, entry = c.mkcore("vga.img")
    args = (qemu.machine_args() + qemu.ahci_disk_args(disk)
            + qemu.kernel_args(c.stub, f"resume=ahci:0 entry=0x{entry:x} dryrun"))
    rows, res, why = qemu.vga_screen(args, ERROR_TIMEOUT, r"^jumpback: halted;")
    if rows is None:
        raise Failure(f"no screen to compare: {why}\n{res.describe()}")
    text = res.serial.split("\n[qemu stderr]")[0]
    if len(text.splitlines()) <= qemu.VGA_ROWS:
        raise Failure(f"printed no more than a screenful: nothing scrolled\n{res.describe()}")
    want = qemu.text_screen(text)
    if rows != want:
        diff = "\n".join(f"row {i:2}: screen {got!r}\n        serial {exp!r}"
                          for i, (got, exp) in enumerate(zip(rows, want)) if got != exp)
        raise Failure(f"the screen differs from serial's last rows:\n{diff}")


def bad_image_test(kind, text):
    def test(c):
        disk, entry = c.mkcore(f"bad-{kind}.img", "--bad", kind)
        res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x} onerror=reboot",
                        timeout=ERROR_TIMEOUT)
        expect_error(res, text)
    test.__name__ = f"test_bad_image_{kind.replace('-', '_')}"
    return test


def test_restore_over_stub_staged(c):
    """A segment over the stub's own load address is staged in a hole and copied home by
    the final stage after the last disk read."""
    disk, entry = c.mkcore("over-stub.img", "--bad", "over-stub")
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}")
    if not re.search(r"^jumpback: plan: 0x180000-0x190000 covers the jumpback stub", res.serial,
                     re.M):
        raise Failure(f"no staging line for the segment over the stub\n{res.describe()}")
    expect_resumed(res, entry)


def test_restore_64bit(c):
    """An EM_X86_64 core resumes in long mode (mode=auto); the 64-bit payload checks EFER,
    CR0/CR4, the Linux x86_64 GDT selectors, PAT, IF/DF, the stack and its identity map."""
    disk, entry = c.mkcore("core-x64.img", "--machine", "x86_64", payload=c.payload64)
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}")
    expect_resumed(res, entry, bits=64)


def test_restore_cover_stub_32(c):
    """A snapshot covering the stub's load address and all of low memory: staged and copied
    home by the final stage; the 32-bit payload finds low memory intact."""
    disk, entry = c.mkcore("cover32.img", "--layout", "cover-stub")
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}")
    if "covers the jumpback stub" not in res.serial:
        raise Failure(f"nothing staged\n{res.describe()}")
    expect_resumed(res, entry)


def test_restore_cover_stub_64(c):
    disk, entry = c.mkcore("cover64.img", "--layout", "cover-stub", "--machine", "x86_64",
                           payload=c.payload64)
    expect_resumed(c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}"), entry, bits=64)


def test_restore_above_4g(c):
    """A 5 GiB guest whose snapshot has data and zero-fill above 4 GiB: AHCI 64-bit DMA, the
    PAE window for partial sectors and zero-fill, and the 64-bit payload checks it all."""
    disk, entry = c.mkcore("high.img", "--layout", "high", "--machine", "x86_64",
                           payload=c.payload64)
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}", mem="5G")
    if not re.search(r"^jbtest: region \d+ ok: 0x1[0-9a-f]{8}\+", res.serial, re.M):
        raise Failure(f"no region above 4 GiB was checked\n{res.describe()}")
    expect_resumed(res, entry, bits=64)


def test_restore_above_4g_bios(c):
    """The same through the BIOS path: every byte above 4 GiB goes through the PAE window."""
    disk, entry = c.mkcore("high-bios.img", "--layout", "high", "--machine", "x86_64",
                           payload=c.payload64)
    res = c.restore(disk, f"resume=bios:0x80 entry=0x{entry:x}", mem="5G")
    expect_resumed(res, entry, bits=64)


def test_restore_pae(c):
    """pae=1: the 32-bit hand-off sets CR4.PAE; the payload's manifest expects it."""
    disk, entry = c.mkcore("pae.img", "--pae")
    expect_resumed(c.restore(disk, f"resume=ahci:0 entry=0x{entry:x} pae=1"), entry)


def test_pae_mismatch_detected(c):
    """The payload notices a missing CR4.PAE: the PAE check can fail."""
    disk, entry = c.mkcore("nopae.img", "--pae")
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}")
    if res.status != qemu.EXIT_PAYLOAD_FAIL or "CR4.PAE" not in res.serial:
        raise Failure(f"payload did not report the missing CR4.PAE\n{res.describe()}")


def returned_test(bits):
    """Kernel A returns through the address at the top of its stack: the final stage's
    handler reports it on serial and halts."""
    def test(c):
        extra = ("--machine", "x86_64") if bits == 64 else ()
        disk, _ = c.mkcore(f"ret{bits}.img", *extra,
                           payload=c.payload64 if bits == 64 else c.payload)
        ret = c.return_now
        res = c.restore(disk, f"resume=ahci:0 entry=0x{ret:x}", timeout=ERROR_TIMEOUT,
                        until=r"^jumpback: error: kernel A returned")
        if f"jumpback: jumping to 0x{ret:08x} ({bits}-bit)" not in res.serial:
            raise Failure(f"did not jump\n{res.describe()}")
        if not res.lines("jumpback: error: kernel A returned to jumpback"):
            raise Failure(f"no report of kernel A returning\n{res.describe()}")
    test.__name__ = f"test_kernel_a_returns_{bits}"
    return test


# ---- jumpback images (tools/jbwrite) ------------------------------------------------------
JBI_HEADER_SIZE = 8192
JBI_STATE = {b"VALD": "valid", b"USED": "used"}


def machine_memmap(c, mem, disk_args_fn):
    """This machine's usable RAM as jumpback sees it (a dry boot of the stub prints it), as a
    jbwrite --memmap-file: what kernel B's /sys/firmware/memmap would say."""
    key = (mem, disk_args_fn.__name__)
    if key not in c.memmaps:
        blank = c.path("memmap-probe.img")
        with open(blank, "wb") as f:
            f.truncate(1 << 20)
        res = c.restore(None, "resume=auto onerror=reboot", mem=mem,
                        disk_args=disk_args_fn(blank), timeout=ERROR_TIMEOUT)
        ranges = qemu.stub_ram(res.serial)
        if not ranges:
            raise Failure(f"no RAM lines from the stub\n{res.describe()}")
        c.memmaps[key] = "# usable RAM as the stub saw it\n" + qemu.memmap_text(ranges)
    path = c.path(f"memmap-{mem}-{disk_args_fn.__name__}.txt")
    with open(path, "w") as f:  # the runner clears its folder after each test
        f.write(c.memmaps[key])
    return path


def ahci_disk(path):
    return qemu.ahci_disk_args(path)


def jbwrite(c, core, out, entry, memmap, *extra):
    res = subprocess.run([c.jbwrite_bin, "--core", core, "--out", out, "--entry", hex(entry),
                          "--memmap-file", memmap, "--quiet"] + list(extra),
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise Failure(f"jbwrite failed: {res.stderr.strip()}")
    qemu.pad_to_sectors(out)
    return out


def expect_used(path, offset=0):
    """The image header at byte offset of the disk says USED: the stub marked it."""
    state = image_state(path, offset)
    if state != "used":
        raise Failure(f"the image at byte {offset} of {os.path.basename(path)} is {state},"
                      " not used")


def image_state(path, offset=0):
    with open(path, "rb") as f:
        f.seek(offset + 12)
        return JBI_STATE.get(f.read(4), "damaged")


def make_image(c, name, *mkcore_args, payload=None, mem="128M", disk_args_fn=ahci_disk):
    core, entry = c.mkcore(name + ".core", *mkcore_args, payload=payload)
    image = jbwrite(c, core, c.path(name + ".img"), entry, machine_memmap(c, mem, disk_args_fn))
    return image, entry, core


def test_image_restores_and_is_marked_used(c):
    """A jumpback image needs no entry=; after the jump it is marked used, and a second boot
    refuses it."""
    image, entry, _ = make_image(c, "jbi")
    res = c.restore(image, "resume=ahci:0")
    if "jumpback: image: jumpback image of kernel" not in res.serial:
        raise Failure(f"the image header was not recognised\n{res.describe()}")
    if "jumpback: image marked used" not in res.serial:
        raise Failure(f"no 'image marked used' line\n{res.describe()}")
    expect_resumed(res, entry)
    expect_used(image)
    res = c.restore(image, "resume=ahci:0 onerror=reboot", timeout=ERROR_TIMEOUT)
    expect_error(res, "resumed once already")


def test_image_keep(c):
    """keep: the image stays valid and resumes again (snapshot boot)."""
    image, entry, _ = make_image(c, "jbi-keep")
    for _ in range(2):
        res = c.restore(image, "resume=ahci:0 keep")
        expect_resumed(res, entry)
        if image_state(image) != "valid":
            raise Failure("keep did not leave the image valid")


def test_image_64bit(c):
    """The header's mode flag: an x86_64 image resumes in long mode without mode= or entry=."""
    image, entry, _ = make_image(c, "jbi64", "--machine", "x86_64", payload=c.payload64)
    expect_resumed(c.restore(image, "resume=ahci:0"), entry, bits=64)


def test_image_hash_loops(c):
    """Both XXH64 stripe loops verify what they restore: the 64-bit one (boot/hash64.asm) on a
    5 GiB guest whose segments above 4 GiB are hashed through the PAE window, with one CPU
    and with two (the second hashes above 4 GiB through a window of its own), and the
    portable 32-bit one on a CPU without long mode (-cpu qemu32)."""
    for name, layout, cpus in (("jbi-high", ("--layout", "high"), 1),
                               ("jbi-high2", ("--high-mb", "96"), 2)):
        image, entry, _ = make_image(c, name, *layout, "--machine", "x86_64",
                                     payload=c.payload64, mem="5G")
        res = c.restore(image, "resume=ahci:0 keep", mem="5G",
                        disk_args=ahci_disk(image) + ["-smp", str(cpus)])
        if "jumpback: verify: XXH64 of every 16 MiB chunk, 64-bit loop" not in res.serial:
            raise Failure(f"no '64-bit loop' line\n{res.describe()}")
        expect_resumed(res, entry, bits=64)
    if not re.search(r"chunks finished there, [1-9]\d* of them above 4 GiB\)", res.serial):
        raise Failure(f"the second CPU checked no chunk above 4 GiB\n{res.describe()}")
    image, entry, _ = make_image(c, "jbi-qemu32")
    res = c.restore(image, "resume=ahci:0 keep",
                    disk_args=qemu.ahci_disk_args(image) + ["-cpu", "qemu32"])
    if "jumpback: verify: XXH64 of every 16 MiB chunk, 32-bit loop" not in res.serial:
        raise Failure(f"no '32-bit loop' line\n{res.describe()}")
    expect_resumed(res, entry)


def test_image_via_bios(c):
    """Through int 13h: the image is read and marked used with AH=43h."""
    image, entry, _ = make_image(c, "jbi-bios", disk_args_fn=ide_disk_args)
    res = c.restore(image, "resume=bios:0x80", disk_args=ide_disk_args(image))
    expect_resumed(res, entry)
    expect_used(image)


def image_core_offset(path):
    """The header's core_offset: the core follows the header and the hash table."""
    with open(path, "rb") as f:
        f.seek(40)
        return int.from_bytes(f.read(8), "little")


def flip_segment_byte(c, image, paddr, big_mb, at):
    """Flips the byte `at` bytes into the data of the segment at paddr in the image (made from
    mkcore's core with c.seed and big_mb); returns where that segment's data starts in it."""
    out = subprocess.run([c.mkcore_bin, "--payload", c.payload, "--out", c.path("scratch.core"),
                          "--seed", str(c.seed), "--big-mb", str(big_mb)],
                         capture_output=True, text=True).stdout
    m = re.search(rf"paddr=0x0*{paddr:x} .*offset=(0x[0-9a-f]+)", out)
    if not m:
        raise Failure(f"mkcore did not list the segment at 0x{paddr:x}")
    seg_at = image_core_offset(image) + int(m.group(1), 16)
    with open(image, "r+b") as f:
        f.seek(seg_at + at)
        byte = f.read(1)
        f.seek(seg_at + at)
        f.write(bytes([byte[0] ^ 0x40]))
    return seg_at


def corrupt_big_segment(c, core, image, big_mb=16, chunk_no=0):
    """Flips one byte inside the big segment's data in the image (its first 16 MiB chunk);
    returns what the stub must name: the chunk's range in the segment, in physical memory
    and on the disk (LBA)."""
    chunk = 16 << 20
    lo, hi = chunk_no * chunk, min((chunk_no + 1) * chunk, big_mb << 20)
    seg_at = flip_segment_byte(c, image, 0x2000000, big_mb, lo + 12345)
    return [f"chunk {chunk_no} ", f"bytes 0x{lo:x}-0x{hi:x} of the segment",
            f"physical 0x{0x2000000 + lo:x}-0x{0x2000000 + hi:x}",
            f"disk LBA {(seg_at + lo) // 512}-{(seg_at + hi - 1) // 512}",
            "the image is damaged"]


def expect_scanned(res, names):
    """The boot log has a line for each disk named (`jumpback: ahci:0: ...`)."""
    for name in names:
        if not re.search(rf"^jumpback: {name}: ", res.serial, re.M):
            raise Failure(f"the scan did not list {name}\n{res.describe()}")


def expect_chunk_named(res, words):
    for w in words:
        if w not in res.serial:
            raise Failure(f"the mismatch error does not say {w!r}\n{res.describe()}")


def expect_cpus_waiting(res, cpus):
    """The payload started every other CPU with a start-up IPI alone: jumpback left them all
    in wait-for-SIPI (INIT) after its second CPU helped."""
    want = f"jbtest: other CPUs: {cpus - 1} of {cpus - 1} wait for a start-up IPI"
    if want not in res.serial:
        raise Failure(f"not every other CPU waits for a start-up IPI ({want!r})\n"
                      f"{res.describe()}")


def expect_helped(res, cpus):
    """The second CPU checked chunks, and every other CPU waits for a start-up IPI after."""
    mib = qemu.mib_by_second_cpu(res.serial)
    if ("a second CPU checks chunks beside this one" not in res.serial
            or qemu.chunks_by_second_cpu(res.serial) == 0 or not mib or not 0 < mib[0] <= mib[1]):
        raise Failure(f"-smp {cpus}: no chunk was checked by a second CPU\n{res.describe()}")
    expect_cpus_waiting(res, cpus)


def restore_smp(c, image, append, cpus, **kw):
    return c.restore(image, append, disk_args=ahci_disk(image) + ["-smp", str(cpus)], **kw)


def test_image_helper_cpu(c):
    """With two and with four CPUs a second CPU checks chunks beside the first (any further
    one halts): the restore says how many it took and the payload finds every byte; nosmp
    keeps it to one CPU."""
    image, entry, _ = make_image(c, "jbi-smp", "--big-mb", "72")
    for cpus in (2, 4):
        res = restore_smp(c, image, "resume=ahci:0 keep", cpus)
        expect_resumed(res, entry)
        expect_helped(res, cpus)
    res = restore_smp(c, image, "resume=ahci:0 keep nosmp", 2)
    expect_resumed(res, entry)
    if ("verify: on this CPU alone (nosmp)" not in res.serial
            or "checked by the second CPU" in res.serial):
        raise Failure(f"nosmp: a second CPU was used\n{res.describe()}")


def test_image_helper_finds_damage(c):
    """A flipped byte in the first chunk, which goes to the second CPU (it is idle then): the
    error names the chunk and says which CPU found it; nothing is jumped to or marked."""
    image, entry, core = make_image(c, "jbi-smp-bad", "--big-mb", "40")
    flip_segment_byte(c, image, 0x10000, 40, 777)
    res = restore_smp(c, image, "resume=ahci:0 onerror=reboot", 2, timeout=ERROR_TIMEOUT)
    expect_error(res, "data checksum mismatch")
    expect_chunk_named(res, ["segment 1 (phdr 2) chunk 0 (table entry 0), checked by the second"
                             " CPU", "physical 0x10000-0x40000"])
    if image_state(image) != "valid":
        raise Failure("a failed image was marked used")


def test_image_checksum_mismatch(c):
    """One flipped data byte: the segment checksum stops the restore before the jump, and the
    image is not marked used."""
    image, entry, core = make_image(c, "jbi-bad", "--big-mb", "40")
    words = corrupt_big_segment(c, core, image, big_mb=40, chunk_no=1)
    res = c.restore(image, "resume=ahci:0 onerror=reboot", timeout=ERROR_TIMEOUT)
    expect_error(res, "data checksum mismatch")
    expect_chunk_named(res, words)
    if image_state(image) != "valid":
        raise Failure("a failed image was marked used")


def test_image_dryrun_verifies(c):
    image, entry, core = make_image(c, "jbi-dry")
    words = corrupt_big_segment(c, core, image)
    res = c.restore(image, "resume=ahci:0 dryrun onerror=reboot", timeout=ERROR_TIMEOUT)
    expect_error(res, "data checksum mismatch")
    expect_chunk_named(res, words)


def test_image_table_damaged_and_old_versions(c):
    """A flipped byte in the hash table is caught by table_xxh64 before any data is read; a
    version 1 (jbhash64) image and a version 3 one are refused, naming the versions."""
    import zlib
    image, entry, core = make_image(c, "jbi-table")
    with open(image, "r+b") as f:
        f.seek(JBI_HEADER_SIZE + 3)
        byte = f.read(1)
        f.seek(JBI_HEADER_SIZE + 3)
        f.write(bytes([byte[0] ^ 0x01]))
    res = c.restore(image, "resume=ahci:0 onerror=reboot", timeout=ERROR_TIMEOUT)
    expect_error(res, "XXH64 mismatch")
    if "table of" not in res.serial or "jumpback: plan:" in res.serial:
        raise Failure(f"the table error came late or unnamed\n{res.describe()}")
    for version, words in ((1, "image format version 1 (jbhash64) is no longer read; write the"
                               " image again with this jumpback's jbwrite"),
                           (3, "image format version 3, this jumpback reads version 2")):
        with open(image, "r+b") as f:
            hdr = bytearray(f.read(JBI_HEADER_SIZE))
            hdr[8:12] = version.to_bytes(4, "little")
            hdr[12:16] = b"VALD"
            z = bytearray(hdr)
            z[12:16] = bytes(4)
            z[20:24] = bytes(4)
            hdr[20:24] = zlib.crc32(bytes(z)).to_bytes(4, "little")
            f.seek(0)
            f.write(hdr)
        res = c.restore(image, "resume=ahci:0 onerror=reboot", timeout=ERROR_TIMEOUT)
        expect_error(res, words)


def test_image_verify_off(c):
    """verify=off skips the checksums: the corrupted byte reaches kernel A, which notices."""
    image, entry, core = make_image(c, "jbi-off")
    corrupt_big_segment(c, core, image)
    res = c.restore(image, "resume=ahci:0 verify=off")
    if "verify=off" not in res.serial or res.status != qemu.EXIT_PAYLOAD_FAIL:
        raise Failure(f"expected the payload to find the flipped byte\n{res.describe()}")


def test_image_memmap_differs(c):
    """An image made on a 128 MiB machine, resumed with 256 MiB: refused."""
    image, entry, _ = make_image(c, "jbi-mm")
    res = c.restore(image, "resume=ahci:0 onerror=reboot", mem="256M", timeout=ERROR_TIMEOUT)
    expect_error(res, "memory map differs")


def test_image_header_damaged(c):
    image, entry, _ = make_image(c, "jbi-crc")
    with open(image, "r+b") as f:
        f.seek(100)  # inside the release string
        f.write(b"X")
    res = c.restore(image, "resume=ahci:0 onerror=reboot", timeout=ERROR_TIMEOUT)
    expect_error(res, "CRC mismatch")


def test_image_auto_skips_used(c):
    """resume=auto with a used image on port 0 and a valid one on port 1 takes the valid one."""
    used, _, _ = make_image(c, "jbi-used")
    with open(used, "r+b") as f:
        f.seek(12)
        f.write(b"USED")
    image, entry, _ = make_image(c, "jbi-fresh")
    args = ["-device", "ahci,id=ahci",
            "-drive", f"if=none,id=d0,format=raw,file={used}", "-device", "ide-hd,drive=d0,bus=ahci.0",
            "-drive", f"if=none,id=d1,format=raw,file={image}", "-device", "ide-hd,drive=d1,bus=ahci.1"]
    res = c.restore(None, "", disk_args=args)
    if "resume=auto: the image is on ahci:1" not in res.serial:
        raise Failure(f"auto did not pick the valid image\n{res.describe()}")
    expect_resumed(res, entry)


def test_qemu_dump_image_flow(c):
    """The whole hibernation flow: a real dump of a running guest (kernel B's /proc/vmcore)
    written with jbwrite into a GPT partition, found by resume=auto with no entry=, restored,
    verified and marked used."""
    dump, entry = dump_running_guest(c, "128M")
    image = jbwrite(c, dump, c.path("flow.jbi"), entry, machine_memmap(c, "128M", ahci_disk))
    disk, _, _ = partitioned_disk(c, "flow.img", image, "gpt")
    res = c.restore(disk, "")
    if "resume=auto: the image is on ahci:0 partition 2" not in res.serial:
        raise Failure(f"auto did not find the image\n{res.describe()}")
    expect_resumed(res, entry)


def test_error_no_entry(c):
    disk, _ = c.mkcore("noentry.img")
    expect_error(c.restore(disk, "resume=ahci:0 onerror=reboot", timeout=ERROR_TIMEOUT),
                 "no entry= given")


def test_error_entry_outside_image(c):
    disk, _ = c.mkcore("badentry.img")
    res = c.restore(disk, "resume=ahci:0 entry=0x7000000 onerror=reboot", timeout=ERROR_TIMEOUT)
    expect_error(res, "is not inside any of the")


def test_error_no_such_disk(c):
    disk, entry = c.mkcore("port.img")
    res = c.restore(disk, f"resume=ahci:3 entry=0x{entry:x} onerror=reboot",
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "no AHCI disk 3: the machine has 1 (ahci:0 to ahci:0")


def test_error_bad_cmdline(c):
    disk, entry = c.mkcore("cmd.img")
    res = c.restore(disk, f"resume=ahci:zero entry=0x{entry:x} onerror=reboot",
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "bad value in 'resume=ahci:zero'")


def blkdebug_args(c, disk, sector, once):
    cfg = c.path(f"blkdebug-{sector}-{once}.cfg")
    with open(cfg, "w") as f:
        f.write('[inject-error]\nevent = "read_aio"\nerrno = "5"\n'
                f'sector = "{sector}"\nonce = "{"on" if once else "off"}"\n')
    return qemu.ahci_disk_args(
        disk, drive=f"if=none,id=d0,format=raw,file=blkdebug:{cfg}:{disk}")


def test_disk_error_retried(c):
    """One injected read error (QEMU blkdebug): the stub retries and the restore completes."""
    disk, entry = c.mkcore("retry.img")
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x}",
                    disk_args=blkdebug_args(c, disk, 20000, once=True))
    if not re.search(r"^jumpback: warning: .*attempt 1 of 3", res.serial, re.M):
        raise Failure(f"no retry warning for the injected error\n{res.describe()}")
    expect_resumed(res, entry)


def test_disk_error_persistent(c):
    """A sector that never reads: a clear error naming the LBA, and no jump."""
    disk, entry = c.mkcore("ioerr.img")
    res = c.restore(disk, f"resume=ahci:0 entry=0x{entry:x} onerror=reboot",
                    disk_args=blkdebug_args(c, disk, 20000, once=False), timeout=ERROR_TIMEOUT)
    expect_error(res, "LBA")


def expect_lba_named(res, sector):
    """Every disk error message names the command holding the injected sector, not a
    neighbouring piece."""
    for lba, count in re.findall(r"at LBA (\d+) \(\+(\d+) sectors\) failed", res.serial):
        if not int(lba) <= sector < int(lba) + int(count):
            raise Failure(f"an error names LBA {lba} (+{count}), not the one holding sector"
                          f" {sector}\n{res.describe()}")


def test_image_disk_error_in_flight(c):
    """A verified image, read while the previous piece is hashed: one injected error in the
    big segment is retried and the restore completes; a persistent one names its LBA."""
    image, entry, _ = make_image(c, "jbi-ioerr", "--big-mb", "40")
    sector = os.path.getsize(image) // 512 * 3 // 5
    res = c.restore(image, "resume=ahci:0 keep",
                    disk_args=blkdebug_args(c, image, sector, once=True))
    if not re.search(r"^jumpback: warning: .*attempt 1 of 3", res.serial, re.M):
        raise Failure(f"no retry warning for the injected error\n{res.describe()}")
    expect_resumed(res, entry)
    expect_lba_named(res, sector)
    res = c.restore(image, "resume=ahci:0 onerror=reboot",
                    disk_args=blkdebug_args(c, image, sector, once=False), timeout=ERROR_TIMEOUT)
    expect_error(res, "LBA")
    expect_lba_named(res, sector)
    if image_state(image) != "valid":
        raise Failure("a failed image was marked used")


def ide_disk_args(path):
    return ["-drive", f"if=ide,index=0,format=raw,file={path}"]


def dump_running_guest(c, mem, payload=None, machine=3, fill_args="", disk_args_fn=None):
    """Boots the test payload in fill mode, dumps the running guest with QEMU's
    dump-guest-memory and returns (core path, entry). The fill boot has the same devices as
    the restore boot (disk_args_fn, AHCI by default): SeaBIOS's AHCI and NVMe support takes
    RAM from the top of the map."""
    dump = c.path("guest.core")
    blank = c.path("blank.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    args = (qemu.machine_args(mem)
            + qemu.kernel_args(payload or c.payload, f"seed={c.seed} {fill_args}")
            + (disk_args_fn or ahci_disk)(blank))
    ready = r"^jbtest: ready entry=(0x[0-9a-f]+) begin=(0x[0-9a-f]+) length=(0x[0-9a-f]+)"
    match, res = qemu.dump_guest(args, RESTORE_TIMEOUT, ready, dump,
                                 lambda m: (int(m.group(2), 16), int(m.group(3), 16)))
    if not match or not os.path.exists(dump):
        raise Failure(f"the guest did not get ready or no dump was written\n{res.describe()}")
    with open(dump, "rb") as f:
        ident = f.read(20)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or int.from_bytes(ident[18:20], "little") != machine:
        raise Failure(f"QEMU's dump is not an ELF64 core with e_machine {machine}")
    os.chmod(dump, 0o644)  # QEMU writes it owner-read-only
    qemu.pad_to_sectors(dump)
    return dump, int(match.group(1), 16)


def test_qemu_dump_guest_memory(c):
    """A real core written by QEMU's dump-guest-memory of a running 256 MiB guest (ELF64,
    EM_386, unaligned offsets) is restored, and the guest finds every word intact."""
    dump, entry = dump_running_guest(c, "256M")
    expect_resumed(c.restore(dump, f"resume=ahci:0 entry=0x{entry:x}", mem="256M"), entry)


def test_restore_bios_ide(c):
    """Through the BIOS (int 13h) from an IDE disk: the native driver is not involved."""
    disk, entry = c.mkcore("bios-ide.img")
    res = c.restore(disk, f"resume=bios:0x80 entry=0x{entry:x}", disk_args=ide_disk_args(disk))
    if "jumpback: bios:0x80:" not in res.serial or "covers the BIOS low memory" not in res.serial:
        raise Failure(f"not read through the BIOS with low memory staged\n{res.describe()}")
    expect_resumed(res, entry)


def test_restore_bios_ahci(c):
    """Through the BIOS from an AHCI disk (SeaBIOS serves AHCI disks via int 13h)."""
    disk, entry = c.mkcore("bios-ahci.img")
    res = c.restore(disk, f"resume=bios:0x80 entry=0x{entry:x}")
    if "jumpback: bios:0x80:" not in res.serial:
        raise Failure(f"not read through the BIOS\n{res.describe()}")
    expect_resumed(res, entry)


def test_qemu_dump_64bit_guest(c):
    """A real core of a 64-bit guest (QEMU writes EM_X86_64 for a guest in long mode)
    resumes in long mode with every word intact."""
    dump, entry = dump_running_guest(c, "256M", payload=c.payload64, machine=62)
    res = c.restore(dump, f"resume=ahci:0 entry=0x{entry:x}", mem="256M")
    expect_resumed(res, entry, bits=64)


def test_qemu_dump_over_stub(c):
    """A real core of a 32-bit guest that starts at 1 MiB, over jumpback's own load address:
    the stub stages that part and the final stage copies it home; the guest finds its memory
    from 1 MiB up intact."""
    # fill_mb leaves RAM above the image free: jumpback needs a hole to stage itself in.
    dump, entry = dump_running_guest(c, "128M", fill_args="low fill_mb=64")
    res = c.restore(dump, f"resume=ahci:0 entry=0x{entry:x}")
    if not re.search(r"^jumpback: plan: 0x100000-0x[0-9a-f]+ covers the jumpback stub", res.serial,
                     re.M):
        raise Failure(f"the stub's range was not staged\n{res.describe()}")
    if not re.search(r"^jbtest: region \d+ ok: 0x00100000\+", res.serial, re.M):
        raise Failure(f"the payload did not check memory from 1 MiB\n{res.describe()}")
    expect_resumed(res, entry)


def test_qemu_dump_partlabel(c):
    """A real QEMU-written core in a GPT partition, found by PARTLABEL."""
    dump, entry = dump_running_guest(c, "128M")
    disk, start, _ = partitioned_disk(c, "dump-gpt.img", dump, "gpt")
    res = c.restore(disk, f"resume=PARTLABEL=hibernate entry=0x{entry:x}")
    if f"on ahci:0 partition 2 at sector {start}" not in res.serial:
        raise Failure(f"not read from the partition\n{res.describe()}")
    expect_resumed(res, entry)


def test_qemu_dump_bios_ide(c):
    """A real QEMU-written core restored through resume=bios:0x80 from an IDE disk."""
    dump, entry = dump_running_guest(c, "64M")
    res = c.restore(None, f"resume=bios:0x80 entry=0x{entry:x}", mem="64M",
                    disk_args=ide_disk_args(dump))
    expect_resumed(res, entry)


def test_error_no_bios_disk(c):
    disk, entry = c.mkcore("bios-none.img")
    res = c.restore(disk, f"resume=bios:0x83 entry=0x{entry:x} onerror=reboot",
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "no such BIOS disk")


MIB = 1 << 20
MBR_LABEL_ID = "0x4a42e5c2"


def partitioned_disk(c, name, core, scheme, image_part_mib=None):
    """A disk with two partitions, the core written at the start of partition 2: GPT (sgdisk,
    names "other" and "hibernate") or MBR (sfdisk). Returns (disk, first LBA of partition 2,
    its PARTUUID)."""
    core_mib = (os.path.getsize(core) + MIB - 1) // MIB
    part_mib = image_part_mib or core_mib + 1
    disk = c.path(name)
    with open(disk, "wb") as f:
        f.truncate((part_mib + 12) * MIB)
    if scheme == "gpt":
        run_tool(["sgdisk", "-n1:2048:+8M", "-c1:other", f"-n2:0:+{part_mib}M", "-c2:hibernate",
                  disk])
        info = run_tool(["sgdisk", "-i2", disk])
        start = int(re.search(r"First sector: (\d+)", info).group(1))
        uuid = re.search(r"unique GUID: ([0-9A-F-]+)", info).group(1).lower()
    else:
        run_tool(["sfdisk", "-q", disk], stdin=f"label: dos\nlabel-id: {MBR_LABEL_ID}\n"
                 f",8M,83\n,{part_mib}M,83\n")
        start = int(re.search(r"^\S+2\s+(\d+)", run_tool(["sfdisk", "-l", "-o",
                                                              "Device,Start", disk]),
                              re.M).group(1))
        uuid = f"{MBR_LABEL_ID[2:]}-02"
    with open(disk, "r+b") as out, open(core, "rb") as src:
        out.seek(start * 512)
        out.write(src.read(part_mib * MIB))
    return disk, start, uuid


def run_tool(cmd, stdin=None):
    res = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed: {res.stderr.strip()}")
    return res.stdout


def partition_test(scheme, how):
    """The core in partition 2 of a GPT or MBR disk, named by number, PARTUUID or PARTLABEL."""
    def test(c):
        core, entry = c.mkcore(f"{scheme}-{how}.core")
        disk, start, uuid = partitioned_disk(c, f"{scheme}-{how}.img", core, scheme)
        resume = {"number": "ahci:0:2", "partuuid": f"PARTUUID={uuid.upper()}",
                  "partlabel": "PARTLABEL=hibernate"}[how]
        res = c.restore(disk, f"resume={resume} entry=0x{entry:x}")
        if f"on ahci:0 partition 2 at sector {start}" not in res.serial:
            raise Failure(f"not read from partition 2 at sector {start}\n{res.describe()}")
        expect_resumed(res, entry)
    test.__name__ = f"test_{scheme}_partition_by_{how}"
    return test


def test_gpt_partlabel_via_bios(c):
    """PARTLABEL on a GPT IDE disk, which only the BIOS can read: the scan falls back to it."""
    core, entry = c.mkcore("gpt-bios.core")
    disk, start, _ = partitioned_disk(c, "gpt-bios.img", core, "gpt")
    res = c.restore(None, f"resume=PARTLABEL=hibernate entry=0x{entry:x}",
                    disk_args=ide_disk_args(disk))
    if "scanning the BIOS's disks" not in res.serial:
        raise Failure(f"no fallback message\n{res.describe()}")
    if f"on bios:0x80 partition 2 at sector {start}" not in res.serial:
        raise Failure(f"not read through the BIOS from partition 2\n{res.describe()}")
    expect_resumed(res, entry)


def test_resume_auto(c):
    """resume=auto: a blank disk on port 0, the image in partition 2 of the disk on port 1."""
    core, entry = c.mkcore("auto.core")
    disk, _, _ = partitioned_disk(c, "auto.img", core, "gpt")
    blank = c.path("auto-blank.img")
    with open(blank, "wb") as f:
        f.truncate(8 * MIB)
    args = ["-device", "ahci,id=ahci",
            "-drive", f"if=none,id=d0,format=raw,file={blank}", "-device", "ide-hd,drive=d0,bus=ahci.0",
            "-drive", f"if=none,id=d1,format=raw,file={disk}", "-device", "ide-hd,drive=d1,bus=ahci.1"]
    res = c.restore(None, f"entry=0x{entry:x}", disk_args=args)
    if "resume=auto: the image is on ahci:1 partition 2" not in res.serial:
        raise Failure(f"auto did not find partition 2 on port 1\n{res.describe()}")
    expect_resumed(res, entry)


def two_ahci_args(first, second):
    """Two AHCI controllers: `first` on port 1 of the first, `second` on port 0 of the other."""
    return ["-device", "ahci,id=ahci0", "-device", "ahci,id=ahci1",
            "-drive", f"if=none,id=d0,format=raw,file={first}", "-device", "ide-hd,drive=d0,bus=ahci0.1",
            "-drive", f"if=none,id=d1,format=raw,file={second}", "-device", "ide-hd,drive=d1,bus=ahci1.0"]


def test_two_ahci_controllers(c):
    """The image behind the second AHCI controller: ahci:1 counts across controllers in PCI
    order, and resume=auto finds it there too."""
    core, entry = c.mkcore("ahci2.core")
    blank = c.path("ahci2-blank.img")
    with open(blank, "wb") as f:
        f.truncate(8 * MIB)
    args = two_ahci_args(blank, core)
    res = c.restore(None, f"resume=ahci:1 entry=0x{entry:x}", disk_args=args)
    if not re.search(r"jumpback: ahci:1: .* port 0 of AHCI .* controller 00:0[0-9a-f]\.0", res.serial):
        raise Failure(f"ahci:1 is not port 0 of the second controller\n{res.describe()}")
    expect_resumed(res, entry)
    res = c.restore(None, f"entry=0x{entry:x}", disk_args=args)
    if "resume=auto: the image is on ahci:1" not in res.serial:
        raise Failure(f"auto did not find the image behind the second controller\n"
                      f"{res.describe()}")
    if not re.search(r"jumpback: ahci:0: .* port 1 of AHCI", res.serial):
        raise Failure(f"the scan did not list the first controller's disk\n{res.describe()}")
    expect_resumed(res, entry)


def test_resume_auto_ambiguous(c):
    """Two images: resume=auto refuses and lists both."""
    core, entry = c.mkcore("amb.core")
    disk, _, _ = partitioned_disk(c, "amb.img", core, "mbr")
    args = ["-device", "ahci,id=ahci",
            "-drive", f"if=none,id=d0,format=raw,file={core}", "-device", "ide-hd,drive=d0,bus=ahci.0",
            "-drive", f"if=none,id=d1,format=raw,file={disk}", "-device", "ide-hd,drive=d1,bus=ahci.1"]
    res = c.restore(None, f"resume=auto entry=0x{entry:x} onerror=reboot", disk_args=args,
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "2 candidates")
    if "ahci:0 holds an image" not in res.serial or "ahci:1 partition 2 holds an image" not in res.serial:
        raise Failure(f"the candidates are not listed\n{res.describe()}")


def test_partition_too_small(c):
    """The image runs past the end of its partition: a clear error, no jump."""
    core, entry = c.mkcore("small.core")
    disk, _, _ = partitioned_disk(c, "small.img", core, "gpt", image_part_mib=8)
    res = c.restore(disk, f"resume=ahci:0:2 entry=0x{entry:x} onerror=reboot",
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "past the image end")


def test_missing_partition(c):
    core, entry = c.mkcore("nopart.core")
    disk, _, _ = partitioned_disk(c, "nopart.img", core, "mbr")
    res = c.restore(disk, f"resume=ahci:0:7 entry=0x{entry:x} onerror=reboot",
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "has no partition 7")


def grub_iso(c, name, multiboot_line):
    """A GRUB BIOS rescue ISO (grub-mkrescue) whose only entry loads the stub with `multiboot`."""
    root = c.path(name + ".d")
    os.makedirs(os.path.join(root, "boot", "grub"))
    shutil.copy(c.stub, os.path.join(root, "boot", "jumpback.elf"))
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write("set timeout=0\nset default=0\n"
                f'menuentry "jumpback" {{\n  {multiboot_line}\n  boot\n}}\n')
    iso = c.path(name + ".iso")
    res = subprocess.run(["grub-mkrescue", "-o", iso, root], capture_output=True, text=True,
                         timeout=120)
    shutil.rmtree(root)
    if res.returncode != 0:
        raise Failure(f"grub-mkrescue failed: {res.stderr[-500:]}")
    return iso


def grub_test(command):
    """GRUB 2 loads the stub with its `multiboot` or `multiboot2` command from a CD; the
    restore completes (through the BIOS too, since GRUB leaves the firmware usable)."""
    def test(c):
        disk, entry = c.mkcore(f"{command}.img")
        iso = grub_iso(c, command,
                       f"{command} /boot/jumpback.elf resume=ahci:0 entry=0x{entry:x}")
        args = qemu.machine_args() + ["-cdrom", iso, "-boot", "d"] + qemu.ahci_disk_args(disk)
        res = qemu.run(args, RESTORE_TIMEOUT)
        if "jumpback: loader: GRUB" not in res.serial:
            raise Failure(f"not booted by GRUB\n{res.describe()}")
        if "(Multiboot memory map)" not in res.serial:
            raise Failure(f"no memory map from {command}\n{res.describe()}")
        expect_resumed(res, entry)
    test.__name__ = f"test_grub_{command}"
    return test


ISOLINUX_BIN = "/usr/lib/ISOLINUX/isolinux.bin"
SYSLINUX_MODULES = "/usr/lib/syslinux/modules/bios"


def test_isolinux_mboot(c):
    """Another Multiboot loader: ISOLINUX's mboot.c32 (SYSLINUX) boots the stub from a CD."""
    disk, entry = c.mkcore("isolinux.img")
    root = c.path("isolinux.d")
    os.makedirs(os.path.join(root, "isolinux"))
    shutil.copy(ISOLINUX_BIN, os.path.join(root, "isolinux"))
    for module in ("ldlinux.c32", "libcom32.c32", "mboot.c32"):
        shutil.copy(os.path.join(SYSLINUX_MODULES, module), os.path.join(root, "isolinux"))
    shutil.copy(c.stub, os.path.join(root, "jumpback.elf"))
    with open(os.path.join(root, "isolinux", "isolinux.cfg"), "w") as f:
        f.write("DEFAULT resume\nPROMPT 0\nTIMEOUT 0\nLABEL resume\n  KERNEL mboot.c32\n"
                f"  APPEND /jumpback.elf resume=ahci:0 entry=0x{entry:x}\n")
    iso = c.path("isolinux.iso")
    run_tool(["xorriso", "-as", "mkisofs", "-quiet", "-o", iso, "-b", "isolinux/isolinux.bin",
              "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4",
              "-boot-info-table", root])
    shutil.rmtree(root)
    args = qemu.machine_args() + ["-cdrom", iso, "-boot", "d"] + qemu.ahci_disk_args(disk)
    res = qemu.run(args, RESTORE_TIMEOUT)
    if "jumpback: loader: ISOLINUX" not in res.serial:
        raise Failure(f"not booted by ISOLINUX\n{res.describe()}")
    expect_resumed(res, entry)


OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def uefi_args(c):
    """UEFI firmware (OVMF) with a private copy of its variable store."""
    variables = c.path("ovmf-vars.fd")
    shutil.copy(OVMF_VARS, variables)
    return ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,file={variables}"]


def test_uefi_grub_multiboot2(c):
    """On UEFI firmware (OVMF), GRUB EFI loads the stub with multiboot2; the native driver
    restores the image (there is no BIOS: VGA and int 13h are left alone)."""
    disk, entry = c.mkcore("uefi.img")
    iso = grub_iso(c, "uefi", f"multiboot2 /boot/jumpback.elf resume=ahci:0 entry=0x{entry:x}")
    args = (qemu.machine_args("256M") + uefi_args(c) + ["-cdrom", iso]
            + qemu.ahci_disk_args(disk))
    res = qemu.run(args, RESTORE_TIMEOUT)
    expect_resumed(res, entry)


def test_uefi_helper_cpu(c):
    """UEFI (OVMF parks the other CPUs its own way) with two CPUs: the second CPU checks
    chunks of a verified image, and the payload finds every byte. The image's memory map is
    the one the stub prints on this machine."""
    core, entry = c.mkcore("uefi-smp.core", "--big-mb", "40")
    base = qemu.machine_args("256M") + ["-smp", "2"] + uefi_args(c)
    blank = c.path("uefi-blank.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    probe = grub_iso(c, "uefi-smp-probe", "multiboot2 /boot/jumpback.elf resume=ahci:0"
                     " onerror=reboot")
    res = qemu.run(base + ["-cdrom", probe] + qemu.ahci_disk_args(blank), RESTORE_TIMEOUT)
    memmap = c.path("uefi-memmap.txt")
    with open(memmap, "w") as f:
        f.write(qemu.memmap_text(qemu.stub_ram(res.serial)))
    image = jbwrite(c, core, c.path("uefi-smp.img"), entry, memmap)
    iso = grub_iso(c, "uefi-smp", "multiboot2 /boot/jumpback.elf resume=ahci:0")
    res = qemu.run(base + ["-cdrom", iso] + qemu.ahci_disk_args(image), RESTORE_TIMEOUT)
    expect_resumed(res, entry)
    expect_helped(res, 2)


def test_uefi_no_bios(c):
    """resume=bios: on a UEFI machine: a clear error instead of a call into nothing."""
    disk, entry = c.mkcore("uefi-bios.img")
    iso = grub_iso(c, "uefi-bios",
                   f"multiboot2 /boot/jumpback.elf resume=bios:0x80 entry=0x{entry:x}"
                   " onerror=reboot")
    args = (qemu.machine_args("256M") + uefi_args(c) + ["-cdrom", iso]
            + qemu.ahci_disk_args(disk))
    expect_error(qemu.run(args, RESTORE_TIMEOUT), "booted through UEFI")


# ---- virtio-blk: modern-only and transitional devices -----------------------------------
VIRTIO_KINDS = {
    # disable-legacy=on: a virtio 1.0 device (1af4:1042) with no legacy I/O BAR
    "modern": lambda drive: ["-device", f"virtio-blk-pci,drive={drive},disable-legacy=on"],
    # what `-drive if=virtio` makes on the pc machine: transitional (1af4:1001), both faces
    "transitional": lambda drive: ["-device", f"virtio-blk-pci,drive={drive}"],
}


def virtio_disks(kind, *paths, drive_specs=None):
    """One virtio-blk device of this kind per disk, in PCI order."""
    args = []
    for i, path in enumerate(paths):
        spec = (drive_specs or {}).get(i, f"if=none,id=v{i},format=raw,file={path}")
        args += ["-drive", spec] + VIRTIO_KINDS[kind](f"v{i}")
    return args


def virtio_modern_disk(path):
    return virtio_disks("modern", path)


def virtio_transitional_disk(path):
    return virtio_disks("transitional", path)


VIRTIO_DISK_FNS = {"modern": virtio_modern_disk, "transitional": virtio_transitional_disk}


def virtio_dump_guest(c, kind, mem="128M", disk_fn=None):
    """A real QEMU-written core of the running test payload, taken on a machine with one
    virtio-blk disk of this kind, as the restoring machine has (SeaBIOS's virtio-blk support
    takes RAM of its own, so the memory map depends on it). Returns (core path, entry)."""
    dump, blank = c.path("virtio-guest.core"), c.path("virtio-blank.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    args = (qemu.machine_args(mem) + qemu.kernel_args(c.payload, f"seed={c.seed}")
            + (disk_fn(blank) if disk_fn else virtio_disks(kind, blank)))
    ready = r"^jbtest: ready entry=(0x[0-9a-f]+) begin=(0x[0-9a-f]+) length=(0x[0-9a-f]+)"
    match, res = qemu.dump_guest(args, RESTORE_TIMEOUT, ready, dump,
                                 lambda m: (int(m.group(2), 16), int(m.group(3), 16)))
    if not match or not os.path.exists(dump):
        raise Failure(f"the guest did not get ready or no dump was written\n{res.describe()}")
    os.chmod(dump, 0o644)  # QEMU writes it owner-read-only
    qemu.pad_to_sectors(dump)
    return dump, int(match.group(1), 16)


def expect_virtio_disk(res, kind):
    """The stub drove the disk natively, through the face of the device asked for, with
    several requests in flight."""
    m = re.search(rf"^jumpback: virtio:0: virtio-blk.* virtio 1\.0 {kind} device .*, (\d+)"
                  rf" requests of (\d+) KiB in flight$", res.serial, re.M)
    if not m:
        raise Failure(f"no 'virtio:0: ... virtio 1.0 {kind} device' line\n{res.describe()}")
    if int(m.group(1)) < 2 or int(m.group(2)) == 0:
        raise Failure(f"{m.group(1)} requests of {m.group(2)} KiB in flight: QEMU's queue"
                      f" holds several\n{res.describe()}")


def virtio_dump_test(kind):
    """A real QEMU-written core on a virtio-blk disk: raw by resume=virtio:0, raw in a GPT
    partition by PARTLABEL=, and as a jumpback image found by resume=auto, marked used and
    refused on a second boot."""
    def test(c):
        disk_fn = VIRTIO_DISK_FNS[kind]
        dump, entry = virtio_dump_guest(c, kind)
        res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x}", disk_args=disk_fn(dump))
        expect_virtio_disk(res, kind)
        expect_resumed(res, entry)

        disk, start, _ = partitioned_disk(c, "virtio-gpt.img", dump, "gpt")
        res = c.restore(None, f"resume=PARTLABEL=hibernate entry=0x{entry:x}",
                        disk_args=disk_fn(disk))
        if f"on virtio:0 partition 2 at sector {start}" not in res.serial:
            raise Failure(f"not read from partition 2 at sector {start}\n{res.describe()}")
        expect_resumed(res, entry)

        image = jbwrite(c, dump, c.path("virtio.jbi"), entry, machine_memmap(c, "128M", disk_fn))
        disk, _, _ = partitioned_disk(c, "virtio-jbi.img", image, "gpt")
        res = c.restore(None, "resume=auto", disk_args=disk_fn(disk))
        if "resume=auto: the image is on virtio:0 partition 2" not in res.serial:
            raise Failure(f"auto did not find the image\n{res.describe()}")
        if "jumpback: image marked used" not in res.serial:
            raise Failure(f"no 'image marked used' line\n{res.describe()}")
        expect_resumed(res, entry)
        res = c.restore(None, "resume=virtio:0:2 onerror=reboot", disk_args=disk_fn(disk),
                        timeout=ERROR_TIMEOUT)
        expect_error(res, "resumed once already")
    test.__name__ = f"test_virtio_{kind}_qemu_dump"
    return test


def test_virtio_image_on_second_disk(c):
    """Two modern virtio-blk disks in PCI order: resume=virtio:1 reads the image on the
    second, whole-disk, and marks it used there (write + flush)."""
    blank = c.path("virtio-two-blank.img")
    with open(blank, "wb") as f:
        f.truncate(8 * MIB)

    def virtio_two_disks(path):  # the memory map depends on both devices
        return virtio_disks("modern", blank, path)

    image, entry, _ = make_image(c, "virtio-two", disk_args_fn=virtio_two_disks)
    res = c.restore(None, "resume=virtio:1", disk_args=virtio_two_disks(image))
    if "jumpback: image: jumpback image of kernel" not in res.serial:
        raise Failure(f"the image header was not recognised\n{res.describe()}")
    expect_resumed(res, entry)
    expect_used(image)


def test_virtio_above_4g(c):
    """A 5 GiB guest with data above 4 GiB: the requests' 64-bit descriptors take the device's
    DMA straight there, and the 64-bit payload checks it."""
    disk, entry = c.mkcore("virtio-high.img", "--layout", "high", "--machine", "x86_64",
                           payload=c.payload64)
    res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x}", mem="5G",
                    disk_args=virtio_modern_disk(disk))
    if not re.search(r"^jbtest: region \d+ ok: 0x1[0-9a-f]{8}\+", res.serial, re.M):
        raise Failure(f"no region above 4 GiB was checked\n{res.describe()}")
    expect_virtio_disk(res, "modern")
    expect_resumed(res, entry, bits=64)


def test_virtio_auto_among_other_kinds(c):
    """AHCI, NVMe and virtio-blk disks on one machine, the image only on the virtio one (in a
    GPT partition): resume=auto scans every native disk, finds it, and marks it used."""
    blank_ahci, blank_nvme = c.path("mixed-ahci.img"), c.path("mixed-nvme.img")
    for path in (blank_ahci, blank_nvme):
        with open(path, "wb") as f:
            f.truncate(8 * MIB)

    def mixed_disks(path):  # the memory map depends on every controller
        return (qemu.ahci_disk_args(blank_ahci)
                + ["-drive", f"if=none,id=n0,format=raw,file={blank_nvme}",
                   "-device", "nvme,serial=jbmixed,drive=n0"]
                + virtio_modern_disk(path))

    image, entry, _ = make_image(c, "mixed", disk_args_fn=mixed_disks)
    disk, start, _ = partitioned_disk(c, "mixed-virtio.img", image, "gpt")
    res = c.restore(None, "resume=auto", disk_args=mixed_disks(disk))
    expect_scanned(res, ("ahci:0", "nvme:0", "virtio:0"))
    if "resume=auto: the image is on virtio:0 partition 2" not in res.serial:
        raise Failure(f"auto did not find the image on the virtio disk\n{res.describe()}")
    expect_resumed(res, entry)
    expect_used(disk, start * 512)


def test_virtio_quiesced_at_handoff(c):
    """Before the jump the device is reset and its bus mastering is off, so it cannot DMA into
    the resumed kernel: QEMU's trace of device status and PCI configuration writes shows the
    last status written is 0 and the last command register written has bus master clear."""
    disk, entry = c.mkcore("virtio-quiesce.img")
    args = (virtio_modern_disk(disk)
            + ["-trace", "virtio_set_status", "-trace", "pci_cfg_write"])
    res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x}", disk_args=args)
    expect_resumed(res, entry)
    status = re.findall(r"virtio_set_status vdev \S+ val (\d+)", res.serial)
    if not status or status[-1] != "0" or "15" not in status:
        raise Failure(f"device status writes {status[-6:]}: want DRIVER_OK (15) and, last,"
                      f" a reset (0)\n{res.describe()}")
    command = re.findall(r"pci_cfg_write virtio-blk\S* \d+:\d+\.\d+ @0x4 <- 0x([0-9a-f]+)",
                         res.serial)
    if not command or int(command[-1], 16) & 0x4:
        raise Failure(f"the last command register write ({command[-1:]}) leaves bus"
                      f" mastering on\n{res.describe()}")


def virtio_blkdebug_args(c, disk, sector, once):
    cfg = c.path(f"virtio-blkdebug-{sector}-{once}.cfg")
    with open(cfg, "w") as f:
        f.write('[inject-error]\nevent = "read_aio"\nerrno = "5"\n'
                f'sector = "{sector}"\nonce = "{"on" if once else "off"}"\n')
    return virtio_disks("modern", disk, drive_specs={
        0: f"if=none,id=v0,format=raw,file=blkdebug:{cfg}:{disk}"})


def test_virtio_disk_errors(c):
    """Injected read errors on a virtio-blk disk (QEMU blkdebug): a one-time error is read
    again and the restore completes; a sector that never reads gives an error naming it, and
    no jump."""
    disk, entry = c.mkcore("virtio-ioerr.img")
    sector = 20000
    res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x}",
                    disk_args=virtio_blkdebug_args(c, disk, sector, once=True))
    if not re.search(r"^jumpback: warning: virtio:0: read at LBA \d+ \(\+\d+ sectors\) failed",
                     res.serial, re.M):
        raise Failure(f"no warning for the injected error\n{res.describe()}")
    expect_resumed(res, entry)
    expect_lba_named(res, sector)
    res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x} onerror=reboot",
                    disk_args=virtio_blkdebug_args(c, disk, sector, once=False),
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "VIRTIO_BLK_S_IOERR")
    expect_lba_named(res, sector)
    if not re.search(rf"^jumpback: error: .*virtio:0: read at LBA \d+ \(\+\d+ sectors\) failed",
                     res.serial, re.M):
        raise Failure(f"the error does not name the failed request\n{res.describe()}")


def virtio_uefi_test(kind):
    """UEFI (OVMF) and GRUB EFI multiboot2 restore from a virtio-blk disk. OVMF puts the
    device's 64-bit BAR above 4 GiB, out of the stub's reach: the registers go through the
    PCI configuration access capability."""
    def test(c):
        disk, entry = c.mkcore(f"virtio-uefi-{kind}.img")
        iso = grub_iso(c, f"virtio-uefi-{kind}",
                       f"multiboot2 /boot/jumpback.elf resume=virtio:0 entry=0x{entry:x}")
        args = (qemu.machine_args("256M") + uefi_args(c) + ["-cdrom", iso]
                + VIRTIO_DISK_FNS[kind](disk))
        res = qemu.run(args, RESTORE_TIMEOUT)
        expect_virtio_disk(res, kind)
        if "registers through PCI configuration space" not in res.serial:
            raise Failure(f"the registers were not reached through PCI configuration space (did"
                          f" OVMF place the BAR below 4 GiB?)\n{res.describe()}")
        expect_resumed(res, entry)
    test.__name__ = f"test_virtio_uefi_grub_multiboot2_{kind}"
    return test


def test_virtio_legacy_only_left_to_bios(c):
    """A legacy-only virtio-blk device (no virtio 1.0 interface) is not a native disk:
    resume=virtio:0 says why, and resume=auto reads it through the BIOS."""
    disk, entry = c.mkcore("virtio-legacy.img")
    args = ["-drive", f"if=none,id=v0,format=raw,file={disk}",
            "-device", "virtio-blk-pci,drive=v0,disable-modern=on"]
    res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x} onerror=reboot", disk_args=args,
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "no virtio-blk disk 0: 1 legacy-only virtio-blk device")
    res = c.restore(None, f"entry=0x{entry:x}", disk_args=args)
    if not re.search(r"^jumpback: no native disk found \(.*legacy-only virtio-blk device.*\);"
                     r" scanning the BIOS's disks", res.serial, re.M):
        raise Failure(f"no fallback to the BIOS naming the legacy device\n{res.describe()}")
    if "resume=auto: the image is on bios:0x80" not in res.serial:
        raise Failure(f"the image was not read through the BIOS\n{res.describe()}")
    expect_resumed(res, entry)


def test_virtio_4k_blocks(c):
    """A modern virtio-blk disk of 4096-byte logical blocks (blk_size): a real QEMU-written
    core raw by resume=virtio:0, then as a jumpback image in a GPT partition of 4 KiB blocks
    found by PARTLABEL=, marked used (a whole-block write and flush) and refused on a second
    boot."""
    def disk4k(path):
        return ["-drive", f"if=none,id=v0,format=raw,file={path}",
                "-device", "virtio-blk-pci,drive=v0,disable-legacy=on,logical_block_size=4096,"
                           "physical_block_size=4096"]

    dump, entry = virtio_dump_guest(c, "modern", disk_fn=disk4k)
    pad_to(dump, 4096)
    res = c.restore(None, f"resume=virtio:0 entry=0x{entry:x}", disk_args=disk4k(dump))
    expect_disk_line(res, "virtio:0", 4096)
    expect_resumed(res, entry)

    image = jbwrite(c, dump, c.path("virtio4k.jbi"), entry, machine_memmap(c, "128M", disk4k))
    disk, start = gpt_disk(c, "virtio4k-gpt.img", image, 4096)
    res = c.restore(None, "resume=PARTLABEL=hibernate", disk_args=disk4k(disk))
    if "PARTLABEL=hibernate: the image is on virtio:0 partition 2" not in res.serial:
        raise Failure(f"PARTLABEL= did not find partition 2\n{res.describe()}")
    if f"image marked used on virtio:0 partition 2 (LBA {start})" not in res.serial:
        raise Failure(f"the mark was not written at 4 KiB block {start}\n{res.describe()}")
    expect_resumed(res, entry)
    expect_used(disk, start * 4096)
    res = c.restore(None, "resume=virtio:0:2 onerror=reboot", disk_args=disk4k(disk),
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "resumed once already")


VIRTIO_TESTS = [
    virtio_dump_test("modern"),
    virtio_dump_test("transitional"),
    test_virtio_image_on_second_disk,
    test_virtio_above_4g,
    test_virtio_auto_among_other_kinds,
    test_virtio_4k_blocks,
    test_virtio_quiesced_at_handoff,
    test_virtio_disk_errors,
    virtio_uefi_test("modern"),
    virtio_uefi_test("transitional"),
    test_virtio_legacy_only_left_to_bios,
]


# ---- NVMe, 4096-byte sectors, several kinds of disk --------------------------------------
def nvme_disk_args(path, block=512, index=0, drive=None):
    """A raw disk as the namespace of NVMe controller `index`, with logical blocks of `block`."""
    spec = drive or f"if=none,id=n{index},format=raw,file={path}"
    return ["-drive", spec, "-device",
            f"nvme,serial=jbnvme{index},drive=n{index},logical_block_size={block},"
            f"physical_block_size={block}"]


def nvme512(path):
    return nvme_disk_args(path, 512)


def nvme4k(path):
    return nvme_disk_args(path, 4096)


NVME_SHAPES = {512: nvme512, 4096: nvme4k}


def pad_to(path, block):
    size = os.path.getsize(path)
    if size % block:
        with open(path, "r+b") as f:
            f.truncate(size + block - size % block)


def expect_disk_line(res, name, block):
    if not re.search(rf"^jumpback: {name}: .* sectors of {block} bytes", res.serial, re.M):
        raise Failure(f"no '{name}: ... sectors of {block} bytes' line\n{res.describe()}")


def nvme_dump_test(block):
    """A real core written by QEMU's dump-guest-memory of a guest with an NVMe disk, raw on a
    namespace of `block`-byte blocks, restored by resume=nvme:0."""
    def test(c):
        shape = NVME_SHAPES[block]
        dump, entry = dump_running_guest(c, "128M", disk_args_fn=shape)
        pad_to(dump, block)
        res = c.restore(None, f"resume=nvme:0 entry=0x{entry:x}", disk_args=shape(dump))
        expect_disk_line(res, "nvme:0", block)
        expect_resumed(res, entry)
    test.__name__ = f"test_nvme{block}_qemu_dump"
    return test


def nvme_image_test(block):
    """A jumpback image of a real QEMU-written core on an NVMe namespace of `block`-byte
    blocks: resumed by resume=nvme:0 with no entry=, marked used (Write + Flush of the block
    holding the header), refused on a second boot."""
    def test(c):
        shape = NVME_SHAPES[block]
        dump, entry = dump_running_guest(c, "128M", disk_args_fn=shape)
        image = jbwrite(c, dump, c.path("nvme.jbi"), entry, machine_memmap(c, "128M", shape))
        pad_to(image, block)
        res = c.restore(None, "resume=nvme:0", disk_args=shape(image))
        if "jumpback: image marked used on nvme:0 (LBA 0)" not in res.serial:
            raise Failure(f"the image was not marked used on nvme:0\n{res.describe()}")
        expect_resumed(res, entry)
        expect_used(image)
        res = c.restore(None, "resume=nvme:0 onerror=reboot", disk_args=shape(image),
                        timeout=ERROR_TIMEOUT)
        expect_error(res, "resumed once already")
    test.__name__ = f"test_nvme{block}_image_marked_used"
    return test


def gpt_disk(c, name, core, block):
    """A disk of `block`-byte blocks with GPT partitions "other" (1 MiB) and "hibernate" (the
    core, at a 2 MiB boundary). Returns (disk, first LBA of partition 2)."""
    core_mib = (os.path.getsize(core) + MIB - 1) // MIB
    disk = c.path(name)
    with open(disk, "wb") as f:
        f.truncate((core_mib + 6) * MIB)
    start = 2 * MIB // block
    gpt.write_gpt(disk, block, [(MIB // block, MIB // block, "other"),
                                (start, (core_mib + 1) * MIB // block, "hibernate")])
    with open(disk, "r+b") as out, open(core, "rb") as src:
        out.seek(start * block)
        shutil.copyfileobj(src, out)
    return disk, start


def nvme_partition_test(block):
    """A jumpback image in GPT partition 2 of an NVMe namespace of `block`-byte blocks (the GPT
    header at LBA 1 = byte `block`): found by PARTLABEL= and by auto, a resume_offset= in
    512-byte units on top."""
    def test(c):
        shape = NVME_SHAPES[block]
        image, entry, _ = make_image(c, f"nvme-gpt{block}", disk_args_fn=shape)
        disk, start = gpt_disk(c, f"nvme-gpt{block}-disk.img", image, block)
        partinfo = subprocess.run([os.path.join(c.build, "tools", "partinfo")]
                                  + (["--4k"] if block == 4096 else []) + [disk],
                                  capture_output=True, text=True, timeout=60)
        if not re.search(rf"^2 +{start} +\d+ .*hibernate$", partinfo.stdout, re.M):
            raise Failure(f"partinfo does not read partition 2 at LBA {start}:\n"
                          f"{partinfo.stdout}{partinfo.stderr}")
        res = c.restore(None, "resume=PARTLABEL=hibernate keep", disk_args=shape(disk))
        if "PARTLABEL=hibernate: the image is on nvme:0 partition 2" not in res.serial:
            raise Failure(f"PARTLABEL= did not find partition 2\n{res.describe()}")
        expect_resumed(res, entry)
        res = c.restore(None, "", disk_args=shape(disk))
        if "resume=auto: the image is on nvme:0 partition 2" not in res.serial:
            raise Failure(f"auto did not find the image\n{res.describe()}")
        expect_resumed(res, entry)
        with open(disk, "rb") as f:
            f.seek(start * block + 12)
            if f.read(4) != b"USED":
                raise Failure("the image in the partition was not marked used")
        # The same image 3 x 512 bytes into the partition: inside a 4 KiB block on 4Kn.
        moved, _ = gpt_disk(c, f"nvme-off{block}.img", image, block)
        with open(moved, "r+b") as f, open(image, "rb") as src:
            f.seek(start * block)
            f.write(bytes(1536))
            shutil.copyfileobj(src, f)
        res = c.restore(None, "resume=nvme:0:2 resume_offset=3", disk_args=shape(moved))
        expect_resumed(res, entry)
        with open(moved, "rb") as f:
            f.seek(start * block + 1536 + 12)
            if f.read(4) != b"USED":
                raise Failure("the image at resume_offset=3 was not marked used")
    test.__name__ = f"test_nvme{block}_gpt_partlabel_auto_offset"
    return test


def test_bios_4kn_nvme(c):
    """The BIOS path on a 4Kn NVMe namespace (driver=bios): SeaBIOS reports 4096 bytes per
    sector (AH=48h); a jumpback image is found by auto, restored and marked used (AH=43h)."""
    image, entry, _ = make_image(c, "bios4k", disk_args_fn=nvme4k)
    pad_to(image, 4096)
    res = c.restore(None, "driver=bios", disk_args=nvme4k(image))
    expect_disk_line(res, "bios:0x80", 4096)
    if "resume=auto: the image is on bios:0x80" not in res.serial:
        raise Failure(f"auto did not find the image through the BIOS\n{res.describe()}")
    if "nvme:0" in res.serial:
        raise Failure(f"driver=bios touched the NVMe controller\n{res.describe()}")
    expect_resumed(res, entry)
    expect_used(image)


def ahci_nvme_args(ahci_path, nvme_paths, block=512):
    args = qemu.ahci_disk_args(ahci_path)
    for i, path in enumerate(nvme_paths):
        args += nvme_disk_args(path, block, index=i)
    return args


def test_ahci_and_nvme_auto(c):
    """A machine with an AHCI disk and two NVMe controllers: auto scans all three disks and
    finds the one image, behind the second NVMe controller (nvme:1); then on the AHCI disk,
    with an NVMe disk opened and stopped before it."""
    core, entry = c.mkcore("mixed.core")
    blank, blank2 = c.path("mixed-blank.img"), c.path("mixed-blank2.img")
    for path in (blank, blank2):
        with open(path, "wb") as f:
            f.truncate(8 * MIB)
    res = c.restore(None, f"entry=0x{entry:x}", disk_args=ahci_nvme_args(blank, [blank2, core]))
    expect_scanned(res, ("ahci:0", "nvme:0", "nvme:1"))
    if "resume=auto: the image is on nvme:1" not in res.serial:
        raise Failure(f"auto did not find the image on nvme:1\n{res.describe()}")
    expect_resumed(res, entry)
    res = c.restore(None, f"entry=0x{entry:x}", disk_args=ahci_nvme_args(core, [blank]))
    if "resume=auto: the image is on ahci:0" not in res.serial:
        raise Failure(f"auto did not find the image on ahci:0\n{res.describe()}")
    expect_resumed(res, entry)
    res = c.restore(None, f"resume=nvme:2 entry=0x{entry:x} onerror=reboot",
                    disk_args=ahci_nvme_args(blank, [blank2, core]), timeout=ERROR_TIMEOUT)
    expect_error(res, "no NVMe disk 2: the machine has 2")


def nvme_blkdebug_args(c, disk, sector, once, block=4096):
    cfg = c.path(f"nvme-blkdebug-{sector}-{once}.cfg")
    with open(cfg, "w") as f:
        f.write('[inject-error]\nevent = "read_aio"\nerrno = "5"\n'
                f'sector = "{sector}"\nonce = "{"on" if once else "off"}"\n')
    return nvme_disk_args(disk, block,
                          drive=f"if=none,id=n0,format=raw,file=blkdebug:{cfg}:{disk}")


def test_nvme_disk_errors(c):
    """blkdebug read errors on a 4Kn NVMe namespace: a transient one is retried and the
    restore completes; a persistent one is reported with the LBA of the command holding it
    (in 4 KiB blocks) and the decoded status, and nothing is jumped to."""
    disk, entry = c.mkcore("nvme-ioerr.img")
    pad_to(disk, 4096)
    sector = 20000  # in 512-byte units, as blkdebug counts
    res = c.restore(None, f"resume=nvme:0 entry=0x{entry:x}",
                    disk_args=nvme_blkdebug_args(c, disk, sector, once=True))
    if not re.search(r"^jumpback: warning: nvme:0: read at LBA \d+ .*unrecovered read error"
                     r".*attempt 1 of 3", res.serial, re.M):
        raise Failure(f"no retry warning for the injected error\n{res.describe()}")
    expect_resumed(res, entry)
    res = c.restore(None, f"resume=nvme:0 entry=0x{entry:x} onerror=reboot",
                    disk_args=nvme_blkdebug_args(c, disk, sector, once=False),
                    timeout=ERROR_TIMEOUT)
    expect_error(res, "unrecovered read error")
    block = sector * 512 // 4096
    for lba, count in re.findall(r"at LBA (\d+) \(\+(\d+) sectors\) failed", res.serial):
        if not int(lba) <= block < int(lba) + int(count):
            raise Failure(f"an error names LBA {lba} (+{count}), not the one holding block"
                          f" {block}\n{res.describe()}")


def test_nvme_transfer_limits(c):
    """The controller's transfer limit (MDTS) splits each read into commands in flight
    together: 8 KiB per command (QEMU mdts=1, two pages: PRP2 is the second page), and no
    limit (mdts=0: 2 MiB per command, a full PRP list page); a verified image restores with
    both."""
    image, entry, _ = make_image(c, "nvme-mdts", disk_args_fn=nvme512)
    for mdts, per_cmd in ((1, 8), (0, 2048)):
        drive = f"if=none,id=n0,format=raw,file={image}"
        args = ["-drive", drive, "-device", f"nvme,serial=jbnvme0,drive=n0,mdts={mdts}"]
        res = c.restore(None, "resume=nvme:0 keep", disk_args=args)
        if not re.search(rf"^jumpback: nvme:0: .*, {per_cmd} KiB per command$", res.serial,
                         re.M):
            raise Failure(f"mdts={mdts}: not {per_cmd} KiB per command\n{res.describe()}")
        expect_resumed(res, entry)


NVME_TRACES = ["pci_nvme_mmio_start_success", "pci_nvme_mmio_stopped", "pci_nvme_del_sq",
               "pci_nvme_del_cq", "pci_nvme_mmio_shutdown_set", "pci_cfg_write"]


def test_nvme_handoff_shutdown(c):
    """At the hand-off the NVMe controller is stopped cleanly, as QEMU's own trace of the
    device shows: after the stub's last enable, the I/O queues are deleted, CC.SHN is set,
    the controller is disabled, and bus mastering is turned off; then kernel A runs."""
    disk, entry = c.mkcore("nvme-shn.img")
    args = nvme512(disk)
    for event in NVME_TRACES:
        args += ["-trace", event]
    res = c.restore(None, f"resume=nvme:0 entry=0x{entry:x}", disk_args=args)
    expect_resumed(res, entry)
    trace = [line for line in res.serial.split("[qemu stderr]", 1)[-1].splitlines()
             if line.startswith("pci_nvme") or " nvme " in line and "@0x4 <-" in line]
    starts = [i for i, line in enumerate(trace) if "mmio_start_success" in line]
    if not starts:
        raise Failure(f"no trace of the controller being enabled\n{res.describe()}")
    after = [line.split()[0] if line.startswith("pci_nvme") else
             "bus master " + ("on" if int(line.split("<- ")[1], 16) & 4 else "off")
             for line in trace[starts[-1] + 1:]]
    want = ["pci_nvme_del_sq", "pci_nvme_del_cq", "pci_nvme_mmio_shutdown_set",
            "pci_nvme_mmio_stopped", "bus master off"]
    if after != want:
        raise Failure(f"after the last enable the device saw {after}, want {want}")


def test_uefi_nvme(c):
    """On UEFI firmware (OVMF), GRUB EFI loads the stub with multiboot2; the NVMe driver takes
    the controller from the firmware and restores the image."""
    disk, entry = c.mkcore("uefi-nvme.img")
    pad_to(disk, 4096)
    iso = grub_iso(c, "uefi-nvme", f"multiboot2 /boot/jumpback.elf resume=nvme:0 entry=0x{entry:x}")
    args = qemu.machine_args("256M") + uefi_args(c) + ["-cdrom", iso] + nvme4k(disk)
    res = qemu.run(args, RESTORE_TIMEOUT)
    expect_disk_line(res, "nvme:0", 4096)
    expect_resumed(res, entry)


TESTS = [
    test_restore_elf64_i386,
    test_restore_elf32,
    test_restore_page_offsets,
    test_restore_mode32_of_x86_64_core,
    test_restore_other_port_and_offset,
    test_dryrun_reads_and_stops,
    test_vga_screen_matches_serial,
    bad_image_test("magic", "no ELF magic"),
    bad_image_test("truncate", "truncated"),
    bad_image_test("outside-ram", "not inside usable RAM"),
    bad_image_test("overlap-differ", "holds different data"),
    bad_image_test("compressed", "kdump-compressed"),
    bad_image_test("no-hole", "no free hole"),
    test_restore_over_stub_staged,
    test_restore_64bit,
    test_restore_cover_stub_32,
    test_restore_cover_stub_64,
    test_restore_above_4g,
    test_restore_above_4g_bios,
    test_restore_pae,
    test_pae_mismatch_detected,
    returned_test(32),
    returned_test(64),
    test_image_restores_and_is_marked_used,
    test_image_keep,
    test_image_64bit,
    test_image_hash_loops,
    test_image_via_bios,
    test_image_checksum_mismatch,
    test_image_table_damaged_and_old_versions,
    test_image_dryrun_verifies,
    test_image_helper_cpu,
    test_image_helper_finds_damage,
    test_image_verify_off,
    test_image_memmap_differs,
    test_image_header_damaged,
    test_image_auto_skips_used,
    test_qemu_dump_image_flow,
    test_error_no_entry,
    test_error_entry_outside_image,
    test_error_no_such_disk,
    test_error_bad_cmdline,
    test_disk_error_retried,
    test_disk_error_persistent,
    test_image_disk_error_in_flight,
    test_qemu_dump_guest_memory,
    test_qemu_dump_64bit_guest,
    test_qemu_dump_over_stub,
    test_qemu_dump_partlabel,
    test_restore_bios_ide,
    test_restore_bios_ahci,
    test_qemu_dump_bios_ide,
    test_error_no_bios_disk,
    grub_test("multiboot"),
    grub_test("multiboot2"),
    test_isolinux_mboot,
    test_uefi_grub_multiboot2,
    test_uefi_helper_cpu,
    test_uefi_no_bios,
    partition_test("gpt", "number"),
    partition_test("gpt", "partuuid"),
    partition_test("gpt", "partlabel"),
    partition_test("mbr", "number"),
    partition_test("mbr", "partuuid"),
    test_gpt_partlabel_via_bios,
    test_resume_auto,
    test_resume_auto_ambiguous,
    test_two_ahci_controllers,
    nvme_dump_test(512),
    nvme_dump_test(4096),
    nvme_image_test(512),
    nvme_image_test(4096),
    nvme_partition_test(512),
    nvme_partition_test(4096),
    test_bios_4kn_nvme,
    test_ahci_and_nvme_auto,
    test_nvme_disk_errors,
    test_nvme_transfer_limits,
    test_nvme_handoff_shutdown,
    test_uefi_nvme,
    test_partition_too_small,
    test_missing_partition,
] + VIRTIO_TESTS


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seed", type=int, default=None, help="data seed (default: random)")
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1, 2**31)
    print(f"qemu tests: seed {seed} (rerun with --seed {seed})")
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="jbtest-") as tmp:
        c = Ctx(args.build, tmp, seed)
        for t in TESTS:
            if args.k not in t.__name__:
                continue
            start = time.monotonic()
            try:
                t(c)
                passed += 1
                print(f"PASS {t.__name__} ({time.monotonic() - start:.1f}s)", flush=True)
            except Failure as e:
                failed += 1
                print(f"FAIL {t.__name__} ({time.monotonic() - start:.1f}s): {e}", flush=True)
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
