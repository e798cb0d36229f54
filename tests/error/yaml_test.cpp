// Error catalogue: bad YAML, in a model file and in a target file. Every
// message starts with file:line (and column for syntax errors).
#include <doctest/doctest.h>

#include <nmc/files.hpp>

#include "common/compile.hpp"
#include "common/expect_error.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

TEST_CASE("error: a YAML syntax error in a model gives file:line:column") {
  temp_dir dir;
  const auto path = (dir / "broken.yaml").string();
  nmc::atomic_write(path,
                    "format: nmc-model/1\n"
                    "layers:\n"
                    "  - {name: in, type: input, shape: [1, 2, 2], levels: [1]}\n"
                    "  - {name: f, type: flatten\n"
                    "  - {name: out, type: output, classes: 2}\n");
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "model error",
                              {path + ":5:", "YAML syntax error"});
  expect_hint(r, "at that line");
}

TEST_CASE("error: a model layer that is wrong gives the file, its line and the layer") {
  temp_dir dir;
  const auto path = (dir / "typo.yaml").string();
  nmc::atomic_write(path,
                    "format: nmc-model/1\n"
                    "layers:\n"
                    "  - {name: in, type: input, shape: [1, 2, 2], levels: [1]}\n"
                    "  - {name: c, type: conv2d, out_channels: 1, kernel: 3, weights: \"+0-+0-+0-\"}\n"
                    "  - {name: out, type: output, classes: 2}\n");
  expect_error("inspect " + q(path), "model error", {path + ":4: layer 'c' (conv2d): kernel 3x3 is larger than the padded input 2x2"});
  nmc::atomic_write(path,
                    "format: nmc-model/1\n"
                    "layers:\n"
                    "  - {name: in, type: input, shape: [1, 2, 2], levels: [1]}\n"
                    "  - {name: x, type: conv3d}\n");
  const auto r = expect_error("inspect " + q(path), "model error", {path + ":4: layer 'x': unknown type 'conv3d'"});
  expect_hint(r, "conv2d");
}

TEST_CASE("error: a bad target file gives file:line, the key, the value and the range") {
  temp_dir dir;
  const auto target = (dir / "chip.yaml").string();
  nmc::atomic_write(target, target_with({{"cores_x: 64", "cores_x: 0"}}));
  const auto model = source_path("examples/tiny_fmnist.yaml");
  expect_error("compile " + q(model) + " --target-file " + q(target) + " -o " + q((dir / "p.nmc").string()),
               "config error", {target + ":8: chip.cores_x = 0 is outside 1..4096"});
  nmc::atomic_write(target, "chip: [unclosed\n");
  expect_error("compile " + q(model) + " --target-file " + q(target) + " -o " + q((dir / "p.nmc").string()),
               "config error", {target + ":2:"});
}
