#include "commands.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include <nmc/compiler/pipeline.hpp>
#include <nmc/convert/load.hpp>
#include <nmc/convert/onnx_import.hpp>
#include <nmc/convert/program_model.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/files.hpp>
#include <nmc/model/stats.hpp>
#include <nmc/runtime/dataset.hpp>

#include "danna.hpp"
#include "evaluate.hpp"
#include "program_info.hpp"
#include "progress.hpp"

namespace nmc::cli {

namespace {

std::string shape_str(const model::tensor_shape& s) {
  return fmt::format("{}x{}x{}", s.channels, s.height, s.width);
}

std::string hash_str(std::uint64_t h) { return fmt::format("{:016x}", h); }

// The file a path names, for comparing outputs: absolute, `.` and `..`
// folded, symlinks of the part that exists resolved.
std::filesystem::path same_file_key(const std::string& path) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec).lexically_normal();
  auto key = std::filesystem::weakly_canonical(absolute, ec);
  return ec ? absolute : key;
}

}  // namespace

void check_distinct_outputs(std::initializer_list<std::pair<const char*, std::string>> outputs) {
  for (auto a = outputs.begin(); a != outputs.end(); ++a) {
    if (a->second.empty()) continue;
    for (auto b = outputs.begin(); b != a; ++b) {
      if (b->second.empty() || same_file_key(a->second) != same_file_key(b->second)) continue;
      throw usage_error(
          b->second == a->second
              ? fmt::format("{} and {} both name {}: one output would replace the other", b->first, a->first, a->second)
              : fmt::format("{} {} and {} {} are the same file: one output would replace the other", b->first,
                            b->second, a->first, a->second),
          fmt::format("give {} and {} different files", b->first, a->first));
    }
  }
}

// The compiler's report inside a program (report_json) is read only here, to
// show it: one that is not the JSON object the compiler writes is an error
// in the file, named as such.
template <class Show>
std::string show_report(const std::string& path, const char* hint, const Show& show) {
  try {
    return show();
  } catch (const nlohmann::json::exception& e) {
    throw model_error(fmt::format("{}: invalid program: report_json, the compiler's report, is not what nmc writes: {}",
                                  path, e.what()), hint);
  }
}

int run_inspect(const inspect_options& opts, std::ostream& out) {
  if (is_dn_program_file(opts.path)) {
    const auto p = convert::load_dn_program(opts.path);
    out << show_report(opts.path, "recompile the model with 'nmc compile --target danna'", [&] {
      return opts.json ? dn_program_json(p, opts.path).dump(2) + "\n" : dn_program_text(p, opts.path);
    });
    return 0;
  }
  if (is_program_file(opts.path)) {
    const auto p = convert::load_program(opts.path);
    out << show_report(opts.path, "recompile the model with 'nmc compile'", [&] {
      return opts.json ? program_json(p, opts.path).dump(2) + "\n" : program_text(p, opts.path);
    });
    return 0;
  }
  const model::network net = convert::load_model(opts.path, convert::import_options{opts.quantize});
  const auto stats = model::compute_stats(net);
  const auto hash = model::content_hash(net);
  if (opts.json) {
    nlohmann::ordered_json j;
    j["model"] = opts.path;
    j["name"] = net.name;
    j["model_hash"] = hash_str(hash);
    auto& layers = j["layers"] = nlohmann::ordered_json::array();
    for (const auto& l : stats.layers) {
      layers.push_back({{"name", l.name},
                        {"kind", l.kind},
                        {"inputs", l.inputs},
                        {"shape", {l.shape.channels, l.shape.height, l.shape.width}},
                        {"values", l.value == model::value_kind::binary ? "binary" : "integer"},
                        {"fan_in", l.fan_in},
                        {"neurons", l.neurons},
                        {"parameters", l.parameters},
                        {"weights", {{"-1", l.weights[0]}, {"0", l.weights[1]}, {"+1", l.weights[2]}}},
                        {"synapses", l.synapses}});
    }
    j["totals"] = {{"layers", stats.layers.size()},
                   {"neurons", stats.neurons},
                   {"parameters", stats.parameters},
                   {"weights", {{"-1", stats.weights[0]}, {"0", stats.weights[1]}, {"+1", stats.weights[2]}}},
                   {"synapses", stats.synapses}};
    out << j.dump(2) << "\n";
    return 0;
  }
  fmt::print(out, "model    {} ({})\nname     {}\nhash     {}\n\n", opts.path,
             net.layers().size() == 1 ? "1 layer" : fmt::format("{} layers", net.size()),
             net.name.empty() ? "-" : net.name, hash_str(hash));
  fmt::print(out, "{:<14} {:<9} {:<16} {:>12} {:>6} {:>9} {:>9} {:>26} {:>11}\n", "layer", "kind",
             "input", "shape CxHxW", "fan-in", "neurons", "params", "weights -1 / 0 / +1",
             "synapses");
  for (const auto& l : stats.layers) {
    std::string inputs;
    for (const auto& in : l.inputs) inputs += (inputs.empty() ? "" : ",") + in;
    const bool has_w = l.weights[0] + l.weights[1] + l.weights[2] > 0;
    fmt::print(out, "{:<14} {:<9} {:<16} {:>12} {:>6} {:>9} {:>9} {:>26} {:>11}\n", l.name, l.kind,
               inputs.empty() ? "-" : inputs, shape_str(l.shape),
               l.fan_in ? fmt::format("{}", l.fan_in) : "", l.neurons ? fmt::format("{}", l.neurons) : "",
               l.parameters ? fmt::format("{}", l.parameters) : "",
               has_w ? fmt::format("{} / {} / {}", l.weights[0], l.weights[1], l.weights[2]) : "",
               l.synapses ? fmt::format("{}", l.synapses) : "");
  }
  fmt::print(out, "{:<14} {:<9} {:<16} {:>12} {:>6} {:>9} {:>9} {:>26} {:>11}\n", "total", "", "", "",
             "", stats.neurons, stats.parameters,
             fmt::format("{} / {} / {}", stats.weights[0], stats.weights[1], stats.weights[2]),
             stats.synapses);
  return 0;
}

