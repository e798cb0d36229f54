// Error catalogue: refusals that must come from counting, not from doing the
// work: a model far too large for the chips is refused from the lower bounds
// of its layers (before its cores are built), a YAML file far beyond any
// hand-written network before it is parsed. (How fast is measured by hand,
// README "Reliability"; here the form of the refusal is checked.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

// Eight 28 x 28 x 320 convolutions (grouped, fan-in 90): about 87,000 cores.
std::string huge_model() {
  std::mt19937 rng(1);
  auto w = [&](std::size_t n) {
    std::string s(n, '0');
    for (auto& c : s) c = "+-0"[rng() % 3];
    return s;
  };
  std::string y = "format: nmc-model/1\nlayers:\n  - {name: in, type: input, shape: [1, 28, 28], levels: [64, 128, 192]}\n";
  int in = 3;
  for (int i = 0; i < 8; ++i) {
    const int groups = in / (in == 3 ? 3 : 10);
    y += "  - {name: c" + std::to_string(i) + ", type: conv2d, out_channels: 320, kernel: [3, 3], padding: [1, 1], groups: " +
         std::to_string(groups) + ", weights: \"" + w(320 * 9 * static_cast<std::size_t>(in / groups)) + "\"}\n";
    y += "  - {name: a" + std::to_string(i) + ", type: threshold, threshold: 1}\n";
    in = 320;
  }
  return y + "  - {name: p, type: max_pool, kernel: 2, stride: 2}\n  - {name: out, type: output, classes: 10}\n";
}

}  // namespace

TEST_CASE("error: a model far too large for the chips is refused from its layers' lower bounds") {
  temp_dir dir;
  const auto model = (dir / "huge.yaml").string();
  nmc::atomic_write(model, huge_model());
  const auto out = (dir / "p.nmc").string();
  const auto r = expect_error("compile " + q(model) + " -o " + q(out), "fit error",
                              {model + ": the model needs at least ", " cores (the lower bound of the layers from '",
                               "but 1 chip of 4096 cores give 4096", "c7  ", ">= "});
  expect_hint(r, "use --chips ");
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("error: a YAML model beyond 64 MiB is refused before it is parsed") {
  temp_dir dir;
  const auto model = (dir / "big.yaml").string();
  { std::ofstream(model) << "format: nmc-model/1\n"; }
  std::filesystem::resize_file(model, std::uintmax_t{65} << 20);  // sparse: no 65 MiB written
  const auto r = expect_error("inspect " + q(model), "model error", {model + ": a YAML model of 65 MiB, beyond the 64 MiB"});
  expect_hint(r, "ONNX");
}

TEST_CASE("error: a layer of more neurons than nmc can map is refused on that layer, with the sizes, not wrapped") {
  temp_dir dir;
  const auto model = (dir / "wide.yaml").string();
  nmc::atomic_write(model, "format: nmc-model/1\nlayers:\n"
                           "  - {name: in, type: input, shape: [60000, 60000, 2], levels: [128]}\n"
                           "  - {name: f, type: flatten}\n"
                           "  - {name: d, type: dense, out_features: 1, weights: \"+\"}\n"
                           "  - {name: a, type: threshold, threshold: 1}\n"
                           "  - {name: out, type: output, classes: 1}\n");
  const auto r = expect_error("inspect " + q(model), "model error",
                              {"layer 'in' (input): has 60000 x 60000 x 2 = 7200000000 neurons, more than nmc can map"});
  expect_hint(r, "fewer channels");
  CHECK(r.out.find("18446744") == std::string::npos);  // no count wrapped around
}
