#include <nmc/convert/tennlab.hpp>

#include <cmath>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

namespace nmc::convert {

namespace {

using json = nlohmann::json;
const char* const hint_format = "see TENNLab's network JSON format (framework-open, markdown/framework_network_json_format.md)";

[[noreturn]] void fail(const std::string& source, const std::string& what, const std::string& hint = hint_format) {
  throw model_error(fmt::format("{}: {}", source, what), hint);
}

const json& need(const json& j, const char* key, const std::string& source, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail(source, fmt::format("{} lacks \"{}\"", where, key));
  return j.at(key);
}

// Index of a named property, or -1 if absent (required: fail).
int property(const json& props, const char* list, const char* name, bool required, const std::string& source) {
  if (props.contains(list)) {
    const auto& l = props.at(list);
    if (!l.is_array()) fail(source, fmt::format("Properties.{} is not a list", list));
    for (const auto& p : l) {
      if (!p.is_object() || !p.contains("name") || !p.at("name").is_string()) {
        fail(source, fmt::format("an entry of Properties.{} has no \"name\"", list));
      }
      if (p.at("name").get<std::string>() != name) continue;
      if (!p.contains("index") || !p.at("index").is_number_integer() || p.at("index").get<long long>() < 0 ||
          p.at("index").get<long long>() > 1000) {
        fail(source, fmt::format("Properties.{} '{}' lacks a valid \"index\"", list, name));
      }
      return static_cast<int>(p.at("index").get<long long>());
    }
  }
  if (required) fail(source, fmt::format("Properties.{} has no '{}' property: RISP networks need it", list, name));
  return -1;
}

std::int32_t integer_value(const json& values, int index, const std::string& source, const std::string& where,
                           const char* what, long long lo, long long hi) {
  if (!values.is_array()) fail(source, fmt::format("{}: \"values\" is not a list", where));
  if (static_cast<std::size_t>(index) >= values.size()) {
    fail(source, fmt::format("{}: \"values\" has {} entries, {} is at index {}", where, values.size(), what, index));
  }
  const auto& v = values.at(static_cast<std::size_t>(index));
  if (!v.is_number()) fail(source, fmt::format("{}: {} is not a number", where, what));
  const double d = v.get<double>();
  if (!std::isfinite(d) || d != std::floor(d)) {
    fail(source, fmt::format("{}: {} {} is not an integer", where, what, d),
         "the grid takes discrete RISP networks: round the network's values (\"discrete\": true)");
  }
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    fail(source, fmt::format("{}: {} {} is outside {}..{}", where, what, d, lo, hi));
  }
  return static_cast<std::int32_t>(d);
}

}  // namespace

