#pragma once
// Shared by the structure-aware program fuzzers (fuzz_tn_fields.cpp,
// fuzz_dn_fields.cpp): the fuzzer's bytes are not a program but a list of
// field edits to a seed program, which is then serialized again with a valid
// checksum. Random bytes in a program file stop at the checksum; edits reach
// the verifier, and what passes it is simulated for a few frames to show that
// no verified program can crash or hang the simulator.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include <nmc/files.hpp>
#include <nmc/runtime/dataset.hpp>

namespace nmc::fuzz {

// The seed programs: committed files of the sibling loader's corpus.
inline std::string seed_file(const char* rel) { return read_file(std::string(NMC_SOURCE_DIR) + "/tests/fuzz/corpus/" + rel); }

// A value for a field: small, near a boundary, or any of the type's values.
template <typename T>
T edit_value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return static_cast<T>(in.ConsumeIntegralInRange<std::int64_t>(-2, 16));
    case 1: return static_cast<T>((std::uint64_t{1} << in.ConsumeIntegralInRange(0, 8 * static_cast<int>(sizeof(T)) - 1)) +
                                  static_cast<std::uint64_t>(in.ConsumeIntegralInRange<std::int64_t>(-1, 1)));
    default: return in.ConsumeIntegral<T>();
  }
}

// An index into a vector of `size` (one past it now and then), 0 when empty.
inline std::size_t edit_index(FuzzedDataProvider& in, std::size_t size) {
  return size == 0 ? 0 : in.ConsumeIntegralInRange<std::size_t>(0, size);
}

template <typename T, typename V>
void set_at(std::vector<T>& v, std::size_t i, V value) {
  if (i < v.size()) v[i] = static_cast<T>(value);
}

// `frames` frames of random pixels for a program's input.
inline runtime::dataset frames_for(std::uint32_t channels, std::uint32_t height, std::uint32_t width, std::size_t frames) {
  runtime::dataset d;
  d.name = "fuzz";
  d.channels = static_cast<int>(channels), d.height = static_cast<int>(height), d.width = static_cast<int>(width);
  d.frames = frames;
  d.pixels.resize(frames * d.pixels_per_frame());
  for (std::size_t i = 0; i < d.pixels.size(); ++i) d.pixels[i] = static_cast<std::uint8_t>(i * 37 + 11);
  d.labels.assign(frames, 0);
  return d;
}

// Bounded work: a verified program that simulated longer than its fields allow is a finding.
inline void expect_bounded(bool ok) {
  if (!ok) std::abort();
}

}  // namespace nmc::fuzz
