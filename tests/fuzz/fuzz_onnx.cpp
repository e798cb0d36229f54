// libFuzzer target: the ONNX importer.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/convert/onnx_import.hpp>
#include <nmc/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nmc::convert::parse_onnx(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
  } catch (const nmc::error&) {
  }
  return 0;
}
