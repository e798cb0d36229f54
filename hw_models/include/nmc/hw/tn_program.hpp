#pragma once
// A compiled TrueNorth-style program: the only contract between the compiler
// and the simulator. It holds, per core, the crossbar, axon types and the full
// neuron parameter set of docs/HARDWARE.md 1.2 (not only what Eedn uses), plus the
// input mapping (encoded input bit -> core/axon), the output mapping (off-chip
// port -> class), the source model's hash and text, and the target it was
// compiled for.
//
// File format: "NMCTNPRG" magic, u32 format version, u64 payload size, u64
// FNV-1a checksum of the payload, then the little-endian payload.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nmc/hw/truenorth.hpp>

namespace nmc::hw {

inline constexpr std::uint32_t tn_program_version = 1;

// The most ticks a frame may be presented for (tn_program::ticks_per_frame):
// 4 s at the 1 ms tick, far beyond the 1 tick of the compiler's pipelined
// programs and the tens of ticks of rate-coded TrueNorth networks; a larger
// value in a file would make a run of a test set effectively endless.
inline constexpr std::uint32_t max_ticks_per_frame = 4096;

enum class reset_mode : std::uint8_t { normal = 0, linear = 1, none = 2 };

// Where a neuron's spikes go.
enum class dest_kind : std::uint8_t { none = 0, core = 1, output = 2 };

struct tn_neuron {
  std::array<std::int16_t, 4> weight{};            // S_j[G], one per axon type
  std::array<std::uint8_t, 4> stochastic_weight{};  // b_j[G]
  std::int16_t leak = 0;                           // lambda, added every tick
  std::uint8_t stochastic_leak = 0;                // c_lambda
  std::uint8_t leak_reversal = 0;                  // epsilon
  std::int32_t threshold = 1;                      // alpha
  std::int32_t neg_threshold = 0;                  // beta
  std::uint8_t threshold_mask_bits = 0;            // TM
  reset_mode reset = reset_mode::normal;           // gamma
  std::uint8_t kappa = 1;
  std::int32_t reset_potential = 0;                // R
  std::int32_t initial_potential = 0;              // V0
  dest_kind dest = dest_kind::none;
  std::uint32_t dest_core = 0;  // program core index (dest_kind::core)
  std::uint16_t dest_axon = 0;  // axon (core) or output port (output)
  std::uint8_t delay_ticks = 1;

  bool operator==(const tn_neuron&) const = default;
};

struct tn_core {
  std::uint32_t chip = 0, x = 0, y = 0;  // placement: chip index, core position on the chip
  std::uint32_t layer = 0;               // index into tn_program::layers, for reports
  std::uint32_t seed = 0;                // per-core PRNG seed for the stochastic modes
  std::vector<std::uint8_t> axon_type;   // per axon, 0..3
  std::vector<std::uint64_t> crossbar;   // axons x (neurons / 64) words; bit j of row i = w[i][j]
  std::vector<tn_neuron> neurons;        // per neuron

  bool operator==(const tn_core&) const = default;
};

struct tn_input_target {
  std::uint32_t core = 0;
  std::uint16_t axon = 0;
  std::uint8_t tick_offset = 0;  // delivered at tick (frame + tick_offset)
  bool operator==(const tn_input_target&) const = default;
};

struct tn_program {
  std::uint64_t model_hash = 0;
  std::string model_name;
  std::string model_text;   // the source model in nmc's YAML format (for reference checks)
  std::string target_text;  // the target description it was compiled for (YAML)
  truenorth_target target;  // parsed from target_text on load
  std::uint32_t chips = 1;
  std::uint32_t chips_x = 1, chips_y = 1;  // chip arrangement

  // Input: the image is encoded by a thermometer code into input bits, index
  // (c * levels + k, y, x) flattened; bit i goes to input_targets[offsets[i] .. offsets[i+1]).
  std::uint32_t image_channels = 0, image_height = 0, image_width = 0;
  std::vector<std::int32_t> thermometer;
  std::vector<std::uint32_t> input_offsets;
  std::vector<tn_input_target> input_targets;

  // Output: port p counts for class output_class[p] (-1: does not vote).
  std::uint32_t classes = 0;
  std::vector<std::int32_t> output_class;
  std::uint32_t output_tick_offset = 0;  // a frame's class spikes arrive in tick frame + offset
  std::uint32_t ticks_per_frame = 1;
  std::uint32_t latency_ticks = 0;

  std::vector<std::string> layers;  // names for reports (layer index of tn_core)
  std::string report_json;          // the compiler's report (tilings, bounds, placement)
  std::vector<tn_core> cores;

  bool operator==(const tn_program&) const = default;
};

// Checks every field against the target: sizes, ranges, the chip arrangement,
// unique placements, valid destinations, the input and output maps (every
// class has a port) and the timing (ticks per frame, output tick offset and
// latency within what the program's layers and delays allow, so a run is
// bounded); the embedded model is checked by convert::verify_embedded_model.
// Throws internal_error
// when `compiled` (a bug in the compiler) or model_error otherwise, naming the
// core, neuron or axon.
void verify_program(const tn_program& p, bool compiled = true);

std::string serialize(const tn_program& p);
tn_program deserialize(const std::string& bytes, const std::string& source);

// Written atomically (temporary file + rename).
void write_program(const std::filesystem::path& path, const tn_program& p);
// Throws io_error/model_error naming the file for a corrupt, truncated or
// wrong-version file; never crashes on bad bytes.
tn_program read_program(const std::filesystem::path& path);

}  // namespace nmc::hw
