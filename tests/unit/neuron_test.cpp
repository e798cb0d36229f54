// The neuron model of docs/HARDWARE.md 1.2 on hand-computed cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <random>
#include <span>

#include <nmc/error.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "common/tn_builder.hpp"

using namespace nmc;
using nmc::runtime::sim_options;
using nmc::runtime::tn_simulator;
using nmc::test::tn_builder;

namespace {

// Ticks in which neuron (core, j) fired, over `ticks` ticks.
std::vector<std::int64_t> fire_ticks(const hw::tn_program& p, std::uint32_t core, std::uint16_t j, int ticks,
                                     int threads = 1) {
  sim_options o;
  o.threads = threads;
  o.record_spikes = true;
  tn_simulator sim(p, o);
  std::vector<std::int64_t> out;
  for (int t = 0; t < ticks; ++t) {
    sim.step();
    for (const auto& f : sim.fired())
      if (f.core == core && f.neuron == j) out.push_back(t);
  }
  return out;
}

std::vector<std::int32_t> potentials(const hw::tn_program& p, int ticks) {
  tn_simulator sim(p, {});
  std::vector<std::int32_t> v;
  for (int t = 0; t < ticks; ++t) {
    sim.step();
    v.push_back(sim.potential(0, 0));
  }
  return v;
}

}  // namespace

TEST_CASE("neuron: alpha 10 with leak +1 fires every 10 ticks") {
  tn_builder b;
  auto& n = b.observed(0, 0);
  n.threshold = 10;
  n.leak = 1;
  CHECK(fire_ticks(b.p, 0, 0, 35) == std::vector<std::int64_t>{9, 19, 29});
}

TEST_CASE("neuron: reset modes: normal to R, linear subtracts the threshold, none keeps V") {
  tn_builder b;
  auto& n = b.observed(0, 0);
  n.threshold = 5;
  n.leak = 3;
  n.reset = hw::reset_mode::normal;
  n.reset_potential = 0;
  CHECK(fire_ticks(b.p, 0, 0, 8) == std::vector<std::int64_t>{1, 3, 5, 7});  // 3, 6*, 3, 6*, ...
  n.reset = hw::reset_mode::linear;  // 3, 6*->1, 4, 7*->2, 5*->0, 3, 6*->1, 4, 7*->2, 5*->0
  CHECK(fire_ticks(b.p, 0, 0, 10) == std::vector<std::int64_t>{1, 3, 4, 6, 8, 9});
  n.reset = hw::reset_mode::none;  // 3, 6*, 9*, 12*, ...
  CHECK(fire_ticks(b.p, 0, 0, 5) == std::vector<std::int64_t>{1, 2, 3, 4});
  n.reset = hw::reset_mode::normal;
  n.reset_potential = 2;  // 3, 6*->2, 5*->2, 5*, ...
  CHECK(fire_ticks(b.p, 0, 0, 5) == std::vector<std::int64_t>{1, 2, 3, 4});
}

TEST_CASE("neuron: negative threshold: kappa 1 saturates at -beta, kappa 0 applies the reset mode") {
  tn_builder b;
  auto& n = b.observed(0, 0);
  n.threshold = 100;
  n.leak = -2;
  n.neg_threshold = 3;
  n.kappa = 1;
  CHECK(potentials(b.p, 4) == std::vector<std::int32_t>{-2, -3, -3, -3});  // -4 < -3 -> -3; -5 -> -3
  n.kappa = 0;
  n.reset = hw::reset_mode::normal;
  n.reset_potential = 1;
  CHECK(potentials(b.p, 5) == std::vector<std::int32_t>{-2, -1, -3, -1, -3});  // -4 -> -R
  n.reset = hw::reset_mode::linear;
  CHECK(potentials(b.p, 3) == std::vector<std::int32_t>{-2, -1, -3});  // -4 -> -4 + 3
  n.reset = hw::reset_mode::none;
  CHECK(potentials(b.p, 3) == std::vector<std::int32_t>{-2, -4, -6});
}

