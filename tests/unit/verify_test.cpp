// One test per diagnostic the IR verifier raises: each asserts the code, the
// layer it names, and the numbers in the message.
#include <doctest/doctest.h>

#include <nmc/error.hpp>
#include <nmc/model/verify.hpp>

#include "common/builders.hpp"

using namespace nmc;
using namespace nmc::model;
using nmc::test::builder;

namespace {

// A valid base network: 1x4x4 input, conv 2x3x3 pad 1, threshold, flatten, output.
builder base() {
  builder b;
  b.input(1, 4, 4);
  b.conv("conv", 2, 3, 1, 1, 1, std::vector<std::int8_t>(18, 1));
  b.threshold("act", {1, 1});
  b.flatten("flat");
  b.output(2, nmc::test::populations(32, 2));
  return b;
}

layer& at(network& net, const char* name) { return net[*net.find(name)]; }

// Verifies and returns the single diagnostic (fails the test if not exactly one).
diagnostic only(network& net) {
  auto d = verify(net);
  REQUIRE(d.size() >= 1);
  return d.front();
}

}  // namespace

TEST_CASE("verify: a valid network has no diagnostics and gets its shapes") {
  auto b = base();
  CHECK(verify(b.net).empty());
  CHECK(at(b.net, "conv").shape == tensor_shape{2, 4, 4});
  CHECK(at(b.net, "conv").value == value_kind::integer);
  CHECK(at(b.net, "act").value == value_kind::binary);
  CHECK(at(b.net, "flat").shape == tensor_shape{32, 1, 1});
  CHECK(at(b.net, "out").shape == tensor_shape{2, 1, 1});
  CHECK_NOTHROW(check(b.net));
}

TEST_CASE("verify: name.empty and name.duplicate") {
  auto b = base();
  at(b.net, "act").name = "";
  CHECK(only(b.net).code == "name.empty");
  auto c = base();
  at(c.net, "act").name = "conv";
  const auto d = only(c.net);
  CHECK(d.code == "name.duplicate");
  CHECK(d.layer == "conv");
}

TEST_CASE("verify: graph.bad-ref names the missing layer number") {
  auto b = base();
  at(b.net, "act").inputs = {layer_id(42)};
  const auto d = only(b.net);
  CHECK(d.code == "graph.bad-ref");
  CHECK(d.message.find("#42") != std::string::npos);
  CHECK(d.message.find("5 layers") != std::string::npos);
}

TEST_CASE("verify: graph.arity for every kind of layer") {
  auto b = base();
  at(b.net, "flat").inputs.push_back(*b.net.find("act"));
  CHECK(only(b.net).code == "graph.arity");
  auto c = base();
  at(c.net, "in").inputs.push_back(*c.net.find("act"));
  CHECK(only(c.net).code == "graph.arity");
  auto e = base();
  e.add("cat", concat_op{}, {*e.net.find("act")});
  CHECK(verify(e.net).front().code == "graph.arity");
}

TEST_CASE("verify: graph.input-count and graph.output-count") {
  auto b = base();
  b.add("in2", input_op{{1, 4, 4}, {{128}}});
  auto diags = verify(b.net);
  REQUIRE(!diags.empty());
  CHECK(diags.front().code == "graph.input-count");
  CHECK(diags.front().message.find("2 input layers") != std::string::npos);
  builder c;
  c.input(1, 2, 2);
  c.flatten("f");
  CHECK(verify(c.net).front().code == "graph.output-count");
}

TEST_CASE("verify: graph.cycle") {
  auto b = base();
  at(b.net, "conv").inputs = {*b.net.find("flat")};
  CHECK(only(b.net).code == "graph.cycle");
}

TEST_CASE("verify: graph.unused and graph.output-consumed") {
  auto b = base();
  b.add("extra", pool_op{pool_kind::max, 2, 2, 2, 2, 0, 0, 1}, {*b.net.find("act")});
  auto d = only(b.net);
  CHECK(d.code == "graph.unused");
  CHECK(d.layer == "extra");
  auto c = base();
  c.add("after", flatten_op{}, {*c.net.find("out")});
  bool found = false;
  for (const auto& x : verify(c.net)) found |= x.code == "graph.output-consumed";
  CHECK(found);
}

TEST_CASE("verify: shape.nonpositive, shape.kernel, shape.stride, shape.padding") {
  auto b = base();
  at(b.net, "in").as<input_op>().image.height = 0;
  CHECK(only(b.net).code == "shape.nonpositive");

  auto c = base();
  at(c.net, "conv").as<conv2d_op>().kernel_h = 7;  // 7 > 4 + 2*1
  at(c.net, "conv").as<conv2d_op>().pad_h = 1;
  auto d = only(c.net);
  CHECK(d.code == "shape.kernel");
  CHECK(d.message.find("7x3") != std::string::npos);
  CHECK(d.message.find("6x6") != std::string::npos);

  auto e = base();
  at(e.net, "conv").as<conv2d_op>().stride_w = 0;
  CHECK(only(e.net).code == "shape.stride");

  auto f = base();
  at(f.net, "conv").as<conv2d_op>().pad_w = 3;
  CHECK(only(f.net).code == "shape.padding");

  auto g = base();
  at(g.net, "conv").as<conv2d_op>().out_channels = 0;
  CHECK(only(g.net).code == "shape.nonpositive");
}

