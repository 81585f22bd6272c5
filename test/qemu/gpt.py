"""Writes a GUID partition table (UEFI spec, "GPT Disk Layout") with any logical block size,
for disks that sgdisk and sfdisk only lay out with 512-byte sectors (a 4Kn NVMe namespace)."""
import struct
import uuid
import zlib

LINUX_DATA = uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4")
ENTRIES = 128
ENTRY_SIZE = 128


def _header(block, my_lba, alt_lba, first, last, disk_guid, array_lba, array_crc):
    fields = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, my_lba,
                         alt_lba, first, last, disk_guid, array_lba, ENTRIES, ENTRY_SIZE,
                         array_crc)
    crc = zlib.crc32(fields)
    fields = fields[:16] + struct.pack("<I", crc) + fields[20:]
    return fields + bytes(block - len(fields))


def write_gpt(path, block, parts):
    """parts: (first LBA, block count, name); LBAs count in `block`-byte blocks. Returns the
    unique GUID of each partition as Linux shows it (lowercase text)."""
    with open(path, "r+b") as f:
        f.seek(0, 2)
        blocks = f.tell() // block
        array_blocks = ENTRIES * ENTRY_SIZE // block
        first, last = 2 + array_blocks, blocks - 2 - array_blocks
        array = bytearray(ENTRIES * ENTRY_SIZE)
        guids = []
        for i, (start, count, name) in enumerate(parts):
            if start < first or start + count - 1 > last:
                raise ValueError(f"partition {i + 1} outside the usable blocks {first}-{last}")
            part = uuid.uuid4()
            guids.append(str(part))
            struct.pack_into("<16s16sQQQ72s", array, i * ENTRY_SIZE, LINUX_DATA.bytes_le,
                             part.bytes_le, start, start + count - 1, 0,
                             name.encode("utf-16-le"))
        crc = zlib.crc32(array)
        disk_guid = uuid.uuid4().bytes_le
        mbr = bytearray(block)
        struct.pack_into("<B3sB3sII", mbr, 446, 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1,
                         min(blocks - 1, 0xFFFFFFFF))
        mbr[510:512] = b"\x55\xaa"
        f.seek(0)
        f.write(mbr)
        f.write(_header(block, 1, blocks - 1, first, last, disk_guid, 2, crc))
        f.write(array)
        f.seek((blocks - 1 - array_blocks) * block)
        f.write(array)
        f.write(_header(block, blocks - 1, 1, first, last, disk_guid, blocks - 1 - array_blocks,
                        crc))
    return guids
