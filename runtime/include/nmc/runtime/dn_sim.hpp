#pragma once
// Cycle-by-cycle simulator of a DANNA-style grid program (element semantics
// in dn_program.hpp, docs/HARDWARE.md 2.1).
//
// One cycle: every element reads the values its neighbours emitted one cycle
// earlier (plus the tile-crossing latency on links that cross tiles) from an
// output history, then - in parallel over elements, each writing only its own
// state - a synapse sums, weights and emits its value (one of delay d > 1
// emits the value it queued d - 1 cycles ago, from a ring of d - 1 slots:
// most synapses have delay 1 and hold nothing), a neuron integrates, fires
// and resets. Reads come from older history
// slots than the one written, so the result does not depend on the order or
// the thread that ran an element: identical for any thread count. The loop
// does not allocate, lock, throw or print.
//
// Relay chains run as delay lines. A relay - a synapse of weight 1 with one
// source and one listener, not a port - emits its source's values `delay`
// (+ crossing latency) cycles later, unchanged, so a chain of them is a delay
// line: the chain's reader keeps the chain's first source's recent outputs in
// a buffer as long as the chain's delay and reads them from there, and the
// events the relays would have counted (one hop and one synapse activation per
// non-zero value read, tile crossings on crossing links) are counted from
// what went into the line and what is still in it. Every output, charge and
// count is the one stepping every element gives (tests compare both); laid-out
// models are mostly such wire (relays are 99 % of fmnist_small's elements on
// the stripes layout).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nmc/hw/dn_program.hpp>
#include <nmc/runtime/tn_sim.hpp>

namespace nmc::runtime {

struct dataset;

// Counted grid events. In the shared report fields: synaptic_events =
// synapse activations, neuron_updates = neuron accumulates, spikes = fires,
// hops = non-zero values read over links, chip_crossings = tile crossings,
// offchip_spikes = output port firings.
struct dn_sim_options {
  bool fold_relays = true;  // false: step every element, relays too (slow; checks the folding)
  // The simulator sizes its state before allocating it and refuses (fit_error with both numbers) when it
  // would need more than memory.bytes (0: no limit; resolve_memory_limit gives the CLI's).
  memory_limit memory{};
};

class dn_simulator {
public:
  dn_simulator(const hw::dn_program& program, int threads, const dn_sim_options& options = {});
  ~dn_simulator();
  dn_simulator(const dn_simulator&) = delete;
  dn_simulator& operator=(const dn_simulator&) = delete;

  // Adds `value` to the input of input port `port`'s neuron in the next step.
  void inject(std::uint32_t port, std::int32_t value = 1);
  void step();
  std::int64_t cycle() const;                 // cycles completed
  bool fired(std::uint32_t element) const;    // in the last step
  std::int32_t charge(std::uint32_t element) const;
  const std::vector<event_counts>& counts_per_layer() const;
  event_counts totals() const;
  std::size_t elements() const;          // in the program
  std::size_t stepped_elements() const;  // stepped one by one (the rest are relays in delay lines)

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

// Frames through an Eedn grid program, one frame per cycle (pipelined). The
// results carry the same fields as the TrueNorth runner (ticks = cycles).
frame_results run_dn_frames(const hw::dn_program& program, const dataset& data, int threads,
                            const std::function<bool(std::size_t)>& on_progress = {}, const dn_sim_options& options = {});

// A TENNLab program driven by input spikes at network time steps.
struct input_spike {
  std::int64_t tick = 0;
  std::uint32_t input = 0;
  std::int32_t value = 1;
};
struct spike_results {
  std::int64_t ticks = 0, cycles = 0;
  std::vector<std::int64_t> counts;                   // per output
  std::vector<std::vector<std::int64_t>> fire_ticks;  // per output: network time steps it fired in
  event_counts totals;
  std::vector<event_counts> per_layer;
};
// Reads "tick input [value]" lines ('#' comments); throws data_error naming
// the file and line.
std::vector<input_spike> parse_spike_file(const std::string& text, const std::string& source, std::size_t inputs);
spike_results run_dn_spikes(const hw::dn_program& program, const std::vector<input_spike>& spikes, std::int64_t ticks,
                            int threads, const dn_sim_options& options = {});

// Energy from the counted grid events and the target's constants.
energy_report dn_energy(const hw::dn_program& program, const std::vector<event_counts>& per_layer, std::int64_t cycles,
                        std::size_t frames);

}  // namespace nmc::runtime
