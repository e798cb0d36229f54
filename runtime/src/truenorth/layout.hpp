#pragma once
// The TrueNorth simulator's data layout and constants, shared by the core
// engine (core_engine.cpp), the kernels (kernels.cpp), the epoch planner
// (epochs.cpp) and the tick loop (tn_sim.cpp). Private to nmc::runtime.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nmc/hw/tn_program.hpp>
#include <nmc/runtime/tn_exchange.hpp>

namespace nmc::runtime::tn {

// The chip's axon scheduler has 16 slots (delays 1..15). The simulator keeps
// more, which changes nothing for delays below 16, so that an epoch of ticks
// can be written ahead of the cores that read it: 64 slots (epochs of up to
// 48 ticks), or 512 (epochs of 256) for acyclic programs whose schedulers
// stay within long_slots_bytes. The choice depends on the program alone, so
// every process of a distributed run makes the same one.
constexpr int hardware_slots = 16;
constexpr int short_slots = 64, short_epoch = 48;
constexpr int long_slots = 512, long_epoch = 256;
constexpr std::size_t long_slots_bytes = std::size_t{256} << 20;
constexpr std::size_t ring_words = long_slots / 64;  // ring mode: words of one axon's ring (epoch_kernel.hpp)
static_assert(short_epoch + hardware_slots <= short_slots && long_epoch + hardware_slots <= long_slots);
static_assert(sizeof(spike) == 8 && offsetof(spike, slot) == 6 && long_slots <= 65536,
              "update_core_fast adds the tick to the slot field of a spike's 64-bit image");

// Slots of every core's scheduler for program `p`, acyclic or not.
int scheduler_slots_for(const hw::tn_program& p, bool acyclic);
static_assert(long_epoch <= 256, "an epoch's ticks fit 4 words (tn_simulator::inject_epoch)");
inline int epoch_limit(int slots) { return slots == long_slots ? long_epoch : short_epoch; }

inline std::uint32_t xorshift(std::uint32_t& x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

inline std::int64_t sgn(std::int64_t v) { return (v > 0) - (v < 0); }

constexpr int max_parts = 64;
// Delivery partition of a core: blocks of 16 consecutive cores dealt round
// robin. A core's spikes go to a few nearby cores, so consecutive spikes
// mostly share a partition (the emission branch predicts well), while a
// layer's cores spread over all partitions (the delivery work balances).
inline int part_of(std::uint32_t core, int parts) {
  return static_cast<int>((core / 16) % static_cast<std::uint32_t>(parts));
}
inline int delivery_parts(int threads) { return threads < 1 ? 1 : threads > max_parts ? max_parts : threads; }

// A worker's spikes for one delivery partition: storage sized for the worst
// case, and the count used.
struct alignas(64) spike_buffer {  // own cache line: workers update `size` constantly
  std::vector<spike> store;
  std::size_t size = 0;
  void push(const spike& s) { store[size++] = s; }
};

// One core: static parameters and dynamic state, each contiguous. The fields
// the Eedn fast path reads every tick come first, so a core costs few cache
// lines; the axon schedulers of all cores live in one array (see tn_sim.cpp).
struct core_data {
  std::uint32_t layer = 0;
  bool owned = false;  // lowered and updated here (the partition gives this process the core)
  // Fast path: deterministic neurons without leak reversal, 256 neurons, and
  // weights small enough that a tick's input sum fits in 16 bits.
  bool fast = false;
  // Uniform weights: every updated neuron has the same weight per axon type
  // (Eedn: -1 for type 0, +1 for type 1), so integration adds a constant per
  // type under the crossbar row's mask and never loads per-neuron weights.
  bool uniform = false;
  std::array<std::int16_t, 4> uniform_weight{};
  std::array<std::array<std::uint64_t, 4>, 4> type_mask{};  // [type][axon word]: axons of that type
  std::vector<std::uint16_t> row_synapses;                    // per axon: synapses in its crossbar row
  // Rows of 16 synapses or more on average (and 256 axons and neurons): the
  // AVX2 kernel, whose cost per active axon does not depend on its row, beats
  // the scalar one, whose cost is per synapse.
  bool dense_rows = false;
  // Narrow (stateless, uniform cores): every neuron's sum lies in
  // [-128, 126] whatever the input (at most 126 axons of positive weight and
  // 128 of negative weight reach it), so the sums fit 8-bit lanes, 64 per
  // register, with thresholds clamped to [-128, 127] without changing a spike.
  bool narrow = false;
  std::vector<std::int8_t> threshold8;
  // Reset after a spike: V = pos_a * V + pos_b; below -beta: V = neg_a * V + neg_b.
  std::vector<std::int32_t> leak, alpha, beta, pos_a, pos_b, neg_a, neg_b;
  // Stateless cores (every neuron: alpha 1, beta 0, kappa 1, normal reset to
  // R = 0, V0 = 0) keep V = 0 after every tick: a neuron fires iff its input
  // sum >= 1 - leak. Only these thresholds and a mask of neurons with a
  // destination are needed.
  bool stateless = false;
  std::array<std::uint64_t, 4> has_dest{};
  std::array<std::uint64_t, 4> to_core{};  // neurons whose destination is a core
  std::vector<std::uint64_t> proto;        // per neuron: its spike (bit_cast), delay in the slot field
  std::vector<std::int16_t> threshold16;
  std::vector<std::int16_t> weight16;  // [type][neuron]
  // Destinations, one 12-byte record per neuron for the spike loop.
  struct destination {
    std::uint32_t core;
    std::uint16_t axon;
    std::uint16_t hops;
    std::uint8_t kind;
    std::uint8_t delay;
    std::uint8_t crossings;
    std::uint8_t part;  // the destination core's delivery partition (part_of)
  };
  std::vector<destination> dest;
  // Direct delivery: the neurons to cores as runs of consecutive neurons that
  // go to one core with one delay, in increasing axon order (as the compiler
  // lays out a core's copies). A run's spikes are then its bits of the fired
  // mask deposited into the destination's axon words (PDEP), written straight
  // into its scheduler: no spike records and no delivery pass. Used when every
  // destination is simulated here and the runs are long (tn_sim.cpp decides).
  struct run {
    std::uint32_t core;
    std::uint16_t first;  // the run's first neuron; its neurons fill mask[0], then mask[1], ...
    std::uint16_t hops;
    std::uint8_t delay;
    std::uint8_t crossings;
    std::uint8_t words;                // axon words the run reaches: word[0 .. words)
    std::array<std::uint8_t, 4> word;  // which axon words
    std::array<std::uint8_t, 4> len;   // the run's axons in each of them: how many,
    std::array<std::int8_t, 4> shift;  // where they start if contiguous (else -1: deposit)
    std::array<std::uint64_t, 4> mask;  // and which
  };
  std::vector<run> runs;
  bool direct = false;
  // Epoch kernel (epoch_kernel.hpp): stateless uniform cores with weights in
  // {-1, 0, +1} run a whole epoch at once, bit-sliced over ticks.
  // Per neuron with a destination, in neuron order: its +1 axons a, then its
  // -1 axons as 256 + a (the kernel keeps each axon's word and its negation),
  // padded to a multiple of 8 with 512 (a zero word); how many taps with the
  // padding, and the count it needs to fire (threshold16 + its -1 axons).
  bool batched = false;
  struct tap_count {
    std::uint16_t taps;
    std::int16_t need;
  };
  std::vector<std::uint16_t> taps;
  std::vector<tap_count> tap_counts;
  int tap_bits = 3;  // counter bits for the largest tap count (at least 3)
  int neurons = 0;     // neurons updated: 0 .. neurons-1 (the rest are idle and unobservable)
  int with_dest = 0;   // neurons with a destination (counted as neuron updates)
  int axon_words = 0;
  int row_words = 0;
  bool stochastic = false;  // any stochastic synapse, leak or threshold
  std::vector<std::uint8_t> axon_type;
  const std::uint64_t* crossbar = nullptr;  // axons x row_words, in the simulator's crossbar arena
  std::vector<hw::tn_neuron> params;
  std::array<std::vector<std::int32_t>, 4> weight;  // S_j[G], per type
  std::vector<std::uint16_t> hops;
  std::vector<std::uint8_t> crossings;
  // state
  std::vector<std::int32_t> v;
  std::uint32_t rng = 1;
};

}  // namespace nmc::runtime::tn
