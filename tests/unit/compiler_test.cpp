// TrueNorth compiler: each pass's postconditions on small networks, and every
// fit error's message.
#include <doctest/doctest.h>

#include <bit>
#include <map>

#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>

#include "common/compile.hpp"

using namespace nmc;
using namespace nmc::compiler;
using nmc::test::compile_yaml;
using nmc::test::weights;

namespace {

// in 1x8x8 (2 levels) -> conv 8x3x3 s1 p1 g2 -> threshold -> max pool 2 -> conv 10 k4 (full) g2 -> out
std::string small_net(const std::string& conv1 = "kernel: 3, stride: 1, padding: 1, groups: 2",
                      int conv1_weights = 8 * 1 * 9) {
  return "format: nmc-model/1\nname: small\nlayers:\n"
         "  - {name: in, type: input, shape: [1, 8, 8], levels: [85, 170]}\n"
         "  - {name: c1, type: conv2d, out_channels: 8, " + conv1 + ", weights: \"" + weights(static_cast<std::size_t>(conv1_weights)) + "\"}\n"
         "  - {name: a1, type: threshold, threshold: 1}\n"
         "  - {name: p1, type: max_pool, kernel: 2, stride: 2}\n"
         "  - {name: c2, type: conv2d, out_channels: 10, kernel: 4, groups: 2, weights: \"" + weights(10 * 4 * 16, "+-0+") + "\"}\n"
         "  - {name: a2, type: threshold, threshold: 0}\n"
         "  - {name: out, type: output, classes: 10}\n";
}

std::string fit_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const fit_error& e) {
    return std::string(e.what()) + " | hint: " + e.hint();
  }
  FAIL("no fit_error");
  return {};
}

std::int64_t popcount_all(const hw::tn_program& p) {
  std::int64_t n = 0;
  for (const auto& c : p.cores)
    for (auto w : c.crossbar) n += std::popcount(w);
  return n;
}

}  // namespace

TEST_CASE("compiler: target file loads, validates and prints") {
  const auto t = hw::default_truenorth();
  CHECK(t.cores_x == 64);
  CHECK(t.axons == 256);
  CHECK(t.delay_max_ticks == 15);
  CHECK(hw::describe(t).find("64 x 64 cores (4096)") != std::string::npos);
  CHECK_THROWS_WITH_AS(hw::parse_truenorth(test::target_with({{"cores_x: 64", "cores_x: 0"}}), "t.yaml"),
                       doctest::Contains("t.yaml:8: chip.cores_x = 0 is outside 1..4096"), config_error);
  CHECK_THROWS_WITH_AS(hw::parse_truenorth(test::target_with({{"  axon_types: 4", "  axon_typez: 4\n  axon_types: 4"}}), "t.yaml"),
                       doctest::Contains("unknown key 'core.axon_typez'"), config_error);
  CHECK_THROWS_WITH_AS(hw::parse_truenorth("target: truenorth\n", "t.yaml"), doctest::Contains("missing section 'chip'"),
                       config_error);
  CHECK_THROWS_AS(hw::parse_truenorth("target: danna\n", "t.yaml"), config_error);
}

TEST_CASE("compiler: partition respects axons and neurons per core and hosts every live neuron once") {
  const auto c = compile_yaml(small_net());
  const auto& s = c.state;
  REQUIRE(s.units.size() == 3);  // c1, p1, c2
  for (const auto& core : s.cores) {
    CHECK(core.axons.size() <= 256);
    CHECK(core.slots.size() <= 256);
  }
  for (const auto& u : s.units) {
    std::int64_t live = 0;
    for (std::size_t n = 0; n < u.copies.size(); ++n) {
      if (u.copies[n] == 0) continue;
      ++live;
      REQUIRE(u.core_of[n] >= 0);
      const auto& host = s.cores[static_cast<std::size_t>(u.core_of[n])];
      CHECK(std::count(host.neurons.begin(), host.neurons.end(), static_cast<std::int32_t>(n)) == 1);
    }
    CHECK(live > 0);
    CHECK(static_cast<std::int64_t>(u.cores.size()) >= u.lower_bound);
  }
  // Every c2 neuron votes: one copy each, to its output port.
  for (auto copies : s.units[2].copies) CHECK(copies == 1);
  CHECK(s.port_source.size() == 10);
}

