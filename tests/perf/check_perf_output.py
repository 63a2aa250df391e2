#!/usr/bin/env python3
"""Runs one perf tool and checks its output against the nccl-tests format.

The parser is written from nccl-tests' format description (src/common.cu,
src/util.cu), not from tidal's code:

  header   lines start with '#': "# Collective test starting: NAME",
           "# nThread T nGpus G minBytes B maxBytes E step: S(factor|bytes)
           warmup iters: W iters: N agg iters: M validation: V graph: 0",
           "# Using devices", one "#  Rank  R Group ..." line per rank, then
           the three-line column header (out-of-place / in-place halves).
  rows     "%12li  %12li  %8s  %6s  %6i" (size, count, type, redop, root),
           then twice "  %7s  %6s  %6s  %6s" (time us, algbw, busbw, #wrong)
           with #wrong "%6g" or "N/A" when checking is off.
  footer   "# Out of bounds values : N OK|FAILED",
           "# Avg bus bandwidth    : X ", "#",
           "# Collective test concluded: NAME".

Modes: --expect ok (exit 0, every #wrong 0), --expect wrong (some #wrong
> 0, FAILED, non-zero exit), --expect usage (exit 2, a usage message, no
table, no crash), --expect error (exit 1, the library's status named on
stdout and stderr, no table), --expect bucketed[_wrong] (--bucketed rows).
"""
import argparse
import json
import math
import re
import resource
import subprocess
import sys

TABLE_HEADER = [
    "#                                                              out-of-place"
    "                       in-place          ",
    "#       size         count      type   redop    root     time   algbw   busbw"
    "  #wrong     time   algbw   busbw  #wrong ",
    "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)"
    "             (us)  (GB/s)  (GB/s)         ",
]
# Collectives whose size column is count/nranks*nranks elements.
SPLIT_BY_RANKS = {"all_gather_perf", "reduce_scatter_perf", "alltoall_perf"}
BUS_FACTORS = {
    "all_gather_perf": lambda n: (n - 1) / n,
    "reduce_scatter_perf": lambda n: (n - 1) / n,
    "alltoall_perf": lambda n: (n - 1) / n,
    "all_reduce_perf": lambda n: 2 * (n - 1) / n,
    "sendrecv_perf": lambda n: 1.0,
    "broadcast_perf": lambda n: 1.0,
}