TEST_CASE("neuron: leak reversal pulls the potential toward zero from both sides") {
  tn_builder b;
  auto& n = b.observed(0, 0);
  n.threshold = 1000;
  n.neg_threshold = 1000;
  n.leak = -1;
  n.leak_reversal = 1;
  n.initial_potential = 3;
  CHECK(potentials(b.p, 5) == std::vector<std::int32_t>{2, 1, 0, 0, 0});
  n.initial_potential = -3;
  CHECK(potentials(b.p, 5) == std::vector<std::int32_t>{-2, -1, 0, 0, 0});
}

TEST_CASE("neuron: four axon types with their own signed weights") {
  tn_builder b;
  auto& core = b.p.cores[0];
  for (int a = 0; a < 4; ++a) core.axon_type[static_cast<std::size_t>(a)] = static_cast<std::uint8_t>(a);
  auto& n = b.observed(0, 7);
  n.weight = {1, -2, 30, -40};
  n.threshold = 1000;
  n.neg_threshold = 1000;
  n.reset = hw::reset_mode::none;
  for (int a = 0; a < 4; ++a) b.connect(0, static_cast<std::uint32_t>(a), 7);
  tn_simulator sim(b.p, {});
  sim.inject(0, 0);
  sim.inject(0, 2);
  sim.step();
  CHECK(sim.potential(0, 7) == 31);
  sim.inject(0, 1);
  sim.inject(0, 3);
  sim.step();
  CHECK(sim.potential(0, 7) == 31 - 42);
  CHECK(sim.totals().synaptic_events == 4);
  sim.inject(0, 5);  // not connected to neuron 7
  sim.step();
  CHECK(sim.potential(0, 7) == -11);
}

TEST_CASE("neuron: a spike with delay d arrives exactly d ticks later (d = 1 and 15)") {
  for (int d : {1, 15}) {
    CAPTURE(d);
    tn_builder b(2);
    auto& src = b.neuron(0, 0);  // fires in tick 0 only: V0 = 1, no leak, reset to -1000
    src.initial_potential = 1;
    src.reset_potential = -1000;
    src.neg_threshold = 100000;
    src.dest = hw::dest_kind::core;
    src.dest_core = 1;
    src.dest_axon = 9;
    src.delay_ticks = static_cast<std::uint8_t>(d);
    auto& dst = b.observed(1, 4);
    dst.weight = {1, 0, 0, 0};
    b.connect(1, 9, 4);
    CHECK(fire_ticks(b.p, 0, 0, 20) == std::vector<std::int64_t>{0});
    CHECK(fire_ticks(b.p, 1, 4, 40) == std::vector<std::int64_t>{d});
  }
}

TEST_CASE("neuron: the potential saturates at the 20-bit range") {
  tn_builder b;
  auto& n = b.observed(0, 0);
  n.threshold = 262143;
  n.neg_threshold = 262143;
  n.kappa = 0;
  n.reset = hw::reset_mode::none;
  n.leak = -255;
  const auto v = potentials(b.p, 2100);
  CHECK(v[0] == -255);
  CHECK(v.back() == -(1 << 19));
}

TEST_CASE("neuron: stochastic modes are reproducible from the seeds and differ across seeds") {
  tn_builder b(4);
  for (std::uint32_t c = 0; c < 4; ++c) {
    for (std::uint32_t j = 0; j < 32; ++j) {
      auto& n = b.observed(c, j);
      n.leak = 128;  // stochastic leak: +1 with probability 129/256
      n.stochastic_leak = 1;
      n.threshold = 3;
      n.threshold_mask_bits = static_cast<std::uint8_t>(j % 3);  // random threshold offsets
      n.stochastic_weight = {1, 1, 0, 0};
      n.weight = {200, -100, 0, 0};
      b.connect(c, j % 8, j);
    }
  }
  const auto a = fire_ticks(b.p, 2, 5, 300, 1);
  CHECK(a == fire_ticks(b.p, 2, 5, 300, 1));
  CHECK(a == fire_ticks(b.p, 2, 5, 300, 2));
  // roughly 1 spike per 3 / (129/256) ~ 6 ticks, plus threshold noise
  CHECK(a.size() > 20);
  CHECK(a.size() < 100);
  tn_builder other = b;
  for (auto& c : other.p.cores) c.seed += 1000;
  CHECK(fire_ticks(other.p, 2, 5, 300, 1) != a);
}

