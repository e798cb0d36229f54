#pragma once
// One entry point that reads any supported model file into the verified IR,
// choosing the reader by file extension.

#include <filesystem>

#include <nmc/model/network.hpp>

namespace nmc::convert {

struct import_options;

// Reads a model (.yaml/.yml: native format; .onnx: the Eedn ONNX profile).
// Throws model_error/io_error with the file name and the supported formats.
model::network load_model(const std::filesystem::path& path);
model::network load_model(const std::filesystem::path& path, const import_options& opts);

}  // namespace nmc::convert
