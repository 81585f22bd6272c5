#!/usr/bin/env python3
"""Checks build/tools/partinfo (lib/part.c) against util-linux and gdisk on real disk images.

Makes MBR disks (primaries, an extended partition with logicals) and GPT disks (named
partitions, unused slots, non-ASCII names) with sfdisk and, when installed, sgdisk; compares
partinfo's numbers, starts, sizes, types, PARTUUIDs and names with what `sfdisk --json`,
`partx` (libblkid), `blkid -p` and `sgdisk -i N` report; then damages the primary GPT of a copy
and checks that partinfo falls back to the backup with the same partitions.
Prints one line per check and "N passed, N failed"; exits non-zero on any failure.
"""
import argparse
import codecs
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import Checks  # noqa: E402

SECTOR = 512
MIB = 1 << 20
ENV = dict(os.environ, LC_ALL="C.UTF-8")


def run(cmd, stdin=None, check=True):
    res = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=ENV,
                         timeout=60)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


def blank_image(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


# ---- what partinfo says ----

# "#  first-LBA  sectors  type [(name)]  PARTUUID  [PARTLABEL]"; a type name has no parentheses.
PART_LINE = re.compile(r"^(\d+)\s+(\d+)\s+(\d+)\s+(\S+)(?: \([^()]*\))?\s+(\S+)(?:\s{2,}(.*))?$")


def partinfo(tool, img):
    """Runs partinfo; returns (exit code, info dict, stdout+stderr)."""
    res = run([tool, img], check=False)
    info = {"scheme": None, "backup": False, "warning": "", "parts": {}}
    if res.returncode != 0:
        return res.returncode, info, res.stdout + res.stderr
    in_table = False
    for line in res.stdout.splitlines():
        if line.startswith("scheme: "):
            words = line.split()
            info["scheme"] = words[1].rstrip(",")
            info["backup"] = "backup header" in line
            m = re.search(r"(disk GUID|disk signature) (\S+)", line)
            info["disk_id"] = m.group(2) if m else None
        elif line.startswith("warning: "):
            info["warning"] = line[len("warning: "):]
        elif line.startswith("#"):
            in_table = True
        elif in_table:
            m = PART_LINE.match(line)
            if not m:
                info["unparsed"] = info.get("unparsed", []) + [line]
                continue
            info["parts"][int(m.group(1))] = {
                "start": int(m.group(2)), "size": int(m.group(3)), "type": m.group(4),
                "uuid": m.group(5), "name": m.group(6) or "",
            }
    return res.returncode, info, res.stdout + res.stderr


# ---- what the reference tools say ----

def sfdisk_parts(img):
    table = json.loads(run(["sfdisk", "--json", img]).stdout)["partitiontable"]
    parts = {}
    for p in table["partitions"]:
        num = int(re.search(r"(\d+)$", p["node"]).group(1))
        if table["label"] == "dos":
            ptype = "0x%02x" % int(p["type"], 16)
        else:
            ptype = p["type"].lower()
        parts[num] = {"start": p["start"], "size": p["size"], "type": ptype,
                      "uuid": p.get("uuid", "").lower() or None, "name": p.get("name", "")}
    return table, parts


def unescape_partx(value):
    """partx -P writes non-ASCII bytes as \\xNN."""
    return codecs.escape_decode(value.encode("ascii", "backslashreplace"))[0].decode("utf-8")


def partx_parts(img):
    out = run(["partx", "-g", "-P", "-o", "NR,START,SECTORS,TYPE,UUID,NAME", img]).stdout
    parts = {}
    for line in out.splitlines():
        fields = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line))
        ptype = fields["TYPE"]
        if ptype.startswith("0x"):
            ptype = "0x%02x" % int(ptype, 16)
        parts[int(fields["NR"])] = {"start": int(fields["START"]), "size": int(fields["SECTORS"]),
                                    "type": ptype.lower(), "uuid": fields["UUID"].lower(),
                                    "name": unescape_partx(fields["NAME"])}
    return parts


def blkid_ptuuid(img):
    res = run(["blkid", "-p", "-o", "export", img], check=False)
    fields = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return fields.get("PTUUID"), fields.get("PTTYPE")


def sgdisk_info(img, num):
    out = subprocess.run(["sgdisk", "-i", str(num), img], capture_output=True, env=ENV,
                         timeout=60).stdout
    info = {}
    for raw in out.split(b"\n"):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            # gdisk 1.0.9 prints characters outside the BMP as invalid UTF-8: no reference.
            print(f"NOTE sgdisk -i {num}: name is not valid UTF-8, not compared")
            continue
        for key, pattern in (("type", r"^Partition GUID code: (\S+)"),
                             ("uuid", r"^Partition unique GUID: (\S+)"),
                             ("first", r"^First sector: (\d+)"),
                             ("last", r"^Last sector: (\d+)"),
                             ("name", r"^Partition name: '(.*)'$")):
            m = re.match(pattern, line)
            if m:
                info[key] = m.group(1)
    return info


