#!/usr/bin/env python3
"""Turns one bench/run.sh run into bench/RESULTS.md and bench/results.json.

    render_results.py WORKDIR --cpu NAME --cores N --elapsed-s S --markdown OUT.md --json OUT.json

WORKDIR holds what the sections wrote (kernels.json, reference.json,
pipeline.jsonl, synthetic.jsonl, brian2.jsonl, pytorch.jsonl, commands.tsv,
skipped.tsv). Each section below renders only what its files hold; add a
section by writing a function and listing it in SECTIONS. Nothing here is a
measured figure: every number comes from WORKDIR, except the published chip
throughput (docs/HARDWARE.md 1.4), which is labelled as such, and the hand-run
comparisons of bench/manual_results.md, appended unchanged under their own
heading.
"""
import argparse
import datetime
import json
import os
import sys

# Esser et al., PNAS 2016, one chip (docs/HARDWARE.md 1.4): the range over the five datasets.
PUBLISHED_CHIP_FPS = "1,249-2,610"


def jsonl(path):
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path) if line.strip().startswith("{")]


def gbench(path):
    if not os.path.exists(path):
        return []
    return json.load(open(path))["benchmarks"]


def commands(work, section):
    out = []
    for line in open(os.path.join(work, "commands.tsv")):
        name, _, cmd = line.rstrip("\n").partition("\t")
        if name == section:
            out.append(cmd)
    return out


def command_block(work, *sections):
    lines = [c for s in sections for c in commands(work, s)]
    if not lines:
        return []
    return ["Commands ($TMP is run.sh's scratch folder):", "```", *lines, "```", ""]


def kernels(work, data):
    rows = gbench(os.path.join(work, "kernels.json"))
    data["kernels"] = rows
    if not rows:
        return []
    out = ["## Simulator kernels (one core, one tick)", "",
           "Source: `bench/kernel_bench.cpp` (Google Benchmark), through the public simulator over 64 cores.",
           "Crossbar integration: a random subset of the 256 axons is active on every core each tick;",
           "crossbar density 0.25, neurons without destinations (integration + neuron update, no spikes).",
           "Spike delivery: every neuron fires every tick to an axon of another core, empty crossbars.",
           "Integration figures are per CPU second (Google Benchmark's rates), spike delivery per wall second.", "",
           "| kernel | neurons | axon activity | threads | ns per core-tick | synaptic events / core-tick | events/s or spikes/s |",
           "|---|---|---|---|---|---|---|"]
    for b in rows:
        name = b["name"]
        if name.startswith("BM_crossbar_integration"):
            act = name.split("activity_pct:")[1].split("/")[0]
            ns = 1e9 / b["core_ticks"] if b.get("core_ticks") else float("nan")
            out.append(f"| crossbar integration | {b.get('label', '')} | {act} % | 1 | {ns:.0f} | "
                       f"{b['events_per_core_tick']:.0f} | {b['items_per_second']:.3g} |")
        elif name.startswith("BM_spike_delivery"):
            threads = name.split("threads:")[1].split("/")[0]
            out.append(f"| spike delivery | all fire | - | {threads} | {b['real_time'] / 64:.0f} "
                       f"| - | {b['items_per_second']:.3g} |")
    return out + [""] + command_block(work, "kernels")


def reference(work, data):
    rows = {b["name"]: b for b in gbench(os.path.join(work, "reference.json"))}
    data["reference"] = list(rows.values())
    if not rows:
        return []
    out = ["## Reference (golden) forward pass", "",
           "Source: `bench/reference_bench.cpp` (Google Benchmark)."]
    one = rows.get("BM_reference_one_frame")
    if one:
        out.append(f"Network: `bench/synthetic.hpp` one_chip_network, {one['neurons']:.0f} neurons, "
                   f"{one['synapses']:.0f} synaptic connections per frame.")
    out += ["", "| benchmark | threads | time | frames/s |", "|---|---|---|---|"]
    if one:
        out.append(f"| one frame | 1 | {one['real_time']:.2f} ms | {one['items_per_second']:.0f} |")
    for t in (1, 2):
        b = rows.get(f"BM_reference_fmnist_10k/{t}/iterations:1/real_time")
        if b:
            out.append(f"| 10,000 Fashion-MNIST test frames | {t} | {b['real_time']:.2f} s | {b['items_per_second']:.0f} |")
    return out + [""] + command_block(work, "reference")


