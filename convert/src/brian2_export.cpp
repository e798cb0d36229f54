#include <nmc/convert/brian2_export.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

namespace nmc::convert {

namespace {

static_assert(std::endian::native == std::endian::little, "the .npy writer assumes a little-endian host");

// The script the export runs with; see its docstring for the tick semantics.
constexpr std::string_view brian2_script = R"PY(#!/usr/bin/env python3
"""Brian2 model of an nmc TrueNorth-style program, written by `nmc export brian2`.

The program's arrays lie beside this script as .npy files (meta.json describes
them). One TrueNorth tick is one Brian2 time step, and the schedule is
reordered so that a step does what an nmc tick does (docs/HARDWARE.md 1.2):
  synapses  spikes due this tick add their integer weights to v
  groups    v saturates to the potential range, the leak is added (saturated),
            and a neuron below the negative threshold is reset (-beta with
            kappa, otherwise by its reset mode)
  thresholds / resets   v >= alpha fires; v = R, v - alpha or v
A spike fired in tick t with delay d (1..15) arrives in tick t + d. Brian2
pushes the spikes of step t during the synapses slot of step t + 1 (the
synapses now run before the thresholds), so its delay is (d - 1) steps.
Every axon has at most one source in the programs this is meant for (nmc ORs
two spikes meeting on one axon into one; Brian2 would add both weights).

Usage: python3 run_brian2.py [--ticks N] [--device runtime|cpp_standalone]
           [--threads T] [--build-dir DIR] [--counts OUT.npy] [--expect NMC.npy]
           [--json OUT.json]
run_s is the network run alone (cpp_standalone: Brian2's own measure, without
code generation, compilation and loading the arrays).
--expect compares the per-neuron spike counts with nmc's (int64 .npy, one
count per neuron, core-major) and exits 1 on any difference.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    return np.load(os.path.join(HERE, name + ".npy"))


def synapse_arrays(meta):
    """(pre, post) of every crossbar synapse a spike reaches."""
    n = meta["neurons_per_core"]
    dest_core, dest_axon, crossbar = load("dest_core"), load("dest_axon"), load("crossbar")
    sources = np.nonzero(dest_core >= 0)[0]
    parts = []
    for k in range(0, len(sources), 65536):  # chunks keep the unpacked rows small
        src = sources[k:k + 65536]
        dc = dest_core[src].astype(np.int64)
        da = dest_axon[src].astype(np.int64)
        bits = np.unpackbits(crossbar[dc, da], axis=1, bitorder="little")[:, :n]
        si, jj = np.nonzero(bits)
        post = dc[si] * n + jj
        parts.append((src[si].astype(np.int32), post.astype(np.int32)))
    if not parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticks", type=int, default=100)
    ap.add_argument("--device", choices=["runtime", "cpp_standalone"], default="cpp_standalone")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads (cpp_standalone)")
    ap.add_argument("--build-dir", help="cpp_standalone build folder (default: a temporary one)")
    ap.add_argument("--counts", help="write the per-neuron spike counts (int64 .npy)")
    ap.add_argument("--expect", help="nmc's per-neuron spike counts (.npy): exit 1 unless equal")
    ap.add_argument("--json", help="write the timing and counts summary as JSON")
    args = ap.parse_args()
    if args.ticks < 1 or args.threads < 1:
        sys.exit("run_brian2.py: --ticks and --threads must be at least 1")
    with open(os.path.join(HERE, "meta.json")) as f:
        meta = json.load(f)
    if meta.get("format") != "nmc-brian2" or meta.get("version") != 1:
        sys.exit("run_brian2.py: meta.json is not an nmc Brian2 export of version 1")

    wall0 = time.perf_counter()
    import brian2 as b2
    from brian2 import ms

    tmp = None
    if args.device == "cpp_standalone":
        # Spinning OpenMP barriers collapse when the machine is shared (tens of
        # times slower); passive waiting costs little on a quiet one.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        build_dir = args.build_dir or tempfile.mkdtemp(prefix="nmc_brian2_")
        tmp = None if args.build_dir else build_dir
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j%d" % max(2, args.threads)]
    else:
        b2.prefs.codegen.target = "numpy"  # no compiler: fast to start, fine for small programs

    n_total = meta["cores"] * meta["neurons_per_core"]
    vmin, vmax = meta["v_min"], meta["v_max"]
    dt = meta["tick_ms"] * ms
    b2.defaultclock.dt = dt

    model = """
    v : integer
    leak : integer (constant)
    alpha : integer (constant)
    beta : integer (constant)
    pos_a : integer (constant)
    pos_b : integer (constant)
    neg_a : integer (constant)
    neg_b : integer (constant)
    s0 : integer (constant)
    s1 : integer (constant)
    s2 : integer (constant)
    s3 : integer (constant)
    dest_type : integer (constant)
    delay_ticks : integer (constant)
    """
    g = b2.NeuronGroup(n_total, model, threshold="v >= alpha",
                       reset="v = clip(pos_a * v + pos_b, %d, %d)" % (vmin, vmax),
                       dt=dt, name="neurons")
    for name in ("leak", "alpha", "beta", "pos_a", "pos_b", "neg_a", "neg_b", "dest_type", "delay_ticks"):
        setattr(g, name, load(name))
    weight = load("weight")  # S_j[G]: neurons x 4
    for k in range(4):
        setattr(g, "s%d" % k, weight[:, k])
    g.v = load("v0")
    # After the synapses of this tick: saturate, leak (saturated), negative side.
    g.run_regularly("""
    v = clip(v, %(lo)d, %(hi)d)
    v = clip(v + leak, %(lo)d, %(hi)d)
    v = clip(v + int(v < -beta) * (neg_a * v + neg_b - v), %(lo)d, %(hi)d)
    """ % {"lo": vmin, "hi": vmax}, when="groups", dt=dt, name="leak_and_floor")

    pre, post = synapse_arrays(meta)
    s = b2.Synapses(g, g, "w : integer (constant)", on_pre="v_post += w", dt=dt, name="crossbar")
    s.connect(i=pre, j=post)
    # The weight is the target neuron's S_j[G] for the type G of the axon the
    # source neuron sends to; expressions (not arrays) so that standalone mode
    # computes them after the synapses exist.
    s.w = " + ".join("s%d_post * int(dest_type_pre == %d)" % (k, k) for k in range(4))
    s.delay = "(delay_ticks_pre - 1) * %r * ms" % float(meta["tick_ms"])
    mon = b2.SpikeMonitor(g, record=False, name="counts")
    net = b2.Network(g, s, mon)
    net.schedule = ["start", "synapses", "groups", "thresholds", "resets", "end"]
    setup_s = time.perf_counter() - wall0
    net.run(args.ticks * dt)
    if args.device == "cpp_standalone":
        b2.device.build(directory=build_dir, compile=True, run=True, debug=False)
        run_s = float(b2.device._last_run_time)
    else:
        run_s = time.perf_counter() - wall0 - setup_s
    counts = np.asarray(mon.count[:], dtype=np.int64) * (load("observable") != 0)
    wall_s = time.perf_counter() - wall0

    import resource
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # the largest process, in KiB
    fanout = np.bincount(pre, minlength=n_total).astype(np.int64)
    summary = {
        "device": args.device, "threads": args.threads, "ticks": args.ticks,
        "cores": meta["cores"], "neurons": n_total, "synapses": int(len(pre)),
        "spikes": int(counts.sum()),
        "synaptic_events_sent": int((counts * fanout).sum()),
        "run_s": run_s, "ticks_per_s": args.ticks / run_s if run_s > 0 else 0.0,
        "setup_s": setup_s, "wall_s": wall_s, "peak_rss_mb": round(peak_kb / 1024.0, 1),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "") if args.device == "cpp_standalone" else "",
    }
    if args.counts:
        np.save(args.counts, counts)
    status = 0
    if args.expect:
        want = np.load(args.expect).astype(np.int64)
        if want.shape != counts.shape:
            print("run_brian2.py: %s holds %d counts, the network has %d neurons"
                  % (args.expect, want.size, counts.size), file=sys.stderr)
            status = 1
        else:
            bad = np.nonzero(want != counts)[0]
            summary["mismatched_neurons"] = int(bad.size)
            if bad.size:
                k = int(bad[0])
                print("run_brian2.py: spike counts differ from nmc's on %d of %d neurons; first: core %d "
                      "neuron %d, Brian2 %d, nmc %d" % (bad.size, counts.size, k // meta["neurons_per_core"],
                                                        k % meta["neurons_per_core"], counts[k], want[k]),
                      file=sys.stderr)
                status = 1
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(summary, f)
        os.replace(args.json + ".tmp", args.json)
    print(json.dumps(summary))
    if tmp:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
)PY";

template <class T>
constexpr const char* npy_descr() {
  if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
}

// A NumPy .npy file (format 1.0): magic, header dict padded to 64 bytes, data.
template <class T>
std::string npy(const std::vector<T>& data, const std::vector<std::size_t>& shape) {
  std::string dims;
  for (auto d : shape) dims += fmt::format("{}, ", d);
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (a, b) but (a,)
  else dims.resize(dims.size() - 1);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", npy_descr<T>(), dims);
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  const std::size_t at = out.size();
  out.resize(at + data.size() * sizeof(T));
  if (!data.empty()) std::memcpy(out.data() + at, data.data(), data.size() * sizeof(T));
  return out;
}

std::string where(std::size_t core, std::size_t neuron) { return fmt::format("core {} neuron {}", core, neuron); }

void check_exportable(const hw::tn_program& p) {
  const std::string hint = "the Brian2 export covers deterministic neurons only (docs/HARDWARE.md 1.2 without b, c_lambda, "
                           "TM and epsilon); simulate this program with 'nmc simulate'";
  std::vector<std::uint8_t> sources;
  const auto axons = static_cast<std::size_t>(p.target.axons);
  sources.assign(p.cores.size() * axons, 0);
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    for (std::size_t j = 0; j < p.cores[ci].neurons.size(); ++j) {
      const auto& n = p.cores[ci].neurons[j];
      for (auto b : n.stochastic_weight)
        if (b) throw model_error(fmt::format("Brian2 export: {} uses stochastic synapses", where(ci, j)), hint);
      if (n.stochastic_leak) throw model_error(fmt::format("Brian2 export: {} uses a stochastic leak", where(ci, j)), hint);
      if (n.threshold_mask_bits)
        throw model_error(fmt::format("Brian2 export: {} uses a stochastic threshold ({} mask bits)", where(ci, j),
                                      n.threshold_mask_bits),
                          hint);
      if (n.leak_reversal) throw model_error(fmt::format("Brian2 export: {} uses leak reversal", where(ci, j)), hint);
      if (n.dest != hw::dest_kind::core) continue;
      auto& s = sources[n.dest_core * axons + n.dest_axon];
      if (++s > 1) {
        throw model_error(
            fmt::format("Brian2 export: axon {} of core {} has more than one source neuron (one is {})", n.dest_axon,
                        n.dest_core, where(ci, j)),
            "the chip merges spikes that meet on one axon in the same tick, a Brian2 synapse per spike would add "
            "them twice; export programs whose axons have one source each (compiled Eedn programs, "
            "hw::balanced_chip)");
      }
    }
  }
}

}  // namespace

void export_brian2(const hw::tn_program& p, const std::filesystem::path& dir) {
  hw::verify_program(p, false);
  check_exportable(p);
  const auto& t = p.target;
  if (t.neurons % 8 != 0) {
    throw config_error(fmt::format("Brian2 export: {} neurons per core is not a multiple of 8", t.neurons));
  }
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    throw io_error(fmt::format("Brian2 export: '{}' exists and is not a folder", dir.string()),
                   "name a new or empty folder with -o");
  }
  if (std::filesystem::is_directory(dir, ec) && !std::filesystem::is_empty(dir, ec) &&
      !std::filesystem::exists(dir / "meta.json", ec)) {
    throw io_error(fmt::format("Brian2 export: folder '{}' is not empty and holds no earlier export", dir.string()),
                   "name a new or empty folder with -o");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) throw io_error(fmt::format("Brian2 export: cannot create folder '{}': {}", dir.string(), ec.message()));
  // An earlier export's marker goes first, so an interrupted export is never taken for a complete one.
  std::filesystem::remove(dir / "meta.json", ec);

  const std::size_t cores = p.cores.size(), nn = static_cast<std::size_t>(t.neurons);
  const std::size_t na = static_cast<std::size_t>(t.axons), total = cores * nn;
  std::vector<std::int32_t> leak(total), alpha(total), beta(total), pos_a(total), pos_b(total), neg_a(total),
      neg_b(total), v0(total), dest_core(total, -1), dest_axon(total, 0), dest_type(total, 0), delay(total, 1),
      weight(total * 4);
  std::vector<std::uint8_t> observable(total, 0), axon_type(cores * na), crossbar(cores * na * nn / 8);
  for (std::size_t ci = 0; ci < cores; ++ci) {
    const auto& c = p.cores[ci];
    for (std::size_t a = 0; a < na; ++a) {
      axon_type[ci * na + a] = c.axon_type[a];
      for (std::size_t j = 0; j < nn; ++j)
        if ((c.crossbar[a * (nn / 64) + j / 64] >> (j % 64)) & 1u)
          crossbar[(ci * na + a) * (nn / 8) + j / 8] |= static_cast<std::uint8_t>(1u << (j % 8));
    }
    for (std::size_t j = 0; j < nn; ++j) {
      const auto& n = c.neurons[j];
      const std::size_t k = ci * nn + j;
      for (std::size_t g = 0; g < 4; ++g) weight[k * 4 + g] = n.weight[g];
      leak[k] = n.leak, alpha[k] = n.threshold, beta[k] = n.neg_threshold, v0[k] = n.initial_potential;
      // After a spike V = pos_a * V + pos_b: gamma normal -> R, linear -> V - alpha, none -> V.
      pos_a[k] = n.reset == hw::reset_mode::normal ? 0 : 1;
      pos_b[k] = n.reset == hw::reset_mode::normal ? n.reset_potential
                 : n.reset == hw::reset_mode::linear ? -n.threshold : 0;
      // Below -beta: kappa -> -beta; else normal -> -R, linear -> V + beta, none -> V.
      neg_a[k] = n.kappa || n.reset == hw::reset_mode::normal ? 0 : 1;
      neg_b[k] = n.kappa ? -n.neg_threshold
                 : n.reset == hw::reset_mode::normal ? -n.reset_potential
                 : n.reset == hw::reset_mode::linear ? n.neg_threshold : 0;
      observable[k] = n.dest != hw::dest_kind::none;
      delay[k] = n.delay_ticks;
      if (n.dest == hw::dest_kind::core) {
        dest_core[k] = static_cast<std::int32_t>(n.dest_core);
        dest_axon[k] = n.dest_axon;
        dest_type[k] = p.cores[n.dest_core].axon_type[n.dest_axon];
      }
    }
  }
  auto put = [&](const char* name, const auto& data, std::vector<std::size_t> shape) {
    atomic_write(dir / (std::string(name) + ".npy"), npy(data, shape));
  };
  for (const auto& [name, data] : {std::pair{"leak", &leak}, {"alpha", &alpha}, {"beta", &beta}, {"pos_a", &pos_a},
                                   {"pos_b", &pos_b}, {"neg_a", &neg_a}, {"neg_b", &neg_b}, {"v0", &v0},
                                   {"dest_core", &dest_core}, {"dest_axon", &dest_axon}, {"dest_type", &dest_type},
                                   {"delay_ticks", &delay}})
    put(name, *data, {total});
  put("weight", weight, {total, 4});
  put("observable", observable, {total});
  put("axon_type", axon_type, {cores, na});
  put("crossbar", crossbar, {cores, na, nn / 8});
  atomic_write(dir / brian2_script_name, brian2_script);
  std::filesystem::permissions(dir / brian2_script_name, std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add, ec);
  nlohmann::json meta = {{"format", "nmc-brian2"},
                         {"version", 1},
                         {"model_name", p.model_name},
                         {"cores", cores},
                         {"neurons_per_core", nn},
                         {"axons_per_core", na},
                         {"v_min", -(std::int64_t{1} << (t.potential_bits - 1))},
                         {"v_max", (std::int64_t{1} << (t.potential_bits - 1)) - 1},
                         {"tick_ms", t.tick_period_ms}};
  atomic_write(dir / "meta.json", meta.dump(1) + "\n");
}

void write_counts_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& counts) {
  atomic_write(path, npy(counts, {counts.size()}));
}

}  // namespace nmc::convert
