#pragma once
// A target-neutral spiking netlist: integrate-and-fire neurons and weighted,
// delayed edges. The grid compiler maps it onto elements; it is produced from
// the model IR (Eedn networks: binary neurons that reset every cycle, all
// inputs of a neuron arriving in the same cycle) or read from a TENNLab network
// JSON (RISP semantics: exact integer delays in network time steps).

#include <cstdint>
#include <string>
#include <vector>

#include <nmc/hw/dn_program.hpp>
#include <nmc/model/network.hpp>

namespace nmc::compiler {

struct net_neuron {
  std::int32_t threshold = 1;
  std::int32_t charge_min = -(1 << 30);  // floor of the charge (RISP min_potential); default: none
  hw::leak_kind leak = hw::leak_kind::reset;
  std::uint32_t group = 0;      // layer (Eedn) for placement and reports
  float fy = 0, fx = 0;         // relative position in its layer's feature map (0..1), for placement
  std::uint32_t channel = 0;
  std::string name;             // TENNLab: "node ID" for messages; Eedn: empty
  // 0: a neuron. Otherwise a partial-sum node (frames mode, made by
  // split_fan_in): a synapse element that sums its inputs, multiplies the sum
  // by sum_weight and passes the value on one cycle later.
  std::int32_t sum_weight = 0;
  // Frames mode, made by make_crossbars: the crossbar this node belongs to, as
  // a line start (a partial-sum node of weight 1 fed by its source) or as an
  // output neuron (its inputs come through the crossbar, not routes); -1: none.
  std::int32_t crossbar = -1;
};

struct net_edge {
  std::uint32_t from = 0, to = 0;
  std::int32_t weight = 1;
  std::int32_t delay = 0;  // spikes mode: network time steps >= 1; frames mode: unused (synchronous)
};

// A crossbar block (make_crossbars): source lines as rows, one accumulating
// chain per output neuron as columns. Edge (rows[k] -> cols[j], w) is the
// crossing of line k and chain j.
struct net_crossbar {
  std::uint32_t group = 0;
  std::vector<std::uint32_t> rows;  // line-start nodes, top to bottom
  std::vector<std::uint32_t> cols;  // output neurons, left to right
};

struct netlist {
  hw::dn_mode mode = hw::dn_mode::frames;
  std::vector<net_neuron> neurons;
  std::vector<net_edge> edges;
  std::vector<std::uint32_t> inputs;        // neuron receiving input port i
  std::vector<std::uint32_t> outputs;       // neuron of output port i
  std::vector<std::int32_t> output_class;   // frames: class of output port i
  std::vector<std::string> groups;          // names of the groups (layers)
  std::vector<net_crossbar> crossbars;
  // frames mode: the image and its encoding (input port i = encoded bit i)
  std::uint32_t image_channels = 0, image_height = 0, image_width = 0;
  std::vector<std::int32_t> thermometer;
  std::uint32_t classes = 0;
  // embedded in the program
  std::uint64_t model_hash = 0;
  std::string model_name, model_text, source;
};

// Eedn model IR (verified) -> netlist: one neuron per encoded input bit, per
// conv/dense neuron (weights folded with the threshold layer's sign) and per
// pooling neuron; flatten and concat are re-indexings. `model_text` is the
// model in nmc YAML, embedded for the reference check.
netlist netlist_from_model(const model::network& net, const std::string& model_text);

// A grid program's fields that come from the netlist and the target: mode,
// model, image and encoding, classes, layer names ("network" if none); the
// layout fills in elements, ports, timing and its report.
hw::dn_program program_header(const netlist& nl, const hw::danna_target& target, const std::string& target_text);

// After a pass that renumbered the neurons (new id of old neuron i: id[i]):
// the input and output ports and the crossbars' nodes follow.
void renumber_ports(netlist& nl, const std::vector<std::uint32_t>& id);

}  // namespace nmc::compiler