def pipeline(work, data):
    rows = jsonl(os.path.join(work, "pipeline.jsonl"))
    data["pipeline"] = rows
    if not rows:
        return []
    out = ["## Compile and simulate (TrueNorth-style target)", "",
           "Source: `bench/pipeline_bench.cpp`. Frames are Fashion-MNIST test images (the synthetic network runs the",
           "first 500). Simulated frames/s is the tick-accurate simulation on this machine, set-up included;",
           "the modelled chip runs one frame per 1 ms tick (1,000 frames/s; Eedn ran 1,249-2,610 frames/s,",
           "docs/HARDWARE.md 1.4).", "",
           "| model | cores (lower bound) | compile s | mean hops (row-major) | threads | frames | simulated frames/s | synaptic events / frame | energy / frame uJ |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['cores']} ({r['cores_lower_bound']}) | {r['compile_s']:.2f} | "
                   f"{r['mean_hops']:.2f} ({r['naive_mean_hops']:.2f}) | {r['threads']} | {r['frames']} | "
                   f"{r['sim_frames_per_s']:.0f} | {r['synaptic_events_per_frame']:.0f} | {r['energy_per_frame_uj']:.2f} |")
    return out + [""] + command_block(work, "pipeline")


def synthetic(work, data):
    rows = [r for r in jsonl(os.path.join(work, "synthetic.jsonl")) if r.get("bench") == "synthetic"]
    data["synthetic"] = rows
    if not rows:
        return []
    out = ["## Synthetic random full-chip networks (nmc)", "",
           "Source: `bench/synthetic_bench.cpp`, networks from `hw::balanced_chip` (seeded; crossbar density 0.25,",
           "four axon types weighing +1, +2, -1, -2, leak +1, delays 1..15, one source per axon). The threshold sets",
           "the activity (calibrated on a 64-core network); activity below is measured: the percentage of neurons",
           "firing per tick, after untimed warm-up ticks.", "",
           "| cores | synapses | activity (target) | threshold | threads | ticks | ticks/s | synaptic events/s | events / neuron / tick |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['cores']} | {r['synapses']:,} | {r['activity_pct']:.1f} % ({r['target_activity_pct']:g} %) | "
                   f"{r['threshold']} | {r['threads']} | {r['ticks']} | {r['ticks_per_s']:.1f} | "
                   f"{r['synaptic_events_per_s']:.3g} | {r['events_per_neuron_tick']:.2f} |")
    return out + [""] + command_block(work, "synthetic")


