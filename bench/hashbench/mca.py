#!/usr/bin/env python3
"""Static throughput estimate of a hash's inner loop on CPUs we cannot run here
(bench/hash-choice.md): takes one loop out of an object file built by gcc (by default the
innermost loop of FUNCTION with the most multiplies, the fewest instructions breaking ties),
and has llvm-mca simulate 2000 iterations of it on each CPU model. Prints cycles per iteration
and bytes per cycle for BYTES bytes hashed per iteration. An estimate: llvm-mca models the
core, not caches, memory or store forwarding.
  mca.py build/stub32/lib/xxh64.o xxh64_stripes 32 [--range 70-182]"""
import argparse
import re
import subprocess

CPUS = "core2,goldmont,btver2,skylake,znver2,znver3"


def instructions(obj, func):
    dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], check=True,
                          capture_output=True, text=True).stdout
    body = dump.split(f"<{func}>:\n", 1)[1].split("\n\n", 1)[0]
    out = []
    for line in body.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2).split("#")[0].strip()))
    return out


def loops(ins):
    """Every backward branch as (start, end) addresses."""
    for addr, text in ins:
        m = re.match(r"j\w+\s+([0-9a-f]+) <", text)
        if m and int(m.group(1), 16) < addr:
            yield int(m.group(1), 16), addr


def pick_loop(ins):
    all_loops = list(loops(ins))
    inner = [(s, e) for s, e in all_loops
             if not any(s <= s2 and e2 <= e and (s2, e2) != (s, e) for s2, e2 in all_loops)]

    def score(loop):
        body = [t for a, t in ins if loop[0] <= a <= loop[1]]
        return (sum("mul" in t for t in body), -len(body))
    return max(inner, key=score)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("obj")
    ap.add_argument("function")
    ap.add_argument("bytes", type=int, help="bytes hashed per loop iteration")
    ap.add_argument("--range", help="the loop's first-last instruction address, hex")
    ap.add_argument("--cpus", default=CPUS)
    args = ap.parse_args()

    ins = instructions(args.obj, args.function)
    if args.range:
        start, end = (int(x, 16) for x in args.range.split("-"))
    else:
        start, end = pick_loop(ins)
    body = [t for a, t in ins if start <= a <= end][:-1]  # the back branch is not modelled
    body = [t for t in body if not t.startswith(("nop", "xchg   %ax,%ax", "lea    0x0(%esi"))]
    # A branch inside the loop still needs a target llvm-mca can parse.
    src = "\n".join(re.sub(r"\s+[0-9a-f]+ <[^>]*>$", " 0b", t) for t in body)
    print(f"{args.function} loop {start:x}-{end:x}: {len(body)} instructions, "
          f"{args.bytes} bytes per iteration")
    for cpu in args.cpus.split(","):
        res = subprocess.run(["llvm-mca", "-mtriple=i686-linux-gnu", f"-mcpu={cpu}",
                              "-iterations=2000"], input=src, capture_output=True, text=True)
        m = re.search(r"Total Cycles:\s+(\d+)", res.stdout)
        if not m:
            print(f"  {cpu}: llvm-mca failed: {res.stderr.strip()[:200]}")
            continue
        cycles = int(m.group(1)) / 2000
        print(f"  {cpu:<9} {cycles:6.1f} cycles/iteration  {args.bytes / cycles:5.2f} B/cycle")


if __name__ == "__main__":
    main()
