// Error catalogue: an option the target does not take is a usage error (exit
// 2) naming the target and the option, before anything is read or written:
// the grid target used to ignore --chips, --dump-after (even a bad pass
// name) and --spikes (leaving a 0-byte file), the TrueNorth target the
// grid's options.
#include <doctest/doctest.h>

#include <filesystem>

#include "common/expect_error.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

TEST_CASE("error: every option a target does not take is refused on it") {
  temp_dir dir;
  const auto grid_model = source_path("examples/grid_fmnist.yaml");
  const auto tn_model = source_path("models/fmnist_small.onnx");
  const auto out = (dir / "p.out").string();
  // Compile: the grid target refuses the TrueNorth compiler's options, and back.
  for (const std::string opt : {"--chips 2", "--place-effort 2", "--max-copies 4", "--dump-after bogus", "--dump-after place"}) {
    CAPTURE(opt);
    const auto r = expect_error("compile " + q(grid_model) + " --target danna -o " + q(out) + " " + opt, "usage error",
                                {"the grid target (--target danna) does not take " + opt.substr(0, opt.find(' '))}, 2);
    expect_hint(r, "--target truenorth");
  }
  for (const std::string opt : {"--grid 20x20", "--tiles 2x2", "--max-fan-in 8", "--crossbar-fan-in 4", "--layout stripes",
                                "--route-seconds 5"}) {
    CAPTURE(opt);
    const auto r = expect_error("compile " + q(tn_model) + " -o " + q(out) + " " + opt, "usage error",
                                {"the TrueNorth target does not take " + opt.substr(0, opt.find(' '))}, 2);
    expect_hint(r, "--target danna");
  }
  CHECK_FALSE(std::filesystem::exists(out));

  // Simulate: each kind of program refuses the other's options.
  const auto grid = (dir / "g.dn").string(), tn = (dir / "t.nmc").string();
  REQUIRE(run_nmc("compile " + q(grid_model) + " --target danna --layout stripes --tiles 2x12 -o " + q(grid)).code == 0);
  REQUIRE(run_nmc("compile " + q(tn_model) + " -o " + q(tn)).code == 0);
  const auto spikes = (dir / "s.csv").string(), report = (dir / "r.json").string();
  for (const std::string& opt : {"--spikes " + q(spikes), std::string("--tick-ms 2"), std::string("--ticks-per-frame 3"),
                                 std::string("--thread-mode frames")}) {
    CAPTURE(opt);
    expect_error("simulate " + q(grid) + " --frames 5 --report " + q(report) + " " + opt, "usage error",
                 {grid + " (a grid program) does not take " + opt.substr(0, opt.find(' '))}, 2);
  }
  for (const std::string opt : {"--steps 5", "--step-relays"}) {
    CAPTURE(opt);
    expect_error("simulate " + q(tn) + " --frames 5 --report " + q(report) + " " + opt, "usage error",
                 {"a TrueNorth program does not take " + opt.substr(0, opt.find(' '))}, 2);
    expect_error("run " + q(tn_model) + " --frames 5 --report " + q(report) + " " + opt, "usage error",
                 {"a TrueNorth program does not take " + opt.substr(0, opt.find(' '))}, 2);
  }
  // Frames thread mode cannot record spikes (one simulator per thread): refused, with the mode that can.
  {
    const auto r = expect_error("simulate " + q(tn) + " --frames 300 --threads 2 --thread-mode frames --spikes " + q(spikes) +
                                    " --report " + q(report),
                                "usage error", {"frames thread mode: recording spikes needs one simulator"}, 2);
    expect_hint(r, "--thread-mode cores");
  }
  CHECK_FALSE(std::filesystem::exists(spikes));
  CHECK_FALSE(std::filesystem::exists(report));
  // The options each target does take still work.
  CHECK(run_nmc("simulate " + q(grid) + " --frames 5 --step-relays").code == 0);
  CHECK(run_nmc("simulate " + q(tn) + " --frames 5 --tick-ms 2 --spikes " + q(spikes)).code == 0);
}