TEST_CASE("compiler: the lower bound counts the axon limit of each patch") {
  // 3 input channels, 5x5 kernel, no padding, 16 outputs on an 8x8 grid: a
  // patch of h x w outputs reads (h+4)(w+4) x 3 inputs, two axons each, so at
  // most 6 positions (3x2, 252 axons) x 16 channels = 96 neurons fit a core:
  // 1,024 neurons need at least 11 cores, while the slot bound says 4.
  const std::string yaml =
      "format: nmc-model/1\nname: axon_bound\nlayers:\n"
      "  - {name: in, type: input, shape: [3, 12, 12], levels: [128]}\n"
      "  - {name: c1, type: conv2d, out_channels: 16, kernel: 5, stride: 1, padding: 0, weights: \"" +
      weights(16 * 3 * 25, "+-") + "\"}\n"
      "  - {name: a1, type: threshold, threshold: 1}\n"
      "  - {name: out, type: output, classes: 16}\n";
  const auto c = compile_yaml(yaml);
  const auto& u = c.state.units.at(0);
  CHECK(u.lower_bound == 11);
  // Uniform 3x2 patches need 12 cores (rows 3+3+2); bands of 3x2, 3x2 and
  // 2x3 patches reach the bound.
  CHECK(u.cores.size() == 11);
}

TEST_CASE("compiler: the crossbar holds exactly one synapse per non-zero weight per copy") {
  const auto c = compile_yaml(small_net());
  std::int64_t expected = 0;
  for (const auto& u : c.state.units)
    for (std::size_t n = 0; n < u.copies.size(); ++n) {
      std::int64_t nnz = 0;
      for_each_input(c.state, u, static_cast<std::int32_t>(n), [&](source_ref, int) { ++nnz; });
      expected += nnz * u.copies[n];
    }
  CHECK(popcount_all(c.state.program) == expected);
}

TEST_CASE("compiler: stride, padding and groups edge cases compile and verify") {
  for (const auto& [conv, nweights] : std::vector<std::pair<std::string, int>>{
           {"kernel: 3, stride: 2, padding: 1, groups: 1", 8 * 2 * 9},
           {"kernel: 1, stride: 1, padding: 0, groups: 2", 8 * 1},
           {"kernel: [3, 1], stride: [1, 1], padding: [1, 0], groups: 1", 8 * 2 * 3},
           {"kernel: 7, stride: 1, padding: 0, groups: 2", 8 * 49}}) {
    CAPTURE(conv);
    std::string net = small_net(conv, nweights);
    // Adapt c2 to whatever c1/p1 produce: a 1x1 kernel over p1's map keeps it valid.
    const auto pos = net.find("kernel: 4, groups: 2");
    net = net.substr(0, pos) + "kernel: 1, groups: 2" + net.substr(pos + 20);
    const auto w = net.find(weights(10 * 4 * 16, "+-0+"));
    net = net.substr(0, w) + weights(10 * 4, "+-0+") + net.substr(w + 10 * 4 * 16);
    // The output layer's populations: 10 channels x positions must divide by 10 classes.
    const auto c = compile_yaml(net);
    CHECK(c.state.program.cores.size() == c.state.cores.size());
    hw::verify_program(c.state.program);
  }
}

TEST_CASE("compiler: timing makes a pipeline; latency counts the layers") {
  const auto c = compile_yaml(small_net());
  const auto& s = c.state;
  CHECK(s.units[0].time == 0);
  CHECK(s.units[1].time == 1);
  CHECK(s.units[2].time == 2);
  CHECK(s.output_tick_offset == 3);
  CHECK(s.latency_ticks == 4);
  for (const auto& core : s.cores)
    for (const auto& sl : core.slots) CHECK(sl.delay == 1);
  for (const auto& t : c.state.program.input_targets) CHECK(t.tick_offset == 0);
}

