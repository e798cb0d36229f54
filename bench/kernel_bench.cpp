// Simulator kernels, one tick of one core at a time, through the public
// simulator (the kernels themselves are private to the runtime):
//  - crossbar integration at 1 %, 10 % and 50 % of the 256 axons active, for
//    stateless Eedn cores (threshold compare in registers) and stateful cores
//    (leak, threshold, reset per neuron); neurons have no destination, so no
//    spikes leave and the time is integration + neuron update (+ setting the
//    active axons, about 1 ns each);
//  - spike delivery: every neuron fires every tick to an axon of another core
//    (empty crossbars), so the time is spike generation + exchange.
// Run over 64 cores so that the per-core figures are not one core's cache luck.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include <nmc/files.hpp>
#include <nmc/hw/synthetic.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/runtime/tn_sim.hpp>

namespace {

constexpr int bench_cores = 64;

const std::string& target_text() {
  static const std::string t = nmc::read_file(nmc::hw::default_truenorth_path());
  return t;
}

nmc::hw::tn_program integration_program(bool stateless) {
  const auto target = nmc::hw::parse_truenorth(target_text(), "truenorth.yaml");
  auto p = nmc::hw::balanced_chip(target, target_text(), bench_cores, 0.25, 8, 1, 1, 1);
  for (auto& c : p.cores) {
    for (std::size_t a = 0; a < c.axon_type.size(); ++a) c.axon_type[a] = static_cast<std::uint8_t>(a % 2);
    for (auto& n : c.neurons) {
      n.dest = nmc::hw::dest_kind::none;
      n.weight = {-1, 1, 0, 0};
      if (stateless) n.threshold = 1, n.leak = 0, n.initial_potential = 0;
    }
  }
  return p;
}

void BM_crossbar_integration(benchmark::State& state) {
  const bool stateless = state.range(1) != 0;
  const auto p = integration_program(stateless);
  nmc::runtime::sim_options o;
  nmc::runtime::tn_simulator sim(p, o);
  // 16 precomputed random patterns (the same number of active axons on every
  // core), set with one inject_now call per tick: about 1 ns per active axon
  // of overhead, against several for integrating its crossbar row.
  const auto active = static_cast<int>(state.range(0) * 256 / 100);
  std::mt19937 rng(3);
  std::vector<std::vector<nmc::hw::tn_input_target>> patterns(16);
  std::vector<std::uint16_t> axons(256);
  for (auto& pattern : patterns) {
    for (std::uint32_t c = 0; c < bench_cores; ++c) {
      for (int a = 0; a < 256; ++a) axons[static_cast<std::size_t>(a)] = static_cast<std::uint16_t>(a);
      std::shuffle(axons.begin(), axons.end(), rng);
      for (int k = 0; k < active; ++k) pattern.push_back({c, axons[static_cast<std::size_t>(k)], 0});
    }
  }
  const auto before = sim.totals().synaptic_events;
  std::int64_t ticks = 0;
  for (auto _ : state) {
    sim.inject_now(patterns[static_cast<std::size_t>(ticks % 16)]);
    sim.step();
    ++ticks;
  }
  const double events = static_cast<double>(sim.totals().synaptic_events - before);
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["core_ticks"] = benchmark::Counter(static_cast<double>(ticks * bench_cores), benchmark::Counter::kIsRate);
  state.counters["events_per_core_tick"] = events / static_cast<double>(std::max<std::int64_t>(ticks * bench_cores, 1));
  state.SetLabel(stateless ? "stateless (Eedn)" : "stateful");
}
BENCHMARK(BM_crossbar_integration)->ArgsProduct({{1, 10, 50}, {1, 0}})->ArgNames({"activity_pct", "stateless"});

void BM_spike_delivery(benchmark::State& state) {
  const auto target = nmc::hw::parse_truenorth(target_text(), "truenorth.yaml");
  // Threshold 1 and leak +1: every neuron fires every tick; crossbars are empty.
  auto p = nmc::hw::balanced_chip(target, target_text(), bench_cores, 0.0, 1, 15, 2, 1);
  nmc::runtime::sim_options o;
  o.threads = static_cast<int>(state.range(0));
  nmc::runtime::tn_simulator sim(p, o);
  const auto before = sim.totals().spikes;
  for (auto _ : state) sim.step();
  state.SetItemsProcessed(sim.totals().spikes - before);
}
BENCHMARK(BM_spike_delivery)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
