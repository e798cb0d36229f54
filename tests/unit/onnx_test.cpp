// ONNX import: the profile, PyTorch-style patterns, and every error.
#include <doctest/doctest.h>

#include <random>

#include <onnx/onnx_pb.h>

#include <nmc/convert/onnx_import.hpp>
#include <nmc/convert/load.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/model/reference.hpp>

#include "common/builders.hpp"
#include "common/run_nmc.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;
using namespace nmc::model;

namespace {

// A small ONNX graph builder.
struct graph_builder {
  onnx::ModelProto m;
  onnx::GraphProto* g;
  explicit graph_builder(int channels = 1, int h = 4, int w = 4, std::string levels = "128") {
    m.set_ir_version(8);
    m.add_opset_import()->set_version(13);
    g = m.mutable_graph();
    g->set_name("test");
    auto* in = g->add_input();
    in->set_name("x");
    auto* shape = in->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->add_dim()->set_dim_param("N");
    shape->add_dim()->set_dim_value(channels);
    shape->add_dim()->set_dim_value(h);
    shape->add_dim()->set_dim_value(w);
    in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    meta("nmc.input.levels", levels);
    meta("nmc.input.shape", fmt::format("{},{},{}", channels, h, w));
  }
  void meta(const std::string& k, const std::string& v) {
    auto* p = m.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  void init(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
  }
  void init64(const std::string& name, std::vector<std::int64_t> v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v) t->add_int64_data(x);
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void ints(onnx::NodeProto* n, const char* name, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void integer(onnx::NodeProto* n, const char* name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  // Reshape [N, classes, -1] + ReduceSum over axis 2 -> graph output.
  void readout(const std::string& from, int classes) {
    init64("shape", {0, classes, -1});
    init64("axes", {2});
    node("Reshape", {from, "shape"}, "pop");
    integer(node("ReduceSum", {"pop", "axes"}, "counts"), "keepdims", 0);
    g->add_output()->set_name("counts");
  }
  std::string bytes() const { return m.SerializeAsString(); }
};

std::string error_of(const std::string& bytes, convert::import_options o = {}) {
  try {
    convert::parse_onnx(bytes, "m.onnx", o);
  } catch (const model_error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  FAIL("no model_error");
  return {};
}

// Conv 2 filters 3x3 pad 1 over a 1x4x4 binary map, then BatchNormalization
// (channel 1 with a negative scale) and a step y >= 0, read out as 2 classes.
graph_builder conv_bn_step() {
  graph_builder b;
  std::vector<float> w(18);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 3) - 1);
  b.init("w", {2, 1, 3, 3}, w);
  b.init("scale", {2}, {0.5f, -2.0f});
  b.init("bias", {2}, {0.25f, 1.0f});
  b.init("mean", {2}, {1.0f, -0.5f});
  b.init("var", {2}, {4.0f, 1.0f});
  b.init("zero", {}, {0.0f});
  auto* c = b.node("Conv", {"x", "w"}, "conv");
  graph_builder::ints(c, "kernel_shape", {3, 3});
  graph_builder::ints(c, "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"conv", "scale", "bias", "mean", "var"}, "bn");
  b.node("GreaterOrEqual", {"bn", "zero"}, "step");
  graph_builder::integer(b.node("Cast", {"step"}, "spikes"), "to", onnx::TensorProto::FLOAT);
  b.readout("spikes", 2);
  return b;
}

// The float network the ONNX graph describes, evaluated directly.
std::vector<int> float_counts(const std::vector<std::uint8_t>& px) {
  const float scale[2] = {0.5f, -2.0f}, bias[2] = {0.25f, 1.0f}, mean[2] = {1.0f, -0.5f}, var[2] = {4.0f, 1.0f};
  std::vector<int> counts(2, 0);
  for (int o = 0; o < 2; ++o)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        int sum = 0;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = y - 1 + ky, ix = x - 1 + kx;
            if (iy < 0 || ix < 0 || iy >= 4 || ix >= 4) continue;
            const int w = static_cast<int>((o * 9 + ky * 3 + kx) % 3) - 1;
            sum += w * (px[static_cast<std::size_t>(iy * 4 + ix)] >= 128);
          }
        const double bn = scale[o] * (sum - mean[o]) / std::sqrt(var[o] + 1e-5) + bias[o];
        counts[static_cast<std::size_t>(o)] += bn >= 0;  // 16 neurons per class: class = channel
      }
  return counts;
}

}  // namespace

TEST_CASE("onnx: Conv + BatchNormalization (negative scale) + step folds exactly") {
  const auto b = conv_bn_step();
  const auto net = convert::parse_onnx(b.bytes(), "m.onnx");
  const auto& th = net[*net.find("step")].as<threshold_op>();
  CHECK(th.sign[0] == 1);
  CHECK(th.sign[1] == -1);
  reference_net ref(net);
  auto ws = ref.make_workspace();
  std::mt19937 rng(3);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::uint8_t> px(16);
    for (auto& p : px) p = static_cast<std::uint8_t>(rng() & 0xff);
    ref.run(px, ws);
    CHECK(std::vector<int>(ws.counts().begin(), ws.counts().end()) == float_counts(px));
  }
}

