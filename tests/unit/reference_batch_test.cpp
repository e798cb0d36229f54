// reference_net::run_batch (bit-sliced across frames) against run() and the
// naive forward pass of tests/common/builders.hpp, with every kernel this CPU
// has: counts, predicted classes and every binary activation.
#include <filesystem>
#include <random>

#include <doctest/doctest.h>

#include <nmc/convert/load.hpp>
#include <nmc/model/reference.hpp>
#include <nmc/runtime/dataset.hpp>

#include "common/builders.hpp"
#include "common/fashion_mnist.hpp"

using namespace nmc;
using namespace nmc::model;
using nmc::test::builder;

namespace {

std::vector<batch_kernel> kernels() {
  std::vector<batch_kernel> v;
  for (auto k : {batch_kernel::portable, batch_kernel::avx2, batch_kernel::avx512})
    if (supported(k)) v.push_back(k);
  return v;
}

const char* name(batch_kernel k) {
  switch (k) {
    case batch_kernel::portable:
      return "portable";
    case batch_kernel::avx2:
      return "avx2";
    case batch_kernel::avx512:
      return "avx512";
    default:
      return "best";
  }
}

std::vector<std::int32_t> batch_counts(const reference_net& ref, batch_workspace& ws,
                                       std::span<const std::uint8_t> px, std::size_t n) {
  std::vector<std::int32_t> counts(n * static_cast<std::size_t>(ref.classes()), -1);
  ref.run_batch(px, n, ws, counts);
  return counts;
}

std::vector<std::uint8_t> random_pixels(std::mt19937& rng, std::size_t bytes) {
  std::vector<std::uint8_t> px(bytes);
  for (auto& p : px) p = static_cast<std::uint8_t>(rng() & 0xff);
  return px;
}

// Every binary layer of frame `frame` of the last batch in `bws` equals the
// same layer after run() of that frame's pixels.
void check_activations(const network& net, const reference_net& ref, const batch_workspace& bws,
                       std::size_t frame, std::span<const std::uint8_t> px) {
  auto ws = ref.make_workspace();
  ref.run(px, ws);
  for (std::size_t i = 0; i < net.size(); ++i) {
    const layer& l = net.layers()[i];
    if (l.value != value_kind::binary || l.is<output_op>()) continue;
    const layer_id id(static_cast<std::uint32_t>(i));
    CAPTURE(l.name);
    REQUIRE(bws.activations(id, frame) == ws.activations(id));
  }
}

// run_batch on frames [0, n) of `px` equals run() frame by frame, for every
// kernel; the activations of the last batch match too (first, last and lane
// boundary frames).
void check_against_run(const network& net, std::span<const std::uint8_t> px, std::size_t n) {
  const reference_net ref(net);
  const std::size_t p = ref.pixels_per_frame(), classes = static_cast<std::size_t>(ref.classes());
  std::vector<std::int32_t> want;
  std::vector<int> want_class;
  auto ws = ref.make_workspace();
  for (std::size_t f = 0; f < n; ++f) {
    ref.run(px.subspan(f * p, p), ws);
    want.insert(want.end(), ws.counts().begin(), ws.counts().end());
    want_class.push_back(ws.predicted());
  }
  for (auto k : kernels()) {
    CAPTURE(name(k));
    CAPTURE(n);
    auto bws = ref.make_batch_workspace(k);
    CHECK(bws.kernel() == k);
    const auto got = batch_counts(ref, bws, px.first(n * p), n);
    REQUIRE(got == want);
    for (std::size_t f = 0; f < n; ++f)
      REQUIRE(predicted_class(std::span(got).subspan(f * classes, classes)) == want_class[f]);
    const std::size_t last0 = (n - 1) / reference_net::batch_frames * reference_net::batch_frames;
    REQUIRE(bws.frames() == n - last0);
    for (std::size_t f :
         {std::size_t{0}, std::size_t{63}, std::size_t{64}, std::size_t{65}, bws.frames() - 1}) {
      if (f >= bws.frames()) continue;
      CAPTURE(f);
      check_activations(net, ref, bws, f, px.subspan((last0 + f) * p, p));
    }
  }
}

}  // namespace

