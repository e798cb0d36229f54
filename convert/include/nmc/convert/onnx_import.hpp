#pragma once
// ONNX import: the Eedn ONNX profile (convert/EEDN_ONNX_PROFILE.md) and the
// equivalent graphs a PyTorch export produces. Anything else is refused with
// the node's name, its op type and what is supported.

#include <filesystem>
#include <string>

#include <nmc/model/network.hpp>

namespace nmc::convert {

struct import_options {
  // Round non-trinary weights to -1/0/+1 (per output channel: zero below
  // 0.7 x mean |w|, the remaining magnitude folded into the threshold) instead
  // of refusing them.
  bool quantize = false;
};

model::network parse_onnx(const std::string& bytes, const std::string& source, const import_options& opts = {});
model::network read_onnx(const std::filesystem::path& path, const import_options& opts = {});

}  // namespace nmc::convert
