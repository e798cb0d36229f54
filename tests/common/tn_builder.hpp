#pragma once
// Hand-built TrueNorth-style programs for simulator tests.

#include <nmc/files.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/hw/truenorth.hpp>

namespace nmc::test {

struct tn_builder {
  hw::tn_program p;

  explicit tn_builder(int cores = 1) {
    p.target_text = read_file(hw::default_truenorth_path());
    p.target = hw::parse_truenorth(p.target_text, "truenorth.yaml");
    p.layers = {"layer"};
    p.input_offsets = {0};
    p.classes = 1;
    p.output_class = {0};
    for (int i = 0; i < cores; ++i) add_core();
  }
  std::uint32_t add_core() {
    hw::tn_core c;
    const auto n = static_cast<std::uint32_t>(p.cores.size());
    c.x = n % static_cast<std::uint32_t>(p.target.cores_x);
    c.y = n / static_cast<std::uint32_t>(p.target.cores_x);
    c.seed = 1234 + n;
    c.axon_type.assign(static_cast<std::size_t>(p.target.axons), 0);
    c.crossbar.assign(static_cast<std::size_t>(p.target.axons * p.target.neurons / 64), 0);
    c.neurons.assign(static_cast<std::size_t>(p.target.neurons), hw::tn_neuron{});
    p.cores.push_back(std::move(c));
    return n;
  }
  hw::tn_neuron& neuron(std::uint32_t core, std::uint32_t j) { return p.cores.at(core).neurons.at(j); }
  void connect(std::uint32_t core, std::uint32_t axon, std::uint32_t j) {
    p.cores.at(core).crossbar.at(axon * static_cast<std::uint32_t>(p.target.neurons / 64) + j / 64) |= std::uint64_t{1} << (j % 64);
  }
  // A neuron that spikes off chip (port 0) so it is simulated and observable.
  hw::tn_neuron& observed(std::uint32_t core, std::uint32_t j) {
    auto& n = neuron(core, j);
    n.dest = hw::dest_kind::output;
    n.dest_axon = 0;
    return n;
  }
};

}  // namespace nmc::test
