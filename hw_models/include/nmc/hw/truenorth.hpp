#pragma once
// The TrueNorth-style target description (docs/HARDWARE.md section 1), loaded from
// YAML (hw_models/targets/truenorth.yaml is the shipped default). Hardware
// parameters are data: nothing below is hard-coded elsewhere.

#include <filesystem>
#include <string>

namespace nmc::hw {

struct truenorth_target {
  int cores_x = 0, cores_y = 0;
  int chips_x = 0, chips_y = 0;
  int axons = 0, neurons = 0, axon_types = 0;
  int weight_min = 0, weight_max = 0;
  int leak_min = 0, leak_max = 0;
  int threshold_max = 0;
  int potential_bits = 0;
  int delay_min_ticks = 0, delay_max_ticks = 0;
  int reach_x_cores = 0, reach_y_cores = 0;
  double tick_period_ms = 0;
  double static_power_mw = 0;
  double synaptic_event_pj = 0;
  double neuron_update_pj = 0;
  double spike_hop_pj = 0;
  double chip_crossing_pj = 0;
  double offchip_spike_pj = 0;
  double static_power_voltage_v = 0;
  std::string source;  // the file it was loaded from

  bool operator==(const truenorth_target&) const = default;

  int cores_per_chip() const { return cores_x * cores_y; }
  int chips_per_board() const { return chips_x * chips_y; }
};

// How the compiler arranges `chips` chips, chip k at column k % x, row k / x:
// a near-square block (ceil(sqrt(chips)) across), so that the span a spike
// path may need grows as the square root of the chips. Up to one board's
// worth, the block is one the board holds (no wider than chips_x, no taller
// than chips_y); more chips are boards cabled side by side.
struct chip_arrangement {
  int x = 1, y = 1;
};
chip_arrangement chip_grid(int chips, const truenorth_target& t);

// Loads and validates a target file; throws config_error naming the file,
// line, key and allowed range.
truenorth_target load_truenorth(const std::filesystem::path& path);
truenorth_target parse_truenorth(const std::string& text, const std::string& source);

// The shipped default: $NMC_TARGETS_DIR/truenorth.yaml, else the copy in the
// source tree this nmc was built from (hw_models/targets).
std::filesystem::path default_truenorth_path();
truenorth_target default_truenorth();

// A readable multi-line description.
std::string describe(const truenorth_target& t);

}  // namespace nmc::hw
