"""The one-screen summary of ``benchmarks/gpu_check.sh``: written to $OUT/summary.txt.

Per kernel family: bit-exact (every GPU test of the family passed) and memcheck clean; the
stages' exit statuses and times; stored expectations used or missed; the throughput table
from the benchmarks' JSON (or, for a run cut short, from the rows its log printed); the
bundle's size. Exit status 0 only when every stage passed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE_LIMIT_MIB = 45
FAMILIES = {"test_local_entropy_gpu": "local entropy", "test_ising_cuda": "Ising"}
MEMCHECK = {"local entropy": "memcheck-histogram", "Ising": "memcheck-ising"}
#: kernel families within a module's tests, by test name (first match; the last is the rest).
#: Each family's memcheck is the module's memcheck run, which runs every one of them.
SUBFAMILIES = {
    "local entropy": [("fast", r"interior_fast_path"), ("3-D", r"volume"),
                      ("general", r"")],
    "Ising": [("rows", r"[-\[]rows[-\]]"), ("fused", r"[-\[]fused[-\]]"),
              ("continuous", r"continuous-None"), ("packed", r"")],
}


def read_status(path: Path) -> dict[str, tuple[str, int]]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, rc, secs = line.split()
            out[name] = (rc, int(secs))
    return out


def read_junit(path: Path) -> dict[str, dict[str, int]]:
    """module -> {"passed", "failed", "skipped"} counts."""
    counts: dict[str, dict[str, int]] = {}
    if not path.exists():
        return counts
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return counts
    for case in root.iter("testcase"):
        module = case.get("classname", "").split(".")
        module = next((m for m in module if m.startswith("test_")), module[-1])
        c = counts.setdefault(module, {"passed": 0, "failed": 0, "skipped": 0})
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            c["failed"] += 1
        elif "skipped" in tags:
            c["skipped"] += 1
        else:
            c["passed"] += 1
    return counts


def read_cases(path: Path) -> list[tuple[str, str, str]]:
    """(module, test name, "passed"|"failed"|"skipped") for every test case."""
    if not path.exists():
        return []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return []
    out = []
    for case in root.iter("testcase"):
        module = case.get("classname", "").split(".")
        module = next((m for m in module if m.startswith("test_")), module[-1])
        tags = {child.tag for child in case}
        state = ("failed" if tags & {"failure", "error"} else "skipped" if "skipped" in tags
                 else "passed")
        out.append((module, case.get("name", ""), state))
    return out


def subfamily(family: str, name: str) -> str:
    for label, pattern in SUBFAMILIES[family]:
        if re.search(pattern, name):
            return label
    return SUBFAMILIES[family][-1][0]


def failed_names(path: Path, limit=6) -> list[str]:
    if not path.exists():
        return []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return []
    names = [f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
             for case in root.iter("testcase")
             if any(child.tag in ("failure", "error") for child in case)]
    return names[:limit] + ([f"... {len(names) - limit} more"] if len(names) > limit else [])


def mib(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def entropy_rows(results: Path) -> list[str]:
    files = sorted(results.glob("local_entropy-gpu-*.json"))
    if not files:
        return ["  local entropy: no results (benchmark not run or cut before its first row)"]
    data = json.loads(files[0].read_text())
    rows = data.get("rows", [])
    done = "" if data.get("complete") else " (INCOMPLETE: cut short)"
    lines = [f"  local entropy, {data.get('device', '?')}{done}: Gpix/s"]
    gpuent = [r for r in rows if r["impl"] == "gpuent" and "timing" not in r]
    cucim = {(r["side"], tuple(r["shape"])): r for r in rows if r["impl"] == "cucim"}
    shapes = sorted({tuple(r["shape"]) for r in gpuent if r["mode"] == "reflect"},
                    key=lambda s: s[0] * s[1])
    if shapes:
        big = shapes[-1]
        lines.append(f"    reflect {big[0]}x{big[1]} uint8   side: gpuent / cuCIM = ratio")
        for r in gpuent:
            if r["mode"] == "reflect" and tuple(r["shape"]) == big:
                cu = cucim.get((r["side"], big))
                extra = (f" / {cu['gpix_per_s']:8.3f} = x{r['gpix_per_s'] / cu['gpix_per_s']:.1f}"
                         if cu else "  (no cuCIM row)")
                lines.append(f"      {r['side']:3d}: {r['gpix_per_s']:8.3f}{extra}")
    clip = [r for r in gpuent if r["mode"] == "clip"]
    if clip:
        big = max((tuple(r["shape"]) for r in clip), key=lambda s: s[0] * s[1])
        for label, sel in ((f"clip {big[0]}x{big[1]} uint8",
                            lambda r: tuple(r["shape"]) == big and r.get("dtype") is None),
                           ("clip uint16/4096 levels",
                            lambda r: r.get("dtype") == "uint16")):
            picked = [r for r in clip if sel(r)]
            if picked:
                lines.append(f"    {label}: " + ", ".join(
                    f"side {r['side']} {r['gpix_per_s']:.3f}" for r in picked))
    for r in rows:
        if "timing" in r:
            lines.append(f"    {r['timing']}, r={r['radius']}, {r['shape'][0]}x{r['shape'][1]}:"
                         f" {r['seconds'] * 1e3:.1f} ms")
    return lines


_ISING_LINE = re.compile(r"^(\S+)\s+(\d+)x(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s*(\S*)\s*$")


def ising_rows(results: Path, log: Path) -> list[str]:
    files = sorted(results.glob("ising-gpu-*.json"))
    rows, note = [], ""
    if files:
        data = json.loads(files[0].read_text())
        note = f", {data.get('device', '?')}"
        for r in data.get("rows", []):
            rows.append((r["model"], r["shape"], r["flips_per_ns"], r.get("bit_exact_vs_cpu")))
    elif log.exists():  # cut before its JSON: the rows it printed
        text = log.read_text()
        text = text[text.find("== ising"):] if "== ising" in text else ""
        for line in text.splitlines():
            m = _ISING_LINE.match(line.strip())
            if m:
                rows.append((m[1], [int(m[2]), int(m[3])], float(m[6]), m[7] or None))
        note = " (from the log: cut before its JSON)"
    if not rows:
        return ["  Ising: no results (benchmark not run or cut before its first row)"]
    lines = [f"  Ising{note}: flips/ns"]
    for model, shape, fpns, exact in rows:
        ex = "" if exact is None else f"  bit-exact vs cpu: {exact}"
        lines.append(f"    {model:17s} {shape[0]:>6d}x{shape[1]:<6d} {fpns:9.2f}{ex}")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--status", type=Path, required=True)
    ap.add_argument("--log", type=Path, required=True)
    ap.add_argument("--expected-log", type=Path, required=True)
    ap.add_argument("--junit", type=Path, required=True)
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--rehearse", action="store_true")
    args = ap.parse_args(argv)

    status = read_status(args.status)
    junit = read_junit(args.junit)
    ok = all(rc == "0" for rc, _ in status.values())
    title = "REHEARSAL (no GPU: every stage up to its first CUDA call)" if args.rehearse \
        else "GPU CHECK"
    print(f"==================== gpuent {title}: {args.seconds} s ====================")
    print("stages: " + ", ".join(f"{n} {'ok' if rc == '0' else 'rc=' + rc} {s}s"
                                 for n, (rc, s) in status.items()))
    events = (args.expected_log.read_text().split() if args.expected_log.exists() else [])[::2]
    hits, misses = events.count("hit"), events.count("miss")
    print(f"stored expectations: {hits} used, {misses} missing"
          + (" (computed on the cpu path: Numba compiled)" if misses and not args.rehearse
             else ""))
    cases = read_cases(args.junit)
    cut = status.get("tests", ("0", 0))[0] not in ("0", "1")
    for module, family in FAMILIES.items():
        mc = status.get(MEMCHECK[family])
        clean = ("not run" if mc is None else "not measured (rehearsal)" if args.rehearse
                 else "yes" if mc[0] == "0" else "NO: errors" if mc[0] == "99"
                 else "cut short" if mc[0] in ("124", "130", "137")
                 else f"NO (rc={mc[0]}: see log.txt)")
        for label, _ in SUBFAMILIES[family]:
            c = {"passed": 0, "failed": 0, "skipped": 0}
            for m, name, state in cases:
                if m == module and subfamily(family, name) == label:
                    c[state] += 1
            tests = f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
            if args.rehearse:
                exact = "not measured (rehearsal)"
            else:
                exact = ("yes" if not c["failed"] and c["passed"] and not cut else "NO"
                         + (" (tests cut short)" if cut else ""))
            print(f"{family + ' ' + label:24s} bit-exact: {exact:5s} memcheck clean: "
                  f"{clean:5s} [tests: {tests}]")
    others = {m: c for m, c in junit.items() if m not in FAMILIES}
    if others:
        p = sum(c["passed"] for c in others.values())
        f = sum(c["failed"] for c in others.values())
        print(f"other GPU tests (xp=cupy, ...): {p} passed, {f} failed in {len(others)} modules")
    for name in failed_names(args.junit):
        print(f"  FAILED {name}")
    if not args.rehearse:
        print("throughput:")
        for line in entropy_rows(args.results) + ising_rows(args.results, args.log):
            print(line)
    whl, exp = mib(ROOT / ".whl"), mib(ROOT / ".gpu-expected")
    size_ok = whl + exp < BUNDLE_LIMIT_MIB
    print(f"bundle: .whl {whl:.1f} MiB + .gpu-expected {exp:.1f} MiB = {whl + exp:.1f} MiB "
          f"({'within' if size_ok else 'OVER'} {BUNDLE_LIMIT_MIB} MiB)")
    ok = ok and size_ok and not (args.rehearse and misses)
    print(f"result: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
