#pragma once
// The state the TrueNorth compiler passes work on. Each pass reads what the
// earlier passes produced and fills its own part; verify_state() checks the
// invariants of every pass that has run, so a broken invariant fails in the
// pass that broke it.
//
// Vocabulary: a *unit* is a layer that owns neurons (a conv/dense layer with
// its threshold, a pooling layer, or a splitter that copies another unit's
// neurons). A *logical core* hosts some neurons of one unit; its axons carry
// the distinct inputs of those neurons, two axons per input for trinary
// weights (type 0 = -1, type 1 = +1) and one for pooling and splitters. A
// *slot* is one neuron of the physical core: a copy of a hosted neuron with
// exactly one destination.

#include <cstdint>
#include <string>
#include <vector>

#include <nmc/hw/tn_program.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/model/network.hpp>

namespace nmc::compiler {

struct options {
  int chips = 1;  // 0: as many as the model needs (the partition sets it)
  std::uint64_t seed = 1;
  double place_effort = 1.0;  // scales the annealing moves
  int max_copies = 0;         // copies of one neuron before splitters are used (0: neurons per core)
};

// The producer of a binary value: neuron `index` of unit `unit`, or input bit
// `index` when unit == -1.
struct source_ref {
  std::int32_t unit = -1;
  std::int32_t index = 0;
  auto operator<=>(const source_ref&) const = default;
};

enum class unit_kind { weighted, pool, splitter };

struct unit {
  std::string name;
  unit_kind kind = unit_kind::weighted;
  model::layer_id layer;    // the threshold or pool layer (splitter: the copied unit's layer)
  model::layer_id compute;  // the conv/dense layer (weighted), else == layer
  model::tensor_shape shape;
  int axons_per_input = 2;
  std::int32_t split_of = -1;            // splitter: the unit it copies
  std::vector<source_ref> split_source;  // splitter: neuron k copies split_source[k]
  // partition
  std::vector<std::int32_t> copies;   // per neuron: slots it needs (its fan-out)
  std::vector<std::int32_t> core_of;  // per neuron: hosting logical core (-1: dead)
  int tile_c = 0, tile_h = 0, tile_w = 0;
  std::int64_t lower_bound = 0;
  std::vector<std::int32_t> cores;
  // timing
  int time = 0;  // tick (relative to the frame) in which the unit's neurons fire
};

struct axon_in {
  source_ref src;     // what feeds the axon (a splitter may stand in for the origin)
  std::uint8_t type = 1;
  source_ref origin;  // the model's producer of the value the axon carries
};

struct slot {
  std::int32_t neuron = 0;     // unit-local neuron index
  bool output = false;         // to an off-chip output port
  std::int32_t dest_core = 0;  // logical core (or output port when `output`)
  std::int32_t dest_axon = 0;
  int delay = 1;
};

struct logical_core {
  std::int32_t unit = 0;
  std::vector<std::int32_t> neurons;  // hosted unit-local neuron indices
  std::vector<axon_in> axons;
  std::vector<slot> slots;
  std::int32_t chip = 0, x = 0, y = 0;  // placement (x, y on the chip)
};

struct input_target {
  std::int32_t core = 0, axon = 0;
};

struct route_stats {
  std::int64_t connections = 0;  // core-to-core spike paths (one per slot with a core destination)
  std::int64_t total_hops = 0;
  std::int64_t max_hops = 0;
  std::int64_t chip_crossings = 0;  // summed over connections
  std::int64_t crossing_connections = 0;
  double mean_hops = 0;
  double naive_mean_hops = 0;  // the same estimate for a layer-by-layer row-major placement
};

struct pass_time {
  std::string pass;
  double seconds = 0;
};

struct compile_state {
  const model::network* net = nullptr;  // verified
  hw::truenorth_target target;
  std::string target_text;
  std::string model_text;  // the model in nmc's YAML format, embedded in the program
  options opts;

  // validate
  std::vector<std::vector<source_ref>> sources;  // per model layer (binary): element -> producer
  std::vector<unit> units;                       // topological order; splitters appended
  std::vector<std::int32_t> order;               // units in dependency order (splitters after their unit)
  std::vector<source_ref> port_source;           // output port -> producing neuron
  std::vector<std::int32_t> port_class;
  // partition / fan-out
  std::vector<logical_core> cores;
  std::vector<std::vector<input_target>> input_targets;  // per input bit
  // timing
  int output_tick_offset = 0;
  int latency_ticks = 0;
  // place
  std::int32_t chips_x = 1, chips_y = 1;
  // route
  route_stats routes;
  // emit
  hw::tn_program program;

  std::vector<std::string> done;  // passes run so far
  std::vector<pass_time> times;

};

// Checks the invariants of every pass in state.done; throws internal_error.
void verify_state(const compile_state& s);

// A readable dump of the state after `pass` (for --dump-after).
std::string dump_state(const compile_state& s, const std::string& pass);

// Calls f(source, weight) for every input of neuron n of unit u (weight is the
// effective trinary weight with the threshold's sign folded in; +1 for pools
// and splitters). Zero weights are skipped for weighted units.
template <class F> void for_each_input(const compile_state& s, const unit& u, std::int32_t n, F&& f);

}  // namespace nmc::compiler

#include "state_inputs.inl"