class FormatError(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise FormatError(message)


# One half: "  %7s  %6s  %6s" then "  %6g" for #wrong, or nccl-tests'
# literal "    N/A" (one column narrower) when checking is off. A half the
# collective does not have is N/A in all four cells.
HALF = re.compile(r"  ([ \S]{7})  ([ \S]{6})  ([ \S]{6})(    N/A|  [ \S]{6})")


def right_aligned(cell):
    return cell.strip() and not cell.endswith(" ") and " " not in cell.strip()


def parse_row(line):
    """Splits a row by nccl-tests' printf widths; every cell right-aligned."""
    head = [line[0:12], line[14:26], line[28:36], line[38:44], line[46:52]]
    expect(len(line) >= 52 and all(right_aligned(c) for c in head)
           and all(line[e:e + 2] == "  " for e in (12, 26, 36, 44)), f"bad row start {line!r}")
    halves, pos = [], 52
    for _ in range(2):
        m = HALF.match(line, pos)
        expect(m and all(right_aligned(c) for c in m.groups()[:3]) and right_aligned(m.group(4)),
               f"bad half at column {pos} in {line!r}")
        t, alg, bus, wrong = (c.strip() for c in m.groups())
        halves.append(None if t == "N/A" else
                      {"time": float(t), "algbw": float(alg), "busbw": float(bus),
                       "wrong": None if wrong == "N/A" else int(float(wrong))})
        pos = m.end()
    expect(pos == len(line), f"trailing text in {line!r}")
    return {"size": int(head[0]), "count": int(head[1]), "type": head[2].strip(),
            "redop": head[3].strip(), "root": int(head[4]), "halves": halves}


def parse_output(text, program):
    lines = text.splitlines()
    expect(any(l == f"# Collective test starting: {program}" for l in lines), "no start line")
    params = [l for l in lines if l.startswith("# nThread ")]
    expect(len(params) == 1, "no '# nThread' parameter line")
    m = re.fullmatch(r"# nThread (\d+) nGpus (\d+) minBytes (\d+) maxBytes (\d+) step: (\d+)"
                     r"\((factor|bytes)\) warmup iters: (\d+) iters: (\d+) agg iters: (\d+)"
                     r" validation: (\d+) graph: 0", params[0])
    expect(m, f"bad parameter line {params[0]!r}")
    expect("# Using devices" in lines, "no '# Using devices'")
    ranks = [l for l in lines if re.match(r"#  Rank +\d+ Group +\d+ Pid +\d+ on +\S+ device +-?\d+ \[", l)]
    start = lines.index(TABLE_HEADER[0]) if TABLE_HEADER[0] in lines else -1
    expect(start > 0, "no two-level column header")
    expect(lines[start + 1:start + 3] == TABLE_HEADER[1:], "column header lines differ from nccl-tests")
    rows, i = [], start + 3
    while i < len(lines) and not lines[i].startswith("#"):
        rows.append(parse_row(lines[i]))
        i += 1
    # nccl-tests may print "# name : value" lines (GPU memory usage) first.
    while i < len(lines) and not lines[i].startswith("# Out of bounds values"):
        expect(re.match(r"# [\w ]+ : ", lines[i]), f"unexpected line after the rows: {lines[i]!r}")
        i += 1
    footer = lines[i:i + 5]
    expect(len(footer) >= 4, "footer missing")
    oob = re.fullmatch(r"# Out of bounds values : (\d+) (OK|FAILED)", footer[0])
    expect(oob, f"bad footer line {footer[0]!r}")
    avg = re.fullmatch(r"# Avg bus bandwidth    : (\S+) ", footer[1])
    expect(avg, f"bad footer line {footer[1]!r}")
    expect(footer[2] == "#" and footer[3] == f"# Collective test concluded: {program}", "bad footer end")
    return {"params": m.groups(), "ranks": len(ranks), "rows": rows,
            "oob": int(oob.group(1)), "oob_word": oob.group(2), "avg_busbw": float(avg.group(1))}


def check_semantics(parsed, program, nranks, min_bytes, max_bytes, factor, sweeps):
    rows = parsed["rows"]
    expect(parsed["ranks"] == nranks, f"{parsed['ranks']} rank lines, want {nranks}")
    expect(rows, "no result rows")
    sweep, size = [], min_bytes
    while size <= max_bytes:
        sweep.append(size)
        size *= factor
    expect(len(rows) == sweeps * len(sweep), f"{len(rows)} rows, want {sweeps} x {sweep}")
    expect([r["size"] for r in rows[:len(sweep)]] == [s // (4 * nranks) * 4 * nranks
                                                      if program in SPLIT_BY_RANKS else s
                                                      for s in sweep], "sizes are not the sweep")
    busbws = []
    for row in rows:
        for half in row["halves"]:
            if half is None:
                continue
            busbws.append(half["busbw"])
            if half["algbw"] >= 0.1:  # enough printed digits to compare
                ratio = half["busbw"] / half["algbw"]
                want = BUS_FACTORS[program](nranks)
                expect(abs(ratio - want) < 0.06 * want + 0.02, f"busbw/algbw {ratio:.3f}, want {want:.3f}")
            expect(half["time"] > 0, "non-positive time")
    mean = sum(busbws) / len(busbws)
    expect(math.isclose(parsed["avg_busbw"], mean, rel_tol=0.05, abs_tol=0.01),
           f"Avg bus bandwidth {parsed['avg_busbw']} is not the mean busbw {mean:.4f}")


def check_bucketed(proc, want_wrong):
    """--bucketed: one row per path (flat, bucketed, per-tensor), data checked."""
    expect((proc.returncode != 0) == want_wrong, f"exit status {proc.returncode}")
    rows = {}
    for line in proc.stdout.splitlines():
        f = line.split()
        if len(f) == 8 and f[0] in ("flat", "bucketed", "per-tensor"):
            rows[f[0]] = {"calls": int(f[1]), "time": float(f[3]), "wrong": int(f[6]), "vs_flat": float(f[7])}
    expect(set(rows) == {"flat", "bucketed", "per-tensor"}, f"paths found: {sorted(rows)}")
    expect(all(r["time"] > 0 for r in rows.values()), "a path has no time")
    expect(rows["flat"]["calls"] == 1 and rows["flat"]["vs_flat"] == 1.0, "bad flat row")
    if want_wrong:
        expect(all(r["wrong"] > 0 for r in rows.values()), "a corrupted path shows #wrong 0")
        expect(re.search(r"# Out of bounds values : [1-9]\d* FAILED", proc.stdout), "footer not FAILED")
    else:
        expect(all(r["wrong"] == 0 for r in rows.values()), "wrong data")
        expect("# Out of bounds values : 0 OK" in proc.stdout, "footer does not say OK")


def run_tool(command):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    expect(proc.returncode >= 0, f"killed by signal {-proc.returncode}\n{proc.stderr}")
    return proc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--program", required=True)
    ap.add_argument("--nranks", type=int, default=2)
    ap.add_argument("--expect", choices=["ok", "wrong", "usage", "error", "bucketed", "bucketed_wrong"], default="ok")
    ap.add_argument("--min-bytes", type=int, default=8)
    ap.add_argument("--max-bytes", type=int, default=65536)
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--sweeps", type=int, default=1, help="dtypes x ops swept")
    ap.add_argument("--json", help="also check this -J file against the table")
    ap.add_argument("--min-rss-mib", type=float, default=0,
                    help="the tool's peak resident memory must reach this (its buffers were written)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    proc = run_tool(command)
    try:
        if a.expect.startswith("bucketed"):
            check_bucketed(proc, a.expect == "bucketed_wrong")
        elif a.expect == "error":
            expect(proc.returncode == 1, f"exit status {proc.returncode}, want 1")
            expect(re.search(r"^# error: .*TIDAL_ERR_", proc.stdout, re.M), "no '# error:' line naming the status")
            expect("TIDAL_ERR_" in proc.stderr, "no error message on stderr")
            expect("#wrong" not in proc.stdout, "rows were printed before the error")
        elif a.expect == "usage":
            expect(proc.returncode == 2, f"exit status {proc.returncode}, want 2")
            expect("USAGE:" in proc.stderr or proc.stderr.count("\n") == 1,
                   "neither a usage message nor a one-line reason on stderr")
            expect("#wrong" not in proc.stdout, "a table was printed")
        else:
            parsed = parse_output(proc.stdout, a.program)
            check_semantics(parsed, a.program, a.nranks, a.min_bytes, a.max_bytes, a.factor, a.sweeps)
            wrong = [h["wrong"] for r in parsed["rows"] for h in r["halves"] if h and h["wrong"]]
            if a.expect == "ok":
                expect(proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stderr}")
                expect(not wrong and parsed["oob"] == 0 and parsed["oob_word"] == "OK", "wrong data reported")
            else:
                expect(proc.returncode != 0, "exit status 0 despite wrong data")
                expect(wrong and parsed["oob"] > 0 and parsed["oob_word"] == "FAILED", "wrong data not reported")
            if a.min_rss_mib:
                peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                expect(peak_mib >= a.min_rss_mib,
                       f"peak resident memory {peak_mib:.0f} MiB < {a.min_rss_mib:.0f} MiB: "
                       "buffers left unwritten (zero pages) time unrealistically fast")
            if a.json:
                doc = json.load(open(a.json))
                expect(len(doc["results"]) == len(parsed["rows"]), "JSON rows differ from the table")
                expect([r["size"] for r in doc["results"]] == [r["size"] for r in parsed["rows"]], "JSON sizes differ")
    except FormatError as e:
        print(f"FAIL: {e}\n--- command: {' '.join(command)}\n--- stdout:\n{proc.stdout}\n--- stderr:\n{proc.stderr}")
        return 1
    print(f"ok: {' '.join(command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
