// libFuzzer target: the program file loader (header, checksum, payload,
// embedded target, structural verification).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nmc::hw::deserialize(std::string(reinterpret_cast<const char*>(data), size), "fuzz.nmc");
  } catch (const nmc::error&) {
  }
  return 0;
}