namespace {

compiler::netlist parse_checked(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // syntax errors and number overflows
    fail(source, fmt::format("not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) fail(source, "the network is not a JSON object");
  const auto& props = need(j, "Properties", source, "the network");
  if (!props.is_object()) fail(source, "\"Properties\" is not an object");
  const int p_thr = property(props, "node_properties", "Threshold", true, source);
  const int p_weight = property(props, "edge_properties", "Weight", true, source);
  const int p_delay = property(props, "edge_properties", "Delay", true, source);

  std::string leak_mode = "none";
  double min_potential = -32768;
  bool inclusive = true;
  if (j.contains("Associated_Data") && j.at("Associated_Data").is_object() && j.at("Associated_Data").contains("proc_params")) {
    const auto& pp = j.at("Associated_Data").at("proc_params");
    if (!pp.is_object()) fail(source, "Associated_Data.proc_params is not an object");
    if (pp.contains("leak_mode")) {
      if (!pp.at("leak_mode").is_string()) fail(source, "proc_params.leak_mode is not a string");
      leak_mode = pp.at("leak_mode").get<std::string>();
      if (leak_mode != "none" && leak_mode != "all" && leak_mode != "configurable") {
        fail(source, fmt::format("proc_params.leak_mode '{}' is not none, all or configurable", leak_mode));
      }
    }
    if (pp.contains("min_potential")) {
      if (!pp.at("min_potential").is_number()) fail(source, "proc_params.min_potential is not a number");
      min_potential = pp.at("min_potential").get<double>();
      if (min_potential != std::floor(min_potential) || min_potential > 0 || min_potential < -1e9) {
        fail(source, fmt::format("proc_params.min_potential {} must be an integer <= 0", min_potential));
      }
    }
    if (pp.contains("threshold_inclusive")) {
      if (!pp.at("threshold_inclusive").is_boolean()) fail(source, "proc_params.threshold_inclusive is not true/false");
      inclusive = pp.at("threshold_inclusive").get<bool>();
    }
    if (pp.contains("discrete") && pp.at("discrete").is_boolean() && !pp.at("discrete").get<bool>()) {
      // Accepted as long as every value is integral (checked per value below).
    }
    if (pp.contains("fire_like_ravens") && pp.at("fire_like_ravens").is_boolean() && pp.at("fire_like_ravens").get<bool>()) {
      fail(source, "proc_params.fire_like_ravens = true is not supported by the grid target",
           "use a RISP network with fire_like_ravens false");
    }
  }
  const int p_leak = property(props, "node_properties", "Leak", leak_mode == "configurable", source);

  compiler::netlist nl;
  nl.mode = hw::dn_mode::spikes;
  nl.source = source;
  nl.model_text = text;
  nl.model_hash = fnv1a64(text);
  nl.model_name = std::filesystem::path(source).stem().string();
  nl.groups = {"network"};
  std::unordered_map<long long, std::uint32_t> index;
  const auto& nodes = need(j, "Nodes", source, "the network");
  if (!nodes.is_array()) fail(source, "\"Nodes\" is not a list");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    const auto& idj = need(n, "id", source, fmt::format("node #{} of \"Nodes\"", i));
    if (!idj.is_number_integer() || idj.get<long long>() < 0 || idj.get<long long>() > 0xffffffffLL) {
      fail(source, fmt::format("node #{} of \"Nodes\": \"id\" must be an unsigned 32-bit integer", i));
    }
    const long long id = idj.get<long long>();
    const std::string where = fmt::format("node {}", id);
    if (!index.emplace(id, static_cast<std::uint32_t>(nl.neurons.size())).second) fail(source, where + ": id used twice");
    const auto& values = need(n, "values", source, where);
    compiler::net_neuron nr;
    nr.name = where;
    nr.threshold = integer_value(values, p_thr, source, where, "threshold", -(1LL << 30), 1LL << 30);
    if (!inclusive) nr.threshold += 1;
    nr.charge_min = static_cast<std::int32_t>(std::max(min_potential, -1e9));
    bool leak = leak_mode == "all";
    if (p_leak >= 0 && leak_mode == "configurable") leak = integer_value(values, p_leak, source, where, "leak", 0, 1) != 0;
    nr.leak = leak ? hw::leak_kind::reset : hw::leak_kind::none;
    nr.fx = 0, nr.fy = 0;
    nl.neurons.push_back(nr);
  }
  const auto& edges = need(j, "Edges", source, "the network");
  if (!edges.is_array()) fail(source, "\"Edges\" is not a list");
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const auto& e = edges[i];
    const std::string pos = fmt::format("edge #{} of \"Edges\"", i);
    auto node_ref = [&](const char* key) {
      const auto& r = need(e, key, source, pos);
      if (!r.is_number_integer()) fail(source, fmt::format("{}: \"{}\" is not a node id", pos, key));
      const auto it = index.find(r.get<long long>());
      if (it == index.end()) fail(source, fmt::format("{}: \"{}\" names node {}, which does not exist", pos, key, r.get<long long>()));
      return std::pair{it->second, r.get<long long>()};
    };
    const auto [from, fid] = node_ref("from");
    const auto [to, tid] = node_ref("to");
    const std::string where = fmt::format("edge {} -> {}", fid, tid);
    const auto& values = need(e, "values", source, where);
    const auto w = integer_value(values, p_weight, source, where, "weight", -(1LL << 30), 1LL << 30);
    const auto d = integer_value(values, p_delay, source, where, "delay", -(1LL << 30), 1LL << 30);
    if (d < 1) fail(source, fmt::format("{}: delay {} is below 1: RISP delivers spikes at t + delay, delay >= 1", where, d));
    if (d > 4096) fail(source, fmt::format("{}: delay {} is above the 4096 steps nmc supports", where, d));
    if (w != 0) nl.edges.push_back({from, to, w, d});
  }
  auto id_list = [&](const char* key, std::vector<std::uint32_t>& out) {
    const auto& l = need(j, key, source, "the network");
    if (!l.is_array()) fail(source, fmt::format("\"{}\" is not a list", key));
    for (const auto& r : l) {
      if (!r.is_number_integer()) fail(source, fmt::format("\"{}\" holds a non-integer node id", key));
      const auto it = index.find(r.get<long long>());
      if (it == index.end()) fail(source, fmt::format("\"{}\" names node {}, which does not exist", key, r.get<long long>()));
      out.push_back(it->second);
    }
  };
  id_list("Inputs", nl.inputs);
  id_list("Outputs", nl.outputs);
  for (std::size_t k = 0; k < nl.outputs.size(); ++k) nl.output_class.push_back(static_cast<std::int32_t>(k));
  if (nl.neurons.empty()) fail(source, "the network has no nodes");
  return nl;
}

}  // namespace

compiler::netlist parse_tennlab(const std::string& text, const std::string& source) {
  try {
    return parse_checked(text, source);
  } catch (const json::exception& e) {  // a value of an unexpected type deep inside
    throw model_error(fmt::format("{}: invalid network: {}", source, e.what()), hint_format);
  }
}

compiler::netlist read_tennlab(const std::filesystem::path& path) { return parse_tennlab(read_file(path), path.string()); }

}  // namespace nmc::convert