TEST_CASE("onnx: Gemm (transB) and MatMul with bias, Greater, AveragePool with a step, Flatten, Concat") {
  graph_builder b(1, 4, 4);
  b.init("half", {}, {0.5f});
  auto* ap = b.node("AveragePool", {"x"}, "avg");
  graph_builder::ints(ap, "kernel_shape", {2, 2});
  graph_builder::ints(ap, "strides", {2, 2});
  b.node("GreaterOrEqual", {"avg", "half"}, "avg_step");
  graph_builder::integer(b.node("Cast", {"avg_step"}, "pooled"), "to", 1);
  auto* mp = b.node("MaxPool", {"x"}, "maxed");
  graph_builder::ints(mp, "kernel_shape", {2, 2});
  graph_builder::ints(mp, "strides", {2, 2});
  graph_builder::integer(b.node("Concat", {"pooled", "maxed"}, "both"), "axis", 1);
  graph_builder::integer(b.node("Flatten", {"both"}, "flat"), "axis", 1);
  std::vector<float> w(4 * 8, 1.0f);
  b.init("w", {4, 8}, w);
  b.init("c", {4}, {0.0f, -1.0f, -2.0f, -3.0f});
  graph_builder::integer(b.node("Gemm", {"flat", "w", "c"}, "fc"), "transB", 1);
  b.init("t", {}, {2.0f});
  b.node("Greater", {"fc", "t"}, "fc_step");  // sum + c > 2
  graph_builder::integer(b.node("Cast", {"fc_step"}, "spikes"), "to", 1);
  b.readout("spikes", 2);
  const auto net = convert::parse_onnx(b.bytes(), "m.onnx");
  CHECK(net[*net.find("avg_step")].as<pool_op>().threshold == 2);  // count / 4 >= 0.5
  const auto& th = net[*net.find("fc_step")].as<threshold_op>();
  CHECK(th.threshold == std::vector<std::int32_t>{3, 4, 5, 6});  // x + c > 2 <=> x >= 3 - c
  // MatMul: B is [in, out].
  graph_builder m(1, 2, 2);
  graph_builder::integer(m.node("Flatten", {"x"}, "flat"), "axis", 1);
  m.init("w", {4, 2}, {1, -1, 1, -1, 1, -1, 0, 0});
  m.node("MatMul", {"flat", "w"}, "mm");
  m.init("bias", {2}, {0.0f, 3.0f});
  m.node("Add", {"mm", "bias"}, "biased");
  m.init("z", {}, {0.0f});
  m.node("GreaterOrEqual", {"biased", "z"}, "s");
  graph_builder::integer(m.node("Cast", {"s"}, "spikes"), "to", 1);
  m.readout("spikes", 2);
  const auto dn = convert::parse_onnx(m.bytes(), "m.onnx");
  const auto& d = dn[*dn.find("mm")].as<dense_op>();
  CHECK(d.weights == std::vector<std::int8_t>{1, 1, 1, 0, -1, -1, -1, 0});
  CHECK(dn[*dn.find("s")].as<threshold_op>().threshold == std::vector<std::int32_t>{0, -3});
}

