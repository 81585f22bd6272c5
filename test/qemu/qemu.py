"""Running QEMU for jumpback's tests, demo and benchmarks: one bounded run, serial captured."""
import concurrent.futures
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
# isa-debug-exit: the test payload writes 0x10 (pass) or 0x11 (fail); QEMU exits value*2+1.
EXIT_PAYLOAD_PASS = 0x10 * 2 + 1
EXIT_PAYLOAD_FAIL = 0x11 * 2 + 1


def machine_args(mem="128M"):
    """A headless TCG machine that exits instead of rebooting and has the exit device."""
    return ["-accel", "tcg", "-m", mem, "-no-reboot", "-display", "none", "-nic", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


def ahci_disk_args(path, port=0, drive=None):
    """A raw disk on port `port` of one AHCI controller; `drive` overrides the -drive spec."""
    spec = drive or f"if=none,id=d{port},format=raw,file={path}"
    return ["-device", "ahci,id=ahci", "-drive", spec,
            "-device", f"ide-hd,drive=d{port},bus=ahci.{port}"]


def kernel_args(kernel, append):
    return ["-kernel", kernel, "-append", append]


class Result:
    def __init__(self, status, serial, timed_out, seconds, marks=None):
        self.status = status
        self.serial = serial
        self.timed_out = timed_out
        self.seconds = seconds
        self.marks = marks or {}  # name: seconds from start when its regex first showed up

    def lines(self, prefix):
        return [l for l in self.serial.splitlines() if l.startswith(prefix)]

    def describe(self):
        tail = "\n".join(self.serial.splitlines()[-12:])
        state = "timed out" if self.timed_out else f"exit status {self.status}"
        return f"QEMU {state} after {self.seconds:.1f}s; serial tail:\n{tail}"


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# SeaBIOS's first line on its debug port (0x402): the emulated machine is powered on.
FIRMWARE_STARTS = r"^SeaBIOS \(version"


def run(args, timeout, until=None, marks=None, firmware_log=False):
    """Runs QEMU with serial to a file. Stops it when it exits, when `until` (a regex) shows up
    on serial, or after `timeout` seconds. Only the process started here is ever killed.
    marks ({name: regex}, for benchmarks) notes when each regex first shows up on serial, to
    within the 50 ms poll. firmware_log: the firmware's debug port (isa-debugcon at 0x402)
    writes into the same file, interleaved with the serial port's output (FIRMWARE_STARTS)."""
    seen = {}
    with tempfile.TemporaryDirectory(prefix="jbq-") as tmp:
        serial_path = os.path.join(tmp, "serial.txt")
        if firmware_log:
            out = ["-chardev", f"file,id=jbout,path={serial_path},mux=on", "-serial",
                   "chardev:jbout", "-device", "isa-debugcon,iobase=0x402,chardev=jbout"]
        else:
            out = ["-serial", f"file:{serial_path}"]
        cmd = [QEMU] + args + out + ["-monitor", "none"]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        timed_out = False
        try:
            while proc.poll() is None:
                if time.monotonic() - start > timeout:
                    timed_out = True
                    break
                text = _read(serial_path) if until or marks else ""
                for name, regex in (marks or {}).items():
                    if name not in seen and re.search(regex, text, re.M):
                        seen[name] = time.monotonic() - start
                if until and re.search(until, text, re.M):
                    break
                time.sleep(0.05)
        finally:
            _kill(proc)
        err = proc.stderr.read().decode(errors="replace")
        serial = _read(serial_path)
        if err.strip():
            serial += "\n[qemu stderr] " + err.strip()
        return Result(proc.returncode, serial, timed_out, time.monotonic() - start, seen)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace").replace("\r", "")
    except FileNotFoundError:
        return ""


class Monitor:
    """The HMP monitor over a UNIX socket: send a command, read up to the next prompt."""

    def __init__(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._until_prompt(timeout)

    def _until_prompt(self, timeout):
        self.sock.settimeout(timeout)
        buf = b""
        while not buf.rstrip().endswith(b"(qemu)"):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")

    def command(self, text, timeout):
        self.sock.sendall(text.encode() + b"\n")
        return self._until_prompt(timeout)

    def close(self):
        self.sock.close()


def run_then_monitor(args, timeout, ready, commands):
    """Boots a guest, waits for the `ready` regex on serial, then sends the monitor the HMP
    commands that commands(match) lists, each given what is left of the timeout. Returns
    (match, Result, the monitor's replies); match is None if `ready` never came."""
    with tempfile.TemporaryDirectory(prefix="jbd-") as tmp:
        serial_path = os.path.join(tmp, "serial.txt")
        mon_path = os.path.join(tmp, "mon.sock")
        cmd = [QEMU] + args + ["-serial", f"file:{serial_path}",
                               "-monitor", f"unix:{mon_path},server=on,wait=off"]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        match = None
        timed_out = False
        replies = []
        try:
            while proc.poll() is None and not match:
                if time.monotonic() - start > timeout:
                    timed_out = True
                    break
                match = re.search(ready, _read(serial_path), re.M)
                time.sleep(0.1)
            if match:
                mon = Monitor(mon_path, 10)
                for command in commands(match):
                    replies.append(mon.command(command,
                                               max(10, timeout - (time.monotonic() - start))))
                mon.close()
        finally:
            _kill(proc)
        err = proc.stderr.read().decode(errors="replace")
        serial = _read(serial_path) + (("\n[qemu stderr] " + err) if err.strip() else "")
        return (match, Result(proc.returncode, serial, timed_out, time.monotonic() - start),
                replies)


def dump_guest(args, timeout, ready, dump_path, dump_range):
    """Boots a guest, waits for the `ready` regex on serial, then writes its memory with the
    monitor's `dump-guest-memory` (a real ELF core written by QEMU). dump_range(match) gives
    (begin, length). Returns (match, Result)."""
    def commands(match):
        begin, length = dump_range(match)
        return [f"dump-guest-memory {dump_path} {begin} {length}"]
    return run_then_monitor(args, timeout, ready, commands)[:2]


VGA_TEXT, VGA_COLS, VGA_ROWS = 0xB8000, 80, 25


def vga_screen(args, timeout, ready):
    """Boots a guest, waits for `ready` on serial, and reads the VGA text screen through the
    monitor (`pmemsave` of 0xB8000, as the adapter answers). Returns (rows of text, Result,
    None), or (None, Result, why there is no screen)."""
    with tempfile.TemporaryDirectory(prefix="jbv-") as tmp:
        path = os.path.join(tmp, "screen.bin")
        match, res, replies = run_then_monitor(
            args, timeout, ready,
            lambda m: [f"pmemsave {VGA_TEXT:#x} {VGA_COLS * VGA_ROWS * 2} \"{path}\""])
        if not match:
            return None, res, f"serial never showed {ready!r}"
        if not os.path.exists(path):
            answer = replies[0].replace("\r", "").split("\n")[1:-1]  # less the echo and prompt
            return None, res, f"pmemsave wrote no screen: {' '.join(answer)}"
        with open(path, "rb") as f:
            cells = f.read()
    chars = "".join(chr(cells[i]) for i in range(0, len(cells), 2))
    return [chars[r * VGA_COLS:(r + 1) * VGA_COLS] for r in range(VGA_ROWS)], res, None


def text_screen(text, cols=VGA_COLS, rows=VGA_ROWS):
    """The rows a text console of cols x rows shows after printing text: lines longer than
    cols wrap, and the screen scrolls up one row at a time."""
    screen = []
    for line in text.split("\n"):
        screen.append("")
        for ch in line:
            if len(screen[-1]) == cols:
                screen.append("")
            screen[-1] += ch
    screen += [""] * (rows - len(screen))
    return [r.ljust(cols) for r in screen[-rows:]]


def run_cases(label, cases, check, jobs):
    """Runs check(case) for every case, jobs at a time; check returns None (pass) or why it
    failed. Prints a PASS/FAIL line per case and the tally; returns the number failed."""
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for case, why in zip(cases, pool.map(check, cases)):
            if why is None:
                passed += 1
                print(f"PASS {label}: {case.name}")
            else:
                failed += 1
                print(f"FAIL {label}: {case.name}: {why}")
            sys.stdout.flush()
    print(f"{label}: {passed}/{passed + failed} passed")
    print(f"{passed} passed, {failed} failed")
    return failed


RAM_LINE = re.compile(r"^jumpback:   RAM (0x[0-9a-f]+)-(0x[0-9a-f]+)$", re.M)


HELPED_LINE = re.compile(r"; (\d+) of (\d+) MiB checked by the second CPU \((\d+) of \d+ chunks"
                         r" finished there")


def chunks_by_second_cpu(serial):
    """How many chunks the restore line says the second CPU finished (0 without that part)."""
    m = HELPED_LINE.search(serial)
    return int(m.group(3)) if m else 0


def mib_by_second_cpu(serial):
    """(MiB the second CPU checked, MiB checked in all) from the restore line, or None."""
    m = HELPED_LINE.search(serial)
    return (int(m.group(1)), int(m.group(2))) if m else None


def stub_ram(serial):
    """The usable RAM the stub printed (its `RAM 0x...-0x...` lines), as (start, end) hex
    strings; empty when it printed none."""
    return RAM_LINE.findall(serial)


def memmap_text(ranges):
    """Those ranges as a jbwrite --memmap-file: what kernel B's /sys/firmware/memmap says."""
    return "".join(f"{start} {end} usable\n" for start, end in ranges)


def probe_memmap(stub, folder, mem="128M"):
    """Boots the stub on a blank AHCI disk of a machine with mem of RAM and writes the usable
    RAM it prints as folder/memmap.txt, a jbwrite --memmap-file; returns its path."""
    blank = os.path.join(folder, "probe.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    res = run(machine_args(mem) + kernel_args(stub, "resume=ahci:0 onerror=reboot")
              + ahci_disk_args(blank), 60)
    ranges = stub_ram(res.serial)
    if not ranges:
        raise RuntimeError(f"no RAM lines from the stub\n{res.describe()}")
    path = os.path.join(folder, "memmap.txt")
    with open(path, "w") as f:
        f.write(memmap_text(ranges))
    return path


def pad_to_sectors(path):
    """QEMU sizes a raw disk in whole sectors: round the file up to 512 bytes."""
    size = os.path.getsize(path)
    if size % 512:
        with open(path, "r+b") as f:
            f.truncate(size + 512 - size % 512)
