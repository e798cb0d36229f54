// Error catalogue: ONNX models whose fields are out of what nmc can read
// faithfully: an opset it does not know, a flat graph input, attributes of 0
// (output channels, stride, group) blamed on their own node, ceil_mode and a
// channel count that does not match the encoding with their way out, and NaN
// thresholds naming the node and channel. Also IDX headers whose sizes
// overflow. Each: exit 1, the kind, the file, the node or field, the numbers
// and a hint; nothing written.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <onnx/onnx_pb.h>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

onnx::ModelProto shipped_model() {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(nmc::read_file(source_path("models/fmnist_small.onnx"))));
  return m;
}

onnx::NodeProto* node_named(onnx::ModelProto& m, const std::string& name) {
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == name) return &n;
  FAIL("no node " << name);
  return nullptr;
}

void set_ints(onnx::NodeProto& n, const std::string& attr, std::vector<std::int64_t> v) {
  for (auto& a : *n.mutable_attribute())
    if (a.name() == attr) {
      a.clear_ints();
      for (auto x : v) a.add_ints(x);
      return;
    }
  auto* a = n.add_attribute();
  a->set_name(attr);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void set_int(onnx::NodeProto& n, const std::string& attr, std::int64_t v) {
  for (auto& a : *n.mutable_attribute())
    if (a.name() == attr) {
      a.set_i(v);
      return;
    }
  auto* a = n.add_attribute();
  a->set_name(attr);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

// Writes the model and checks `nmc compile` refuses it, writing nothing.
run_result refused(const onnx::ModelProto& m, const temp_dir& dir, const std::string& file,
                      std::vector<std::string> text) {
  const auto path = (dir / file).string();
  nmc::atomic_write(path, m.SerializeAsString());
  for (auto& t : text) t = t == "$" ? path : t;
  const auto r = expect_error("compile " + q(path) + " -o " + q((dir / "p.nmc").string()), "model error", text);
  CHECK_FALSE(std::filesystem::exists(dir / "p.nmc"));
  return r;
}

}  // namespace

TEST_CASE("error: an ONNX opset nmc does not know is refused with the opsets it knows") {
  temp_dir dir;
  auto m = shipped_model();
  m.mutable_opset_import(0)->set_version(1000);
  const auto r = refused(m, dir, "opset.onnx", {"$", "ONNX opset 1000 is outside the opsets nmc knows (7 to 21)"});
  expect_hint(r, "opset_version=21");
}

TEST_CASE("error: a flat graph input [N, 784] is refused with the shape to export") {
  temp_dir dir;
  auto m = shipped_model();
  auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->clear_dim();
  shape->add_dim()->set_dim_param("N");
  shape->add_dim()->set_dim_value(2352);
  const auto r = refused(m, dir, "flat.onnx", {"$", "has rank 2 ([N, 2352]); nmc reads N x C x H x W images"});
  expect_hint(r, "[N, 3, 28, 28]");
}

TEST_CASE("error: a graph input whose channels do not match the encoding says what the channels are") {
  temp_dir dir;
  auto m = shipped_model();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(1);
  const auto r = refused(m, dir, "channels.onnx", {"$", "has 1 channels, but 1 image channels x 3 levels = 3"});
  expect_hint(r, "nmc.input.levels");
}

TEST_CASE("error: stride 0, group 0 and ceil_mode name their own node, with a way out") {
  temp_dir dir;
  {
    auto m = shipped_model();
    set_ints(*node_named(m, "conv2"), "strides", {0, 0});
    const auto r = refused(m, dir, "stride.onnx", {"$", "node 'conv2' (Conv): strides [0, 0]: each stride must be 1 to 1024"});
    expect_hint(r, "strides of at least 1");
  }
  {
    auto m = shipped_model();
    set_int(*node_named(m, "conv2"), "group", 0);
    const auto r = refused(m, dir, "group.onnx", {"$", "node 'conv2' (Conv): group 0 does not divide"});
    expect_hint(r, "group >= 1");
  }
  {
    auto m = shipped_model();
    set_int(*node_named(m, "pool1"), "ceil_mode", 1);
    const auto r = refused(m, dir, "ceil.onnx", {"$", "node 'pool1' (MaxPool): ceil_mode 1 is not supported"});
    expect_hint(r, "ceil_mode=False");
  }
}

TEST_CASE("error: a NaN threshold names the node and the channel") {
  temp_dir dir;
  auto m = shipped_model();
  // The constant act1 compares with: one value made NaN.
  const auto* act = node_named(m, "act1");
  std::string name;
  for (int i = 0; i < act->input_size(); ++i)
    for (const auto& t : m.graph().initializer())
      if (t.name() == act->input(i)) name = t.name();
  REQUIRE(!name.empty());
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() != name) continue;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    if (t.float_data_size() > 0) {
      t.set_float_data(0, nan);
    } else {
      std::string raw = t.raw_data();
      std::memcpy(raw.data(), &nan, sizeof nan);
      t.set_raw_data(raw);
    }
  }
  const auto r = refused(m, dir, "nan.onnx", {"$", "node 'act1' (GreaterOrEqual): channel 0:", "not finite"});
  expect_hint(r, "NaN or infinite");
}

TEST_CASE("error: an IDX header whose sizes overflow is refused, not read as empty frames") {
  temp_dir dir, data;
  write_fake_fashion_mnist(data.path, 5);
  const auto images = (data / "t10k-images-idx3-ubyte.gz").string();
  // 65536 frames of 65535 x 65535 pixels: more than any file holds.
  write_gzip(images, std::string("\0\0\x08\x03", 4) + idx_be32(65536) + idx_be32(65535) + idx_be32(65535) +
                         std::string(100, '\0'));
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = source_path("models/fmnist_small.onnx");
  auto r = expect_error("eval " + q(model), "data error",
                        {images + ": truncated: the header declares", "(65536 x 65535 x 65535)", "the file holds 100"});
  expect_hint(r, "dataset-fashion-mnist");
  write_gzip(images, std::string("\0\0\x08\x03", 4) + idx_be32(65536) + idx_be32(0) + idx_be32(28) + std::string(100, '\0'));
  r = expect_error("eval " + q(model), "data error", {images + ": images of 0 x 28 pixels"});
}