TEST_CASE("onnx: unsupported op names the node, the op and what is supported") {
  auto b = conv_bn_step();
  b.node("Softmax", {"spikes"}, "soft");
  const auto e = error_of(b.bytes());
  CHECK(e.find("m.onnx: node 'soft' (Softmax): this op is not supported") != std::string::npos);
  CHECK(e.find("supported ops: Conv, Gemm") != std::string::npos);
}

TEST_CASE("onnx: float weights are refused with the tensor and values, or quantised on request") {
  auto b = conv_bn_step();
  b.g->mutable_initializer(0)->set_float_data(4, 0.37f);
  const auto e = error_of(b.bytes());
  CHECK(e.find("node 'conv' (Conv): weight tensor 'w' has 1 of 18 values that are not -1, 0 or 1 (0.37") !=
        std::string::npos);
  CHECK(e.find("--quantize") != std::string::npos);
  convert::import_options q;
  q.quantize = true;
  const auto net = convert::parse_onnx(b.bytes(), "m.onnx", q);
  for (auto v : net[*net.find("conv")].as<conv2d_op>().weights) CHECK((v >= -1 && v <= 1));
}

TEST_CASE("onnx: truncated, non-ONNX and incomplete files are clear errors") {
  const auto bytes = conv_bn_step().bytes();
  CHECK(error_of(bytes.substr(0, bytes.size() / 2)).find("m.onnx: ") == 0);
  CHECK(error_of("this is a text file, not a model\n").find("not an ONNX model") != std::string::npos);
  CHECK(error_of("").find("not an ONNX model") != std::string::npos);
  graph_builder nometa(1, 4, 4);
  nometa.m.clear_metadata_props();
  nometa.node("Identity", {"x"}, "y");
  nometa.g->add_output()->set_name("y");
  CHECK(error_of(nometa.bytes()).find("metadata 'nmc.input.levels' is missing") != std::string::npos);
  graph_builder noreadout(1, 4, 4);
  noreadout.node("Identity", {"x"}, "y");
  noreadout.g->add_output()->set_name("y");
  CHECK(error_of(noreadout.bytes()).find("graph output 'y' is not class spike counts") != std::string::npos);
}

TEST_CASE("onnx: the exported example model imports to the same network as its YAML form") {
  const std::string dir = NMC_SOURCE_DIR;
  const auto from_onnx = convert::load_model(dir + "/models/fmnist_small.onnx");
  const auto from_yaml = convert::load_model(dir + "/examples/tiny_fmnist.yaml");
  CHECK(content_hash(from_onnx) == content_hash(from_yaml));
  test::temp_dir tmp;
  const auto cut = read_file(dir + "/models/fmnist_small.onnx").substr(0, 5000);
  atomic_write(tmp / "cut.onnx", cut);
  CHECK_THROWS_AS(convert::load_model(tmp / "cut.onnx"), model_error);
}

TEST_CASE("onnx: the nmc executable exits 1 for an unsupported op and for float weights") {
  test::temp_dir dir;
  auto unsupported = conv_bn_step();
  unsupported.node("Softmax", {"spikes"}, "soft");
  atomic_write(dir / "softmax.onnx", unsupported.bytes());
  auto floats = conv_bn_step();
  floats.g->mutable_initializer(0)->set_float_data(4, 0.37f);
  atomic_write(dir / "floats.onnx", floats.bytes());
  auto run = [](const std::string& args) { return test::run_nmc(args).code; };
  CHECK(run("inspect " + (dir / "softmax.onnx").string()) == 1);
  CHECK(run("inspect " + (dir / "floats.onnx").string()) == 1);
  CHECK(run("inspect --quantize " + (dir / "floats.onnx").string()) == 0);
}
