// nmc simulate / nmc run: a program over a dataset, checked against the
// reference pass of the model it was compiled from, with the energy report.

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include <nmc/convert/program_model.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/model/network.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/distributed.hpp>
#include <nmc/runtime/parallel.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "commands.hpp"
#include "danna.hpp"
#include "evaluate.hpp"
#include "program_info.hpp"
#include "progress.hpp"

namespace nmc::cli {

namespace {

// Ctrl-C stops a simulation at the next progress check; the report then
// covers the frames completed so far and says it is partial.
std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) { interrupted.store(true); }

struct sigint_guard {
  struct sigaction old {};
  sigint_guard() {
    interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
  }
  ~sigint_guard() { sigaction(SIGINT, &old, nullptr); }
};

nlohmann::ordered_json counts_json(const runtime::event_counts& c) {
  return {{"synaptic_events", c.synaptic_events}, {"neuron_updates", c.neuron_updates}, {"spikes", c.spikes},
          {"hops", c.hops}, {"chip_crossings", c.chip_crossings}, {"offchip_spikes", c.offchip_spikes}};
}

runtime::sim_options sim_options_of(const simulate_options& opts) {
  runtime::sim_options so;
  so.threads = opts.threads == 0 ? runtime::hardware_threads() : opts.threads;
  so.ticks_per_frame = opts.ticks_per_frame;
  so.record_spikes = !opts.spikes_path.empty();
  so.memory_limit_bytes = opts.max_memory_mib * std::size_t{1024} * 1024;
  so.threading = opts.thread_mode == "cores"    ? runtime::thread_mode::cores
                 : opts.thread_mode == "frames" ? runtime::thread_mode::frames
                                                : runtime::thread_mode::automatic;
  return so;
}

// What the report says about a TrueNorth program.
frame_summary summary_of(const hw::tn_program& program, const std::string& name, const runtime::sim_options& so) {
  frame_summary fs;
  fs.program_name = name;
  fs.model_name = program.model_name;
  fs.model_text = program.model_text;
  fs.model_hash = program.model_hash;
  fs.hardware = fmt::format("{} cores, {} chip{}", program.cores.size(), program.chips, program.chips == 1 ? "" : "s");
  fs.ticks_per_frame = so.ticks_per_frame > 0 ? so.ticks_per_frame : static_cast<int>(program.ticks_per_frame);
  fs.latency_ticks = program.latency_ticks;
  // The reference pass gives the class counts of the program's own ticks
  // per frame; holding each frame for other ticks changes them.
  if (fs.ticks_per_frame != static_cast<int>(program.ticks_per_frame)) {
    fs.reference_skipped = fmt::format("--ticks-per-frame {} differs from the program's {}, which the reference pass counts",
                                       fs.ticks_per_frame, program.ticks_per_frame);
  }
  return fs;
}

// Options that mean nothing to a TrueNorth program.
void refuse_grid_options(const simulate_options& opts) {
  refuse_options(opts.given, {"--spikes-in", "--steps", "--step-relays"}, "a TrueNorth program",
                 "it is for grid programs (nmc compile --target danna)");
}

runtime::dataset load_frames(const simulate_options& opts) {
  runtime::dataset data = runtime::load_dataset(opts.dataset);
  runtime::limit_frames(data, opts.frames);
  return data;
}

int simulate_program(const hw::tn_program& program, const std::string& program_name, runtime::dataset data,
                     const simulate_options& opts, run_outputs& outputs, std::ostream& out) {
  const runtime::sim_options so = sim_options_of(opts);
  auto* spikes = outputs.spikes.get();
  if (spikes) spikes->stream() << "tick,core,neuron,layer\n";
  runtime::frame_results r;
  {
    const sigint_guard guard;
    progress_bar bar("simulate", data.frames);
    r = runtime::run_frames(
        program, data, so,
        [&](std::size_t done) {
          bar.update(done);
          // A spike file that cannot be written (disk full, file too large)
          // stops the run now, not after the whole simulation.
          if (spikes && !spikes->stream()) {
            throw io_error(fmt::format("{}: writing spikes failed after {} of {} frames: {}", opts.spikes_path, done,
                                       data.frames, std::strerror(errno)),
                           "check free disk space and file size limits (ulimit -f), or leave out --spikes");
          }
          return !interrupted.load();
        },
        [&](std::int64_t tick, const std::vector<runtime::fired_neuron>& fired) {
          auto& s = spikes->stream();
          for (const auto& f : fired) s << tick << ',' << f.core << ',' << f.neuron << ',' << program.layers[program.cores[f.core].layer] << '\n';
        });
  }
  const frame_summary fs = summary_of(program, program_name, so);
  return report_frames(
      fs, data, r,
      [&](const runtime::frame_results& res) {
        return runtime::energy(program, res.per_layer, res.ticks, res.frames, opts.tick_ms);
      },
      opts, so.threads, outputs, out);
}

}  // namespace