TEST_CASE("neuron: the simulator refuses, with the numbers, a program that would not fit in memory") {
  tn_builder b(64);
  const auto need = runtime::estimate_memory_bytes(b.p, 2);
  CHECK(need > 64u * 256 * 256 / 8);  // at least the crossbars
  CHECK_NOTHROW(runtime::check_memory(b.p, 2, need + 1));
  CHECK_THROWS_WITH_AS(runtime::check_memory(b.p, 2, need / 2), doctest::Contains("simulating 64 cores on 2 threads needs about"),
                       fit_error);
}

namespace {

// Off-chip spikes of neuron 0 of core 0 when `active` of its axons 0..127
// (type 1, weight +1) carry a spike at tick 0: a stateless Eedn neuron with
// the given leak (it fires iff active + leak >= 1).
bool eedn_fires(int connected, int active, int leak, bool plain) {
  tn_builder b;
  for (int a = 0; a < 256; ++a) b.p.cores[0].axon_type[static_cast<std::size_t>(a)] = static_cast<std::uint8_t>(a < 128 ? 1 : 0);
  for (std::uint32_t j = 0; j < 256; ++j) {
    auto& n = b.observed(0, j);
    n.weight = {-1, 1, 0, 0};
    n.leak = j == 0 ? leak : 0;
  }
  for (int a = 0; a < connected; ++a) b.connect(0, static_cast<std::uint32_t>(a), 0);
  for (int a = 128; a < 256; ++a) b.connect(0, static_cast<std::uint32_t>(a), 1);  // 128 negative synapses elsewhere
  sim_options o;
  o.plain_kernels = plain;
  tn_simulator sim(b.p, o);
  for (int a = 0; a < active; ++a) sim.inject(0, static_cast<std::uint16_t>(a), 0);
  bool fired = false;
  sim.step([&](std::uint32_t, std::int64_t) { fired = true; });
  return fired;
}

}  // namespace

TEST_CASE("neuron: stateless sums at the limits of the 8-bit and 16-bit kernels") {
  // 126 positive synapses fit 8-bit lanes, 127 and 128 do not: each case must
  // fire exactly when active + leak >= 1, whichever kernel runs it.
  for (int connected : {126, 127, 128}) {
    for (int active : {connected - 1, connected}) {
      for (int leak : {1 - active, 2 - active, -300, 300, -125, -126}) {
        CAPTURE(connected);
        CAPTURE(active);
        CAPTURE(leak);
        const bool expected = active + leak >= 1;
        CHECK(eedn_fires(connected, active, leak, true) == expected);
        CHECK(eedn_fires(connected, active, leak, false) == expected);
      }
    }
  }
}

