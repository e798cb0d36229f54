// The Brian2 export: the exported network, run by Brian2 (runtime mode, numpy
// code generation), fires every neuron exactly as often as nmc's simulator,
// over all reset modes, both negative-threshold modes and delays 1..15; the
// comparison in the script fails on a difference; unsupported programs and
// foreign output folders are refused.
#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <nmc/convert/brian2_export.hpp>
#include <nmc/error.hpp>
#include <nmc/hw/synthetic.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "common/compile.hpp"
#include "common/run_nmc.hpp"
#include "common/temp_dir.hpp"

namespace nmc {
namespace {

bool have_brian2() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import brian2' >/dev/null 2>&1") == 0;
  return ok;
}

// A small self-driven network whose neurons use every deterministic mode.
hw::tn_program mixed_program() {
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  auto p = hw::balanced_chip(target, text, 6, 0.25, 5, 15, 1, 11);
  for (auto& c : p.cores) {
    for (std::size_t j = 0; j < c.neurons.size(); ++j) {
      auto& n = c.neurons[j];
      n.weight = {3, 1, -2, -4};
      switch (j % 6) {
        case 1: n.reset = hw::reset_mode::linear; break;
        case 2: n.reset = hw::reset_mode::none, n.threshold = 40, n.leak = 2; break;
        case 3: n.kappa = 0, n.neg_threshold = 3, n.reset = hw::reset_mode::normal, n.reset_potential = 2; break;
        case 4: n.kappa = 0, n.neg_threshold = 2, n.reset = hw::reset_mode::linear, n.leak = -1, n.threshold = 2; break;
        default: break;
      }
      if (j % 50 == 7) n.dest = hw::dest_kind::output, n.dest_axon = 0;  // leaves the chip: counted, not delivered
      if (j % 50 == 9) n.dest = hw::dest_kind::none;                     // unobservable
    }
  }
  p.output_class = {0};
  return p;
}

std::vector<std::int64_t> nmc_counts(const hw::tn_program& p, int ticks) {
  runtime::sim_options o;
  o.record_spikes = true;
  runtime::tn_simulator sim(p, o);
  std::vector<std::int64_t> counts(p.cores.size() * 256, 0);
  for (int t = 0; t < ticks; ++t) {
    sim.step();
    for (const auto& f : sim.fired()) ++counts[f.core * 256 + f.neuron];
  }
  return counts;
}

}  // namespace

TEST_CASE("export: Brian2 fires every neuron as often as nmc" * doctest::skip(!have_brian2())) {
  const auto p = mixed_program();
  constexpr int ticks = 80;
  auto counts = nmc_counts(p, ticks);
  std::int64_t total = 0;
  for (auto c : counts) total += c;
  CHECK(total > 5000);  // the network is active

  test::temp_dir tmp;
  convert::export_brian2(p, tmp / "net");
  convert::write_counts_npy(tmp / "nmc.npy", counts);
  const std::string script = (tmp / "net" / convert::brian2_script_name).string();
  const std::string common = fmt::format("/usr/bin/python3 {} --device runtime --ticks {} ", script, ticks);
  const auto same = test::run_shell(common + "--expect " + (tmp / "nmc.npy").string());
  INFO(same.out);
  CHECK(same.code == 0);
  CHECK(same.out.find(fmt::format("\"spikes\": {}", total)) != std::string::npos);

  // One count off: the script must notice and say where.
  counts[3 * 256 + 17] += 1;
  convert::write_counts_npy(tmp / "off.npy", counts);
  const auto off = test::run_shell(common + "--expect " + (tmp / "off.npy").string());
  INFO(off.out);
  CHECK(off.code == 1);
  CHECK(off.out.find("differ from nmc's on 1 of 1536 neurons; first: core 3 neuron 17") != std::string::npos);
}

TEST_CASE("export: stochastic neurons and merging axons are refused, naming the core and neuron") {
  test::temp_dir tmp;
  auto p = mixed_program();
  p.cores[2].neurons[9].stochastic_leak = 1;
  CHECK_THROWS_WITH_AS(convert::export_brian2(p, tmp / "a"), "Brian2 export: core 2 neuron 9 uses a stochastic leak",
                       model_error);
  const auto text = test::default_target_text();
  const auto target = hw::parse_truenorth(text, "truenorth.yaml");
  const auto random = hw::random_chip(target, text, 20, 0.1, 2, 2, 1);  // random axons: several sources
  CHECK_THROWS_AS(convert::export_brian2(random, tmp / "b"), model_error);
  CHECK_FALSE(std::filesystem::exists(tmp / "a" / "meta.json"));
}

TEST_CASE("export: nmc export brian2 writes the folder; bad format and foreign folders are errors") {
  test::temp_dir tmp;
  hw::write_program(tmp / "p.nmc", mixed_program());
  const auto ok = test::run_nmc(fmt::format("export brian2 {} -o {}", (tmp / "p.nmc").string(), (tmp / "out").string()));
  INFO(ok.out);
  CHECK(ok.code == 0);
  for (const char* f : {"meta.json", "run_brian2.py", "crossbar.npy", "weight.npy", "v0.npy", "delay_ticks.npy"})
    CHECK(std::filesystem::exists(tmp / "out" / f));
  // Exporting again over an earlier export is fine.
  CHECK(test::run_nmc(fmt::format("export brian2 {} -o {}", (tmp / "p.nmc").string(), (tmp / "out").string())).code == 0);

  const auto bad = test::run_nmc(fmt::format("export nest {} -o {}", (tmp / "p.nmc").string(), (tmp / "o2").string()));
  CHECK(bad.code == 2);
  CHECK(bad.out.find("unknown export format 'nest'") != std::string::npos);

  std::filesystem::create_directories(tmp / "mine");
  atomic_write(tmp / "mine" / "notes.txt", std::string_view("keep me"));
  const auto foreign = test::run_nmc(fmt::format("export brian2 {} -o {}", (tmp / "p.nmc").string(), (tmp / "mine").string()));
  CHECK(foreign.code == 1);
  CHECK(foreign.out.find("is not empty and holds no earlier export") != std::string::npos);

  const auto missing = test::run_nmc(fmt::format("export brian2 {} -o {}", (tmp / "nope.nmc").string(), (tmp / "o3").string()));
  CHECK(missing.code == 1);
}

}  // namespace nmc
