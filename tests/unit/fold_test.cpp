#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include <nmc/error.hpp>
#include <nmc/model/fold.hpp>

using namespace nmc::model;

namespace {
bool fires_float(const batch_norm& bn, int x) {
  return bn.gamma * (x + bn.bias - bn.mean) / std::sqrt(bn.var + bn.eps) + bn.beta >= 0.0;
}
bool fires_folded(folded_threshold f, int x) { return f.sign * x >= f.threshold; }
}  // namespace

TEST_CASE("fold: positive scale gives x >= ceil(crossing)") {
  CHECK(fold_batch_norm({.gamma = 2.0, .beta = -1.0, .mean = 3.0, .var = 1.0, .eps = 0.0}, 10) ==
        folded_threshold{1, 4});  // 2(x-3)-1 >= 0 <=> x >= 3.5
  CHECK(fold_batch_norm({.gamma = 1.0, .beta = 0.0, .mean = 3.0, .var = 1.0, .eps = 0.0}, 10) ==
        folded_threshold{1, 3});  // boundary exactly on an integer: >= includes it
}

TEST_CASE("fold: negative scale flips to -x >= -floor(crossing)") {
  // -(x - 2.5) >= 0 <=> x <= 2 <=> -x >= -2
  CHECK(fold_batch_norm({.gamma = -1.0, .beta = 0.0, .mean = 2.5, .var = 1.0, .eps = 0.0}, 10) ==
        folded_threshold{-1, -2});
  // boundary on an integer: -(x - 2) >= 0 <=> x <= 2
  CHECK(fold_batch_norm({.gamma = -3.0, .beta = 0.0, .mean = 2.0, .var = 1.0, .eps = 0.0}, 10) ==
        folded_threshold{-1, -2});
}

TEST_CASE("fold: zero scale and far crossings give constant neurons within [-fan_in, fan_in+1]") {
  CHECK(fold_batch_norm({.gamma = 0.0, .beta = 0.5}, 7) == folded_threshold{1, -7});
  CHECK(fold_batch_norm({.gamma = 0.0, .beta = -0.5}, 7) == folded_threshold{1, 8});
  CHECK(fold_batch_norm({.gamma = 1.0, .beta = 0.0, .mean = 100.0}, 7).threshold == 8);
  CHECK(fold_batch_norm({.gamma = 1.0, .beta = 0.0, .mean = -100.0}, 7).threshold == -7);
}

TEST_CASE("fold: the folded neuron equals the float neuron on every reachable sum") {
  std::mt19937 rng(7);
  std::normal_distribution<double> n(0.0, 3.0);
  std::uniform_int_distribution<int> fan(1, 40);
  for (int trial = 0; trial < 2000; ++trial) {
    batch_norm bn{n(rng), n(rng), n(rng), std::abs(n(rng)) + 0.01, 1e-5, n(rng)};
    const int f = fan(rng);
    const auto folded = fold_batch_norm(bn, f);
    for (int x = -f; x <= f; ++x) {
      CAPTURE(trial);
      CAPTURE(x);
      REQUIRE(fires_float(bn, x) == fires_folded(folded, x));
    }
    CHECK(folded.threshold >= -f);
    CHECK(folded.threshold <= f + 1);
  }
}

TEST_CASE("fold: unusable parameters are a model error") {
  CHECK_THROWS_AS(fold_batch_norm({.gamma = 1.0, .var = -1.0, .eps = 0.0}, 3), nmc::model_error);
  CHECK_THROWS_AS(fold_batch_norm({.gamma = NAN}, 3), nmc::model_error);
}
