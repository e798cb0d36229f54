#include <nmc/hw/truenorth.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <functional>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

namespace nmc::hw {

namespace {

class loader {
public:
  loader(const std::string& text, std::string source) : source_(std::move(source)) {
    try {
      root_ = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw config_error(fmt::format("{}:{}:{}: YAML syntax error: {}", source_, e.mark.line + 1,
                                     e.mark.column + 1, e.msg));
    }
    if (!root_.IsMap()) throw config_error(fmt::format("{}: not a YAML mapping", source_));
  }

  template <class T>
  void get(const char* section, const char* key, T& out, double lo, double hi) {
    const YAML::Node sec = root_[section];
    if (!sec || !sec.IsMap()) {
      throw config_error(fmt::format("{}: missing section '{}'", source_, section),
                         "start from the shipped hw_models/targets/truenorth.yaml");
    }
    const YAML::Node n = sec[key];
    if (!n) {
      throw config_error(fmt::format("{}:{}: section '{}' lacks '{}'", source_,
                                     sec.Mark().line + 1, section, key),
                         "start from the shipped hw_models/targets/truenorth.yaml");
    }
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      throw config_error(fmt::format("{}:{}: {}.{} is '{}', not a number", source_,
                                     n.Mark().line + 1, section, key, n.Scalar()));
    }
    if (static_cast<double>(out) < lo || static_cast<double>(out) > hi) {
      throw config_error(fmt::format("{}:{}: {}.{} = {} is outside {}..{}", source_,
                                     n.Mark().line + 1, section, key, out, lo, hi));
    }
    seen_[section].push_back(key);
  }

  // Unknown keys are typos: refuse them rather than silently ignore a setting.
  void reject_unknown() {
    for (const auto& kv : root_) {
      const auto name = kv.first.as<std::string>();
      if (name == "target" || name == "version") continue;
      auto it = seen_.find(name);
      if (it == seen_.end()) {
        throw config_error(fmt::format("{}:{}: unknown section '{}'", source_,
                                       kv.first.Mark().line + 1, name));
      }
      for (const auto& inner : kv.second) {
        const auto key = inner.first.as<std::string>();
        if (std::find(it->second.begin(), it->second.end(), key) == it->second.end()) {
          throw config_error(fmt::format("{}:{}: unknown key '{}.{}'", source_,
                                         inner.first.Mark().line + 1, name, key));
        }
      }
    }
  }

  const YAML::Node& root() const { return root_; }

private:
  std::string source_;
  YAML::Node root_;
  std::map<std::string, std::vector<std::string>> seen_;
};

}  // namespace

