#include <nmc/hw/danna.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

namespace nmc::hw {

namespace {

const char* const hint = "start from the shipped hw_models/targets/danna.yaml";

// Strict reader: every key required, ranges checked, unknown keys refused.
// (The TrueNorth loader has the same shape; the neighbour list is specific.)
class reader {
public:
  reader(const std::string& text, std::string source) : source_(std::move(source)) {
    try {
      root_ = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw config_error(fmt::format("{}:{}:{}: YAML syntax error: {}", source_, e.mark.line + 1,
                                     e.mark.column + 1, e.msg));
    }
    if (!root_.IsMap()) throw config_error(fmt::format("{}: not a YAML mapping", source_), hint);
  }

  template <class T> void get(const char* section, const char* key, T& out, double lo, double hi) {
    const YAML::Node sec = root_[section];
    if (!sec || !sec.IsMap()) throw config_error(fmt::format("{}: missing section '{}'", source_, section), hint);
    const YAML::Node n = sec[key];
    if (!n) {
      throw config_error(fmt::format("{}:{}: section '{}' lacks '{}'", source_, sec.Mark().line + 1, section, key),
                         hint);
    }
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      throw config_error(fmt::format("{}:{}: {}.{} is '{}', not a number", source_, n.Mark().line + 1, section, key,
                                     n.IsScalar() ? n.Scalar() : std::string("(not a scalar)")));
    }
    if (static_cast<double>(out) < lo || static_cast<double>(out) > hi) {
      throw config_error(fmt::format("{}:{}: {}.{} = {} is outside {}..{}", source_, n.Mark().line + 1, section, key,
                                     out, lo, hi));
    }
    seen_[section].insert(key);
  }

  std::vector<std::array<int, 2>> neighbours() {
    const YAML::Node n = root_["neighbours"];
    if (!n || !n.IsSequence() || n.size() == 0 || n.size() > 16) {
      throw config_error(fmt::format("{}: 'neighbours' must be a list of 1..16 [dx, dy] offsets", source_), hint);
    }
    std::vector<std::array<int, 2>> out;
    for (const auto& o : n) {
      if (!o.IsSequence() || o.size() != 2) {
        throw config_error(fmt::format("{}:{}: a neighbour offset must be [dx, dy]", source_, o.Mark().line + 1), hint);
      }
      std::array<int, 2> d{};
      try {
        d = {o[0].as<int>(), o[1].as<int>()};
      } catch (const YAML::Exception&) {
        throw config_error(fmt::format("{}:{}: a neighbour offset must be two integers", source_, o.Mark().line + 1));
      }
      if ((d[0] == 0 && d[1] == 0) || std::abs(d[0]) > 7 || std::abs(d[1]) > 7) {
        throw config_error(fmt::format("{}:{}: neighbour offset [{}, {}] must be non-zero and within +/-7", source_,
                                       o.Mark().line + 1, d[0], d[1]));
      }
      if (std::find(out.begin(), out.end(), d) != out.end()) {
        throw config_error(fmt::format("{}:{}: neighbour offset [{}, {}] listed twice", source_, o.Mark().line + 1,
                                       d[0], d[1]));
      }
      out.push_back(d);
    }
    for (const auto& d : out) {
      if (std::find(out.begin(), out.end(), std::array<int, 2>{-d[0], -d[1]}) == out.end()) {
        throw config_error(fmt::format("{}: neighbour offset [{}, {}] without its opposite [{}, {}]", source_, d[0],
                                       d[1], -d[0], -d[1]),
                           "links are symmetric: list both directions");
      }
    }
    return out;
  }

  void reject_unknown() {
    for (const auto& kv : root_) {
      const auto name = kv.first.as<std::string>();
      if (name == "target" || name == "version" || name == "neighbours") continue;
      auto it = seen_.find(name);
      if (it == seen_.end()) {
        throw config_error(fmt::format("{}:{}: unknown section '{}'", source_, kv.first.Mark().line + 1, name));
      }
      for (const auto& inner : kv.second) {
        const auto key = inner.first.as<std::string>();
        if (!it->second.count(key)) {
          throw config_error(fmt::format("{}:{}: unknown key '{}.{}'", source_, inner.first.Mark().line + 1, name, key));
        }
      }
    }
  }

  const YAML::Node& root() const { return root_; }

private:
  std::string source_;
  YAML::Node root_;
  std::map<std::string, std::set<std::string>> seen_;
};

}  // namespace