# ---- comparisons ----

def compare(c, label, got, want, fields):
    """One check per partition: partinfo's fields against a reference tool's."""
    c.equal(f"{label}: partition numbers", sorted(got), sorted(want))
    for num in sorted(want):
        if num not in got:
            continue
        diffs = [f"{k}: got {got[num][k]!r}, want {want[num][k]!r}" for k in fields
                 if want[num].get(k) is not None and got[num][k] != want[num][k]]
        c.check(f"{label}: partition {num} " + "/".join(fields), not diffs, "; ".join(diffs))


def check_mbr(c, tool, tmp, name, script):
    img = os.path.join(tmp, name + ".img")
    blank_image(img, 64 * MIB)
    run(["sfdisk", "-q", img], stdin=script)
    rc, info, out = partinfo(tool, img)
    if not c.check(f"{name}: partinfo runs", rc == 0 and info["scheme"] == "MBR"
                   and "unparsed" not in info, out.strip()):
        return
    c.equal(f"{name}: no warning", info["warning"], "")
    table, ref = sfdisk_parts(img)
    compare(c, f"{name} vs sfdisk --json", info["parts"], ref, ["start", "size", "type"])
    compare(c, f"{name} vs partx", info["parts"], partx_parts(img),
            ["start", "size", "type", "uuid"])
    ptuuid, pttype = blkid_ptuuid(img)
    c.equal(f"{name} vs blkid -p: disk signature", (info["disk_id"], pttype),
            ("0x" + (ptuuid or ""), "dos"))
    c.equal(f"{name}: disk signature vs sfdisk", info["disk_id"], table["id"].lower())


def check_gpt(c, tool, tmp, img, name, sgdisk_nums=()):
    rc, info, out = partinfo(tool, img)
    if not c.check(f"{name}: partinfo runs", rc == 0 and info["scheme"] == "GPT"
                   and not info["backup"] and "unparsed" not in info, out.strip()):
        return None
    c.equal(f"{name}: no warning", info["warning"], "")
    table, ref = sfdisk_parts(img)
    compare(c, f"{name} vs sfdisk --json", info["parts"], ref,
            ["start", "size", "type", "uuid", "name"])
    compare(c, f"{name} vs partx", info["parts"], partx_parts(img),
            ["start", "size", "type", "uuid", "name"])
    ptuuid, pttype = blkid_ptuuid(img)
    c.equal(f"{name} vs blkid -p: disk GUID", (info["disk_id"], pttype), (ptuuid, "gpt"))
    for num in sgdisk_nums:
        sg = sgdisk_info(img, num)
        got = info["parts"].get(num)
        want = {"start": int(sg.get("first", -1)),
                "size": int(sg.get("last", -2)) - int(sg.get("first", -1)) + 1,
                "type": sg.get("type", "").lower(), "uuid": sg.get("uuid", "").lower(),
                "name": sg.get("name")}
        compare(c, f"{name} vs sgdisk -i {num}", {num: got} if got else {}, {num: want},
                ["start", "size", "type", "uuid", "name"])
    return info