def brian2(work, data):
    rows = sorted(jsonl(os.path.join(work, "brian2.jsonl")), key=lambda r: float(r["network"].replace("act", "")))
    checks = {r["target_activity_pct"]: r for r in jsonl(os.path.join(work, "synthetic.jsonl"))
              if r.get("bench") == "synthetic_check"}
    nmc2 = {r["target_activity_pct"]: r for r in jsonl(os.path.join(work, "synthetic.jsonl"))
            if r.get("bench") == "synthetic" and r["threads"] == 2}
    data["brian2"] = rows
    if not rows:
        return []
    out = ["## Peer: Brian2 on the same networks", "",
           "`nmc export brian2` writes each synthetic network as NumPy arrays plus a Brian2 script",
           "(`convert/src/brian2_export.cpp`); Brian2 2.5 runs it in C++ standalone mode on 2 OpenMP threads",
           "(OMP_WAIT_POLICY=passive unless set: spinning barriers collapse on a shared machine). Integer",
           "arithmetic, one Brian2 step per tick, schedule reordered to synapses, leak, threshold, reset. Brian2's",
           "run time is its network run only (not code generation, compilation or loading the arrays); its peak",
           "memory is the largest process's (Python or the compiled simulation).",
           "**Check**: every neuron's spike count over the run equals nmc's (the run fails otherwise).",
           "Brian2's events/s are nmc's synaptic events over the same ticks (identical spikes, so identical",
           "work) divided by Brian2's run time; the ratio is nmc's 2-thread events/s (table above) over Brian2's.", "",
           "| network | cores | synapses | ticks | spikes (equal in both) | neurons compared / mismatched | Brian2 ticks/s | Brian2 events/s | nmc events/s (2 threads) | nmc / Brian2 | Brian2 setup + build s | Brian2 peak memory MB |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        act = float(r["network"].replace("act", ""))
        check, fast = checks.get(act), nmc2.get(act)
        b_eps = check["synaptic_events"] / r["run_s"] if check and r["run_s"] > 0 else float("nan")
        n_eps = fast["synaptic_events_per_s"] if fast else float("nan")
        r["synaptic_events_per_s"] = b_eps
        r["nmc_over_brian2"] = n_eps / b_eps if b_eps else float("nan")
        out.append(f"| {act:g} % activity | {r['cores']} | {r['synapses']:,} | {r['ticks']} | {r['spikes']:,} | "
                   f"{r['neurons']:,} / {r.get('mismatched_neurons', 'not checked')} | {r['ticks_per_s']:.2f} | "
                   f"{b_eps:.3g} | {n_eps:.3g} | {r['nmc_over_brian2']:.1f}x | {r['wall_s'] - r['run_s']:.0f} | "
                   f"{r.get('peak_rss_mb', float('nan')):.0f} |")
    return out + [""] + command_block(work, "brian2")


def pytorch(work, data):
    rows = jsonl(os.path.join(work, "pytorch.jsonl"))
    sim = {(r["model"], r["threads"]): r for r in jsonl(os.path.join(work, "pipeline.jsonl"))}
    data["pytorch"] = rows
    if not rows:
        return []
    out = ["## Peer: PyTorch inference of the same models", "",
           "Source: `bench/torch_bench.py`: the model's exported ANN (its ONNX graph, run with PyTorch ops by",
           "`convert/python/oracle.py`, the forward pass the golden tests check nmc against), Fashion-MNIST test",
           "frames, batch 256, `torch.set_num_threads(2)`. nmc's column is the tick-accurate simulation at",
           "2 threads (section above); the chip column is the published one-chip Eedn throughput (Esser et al.,",
           "PNAS 2016, docs/HARDWARE.md 1.4), not a measurement of ours.", "",
           "| model | PyTorch frames/s (2 threads, batch 256) | PyTorch accuracy | nmc simulated frames/s (2 threads) | TrueNorth chip, published frames/s |",
           "|---|---|---|---|---|"]
    for r in rows:
        s = sim.get((r["model"], 2))
        nmc = f"{s['sim_frames_per_s']:.0f}" if s else "-"
        out.append(f"| {r['model']} (PyTorch {r['torch']}, {r['frames']} frames) | {r['frames_per_s']:.0f} | "
                   f"{100 * r['accuracy']:.2f} % | {nmc} | {PUBLISHED_CHIP_FPS} |")
    return out + [""] + command_block(work, "pytorch")


def grid(work, data):
    rows = jsonl(os.path.join(work, "grid.jsonl")) + jsonl(os.path.join(work, "grid_program.jsonl"))
    data["grid"] = rows
    if not rows:
        return []
    out = ["## DANNA-style grid simulator", "",
           "Source: `bench/grid_bench.cpp`: a synthetic program that configures every element of the grid (relay",
           "chains fed every other cycle, a neuron every 4th element). Relays: `stepped`, every element stepped",
           "one by one; `delay lines`, relay chains run as delay lines (the simulator's default; same events",
           "counted, checked). Element-cycles count every configured element. The last rows run a compiled",
           "program instead (`--program`: `examples/grid_fmnist.yaml` laid out with `--layout stripes --tiles 2x12`,",
           "a random bit on every input port each cycle, delay lines only).", "",
           "| grid | elements | relays | stepped | threads | cycles | wall s | element-cycles/s |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['grid']} | {r['elements']} | {r.get('relays', 'stepped')} | {r.get('stepped', r['elements'])} | "
                   f"{r['threads']} | {r['cycles']} | {r['wall_s']:.2f} | {r['element_cycles_per_s']:.3g} |")
    return out + [""] + command_block(work, "grid", "grid_program")


def mpi(work, data):
    model = jsonl(os.path.join(work, "mpi_model.jsonl"))
    board = jsonl(os.path.join(work, "mpi_board.jsonl"))
    data["mpi_model"], data["mpi_board"] = model, board
    if not model and not board:
        return []
    out = ["## Distributed: MPI ranks beside threads (same cores)", "",
           "`mpirun -n R nmc simulate` (OpenMPI, `--bind-to none`, one TBB thread per rank) against one process",
           "on 1 and 2 threads. *frames*: each rank simulates a slice of the frames; *cores*: each rank a share",
           "of the cores, spikes crossing ranks exchanged every tick (`runtime/include/nmc/runtime/distributed.hpp`).",
           "Simulated frames/s is the simulation alone; the command's wall time includes loading, the",
           "reference check (spread over the ranks too) and, for ranks, MPI start-up. The counts must agree:",
           "every row's synaptic events and spikes are the first row's (checked here, the table is not written",
           "otherwise).", ""]
    if model:
        base = next((r for r in model if r["label"] == "threads=2"), model[0])
        for r in model:
            if (r["synaptic_events"], r["spikes"], r["reference_agreement"]) != \
                    (model[0]["synaptic_events"], model[0]["spikes"], 1.0):
                raise SystemExit(f"render_results.py: mpi: {r['label']} counts differ from {model[0]['label']}")
        out += [f"`fmnist_1chip` ({model[0]['frames']} frames, agreement 1.0 in every row):", "",
                "| run | simulated frames/s | vs 2 threads | command wall s | vs 2 threads |", "|---|---|---|---|---|"]
        for r in model:
            out.append(f"| {r['label']} | {r['sim_frames_per_s']:.0f} | {r['sim_frames_per_s'] / base['sim_frames_per_s']:.2f}x | "
                       f"{r['command_s']:.1f} | {base['command_s'] / r['command_s']:.2f}x |")
        out.append("")
    if board:
        base = next((r for r in board if r["threads"] == 2 and not r["mpi"]), board[0])
        for r in board:
            if (r["spikes"], r["synaptic_events"]) != (board[0]["spikes"], board[0]["synaptic_events"]):
                raise SystemExit("render_results.py: mpi: the synthetic board's counts differ between runs")
        b0 = board[0]
        out += [f"Synthetic board (`hw::balanced_board`, {b0['chips']} chips as {b0['board']}, {b0['cores']:,} cores, "
                f"activity {b0['activity_pct']:.1f} %, {b0['ticks']} timed ticks; {b0['spikes']:,} spikes in every row):", "",
                "| run | ticks/s | chip-ticks/s | vs 2 threads | peak memory per process MiB | per rank: compute / exchange / wait s |",
                "|---|---|---|---|---|---|"]
        for r in board:
            label = f"{r['ranks']} rank{'s' if r['ranks'] > 1 else ''} x {r['threads']} thread" if r["mpi"] else \
                f"1 process, {r['threads']} thread{'s' if r['threads'] > 1 else ''}"
            ranks = "; ".join(f"{x['compute_s']:.2f} / {x['exchange_s']:.2f} / {x['wait_s']:.2f}" for x in r["per_rank"]) or "-"
            out.append(f"| {label} | {r['ticks_per_s']:.2f} | {r['chip_ticks_per_s']:.1f} | "
                       f"{r['ticks_per_s'] / base['ticks_per_s']:.2f}x | {r['peak_rss_mib_max']:.0f} | {ranks} |")
        out.append("")
    return out + command_block(work, "mpi")


def growth(work, data):
    rows = jsonl(os.path.join(work, "growth.jsonl"))
    data["growth"] = rows
    if not rows:
        return []
    out = ["## Growth with chips", "",
           "The synthetic one-chip Eedn network (`bench/synthetic.hpp`) made k times as wide (k times the channels",
           "and the groups: the same fan-in and per-core statistics), compiled for the fewest chips that hold it",
           "(`bench/growth_bench.cpp`), then simulated on Fashion-MNIST frames (ticks include the pipeline's fill).",
           "Ratios are against the one-chip row of the same thread count: the cost of a chip-tick, the simulator's",
           "memory per chip and the compile time per core. Crossing paths: core-to-core paths that cross a chip edge.", "",
           "| k | chips (board) | cores | compile s | compile ms / core (vs 1) | compile peak MiB | mean hops | crossing paths | threads | ticks/s | chip-ticks/s | us / chip-tick (vs 1) | ns / core-tick (vs 1) | sim MiB / chip (vs 1) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    base = {r["threads"]: r for r in rows if r["scale"] == min(x["scale"] for x in rows)}
    for r in rows:
        b = base[r["threads"]]
        us = 1e6 / r["chip_ticks_per_s"]
        us0 = 1e6 / b["chip_ticks_per_s"]
        ns = 1e9 / (r["ticks_per_s"] * r["cores"])
        ns0 = 1e9 / (b["ticks_per_s"] * b["cores"])
        out.append(f"| {r['scale']} | {r['chips']} ({r['board']}) | {r['cores']:,} | {r['compile_s']:.1f} | "
                   f"{r['compile_s_per_kcore']:.3f} ({r['compile_s_per_kcore'] / b['compile_s_per_kcore']:.2f}x) | "
                   f"{r['compile_peak_mib']:.0f} | {r['mean_hops']:.2f} | "
                   f"{100.0 * r['crossing_connections'] / max(r['connections'], 1):.1f} % | {r['threads']} | "
                   f"{r['ticks_per_s']:.2f} | {r['chip_ticks_per_s']:.1f} | {us:.0f} ({us / us0:.2f}x) | "
                   f"{ns:.0f} ({ns / ns0:.2f}x) | "
                   f"{r['sim_mib_per_chip']:.0f} ({r['sim_mib_per_chip'] / max(b['sim_mib_per_chip'], 1e-9):.2f}x) |")
    out.append("")
    return out + command_block(work, "growth")


SECTIONS = [synthetic, brian2, pytorch, pipeline, kernels, reference, grid, mpi, growth]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("work")
    ap.add_argument("--cpu", required=True)
    ap.add_argument("--cores", required=True)
    ap.add_argument("--elapsed-s", type=int, required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    data = {}
    md = ["# Benchmark results", "",
          "Generated by `bench/run.sh` (do not edit by hand); every figure below comes from that one run.", "",
          f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
          f"- machine: {args.cpu}, {args.cores} cores",
          f"- whole suite: {args.elapsed_s} s (`bench/run.sh`, including the build)", ""]
    skipped = [line.rstrip("\n").split("\t", 1) for line in open(os.path.join(args.work, "skipped.tsv")) if line.strip()]
    for name, why in skipped:
        md.append(f"- **not run: {name}**: {why}")
    if skipped:
        md.append("")
    for section in SECTIONS:
        md += section(args.work, data)
    # Hand-run comparisons (compile-time A/B runs of two builds) are kept in
    # their own file and appended as they are: a run here must not drop them.
    manual = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manual_results.md")
    if os.path.exists(manual):
        md += ["", open(manual).read().rstrip()]
    for path, text in ((args.markdown, "\n".join(md).rstrip() + "\n"), (args.json, json.dumps(data, indent=1) + "\n")):
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
