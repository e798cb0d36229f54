// emit: writes the program: per core the crossbar, axon types and the full
// neuron parameter set, plus the input map, the output map and a report.
//
// Eedn neurons (docs/HARDWARE.md 1.3): weights -1 (axon type 0) and +1 (type 1),
// alpha = 1, beta = 0, kappa = 1, normal reset to R = 0, lambda = 1 - threshold:
// spike iff sum + lambda >= 1, and the potential is 0 again after every tick.
// Pool neurons use only type 1 with lambda = 1 - pool threshold; splitter
// neurons relay their one axon (lambda = 0).

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>

namespace nmc::compiler {

using namespace nmc::model;

void emit_pass(compile_state& s) {
  const auto& t = s.target;
  const network& net = *s.net;
  hw::tn_program p;
  p.model_hash = content_hash(net);
  p.model_name = net.name;
  p.target_text = s.target_text;
  p.target = t;
  p.chips = static_cast<std::uint32_t>(s.opts.chips);
  p.chips_x = static_cast<std::uint32_t>(s.chips_x);
  p.chips_y = static_cast<std::uint32_t>(s.chips_y);
  const auto& in = net[net.input()].as<input_op>();
  p.image_channels = static_cast<std::uint32_t>(in.image.channels);
  p.image_height = static_cast<std::uint32_t>(in.image.height);
  p.image_width = static_cast<std::uint32_t>(in.image.width);
  p.thermometer.assign(in.encoding.thresholds.begin(), in.encoding.thresholds.end());
  p.input_offsets.push_back(0);
  for (const auto& targets : s.input_targets) {
    for (const auto& it : targets) {
      const int offset = s.units[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(it.core)].unit)].time;
      p.input_targets.push_back({static_cast<std::uint32_t>(it.core), static_cast<std::uint16_t>(it.axon),
                                 static_cast<std::uint8_t>(offset)});
    }
    p.input_offsets.push_back(static_cast<std::uint32_t>(p.input_targets.size()));
  }
  p.classes = static_cast<std::uint32_t>(net[net.output()].as<output_op>().classes);
  p.output_class = s.port_class;
  p.output_tick_offset = static_cast<std::uint32_t>(s.output_tick_offset);
  p.latency_ticks = static_cast<std::uint32_t>(s.latency_ticks);
  for (const auto& u : s.units) p.layers.push_back(u.name);

  const auto row_words = static_cast<std::size_t>(t.neurons / 64);
  p.cores.resize(s.cores.size());
  std::vector<std::pair<std::pair<source_ref, std::uint8_t>, std::size_t>> axon_of;
  std::vector<std::size_t> slot_order, neuron_axons;
  for (std::size_t ci = 0; ci < s.cores.size(); ++ci) {
    const auto& lc = s.cores[ci];
    const auto& u = s.units[static_cast<std::size_t>(lc.unit)];
    auto& core = p.cores[ci];
    core.chip = static_cast<std::uint32_t>(lc.chip);
    core.x = static_cast<std::uint32_t>(lc.x);
    core.y = static_cast<std::uint32_t>(lc.y);
    core.layer = static_cast<std::uint32_t>(lc.unit);
    core.seed = static_cast<std::uint32_t>(fnv1a64(fmt::format("{}:{}", s.opts.seed, ci)));
    core.axon_type.assign(static_cast<std::size_t>(t.axons), 0);
    core.crossbar.assign(static_cast<std::size_t>(t.axons) * row_words, 0);
    core.neurons.assign(static_cast<std::size_t>(t.neurons), hw::tn_neuron{});
    // (origin, type) -> axon, sorted for binary search (a map per core costs
    // more than the rest of the pass on large models).
    axon_of.clear();
    for (std::size_t a = 0; a < lc.axons.size(); ++a) {
      core.axon_type[a] = lc.axons[a].type;
      axon_of.push_back({{lc.axons[a].origin, lc.axons[a].type}, a});
    }
    std::sort(axon_of.begin(), axon_of.end());
    // Slots in neuron order, so that a neuron's copies follow each other.
    slot_order.resize(lc.slots.size());
    for (std::size_t j = 0; j < slot_order.size(); ++j) slot_order[j] = j;
    std::stable_sort(slot_order.begin(), slot_order.end(),
                     [&](std::size_t a, std::size_t b) { return lc.slots[a].neuron < lc.slots[b].neuron; });
    std::int32_t axons_neuron = -1;
    for (const std::size_t j : slot_order) {
      const auto& sl = lc.slots[j];
      auto& nr = core.neurons[j];
      nr.weight = {-1, 1, 0, 0};
      nr.threshold = 1;
      nr.neg_threshold = 0;
      nr.kappa = 1;
      nr.reset = hw::reset_mode::normal;
      if (u.kind == unit_kind::weighted) {
        const int c = sl.neuron / (u.shape.height * u.shape.width);
        nr.leak = static_cast<std::int16_t>(1 - net[u.layer].as<threshold_op>().threshold[static_cast<std::size_t>(c)]);
      } else if (u.kind == unit_kind::pool) {
        nr.leak = static_cast<std::int16_t>(1 - net[u.layer].as<pool_op>().threshold);
      }
      nr.dest = sl.output ? hw::dest_kind::output : hw::dest_kind::core;
      nr.dest_core = sl.output ? 0 : static_cast<std::uint32_t>(sl.dest_core);
      nr.dest_axon = static_cast<std::uint16_t>(sl.output ? sl.dest_core : sl.dest_axon);
      nr.delay_ticks = static_cast<std::uint8_t>(sl.delay);
      // The neuron's axons, found once for all its slots (its copies).
      if (sl.neuron != axons_neuron) {
        axons_neuron = sl.neuron;
        neuron_axons.clear();
        for_each_input(s, u, sl.neuron, [&](source_ref src, int w) {
          const auto type = static_cast<std::uint8_t>(u.kind == unit_kind::weighted && w < 0 ? 0 : 1);
          const std::pair<source_ref, std::uint8_t> key{src, type};
          const auto it = std::lower_bound(axon_of.begin(), axon_of.end(), key,
                                           [](const auto& e, const auto& k) { return e.first < k; });
          if (it == axon_of.end() || it->first != key)
            throw internal_error(fmt::format("emit: core {} lacks an axon for an input", ci));
          neuron_axons.push_back(it->second);
        });
      }
      for (const auto a : neuron_axons) core.crossbar[a * row_words + j / 64] |= std::uint64_t{1} << (j % 64);
    }
  }

  nlohmann::ordered_json rep;
  rep["model_hash"] = fmt::format("{:016x}", p.model_hash);
  rep["chips"] = s.opts.chips;
  rep["seed"] = s.opts.seed;
  std::int64_t lb = 0;
  auto& layers = rep["layers"] = nlohmann::ordered_json::array();
  for (auto ui : s.order) {
    const auto& u = s.units[static_cast<std::size_t>(ui)];
    std::int64_t slots = 0, live = 0;
    for (auto c : u.copies) slots += c, live += c > 0;
    lb += u.lower_bound;
    layers.push_back({{"name", u.name},
                      {"kind", u.kind == unit_kind::weighted ? "neurons" : u.kind == unit_kind::pool ? "pool" : "splitter"},
                      {"cores", u.cores.size()},
                      {"cores_lower_bound", u.lower_bound},
                      {"tile", {u.tile_c, u.tile_h, u.tile_w}},
                      {"neurons", live},
                      {"neuron_slots", slots},
                      {"fire_tick", u.time}});
  }
  rep["cores_lower_bound"] = lb;
  rep["connections"] = s.routes.connections;
  rep["mean_hops_per_spike"] = s.routes.mean_hops;
  rep["naive_mean_hops_per_spike"] = s.routes.naive_mean_hops;
  rep["max_hops"] = s.routes.max_hops;
  rep["chip_crossings"] = s.routes.chip_crossings;
  rep["latency_ticks"] = s.latency_ticks;
  p.report_json = rep.dump();
  p.model_text = s.model_text;
  s.program = std::move(p);
  hw::verify_program(s.program, true);
}

}  // namespace nmc::compiler
