#include <doctest/doctest.h>

#include <nmc/convert/load.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>

#include "common/builders.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;
using namespace nmc::model;

namespace {

const char* small = R"(format: nmc-model/1
name: small
layers:
  - {name: in, type: input, shape: [1, 6, 6], levels: [64, 192]}
  - name: c1
    type: conv2d
    out_channels: 4
    kernel: 3
    stride: [1, 2]
    padding: 1
    groups: 2
    weights: |
      +0-+0-+0- -+0-+0-+0 000+++--- +-+-+-+-0
  - {name: a1, type: threshold, threshold: 1, sign: [1, -1, 1, 1]}
  - {name: p1, type: avg_pool, kernel: 2, stride: 1}
  - {name: p2, type: max_pool, kernel: 2, stride: 1, input: a1}
  - {name: cat, type: concat, inputs: [p1, p2]}
  - {name: f, type: flatten}
  - {name: fc, type: dense, out_features: 4, weights: "%s"}
  - {name: a2, type: threshold, threshold: [0, 1, 2, -1]}
  - {name: out, type: output, classes: 2}
)";

// (std::string::replace trips a GCC 12 -Wrestrict false positive.)
std::string replace_once(const std::string& s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  return s.substr(0, pos) + to + s.substr(pos + from.size());
}

std::string small_text() {
  // cat: 8 channels x 5 x 2 = 80 inputs; 4 outputs -> 320 weights
  std::string w;
  for (int i = 0; i < 320; ++i) w += "+-0"[i % 3];
  return replace_once(small, "%s", w);
}

std::string error_of(const std::string& text) {
  try {
    convert::parse_yaml_model(text, "m.yaml");
  } catch (const model_error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  FAIL("no model_error for:\n" << text);
  return {};
}

}  // namespace

TEST_CASE("yaml: parses every layer kind with shorthands expanded") {
  const auto net = convert::parse_yaml_model(small_text(), "m.yaml");
  CHECK(net.size() == 10);
  const auto& c1 = net[*net.find("c1")];
  CHECK(c1.as<conv2d_op>().stride_h == 1);
  CHECK(c1.as<conv2d_op>().stride_w == 2);
  CHECK(c1.shape == tensor_shape{4, 6, 3});
  CHECK(c1.as<conv2d_op>().weights[2] == -1);
  const auto& a1 = net[*net.find("a1")].as<threshold_op>();
  CHECK(a1.threshold == std::vector<std::int32_t>{1, 1, 1, 1});
  CHECK(a1.sign[1] == -1);
  CHECK(net[*net.find("p1")].as<pool_op>().threshold == 2);  // ceil(4 / 2)
  CHECK(net[*net.find("p2")].inputs[0] == *net.find("a1"));
  CHECK(net[*net.find("cat")].shape == tensor_shape{8, 5, 2});
  const auto& out = net[*net.find("out")].as<output_op>();
  CHECK(out.class_of == std::vector<std::int32_t>{0, 0, 1, 1});
}

TEST_CASE("yaml: write then read gives the same network") {
  const auto net = convert::parse_yaml_model(small_text(), "m.yaml");
  const auto text = convert::to_yaml(net);
  const auto again = convert::parse_yaml_model(text, "again.yaml");
  CHECK(content_hash(again) == content_hash(net));
  CHECK(convert::to_yaml(again) == text);
  // Random networks round-trip too.
  test::builder b;
  b.input(2, 5, 5, {10, 20, 30});
  b.conv("c", 3, 2, 1, 0, 1, std::vector<std::int8_t>(72, -1));
  b.threshold("a", {0, -3, 5}, {1, -1, -1});
  b.flatten("f");
  b.output(3, [] {
    std::vector<std::int32_t> v(48, -1);
    v[0] = 0, v[1] = 1, v[47] = 2;
    return v;
  }());
  const auto built = b.done();
  CHECK(content_hash(convert::parse_yaml_model(convert::to_yaml(built), "x")) == content_hash(built));
}