namespace {

// A feed-forward program (every core sends only to higher-numbered cores, the
// last ones off chip) with every neuron feature mixed in: stateful and
// stateless cores, four axon types, stochastic synapses, leaks and thresholds,
// leak reversal, the reset modes, delays 1..15.
hw::tn_program feed_forward_program(int cores, std::uint64_t seed) {
  tn_builder b(cores);
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  for (int ci = 0; ci < cores; ++ci) {
    auto& c = b.p.cores[static_cast<std::size_t>(ci)];
    const bool eedn = ci % 3 == 0;  // stateless Eedn cores take the fast paths
    for (auto& t : c.axon_type) t = static_cast<std::uint8_t>(eedn ? pick(2) : pick(4));
    for (int a = 0; a < 256; ++a)
      for (int j = 0; j < 256; ++j)
        if (pick(8) == 0) b.connect(static_cast<std::uint32_t>(ci), static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(j));
    for (int j = 0; j < 256; ++j) {
      auto& n = c.neurons[static_cast<std::size_t>(j)];
      if (eedn) {
        n.weight = {-1, 1, 0, 0};
        n.leak = static_cast<std::int16_t>(pick(5) - 3);
      } else {
        n.weight = {static_cast<std::int16_t>(pick(5) - 2), 2, -1, static_cast<std::int16_t>(pick(200) - 100)};
        n.threshold = 1 + pick(6);
        n.neg_threshold = pick(8);
        n.kappa = static_cast<std::uint8_t>(pick(2));
        n.leak = static_cast<std::int16_t>(pick(7) - 3);
        n.leak_reversal = static_cast<std::uint8_t>(pick(4) == 0);
        n.reset = static_cast<hw::reset_mode>(pick(3));
        n.reset_potential = pick(3);
        n.stochastic_leak = static_cast<std::uint8_t>(pick(6) == 0);
        n.threshold_mask_bits = static_cast<std::uint8_t>(pick(6) == 0 ? 2 : 0);
        n.stochastic_weight[3] = static_cast<std::uint8_t>(pick(2));
      }
      const int span = cores - 1 - ci;
      if (span == 0 || pick(10) == 0) {
        n.dest = hw::dest_kind::output;
        n.dest_axon = 0;
      } else {
        n.dest = hw::dest_kind::core;
        n.dest_core = static_cast<std::uint32_t>(ci + 1 + pick(std::min(span, 3)));
        n.dest_axon = static_cast<std::uint16_t>(pick(256));
      }
      n.delay_ticks = static_cast<std::uint8_t>(1 + pick(15));
    }
  }
  return b.p;
}

struct run_trace {
  std::vector<std::pair<std::int64_t, std::uint32_t>> outputs;  // (arrival tick, port), sorted
  std::vector<std::int32_t> potentials;
  runtime::event_counts totals;
};

// `ticks` ticks with random input spikes on the first two cores, in steps of
// `epoch` ticks (1: tick by tick).
run_trace run_in_epochs(const hw::tn_program& p, int ticks, int epoch, int threads, bool plain) {
  sim_options o;
  o.threads = threads;
  o.plain_kernels = plain;
  tn_simulator sim(p, o);
  REQUIRE(sim.epoch_ticks() >= epoch);
  std::mt19937_64 rng(99);
  run_trace r;
  for (int t = 0; t < ticks; t += epoch) {
    for (int k = 0; k < epoch; ++k)
      for (int i = 0; i < 40; ++i) {
        const hw::tn_input_target in{static_cast<std::uint32_t>(rng() % 2), static_cast<std::uint16_t>(rng() % 256), 0};
        sim.inject_ahead(std::span(&in, 1), k);
      }
    sim.advance(epoch, [&](std::uint32_t port, std::int64_t tick) { r.outputs.emplace_back(tick, port); });
  }
  std::sort(r.outputs.begin(), r.outputs.end());
  for (std::uint32_t c = 0; c < p.cores.size(); ++c)
    for (std::uint32_t j = 0; j < 256; ++j) r.potentials.push_back(sim.potential(c, j));
  r.totals = sim.totals();
  return r;
}

}  // namespace

