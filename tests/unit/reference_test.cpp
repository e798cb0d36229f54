#include <doctest/doctest.h>

#include <random>

#include <nmc/model/fold.hpp>
#include <nmc/model/reference.hpp>

#include "common/builders.hpp"

using namespace nmc;
using namespace nmc::model;
using nmc::test::builder;

namespace {

// Runs one frame and returns the workspace (reference_net kept alive by caller).
workspace run(const reference_net& ref, const std::vector<std::uint8_t>& px) {
  auto ws = ref.make_workspace();
  ref.run(px, ws);
  return ws;
}

std::vector<std::uint8_t> binary_image(const std::vector<int>& bits) {
  std::vector<std::uint8_t> px;
  for (int b : bits) px.push_back(b ? 255 : 0);
  return px;
}

}  // namespace

TEST_CASE("reference: thermometer encoding puts level k of channel c at channel c*levels+k") {
  builder b;
  auto in = b.input(2, 1, 2, {50, 100, 200});
  b.flatten("f");
  b.output(2, nmc::test::populations(12, 2));
  const auto net = b.done();
  reference_net ref(net);
  // channel 0: pixels 0 and 150; channel 1: pixels 100 and 255
  auto ws = run(ref, {0, 150, 100, 255});
  CHECK(ws.activations(in) == std::vector<std::uint8_t>{0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1});
}

TEST_CASE("reference: 3x3 conv, stride 2, padding 1 matches a hand computation") {
  // 1 channel 4x4 binary image, one filter [[1,0,-1],[1,0,-1],[1,0,-1]].
  builder b;
  b.input(1, 4, 4);
  auto conv = b.conv("c", 1, 3, 2, 1, 1, {1, 0, -1, 1, 0, -1, 1, 0, -1});
  auto act = b.threshold("a", {1});
  b.flatten("f");
  b.output(1, {0, 0, 0, 0});
  const auto net = b.done();
  CHECK(net[conv].shape == tensor_shape{1, 2, 2});
  reference_net ref(net);
  // image rows: 1100 / 1100 / 0011 / 0011
  auto ws = run(ref, binary_image({1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1}));
  // out(0,0): window rows -1..1, cols -1..1: left col (x=-1) pad, right col x=1: rows 0,1 -> 1+1 -> sum = 0 - 2 = -2 -> 0
  // out(0,1): cols 1..3, rows -1..1: left x=1 rows 0,1 = 2, right x=3 rows 0,1 = 0 -> 2 -> 1
  // out(1,0): rows 1..3, cols -1..1: right x=1: rows1..3 = 1,0,0 -> -1 -> 0
  // out(1,1): rows 1..3, cols 1..3: left x=1: 1,0,0 = 1; right x=3: 0,1,1 = 2 -> -1 -> 0
  CHECK(ws.activations(act) == std::vector<std::uint8_t>{0, 1, 0, 0});
}

TEST_CASE("reference: grouped conv only sees its own group's channels") {
  // 4 input channels (1 level each of a 4-channel 1x1 image), groups 2, 2 filters.
  builder b;
  b.input(4, 1, 1);
  // filter 0 (group 0: channels 0,1): weights +1,+1; filter 1 (group 1: channels 2,3): +1,-1
  b.conv("c", 2, 1, 1, 0, 2, {1, 1, 1, -1});
  auto act = b.threshold("a", {2, 1});
  b.output(2, {0, 1});
  const auto net = b.done();
  reference_net ref(net);
  CHECK(run(ref, {255, 255, 0, 0}).activations(act) == std::vector<std::uint8_t>{1, 0});
  CHECK(run(ref, {255, 0, 255, 0}).activations(act) == std::vector<std::uint8_t>{0, 1});
  CHECK(run(ref, {0, 0, 255, 255}).activations(act) == std::vector<std::uint8_t>{0, 0});
}

TEST_CASE("reference: max pool is an OR of the window") {
  builder b;
  b.input(1, 3, 3);
  auto mp = b.pool("mp", pool_kind::max, 2, 1, 0, 1);
  b.flatten("f");
  b.output(1, {0, 0, 0, 0});
  const auto net = b.done();
  reference_net ref(net);
  // image 0 0 0 / 0 0 0 / 0 0 1: only the bottom-right window sees the one
  CHECK(run(ref, binary_image({0, 0, 0, 0, 0, 0, 0, 0, 1})).activations(mp) ==
        std::vector<std::uint8_t>{0, 0, 0, 1});
  CHECK(run(ref, binary_image({0, 0, 0, 0, 1, 0, 0, 0, 0})).activations(mp) ==
        std::vector<std::uint8_t>{1, 1, 1, 1});
}

TEST_CASE("reference: average pool is a count threshold; padding counts as zero") {
  builder b;
  b.input(1, 3, 3);
  auto ap = b.pool("ap", pool_kind::average, 2, 2, 1, 2);  // 2x2 output
  b.flatten("f");
  b.output(1, {0, 0, 0, 0});
  const auto net = b.done();
  reference_net ref(net);
  // image 1 1 1 / 1 1 0 / 1 1 1 with padding 1, stride 2: the windows cover
  // (0,0): {img00} = 1 of 2 -> 0; (0,1): {img01, img02} = 2 -> 1;
  // (1,0): {img10, img20} = 2 -> 1; (1,1): {img11, img12, img21, img22} = 3 -> 1
  auto ws = run(ref, binary_image({1, 1, 1, 1, 1, 0, 1, 1, 1}));
  CHECK(ws.activations(ap) == std::vector<std::uint8_t>{0, 1, 1, 1});
  CHECK(ws.counts()[0] == 3);
}

