// libFuzzer target: the native YAML model reader. Any input must give a
// network or an nmc::error, never a crash, a hang or another exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nmc::convert::parse_yaml_model(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const nmc::error&) {
  }
  return 0;
}
