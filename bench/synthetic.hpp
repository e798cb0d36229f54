#pragma once
// Seeded synthetic Eedn networks for benchmarks: realistic layer shapes with
// random trinary weights and thresholds near the middle of each neuron's range,
// so activity stays in the 10-50 % band of trained networks.

#include <cstdint>
#include <random>

#include <fmt/format.h>

#include <nmc/model/network.hpp>
#include <nmc/model/verify.hpp>

namespace nmc::bench {

struct conv_spec {
  int out, kernel, stride, pad, groups;
};

inline model::network synthetic_network(const std::vector<conv_spec>& convs, int classes,
                                        std::uint32_t seed) {
  using namespace nmc::model;
  std::mt19937 rng(seed);
  network net;
  net.name = "synthetic";
  auto add = [&](std::string name, layer_op op) {
    layer l;
    l.name = std::move(name);
    if (net.size() > 0) l.inputs = {layer_id(static_cast<std::uint32_t>(net.size() - 1))};
    l.op = std::move(op);
    return net.add(std::move(l));
  };
  add("input", input_op{{1, 28, 28}, {{32, 96, 160, 224}}});
  int channels = 4, size = 28;
  for (std::size_t i = 0; i < convs.size(); ++i) {
    const auto& c = convs[i];
    conv2d_op op{c.out, c.kernel, c.kernel, c.stride, c.stride, c.pad, c.pad, c.groups, {}};
    const int fan = c.kernel * c.kernel * channels / c.groups;
    op.weights.resize(static_cast<std::size_t>(c.out) * fan);
    std::uniform_int_distribution<int> w(-1, 1);
    for (auto& v : op.weights) v = static_cast<std::int8_t>(w(rng));
    add(fmt::format("conv{}", i + 1), op);
    std::uniform_int_distribution<int> t(-2, 2);
    threshold_op th;
    for (int o = 0; o < c.out; ++o) th.threshold.push_back(t(rng)), th.sign.push_back(1);
    add(fmt::format("act{}", i + 1), th);
    channels = c.out;
    size = (size + 2 * c.pad - c.kernel) / c.stride + 1;
  }
  const int neurons = channels * size * size;
  output_op out{classes, {}};
  for (int i = 0; i < neurons; ++i) out.class_of.push_back(i * classes / neurons);
  add("output", out);
  check(net);
  return net;
}

// The one-chip network `k` times as wide: every layer has k times the
// channels and k times the groups (the first conv keeps one group), so the
// fan-in, the activity and the per-core statistics stay those of the one-chip
// network while the cores grow about k-fold: k chips' worth.
// Past 58 times, the last layer's 1024 k neurons would be more than a
// program's 65,535 output ports: a 1x1 grouped layer reads them out, 128
// inputs per neuron (8 k neurons).
inline model::network chips_network(int k, std::uint32_t seed = 1) {
  std::vector<conv_spec> convs = {{48 * k, 3, 1, 1, 1},          {96 * k, 3, 2, 1, 8 * k},
                                  {192 * k, 3, 1, 1, 16 * k},    {256 * k, 3, 2, 1, 32 * k},
                                  {512 * k, 3, 1, 1, 32 * k},    {1024 * k, 7, 1, 0, 256 * k}};
  if (1024 * k > 60000) convs.push_back({8 * k, 1, 1, 0, 8 * k});
  return synthetic_network(convs, 10, seed);
}

// The size of a one-chip Eedn network: six trinary conv layers with fan-in
// <= 128 that compile onto most of one 4096-core chip.
inline model::network one_chip_network(std::uint32_t seed = 1) { return chips_network(1, seed); }

}  // namespace nmc::bench
