#include "program_info.hpp"

#include <bit>
#include <fstream>

#include <fmt/format.h>

namespace nmc::cli {

program_usage usage(const hw::tn_program& p) {
  program_usage u;
  u.layers.resize(p.layers.size());
  for (std::size_t i = 0; i < p.layers.size(); ++i) u.layers[i].name = p.layers[i];
  std::vector<std::vector<bool>> fed(p.cores.size());
  for (std::size_t c = 0; c < p.cores.size(); ++c) fed[c].assign(p.cores[c].axon_type.size(), false);
  for (const auto& c : p.cores)
    for (const auto& n : c.neurons)
      if (n.dest == hw::dest_kind::core) fed[n.dest_core][n.dest_axon] = true;
  for (const auto& t : p.input_targets) fed[t.core][t.axon] = true;
  u.input_targets = static_cast<std::int64_t>(p.input_targets.size());
  u.output_ports = static_cast<std::int64_t>(p.output_class.size());
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    const auto& c = p.cores[ci];
    auto& l = u.layers[c.layer];
    ++l.cores;
    for (bool f : fed[ci]) l.axons += f;
    for (const auto& n : c.neurons) l.neurons += n.dest != hw::dest_kind::none;
    for (auto w : c.crossbar) l.synapses += std::popcount(w);
  }
  for (const auto& l : u.layers) u.cores += l.cores, u.axons += l.axons, u.neurons += l.neurons, u.synapses += l.synapses;
  return u;
}

nlohmann::ordered_json program_json(const hw::tn_program& p, const std::string& path) {
  const auto u = usage(p);
  const auto rep = nlohmann::ordered_json::parse(p.report_json.empty() ? "{}" : p.report_json);
  const auto& t = p.target;
  const double core_axons = static_cast<double>(u.cores) * t.axons, core_neurons = static_cast<double>(u.cores) * t.neurons;
  nlohmann::ordered_json j;
  j["program"] = path;
  j["target"] = "truenorth";
  j["model"] = p.model_name;
  j["model_hash"] = fmt::format("{:016x}", p.model_hash);
  j["chips"] = p.chips;
  j["cores_used"] = u.cores;
  j["cores_available"] = static_cast<std::int64_t>(p.chips) * t.cores_per_chip();
  j["cores_lower_bound"] = rep.value("cores_lower_bound", std::int64_t{0});
  j["axon_utilisation"] = core_axons > 0 ? u.axons / core_axons : 0.0;
  j["neuron_utilisation"] = core_neurons > 0 ? u.neurons / core_neurons : 0.0;
  j["synapses"] = u.synapses;
  j["synapse_utilisation"] = core_axons > 0 ? u.synapses / (core_axons * t.neurons) : 0.0;
  std::int64_t live = 0, splitter_cores = 0;
  for (const auto& l : rep.value("layers", nlohmann::ordered_json::array())) {
    live += l.value("neurons", std::int64_t{0});
    if (l.value("kind", "") == "splitter") splitter_cores += l.value("cores", std::int64_t{0});
  }
  j["neurons"] = live;
  j["neuron_copies"] = u.neurons - live;
  j["splitter_cores"] = splitter_cores;
  j["mean_hops_per_spike"] = rep.value("mean_hops_per_spike", 0.0);
  j["naive_mean_hops_per_spike"] = rep.value("naive_mean_hops_per_spike", 0.0);
  j["max_hops"] = rep.value("max_hops", std::int64_t{0});
  j["chip_crossings"] = rep.value("chip_crossings", std::int64_t{0});
  j["latency_ticks"] = p.latency_ticks;
  j["input_targets"] = u.input_targets;
  j["output_ports"] = u.output_ports;
  auto& layers = j["layers"] = nlohmann::ordered_json::array();
  const auto rep_layers = rep.value("layers", nlohmann::ordered_json::array());
  for (std::size_t i = 0; i < u.layers.size(); ++i) {
    const auto& l = u.layers[i];
    nlohmann::ordered_json e{{"name", l.name}, {"cores", l.cores}, {"axons", l.axons}, {"neurons", l.neurons}, {"synapses", l.synapses}};
    for (const auto& r : rep_layers) {
      if (r.value("name", "") != l.name) continue;
      for (const char* k : {"kind", "cores_lower_bound", "tile", "fire_tick"}) e[k] = r.value(k, nlohmann::ordered_json());
    }
    layers.push_back(e);
  }
  j["seed"] = rep.value("seed", std::uint64_t{0});
  return j;
}

std::string program_text(const hw::tn_program& p, const std::string& path) {
  const auto j = program_json(p, path);
  std::string s = fmt::format("program  {} (TrueNorth-style, {} chip{})\nmodel    {} (hash {})\n\n", path, p.chips,
                              p.chips == 1 ? "" : "s", p.model_name, j["model_hash"].get<std::string>());
  s += fmt::format("{:<22} {:>8} {:>8} {:>9} {:>8} {:>9} {:>10} {:>5}\n", "layer", "kind", "cores", "bound", "axons",
                   "neurons", "synapses", "tick");
  for (const auto& l : j["layers"]) {
    s += fmt::format("{:<22} {:>8} {:>8} {:>9} {:>8} {:>9} {:>10} {:>5}\n", l["name"].get<std::string>(),
                     l.value("kind", ""), l["cores"].get<std::int64_t>(), l.value("cores_lower_bound", std::int64_t{0}),
                     l["axons"].get<std::int64_t>(), l["neurons"].get<std::int64_t>(), l["synapses"].get<std::int64_t>(),
                     l.value("fire_tick", 0));
  }
  s += fmt::format("{:<22} {:>8} {:>8} {:>9}\n\n", "total", "", j["cores_used"].get<std::int64_t>(),
                   j["cores_lower_bound"].get<std::int64_t>());
  s += fmt::format("cores          {} of {} ({:.1f} %), lower bound {}\n", j["cores_used"].get<std::int64_t>(),
                   j["cores_available"].get<std::int64_t>(),
                   100.0 * j["cores_used"].get<double>() / j["cores_available"].get<double>(), j["cores_lower_bound"].get<std::int64_t>());
  s += fmt::format("utilisation    axons {:.1f} %, neurons {:.1f} %, synapses {:.2f} % of crossbar points\n",
                   100 * j["axon_utilisation"].get<double>(), 100 * j["neuron_utilisation"].get<double>(),
                   100 * j["synapse_utilisation"].get<double>());
  s += fmt::format("neurons        {} computing, {} copies for fan-out, {} splitter cores\n", j["neurons"].get<std::int64_t>(),
                   j["neuron_copies"].get<std::int64_t>(), j["splitter_cores"].get<std::int64_t>());
  s += fmt::format("routing        {:.2f} mean hops per spike (naive row-major placement: {:.2f}), max {}, {} chip crossings\n",
                   j["mean_hops_per_spike"].get<double>(), j["naive_mean_hops_per_spike"].get<double>(),
                   j["max_hops"].get<std::int64_t>(), j["chip_crossings"].get<std::int64_t>());
  s += fmt::format("latency        {} ticks (one frame per tick, pipelined)\n", p.latency_ticks);
  return s;
}

bool is_program_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string(magic, 8) == "NMCTNPRG";
}

}  // namespace nmc::cli
