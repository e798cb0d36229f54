#pragma once
// The integration and neuron-update kernels of the TrueNorth fast path: a
// scalar version of each (any CPU, and the reference the tests compare
// against) and AVX-512 versions chosen at run time. They take one core's
// scheduler slot (cleared as it is read) and produce input sums or the mask
// of firing neurons; the core engine does the rest.

#include <cstddef>
#include <cstdint>

#include "layout.hpp"

namespace nmc::runtime::tn {

// Input sums of one core: for every active axon, its type's weight is added
// to the neurons its crossbar row reaches. Returns the synaptic events.
std::int64_t integrate_scalar(const core_data& c, std::uint64_t* slot, std::int32_t* in);

// Leak, threshold and reset of the first n deterministic neurons: v updated,
// fired[j] = 1 for the neurons that fire.
void update_fast_neurons(int n, std::int32_t* v, const std::int32_t* in, const core_data& c, std::int32_t vmin,
                         std::int32_t vmax, std::uint8_t* fired);

// Direct delivery (core_data::runs) of ticks t0 .. t0 + ticks - 1:
// every neuron of a run set in fired[k] sets its axon bit in slot
// t0 + k + delay of the run's core, in the schedulers `sched`
// ([core][slot][axon word], `slots` slots). A run's axons that are
// contiguous in a word take a shift, the others a deposit (PDEP with
// `bmi2`). With `atomic` (several workers) the words are ORed atomically:
// each axon has one source, so the result does not depend on the order.
// Each fired[k] has a fifth word, zero. Adds the spikes' hops and chip
// crossings.
void deliver_runs(const core_data& c, const std::uint64_t (*fired)[5], int ticks, std::int64_t t0,
                  std::uint64_t* sched, std::size_t axon_words, int slots, bool atomic, bool bmi2, std::int64_t& hops,
                  std::int64_t& crossings);

#if defined(__x86_64__) && defined(__GNUC__)
#define NMC_TN_AVX512_KERNELS 1
// integrate_scalar with AVX-512 (256 16-bit sums in 8 registers). With
// `fired` (stateless cores) the sums are compared with the thresholds in
// registers and only the 256-bit mask of firing neurons comes out.
std::int64_t integrate_avx512(const core_data& c, std::uint64_t* slot, std::int32_t* in, std::uint64_t* fired);
// integrate_scalar with AVX2, for cores of 256 axons and neurons whose rows
// are dense enough to pay (core_data::dense_rows).
std::int64_t integrate_avx2(const core_data& c, std::uint64_t* slot, std::int32_t* in);
// Narrow cores (core_data::narrow): 8-bit sums; `fired` gets the mask of
// neurons at or above threshold.
std::int64_t integrate_narrow_avx512(const core_data& c, std::uint64_t* slot, std::uint64_t* fired);
void update_fast_neurons_avx2(int n, std::int32_t* v, const std::int32_t* in, const core_data& c, std::int32_t vmin,
                              std::int32_t vmax, std::uint8_t* fired);
void update_fast_neurons_avx512(int n, std::int32_t* v, const std::int32_t* in, const core_data& c, std::int32_t vmin,
                                std::int32_t vmax, std::uint8_t* fired);
#endif

}  // namespace nmc::runtime::tn
