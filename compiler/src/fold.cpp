#include <nmc/model/fold.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::model {

namespace {

// `fires` is monotone in x: increasing if `increasing`, else decreasing, and
// switches near `crossing`. Finds the integer form sign * x >= threshold.
folded_threshold fold_monotone(const std::function<bool(double)>& fires, bool increasing, double crossing,
                               int fan_in) {
  const std::int32_t never = fan_in + 1, always = -fan_in;
  const std::int8_t sign = increasing ? 1 : -1;
  if (!std::isfinite(crossing) || crossing > fan_in + 2.0 || crossing < -fan_in - 2.0) {
    // Far outside the reachable sums: the neuron is constant.
    return {sign, fires(increasing ? fan_in : -fan_in) ? always : never};
  }
  const auto lo = static_cast<std::int64_t>(std::floor(crossing)) - 2;
  const auto hi = static_cast<std::int64_t>(std::ceil(crossing)) + 2;
  std::int64_t threshold = 0;
  if (increasing) {
    threshold = hi + 1;  // smallest integer x that fires
    for (std::int64_t x = lo; x <= hi + 1; ++x) {
      if (fires(static_cast<double>(x))) {
        threshold = x;
        break;
      }
    }
  } else {
    std::int64_t u = lo - 1;  // largest integer x that fires: spike iff -x >= -u
    for (std::int64_t x = hi; x >= lo - 1; --x) {
      if (fires(static_cast<double>(x))) {
        u = x;
        break;
      }
    }
    threshold = -u;
  }
  threshold = std::clamp<std::int64_t>(threshold, always, never);
  return {sign, static_cast<std::int32_t>(threshold)};
}

}  // namespace

folded_threshold fold_batch_norm(const batch_norm& bn, int fan_in) {
  if (fan_in < 0) throw internal_error(fmt::format("fold_batch_norm: fan-in {} < 0", fan_in));
  if (!(bn.var + bn.eps > 0.0) || !std::isfinite(bn.gamma) || !std::isfinite(bn.beta) ||
      !std::isfinite(bn.mean) || !std::isfinite(bn.bias)) {
    throw model_error(fmt::format(
        "batch norm parameters are not usable (gamma {}, beta {}, mean {}, var {}, eps {})",
        bn.gamma, bn.beta, bn.mean, bn.var, bn.eps));
  }
  const double scale = bn.gamma / std::sqrt(bn.var + bn.eps);
  auto fires = [&](double x) { return scale * (x + bn.bias - bn.mean) + bn.beta >= 0.0; };
  if (scale == 0.0) return {1, fires(0.0) ? -fan_in : fan_in + 1};
  return fold_monotone(fires, scale > 0, bn.mean - bn.bias - bn.beta / scale, fan_in);
}

folded_threshold fold_affine_step(double a, double b, compare_op op, double c, int fan_in) {
  if (fan_in < 0) throw internal_error(fmt::format("fold_affine_step: fan-in {} < 0", fan_in));
  if (!std::isfinite(a) || !std::isfinite(b) || !std::isfinite(c)) {
    throw model_error(fmt::format("the step compares {} * x + {} with {}: not finite", a, b, c));
  }
  auto fires = [&](double x) {
    const double y = a * x + b;
    switch (op) {
      case compare_op::ge: return y >= c;
      case compare_op::gt: return y > c;
      case compare_op::le: return y <= c;
      case compare_op::lt: return y < c;
    }
    return false;
  };
  if (a == 0.0) return {1, fires(0.0) ? -fan_in : fan_in + 1};
  const bool up = op == compare_op::ge || op == compare_op::gt;
  return fold_monotone(fires, (a > 0) == up, (c - b) / a, fan_in);
}

}  // namespace nmc::model
