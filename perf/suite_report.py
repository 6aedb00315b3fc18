#!/usr/bin/env python3
"""suite_report.py: turns one run of perf/suite.sh (a work directory of
lexload, lexgc, callgrind and /proc figures) into perf/results/latest.json
and latest.md: every figure beside the baseline measured in the same run,
its ratio to it, and whether each of the project's targets is met.
Usage: suite_report.py WORKDIR OUTDIR --quick 0|1 --nodes N ... (see suite.sh)"""
import argparse
import json
import os
import re
import shutil
import time


def load(work, name):
    path = os.path.join(work, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}"


def fx(v):
    return "-" if v is None else f"{v:.2f}x"


def ms(us):
    return None if us is None else us / 1000.0


def machine():
    """CPU model and count, and what the machine was doing (load averages)."""
    model = "unknown"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model}


def read_text(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return f.read().strip()
    except OSError:
        return None


def errors_of(r):
    """Answers that were missing, failed to send, or were not a real answer."""
    if not r:
        return None
    st = r["by_answer_key"].get("ST", 0)
    return r["unanswered"] + r["send_errors"] + r["unexpected"] + st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("out")
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--nodes", type=int, default=18000)
    ap.add_argument("--cg-small", type=int)
    ap.add_argument("--cg-big", type=int)
    ap.add_argument("--ladder", default="")
    ap.add_argument("--cmd", default="perf/suite.sh")
    a = ap.parse_args()
    w = a.work
    host = machine()
    host["uptime_start"] = read_text(w, "uptime-start.txt")
    host["uptime_end"] = read_text(w, "uptime-end.txt")
    res = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "command": a.cmd,
           "commit": (read_text(w, "commit.txt") or "unknown").replace("\n", " "),
           "quick": bool(a.quick), "host": host, "targets": {}, "summary": []}
    md = []
    out = md.append
    summary = res["summary"]

    def row(figure, value, unit, base=None, target=None, met=None, nd=0):
        summary.append({"figure": figure, "value": value, "unit": unit, "baseline": base,
                        "ratio": ratio(value, base) if base is not None else None,
                        "target": target, "met": met, "nd": nd})

    # 1. closed loop
    bare = [load(w, f"bare-closed-{i}.json") for i in (1, 2)]
    bare_tp = [b["throughput"] for b in bare if b]
    base = sum(bare_tp) / len(bare_tp) if bare_tp else None
    closed = {"baseline_round_trips_per_s": base, "bare_runs": bare_tp, "runs": {}}
    sample = bare[0] or load(w, "switch-closed-sync.json")
    out(f"# lexswitch benchmark results\n")
    out(f"`{a.cmd}` at commit {res['commit']}, {res['when']}, on {host['cpus']} x "
        f"{host['cpu_model']}{' (QUICK: short runs, to check the suite)' if a.quick else ''}. "
        f"The machine is shared with other work: read the ratios, not the absolute figures. "
        f"Load average at the start: {(host['uptime_start'] or '?').split('load average:')[-1].strip()}; "
        f"at the end: {(host['uptime_end'] or '?').split('load average:')[-1].strip()}. "
        f"Requester (`lexload`), switch or forwarder, and responder (`lexecho`) are separate "
        f"processes on TCP loopback; every switch runs with `dev_plain=1` (no CURVE).\n")
    summary_at = len(md)
    out("## Closed loop: 1024 queries in flight\n")
    if sample:
        out(f"Query: DQ, envelope {sample['query_env_bytes']} B + body "
            f"{sample['query_body_bytes']} B (the catalogue's length limits cap a DQ body "
            f"there); answer: DR with a 300-byte body. Baseline: the bare forwarder "
            f"(`lexfwd`), run before and after the switch runs, mean of the two.\n")
    out("| run | round trips/s | ratio to bare | p50 ms | p99 ms | CPU s (middle process) | "
        "peak RSS MB | errors |")
    out("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label in ("bare-closed-1", "switch-closed-none", "switch-closed-batch",
                  "switch-closed-sync", "bare-closed-2"):
        r = load(w, label + ".json")
        p = load(w, label + ".proc.json") or {}
        if not r:
            out(f"| {label} | failed | | | | | | |")
            continue
        tp = r["throughput"]
        closed["runs"][label] = {"round_trips_per_s": tp, "ratio": ratio(tp, base),
                                 "p50_us": r["latency_us"]["p50"],
                                 "p99_us": r["latency_us"]["p99"], "errors": errors_of(r),
                                 "cpu_s": p.get("cpu_s"), "vmhwm_kb": p.get("vmhwm_kb")}
        out(f"| {label} | {fmt(tp)} | {fx(ratio(tp, base))} | {fmt(ms(r['latency_us']['p50']), 1)} "
            f"| {fmt(ms(r['latency_us']['p99']), 1)} | {fmt(p.get('cpu_s'), 1)} | "
            f"{fmt((p.get('vmhwm_kb') or 0) / 1024, 0)} | {errors_of(r)} |")
    if len(bare_tp) == 2:
        out(f"\nBare forwarder spread between its two runs: "
            f"{abs(bare_tp[0] - bare_tp[1]) / max(bare_tp) * 100:.0f}%.")
    row("bare forwarder, closed loop 1024 in flight", base, "round trips/s")
    for mode in ("sync", "batch", "none"):
        run = closed["runs"].get(f"switch-closed-{mode}", {})
        row(f"switch ({mode}), closed loop 1024 in flight", run.get("round_trips_per_s"),
            "round trips/s", base, ">= 0.5x" if mode == "sync" else None,
            (run.get("ratio") or 0) >= 0.5 if mode == "sync" and run else None)
    sync = closed["runs"].get("switch-closed-sync", {})
    met = sync.get("ratio") is not None and sync["ratio"] >= 0.5
    res["targets"]["full_path_ratio_ge_0.5"] = {"value": sync.get("ratio"), "met": met}
    out(f"\n**Target** full path (sync) >= 0.5x bare: {fx(sync.get('ratio'))} - "
        f"{'met' if met else 'NOT met'}.\n")
    res["closed_loop"] = closed

    # 2. group commit
    out("## Audit log: bare RocksDB group commit\n")
    out("`lexgc`: 460-byte records, one synced write (fsync) per batch, nothing else.\n")
    out("| batch | records/s | commits/s | commit p50 ms | commit p99 ms |")
    out("|---:|---:|---:|---:|---:|")
    gc = {}
    for b in (1, 1024):
        g = load(w, f"gc-{b}.json")
        if g:
            gc[b] = g
            out(f"| {b} | {fmt(g['records_per_s'])} | {fmt(g['commits_per_s'])} | "
                f"{fmt(ms(g['commit_p50_us']), 2)} | {fmt(ms(g['commit_p99_us']), 2)} |")
    st = load(w, "switch-closed-sync.stats.json")
    r = load(w, "switch-closed-sync.json")
    if st and r and r["answers"] and gc.get(1024):
        per_rt = st.get("log_last_seq", 0) / max(r["answers"], 1)
        rec_s = per_rt * r["throughput"]
        fsyncs = st.get("log_fsyncs") or 0
        per_fsync = st.get("log_records", 0) / fsyncs if fsyncs else None
        fsync_s = rec_s / per_fsync if per_fsync else None
        bare_per = gc[1024]["records_per_s"] / gc[1024]["commits_per_s"] \
            if gc[1024].get("commits_per_s") else None
        out(f"\nThe switch (sync) wrote {per_rt:.2f} audit records per round trip, "
            f"{fmt(rec_s)} records/s: {fx(ratio(rec_s, gc[1024]['records_per_s']))} of the bare "
            f"writer's records/s at 1024 a batch; {fmt(per_fsync, 1)} records per fsync over "
            f"the whole run ({fmt(st.get('log_records'))} records, {fmt(fsyncs)} fsyncs), so "
            f"about {fmt(fsync_s)} fsyncs/s while loaded (bare writer at 1024 a batch: "
            f"{fmt(gc[1024].get('commits_per_s'))} fsyncs/s; at 1 a batch: "
            f"{fmt(gc[1].get('commits_per_s') if gc.get(1) else None)} fsyncs/s).")
        res["group_commit"] = {"bare": gc, "switch_records_per_round_trip": per_rt,
                               "switch_records_per_s": rec_s,
                               "switch_records_per_fsync": per_fsync,
                               "switch_fsyncs_per_s": fsync_s,
                               "ratio_to_bare_1024": ratio(rec_s, gc[1024]["records_per_s"])}
        row("audit records/s: switch (sync) vs bare group commit (1024 a batch)", rec_s,
            "records/s", gc[1024]["records_per_s"])
        row("records per fsync: switch (sync) vs bare group commit (1024 a batch)", per_fsync,
            "records", bare_per, nd=1)
        if gc.get(1):
            row("fsyncs/s: switch (sync) vs bare writer, one record a batch", fsync_s,
                "fsyncs/s", gc[1].get("commits_per_s"))
    out("")

    # 3. open loop ladder
    ladder = [int(x) for x in a.ladder.split()] if a.ladder else []
    top = ladder[-1] if ladder else None
    bare_open = load(w, f"bare-open-{top}.json") if top else None
    out("## Open loop, Poisson arrivals, sync durability\n")
    out("Latency from each query's scheduled time to its answer. Baseline: the bare "
        f"forwarder at {fmt(top)}/s.\n")
    out("| run | asked/s | sent/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | "
        "p99 ratio to bare |")
    out("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    open_res = {}
    rows = ([(f"bare-open-{top}", bare_open)] if bare_open else []) + \
           [(f"switch-open-{x}", load(w, f"switch-open-{x}.json")) for x in ladder]
    bare_p99 = bare_open["latency_us"]["p99"] if bare_open else None
    for label, r in rows:
        if not r:
            out(f"| {label} | failed | | | | | | | |")
            continue
        l = r["latency_us"]
        open_res[label] = {"rate": r["config"]["rate"], "rate_sent": r["rate_sent"],
                           "latency_us": l, "errors": errors_of(r),
                           "p99_ratio_to_bare": ratio(l["p99"], bare_p99)}
        out(f"| {label} | {fmt(r['config']['rate'])} | {fmt(r['rate_sent'])} | "
            f"{fmt(ms(l['p50']), 2)} | {fmt(ms(l['p99']), 2)} | {fmt(ms(l['p999']), 2)} | "
            f"{fmt(ms(l['max']), 1)} | {errors_of(r)} | {fx(ratio(l['p99'], bare_p99))} |")
    t50 = load(w, "switch-open-50000.json")
    if t50:
        l = t50["latency_us"]
        ok = l["p99"] < 2000 and l["p999"] < 5000 and errors_of(t50) == 0
        res["targets"]["open_50k_sync"] = {"p99_us": l["p99"], "p999_us": l["p999"],
                                           "errors": errors_of(t50), "met": ok}
        bl = bare_open["latency_us"] if bare_open else {}
        row("open loop 50,000/s (sync): p50 ms", ms(l["p50"]), "ms", ms(bl.get("p50")), nd=2)
        row("open loop 50,000/s (sync): p99 ms", ms(l["p99"]), "ms", ms(bl.get("p99")), "< 2 ms",
            l["p99"] < 2000, nd=2)
        row("open loop 50,000/s (sync): p99.9 ms", ms(l["p999"]), "ms", ms(bl.get("p999")),
            "< 5 ms", l["p999"] < 5000, nd=2)
        row("open loop 50,000/s (sync): errors", errors_of(t50), "", None, "0",
            errors_of(t50) == 0)
        row("open loop 50,000/s (sync): sent/s", t50["rate_sent"], "/s",
            bare_open["rate_sent"] if bare_open else None)
        out(f"\n**Target** 50,000/s sync: p99 < 2 ms, p99.9 < 5 ms, no errors: p99 "
            f"{ms(l['p99']):.2f} ms, p99.9 {ms(l['p999']):.2f} ms, errors {errors_of(t50)}, "
            f"sent {fmt(t50['rate_sent'])}/s - {'met' if ok else 'NOT met'}.\n")
    res["open_loop"] = open_res

    # 4. connected nodes
    out("## Connected nodes (sync, closed loop 1024 in flight, 100 nodes carry the load)\n")
    out("Idle nodes are `lexload --hold` processes of up to 4,500 connections each, "
        "started one after another; each connection is a node that registered with HELLO "
        "and heartbeats. `dropped`: nodes the switch dropped as silent (a holder that fell "
        "behind on heartbeats).\n")
    out("| nodes connected | round trips/s | ratio to 100 nodes | switch peak RSS MB | "
        "registration s | all registered | dropped | errors |")
    out("|---:|---:|---:|---:|---:|---|---:|---:|")
    n100 = load(w, "nodes-100.json")
    nodes_res = {}
    half = a.nodes // 2
    counts = [100] + ([half] if half > 1000 else []) + [a.nodes]
    for label, count in ((f"nodes-{c}", c) for c in counts):
        r = load(w, label + ".json")
        p = load(w, label + ".proc.json") or {}
        n = load(w, label + ".nodes.json") or {}
        if not r:
            why = (read_text(w, label + ".txt") or "no output").splitlines()
            why = why[-1] if why else "no output"
            out(f"| {fmt(count)} | failed: {why} | | {fmt((p.get('vmhwm_kb') or 0) / 1024, 0)} "
                f"| {fmt(n.get('register_s'))} | {'yes' if n.get('registered') else 'NO'} | "
                f"{fmt(n.get('dropped'))} | |")
            nodes_res[label] = {"nodes": count, "round_trips_per_s": None, "ratio": None,
                                "vmhwm_kb": p.get("vmhwm_kb"),
                                "register_s": n.get("register_s"),
                                "registered": n.get("registered"), "dropped": n.get("dropped"),
                                "errors": None, "failed": why}
            continue
        tp = r["throughput"]
        rr = ratio(tp, n100["throughput"] if n100 else None)
        nodes_res[label] = {"nodes": count, "round_trips_per_s": tp, "ratio": rr,
                            "vmhwm_kb": p.get("vmhwm_kb"), "register_s": n.get("register_s"),
                            "registered": n.get("registered"), "dropped": n.get("dropped"),
                            "errors": errors_of(r)}
        out(f"| {fmt(count)} | {fmt(tp)} | {fx(rr)} | {fmt((p.get('vmhwm_kb') or 0) / 1024, 0)} "
            f"| {fmt(n.get('register_s'))} | {'yes' if n.get('registered') else 'NO'} | "
            f"{fmt(n.get('dropped'))} | {errors_of(r)} |")
    mid = nodes_res.get(f"nodes-{half}")
    if mid and mid["round_trips_per_s"] is not None:
        row(f"{half:,} connected nodes vs 100: round trips/s (on the way)",
            mid["round_trips_per_s"], "round trips/s",
            (nodes_res.get("nodes-100") or {}).get("round_trips_per_s"))
        row(f"{half:,} connected nodes: switch peak RSS (VmHWM) MB (on the way)",
            (mid["vmhwm_kb"] or 0) / 1024, "MB",
            ((nodes_res.get("nodes-100") or {}).get("vmhwm_kb") or 0) / 1024 or None)
    big = nodes_res.get(f"nodes-{a.nodes}")
    if big:
        all_in = bool(big.get("registered")) and not big.get("dropped")
        mem_ok = all_in and big["vmhwm_kb"] is not None and big["vmhwm_kb"] < 1024 * 1024
        tp_ok = all_in and big["ratio"] is not None and big["ratio"] >= 0.8
        if not all_in:
            out(f"\nNot every one of the {a.nodes:,} nodes stayed registered, so neither "
                f"target counts as met.")
        res["targets"]["nodes_memory_lt_1GiB"] = {"vmhwm_kb": big["vmhwm_kb"], "met": mem_ok}
        small = nodes_res.get("nodes-100") or {}
        row(f"{a.nodes:,} connected nodes vs 100: round trips/s", big["round_trips_per_s"],
            "round trips/s", small.get("round_trips_per_s"), ">= 0.8x", tp_ok)
        row(f"{a.nodes:,} connected nodes: switch peak RSS (VmHWM) MB",
            (big["vmhwm_kb"] or 0) / 1024, "MB", (small.get("vmhwm_kb") or 0) / 1024 or None,
            "< 1024 MB", mem_ok)
        res["targets"]["nodes_throughput_ge_0.8"] = {"value": big["ratio"], "met": tp_ok}
        out(f"\n**Targets** {fmt(a.nodes)} nodes: memory < 1 GiB: "
            f"{fmt((big['vmhwm_kb'] or 0) / 1024, 0)} MB - {'met' if mem_ok else 'NOT met'}; "
            f"throughput >= 0.8x 100 nodes: {fx(big['ratio'])} - "
            f"{'met' if tp_ok else 'NOT met'}.\n")
    res["nodes"] = nodes_res

    # 5. callgrind
    cg = {}
    for prog in ("switch", "fwd"):
        s, b = load(w, f"cg-{prog}-{a.cg_small}.cg.json"), load(w, f"cg-{prog}-{a.cg_big}.cg.json")
        if s and b and b["routed"] > s["routed"]:
            cg[prog] = {"small": s, "big": b,
                        "ir_per_routed": (b["ir"] - s["ir"]) / (b["routed"] - s["routed"])}
    if cg:
        out("## Instructions per routed message (callgrind)\n")
        out(f"The program under `valgrind --tool=callgrind` at {a.cg_small} and {a.cg_big} "
            "queries (64 in flight); instructions of the difference divided by the messages "
            "routed in the difference, so start-up and shutdown cancel out. A round trip "
            "routes two messages. The switch runs with sync durability (RocksDB's background "
            "threads included; the kernel's fsync work is not counted).\n")
        out("| program | instructions (small run) | routed | instructions (big run) | routed | "
            "per routed message | ratio to bare |")
        out("|---|---:|---:|---:|---:|---:|---:|")
        bare_ir = cg.get("fwd", {}).get("ir_per_routed")
        if cg.get("switch"):
            row("instructions per routed message (callgrind)", cg["switch"]["ir_per_routed"],
                "instructions", bare_ir)
        for prog, name in (("fwd", "lexfwd (bare)"), ("switch", "lexswitch")):
            c = cg.get(prog)
            if c:
                c["ratio_to_bare"] = ratio(c["ir_per_routed"], bare_ir)
                out(f"| {name} | {fmt(c['small']['ir'])} | {fmt(c['small']['routed'])} | "
                    f"{fmt(c['big']['ir'])} | {fmt(c['big']['routed'])} | "
                    f"{fmt(c['ir_per_routed'])} | {fx(c['ratio_to_bare'])} |")
        top_path = os.path.join(w, "cg-switch-top.txt")
        if os.path.exists(top_path):
            lines = [ln.rstrip() for ln in open(top_path)
                     if re.match(r"^\s*[\d,]+ \(\s*[\d.]+%\)\s+\S", ln)
                     and "PROGRAM TOTALS" not in ln]
            if lines:
                out("\nWhere the switch's instructions go (big run, self cost, top 15):\n")
                out("```")
                md.extend(lines[:15])
                out("```")
        out("")
    res["callgrind"] = cg

    # the summary, after the header
    tab = ["## Summary\n", "| figure | value | baseline (same run) | ratio | target | met? |",
           "|---|---:|---:|---:|---|---|"]
    for r_ in summary:
        nd = r_["nd"]
        tab.append(f"| {r_['figure']} | {fmt(r_['value'], nd)} | {fmt(r_['baseline'], nd)} | "
                   f"{fx(r_['ratio'])} | {r_['target'] or ''} | "
                   f"{'' if r_['met'] is None else ('yes' if r_['met'] else 'NO')} |")
    tab.append("\nBaselines: the bare ZeroMQ forwarder `lexfwd` (throughput, latency, "
               "instructions), the bare RocksDB group-commit writer `lexgc` (audit log), and "
               "the switch with 100 connected nodes (connected nodes).\n")
    md[summary_at:summary_at] = tab

    # the commands
    cmd_path = os.path.join(w, "commands.txt")
    if os.path.exists(cmd_path):
        out("## Commands\n")
        out("Each lexload run as the suite started it (endpoints are ephemeral ports; "
            "lexswitch ran with `--rules tools/scenario --directory <lexctl directory "
            "--locals 360>` and the durability named in the label; lexecho and lexfwd with "
            "`--body-bytes 300`).\n")
        out("```")
        md.extend(ln.rstrip().replace(w + "/", "") for ln in open(cmd_path))
        out("```")
    os.makedirs(a.out, exist_ok=True)
    for src, dst in (("switch-closed-sync", "closed-sync"), ("bare-closed-1", "closed-bare"),
                     ("switch-open-50000", "open-50000-sync")):
        for kind in ("latency", "throughput"):
            p = os.path.join(w, f"{src}-{kind}.svg")
            if os.path.exists(p):
                shutil.copy(p, os.path.join(a.out, f"latest-{dst}-{kind}.svg"))
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