TEST_CASE("compiler: branches of different depth get delays that align them") {
  // in -> a (pool 1x1) -> b (pool 1x1) -> concat(a, b): 'a' reaches the concat
  // consumer one tick early and must be delayed by 2.
  const std::string yaml =
      "format: nmc-model/1\nlayers:\n"
      "  - {name: in, type: input, shape: [1, 2, 2], levels: [128]}\n"
      "  - {name: a, type: max_pool, kernel: 1, stride: 1}\n"
      "  - {name: b, type: max_pool, kernel: 1, stride: 1}\n"
      "  - {name: cat, type: concat, inputs: [a, b]}\n"
      "  - {name: p, type: max_pool, kernel: 1, stride: 1}\n"
      "  - {name: out, type: output, classes: 2}\n";
  const auto c = compile_yaml(yaml);
  const auto& s = c.state;
  std::map<std::string, int> time;
  for (const auto& u : s.units) time[u.name] = u.time;
  CHECK(time["a"] == 0);
  CHECK(time["b"] == 1);
  CHECK(time["p"] == 2);
  for (const auto& core : s.cores) {
    const auto& u = s.units[static_cast<std::size_t>(core.unit)];
    for (const auto& sl : core.slots) {
      if (sl.output) continue;
      const auto& dest = s.units[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(sl.dest_core)].unit)];
      if (u.name == "a" && dest.name == "p") CHECK(sl.delay == 2);
      if (u.name == "b" && dest.name == "p") CHECK(sl.delay == 1);
    }
  }
}

TEST_CASE("compiler: a delay beyond 15 ticks is a fit error naming both layers") {
  std::string yaml = "format: nmc-model/1\nlayers:\n  - {name: in, type: input, shape: [1, 1, 1], levels: [128]}\n"
                     "  - {name: l0, type: max_pool, kernel: 1, stride: 1}\n";
  for (int i = 1; i <= 16; ++i) yaml += "  - {name: l" + std::to_string(i) + ", type: max_pool, kernel: 1, stride: 1}\n";
  yaml += "  - {name: cat, type: concat, inputs: [l0, l16]}\n  - {name: p, type: max_pool, kernel: 1, stride: 1}\n"
          "  - {name: out, type: output, classes: 2}\n";
  const auto msg = fit_message([&] { compile_yaml(yaml); });
  CHECK(msg.find("layer 'l0' feeds layer 'p' 17 ticks later, but delays are limited to 1..15 ticks") != std::string::npos);
  CHECK(msg.find("relay layers") != std::string::npos);
}

TEST_CASE("compiler: a neuron with more copies than a core holds goes through splitter cores") {
  // One neuron read by a dense layer of 600 outputs: 3 cores of 200+ neurons,
  // each needing the input's + axon: with --max-copies 2, 3 copies need splitters.
  const std::string yaml =
      "format: nmc-model/1\nlayers:\n"
      "  - {name: in, type: input, shape: [1, 1, 1], levels: [128]}\n"
      "  - {name: d0, type: dense, out_features: 1, weights: [1]}\n"
      "  - {name: a0, type: threshold, threshold: 1}\n"
      "  - {name: d1, type: dense, out_features: 600, weights: \"" + weights(600, "+") + "\"}\n"
      "  - {name: a1, type: threshold, threshold: 1}\n"
      "  - {name: out, type: output, classes: 2}\n";
  compiler::options opts;
  opts.max_copies = 2;
  const auto c = compile_yaml(yaml, opts);
  const auto& s = c.state;
  const auto split = std::find_if(s.units.begin(), s.units.end(), [](const unit& u) { return u.kind == unit_kind::splitter; });
  REQUIRE(split != s.units.end());
  CHECK(split->name == "d0/split");
  CHECK(split->time == 1);  // one extra tick
  const auto& d1 = *std::find_if(s.units.begin(), s.units.end(), [](const unit& u) { return u.name == "d1"; });
  CHECK(d1.time == 2);
  CHECK(s.latency_ticks == 4);
  for (std::size_t n = 0; n < split->copies.size(); ++n) CHECK(split->copies[n] <= 2);
  // Without the limit, the 3 copies stay in d0's core.
  const auto plain = compile_yaml(yaml);
  CHECK(std::none_of(plain.state.units.begin(), plain.state.units.end(), [](const unit& u) { return u.kind == unit_kind::splitter; }));
  CHECK(plain.state.latency_ticks == 3);
}