TEST_CASE(
    "reference: run_batch equals run on the shipped models, for batch and partial-batch sizes" *
    doctest::skip(!nmc::test::have_fashion_mnist())) {
  const std::filesystem::path dir = NMC_SOURCE_DIR;
  auto data = runtime::load_dataset("fashion-mnist:test");
  runtime::limit_frames(data, 700);
  for (const char* model : {"models/fmnist_1chip.onnx", "models/fmnist_small.onnx"}) {
    CAPTURE(model);
    const auto net = convert::load_model(dir / model);
    for (std::size_t n : {1, 63, 65, 130, 700}) check_against_run(net, data.pixels, n);
    // Frames from the middle of the set, so batches do not always start at frame 0.
    check_against_run(net, std::span(data.pixels).subspan(333 * data.pixels_per_frame()), 300);
  }
}

TEST_CASE("reference: run_batch equals run on the example models") {
  const std::filesystem::path dir = NMC_SOURCE_DIR;
  std::mt19937 rng(7);
  for (const char* model : {"examples/all_layers.yaml", "examples/tiny_fmnist.yaml"}) {
    CAPTURE(model);
    const auto net = convert::load_model(dir / model);
    const auto px = random_pixels(
        rng, 600 * static_cast<std::size_t>(net[net.input()].as<input_op>().image.size()));
    check_against_run(net, px, 600);
  }
}

TEST_CASE(
    "reference: run_batch agrees with the naive forward pass on random networks, every layer and "
    "frame") {
  std::mt19937 rng(4242);
  for (int trial = 0; trial < 40; ++trial) {
    CAPTURE(trial);
    const auto net = nmc::test::random_network(rng, 1 << 20);
    const auto p = static_cast<std::size_t>(net[net.input()].as<input_op>().image.size());
    const reference_net ref(net);
    const std::size_t n = trial % 5 == 0 ? 520 : 1 + rng() % 130;
    CAPTURE(n);
    const auto px = random_pixels(rng, n * p);
    for (auto k : kernels()) {
      CAPTURE(name(k));
      auto bws = ref.make_batch_workspace(k);
      const auto counts = batch_counts(ref, bws, px, n);
      const std::size_t last0 = n > reference_net::batch_frames ? reference_net::batch_frames : 0;
      for (std::size_t f = 0; f < n; ++f) {
        CAPTURE(f);
        const std::vector<std::uint8_t> frame(
            px.begin() + static_cast<std::ptrdiff_t>(f * p),
            px.begin() + static_cast<std::ptrdiff_t>((f + 1) * p));
        const auto naive = nmc::test::naive_forward(net, frame);
        const auto classes = naive.counts.size();
        REQUIRE(std::vector<int>(counts.begin() + static_cast<std::ptrdiff_t>(f * classes),
                                 counts.begin() + static_cast<std::ptrdiff_t>((f + 1) * classes)) ==
                naive.counts);
        if (f < last0) continue;  // activations are kept for the last batch only
        for (std::size_t i = 0; i < net.size(); ++i) {
          const layer& l = net.layers()[i];
          if (l.value != value_kind::binary || l.is<output_op>()) continue;
          CAPTURE(l.name);
          const std::vector<std::uint8_t> want(naive.values[i].begin(), naive.values[i].end());
          REQUIRE(bws.activations(layer_id(static_cast<std::uint32_t>(i)), f - last0) == want);
        }
      }
    }
  }
}

