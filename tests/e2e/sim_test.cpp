// Compiler + simulator against the reference pass: every class count of every
// frame must be equal (the correctness contract), for any thread count.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include <nmc/convert/load.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/hw/synthetic.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "common/builders.hpp"
#include "common/fashion_mnist.hpp"
#include "common/compile.hpp"
#include "common/sample_data.hpp"
#include "evaluate.hpp"

using namespace nmc;
using nmc::test::have_fashion_mnist;

TEST_CASE("e2e: random networks compile and simulate bit-exactly against the reference") {
  std::mt19937 rng(2024);
  int with_splitters = 0, with_concat = 0, with_negative_sign = 0, with_avg_pool = 0;
  for (int trial = 0; trial < 40; ++trial) {
    CAPTURE(trial);
    const auto net = test::random_network(rng, 128);
    const auto target = hw::default_truenorth();
    compiler::pipeline_options po;
    po.opts.seed = static_cast<std::uint64_t>(trial);
    po.opts.max_copies = trial % 3 == 0 ? 2 : 0;  // often force splitter cores
    const auto state = compiler::compile_truenorth(net, target, test::default_target_text(), "", po);
    for (const auto& u : state.units) CHECK(static_cast<std::int64_t>(u.cores.size()) >= u.lower_bound);
    with_splitters += std::any_of(state.units.begin(), state.units.end(),
                                  [](const compiler::unit& u) { return u.kind == compiler::unit_kind::splitter; });
    for (const auto& l : net.layers()) {
      with_concat += l.is<model::concat_op>();
      if (const auto* t = std::get_if<model::threshold_op>(&l.op))
        with_negative_sign += std::count(t->sign.begin(), t->sign.end(), std::int8_t{-1}) > 0;
      if (const auto* p = std::get_if<model::pool_op>(&l.op)) with_avg_pool += p->kind == model::pool_kind::average;
    }
    const auto data = test::random_frames(net, 40, rng);
    runtime::sim_options so;
    so.threads = 1 + trial % 2;
    const auto sim = runtime::run_frames(state.program, data, so);
    const auto ref = cli::evaluate_reference(net, data, 1);
    REQUIRE(sim.frames == ref.frames);
    CHECK(sim.counts == ref.counts);
    CHECK(sim.predicted == ref.predicted);
  }
  // The trials cover the features that are easy to get wrong.
  CHECK(with_splitters > 0);
  CHECK(with_concat > 0);
  CHECK(with_negative_sign > 0);
  CHECK(with_avg_pool > 0);
  MESSAGE("splitters ", with_splitters, ", concat ", with_concat, ", negative signs ", with_negative_sign,
          ", average pools ", with_avg_pool);
}

namespace {

// Cores used within 10 % of the compiler's lower bound (issue 4).
void check_within_bound(const compiler::compile_state& state) {
  std::int64_t bound = 0;
  for (const auto& u : state.units) bound += u.lower_bound;
  CHECK(static_cast<double>(state.program.cores.size()) <= 1.10 * static_cast<double>(bound));
}

// All 10,000 Fashion-MNIST test frames at 1 and 2 threads: class counts equal
// to the reference pass on every frame, the recorded accuracy, and the same
// events and energy for both thread counts.
void check_full_test_split(const model::network& net, const hw::tn_program& program, std::size_t correct) {
  const auto data = runtime::load_dataset("fashion-mnist:test");
  const auto ref = cli::evaluate_reference(net, data, 2);
  runtime::sim_options one, two;
  one.threads = 1;
  two.threads = 2;
  const auto a = runtime::run_frames(program, data, one);
  const auto b = runtime::run_frames(program, data, two);
  CHECK(a.counts == ref.counts);
  CHECK(b.counts == ref.counts);
  CHECK(ref.correct == correct);
  CHECK(a.totals.synaptic_events == b.totals.synaptic_events);
  CHECK(a.totals.spikes == b.totals.spikes);
  CHECK(a.totals.hops == b.totals.hops);
  const auto ea = runtime::energy(program, a.per_layer, a.ticks, a.frames);
  const auto eb = runtime::energy(program, b.per_layer, b.ticks, b.frames);
  CHECK(ea.per_frame_uj == eb.per_frame_uj);
}

}  // namespace

TEST_CASE("e2e: tiny_fmnist, all 10,000 test frames: agreement 1.0, identical for 1 and 2 threads" *
          doctest::skip(!have_fashion_mnist())) {
  const auto net = convert::load_model(std::string(NMC_SOURCE_DIR) + "/examples/tiny_fmnist.yaml");
  const auto state = compiler::compile_truenorth(net, hw::default_truenorth(), test::default_target_text(),
                                                 convert::to_yaml(net), {});
  check_within_bound(state);
  check_full_test_split(net, state.program, 8316);  // the accuracy recorded in examples/tiny_fmnist.json
}

namespace {
// Every firing of every tick, as one vector per tick.
std::vector<std::vector<runtime::fired_neuron>> spike_trains(const hw::tn_program& p, bool plain, int threads, int ticks,
                                                             std::uint64_t input_seed) {
  runtime::sim_options o;
  o.threads = threads;
  o.record_spikes = true;
  o.plain_kernels = plain;
  runtime::tn_simulator sim(p, o);
  std::mt19937_64 rng(input_seed);
  std::vector<std::vector<runtime::fired_neuron>> out;
  for (int t = 0; t < ticks; ++t) {
    for (int k = 0; k < 64; ++k)  // random external input spikes
      sim.inject(static_cast<std::uint32_t>(rng() % p.cores.size()), static_cast<std::uint16_t>(rng() % 256), 0);
    sim.step();
    out.push_back(sim.fired());
  }
  return out;
}
}  // namespace

TEST_CASE("e2e: the vectorised kernels give the same spikes as the plain reference kernels") {
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  // A stateful random network (thresholds 2 and 3, four axon types) and a stateless
  // compiled Eedn program exercise both fast paths.
  for (int threshold : {2, 3}) {
    CAPTURE(threshold);
    const auto p = hw::random_chip(target, text, 300, 0.1, threshold, 6, 7);
    const auto plain = spike_trains(p, true, 1, 60, 1);
    std::size_t total = 0;
    for (const auto& t : plain) total += t.size();
    CHECK(total > 1000);  // the network is active
    CHECK(spike_trains(p, false, 1, 60, 1) == plain);
    CHECK(spike_trains(p, false, 2, 60, 1) == plain);
  }
  std::mt19937 rng(5);
  const auto net = test::random_network(rng, 128);
  const auto state = compiler::compile_truenorth(net, target, text, "", {});
  const auto plain = spike_trains(state.program, true, 1, 40, 3);
  CHECK(spike_trains(state.program, false, 2, 40, 3) == plain);
}

TEST_CASE("e2e: fmnist_1chip, all 10,000 test frames: one chip, agreement 1.0, identical for 1 and 2 threads" *
          doctest::skip(!have_fashion_mnist())) {
  const auto net = convert::load_model(std::string(NMC_SOURCE_DIR) + "/models/fmnist_1chip.onnx");
  const auto state = compiler::compile_truenorth(net, hw::default_truenorth(), test::default_target_text(),
                                                 convert::to_yaml(net), {});
  CHECK(state.program.chips == 1);
  CHECK(state.program.cores.size() <= 4096);
  check_within_bound(state);
  CHECK(state.routes.mean_hops < 0.7 * state.routes.naive_mean_hops);
  check_full_test_split(net, state.program, 8698);  // the accuracy recorded in models/fmnist_1chip.json
}
