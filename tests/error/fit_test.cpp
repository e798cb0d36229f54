// Error catalogue: valid models that do not fit the target. Each names the
// model file and the layer, the limit and the numbers, and says what to change.
#include <doctest/doctest.h>

#include <nmc/files.hpp>

#include "common/compile.hpp"
#include "common/expect_error.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

TEST_CASE("error: fan-in over 128 input pairs names the layer, the sum and the kernel") {
  temp_dir dir;
  // 3 channels x 5 levels = 15 input channels under a 3x3 kernel: 135 inputs.
  const std::string model = "format: nmc-model/1\nlayers:\n"
                            "  - {name: in, type: input, shape: [3, 4, 4], levels: [50, 100, 150, 200, 250]}\n"
                            "  - {name: wide, type: conv2d, out_channels: 2, kernel: 3, weights: \"" +
                            weights(2 * 15 * 9) +
                            "\"}\n"
                            "  - {name: a, type: threshold, threshold: 1}\n"
                            "  - {name: f, type: flatten}\n"
                            "  - {name: d, type: dense, out_features: 2, weights: \"" + weights(2 * 8) + "\"}\n"
                            "  - {name: a2, type: threshold, threshold: 1}\n"
                            "  - {name: out, type: output, classes: 2}\n";
  const auto path = (dir / "wide.yaml").string();
  nmc::atomic_write(path, model);
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "fit error",
                              {path + ": layer 'wide' (conv2d): each neuron sums 135 inputs",
                               "kernel 3x3 x 15 input channels per group", "256 axons = 128 input pairs"});
  expect_hint(r, "more groups");
  CHECK(!std::filesystem::exists(dir / "p.nmc"));
}

TEST_CASE("error: too many cores for the chips given names the count, the layers and --chips N") {
  temp_dir dir;
  // A 2 x 2-core chip: the shipped tiny model needs hundreds of cores.
  const auto target = (dir / "small_chip.yaml").string();
  nmc::atomic_write(target, target_with({{"cores_x: 64", "cores_x: 2"}, {"cores_y: 64", "cores_y: 2"}}));
  const auto model = source_path("examples/tiny_fmnist.yaml");
  const auto r = expect_error("compile " + q(model) + " --target-file " + q(target) + " -o " +
                                  q((dir / "p.nmc").string()),
                              "fit error", {model + ": the model needs ", " cores, but 1 chip of 4 cores give 4", "conv1"});
  expect_hint(r, "use --chips ");
  // The suggested count is enough.
  const auto at = r.out.find("use --chips ") + 12;
  const int chips = std::stoi(r.out.substr(at));
  CHECK(chips > 1);
  CHECK(run_nmc("compile " + q(model) + " --target-file " + q(target) + " --chips " + std::to_string(chips) +
                " -o " + q((dir / "p.nmc").string()))
            .code == 0);
}

TEST_CASE("error: reach exceeded names both layers, the cores, the span and the reach") {
  temp_dir dir;
  const std::string star = nmc::test::star_yaml();
  const auto model = (dir / "star.yaml").string();
  const auto target = (dir / "short_reach.yaml").string();
  nmc::atomic_write(model, star);
  nmc::atomic_write(target, target_with({{"reach_x_cores: 255", "reach_x_cores: 1"},
                                          {"reach_y_cores: 255", "reach_y_cores: 1"}}));
  const auto r = expect_error("compile " + q(model) + " --target-file " + q(target) + " -o " +
                                  q((dir / "p.nmc").string()),
                              "fit error",
                              {model + ": a spike path from layer 'd0' (chip 0 core ", "to layer 'd1'",
                               "cores, beyond the reach of +/-1 x +/-1"});
  expect_hint(r, "target file");
}
