// Whole-run benchmark on synthetic random networks (hw::balanced_chip: seeded,
// self-driven, crossbar density 0.25, delays 1..15): ticks/s and synaptic
// events/s at each requested activity and thread count. Prints one JSON line
// per (activity, threads); bench/run.sh turns them into bench/RESULTS.md.
//
// The activity (percentage of neurons firing per tick) is set by the neurons'
// threshold, calibrated here on a 64-core network of the same kind; the
// figure reported is the one measured on the benchmarked network.
//
// With --export DIR, each activity level also writes DIR/act<P>/program.nmc
// and DIR/act<P>/nmc_counts.npy, the per-neuron spike counts of the first
// --check-ticks ticks, for the Brian2 comparison (nmc export brian2, then the
// exported script with --expect).
//
//   nmc_bench_synthetic [--cores N] [--ticks T] [--activity 5,10,20] [--threads 1,2]
//                       [--seed S] [--export DIR] [--check-ticks K]
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <nmc/convert/brian2_export.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/synthetic.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "measure.hpp"

namespace {

using nmc::bench::parse_list;

constexpr double density = 0.25;
constexpr int max_delay = 15, radius = 4;

struct run_stats {
  double wall_s = 0;
  nmc::runtime::event_counts counts;
  std::int64_t neurons = 0;  // neurons with a destination
};

run_stats simulate(const nmc::hw::tn_program& p, int threads, int ticks, std::vector<std::int64_t>* per_neuron = nullptr) {
  nmc::runtime::sim_options o;
  o.threads = threads;
  o.record_spikes = per_neuron != nullptr;
  nmc::runtime::tn_simulator sim(p, o);
  run_stats r;
  for (const auto& c : p.cores)
    for (const auto& n : c.neurons) r.neurons += n.dest != nmc::hw::dest_kind::none;
  const auto neurons_per_core = static_cast<std::size_t>(p.target.neurons);
  if (per_neuron) per_neuron->assign(p.cores.size() * neurons_per_core, 0);
  // Warm-up ticks (caches, thread pool) are not timed or counted: the figures
  // are for the steady state.
  if (!per_neuron)
    for (int t = 0; t < std::min(ticks / 10, 20); ++t) sim.step();
  const auto before = sim.totals();
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < ticks; ++t) {
    sim.step();
    if (per_neuron)
      for (const auto& f : sim.fired()) ++(*per_neuron)[f.core * neurons_per_core + f.neuron];
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.counts = sim.totals();
  r.counts.synaptic_events -= before.synaptic_events;
  r.counts.spikes -= before.spikes;
  return r;
}

double activity_pct(const run_stats& r, int ticks) {
  return 100.0 * static_cast<double>(r.counts.spikes) / (static_cast<double>(r.neurons) * ticks);
}

// The threshold whose activity on a small network of the same kind comes
// closest to `want_pct` (activity falls as the threshold grows).
int calibrate(const nmc::hw::truenorth_target& target, const std::string& text, double want_pct, std::uint64_t seed) {
  constexpr int cores = 64, ticks = 64;
  auto measure = [&](int threshold) {
    const auto p = nmc::hw::balanced_chip(target, text, cores, density, threshold, max_delay, radius, seed);
    return activity_pct(simulate(p, 1, ticks), ticks);
  };
  int lo = 1, hi = 512;  // activity(lo) >= want > activity(hi), once narrowed
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (measure(mid) >= want_pct ? lo : hi) = mid;
  }
  return std::abs(measure(lo) - want_pct) <= std::abs(measure(hi) - want_pct) ? lo : hi;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int cores = 4096, ticks = 500, check_ticks = 100;
    std::uint64_t seed = 1;
    std::vector<double> activities{5, 10, 20}, thread_list{1, 2};
    std::string export_dir;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (i + 1 >= argc) throw nmc::usage_error(fmt::format("option '{}' needs a value (or is unknown)", a));
      const std::string v = argv[++i];
      if (a == "--cores") cores = std::stoi(v);
      else if (a == "--ticks") ticks = std::stoi(v);
      else if (a == "--check-ticks") check_ticks = std::stoi(v);
      else if (a == "--seed") seed = std::stoull(v);
      else if (a == "--activity") activities = parse_list(v, "--activity");
      else if (a == "--threads") thread_list = parse_list(v, "--threads");
      else if (a == "--export") export_dir = v;
      else throw nmc::usage_error(fmt::format("unknown option '{}'", a));
    }
    if (ticks < 1 || check_ticks < 1) throw nmc::usage_error("--ticks and --check-ticks must be at least 1");
    const std::string text = nmc::read_file(nmc::hw::default_truenorth_path());
    const auto target = nmc::hw::parse_truenorth(text, "truenorth.yaml");
    for (double want : activities) {
      if (!(want > 0 && want < 100)) throw nmc::usage_error(fmt::format("--activity {}: expected 0 < P < 100", want));
      const int threshold = calibrate(target, text, want, seed);
      const auto p = nmc::hw::balanced_chip(target, text, cores, density, threshold, max_delay, radius, seed);
      std::int64_t synapses = 0;
      for (const auto& c : p.cores)
        for (auto w : c.crossbar) synapses += std::popcount(w);
      for (double th : thread_list) {
        const int threads = static_cast<int>(th);
        const auto r = simulate(p, threads, ticks);
        fmt::print("{{\"bench\": \"synthetic\", \"cores\": {}, \"synapses\": {}, \"target_activity_pct\": {}, "
                   "\"threshold\": {}, \"threads\": {}, \"ticks\": {}, \"wall_s\": {:.4f}, \"ticks_per_s\": {:.2f}, "
                   "\"activity_pct\": {:.2f}, \"spikes\": {}, \"synaptic_events\": {}, "
                   "\"synaptic_events_per_s\": {:.4g}, \"events_per_neuron_tick\": {:.3f}}}\n",
                   cores, synapses, want, threshold, threads, ticks, r.wall_s, ticks / r.wall_s,
                   activity_pct(r, ticks), r.counts.spikes, r.counts.synaptic_events,
                   static_cast<double>(r.counts.synaptic_events) / r.wall_s,
                   static_cast<double>(r.counts.synaptic_events) / (static_cast<double>(r.neurons) * ticks));
        std::fflush(stdout);
      }
      if (!export_dir.empty()) {
        const auto dir = std::filesystem::path(export_dir) / fmt::format("act{}", want);
        std::filesystem::create_directories(dir);
        nmc::hw::write_program(dir / "program.nmc", p);
        std::vector<std::int64_t> counts;
        const auto r = simulate(p, 2, check_ticks, &counts);
        nmc::convert::write_counts_npy(dir / "nmc_counts.npy", counts);
        // The work of these ticks from tick 0, for the peers' events/s.
        fmt::print("{{\"bench\": \"synthetic_check\", \"cores\": {}, \"target_activity_pct\": {}, \"ticks\": {}, "
                   "\"spikes\": {}, \"synaptic_events\": {}, \"dir\": \"{}\"}}\n",
                   cores, want, check_ticks, r.counts.spikes, r.counts.synaptic_events, dir.filename().string());
        std::fflush(stdout);
      }
    }
  } catch (const nmc::error& e) {
    std::fprintf(stderr, "nmc_bench_synthetic: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nmc_bench_synthetic: %s\n", e.what());
    return 1;
  }
}
