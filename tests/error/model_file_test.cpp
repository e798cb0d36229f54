// Error catalogue: model files that cannot be read as a model (missing,
// truncated, not ONNX, unknown extension) and ONNX models outside the Eedn
// profile (an unsupported op, weights that are not trinary). Each runs the nmc
// executable and checks exit code 1, the error type and the key text.
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

std::string shipped_onnx() { return nmc::read_file(source_path("models/fmnist_small.onnx")); }

onnx::ModelProto shipped_model() {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(shipped_onnx()));
  return m;
}

}  // namespace

TEST_CASE("error: a model file that does not exist") {
  temp_dir dir;
  const auto path = (dir / "nope.onnx").string();
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "i/o error",
                              {path + ": no such file"});
  expect_hint(r, "check the path");
  CHECK(!std::filesystem::exists(dir / "p.nmc"));
}

TEST_CASE("error: a truncated ONNX model names the file and says it may be truncated") {
  temp_dir dir;
  const auto bytes = shipped_onnx();
  const auto path = (dir / "cut.onnx").string();
  nmc::atomic_write(path, bytes.substr(0, bytes.size() / 3));
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "model error",
                              {path + ": not an ONNX model", "truncated"});
  expect_hint(r, "torch.onnx.export");
}

TEST_CASE("error: a file that is not ONNX at all") {
  temp_dir dir;
  const auto path = (dir / "notes.onnx").string();
  nmc::atomic_write(path, "these are my notes, not a model\n");
  const auto r = expect_error("inspect " + q(path), "model error", {path + ": not an ONNX model"});
  expect_hint(r, "export the model");
  // An empty file too.
  nmc::atomic_write(path, "");
  expect_error("inspect " + q(path), "model error", {path + ": not an ONNX model"});
}

TEST_CASE("error: a model file of an unknown format lists the supported ones") {
  temp_dir dir;
  const auto path = (dir / "model.h5").string();
  nmc::atomic_write(path, "HDF5");
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "model error",
                              {path + ": unknown model format '.h5'"});
  expect_hint(r, ".onnx");
  expect_hint(r, ".yaml");
}

TEST_CASE("error: an unsupported ONNX op names the node, the op and the supported ops") {
  temp_dir dir;
  auto m = shipped_model();
  REQUIRE(m.graph().node_size() > 1);
  auto* node = m.mutable_graph()->mutable_node(0);
  const std::string name = node->name();
  node->set_op_type("LpNormalization");
  const auto path = (dir / "lp.onnx").string();
  nmc::atomic_write(path, m.SerializeAsString());
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "model error",
                              {path + ": node '" + name + "' (LpNormalization): this op is not supported"});
  expect_hint(r, "supported ops: Conv");
}

TEST_CASE("error: non-trinary weights name the node, the tensor, the count and --quantize") {
  temp_dir dir;
  auto m = shipped_model();
  // The first weight tensor read by a Conv node: one value made 0.37.
  std::string weight, conv;
  for (const auto& n : m.graph().node())
    if (n.op_type() == "Conv" && n.input_size() > 1) {
      weight = n.input(1);
      conv = n.name();
      break;
    }
  REQUIRE(!weight.empty());
  bool changed = false;
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() != weight) continue;
    REQUIRE(t.data_type() == onnx::TensorProto::FLOAT);
    if (t.float_data_size() > 0) {
      t.set_float_data(0, 0.37f);
    } else {
      std::string raw = t.raw_data();
      REQUIRE(raw.size() >= sizeof(float));
      const float v = 0.37f;
      std::memcpy(raw.data(), &v, sizeof v);
      t.set_raw_data(raw);
    }
    changed = true;
  }
  REQUIRE(changed);
  const auto path = (dir / "float.onnx").string();
  nmc::atomic_write(path, m.SerializeAsString());
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "model error",
                              {path + ": node '" + conv + "' (Conv): weight tensor '" + weight + "' has 1 of ",
                               "values that are not -1, 0 or 1 (0.37"});
  expect_hint(r, "--quantize");
  CHECK(run_nmc("inspect --quantize " + q(path)).code == 0);  // the way out works
}
