#pragma once
// The native model format: a small YAML file for hand-written networks.
//
//   format: nmc-model/1
//   name: tiny
//   layers:
//     - {name: in, type: input, shape: [1, 28, 28], levels: [64, 128, 192]}
//     - {name: c1, type: conv2d, out_channels: 4, kernel: 3, stride: 1, padding: 1,
//        groups: 1, weights: "+0-+..."}         # or a list of -1/0/1
//     - {name: a1, type: threshold, threshold: [1, 0, 2, 1], sign: [1, 1, -1, 1]}
//     - {name: p1, type: max_pool, kernel: 2, stride: 2}
//     - {name: o, type: output, classes: 2}     # contiguous class populations
//
// A layer reads the previous layer unless it names `input: NAME` or
// `inputs: [A, B]`. Weights are a list of integers or a string of '+', '-' and
// '0' (whitespace ignored), in PyTorch order. Errors name the file and line.

#include <filesystem>
#include <string>
#include <string_view>

#include <nmc/model/network.hpp>

namespace nmc::convert {

// Parses a model; `source` names the text in messages (usually the file path).
// The result has been through model::check().
model::network parse_yaml_model(std::string_view text, const std::string& source);
model::network read_yaml_model(const std::filesystem::path& path);

// Writes a model such that parse_yaml_model(to_yaml(net)) equals net.
std::string to_yaml(const model::network& net);
void write_yaml_model(const std::filesystem::path& path, const model::network& net);

}  // namespace nmc::convert
