#pragma once
// Per-layer resource figures of a verified network, as `nmc inspect` shows them.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nmc/model/network.hpp>

namespace nmc::model {

struct layer_stats {
  std::string name;
  std::string kind;
  std::vector<std::string> inputs;
  tensor_shape shape;
  value_kind value = value_kind::binary;
  int fan_in = 0;                // inputs summed per neuron (conv/dense/pool)
  std::int64_t neurons = 0;      // neurons that compute this layer (conv/dense/pool)
  std::int64_t parameters = 0;   // weights + thresholds
  std::array<std::int64_t, 3> weights{};  // histogram of -1, 0, +1
  std::int64_t synapses = 0;     // non-zero weights times the positions they are used at
};

struct network_stats {
  std::vector<layer_stats> layers;
  std::int64_t neurons = 0;
  std::int64_t parameters = 0;
  std::array<std::int64_t, 3> weights{};
  std::int64_t synapses = 0;
};

// `net` must have passed check() (shapes are filled in).
network_stats compute_stats(const network& net);

}  // namespace nmc::model