TEST_CASE("compiler: fan-in over 128 pairs is a fit error with the numbers") {
  const std::string yaml =
      "format: nmc-model/1\nlayers:\n"
      "  - {name: in, type: input, shape: [1, 4, 4], levels: [50, 100, 150, 200, 250]}\n"
      "  - {name: wide, type: conv2d, out_channels: 2, kernel: 3, weights: \"" + weights(2 * 5 * 9) + "\"}\n"
      "  - {name: a, type: threshold, threshold: 1}\n"
      "  - {name: f, type: flatten}\n"
      "  - {name: d, type: dense, out_features: 2, weights: \"" + weights(2 * 8) + "\"}\n"
      "  - {name: a2, type: threshold, threshold: 1}\n"
      "  - {name: out, type: output, classes: 2}\n";
  CHECK_NOTHROW(compile_yaml(yaml));  // 45 inputs
  std::string big = yaml;
  const auto pos = big.find("shape: [1, 4, 4]");
  big = big.substr(0, pos) + "shape: [3, 4, 4]" + big.substr(pos + 16);
  const auto w = big.find(weights(2 * 5 * 9));
  big = big.substr(0, w) + weights(2 * 15 * 9) + big.substr(w + 2 * 5 * 9);
  const auto msg = fit_message([&] { compile_yaml(big); });
  CHECK(msg.find("layer 'wide' (conv2d): each neuron sums 135 inputs (kernel 3x3 x 15 input channels per group), but a "
                 "core has 256 axons = 128 input pairs") != std::string::npos);
  CHECK(msg.find("more groups") != std::string::npos);
}

TEST_CASE("compiler: too many cores for the chips lists the layers and suggests --chips") {
  const auto tiny_chip = test::target_with({{"cores_x: 64", "cores_x: 2"}, {"cores_y: 64", "cores_y: 2"}});
  const auto msg = fit_message([&] { compile_yaml(small_net(), {}, tiny_chip); });
  CHECK(msg.find("but 1 chip of 4 cores give 4") != std::string::npos);
  CHECK(msg.find("c1") != std::string::npos);
  CHECK(msg.find("--chips") != std::string::npos);
  compiler::options opts;
  opts.chips = 16;
  const auto c = compile_yaml(small_net(), opts, tiny_chip);
  CHECK(c.state.program.chips == 16);
  CHECK(c.state.routes.chip_crossings > 0);
}

TEST_CASE("compiler: reach exceeded is a fit error naming the cores") {
  const std::string star = nmc::test::star_yaml();
  const auto short_reach = test::target_with({{"reach_x_cores: 255", "reach_x_cores: 1"},
                                              {"reach_y_cores: 255", "reach_y_cores: 1"}});
  const auto msg = fit_message([&] { compile_yaml(star, {}, short_reach); });
  CHECK(msg.find("a spike path from layer 'd0'") != std::string::npos);
  CHECK(msg.find("beyond the reach of +/-1 x +/-1") != std::string::npos);
  CHECK_NOTHROW(compile_yaml(star));
}

TEST_CASE("compiler: placement is deterministic per seed and beats row-major placement") {
  const auto a = compile_yaml(small_net());
  const auto b = compile_yaml(small_net());
  CHECK(hw::serialize(a.state.program) == hw::serialize(b.state.program));
  compiler::options other;
  other.seed = 99;
  const auto c = compile_yaml(small_net(), other);
  CHECK(c.state.routes.mean_hops <= c.state.routes.naive_mean_hops);
  CHECK(a.state.routes.mean_hops <= a.state.routes.naive_mean_hops);
  // On a real trained model (388 cores) annealing beats row-major by far more than 30 %.
  const auto model = read_file(std::string(NMC_SOURCE_DIR) + "/examples/tiny_fmnist.yaml");
  const auto big = compile_yaml(model);
  CHECK(big.state.routes.mean_hops < 0.7 * big.state.routes.naive_mean_hops);
}

TEST_CASE("compiler: --dump-after names an unknown pass") {
  const auto net = convert::parse_yaml_model(small_net(), "t.yaml");
  compiler::pipeline_options po;
  po.dump_after = "nonsense";
  try {
    compile_truenorth(net, hw::default_truenorth(), test::default_target_text(), "", po);
    FAIL("no error");
  } catch (const usage_error& e) {
    CHECK(std::string(e.what()) == "--dump-after nonsense: no such pass");
    CHECK(e.hint() == "passes: validate, partition, timing, place, route, emit");
  }
}
