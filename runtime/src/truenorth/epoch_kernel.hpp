#pragma once
// The epoch kernel of the TrueNorth fast path: a stateless core with weights
// in {-1, 0, +1} (every Eedn core) for a whole epoch of ticks at once,
// bit-sliced over ticks.
//
// Such a core keeps V = 0 between ticks, so each tick is a function of that
// tick's axons alone: neuron j fires at tick t iff
//   #(+1 axons active at t) - #(-1 axons active at t) >= 1 - leak_j,
// which, with M_j the number of -1 axons reaching j, is
//   #(+1 axons active) + #(-1 axons inactive) >= 1 - leak_j + M_j,
// a plain count against a constant. The epoch's scheduler slots are
// transposed into one word per axon (bit k: active at tick t0 + k), a neuron
// counts its axons' words lane by lane with carry-save adders (all ticks in
// one pass) and compares the count with its constant, and the neurons' words
// are transposed back into one firing mask per tick. A synapse then costs a
// few word operations per epoch rather than per tick. Tests pin the result,
// spike for spike and count for count, to the tick-by-tick kernels.

#include <cstdint>

#include "layout.hpp"

namespace nmc::runtime::tn {

// Whether core `c` (lowered, fast) can run on the epoch kernel; if so fills
// its columns (core_data::column, minus_axons, need) and sets c.batched.
void lower_epoch_kernel(core_data& c);

// Ticks t0 .. t0 + ticks - 1 (ticks <= long_epoch) of a batched core: reads
// and clears its scheduler slots (`sched`: the core's `slots` x 4 words) and
// writes fired[k] (4 words, a fifth left zero) for each tick k; with `avx2`
// an epoch of over 64 ticks is counted in 256-bit vectors. Returns the
// synaptic events.
std::int64_t integrate_epoch(const core_data& c, std::uint64_t* sched, int slots, std::int64_t t0, int ticks,
                             bool avx2, std::uint64_t (*fired)[5]);

}  // namespace nmc::runtime::tn