TEST_CASE(
    "reference: run_batch thresholds at the edges: exact sums, all-negative, zero weights, both "
    "signs") {
  // Ten binary pixels; every one of the 1024 patterns is a frame (two batches).
  // Neurons: for each weight vector and sign, every threshold the verifier
  // allows (-10..11), so some frames sit exactly at every threshold.
  const std::vector<std::vector<std::int8_t>> weight_sets = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1},  {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0},  {1, -1, 0, 1, -1, 0, 1, -1, 0, 1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, -1}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  std::vector<std::int8_t> weights;
  std::vector<std::int32_t> thresholds;
  std::vector<std::int8_t> signs;
  for (const auto& w : weight_sets)
    for (int sign : {1, -1})
      for (int t = -10; t <= 11; ++t) {
        weights.insert(weights.end(), w.begin(), w.end());
        thresholds.push_back(t);
        signs.push_back(static_cast<std::int8_t>(sign));
      }
  const int neurons = static_cast<int>(thresholds.size());
  builder b;
  b.input(1, 1, 10);
  b.flatten("f");
  b.dense("d", neurons, weights);
  const auto act = b.threshold("a", thresholds, signs);
  b.output(2, nmc::test::populations(neurons, 2));
  const auto net = b.done();
  std::vector<std::uint8_t> px;
  for (int frame = 0; frame < 1024; ++frame)
    for (int i = 0; i < 10; ++i) px.push_back((frame >> i) & 1 ? 255 : 0);
  check_against_run(net, px, 1024);
  const reference_net ref(net);
  for (auto k : kernels()) {
    CAPTURE(name(k));
    auto bws = ref.make_batch_workspace(k);
    batch_counts(ref, bws, std::span(px).subspan(512 * 10), 512);
    for (std::size_t f = 0; f < 512; ++f) {
      const std::vector<std::uint8_t> frame(
          px.begin() + static_cast<std::ptrdiff_t>((512 + f) * 10),
          px.begin() + static_cast<std::ptrdiff_t>((513 + f) * 10));
      const auto naive = nmc::test::naive_forward(net, frame);
      const std::vector<std::uint8_t> want(naive.values[act.index()].begin(),
                                           naive.values[act.index()].end());
      REQUIRE(bws.activations(act, f) == want);
    }
  }
}

TEST_CASE(
    "reference: run_batch puts every frame in its own lane, in partial batches and after larger "
    "ones") {
  // Sixteen pixels spell the frame number in binary; class i counts pixel i,
  // so frame f's counts are f's bits: a lane off by one, a word off by one or
  // a stale lane from an earlier batch shows as a wrong frame number.
  builder b;
  b.input(1, 1, 16);
  b.flatten("f");
  std::vector<std::int32_t> class_of(16);
  for (int i = 0; i < 16; ++i) class_of[static_cast<std::size_t>(i)] = i;
  b.output(16, class_of);
  const auto net = b.done();
  const reference_net ref(net);
  auto frames_from = [](std::size_t first, std::size_t n, bool all_ones) {
    std::vector<std::uint8_t> px;
    for (std::size_t f = first; f < first + n; ++f)
      for (int i = 0; i < 16; ++i) px.push_back(all_ones || ((f >> i) & 1) ? 255 : 0);
    return px;
  };
  for (auto k : kernels()) {
    CAPTURE(name(k));
    auto bws = ref.make_batch_workspace(k);
    for (std::size_t n : {1, 2, 63, 64, 65, 127, 128, 129, 511, 512, 513, 1100, 3}) {
      CAPTURE(n);
      // A full batch of ones first: lanes past n must not keep them.
      batch_counts(ref, bws, frames_from(0, 512, true), 512);
      const std::size_t first = 1000 + n;
      const auto counts = batch_counts(ref, bws, frames_from(first, n, false), n);
      for (std::size_t f = 0; f < n; ++f) {
        std::size_t got = 0;
        for (int i = 0; i < 16; ++i) {
          const auto c = counts[f * 16 + static_cast<std::size_t>(i)];
          REQUIRE((c == 0 || c == 1));
          got |= static_cast<std::size_t>(c) << i;
        }
        REQUIRE(got == first + f);
      }
      REQUIRE(bws.frames() == (n - 1) % reference_net::batch_frames + 1);
    }
  }
}

TEST_CASE("reference: run_batch encodes more than 8 thermometer levels (the general encoder)") {
  std::mt19937 rng(99);
  builder b;
  std::vector<int> levels;
  for (int k = 1; k <= 12; ++k) levels.push_back(k * 20);
  b.input(1, 6, 6, levels);
  std::vector<std::int8_t> w(6 * 4 * 9);
  for (auto& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng() % 3) - 1);
  b.conv("c", 6, 3, 1, 1, 3, w);
  b.threshold("a", {0, 1, 2, -1, 3, 1});
  b.flatten("f");
  b.output(2, nmc::test::populations(6 * 36, 2));
  const auto net = b.done();
  const auto px = random_pixels(rng, 600 * 36);
  check_against_run(net, px, 600);
}