TEST_CASE("verify: shape.groups names both channel counts") {
  auto b = base();
  at(b.net, "conv").as<conv2d_op>().groups = 2;  // input has 1 channel
  const auto d = only(b.net);
  CHECK(d.code == "shape.groups");
  CHECK(d.message.find("input channels (1)") != std::string::npos);
}

TEST_CASE("verify: shape.concat") {
  builder b;
  auto in = b.input(1, 4, 4);
  auto p1 = b.pool("p1", pool_kind::max, 2, 2, 0, 1);
  auto p2 = b.add("p2", pool_op{pool_kind::max, 1, 1, 1, 1, 0, 0, 1}, {in});
  b.add("cat", concat_op{}, {p1, p2});
  b.flatten("f");
  b.output(1, std::vector<std::int32_t>(20, 0));
  const auto d = only(b.net);
  CHECK(d.code == "shape.concat");
  CHECK(d.message.find("'p2' is 4x4") != std::string::npos);
}

TEST_CASE("verify: weights.size and weights.value") {
  auto b = base();
  at(b.net, "conv").as<conv2d_op>().weights.resize(17);
  auto d = only(b.net);
  CHECK(d.code == "weights.size");
  CHECK(d.message.find("17 weights, expected 18") != std::string::npos);
  auto c = base();
  at(c.net, "conv").as<conv2d_op>().weights[5] = 2;
  d = only(c.net);
  CHECK(d.code == "weights.value");
  CHECK(d.message.find("weight #5 is 2") != std::string::npos);
  CHECK(d.layer == "conv");
}

TEST_CASE("verify: value.kind and value.consumers") {
  auto b = base();
  at(b.net, "flat").inputs = {*b.net.find("conv")};  // reads integer sums
  bool kind = false;
  for (const auto& x : verify(b.net)) kind |= x.code == "value.kind";
  CHECK(kind);
  auto c = base();
  at(c.net, "act").inputs = {*c.net.find("in")};  // threshold on spikes
  kind = false;
  for (const auto& x : verify(c.net)) kind |= x.code == "value.kind";
  CHECK(kind);
  auto e = base();
  e.add("act2", threshold_op{{1, 1}, {1, 1}}, {*e.net.find("conv")});
  bool consumers = false;
  for (const auto& x : verify(e.net)) consumers |= x.code == "value.consumers";
  CHECK(consumers);
}

TEST_CASE("verify: threshold.size, threshold.sign, threshold.range") {
  auto b = base();
  at(b.net, "act").as<threshold_op>().threshold = {1};
  CHECK(only(b.net).code == "threshold.size");
  auto c = base();
  at(c.net, "act").as<threshold_op>().sign = {1, 0};
  CHECK(only(c.net).code == "threshold.sign");
  auto e = base();
  at(e.net, "act").as<threshold_op>().threshold = {1, 11};  // fan-in 9: range -9..10
  const auto d = only(e.net);
  CHECK(d.code == "threshold.range");
  CHECK(d.message.find("threshold 11, outside -9..10") != std::string::npos);
}

TEST_CASE("verify: encoding.levels") {
  auto b = base();
  at(b.net, "in").as<input_op>().encoding.thresholds = {};
  CHECK(only(b.net).code == "encoding.levels");
  auto c = base();
  at(c.net, "in").as<input_op>().encoding.thresholds = {100, 100};
  CHECK(only(c.net).code == "encoding.levels");
  auto e = base();
  at(e.net, "in").as<input_op>().encoding.thresholds = {0};
  CHECK(only(e.net).code == "encoding.levels");
}

TEST_CASE("verify: pool.threshold") {
  builder b;
  b.input(1, 4, 4);
  b.pool("p", pool_kind::average, 2, 2, 0, 5);
  b.flatten("f");
  b.output(1, std::vector<std::int32_t>(4, 0));
  const auto d = only(b.net);
  CHECK(d.code == "pool.threshold");
  CHECK(d.message.find("outside 1..4") != std::string::npos);
}

TEST_CASE("verify: output.classes, output.class-of, output.empty-class") {
  auto b = base();
  at(b.net, "out").as<output_op>().classes = 0;
  CHECK(only(b.net).code == "output.classes");
  auto c = base();
  at(c.net, "out").as<output_op>().class_of.pop_back();
  CHECK(only(c.net).code == "output.class-of");
  auto e = base();
  at(e.net, "out").as<output_op>().class_of[3] = 2;
  CHECK(only(e.net).code == "output.class-of");
  auto f = base();
  at(f.net, "out").as<output_op>().classes = 3;
  const auto d = only(f.net);
  CHECK(d.code == "output.empty-class");
  CHECK(d.message.find("class 2") != std::string::npos);
}

TEST_CASE("verify: check() throws a model_error listing every problem") {
  auto b = base();
  at(b.net, "conv").as<conv2d_op>().weights[0] = 3;
  at(b.net, "out").name = "";
  try {
    check(b.net);
    FAIL("check() did not throw");
  } catch (const model_error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("empty name") != std::string::npos);
    CHECK(msg.find("weight #0 is 3") != std::string::npos);
    CHECK(!e.hint().empty());
  }
}
