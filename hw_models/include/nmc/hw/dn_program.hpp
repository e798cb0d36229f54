#pragma once
// A compiled DANNA-style grid program: the contract between the grid compiler
// and the grid simulator. It lists every configured element (neuron or
// synapse) with the neighbours it listens to, the input ports (elements that
// receive external values), the output ports, the timing of the pipeline and
// the embedded model (Eedn) or network (TENNLab) it came from.
//
// Element semantics (docs/HARDWARE.md 2.1, cycle by cycle): a value an element
// emits in cycle t is seen by its listeners in cycle t + 1 (+ the tile
// crossing latency if the link crosses a tile boundary). A synapse sums what
// it sees in cycle t, multiplies by its weight and emits the product in cycle
// t + delay - 1. A neuron adds what it sees (plus injected input) to its
// charge, clamps it to [charge_min, charge_max], fires (emits 1) in the same
// cycle if charge >= threshold and resets to 0; with leak `reset` the charge is
// cleared every cycle (Eedn's stateless neurons), with `none` it is kept.
//
// File format: "NMCDNPRG" magic, u32 version, u64 payload size, u64 FNV-1a
// checksum of the payload, then the little-endian payload.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nmc/hw/danna.hpp>

namespace nmc::hw {

inline constexpr std::uint32_t dn_program_version = 2;

enum class element_kind : std::uint8_t { neuron = 1, synapse = 2 };
enum class leak_kind : std::uint8_t { none = 0, reset = 1 };
// What the program computes: an Eedn classifier over image frames (one frame
// per cycle, pipelined) or a TENNLab network driven by input spikes.
enum class dn_mode : std::uint8_t { frames = 0, spikes = 1 };

struct dn_element {
  std::uint32_t x = 0, y = 0;      // grid position
  element_kind kind = element_kind::synapse;
  std::uint16_t listen = 0;        // bit k: listens to neighbour offset k of the target
  std::int16_t weight = 1;         // synapse
  std::uint8_t delay = 1;          // synapse, cycles
  std::int32_t threshold = 1;      // neuron
  std::int32_t charge_min = 0;     // neuron: charge floor (>= -charge_max - 1)
  leak_kind leak = leak_kind::reset;  // neuron
  std::uint32_t layer = 0;         // index into dn_program::layers (reports)

  bool operator==(const dn_element&) const = default;
};

struct dn_port {
  std::uint32_t element = 0;  // index into dn_program::elements (a neuron)
  std::int32_t cls = -1;      // outputs: class it votes for (-1: none)
  // outputs: cycles from a frame's first cycle to this port's neuron firing for it; frames-mode inputs:
  // the cycle, counted from the frame's first, at which the port's bit is injected
  std::int32_t offset = 0;
  // frames-mode inputs: the encoded input bit this port receives. Several ports may receive one bit (the
  // host delivers it to each, as it delivers an input spike to every axon that needs it on TrueNorth).
  std::int32_t bit = -1;
  bool operator==(const dn_port&) const = default;
};

struct dn_program {
  dn_mode mode = dn_mode::frames;
  std::uint64_t model_hash = 0;
  std::string model_name;
  std::string model_text;   // frames: the model in nmc YAML; spikes: the TENNLab JSON
  std::string target_text;  // the grid description it was compiled for
  danna_target target;      // parsed from target_text on load
  // frames: thermometer code as in tn_program; input port i = encoded bit i.
  std::uint32_t image_channels = 0, image_height = 0, image_width = 0;
  std::vector<std::int32_t> thermometer;
  std::uint32_t classes = 0;
  std::uint32_t cycles_per_tick = 1;  // spikes: grid cycles per network time step
  std::uint32_t latency_cycles = 0;   // frames: input to last output
  std::vector<dn_port> inputs;
  std::vector<dn_port> outputs;
  std::vector<std::string> layers;
  std::string report_json;  // the compiler's placement and routing report
  std::vector<dn_element> elements;

  bool operator==(const dn_program&) const = default;
};

// Checks every field against the target: positions, uniqueness, ranges,
// port indices, classes (every class has a port) and the timing (cycles per
// tick, latency and port offsets within what a path through the program's
// elements can take, so a run is bounded); the embedded model is checked by
// convert::verify_embedded_model. Throws internal_error when `compiled` (a compiler bug) or model_error.
void verify_program(const dn_program& p, bool compiled = true);

std::string serialize(const dn_program& p);
dn_program deserialize_dn(const std::string& bytes, const std::string& source);
void write_program(const std::filesystem::path& path, const dn_program& p);
dn_program read_dn_program(const std::filesystem::path& path);

// True if `bytes` start with the grid program magic.
bool is_dn_program(const std::string& first_bytes);

}  // namespace nmc::hw
