// nmc compile/inspect/simulate for DANNA-style grid programs.

#include "danna.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <regex>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <nmc/compiler/danna.hpp>
#include <nmc/compiler/netlist.hpp>
#include <nmc/convert/load.hpp>
#include <nmc/convert/onnx_import.hpp>
#include <nmc/convert/tennlab.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/danna.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/dn_sim.hpp>
#include <nmc/runtime/parallel.hpp>

#include "progress.hpp"

namespace nmc::cli {

namespace {

std::pair<int, int> parse_pair(const std::string& s, const char* option) {
  static const std::regex re(R"((\d{1,5})x(\d{1,5}))");
  std::smatch m;
  if (!std::regex_match(s, m, re) || std::stoi(m[1]) < 1 || std::stoi(m[2]) < 1) {
    throw usage_error(fmt::format("{} {}: expected WxH with positive numbers, e.g. 4x4", option, s));
  }
  return {std::stoi(m[1]), std::stoi(m[2])};
}

}  // namespace

bool is_dn_program_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && hw::is_dn_program(std::string(magic, 8));
}

hw::dn_program compile_danna_model(const compile_options& opts) {
  const std::string target_path = opts.target_file.empty() ? hw::default_danna_path().string() : opts.target_file;
  std::string target_text = read_file(target_path);
  auto target = hw::parse_danna(target_text, target_path);
  if (!opts.grid.empty() && !opts.tiles.empty()) throw usage_error("--grid and --tiles exclude each other");
  if (!opts.grid.empty()) {
    const auto [w, h] = parse_pair(opts.grid, "--grid");
    target_text = hw::with_geometry(target_text, target_path, w, h, 1, 1);
  } else if (!opts.tiles.empty()) {
    const auto [tx, ty] = parse_pair(opts.tiles, "--tiles");
    target_text = hw::with_geometry(target_text, target_path, target.tile_w, target.tile_h, tx, ty);
  }
  target = hw::parse_danna(target_text, target_path);
  compiler::netlist nl;
  if (std::filesystem::path(opts.model).extension() == ".json") {
    nl = convert::read_tennlab(opts.model);
  } else {
    const model::network net = convert::load_model(opts.model, convert::import_options{opts.quantize});
    nl = compiler::netlist_from_model(net, convert::to_yaml(net));
  }
  compiler::danna_options d;
  d.seed = opts.seed;
  d.max_fan_in = opts.max_fan_in;
  d.crossbar_fan_in = opts.crossbar_fan_in;
  d.route_seconds = opts.route_seconds;
  d.layout = opts.layout == "stripes" ? compiler::danna_layout::stripes : compiler::danna_layout::route;
  // Routing progress on a terminal too: a large model routes for minutes.
  d.log = opts.time_passes || isatty(STDERR_FILENO) != 0 ? &std::cerr : nullptr;
  return compiler::compile_danna(nl, target, target_text, d);
}