TEST_CASE("neuron: epochs of many ticks give exactly the tick-by-tick result") {
  const auto p = feed_forward_program(9, 17);
  tn_simulator probe(p, {});
  REQUIRE(probe.epoch_ticks() >= 16);  // acyclic: epochs are used
  // As many ticks as two of the longest epochs, so that every epoch length
  // runs whole epochs and the schedulers' slots wrap around.
  const int ticks = 2 * probe.epoch_ticks();
  const auto base = run_in_epochs(p, ticks, 1, 1, true);
  CHECK(base.outputs.size() > 500);  // the network is active
  CHECK(base.totals.synaptic_events > 10000);
  for (int epoch : {1, 16, probe.epoch_ticks()}) {
    for (int threads : {1, 2}) {
      CAPTURE(epoch);
      CAPTURE(threads);
      const auto r = run_in_epochs(p, ticks, epoch, threads, false);
      CHECK(r.outputs == base.outputs);
      CHECK(r.potentials == base.potentials);
      CHECK(r.totals.synaptic_events == base.totals.synaptic_events);
      CHECK(r.totals.spikes == base.totals.spikes);
      CHECK(r.totals.hops == base.totals.hops);
    }
  }
}

TEST_CASE("neuron: a program with a cycle runs tick by tick; recording spikes does too") {
  tn_builder b(2);
  b.neuron(0, 0).dest = hw::dest_kind::core, b.neuron(0, 0).dest_core = 1, b.neuron(0, 0).delay_ticks = 1;
  b.neuron(1, 0).dest = hw::dest_kind::core, b.neuron(1, 0).dest_core = 0, b.neuron(1, 0).delay_ticks = 1;
  CHECK(tn_simulator(b.p, {}).epoch_ticks() == 1);
  b.neuron(1, 0).dest = hw::dest_kind::output;
  CHECK(tn_simulator(b.p, {}).epoch_ticks() > 1);
  sim_options rec;
  rec.record_spikes = true;
  CHECK(tn_simulator(b.p, rec).epoch_ticks() == 1);
  tn_simulator sim(b.p, {});
  CHECK_THROWS_AS(sim.advance(sim.epoch_ticks() + 1), usage_error);
  const hw::tn_input_target in{0, 0, 0};
  CHECK_THROWS_AS(sim.inject_ahead(std::span(&in, 1), sim.epoch_ticks()), usage_error);
}

namespace {

// Stateless Eedn cores at the epoch kernel's edges: crossbars from empty to
// full (256 taps: the widest counter), axon types of weight -1, +1 and 0,
// leaks from never firing to always firing, neurons without a destination,
// outputs, runs of consecutive axons (direct delivery) and scattered ones
// (buffered), delays 1..15.
hw::tn_program eedn_program(int cores, std::uint64_t seed) {
  tn_builder b(cores);
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  constexpr std::array<int, 5> one_in = {0, 64, 8, 2, 1};  // crossbar density: none, 1/64 .. full
  for (int ci = 0; ci < cores; ++ci) {
    auto& c = b.p.cores[static_cast<std::size_t>(ci)];
    std::array<std::int16_t, 4> weight = {-1, 1, 0, 0};
    std::shuffle(weight.begin(), weight.end(), rng);
    for (auto& t : c.axon_type) t = static_cast<std::uint8_t>(pick(4));
    const int density = one_in[static_cast<std::size_t>(ci % 5)];
    for (int a = 0; a < 256; ++a)
      for (int j = 0; j < 256; ++j)
        if (density != 0 && pick(density) == 0)
          b.connect(static_cast<std::uint32_t>(ci), static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(j));
    const int spread = density == 0 ? 3 : 256 / density / 4 + 3;
    const bool runs = ci % 2 == 0;
    for (int j = 0; j < 256; ++j) {
      auto& n = c.neurons[static_cast<std::size_t>(j)];
      n.weight = weight;
      n.leak = static_cast<std::int16_t>(pick(20) == 0 ? pick(601) - 300 : pick(2 * spread + 1) - spread);
      const int span = cores - 1 - ci, kind = pick(10);
      if (kind == 0) {
        n.dest = hw::dest_kind::none;
      } else if (span == 0 || kind == 1) {
        n.dest = hw::dest_kind::output;
        n.dest_axon = static_cast<std::uint16_t>(pick(4));
      } else {
        n.dest = hw::dest_kind::core;
        n.dest_core = static_cast<std::uint32_t>(runs ? ci + 1 : ci + 1 + pick(std::min(span, 3)));
        n.dest_axon = static_cast<std::uint16_t>(runs ? j : pick(256));
      }
      n.delay_ticks = static_cast<std::uint8_t>(runs ? 1 + ci % 15 : 1 + pick(15));
    }
  }
  return b.p;
}

struct kernel_trace {
  std::vector<std::pair<std::int64_t, std::uint32_t>> outputs;
  std::vector<runtime::event_counts> per_layer;
};

kernel_trace run_kernel(const hw::tn_program& p, int ticks, int epoch, sim_options o) {
  tn_simulator sim(p, o);
  REQUIRE(sim.epoch_ticks() >= epoch);
  std::mt19937_64 rng(7);
  kernel_trace r;
  for (int t = 0; t < ticks;) {
    const int n = std::min(epoch, ticks - t);
    for (int k = 0; k < n; ++k) {
      const int active = static_cast<int>(rng() % 300);  // 0 .. 299 input spikes this tick
      for (int i = 0; i < active; ++i) {
        const hw::tn_input_target in{static_cast<std::uint32_t>(rng() % 2), static_cast<std::uint16_t>(rng() % 256), 0};
        sim.inject_ahead(std::span(&in, 1), k);
      }
    }
    sim.advance(n, [&](std::uint32_t port, std::int64_t tick) { r.outputs.emplace_back(tick, port); });
    t += n;
  }
  std::sort(r.outputs.begin(), r.outputs.end());
  r.per_layer = sim.counts_per_layer();
  return r;
}

}  // namespace

