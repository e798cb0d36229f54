#pragma once
// The DANNA-style grid target description (docs/HARDWARE.md section 2.1), loaded
// from YAML (hw_models/targets/danna.yaml is the shipped default). A grid is
// tiles_x x tiles_y tiles of tile_w x tile_h elements; every element is a
// neuron, a synapse or unused and listens to a subset of its neighbours.

#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace nmc::hw {

struct danna_target {
  int tile_w = 0, tile_h = 0;
  int tiles_x = 0, tiles_y = 0;
  std::vector<std::array<int, 2>> neighbours;  // (dx, dy) an element may listen to
  int value_bits = 0;
  int weight_min = 0, weight_max = 0;
  int threshold_bits = 0;
  int charge_bits = 0;
  int delay_min_cycles = 0, delay_max_cycles = 0;
  double cycle_ns = 0;
  int tile_crossing_cycles = 0;
  double synapse_activation_pj = 0;
  double neuron_accumulate_pj = 0;
  double fire_pj = 0;
  double hop_pj = 0;
  double tile_crossing_pj = 0;
  double static_per_element_cycle_pj = 0;
  std::string source;

  bool operator==(const danna_target&) const = default;

  int width() const { return tile_w * tiles_x; }
  int height() const { return tile_h * tiles_y; }
  long long elements() const { return static_cast<long long>(width()) * height(); }
  int tiles() const { return tiles_x * tiles_y; }
  int value_max() const { return (1 << (value_bits - 1)) - 1; }
  int threshold_max() const { return (1 << (threshold_bits - 1)) - 1; }
  int charge_max() const { return (1 << (charge_bits - 1)) - 1; }
};

// Throws config_error naming the file, line, key and allowed range.
danna_target parse_danna(const std::string& text, const std::string& source);
danna_target load_danna(const std::filesystem::path& path);
// $NMC_TARGETS_DIR/danna.yaml, else the source tree's hw_models/targets.
std::filesystem::path default_danna_path();

std::string describe(const danna_target& t);

// The description `text` with another geometry (tile size and tile count),
// as YAML text to embed in a program; throws config_error like parse_danna.
std::string with_geometry(const std::string& text, const std::string& source, int tile_w, int tile_h, int tiles_x,
                          int tiles_y);

}  // namespace nmc::hw