int run_compile_danna(const compile_options& opts, std::ostream& out) {
  // Opened first, as on TrueNorth: an unwritable or unreplaceable path fails before the routing.
  atomic_file output(opts.output);
  const auto program = compile_danna_model(opts);
  output.stream() << hw::serialize(program);
  output.commit();
  const auto j = dn_program_json(program, opts.output);
  if (opts.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  fmt::print(out, "compiled {} -> {}\n", opts.model, opts.output);
  out << dn_program_text(program, opts.output);
  return 0;
}

nlohmann::ordered_json dn_program_json(const hw::dn_program& p, const std::string& path) {
  nlohmann::ordered_json j;
  j["program"] = path;
  j["target"] = "danna";
  j["mode"] = p.mode == hw::dn_mode::frames ? "frames" : "spikes";
  j["model"] = p.model_name;
  j["model_hash"] = fmt::format("{:016x}", p.model_hash);
  j["inputs"] = p.inputs.size();
  j["outputs"] = p.outputs.size();
  const auto rep = nlohmann::ordered_json::parse(p.report_json.empty() ? "{}" : p.report_json);
  for (auto it = rep.begin(); it != rep.end(); ++it) j[it.key()] = it.value();
  // per layer: elements by kind
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  std::vector<std::array<std::int64_t, 2>> per(p.layers.size(), {0, 0});
  for (const auto& e : p.elements) ++per[e.layer][e.kind == hw::element_kind::neuron ? 0 : 1];
  for (std::size_t l = 0; l < p.layers.size(); ++l)
    layers.push_back({{"name", p.layers[l]}, {"neurons", per[l][0]}, {"synapses", per[l][1]}});
  j["layers"] = layers;
  return j;
}

std::string dn_program_text(const hw::dn_program& p, const std::string& path) {
  const auto j = dn_program_json(p, path);
  auto num = [&](const char* k) { return j.contains(k) ? j[k].dump() : std::string("-"); };
  std::string s = fmt::format("program  {} (DANNA-style grid, {} mode), model {}\n", path,
                              p.mode == hw::dn_mode::frames ? "frames" : "spikes", p.model_name.empty() ? "-" : p.model_name);
  s += fmt::format("grid     {} x {} elements ({} x {} tiles of {} x {}){}\n", num("grid_width"), num("grid_height"),
                   p.target.tiles_x, p.target.tiles_y, p.target.tile_w, p.target.tile_h,
                   j.contains("placement_pitch") ? ", placement pitch " + num("placement_pitch") : std::string());
  s += fmt::format("elements {} used of {} ({:.1f} %): {} neurons, {} partial sums, {} relays ({} delaying), {} weight, "
                   "{} merge\n",
                   num("elements_used"), num("elements_available"), 100.0 * j.value("utilisation", 0.0),
                   num("neuron_elements"), num("partial_sum_elements"), num("relay_elements"), num("delaying_relays"),
                   num("weight_elements"), num("merge_elements"));
  if (j.value("crossbars", std::int64_t{0}) > 0)
    s += fmt::format("crossbar {} block{} of {} elements (line starts, lines and chains)\n", num("crossbars"),
                     j.value("crossbars", std::int64_t{0}) == 1 ? "" : "s", num("crossbar_elements"));
  // The router routes each netlist edge; the stripes layout routes each value
  // to each stripe that reads it (its edges become crossbar lines), so say which.
  const std::string routed = j.contains("routes")
                                 ? fmt::format("{} value-to-stripe routes (for {} edges)", num("routes"), num("edges"))
                                 : fmt::format("{} edges", num("edges"));
  s += fmt::format("routes   {}, mean length {:.2f}, max {} synapse elements; {} tile-crossing links\n", routed,
                   j.value("mean_route_length", 0.0), num("max_route_length"), num("tile_crossing_links"));
  if (j.value("layout", std::string("route")) == "stripes") {
    s += fmt::format("layout   stripes: {} x {} elements, {} buses in {} columns, {} pools below their chains; no routing "
                     "search\n", num("layout_width"), num("layout_height"), num("buses"), num("bus_columns"),
                     num("attached_pools"));
  } else {
    s += fmt::format("routing  {} PathFinder iterations, {} overused elements after the first\n", num("pathfinder_iterations"),
                     num("first_iteration_overused_elements"));
  }
  if (p.mode == hw::dn_mode::frames) {
    s += fmt::format("latency  {} cycles, one frame per cycle\n", p.latency_cycles);
  } else {
    s += fmt::format("timing   {} cycles per network time step\n", p.cycles_per_tick);
  }
  s += fmt::format("\n{:<22} {:>9} {:>9}\n", "layer", "neurons", "synapses");
  for (const auto& l : j["layers"])
    s += fmt::format("{:<22} {:>9} {:>9}\n", l["name"].get<std::string>(), l["neurons"].get<std::int64_t>(),
                     l["synapses"].get<std::int64_t>());
  return s;
}

int run_simulate_danna(const hw::dn_program& p, const simulate_options& opts, std::ostream& out) {
  const int threads = opts.threads == 0 ? runtime::hardware_threads() : opts.threads;
  // The tighter of --max-memory and the machine's available memory applies, as on TrueNorth.
  const runtime::dn_sim_options sim_opts{.fold_relays = !opts.step_relays,
                                         .memory = runtime::resolve_memory_limit(opts.max_memory_mib * std::size_t{1024} * 1024)};
  if (p.mode == hw::dn_mode::spikes) {
    if (opts.spikes_in.empty()) {
      throw usage_error(fmt::format("{} was compiled from a TENNLab network: it needs input spikes", opts.program),
                        "add --spikes-in FILE with lines 'tick input [value]'");
    }
    std::unique_ptr<atomic_file> report;  // opened before the run: a bad path fails at once
    if (!opts.report_path.empty()) report = std::make_unique<atomic_file>(opts.report_path);
    const auto spikes = runtime::parse_spike_file(read_file(opts.spikes_in), opts.spikes_in, p.inputs.size());
    const std::int64_t steps = opts.steps > 0 ? opts.steps : (spikes.empty() ? 0 : spikes.back().tick) + 100;
    const auto start = std::chrono::steady_clock::now();
    const auto r = runtime::run_dn_spikes(p, spikes, steps, threads, sim_opts);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto e = runtime::dn_energy(p, r.per_layer, r.cycles, 0);
    nlohmann::ordered_json j;
    j["program"] = opts.program;
    j["steps"] = steps;
    j["cycles"] = r.cycles;
    j["cycles_per_step"] = p.cycles_per_tick;
    j["input_spikes"] = spikes.size();
    j["output_counts"] = r.counts;
    j["output_fire_steps"] = r.fire_ticks;
    j["synaptic_events"] = r.totals.synaptic_events;
    j["spikes"] = r.totals.spikes;
    j["hops"] = r.totals.hops;
    j["tile_crossings"] = r.totals.chip_crossings;
    j["energy_uj"] = e.total_uj;
    j["power_mw"] = e.power_mw;
    j["wall_s"] = wall;
    j["threads"] = threads;
    j["energy_model"] = {{"counted", e.counted}, {"not_counted", e.not_counted}};
    if (report) {
      report->stream() << j.dump(2) << "\n";
      report->commit();
    }
    if (opts.json) {
      out << j.dump(2) << "\n";
    } else {
      fmt::print(out, "program   {} ({} elements), {} steps = {} cycles, {} input spikes\n", opts.program, p.elements.size(),
                 steps, r.cycles, spikes.size());
      for (std::size_t o = 0; o < r.counts.size(); ++o) fmt::print(out, "output {:<4} {} spikes\n", o, r.counts[o]);
      fmt::print(out, "energy    {:.4f} uJ, {} synapse activations, {} fires\n", e.total_uj, r.totals.synaptic_events,
                 r.totals.spikes);
    }
    return 0;
  }
  run_outputs outputs(opts);
  runtime::dataset data = runtime::load_dataset(opts.dataset);
  runtime::limit_frames(data, opts.frames);
  runtime::frame_results r;
  {
    progress_bar bar("simulate", data.frames);
    r = runtime::run_dn_frames(p, data, threads, [&](std::size_t done) {
      bar.update(done);
      return true;
    }, sim_opts);
  }
  frame_summary fs;
  fs.program_name = opts.program;
  fs.model_name = p.model_name;
  fs.model_text = p.model_text;
  fs.model_hash = p.model_hash;
  fs.hardware = fmt::format("{} x {} grid, {} elements configured", p.target.width(), p.target.height(), p.elements.size());
  if (r.stepped_elements < p.elements.size()) {
    fs.hardware += fmt::format("; {} stepped, {} relays run as delay lines", r.stepped_elements,
                               p.elements.size() - r.stepped_elements);
  }
  fs.ticks_per_frame = 1;
  fs.latency_ticks = p.latency_cycles;
  fs.tick_unit = "cycle";
  return report_frames(fs, data, r, [&](const runtime::frame_results& res) {
    return runtime::dn_energy(p, res.per_layer, res.ticks, res.frames);
  }, opts, threads, outputs, out);
}

}  // namespace nmc::cli