int run_eval(const eval_options& opts, std::ostream& out) {
  std::unique_ptr<atomic_file> counts;  // opened first: an unwritable path fails at once
  if (!opts.counts_path.empty()) counts = std::make_unique<atomic_file>(opts.counts_path);
  const model::network net = convert::load_model(opts.model, convert::import_options{opts.quantize});
  runtime::dataset data = runtime::load_dataset(opts.dataset);
  runtime::limit_frames(data, opts.frames);

  evaluation ev;
  {
    progress_bar bar("eval", data.frames);
    ev = evaluate_reference(net, data, opts.threads, [&](std::size_t done) { bar.update(done); });
  }
  const double fps = ev.wall_s > 0 ? ev.frames / ev.wall_s : 0.0;
  const auto classes = static_cast<std::size_t>(ev.classes);

  if (counts) {
    auto& f = counts->stream();
    f << "frame,label,predicted";
    for (std::size_t k = 0; k < classes; ++k) f << ",count" << k;
    f << "\n";
    for (std::size_t i = 0; i < ev.frames; ++i) {
      f << i << ',' << int{data.labels[i]} << ',' << ev.predicted[i];
      for (std::size_t k = 0; k < classes; ++k) f << ',' << ev.counts[i * classes + k];
      f << '\n';
    }
    counts->commit();
  }

  if (opts.json) {
    nlohmann::ordered_json j;
    j["model"] = opts.model;
    j["model_hash"] = hash_str(model::content_hash(net));
    j["dataset"] = data.name;
    j["frames"] = ev.frames;
    j["correct"] = ev.correct;
    j["accuracy"] = ev.accuracy();
    j["frames_per_s"] = fps;
    j["wall_s"] = ev.wall_s;
    j["threads"] = ev.threads;
    auto& cm = j["confusion"] = nlohmann::ordered_json::array();
    for (std::size_t r = 0; r < classes; ++r) {
      cm.push_back(std::vector<std::int64_t>(ev.confusion.begin() + static_cast<std::ptrdiff_t>(r * classes),
                                             ev.confusion.begin() + static_cast<std::ptrdiff_t>((r + 1) * classes)));
    }
    out << j.dump(2) << "\n";
    return 0;
  }
  fmt::print(out, "model      {} (hash {})\n", opts.model, hash_str(model::content_hash(net)));
  fmt::print(out, "dataset    {}, {} frames\n", data.name, ev.frames);
  fmt::print(out, "accuracy   {:.2f} % ({} / {})\n", 100.0 * ev.accuracy(), ev.correct, ev.frames);
  fmt::print(out, "speed      {:.0f} frames/s on {} thread{} ({:.3f} s, reference forward pass)\n",
             fps, ev.threads, ev.threads == 1 ? "" : "s", ev.wall_s);
  return 0;
}

