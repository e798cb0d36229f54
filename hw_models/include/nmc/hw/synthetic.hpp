#pragma once
// Synthetic TrueNorth-style programs for calibration and benchmarks.

#include <cstdint>

#include <nmc/hw/tn_program.hpp>

namespace nmc::hw {

// Every neuron fires periodically at about `rate_hz` (at the target's tick
// period): alpha = its period, leak +1, phases staggered. Each neuron sends its
// spike to an axon of its own core (no hops), and every axon's crossbar row
// reaches `synapses_per_neuron` neurons with weight 0, so each spike causes
// exactly that many synaptic events without changing any potential. This is
// the workload of the chip's published power sweep (HARDWARE.md 1.5).
tn_program periodic_chip(const truenorth_target& target, const std::string& target_text, int cores, double rate_hz,
                         int synapses_per_neuron);

// A random network: crossbar density `density`, random trinary-ish weights per
// axon type, thresholds tuned for moderate activity, destinations to random
// axons of random cores within `radius` cores. Seeded, deterministic.
tn_program random_chip(const truenorth_target& target, const std::string& target_text, int cores, double density,
                       int threshold, int radius, std::uint64_t seed);

}  // namespace nmc::hw
