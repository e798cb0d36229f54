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

#include <atomic>
#include <cstddef>
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

// Ring mode (engine_config::ring): every core's scheduler is 256 axon rings
// of long_slots tick bits (ring_words words each; tick t at bit t mod
// long_slots), so that an epoch's inputs of an axon are a few shifted words
// and a neuron's spikes of an epoch are ORed into its destination axon's ring
// at once: no transposes and no work per tick.
//
// The same count for the core whose rings are `rings`: takes (and clears)
// ticks t0 .. t0 + ticks - 1 of every axon and writes out[j * stride + b],
// bit k: neuron j fires at tick t0 + 64 b + k (stride 1 or 4 words).
std::int64_t integrate_epoch_rings(const core_data& c, std::uint64_t* rings, std::int64_t t0, int ticks, bool avx2,
                                   std::uint64_t* out, std::size_t& stride);
// Bits start .. start + ticks - 1 of a ring into out[0, words), cleared in
// the ring.
void ring_take(std::uint64_t* ring, std::size_t start, std::size_t ticks, std::uint64_t* out, std::size_t words);
// ORs v[0, words) into a ring from bit `start` on (atomically with `atomic`).
// Inline: the delivery loops call it once per neuron and target.
inline void ring_or(std::uint64_t* ring, std::size_t start, const std::uint64_t* v, std::size_t words, bool atomic) {
  const std::size_t q = start / 64, r = start % 64;
  auto put = [&](std::uint64_t& w, std::uint64_t bits) {
    if (!bits) return;
    if (atomic) {
      std::atomic_ref<std::uint64_t>(w).fetch_or(bits, std::memory_order_relaxed);
    } else {
      w |= bits;
    }
  };
  for (std::size_t b = 0; b < words; ++b) {
    if (!v[b]) continue;
    put(ring[(q + b) % ring_words], v[b] << r);
    if (r) put(ring[(q + b + 1) % ring_words], v[b] >> (64 - r));
  }
}

}  // namespace nmc::runtime::tn
