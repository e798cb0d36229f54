#pragma once
// Shared test inputs: a small Eedn network that exercises conv (stride,
// padding, negative sign), max pool, flatten and dense on both targets, and
// frames of random pixels shaped for a network's input.

#include <cstdint>
#include <random>

#include <nmc/model/network.hpp>
#include <nmc/runtime/dataset.hpp>

namespace nmc::test {

// 1 x 6 x 6 image, 2 levels, conv 3x3 (2 filters, stride 2), max pool,
// dense 8 -> 4, two classes.
inline constexpr const char* small_eedn_yaml = R"(format: nmc-model/1
name: small
layers:
  - {name: input, type: input, shape: [1, 6, 6], levels: [80, 170]}
  - name: conv
    type: conv2d
    out_channels: 2
    kernel: 3
    padding: 1
    stride: 2
    weights: "+0-+-0+0+-+0-0+-0+ 0+-0+-+0-+0-+0-+0-"
  - {name: act, type: threshold, threshold: [1, 0], sign: [1, -1]}
  - {name: pool, type: max_pool, kernel: 2, stride: 1}
  - {name: flat, type: flatten}
  - name: fc
    type: dense
    out_features: 4
    weights: "+-+0-+0+ -+0+-0+- ++--0+-0 0-+-+0+-"
  - {name: act2, type: threshold, threshold: [1, 0, 2, -1], sign: [1, 1, 1, -1]}
  - {name: out, type: output, classes: 2, class_of: [0, 1, 0, 1]}
)";

inline runtime::dataset random_frames(const model::network& net, std::size_t frames, std::mt19937& rng) {
  const auto& img = net[net.input()].as<model::input_op>().image;
  runtime::dataset d;
  d.name = "random";
  d.channels = img.channels, d.height = img.height, d.width = img.width;
  d.frames = frames;
  d.pixels.resize(frames * d.pixels_per_frame());
  for (auto& p : d.pixels) p = static_cast<std::uint8_t>(rng() & 0xff);
  d.labels.assign(frames, 0);
  return d;
}

inline runtime::dataset random_frames(const model::network& net, std::size_t frames, unsigned seed) {
  std::mt19937 rng(seed);
  return random_frames(net, frames, rng);
}

}  // namespace nmc::test
