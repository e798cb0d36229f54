#pragma once
// The DANNA-style grid compiler: netlist -> placed and routed grid program.
//
// Placement puts neurons on a lattice of sites (pitch chosen from the grid
// size), one vertical band per layer in order, each neuron at its relative
// feature-map position, then refines by swaps. Routing realises every edge as
// a chain of synapse elements with PathFinder (negotiated congestion): a
// source's value is broadcast through shared relays (weight 1), the edge's
// weight is applied once by a weight element (several same-weight inputs of a
// neuron arriving together merge there), and weighted values merge on their
// way into the neuron. Delays (1..D per synapse) then balance the routes: for
// Eedn programs every input of a neuron arrives in one cycle (frames
// pipelined one per cycle), for TENNLab programs each edge takes exactly
// delay x cycles_per_tick cycles.

#include <cstdint>
#include <iosfwd>
#include <string>

#include <nmc/compiler/netlist.hpp>
#include <nmc/hw/danna.hpp>
#include <nmc/hw/dn_program.hpp>

namespace nmc::compiler {

struct danna_options {
  std::uint64_t seed = 1;
  int max_iterations = 50;       // PathFinder iterations per attempt (frames: 4 attempts in different net orders)
  std::ostream* log = nullptr;   // progress lines (nullptr: none)
};

// Throws fit_error (elements needed vs available, the worst congested region
// and a suggestion) when the netlist does not fit or cannot be routed.
hw::dn_program compile_danna(const netlist& nl, const hw::danna_target& target, const std::string& target_text,
                             const danna_options& opts);

}  // namespace nmc::compiler