hw::tn_program compile_model(const compile_options& opts) {
  if (opts.target != "truenorth") {
    throw usage_error(fmt::format("--target {}: unknown target", opts.target), "targets: truenorth, danna");
  }
  const model::network net = convert::load_model(opts.model, convert::import_options{opts.quantize});
  const std::string target_path = opts.target_file.empty() ? hw::default_truenorth_path().string() : opts.target_file;
  const std::string target_text = read_file(target_path);
  compiler::pipeline_options po;
  po.opts.chips = opts.chips;
  po.opts.seed = opts.seed;
  po.opts.place_effort = opts.place_effort;
  po.opts.max_copies = opts.max_copies;
  po.dump_after = opts.dump_after;
  po.time_passes = opts.time_passes;
  po.log = &std::cerr;
  try {
    return compiler::compile_truenorth(net, hw::parse_truenorth(target_text, target_path), target_text,
                                       convert::to_yaml(net), po)
        .program;
  } catch (const fit_error& e) {
    // Passes after validation name layers and cores, not the file: add it.
    const std::string what = e.what();
    if (what.starts_with(opts.model)) throw;
    throw fit_error(fmt::format("{}: {}", opts.model, what), e.hint());
  }
}

void refuse_options(const std::vector<std::string>& given, std::initializer_list<const char*> not_taken,
                    const std::string& target, const std::string& hint) {
  for (const char* o : not_taken)
    if (std::find(given.begin(), given.end(), o) != given.end())
      throw usage_error(fmt::format("{} does not take {}", target, o), fmt::format("leave {} out: {}", o, hint));
}

int run_compile(const compile_options& opts, std::ostream& out) {
  if (opts.output.empty()) throw usage_error("compile needs an output file", "add -o PROGRAM");
  if (opts.target == "danna") {
    refuse_options(opts.given, {"--chips", "--place-effort", "--max-copies", "--dump-after"}, "the grid target (--target danna)",
                   "it is for --target truenorth (the grid is sized with --grid or --tiles, and its compiler has no "
                   "passes to dump yet)");
    return run_compile_danna(opts, out);
  }
  if (opts.target == "truenorth")
    refuse_options(opts.given, {"--grid", "--tiles", "--max-fan-in", "--crossbar-fan-in", "--layout", "--route-seconds"},
                   "the TrueNorth target", "it is for --target danna");
  // Opened first: an unwritable path fails before the compile; a failed
  // compile leaves an existing program untouched.
  atomic_file output(opts.output);
  const auto program = compile_model(opts);
  output.stream() << hw::serialize(program);
  output.commit();
  if (opts.json) {
    out << program_json(program, opts.output).dump(2) << "\n";
  } else {
    const auto j = program_json(program, opts.output);
    fmt::print(out, "compiled {} -> {}\n", opts.model, opts.output);
    fmt::print(out, "cores    {} used on {} chip{}{} (lower bound {}), {} splitter cores\n", j["cores_used"].get<std::int64_t>(),
               program.chips, program.chips == 1 ? "" : "s",
               program.chips > 1 ? fmt::format(" arranged {} x {}", program.chips_x, program.chips_y) : "",
               j["cores_lower_bound"].get<std::int64_t>(), j["splitter_cores"].get<std::int64_t>());
    fmt::print(out, "routing  {:.2f} mean hops per spike (naive placement {:.2f}), {} chip crossings\n",
               j["mean_hops_per_spike"].get<double>(), j["naive_mean_hops_per_spike"].get<double>(),
               j["chip_crossings"].get<std::int64_t>());
    fmt::print(out, "latency  {} ticks\n", program.latency_ticks);
  }
  return 0;
}

}  // namespace nmc::cli
