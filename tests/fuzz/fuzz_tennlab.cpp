// libFuzzer target: the TENNLab network JSON reader (JSON syntax, properties,
// nodes, edges, inputs/outputs, processor parameters).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/convert/tennlab.hpp>
#include <nmc/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nmc::convert::parse_tennlab(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
  } catch (const nmc::error&) {
  }
  return 0;
}