TEST_CASE("neuron: the epoch kernel gives the tick-by-tick kernels' spikes and counts on Eedn cores") {
  const auto p = eedn_program(10, 23);
  tn_simulator probe(p, {});
  REQUIRE(probe.epoch_ticks() == 256);  // long epochs: the kernel runs 256 ticks in 4 words per axon
  const int ticks = 600;                // wraps the 512-slot schedulers
  sim_options tick_by_tick;
  tick_by_tick.epoch_kernel = false;
  const auto base = run_kernel(p, ticks, 1, tick_by_tick);
  CHECK(base.outputs.size() > 1000);
  runtime::event_counts total;
  for (const auto& l : base.per_layer) total += l;
  CHECK(total.synaptic_events > 100000);
  CHECK(total.spikes > 10000);
  for (int epoch : {256, 100, 64, 63, 7, 1}) {
    for (int threads : {1, 2}) {
      CAPTURE(epoch);
      CAPTURE(threads);
      sim_options o;
      o.threads = threads;
      const auto on = run_kernel(p, ticks, epoch, o);
      CHECK(on.outputs == base.outputs);
      CHECK(on.per_layer == base.per_layer);
      o.epoch_kernel = false;
      const auto off = run_kernel(p, ticks, epoch, o);
      CHECK(off.outputs == base.outputs);
      CHECK(off.per_layer == base.per_layer);
    }
  }
}

TEST_CASE("neuron: the AVX2 and AVX-512 integration kernels give the scalar kernels' result") {
  // Both programs have rows dense enough for the AVX2 kernel (its lanes are
  // used where AVX-512 is absent or turned off); the plain kernels are the
  // reference. Stateful cores with per-neuron weights, and stateless Eedn
  // cores run tick by tick.
  for (const auto& p : {feed_forward_program(9, 31), eedn_program(10, 41)}) {
    sim_options plain;
    plain.plain_kernels = true;
    const auto base = run_kernel(p, 300, 1, plain);
    CHECK(base.outputs.size() > 500);
    for (bool avx512 : {true, false}) {
      for (int epoch : {1, 64}) {
        CAPTURE(avx512);
        CAPTURE(epoch);
        sim_options o;
        o.avx512_kernels = avx512;
        o.epoch_kernel = false;
        const auto r = run_kernel(p, 300, epoch, o);
        CHECK(r.outputs == base.outputs);
        CHECK(r.per_layer == base.per_layer);
      }
    }
  }
}
