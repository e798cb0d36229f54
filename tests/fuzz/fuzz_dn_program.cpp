// libFuzzer target: the grid program loader (header, checksum, payload,
// embedded grid description, structural verification).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/error.hpp>
#include <nmc/hw/dn_program.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nmc::hw::deserialize_dn(std::string(reinterpret_cast<const char*>(data), size), "fuzz.dn");
  } catch (const nmc::error&) {
  }
  return 0;
}
