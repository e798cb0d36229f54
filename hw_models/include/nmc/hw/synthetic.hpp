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
// the workload of the chip's published power sweep (docs/HARDWARE.md 1.5).
tn_program periodic_chip(const truenorth_target& target, const std::string& target_text, int cores, double rate_hz,
                         int synapses_per_neuron);

// A random network: crossbar density `density`, random trinary-ish weights per
// axon type, thresholds tuned for moderate activity, destinations to random
// axons of random cores within `radius` cores. Seeded, deterministic.
tn_program random_chip(const truenorth_target& target, const std::string& target_text, int cores, double density,
                       int threshold, int radius, std::uint64_t seed);

// A self-driven random network for whole-chip benchmarks and peer
// comparisons: every neuron leaks +1 per tick towards `threshold` (so it fires
// on its own), its crossbar has density `density` and the four axon types
// weigh +1, +2, -1, -2 (balanced excitation and inhibition); the potential is
// floored at 0 (beta 0, kappa 1) and reset to 0 after a spike. Initial
// potentials are random in [0, threshold), delays random in 1..max_delay.
// Destinations form a bijection onto the (core, axon) pairs: neuron j of core c
// sends to axon sigma(j) of core (c + offset_j) mod cores, offset_j within
// `radius` cores in x and y, so every axon has exactly one source (two spikes
// can never merge on one axon, and a peer simulator that adds one weight per
// spike computes the same sums). The activity falls as `threshold` grows.
// Deterministic, deterministic-neuron subset only (no stochastic modes).
tn_program balanced_chip(const truenorth_target& target, const std::string& target_text, int cores, double density,
                         int threshold, int max_delay, int radius, std::uint64_t seed);

// balanced_chip's network on a board of chips_x x chips_y chips, every chip
// full: neuron j of the core at board position (x, y) sends to axon sigma(j)
// of the core at ((x + dx_j) mod W, (y + dy_j) mod H), W x H the board's
// cores, so the spikes of cores near a chip's edge cross to the next chip.
// The crossbar draws are faster than balanced_chip's (so a 64-chip board
// builds in seconds) and differ from them: the same seed gives another
// network than balanced_chip's even on one chip.
tn_program balanced_board(const truenorth_target& target, const std::string& target_text, int chips_x, int chips_y,
                          double density, int threshold, int max_delay, int radius, std::uint64_t seed);

}  // namespace nmc::hw