TEST_CASE("reference: dense layer over a flattened conv map uses (c, y, x) order") {
  builder b;
  b.input(2, 1, 2);  // channels 0,1 of a 1x2 image -> 2 channels (1 level)
  b.flatten("f");
  // weights over flat index (c,y,x): [c0x0, c0x1, c1x0, c1x1]
  b.dense("d", 2, {1, 0, 0, 0, 0, 0, 0, 1});
  auto act = b.threshold("a", {1, 1});
  b.output(2, {0, 1});
  const auto net = b.done();
  reference_net ref(net);
  CHECK(run(ref, {255, 0, 0, 0}).activations(act) == std::vector<std::uint8_t>{1, 0});
  CHECK(run(ref, {0, 0, 0, 255}).activations(act) == std::vector<std::uint8_t>{0, 1});
}

TEST_CASE("reference: negative batch-norm scale flips the comparison") {
  // Dense neuron with weights +1,+1,+1 over 3 pixels; BN with gamma < 0 folds
  // into sign -1: y = -(x - 1.5) >= 0 fires iff x <= 1.
  const auto f = fold_batch_norm({.gamma = -1.0, .beta = 0.0, .mean = 1.5, .var = 1.0, .eps = 0.0}, 3);
  CHECK(f == folded_threshold{-1, -1});
  builder b;
  b.input(1, 1, 3);
  b.flatten("f");
  b.dense("d", 1, {1, 1, 1});
  auto act = b.threshold("a", {f.threshold}, {f.sign});
  b.output(1, {0});
  const auto net = b.done();
  reference_net ref(net);
  CHECK(run(ref, {0, 0, 0}).activations(act)[0] == 1);
  CHECK(run(ref, {255, 0, 0}).activations(act)[0] == 1);
  CHECK(run(ref, {255, 255, 0}).activations(act)[0] == 0);
  CHECK(run(ref, {255, 255, 255}).activations(act)[0] == 0);
}

TEST_CASE("reference: output counts per class; ties go to the lowest class") {
  builder b;
  b.input(1, 1, 4);
  b.flatten("f");
  b.output(2, {1, 1, 0, 0});
  const auto net = b.done();
  reference_net ref(net);
  auto ws = run(ref, {255, 255, 255, 0});
  CHECK(ws.counts()[0] == 1);
  CHECK(ws.counts()[1] == 2);
  CHECK(ws.predicted() == 1);
  ws = run(ref, {255, 0, 255, 0});
  CHECK(ws.counts()[0] == ws.counts()[1]);
  CHECK(ws.predicted() == 0);
  ws = run(ref, {0, 0, 0, 0});
  CHECK(ws.predicted() == 0);
}

TEST_CASE("reference: concat joins the channels of two branches") {
  // Two branches of equal size: a 1x1 max pool and a 1x1 average pool of the input.
  builder d;
  auto din = d.input(1, 2, 2);
  auto b1 = d.pool("b1", pool_kind::max, 1, 1, 0, 1);
  auto b2 = d.add("b2", pool_op{pool_kind::average, 1, 1, 1, 1, 0, 0, 1}, {din});
  auto cat = d.add("cat", concat_op{}, {b1, b2});
  d.flatten("f");
  d.output(2, {0, 0, 0, 0, 1, 1, 1, 1});
  const auto net = d.done();
  CHECK(net[cat].shape == tensor_shape{2, 2, 2});
  reference_net ref(net);
  auto ws = run(ref, {255, 0, 0, 255});
  CHECK(ws.activations(cat) == std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0, 0, 1});
  CHECK(ws.counts()[0] == 2);
  CHECK(ws.counts()[1] == 2);
}

TEST_CASE("reference: random networks agree with the naive forward pass on every layer") {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 60; ++trial) {
    CAPTURE(trial);
    const auto net = nmc::test::random_network(rng, 1 << 20);
    const auto& img = net[net.input()].as<input_op>().image;
    reference_net ref(net);
    auto ws = ref.make_workspace();
    for (int frame = 0; frame < 5; ++frame) {
      std::vector<std::uint8_t> px(static_cast<std::size_t>(img.size()));
      for (auto& p : px) p = static_cast<std::uint8_t>(rng() & 0xff);
      ref.run(px, ws);
      const auto naive = nmc::test::naive_forward(net, px);
      for (std::size_t i = 0; i < net.size(); ++i) {
        const layer& l = net.layers()[i];
        if (l.value != value_kind::binary || l.is<output_op>()) continue;
        const auto got = ws.activations(layer_id(static_cast<std::uint32_t>(i)));
        const std::vector<std::uint8_t> want(naive.values[i].begin(), naive.values[i].end());
        CAPTURE(l.name);
        REQUIRE(got == want);
      }
      REQUIRE(std::vector<int>(ws.counts().begin(), ws.counts().end()) == naive.counts);
    }
  }
}
