#pragma once
// The DANNA-style grid compiler: netlist -> placed and routed grid program.
//
// Placement puts neurons on a lattice of sites (pitch from the mean fan-in
// and fan-out, a little more when the grid has room), every layer spanning
// the same block at its feature-map positions so that a neuron sits near its
// receptive field (no refinement pass yet). Routing realises every edge as a
// chain of synapse elements with PathFinder (negotiated congestion, A*): a
// source's value is broadcast through shared relays (weight 1), the edge's
// weight is applied once by a weight element (same-weight inputs of a neuron
// arriving together merge there; weight-1 inputs need none, they join the
// neuron's merges or the neuron itself), and weighted values merge on their
// way into the neuron. Routes have exact latencies (delays 1..D per synapse): for Eedn
// programs every input of a neuron arrives in one cycle (frames pipelined one
// per cycle), for TENNLab programs each edge takes exactly delay x
// cycles_per_tick cycles.
//
// Dense layers (make_crossbars) are laid out as crossbar blocks instead, in a
// column on the grid's right edge, their line starts facing the lattice: a
// line of relays per source, an accumulating chain per neuron (see `macro` in
// place_route.cpp); only the line starts are routed.

#include <cstdint>
#include <iosfwd>
#include <string>

#include <nmc/compiler/netlist.hpp>
#include <nmc/hw/danna.hpp>
#include <nmc/hw/dn_program.hpp>

namespace nmc::compiler {

// How a frames-mode (Eedn) network becomes elements: placement with
// PathFinder routing, or the stripes layout (stripes.cpp: every layer a stack
// of crossbars fed by buses, built without search, for networks of any size).
enum class danna_layout { route, stripes };

struct danna_options {
  danna_layout layout = danna_layout::route;
  std::uint64_t seed = 1;
  int max_iterations = 50;       // PathFinder iterations per attempt (frames: 4 attempts in different net orders)
  std::ostream* log = nullptr;   // progress lines (nullptr: none)
  int max_fan_in = 8;            // frames: wider neurons get partial-sum nodes (split_fan_in); 0: never
  int crossbar_fan_in = 64;      // frames: dense layers this wide become crossbars (make_crossbars); 0: never
  // Routing stops with a fit_error (where it got, the worst congested region)
  // once it has run this many seconds; 0: no limit.
  double route_seconds = 0;
};

// Frames mode: the neurons of a layer with at least `min_fan_in` inputs, all
// of weight +1 or -1, that share their sources densely (connected through
// shared sources, at least a fifth of the crossings used) become the columns
// of a crossbar block. Each source gets a line-start node (a partial-sum node
// of weight 1, the source its only input) numbered before the block's first
// neuron; the neurons' inputs become edges from the line starts. The grid
// compiler lays the block out as a systolic array (a line of relays per
// source, an accumulating chain per neuron) and routes only the line starts.
netlist make_crossbars(const netlist& nl, int min_fan_in);

// Frames mode: every neuron with more than `max_fan_in` inputs gets its inputs
// through partial-sum nodes. Inputs of one weight w are grouped by position
// (recursive bisection of their feature-map coordinates, at most `max_fan_in`
// per group); a group becomes a node that sums its sources (edges of weight 1)
// and applies w once. Groups are grouped again until the neuron hears at most
// `max_fan_in` nodes. Each node sits before its neuron in the numbering (the
// netlist stays in topological order); the neuron computes the same integer
// sum as before. Spikes mode, or max_fan_in == 0: the netlist unchanged.
netlist split_fan_in(const netlist& nl, int max_fan_in);

// Throws fit_error (elements needed vs available, the worst congested region
// and a suggestion) when the netlist does not fit or cannot be routed.
// The stripes layout (frames mode, weights +1 and -1); throws fit_error with
// the layout's size when the grid is smaller.
hw::dn_program compile_danna_stripes(const netlist& nl, const hw::danna_target& target, const std::string& target_text,
                                     const danna_options& opts);

hw::dn_program compile_danna(const netlist& nl, const hw::danna_target& target, const std::string& target_text,
                             const danna_options& opts);

}  // namespace nmc::compiler
