#pragma once
// Folding batch norm and the step activation into an integer threshold.
//
// An Eedn neuron computes y = gamma * (x + bias - mean) / sqrt(var + eps) + beta
// on the integer sum x of its trinary synapses and spikes iff y >= 0. Because x
// is an integer this is exactly  sign * x >= threshold  for integers sign and
// threshold; a negative scale (gamma < 0) flips the comparison (sign = -1),
// which the compiler realises by negating the neuron's weights. Thresholds are
// clamped into [-fan_in, fan_in + 1], which keeps constant neurons constant.

#include <cstdint>

namespace nmc::model {

struct batch_norm {
  double gamma = 1.0, beta = 0.0, mean = 0.0, var = 1.0, eps = 1e-5;
  double bias = 0.0;  // the preceding layer's bias, if it had one
};

struct folded_threshold {
  std::int8_t sign = 1;
  std::int32_t threshold = 0;
  bool operator==(const folded_threshold&) const = default;
};

folded_threshold fold_batch_norm(const batch_norm& bn, int fan_in);

// The general form: a neuron fires iff  (a * x + b) OP c  for its integer sum
// x, OP one of >=, >, <=, <. Returns the equivalent sign * x >= threshold
// (exact: the boundary is found by evaluating the comparison itself).
enum class compare_op { ge, gt, le, lt };
folded_threshold fold_affine_step(double a, double b, compare_op op, double c, int fan_in);

}  // namespace nmc::model
