// Determinism across thread counts (docs/ARCHITECTURE.md 2.2): the same program and
// input give identical spikes, counts and energy for 1 to 4 threads, through
// the library and through the nmc executable. Small enough to run under
// ThreadSanitizer (scripts/tsan.sh), which checks the hand-overs themselves.
#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include <nmc/convert/yaml_model.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/synthetic.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "common/builders.hpp"
#include "common/compile.hpp"
#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"
#include "evaluate.hpp"

using namespace nmc;

TEST_CASE("e2e: threads: spikes, counts and energy are identical for 1, 2, 3 and 4 threads") {
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  // A stateful random chip: neurons keep potentials across ticks, so a lost or
  // doubled spike shows up in every later tick.
  const auto p = hw::random_chip(target, text, 120, 0.1, 2, 6, 7);
  auto trains = [&](int threads) {
    runtime::sim_options o;
    o.threads = threads;
    o.record_spikes = true;
    runtime::tn_simulator sim(p, o);
    std::mt19937_64 rng(11);
    std::vector<std::vector<runtime::fired_neuron>> out;
    for (int t = 0; t < 40; ++t) {
      for (int k = 0; k < 64; ++k)
        sim.inject(static_cast<std::uint32_t>(rng() % p.cores.size()), static_cast<std::uint16_t>(rng() % 256), 0);
      sim.step();
      out.push_back(sim.fired());
    }
    return std::pair(out, sim.totals().synaptic_events);
  };
  const auto one = trains(1);
  std::size_t fired = 0;
  for (const auto& t : one.first) fired += t.size();
  CHECK(fired > 500);  // the chip is active
  for (int threads : {2, 3, 4}) {
    CAPTURE(threads);
    const auto other = trains(threads);
    CHECK(other.first == one.first);
    CHECK(other.second == one.second);
  }

  // A compiled Eedn network over frames, against the parallel reference pass.
  std::mt19937 rng(7);
  const auto net = test::random_network(rng, 128);
  const auto state = compiler::compile_truenorth(net, target, text, "", {});
  const auto& img = net[net.input()].as<model::input_op>().image;
  runtime::dataset d;
  d.name = "random";
  d.channels = img.channels, d.height = img.height, d.width = img.width;
  d.frames = 60;
  d.pixels.resize(d.frames * d.pixels_per_frame());
  for (auto& px : d.pixels) px = static_cast<std::uint8_t>(rng() & 0xff);
  d.labels.assign(d.frames, 0);
  const auto ref = cli::evaluate_reference(net, d, 3);
  CHECK(ref.counts == cli::evaluate_reference(net, d, 1).counts);
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    runtime::sim_options o;
    o.threads = threads;
    const auto r = runtime::run_frames(state.program, d, o);
    CHECK(r.counts == ref.counts);
  }
}

TEST_CASE("e2e: threads: nmc simulate writes the same report counts and spikes on 1 and 3 threads") {
  test::temp_dir dir;
  test::write_fake_fashion_mnist(dir.path, 60);
  const test::env_guard env("NMC_FASHION_MNIST_DIR", dir.path.string());
  const auto model = (dir / "small.yaml").string(), program = (dir / "small.nmc").string();
  atomic_write(model, test::small_fmnist_yaml());
  REQUIRE(test::run_nmc("compile " + test::q(model) + " -o " + test::q(program)).code == 0);
  nlohmann::json reports[2];
  std::string spikes[2];
  const int threads[2] = {1, 3};
  for (int i = 0; i < 2; ++i) {
    const auto report = (dir / ("r" + std::to_string(i) + ".json")).string();
    const auto csv = (dir / ("s" + std::to_string(i) + ".csv")).string();
    const auto r = test::run_nmc("simulate " + test::q(program) + " --threads " + std::to_string(threads[i]) +
                                 " --report " + test::q(report) + " --spikes " + test::q(csv));
    INFO(r.out);
    REQUIRE(r.code == 0);
    reports[i] = nlohmann::json::parse(read_file(report));
    spikes[i] = read_file(csv);
  }
  CHECK(reports[0]["threads"] == 1);
  CHECK(reports[1]["threads"] == 3);
  CHECK(reports[0]["reference_agreement"] == 1.0);
  for (const char* key : {"frames", "correct", "spikes", "synaptic_events", "hops", "energy_per_frame_uj", "layers"})
    CHECK_MESSAGE(reports[0][key] == reports[1][key], key);
  CHECK(spikes[0].size() > 1000);
  CHECK(spikes[0] == spikes[1]);
}
