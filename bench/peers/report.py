#!/usr/bin/env python3
"""bench/peers/report.py: the figures of bench/peers/run.sh and the
differential check of cityts against InfluxDB.

Reads the JSON lines run.sh recorded (ingest, disk and query timings per
engine) and the response bodies it kept (WORK/<engine>.<query>.body), prints
each figure and the cityts/peer ratio (bytes on disk are du's: blocks
allocated, so InfluxDB's sparse, preallocated series-file segments count for
what they use), then compares cityts's answer to
every query with InfluxDB's: the same statements, series (name, tags,
columns) in the same order, the same rows; times exactly (epoch=ns),
numbers within a relative 1e-9 (JSON numbers: 21 and 21.0 are equal),
everything else exactly. Every difference is printed; any makes the exit
status 1.
"""
import argparse
import json
import math
import sys

import queries

REL = 1e-9
ENGINES = ["cityts", "influxdb", "victoriametrics"]


def pct(v, p):
    v = sorted(v)
    k = max(1, math.ceil(p * len(v)))
    return v[k - 1]


def load(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    ingest, disk, q = {}, {}, {}
    for r in rows:
        if r["what"] == "ingest":
            ingest[r["engine"]] = r
        elif r["what"] == "disk":
            disk[r["engine"]] = r
        else:
            q[(r["engine"], r["name"])] = r["times"]["ms"]
    return ingest, disk, q


def same_number(a, b):
    if a == b:
        return True
    return abs(a - b) <= REL * max(abs(a), abs(b))


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def cmp_cell(a, b):
    if is_num(a) and is_num(b):
        return same_number(a, b)
    return a == b and type(a) is type(b)


def diff_results(mine, ref):
    """Differences between two /query JSON bodies, as readable lines."""
    out = []
    ra, rb = mine.get("results", []), ref.get("results", [])
    if "error" in mine or "error" in ref:
        if mine.get("error") != ref.get("error"):
            out.append("error: cityts %r, influxdb %r" % (mine.get("error"), ref.get("error")))
    if len(ra) != len(rb):
        out.append("results: cityts %d, influxdb %d" % (len(ra), len(rb)))
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x.get("error") != y.get("error"):
            out.append("statement %d error: cityts %r, influxdb %r" % (i, x.get("error"), y.get("error")))
        sa, sb = x.get("series", []), y.get("series", [])
        if len(sa) != len(sb):
            out.append("statement %d: cityts %d series, influxdb %d" % (i, len(sa), len(sb)))
        for j, (s, t) in enumerate(zip(sa, sb)):
            where = "statement %d series %d (%s %s)" % (i, j, t.get("name"), t.get("tags", {}))
            for key in ("name", "tags", "columns"):
                if s.get(key) != t.get(key):
                    out.append("%s %s: cityts %r, influxdb %r" % (where, key, s.get(key), t.get(key)))
            va, vb = s.get("values", []), t.get("values", [])
            if len(va) != len(vb):
                out.append("%s: cityts %d rows, influxdb %d" % (where, len(va), len(vb)))
            for k, (p, q) in enumerate(zip(va, vb)):
                if len(p) != len(q) or not all(cmp_cell(c, d) for c, d in zip(p, q)):
                    out.append("%s row %d: cityts %r, influxdb %r" % (where, k, p, q))
    return out


def check(work, sensors):
    """Compare every query; returns {name: [difference lines]}."""
    found = {}
    for name in queries.NAMES:
        try:
            mine = json.load(open("%s/cityts.%s.body" % (work, name)))
            ref = json.load(open("%s/influxdb.%s.body" % (work, name)))
        except (OSError, ValueError) as e:
            found[name] = ["cannot read or parse a response: %s" % e]
            continue
        d = diff_results(mine, ref)
        if d:
            found[name] = d
    return found


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "n/a"


def main():
    ap = argparse.ArgumentParser()
    for a in ("work", "results", "influx-version", "vm-version", "out"):
        ap.add_argument("--" + a)
    for a in ("values", "lines", "sensors", "days", "clients", "runs"):
        ap.add_argument("--" + a, type=int)
    o = ap.parse_args()
    ingest, disk, qt = load(o.results)
    rep = {"values": o.values, "lines": o.lines, "sensors": o.sensors, "days": o.days,
           "clients": o.clients, "runs": o.runs, "influxdb": o.influx_version,
           "victoriametrics": o.vm_version, "engines": {}}
    print("\n%d values (%d lines), %d sensors per city and measurement, %d days; %d clients, "
          "5000-line batches; %d runs per query" % (o.values, o.lines, o.sensors, o.days,
                                                     o.clients, o.runs))
    print("peers: %s; %s\n" % (o.influx_version, o.vm_version))
    for e in ENGINES:
        s = ingest[e]["load"]["seconds"]
        rep["engines"][e] = {"ingest_s": s, "values_per_s": o.values / s,
                             "disk_bytes": disk[e]["alloc"], "disk_apparent_bytes": disk[e]["bytes"],
                             "bytes_per_value": disk[e]["alloc"] / o.values,
                             "flush_s": disk[e]["flush_s"], "queries": {}}
        for name in queries.NAMES:
            ms = qt.get((e, name))
            rep["engines"][e]["queries"][name] = (
                {"p50_ms": pct(ms, 0.5), "p99_ms": pct(ms, 0.99)} if ms else None)
    E = rep["engines"]
    c = E["cityts"]
    print("%-26s %14s %14s %14s %10s %10s" % ("", "cityts", "InfluxDB", "VictoriaM.",
                                               "vs Influx", "vs VM"))
    print("%-26s %14.0f %14.0f %14.0f %10s %10s" % (
        "ingest values/s", c["values_per_s"], E["influxdb"]["values_per_s"],
        E["victoriametrics"]["values_per_s"], ratio(c["values_per_s"], E["influxdb"]["values_per_s"]),
        ratio(c["values_per_s"], E["victoriametrics"]["values_per_s"])))
    print("%-26s %14.3f %14.3f %14.3f %10s %10s" % (
        "bytes on disk per value", c["bytes_per_value"], E["influxdb"]["bytes_per_value"],
        E["victoriametrics"]["bytes_per_value"],
        ratio(c["bytes_per_value"], E["influxdb"]["bytes_per_value"]),
        ratio(c["bytes_per_value"], E["victoriametrics"]["bytes_per_value"])))
    print("%-26s %14.1f %14.1f %14.1f" % ("flush/compaction wait s", c["flush_s"],
                                          E["influxdb"]["flush_s"], E["victoriametrics"]["flush_s"]))
    print("query median ms (p99)")
    for name in queries.NAMES:
        cells, med = [], []
        for e in ENGINES:
            r = E[e]["queries"][name]
            cells.append("%.2f (%.2f)" % (r["p50_ms"], r["p99_ms"]) if r else "n/a")
            med.append(r["p50_ms"] if r else None)
        print("  %-24s %14s %14s %14s %10s %10s" % (name, cells[0], cells[1], cells[2],
                                                   ratio(med[0], med[1]), ratio(med[0], med[2])))
    print("(ratios: cityts / peer; above 1 is better for cityts on ingest, worse on bytes and "
          "query times)")
    found = check(o.work, o.sensors)
    rep["differences"] = found
    if o.out:
        with open(o.out, "w") as f:
            json.dump(rep, f, indent=1)
    if found:
        print("\nFAIL: cityts and InfluxDB disagree on %d of %d queries:" % (len(found),
                                                                           len(queries.NAMES)))
        for name, lines in found.items():
            print("\n  %s (%d differences):" % (name, len(lines)))
            print("    query: %s" % queries.influxql(o.sensors)[name])
            for line in lines[:10]:
                print("    " + line[:400])
            if len(lines) > 10:
                print("    ... %d more" % (len(lines) - 10))
        sys.exit(1)
    print("\ndifferential check: cityts's answers equal InfluxDB's on all %d queries "
          "(relative tolerance %g)" % (len(queries.NAMES), REL))


if __name__ == "__main__":
    main()
