// Error catalogue: forged programs. The checksum stops random damage, not a
// program whose fields agree with its checksum but are wrong for its target
// or for the model it embeds: an output tick offset of 4e9 or ticks per
// frame of 1e8 would make a run endless, 2^31 + 1 ticks per frame overflowed
// an int, a class count unlike the model's was compared with the reference
// pass out of bounds (exit 3, the report already written). Each such file is
// refused when it is loaded, by simulate, inspect and export alike: exit 1,
// the file and the field named, the way out, nothing written.
#include <doctest/doctest.h>

#include <functional>

#include <nmc/files.hpp>
#include <nmc/hw/dn_program.hpp>
#include <nmc/hw/tn_program.hpp>

#include "common/compile.hpp"
#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/sample_data.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;
namespace fs = std::filesystem;

namespace {

struct forged_case {
  const char* name;
  std::function<void(nmc::hw::tn_program&)> forge;
  std::string message;  // after "PATH: invalid program: "
};

struct forged_dn_case {
  const char* name;
  std::function<void(nmc::hw::dn_program&)> forge;
  std::string message;
};

std::size_t entries(const fs::path& dir) { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {})); }

// Every command that reads the program refuses it the same way and writes nothing.
void expect_forged(const std::string& program, const temp_dir& dir, const std::string& message,
                   const std::string& hint, bool truenorth) {
  const std::string invalid = truenorth ? ": invalid program: " : ": invalid grid program: ";
  const auto report = (dir / "r.json").string(), spikes = (dir / "s.csv").string();
  const std::size_t before = entries(dir.path);
  // Grid programs take no --spikes (a usage error, target_options_test.cpp).
  std::vector<std::string> commands = {"simulate " + q(program) + " --report " + q(report) +
                                           (truenorth ? " --spikes " + q(spikes) : std::string()),
                                       "inspect " + q(program)};
  if (truenorth) commands.push_back("export brian2 " + q(program) + " -o " + q((dir / "b2").string()));
  for (const auto& cmd : commands) {
    const auto r = expect_error(cmd, "model error", {program + invalid + message});
    expect_hint(r, hint);
    CHECK(r.out.find("accuracy") == std::string::npos);
    CHECK(entries(dir.path) == before);  // no report, spikes, export folder or temporary file
  }
}

}  // namespace

TEST_CASE("error: forged TrueNorth programs with a valid checksum are refused, naming the field") {
  temp_dir dir, data;
  write_fake_fashion_mnist(data.path, 5);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = (dir / "small.yaml").string(), good = (dir / "good.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  REQUIRE(run_nmc("compile " + q(model) + " -o " + q(good)).code == 0);
  const auto original = nmc::hw::read_program(good);
  REQUIRE(original.classes == 10);
  REQUIRE(original.output_class.size() == 20);
  REQUIRE(original.output_tick_offset == 2);
  const std::vector<forged_case> cases = {
      {"offset", [](auto& p) { p.output_tick_offset = 4'000'000'000u; },
       "output_tick_offset: 4000000000 ticks, more than any path through the program takes: 30 (input tick offset 0 + "
       "2 layers x delays of at most 15 ticks)"},
      {"tpf", [](auto& p) { p.ticks_per_frame = 100'000'000u; }, "ticks_per_frame: 100000000 (expected 1..4096)"},
      {"tpf-int", [](auto& p) { p.ticks_per_frame = (1u << 31) + 1; }, "ticks_per_frame: 2147483649 (expected 1..4096)"},
      {"latency", [](auto& p) { p.latency_ticks = 4'000'000'000u; },
       "latency_ticks: 4000000000, more than output tick offset 2 + ticks per frame 1"},
      {"classes", [](auto& p) { p.classes = 12; },
       "classes: 12, but the output layer 'out' of the embedded model 'small' has 10"},
      {"classes-ports", [](auto& p) { p.classes = 21; }, "classes: 21 for 20 output ports (expected 1..20"},
      {"port", [](auto& p) { std::swap(p.output_class[0], p.output_class[19]); },
       "output port 0: class 9, but its neuron of the output layer 'out' votes for class 0"},
      {"port-range", [](auto& p) { p.output_class[3] = 10; }, "output port 3: class 10 of 10"},
      {"chips", [](auto& p) { p.chips_x = 3; },
       "chips_x, chips_y: 1 chips arranged 3x1 (expected 1 <= chips_x <= chips"},
      {"hash", [](auto& p) { p.model_hash ^= 1; }, "model_hash: "},
      {"image", [](auto& p) { p.thermometer = {100}; },
       "thermometer: levels [100], but the embedded model 'small' encodes with [128]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto p = original;
    c.forge(p);
    const auto path = (dir / (std::string(c.name) + ".nmc")).string();
    nmc::atomic_write(path, nmc::hw::serialize(p));  // a valid checksum
    expect_forged(path, dir, c.message, "recompile the model with 'nmc compile'", true);
  }
  // The original still simulates.
  const auto r = run_nmc("simulate " + q(good) + " --report " + q((dir / "r.json").string()));
  INFO(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("error: forged grid programs with a valid checksum are refused, naming the field") {
  temp_dir dir;
  const auto model = (dir / "small.yaml").string(), good = (dir / "good.dn").string();
  nmc::atomic_write(model, std::string(small_eedn_yaml));
  REQUIRE(run_nmc("compile " + q(model) + " --target danna --grid 40x40 -o " + q(good)).code == 0);
  const auto original = nmc::hw::read_dn_program(good);
  REQUIRE(original.mode == nmc::hw::dn_mode::frames);
  const auto n = original.elements.size();
  const auto per = 15 + original.target.tile_crossing_cycles;  // the longest delay and a tile crossing
  const auto longest = std::to_string(n * static_cast<std::size_t>(per));
  const std::vector<forged_dn_case> cases = {
      {"latency", [](auto& p) { p.latency_cycles = 4'000'000'000u; },
       "latency_cycles: 4000000000, more than any path through the program takes: " + longest + " (" +
           std::to_string(n) + " elements x at most " + std::to_string(per) + " cycles each"},
      {"cycles", [](auto& p) { p.cycles_per_tick = 100'000'000u; },
       "cycles_per_tick: 100000000 (a frames program runs one frame per cycle: expected 1)"},
      {"offset", [](auto& p) { p.outputs[1].offset = static_cast<std::int32_t>(p.latency_cycles) + 1; },
       "output port 1 on element " + std::to_string(original.outputs[1].element) + ": fires at cycle " +
           std::to_string(original.latency_cycles + 1) + " of a frame, outside 0.." +
           std::to_string(original.latency_cycles)},
      {"classes", [](auto& p) { p.classes = static_cast<std::uint32_t>(p.outputs.size()); },
       "classes: " + std::to_string(original.outputs.size()) + ", but the output layer"},
      {"hash", [](auto& p) { p.model_hash ^= 1; }, "model_hash: "},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto p = original;
    c.forge(p);
    const auto path = (dir / (std::string(c.name) + ".dn")).string();
    nmc::atomic_write(path, nmc::hw::serialize(p));
    expect_forged(path, dir, c.message, "recompile the model with 'nmc compile --target danna'", false);
  }
}