run_outputs::run_outputs(const simulate_options& opts, const std::string& program_path) {
  if (!program_path.empty()) program = std::make_unique<atomic_file>(program_path);
  if (!opts.report_path.empty()) report = std::make_unique<atomic_file>(opts.report_path);
  if (!opts.spikes_path.empty()) spikes = std::make_unique<atomic_file>(opts.spikes_path);
}

void run_outputs::commit() {
  const auto all = {program.get(), spikes.get(), report.get()};
  for (auto* f : all)
    if (f) f->close();
  for (auto* f : all)
    if (f) f->commit();
}

reference_tally compare_with_reference(const frame_summary& fs, const runtime::dataset& data,
                                       const runtime::frame_results& r, int threads, std::size_t begin,
                                       std::size_t end) {
  const auto net = convert::parse_yaml_model(fs.model_text, fs.program_name + " (embedded model)");
  if (model::content_hash(net) != fs.model_hash) {
    throw model_error(fmt::format("{}: the embedded model does not match the program's model hash", fs.program_name),
                      "recompile the model with 'nmc compile'");
  }
  const bool whole = begin == 0 && end == data.frames;
  const runtime::dataset slice = whole ? runtime::dataset{} : runtime::slice_frames(data, begin, end);
  const runtime::dataset& frames = whole ? data : slice;
  evaluation ev;
  {
    progress_bar bar("reference", frames.frames);
    ev = evaluate_reference(net, frames, threads, [&](std::size_t d) { bar.update(d); });
  }
  if (ev.classes != r.classes) {  // verify_embedded_model rules this out for a program file
    throw internal_error(fmt::format("{}: {} classes simulated, the reference pass has {}", fs.program_name, r.classes,
                                     ev.classes));
  }
  const auto classes = static_cast<std::size_t>(r.classes);
  reference_tally t;
  t.frames = end - begin;
  t.reference_correct = ev.correct;
  for (std::size_t f = 0; f < t.frames; ++f)
    t.same += std::equal(r.counts.begin() + static_cast<std::ptrdiff_t>((begin + f) * classes),
                         r.counts.begin() + static_cast<std::ptrdiff_t>((begin + f + 1) * classes),
                         ev.counts.begin() + static_cast<std::ptrdiff_t>(f * classes));
  return t;
}

