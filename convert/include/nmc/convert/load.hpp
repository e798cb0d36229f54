#pragma once
// One entry point that reads any supported model file into the verified IR,
// choosing the reader by file extension.

#include <filesystem>

#include <nmc/model/network.hpp>

namespace nmc::convert {

// Reads a model (.yaml/.yml: native format). Throws model_error/io_error with
// the file name and the supported formats if it cannot.
model::network load_model(const std::filesystem::path& path);

}  // namespace nmc::convert