def check_backup(c, tool, img, name, good, offset, what):
    """Damages one byte of a copy at offset; partinfo must use the backup, same partitions."""
    bad = img + "." + what.replace(" ", "-")
    shutil.copyfile(img, bad)
    with open(bad, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x5a]))
    rc, info, out = partinfo(tool, bad)
    c.check(f"{name}, {what}: backup GPT used", rc == 0 and info["scheme"] == "GPT"
            and info["backup"], out.strip())
    c.check(f"{name}, {what}: warning names the damage",
            "CRC mismatch" in info["warning"] and "using the backup at LBA" in info["warning"],
            info["warning"])
    c.equal(f"{name}, {what}: same partitions", info["parts"], good["parts"])
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    tool = os.path.join(args.build, "tools", "partinfo")
    c = Checks()

    if not c.check("partinfo is built", os.access(tool, os.X_OK),
                   f"{tool} missing: make {tool}"):
        print(f"{c.passed} passed, {c.failed} failed")
        return 1
    missing = [t for t in ("sfdisk", "partx", "blkid") if not shutil.which(t)]
    if not c.check("sfdisk, partx and blkid are installed", not missing,
                   f"missing {missing}: apt-get install fdisk util-linux"):
        print(f"{c.passed} passed, {c.failed} failed")
        return 1

    with tempfile.TemporaryDirectory(prefix="jb-partinfo-") as tmp:
        # A disk without a table: partinfo says so, the stub would take it as a raw image.
        img = os.path.join(tmp, "blank.img")
        blank_image(img, 8 * MIB)
        rc, info, out = partinfo(tool, img)
        c.check("blank: no partition table", rc == 0 and info["scheme"] == "none", out.strip())

        # MBR: primaries 1 and 2, extended 3 with logicals 5-7, primary 4 after it.
        check_mbr(c, tool, tmp, "mbr", "label: dos\nlabel-id: 0x1a2b3c4d\n"
                  "start=2048, size=16384, type=83, bootable\n"
                  "start=18432, size=8192, type=82\n"
                  "start=30720, size=81920, type=5\n"
                  "start=32768, size=16384, type=83\n"
                  "start=51200, size=8192, type=7\n"
                  "start=61440, size=20480, type=83\n"
                  "start=112640, size=16384, type=c\n")
        # MBR: an LBA extended partition (0x0f) in the last slot, slots 2 and 3 empty.
        check_mbr(c, tool, tmp, "mbr-ext-last", "label: dos\nlabel-id: 0xdeadbeef\n"
                  "start=2048, size=4096, type=83\n"
                  "mbr-ext-last.img4 : start=8192, size=65536, type=f\n"
                  "start=10240, size=4096, type=83\n"
                  "start=20480, size=2048, type=82\n")

        # GPT made by sfdisk: partition 3 unused, names with spaces and non-ASCII.
        img = os.path.join(tmp, "gpt.img")
        blank_image(img, 64 * MIB)
        run(["sfdisk", "-q", img], stdin="label: gpt\n"
            "label-id: 3F2504E0-4F89-11D3-9A0C-0305E82C3301\n"
            "gpt.img1 : start=2048, size=8192, type=uefi, name=\"EFI system\"\n"
            "gpt.img2 : start=10240, size=40960, type=linux, name=\"root fs\","
            " uuid=0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9\n"
            "gpt.img4 : start=51200, size=16384, type=swap\n"
            "gpt.img6 : start=67584, size=2048, type=linux, name=\"hibernate\"\n")
        # sfdisk's script parser keeps names ASCII; --part-label takes UTF-8 (but only the
        # Basic Multilingual Plane: libfdisk cannot write surrogate pairs; sgdisk can, below).
        run(["sfdisk", "-q", "--part-label", img, "4", "Swäp ✓ 中文"])
        good = check_gpt(c, tool, tmp, img, "gpt")
        if good:
            c.equal("gpt: PARTUUID of partition 2 (set by sfdisk)", good["parts"][2]["uuid"],
                    "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
            c.equal("gpt: non-ASCII name", good["parts"][4]["name"], "Swäp ✓ 中文")
            check_backup(c, tool, img, "gpt", good, SECTOR + 60, "primary header damaged")
            check_backup(c, tool, img, "gpt", good, 2 * SECTOR + 128 + 40,
                         "primary entry array damaged")
            # Both headers damaged: an error naming both, and no table.
            bad = check_backup(c, tool, img, "gpt", good, SECTOR + 70, "header damaged again")
            with open(bad, "r+b") as f:
                f.seek(-SECTOR + 70, os.SEEK_END)
                f.write(b"\xff")
            rc, _, out = partinfo(tool, bad)
            c.check("gpt, both headers damaged: an error", rc == 1 and
                    "GPT header at LBA 1: CRC mismatch" in out and "no valid backup" in out,
                    out.strip())

        # GPT made by sgdisk, checked against sgdisk -i as well.
        if shutil.which("sgdisk"):
            img = os.path.join(tmp, "sgdisk.img")
            blank_image(img, 64 * MIB)
            run(["sgdisk", "-o", "-U", "11111111-2222-3333-4444-555555555555",
                 "-n", "1:2048:+1M", "-t", "1:ef02", "-c", "1:bios",
                 "-n", "3:0:+20M", "-t", "3:8300", "-c", "3:jumpback image",
                 "-u", "3:ABCDEF01-2345-6789-ABCD-EF0123456789",
                 "-n", "5:0:+8M", "-t", "5:8200", "-c", "5:Größe ✓ 中文",
                 "-n", "6:0:+1M", "-c", "6:emoji 😀 (U+1F600)",
                 "-n", "128:0:0", "-t", "128:0700", "-c", "128:last", img])
            good = check_gpt(c, tool, tmp, img, "sgdisk", sgdisk_nums=(1, 3, 5, 6, 128))
            if good:
                c.equal("sgdisk: name with a surrogate pair", good["parts"][6]["name"],
                        "emoji 😀 (U+1F600)")
                c.equal("sgdisk: PARTUUID of partition 3", good["parts"][3]["uuid"],
                        "abcdef01-2345-6789-abcd-ef0123456789")
                check_backup(c, tool, img, "sgdisk", good, SECTOR + 16, "primary header CRC")
        else:
            c.skip("sgdisk", "not installed (apt-get install gdisk)")

    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