TEST_CASE("yaml: write_yaml_model is atomic and load_model dispatches on the extension") {
  test::temp_dir dir;
  const auto net = convert::parse_yaml_model(small_text(), "m.yaml");
  convert::write_yaml_model(dir / "m.yaml", net);
  CHECK(content_hash(convert::load_model(dir / "m.yaml")) == content_hash(net));
  CHECK_THROWS_WITH_AS(convert::load_model(dir / "m.txt"), doctest::Contains("unknown model format"),
                       model_error);
  CHECK_THROWS_WITH_AS(convert::load_model(dir / "missing.yaml"), doctest::Contains("no such file"),
                       io_error);
}

TEST_CASE("yaml: syntax errors and semantic errors give the line") {
  CHECK(error_of("format: nmc-model/1\nlayers: [\n").find("m.yaml:3:1: YAML syntax error") == 0);
  const std::string bad = replace_once(small_text(), "kernel: 3\n", "kernel: 9\n");
  const auto e = error_of(bad);
  CHECK(e.find("m.yaml:5: layer 'c1' (conv2d): kernel 9x9 is larger than the padded input 8x8") == 0);
}

TEST_CASE("yaml: every reader error names the problem") {
  const std::string head = "format: nmc-model/1\nlayers:\n  - {name: in, type: input, shape: [1, 2, 2], levels: [1]}\n";
  CHECK(error_of("format: nmc-model/2\nlayers: []\n").find("expected 'nmc-model/1'") != std::string::npos);
  CHECK(error_of("- 1\n").find("not a YAML mapping") != std::string::npos);
  CHECK(error_of("format: nmc-model/1\nlayerz: []\n").find("unknown key 'layerz'") != std::string::npos);
  CHECK(error_of("format: nmc-model/1\nlayers: []\n").find("non-empty list") != std::string::npos);
  CHECK(error_of(head + "  - {name: x, type: conv3d}\n").find("m.yaml:4: layer 'x': unknown type 'conv3d'") == 0);
  CHECK(error_of(head + "  - {type: flatten}\n").find("without a name") != std::string::npos);
  CHECK(error_of(head + "  - {name: in, type: flatten}\n").find("used twice") != std::string::npos);
  CHECK(error_of(head + "  - {name: f, type: flatten, input: nope}\n").find("input 'nope' is not a layer defined above") != std::string::npos);
  CHECK(error_of(head + "  - {name: f, type: flatten, stride: 2}\n").find("unknown key 'stride'") != std::string::npos);
  CHECK(error_of(head + "  - {name: d, type: dense, out_features: x, weights: [1]}\n").find("'out_features' is 'x', not a valid integer") != std::string::npos);
  CHECK(error_of(head + "  - {name: d, type: dense, out_features: 1}\n").find("missing 'weights'") != std::string::npos);
  CHECK(error_of(head + "  - {name: d, type: dense, out_features: 1, weights: \"+x\"}\n").find("weight string has 'x' at character 1") != std::string::npos);
  CHECK(error_of(head + "  - {name: d, type: dense, out_features: 1, weights: [1, 1, 1, 900]}\n").find("value 900 is out of range") != std::string::npos);
  CHECK(error_of(head + "  - {name: f, type: flatten}\n  - {name: o, type: output, classes: 3}\n").find("3 classes do not divide the 4 neurons") != std::string::npos);
  CHECK(error_of(head + "  - {name: p, type: max_pool, stride: 1}\n").find("missing 'kernel'") != std::string::npos);
  CHECK(error_of("format: nmc-model/1\nlayers:\n  - {name: in, type: input, shape: [1, 2], levels: [1]}\n").find("'shape' must be [channels, height, width]") != std::string::npos);
  CHECK(error_of("format: nmc-model/1\nlayers:\n  - {name: in, type: input, shape: [1, 2, 2]}\n").find("missing 'levels'") != std::string::npos);
}