danna_target parse_danna(const std::string& text, const std::string& source) {
  reader r(text, source);
  const auto target = r.root()["target"];
  if (!target || !target.IsScalar() || target.Scalar() != "danna") {
    throw config_error(fmt::format("{}: 'target: danna' missing", source),
                       "this file does not describe a DANNA-style grid target");
  }
  danna_target t;
  t.source = source;
  r.get("tile", "width", t.tile_w, 1, 4096);
  r.get("tile", "height", t.tile_h, 1, 4096);
  r.get("tiles", "x", t.tiles_x, 1, 1024);
  r.get("tiles", "y", t.tiles_y, 1, 1024);
  t.neighbours = r.neighbours();
  r.get("element", "value_bits", t.value_bits, 2, 30);
  r.get("element", "weight_min", t.weight_min, -32768, 0);
  r.get("element", "weight_max", t.weight_max, 1, 32767);
  r.get("element", "threshold_bits", t.threshold_bits, 2, 30);
  r.get("element", "charge_bits", t.charge_bits, 2, 30);
  r.get("element", "delay_min_cycles", t.delay_min_cycles, 1, 1);
  r.get("element", "delay_max_cycles", t.delay_max_cycles, 1, 16);
  r.get("timing", "cycle_ns", t.cycle_ns, 1e-6, 1e9);
  r.get("timing", "tile_crossing_cycles", t.tile_crossing_cycles, 0, 7);
  r.get("energy", "synapse_activation_pj", t.synapse_activation_pj, 0, 1e9);
  r.get("energy", "neuron_accumulate_pj", t.neuron_accumulate_pj, 0, 1e9);
  r.get("energy", "fire_pj", t.fire_pj, 0, 1e9);
  r.get("energy", "hop_pj", t.hop_pj, 0, 1e9);
  r.get("energy", "tile_crossing_pj", t.tile_crossing_pj, 0, 1e9);
  r.get("energy", "static_per_element_cycle_pj", t.static_per_element_cycle_pj, 0, 1e9);
  r.reject_unknown();
  if (t.elements() > (1LL << 31)) {
    throw config_error(fmt::format("{}: {} x {} elements is more than 2^31", source, t.width(), t.height()),
                       "use fewer or smaller tiles");
  }
  return t;
}

danna_target load_danna(const std::filesystem::path& path) { return parse_danna(read_file(path), path.string()); }

std::filesystem::path default_danna_path() {
  if (const char* env = std::getenv("NMC_TARGETS_DIR"); env && *env) return std::filesystem::path(env) / "danna.yaml";
  return std::filesystem::path(NMC_TARGETS_DIR) / "danna.yaml";
}

std::string describe(const danna_target& t) {
  return fmt::format(
      "DANNA-style grid target ({})\n"
      "  grid        {} x {} tiles of {} x {} elements = {} x {} ({} elements), {} neighbours\n"
      "  element     {}-bit values, weights {}..{}, {}-bit thresholds, {}-bit charge, delays {}..{} cycles\n"
      "  timing      cycle {} ns, tile crossing +{} cycles\n"
      "  energy      {} pJ/synapse activation, {} pJ/neuron accumulate, {} pJ/fire, {} pJ/hop,\n"
      "              {} pJ/tile crossing, {} pJ static per element per cycle (all assumptions)",
      t.source, t.tiles_x, t.tiles_y, t.tile_w, t.tile_h, t.width(), t.height(), t.elements(), t.neighbours.size(),
      t.value_bits, t.weight_min, t.weight_max, t.threshold_bits, t.charge_bits, t.delay_min_cycles,
      t.delay_max_cycles, t.cycle_ns, t.tile_crossing_cycles, t.synapse_activation_pj, t.neuron_accumulate_pj,
      t.fire_pj, t.hop_pj, t.tile_crossing_pj, t.static_per_element_cycle_pj);
}

std::string with_geometry(const std::string& text, const std::string& source, int tile_w, int tile_h, int tiles_x,
                          int tiles_y) {
  parse_danna(text, source);  // the original must be valid
  YAML::Node root = YAML::Load(text);
  root["tile"]["width"] = tile_w;
  root["tile"]["height"] = tile_h;
  root["tiles"]["x"] = tiles_x;
  root["tiles"]["y"] = tiles_y;
  YAML::Emitter e;
  e << root;
  std::string out = std::string("# ") + source + " with geometry " + std::to_string(tiles_x) + "x" +
                    std::to_string(tiles_y) + " tiles of " + std::to_string(tile_w) + "x" + std::to_string(tile_h) +
                    " elements\n" + e.c_str() + "\n";
  parse_danna(out, source + " (geometry override)");
  return out;
}

}  // namespace nmc::hw