int report_frames(const frame_summary& fs, runtime::dataset& data, runtime::frame_results& r,
                  const std::function<runtime::energy_report(const runtime::frame_results&)>& energy_of,
                  const simulate_options& opts, int threads, run_outputs& outputs, std::ostream& out,
                  const report_extras& extras) {
  if (r.partial) {  // the report covers the completed frames only
    data.frames = r.frames;
    data.labels.resize(r.frames);
    data.pixels.resize(r.frames * data.pixels_per_frame());
  }
  // The reference pass of the embedded model, on the same frames.
  std::optional<double> agreement, reference_accuracy;
  std::optional<reference_tally> tally = extras.reference;
  if (!tally && opts.check_reference && !fs.model_text.empty() && fs.reference_skipped.empty())
    tally = compare_with_reference(fs, data, r, threads, 0, r.frames);
  if (tally) {
    agreement = tally->frames ? static_cast<double>(tally->same) / static_cast<double>(tally->frames) : 1.0;
    reference_accuracy =
        tally->frames ? static_cast<double>(tally->reference_correct) / static_cast<double>(tally->frames) : 0.0;
  }

  std::size_t correct = 0;
  for (std::size_t f = 0; f < r.frames; ++f) correct += r.predicted[f] == data.labels[f];
  const double accuracy = r.frames ? static_cast<double>(correct) / static_cast<double>(r.frames) : 0.0;
  const auto e = energy_of(r);
  const double sim_fps = r.wall_s > 0 ? static_cast<double>(r.frames) / r.wall_s : 0.0;

  nlohmann::ordered_json j;
  j["program"] = fs.program_name;
  j["model"] = fs.model_name;
  j["dataset"] = data.name;
  j["frames"] = r.frames;
  j["partial"] = r.partial;
  j["correct"] = correct;
  j["accuracy"] = accuracy;
  j["reference_accuracy"] = reference_accuracy ? nlohmann::ordered_json(*reference_accuracy) : nlohmann::ordered_json();
  j["reference_agreement"] = agreement ? nlohmann::ordered_json(*agreement) : nlohmann::ordered_json();
  j["ticks"] = r.ticks;
  j["ticks_per_frame"] = fs.ticks_per_frame;
  j["latency_ticks"] = fs.latency_ticks;
  j["synaptic_events"] = r.totals.synaptic_events;
  j["spikes"] = r.totals.spikes;
  j["neuron_updates"] = r.totals.neuron_updates;
  j["hops"] = r.totals.hops;
  j["chip_crossings"] = r.totals.chip_crossings;
  j["offchip_spikes"] = r.totals.offchip_spikes;
  j["tick_ms"] = e.tick_ms;
  j["hardware_s"] = e.seconds;
  j["energy_uj"] = e.total_uj;
  j["static_energy_uj"] = e.static_uj;
  j["chips_powered"] = e.chips_powered;
  j["dynamic_energy_uj"] = e.dynamic_uj;
  j["energy_per_frame_uj"] = e.per_frame_uj;
  j["power_mw"] = e.power_mw;
  j["hardware_fps"] = e.hardware_fps;
  j["wall_s"] = r.wall_s;
  j["sim_frames_per_s"] = sim_fps;
  j["threads"] = threads;
  if (const auto* d = extras.distributed) {
    j["ranks"] = extras.ranks;
    j["mpi_mode"] = runtime::to_string(d->mode);
    auto& per_rank = j["per_rank"] = nlohmann::ordered_json::array();
    for (const auto& f : d->ranks) {
      per_rank.push_back({{"rank", f.rank}, {"cores", f.cores}, {"frame_begin", f.frame_begin},
                          {"frame_end", f.frame_end}, {"ticks", f.ticks}, {"compute_s", f.compute_s},
                          {"exchange_s", f.exchange_s}, {"wait_s", f.wait_s}, {"spikes_sent", f.spikes_sent},
                          {"spikes_received", f.spikes_received}});
    }
  }
  if (r.stepped_elements > 0) j["stepped_elements"] = r.stepped_elements;  // grid: the rest ran as delay lines
  auto& layers = j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : e.layers) {
    auto entry = counts_json(l.counts);
    entry["name"] = l.name;
    entry["dynamic_energy_uj"] = l.dynamic_uj;
    layers.push_back(entry);
  }
  j["energy_model"] = {{"counted", e.counted}, {"not_counted", e.not_counted}};
  // A run that disagrees with the reference failed: it commits no report (the old files stay).
  if (!r.partial && agreement && *agreement < 1.0) {
    throw internal_error(fmt::format("the simulation disagrees with the reference pass on {} of {} frames",
                                     static_cast<std::size_t>((1.0 - *agreement) * r.frames + 0.5), r.frames));
  }
  if (outputs.report) outputs.report->stream() << j.dump(2) << "\n";
  outputs.commit();

  if (opts.json) {
    out << j.dump(2) << "\n";
  } else {
    fmt::print(out, "program     {} ({})\n", fs.program_name, fs.hardware);
    fmt::print(out, "dataset     {}, {} frames, {} {}s{}\n", data.name, r.frames, r.ticks, fs.tick_unit,
               r.partial ? " (interrupted: a partial report of the frames completed)" : "");
    fmt::print(out, "accuracy    {:.2f} % ({} / {})", 100 * accuracy, correct, r.frames);
    if (agreement) {
      fmt::print(out, ", reference {:.2f} %, agreement {:.4f} (frames whose class counts equal the reference)\n",
                 100 * *reference_accuracy, *agreement);
    } else if (!fs.reference_skipped.empty() && opts.check_reference) {
      fmt::print(out, ", reference not compared: {}\n", fs.reference_skipped);
    } else {
      fmt::print(out, "\n");
    }
    fmt::print(out, "hardware    {:.0f} frames/s at {:g} ms per {}, latency {} {}s\n", e.hardware_fps, e.tick_ms,
               fs.tick_unit, fs.latency_ticks, fs.tick_unit);
    fmt::print(out, "energy      {:.3f} uJ per frame ({:.3f} static + {:.3f} dynamic), {:.2f} mW\n", e.per_frame_uj,
               r.frames ? e.static_uj / r.frames : 0.0, r.frames ? e.dynamic_uj / r.frames : 0.0, e.power_mw);
    fmt::print(out, "events      {} synaptic events, {} spikes, {} hops, {} chip crossings\n", r.totals.synaptic_events,
               r.totals.spikes, r.totals.hops, r.totals.chip_crossings);
    fmt::print(out, "simulator   {:.{}f} frames/s on {} thread{}{} ({:.2f} s)\n", sim_fps, sim_fps < 10 ? 2 : 0,
               threads, threads == 1 ? "" : "s",
               extras.distributed ? fmt::format(" x {} rank{}", extras.ranks, extras.ranks == 1 ? "" : "s") : "",
               r.wall_s);
    if (const auto* d = extras.distributed) {
      fmt::print(out, "ranks       {} ({} mode; compute / exchange / wait s, spikes sent / received)\n",
                 extras.ranks, runtime::to_string(d->mode));
      for (const auto& f : d->ranks) {
        fmt::print(out, "  rank {:<3} {:>7} cores  frames {:>6}..{:<6} {:8.2f} {:8.2f} {:8.2f}  {} / {}\n", f.rank,
                   f.cores, f.frame_begin, f.frame_end, f.compute_s, f.exchange_s, f.wait_s, f.spikes_sent,
                   f.spikes_received);
      }
    }
    fmt::print(out, "\n{:<22} {:>14} {:>12} {:>12} {:>14}\n", "layer", "synaptic ev.", "spikes", "hops", "uJ/frame");
    for (const auto& l : e.layers) {
      fmt::print(out, "{:<22} {:>14} {:>12} {:>12} {:>14.4f}\n", l.name, l.counts.synaptic_events, l.counts.spikes,
                 l.counts.hops, r.frames ? l.dynamic_uj / r.frames : 0.0);
    }
    fmt::print(out, "\ncounted: {}\nnot counted: {}\n", e.counted, e.not_counted);
  }
  if (r.partial) return 130;  // 128 + SIGINT, as shells report an interrupted command
  return 0;
}

