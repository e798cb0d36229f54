#include <nmc/model/fold.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::model {

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
  const std::int32_t never = fan_in + 1, always = -fan_in;
  if (scale == 0.0) return {1, fires(0.0) ? always : never};

  // The crossing point, then the exact integer boundary by evaluating y itself
  // around it, so rounding in the division cannot shift the threshold by one.
  const double t = bn.mean - bn.bias - bn.beta / scale;
  const std::int8_t sign = scale > 0 ? 1 : -1;
  if (!std::isfinite(t) || t > fan_in + 2.0 || t < -fan_in - 2.0) {
    // Far outside the reachable sums: the neuron is constant.
    return {sign, fires(sign > 0 ? fan_in : -fan_in) ? always : never};
  }
  const auto lo = static_cast<std::int64_t>(std::floor(t)) - 2;
  const auto hi = static_cast<std::int64_t>(std::ceil(t)) + 2;
  std::int64_t threshold = 0;
  if (sign > 0) {
    // Smallest integer x with fires(x); fires is monotone increasing in x.
    threshold = hi + 1;
    for (std::int64_t x = lo; x <= hi + 1; ++x) {
      if (fires(static_cast<double>(x))) {
        threshold = x;
        break;
      }
    }
  } else {
    // Largest integer x with fires(x) is u; spike iff x <= u iff -x >= -u.
    std::int64_t u = lo - 1;
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

}  // namespace nmc::model
