#pragma once
// The core engine of the TrueNorth simulator: lowering a program's core into
// the simulator's layout (layout.hpp), and the neuron equations of one core
// for one tick (docs/HARDWARE.md, "TrueNorth neuron"). The tick loop
// (tn_sim.cpp) calls update_core for each core it owns and knows no neuron
// equation itself.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nmc/hw/tn_program.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "layout.hpp"

namespace nmc::runtime::tn {

// Fixed for a simulation: the potential range, the delivery partitions and
// the kernels chosen.
struct engine_config {
  std::int64_t vmin = 0, vmax = 0;
  int parts = 1;
  bool avx512 = false;
  bool record = false;  // keep every firing in worker_io::fired
  bool bmi2 = false;
  bool avx2 = false;  // AVX2 kernels where AVX-512 is not used
  // Direct delivery (core_data::direct): the schedulers, and whether several
  // workers write them at once.
  std::uint64_t* sched = nullptr;
  std::size_t axon_words = 0;
  int slots = short_slots;  // per core's scheduler (scheduler_slots_for)
  bool ring = false;        // schedulers as axon rings (epoch_kernel.hpp): every core batched and direct
  bool atomic = false;
};

// What one worker writes while it updates cores: its spike buffers (one per
// delivery partition), its output spikes, its event counts per layer, its
// firings (with engine_config::record) and 256 sums of scratch.
struct worker_io {
  spike_buffer* spikes = nullptr;
  std::vector<output_spike>* outputs = nullptr;
  event_counts* counts = nullptr;
  std::vector<fired_neuron>* fired = nullptr;
  std::int32_t* input = nullptr;
};

// Whether core `ci` of `p` runs on the fast path (deterministic neurons, no
// leak reversal, 256 neurons, input sums that fit 16 bits), unless the
// simulation asks for the plain kernels.
bool takes_fast_path(const hw::tn_program& p, std::size_t ci);

// Lowers core `ci` of `p` into `c`: its crossbar is copied to `crossbar`
// (axons x neurons / 64 words), its parameters into the fast path's arrays
// where the core qualifies (never with `plain`).
void lower_core(const hw::tn_program& p, std::size_t ci, bool plain, int parts, std::uint64_t* crossbar,
                core_data& c);

// One tick of core `ci`: reads (and clears) its scheduler slot, integrates,
// updates every neuron and emits its spikes into `io`.
void update_core(core_data& c, std::uint32_t ci, std::uint64_t* slot, std::int64_t now, const engine_config& e,
                 worker_io& io);

// Ticks t0 .. t0 + ticks - 1 (ticks <= epoch_limit(e.slots)) of core `ci`, whose scheduler is
// `sched` (e.slots slots): at once on the epoch kernel if the core
// is batched (epoch_kernel.hpp), else tick by tick. The same spikes, counts
// and outputs, in the same order, as `ticks` calls of update_core.
void update_core_epoch(core_data& c, std::uint32_t ci, std::uint64_t* sched, std::int64_t t0, int ticks,
                       const engine_config& e, worker_io& io);

}  // namespace nmc::runtime::tn
