#!/usr/bin/python3
"""Plots bench/restore_rate.py --json output: time against image size for every restore path,
on log-log axes (a line of slope 1 is linear growth). Needs Debian's python3-matplotlib (make
bench-deps), hence Debian's own python3 above."""
import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "raw": "jumpback, raw vmcore (AHCI)",
    "dryrun": "jumpback dry run (reads only)",
    "verified": "jumpback image, every chunk verified (AHCI)",
    "verified_1cpu": "the same, verified on one CPU (nosmp)",
    "bios": "jumpback through the BIOS (int 13h)",
    "grub_ahci": "GRUB 2 native AHCI (insmod ahci)",
    "grub_bios": "GRUB 2 through the BIOS",
    "nvme_raw": "jumpback, raw vmcore (NVMe)",
    "virtio_raw": "jumpback, raw vmcore (virtio-blk)",
}

TITLES = {"unthrottled": "unthrottled disk", "3500MBps": "disk throttled to 3.5 GB/s",
          "550MBps": "disk throttled to 550 MB/s"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("json_in")
    ap.add_argument("png_out")
    args = ap.parse_args()
    with open(args.json_in) as f:
        data = json.load(f)
    models = data.get("disks", ["unthrottled"])
    fig, axes = plt.subplots(1, len(models), figsize=(8 * len(models), 5.5), dpi=100,
                             squeeze=False)
    drivers = [c for c in data.get("driver_columns", ()) if c in ("nvme_raw", "virtio_raw")]
    for ax, model in zip(axes[0], models):
        rows = [r for r in data["rows"] if r.get("disk", "unthrottled") == model]
        for col in list(data["columns"]) + drivers:
            pts = [(r["restored_mib"], r["median_ms"][col] / 1000.0) for r in rows
                   if col in r["median_ms"] and not math.isnan(r["median_ms"][col])]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                        linestyle="--" if col in drivers else "-", label=LABELS.get(col, col))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("MiB restored (placed or zero-filled)")
        ax.set_ylabel("seconds (median of %d runs)" % data["rows"][0]["runs"])
        ax.set_title(f"Restore time against size, {TITLES.get(model, model)} (QEMU TCG)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.png_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