// Checks come in the order of their cost, so a mistake is reported before a
// long step: outputs writable, program readable, memory, dataset and --frames.
namespace {

runtime::distribution_mode choose_mode(const simulate_options& opts, const hw::tn_program& program,
                                       const std::string& program_name) {
  const auto obstacle = runtime::frame_sharding_obstacle(program);
  if (opts.mpi_mode == "cores") return runtime::distribution_mode::cores;
  if (opts.mpi_mode == "frames") {
    if (!obstacle.empty())
      throw usage_error(fmt::format("--mpi-mode frames cannot split {}: {}", program_name, obstacle),
                        "use --mpi-mode cores (or auto), which splits the cores instead");
    return runtime::distribution_mode::frames;
  }
  // auto: frames need no exchange during the run, so they scale furthest.
  return obstacle.empty() ? runtime::distribution_mode::frames : runtime::distribution_mode::cores;
}

// nmc simulate under mpirun: every rank reads the program and the frames,
// simulates its share (runtime::run_distributed) and checks its share of the
// frames against the reference pass; rank 0 writes the report. Each step
// that can fail on some ranks only ends in runtime::agree, so a failure on
// any rank stops every rank with the same message, printed once by rank 0.
int simulate_distributed(const simulate_options& opts, std::ostream& out, runtime::communicator& world) {
  const bool root = world.rank() == 0;
  std::unique_ptr<run_outputs> outputs;
  hw::tn_program program;
  runtime::dataset data;
  runtime::distribution_mode mode{};
  const runtime::sim_options so = sim_options_of(opts);
  runtime::agree(world, [&] {
    if (!opts.spikes_path.empty()) {
      throw usage_error(fmt::format("--spikes records every firing in one process, not over {} MPI ranks", world.size()),
                        "run nmc simulate without mpirun to record spikes");
    }
    refuse_grid_options(opts);
    if (is_dn_program_file(opts.program)) {
      throw usage_error(fmt::format("{} is a grid program: grid programs simulate in one process, not over {} MPI ranks",
                                    opts.program, world.size()),
                        "run nmc simulate without mpirun for grid programs");
    }
    if (root) outputs = std::make_unique<run_outputs>(opts);
    program = convert::load_program(opts.program);
    runtime::check_memory(program, so);
    data = load_frames(opts);
    mode = choose_mode(opts, program, opts.program);
  });
  runtime::distributed_results d;
  {
    progress_bar bar("simulate", root ? data.frames : 0);
    const auto [begin, end] = runtime::frame_share(data.frames, world.size(), world.rank());
    const std::size_t share = mode == runtime::distribution_mode::frames ? end - begin : data.frames;
    d = runtime::run_distributed(program, data, so, world, mode, [&](std::size_t done) {
      // Rank 0's share stands for the whole: the ranks advance together.
      if (root && share) bar.update(done * data.frames / share);
    });
  }
  const frame_summary fs = summary_of(program, opts.program, so);
  report_extras extras;
  extras.distributed = &d;
  extras.ranks = world.size();
  if (opts.check_reference && !fs.model_text.empty() && fs.reference_skipped.empty()) {
    reference_tally mine;
    runtime::agree(world, [&] {
      const auto [begin, end] = runtime::frame_share(data.frames, world.size(), world.rank());
      mine = compare_with_reference(fs, data, d.results, so.threads, begin, end);
    });
    std::int64_t sums[3] = {static_cast<std::int64_t>(mine.frames), static_cast<std::int64_t>(mine.same),
                            static_cast<std::int64_t>(mine.reference_correct)};
    world.sum(sums);
    extras.reference = reference_tally{static_cast<std::size_t>(sums[0]), static_cast<std::size_t>(sums[1]),
                                       static_cast<std::size_t>(sums[2])};
  }
  int code = 0;
  runtime::agree(world, [&] {
    if (!root) return;
    code = report_frames(
        fs, data, d.results,
        [&](const runtime::frame_results& res) {
          return runtime::energy(program, res.per_layer, res.ticks, res.frames, opts.tick_ms);
        },
        opts, so.threads, *outputs, out, extras);
  });
  return code;
}

}  // namespace