truenorth_target parse_truenorth(const std::string& text, const std::string& source) {
  loader l(text, source);
  const auto target = l.root()["target"];
  if (!target || target.as<std::string>("") != "truenorth") {
    throw config_error(fmt::format("{}: 'target: truenorth' missing", source),
                       "this file does not describe a TrueNorth-style target");
  }
  truenorth_target t;
  t.source = source;
  l.get("chip", "cores_x", t.cores_x, 1, 4096);
  l.get("chip", "cores_y", t.cores_y, 1, 4096);
  l.get("board", "chips_x", t.chips_x, 1, 1024);
  l.get("board", "chips_y", t.chips_y, 1, 1024);
  l.get("core", "axons", t.axons, 1, 4096);
  l.get("core", "neurons", t.neurons, 1, 4096);
  l.get("core", "axon_types", t.axon_types, 2, 4);
  l.get("core", "weight_min", t.weight_min, -32768, 0);
  l.get("core", "weight_max", t.weight_max, 1, 32767);
  l.get("core", "leak_min", t.leak_min, -32768, 0);
  l.get("core", "leak_max", t.leak_max, 0, 32767);
  l.get("core", "threshold_max", t.threshold_max, 1, 1 << 30);
  l.get("core", "potential_bits", t.potential_bits, 8, 31);
  l.get("core", "delay_min_ticks", t.delay_min_ticks, 1, 1);
  l.get("core", "delay_max_ticks", t.delay_max_ticks, 1, 15);
  l.get("routing", "reach_x_cores", t.reach_x_cores, 1, 1 << 20);
  l.get("routing", "reach_y_cores", t.reach_y_cores, 1, 1 << 20);
  l.get("timing", "tick_period_ms", t.tick_period_ms, 1e-6, 1e6);
  l.get("energy", "static_power_mw", t.static_power_mw, 0, 1e9);
  l.get("energy", "synaptic_event_pj", t.synaptic_event_pj, 0, 1e9);
  l.get("energy", "neuron_update_pj", t.neuron_update_pj, 0, 1e9);
  l.get("energy", "spike_hop_pj", t.spike_hop_pj, 0, 1e9);
  l.get("energy", "chip_crossing_pj", t.chip_crossing_pj, 0, 1e9);
  l.get("energy", "offchip_spike_pj", t.offchip_spike_pj, 0, 1e9);
  l.get("energy", "static_power_voltage_v", t.static_power_voltage_v, 0, 100);
  l.reject_unknown();
  if (t.axons % 64 != 0 || t.neurons % 64 != 0) {
    throw config_error(fmt::format("{}: core.axons ({}) and core.neurons ({}) must be multiples of 64",
                                   source, t.axons, t.neurons),
                       "the simulator keeps crossbar rows as 64-bit words");
  }
  return t;
}

truenorth_target load_truenorth(const std::filesystem::path& path) {
  return parse_truenorth(read_file(path), path.string());
}

std::filesystem::path default_truenorth_path() {
  if (const char* env = std::getenv("NMC_TARGETS_DIR"); env && *env) {
    return std::filesystem::path(env) / "truenorth.yaml";
  }
  return std::filesystem::path(NMC_TARGETS_DIR) / "truenorth.yaml";
}

truenorth_target default_truenorth() { return load_truenorth(default_truenorth_path()); }

std::string describe(const truenorth_target& t) {
  return fmt::format(
      "TrueNorth-style target ({})\n"
      "  chip        {} x {} cores ({}), board {} x {} chips\n"
      "  core        {} axons x {} neurons, {} axon types, weights {}..{}, leak {}..{}\n"
      "  neuron      {}-bit potential, thresholds up to {}, delays {}..{} ticks\n"
      "  routing     reach +/-{} x +/-{} cores, dimension order (x then y)\n"
      "  timing      tick {} ms\n"
      "  energy      static {} mW, {} pJ/synaptic event, {} pJ/neuron update, {} pJ/hop,\n"
      "              {} pJ/chip crossing, {} pJ/off-chip spike (at {} V)",
      t.source, t.cores_x, t.cores_y, t.cores_per_chip(), t.chips_x, t.chips_y, t.axons,
      t.neurons, t.axon_types, t.weight_min, t.weight_max, t.leak_min, t.leak_max,
      t.potential_bits, t.threshold_max, t.delay_min_ticks, t.delay_max_ticks, t.reach_x_cores,
      t.reach_y_cores, t.tick_period_ms, t.static_power_mw, t.synaptic_event_pj,
      t.neuron_update_pj, t.spike_hop_pj, t.chip_crossing_pj, t.offchip_spike_pj,
      t.static_power_voltage_v);
}

chip_arrangement chip_grid(int chips, const truenorth_target& t) {
  chips = std::max(chips, 1);
  chip_arrangement a;
  while (a.x * a.x < chips) ++a.x;  // ceil(sqrt(chips))
  if (chips <= t.chips_per_board())  // a block of the board: no wider than it, no taller
    a.x = std::max(std::min(a.x, t.chips_x), (chips + t.chips_y - 1) / t.chips_y);
  a.y = (chips + a.x - 1) / a.x;
  return a;
}

}  // namespace nmc::hw