int run_simulate(const simulate_options& opts, std::ostream& out, runtime::communicator* world) {
  if (world) return simulate_distributed(opts, out, *world);
  if (is_dn_program_file(opts.program)) {
    refuse_options(opts.given, {"--spikes", "--tick-ms", "--ticks-per-frame", "--thread-mode"},
                   fmt::format("{} (a grid program)", opts.program),
                   "grid programs keep the grid's own clock and frame timing, and record no spike file yet");
    return run_simulate_danna(convert::load_dn_program(opts.program), opts, out);
  }
  refuse_grid_options(opts);
  run_outputs outputs(opts);
  const auto program = convert::load_program(opts.program);
  runtime::check_memory(program, sim_options_of(opts));
  return simulate_program(program, opts.program, load_frames(opts), opts, outputs, out);
}

int run_run(const compile_options& copts, const simulate_options& sopts, std::ostream& out) {
  refuse_grid_options(sopts);
  run_outputs outputs(sopts, copts.output);
  auto data = load_frames(sopts);
  const auto program = compile_model(copts);
  runtime::check_memory(program, sim_options_of(sopts));
  if (outputs.program) outputs.program->stream() << hw::serialize(program);
  if (!sopts.json) {
    const auto j = program_json(program, copts.model);
    fmt::print(out, "compiled    {}: {} cores (lower bound {}), {:.2f} mean hops per spike\n", copts.model,
               program.cores.size(), j["cores_lower_bound"].get<std::int64_t>(), j["mean_hops_per_spike"].get<double>());
  }
  return simulate_program(program, copts.output.empty() ? copts.model : copts.output, std::move(data), sopts, outputs,
                          out);
}

}  // namespace nmc::cli
