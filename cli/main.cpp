// nmc: the command line. Parses arguments and calls the libraries; every
// error becomes a message on stderr and an exit code (0 ok, 1 user error,
// 2 usage, 3 internal error).

#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/runtime/mpi.hpp>

#include "bounds.hpp"
#include "commands.hpp"

namespace {

// Where the text output of ranks other than 0 goes.
std::ostream& null_stream() {
  static std::ostream none(nullptr);
  return none;
}

// Ctrl-C, kill or a closed terminal end nmc without unwinding: remove the
// temporary files of outputs not yet written, then die of the signal as
// before. (During a simulation Ctrl-C is caught instead, for a partial report.)
extern "C" void on_fatal_signal(int sig) {
  nmc::remove_pending_outputs();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_signal_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nmc;
#if defined(NMC_X86_64_V2) && defined(__GNUC__)
  // Built for x86-64-v2: say so instead of dying on an illegal instruction.
  if (!__builtin_cpu_supports("popcnt") || !__builtin_cpu_supports("sse4.2")) {
    std::cerr << "error: this nmc build needs an x86-64-v2 CPU (POPCNT, SSE4.2)\n"
                 "  hint: rebuild with cmake -DNMC_X86_64_V2=OFF\n";
    return 1;
  }
#endif
  install_signal_cleanup();
  CLI::App app{"nmc: compile Eedn networks for TrueNorth-style chips and DANNA-style grids, "
               "and simulate them"};
  app.name("nmc");
  app.require_subcommand(1);
  app.set_version_flag("--version", "nmc 0.1.0");

  cli::inspect_options inspect;
  auto* inspect_cmd = app.add_subcommand("inspect", "Show a model's or a program's layers and resources");
  inspect_cmd->add_option("FILE", inspect.path, "model file (.yaml) or compiled program")->required();
  inspect_cmd->add_flag("--json", inspect.json, "print JSON instead of a table");
  inspect_cmd->add_flag("--quantize", inspect.quantize, "round non-trinary ONNX weights to -1/0/+1");

  cli::eval_options eval;
  auto* eval_cmd = app.add_subcommand(
      "eval", "Run the reference (golden) forward pass over a dataset: accuracy and frames/s");
  eval_cmd->add_option("MODEL", eval.model, "model file (.onnx or .yaml)")->required();
  eval_cmd->add_option("--dataset", eval.dataset, "fashion-mnist:test or fashion-mnist:train")
      ->capture_default_str();
  eval_cmd->add_option("--frames", eval.frames, "number of frames (default, or 0: all)")
      ->check(cli::whole_in(0, cli::max_frames));
  eval_cmd->add_option("--threads", eval.threads, "worker threads (default, or 0: the CPUs this process may use)")
      ->check(cli::whole_in(0, cli::max_threads));
  eval_cmd->add_flag("--json", eval.json, "print JSON instead of text");
  eval_cmd->add_flag("--quantize", eval.quantize, "round non-trinary ONNX weights to -1/0/+1");
  eval_cmd->add_option("--counts", eval.counts_path,
                       "write per-frame class spike counts as CSV to this file");

  cli::compile_options compile;
  auto* compile_cmd = app.add_subcommand("compile", "Compile a model into a TrueNorth-style or DANNA-style grid program");
  compile_cmd->add_option("MODEL", compile.model, "model file (.onnx or .yaml)")->required();
  compile_cmd->add_option("-o,--output", compile.output, "program file to write")->required();
  compile_cmd->add_option("--target", compile.target, "target: truenorth or danna")->capture_default_str();
  compile_cmd->add_option("--target-file", compile.target_file,
                          "target description (default: the shipped hw_models/targets/truenorth.yaml)");
  compile_cmd->add_option("--chips", compile.chips, "number of chips (0: as many as the model needs)")
      ->capture_default_str()
      ->check(cli::whole_in(0, cli::max_chips));
  compile_cmd->add_option("--grid", compile.grid, "danna: one tile of WxH elements (e.g. 200x200)");
  compile_cmd->add_option("--tiles", compile.tiles, "danna: TXxTY tiles of the target's tile size (e.g. 4x4)");
  compile_cmd->add_option("--max-fan-in", compile.max_fan_in,
                          "danna: inputs a neuron or partial-sum element hears before its sum is split (0: never split)")
      ->capture_default_str()->check(cli::whole_in(0, 1'000'000));
  compile_cmd->add_option("--crossbar-fan-in", compile.crossbar_fan_in,
                          "danna: dense layers whose neurons hear at least this many inputs become crossbar blocks (0: never)")
      ->capture_default_str()->check(cli::whole_in(0, 1'000'000));
  compile_cmd->add_option("--layout", compile.layout,
                          "danna: route (place, then PathFinder routing) or stripes (Eedn networks: crossbars fed by "
                          "buses, no search; any size)")
      ->capture_default_str()->check(CLI::IsMember({"route", "stripes"}));
  compile_cmd->add_option("--route-seconds", compile.route_seconds,
                          "danna: stop routing after this many seconds and report where it got (0: no limit)")
      ->capture_default_str()->check(cli::real_in(0, 1e7));
  compile_cmd->add_option("--seed", compile.seed, "placement seed")->capture_default_str()
      ->check(cli::whole_in(0, UINT64_MAX));
  compile_cmd->add_option("--place-effort", compile.place_effort, "annealing effort (1 = default)")
      ->capture_default_str()->check(cli::real_in(1e-3, 1000));
  compile_cmd->add_option("--max-copies", compile.max_copies,
                          "copies of one neuron before splitter cores are used (default: neurons per core)")
      ->check(cli::whole_in(0, 1'000'000));
  compile_cmd->add_option("--dump-after", compile.dump_after,
                          "print the compiler state after this pass (validate, partition, timing, place, route, emit)");
  compile_cmd->add_flag("--time-passes", compile.time_passes, "print the time of each pass");
  compile_cmd->add_flag("--json", compile.json, "print the summary as JSON");
  compile_cmd->add_flag("--quantize", compile.quantize, "round non-trinary ONNX weights to -1/0/+1");

  cli::simulate_options simulate;
  auto add_sim_options = [](CLI::App* cmd, cli::simulate_options& o) {
    cmd->add_option("--dataset", o.dataset, "fashion-mnist:test or fashion-mnist:train")->capture_default_str();
    cmd->add_option("--frames", o.frames, "number of frames (default, or 0: all)")->check(cli::whole_in(0, cli::max_frames));
    cmd->add_option("--threads", o.threads, "worker threads (default, or 0: the CPUs this process may use)")
        ->check(cli::whole_in(0, cli::max_threads));
    cmd->add_option("--thread-mode", o.thread_mode,
                    "TrueNorth programs, several threads: cores (the threads share each tick's cores), frames (each "
                    "thread a share of the frames, with a simulator of its own; stateless acyclic programs, every "
                    "Eedn program) or auto (frames where exact, in memory and long enough to repay each share's "
                    "warm-up)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "cores", "frames"}));
    cmd->add_option("--report", o.report_path, "write the JSON report to this file");
    cmd->add_option("--spikes", o.spikes_path, "write every spike (tick, core, neuron, layer) as CSV");
    cmd->add_option("--spikes-in", o.spikes_in, "grid programs from TENNLab networks: input spikes ('tick input [value]' lines)");
    cmd->add_option("--steps", o.steps, "grid programs from TENNLab networks: network time steps to run")
        ->check(cli::whole_in(0, cli::max_frames));
    cmd->add_option("--ticks-per-frame", o.ticks_per_frame, "ticks per frame for stateful programs (default, or 0: the program's)")
        ->check(cli::whole_in(0, cli::max_ticks_per_frame));
    cmd->add_option("--tick-ms", o.tick_ms, "tick period in ms for the speed and energy model (default, or 0: the target's)")
        ->check(cli::real_in(0, 1e6));
    cmd->add_option("--max-memory", o.max_memory_mib,
                    "refuse to simulate if the simulator would need more than this many MiB "
                    "(default: the machine's available memory)")
        ->check(cli::whole_in(1, std::uint64_t{1} << 40));
    cmd->add_flag("--step-relays", o.step_relays,
                  "grid programs: step every relay element instead of running relay chains as delay lines "
                  "(the same results, much slower; a check)");
    cmd->add_flag("--json", o.json, "print the JSON report instead of text");
    cmd->add_flag("!--no-reference", o.check_reference, "skip the comparison with the model's reference pass");
  };
  auto add_mpi_options = [](CLI::App* cmd, cli::simulate_options& o) {
    cmd->add_option("--mpi-mode", o.mpi_mode,
                    "under mpirun: cores (split the cores, exchange spikes every tick), frames (each rank a slice "
                    "of the frames; stateless acyclic programs, every Eedn program) or auto (frames where possible)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "cores", "frames"}));
  };
  auto* simulate_cmd = app.add_subcommand("simulate", "Simulate a compiled program tick by tick: accuracy, agreement, energy");
  simulate_cmd->add_option("PROGRAM", simulate.program, "program file from nmc compile")->required();
  add_sim_options(simulate_cmd, simulate);
  add_mpi_options(simulate_cmd, simulate);

  cli::compile_options run_compile_opts;
  cli::simulate_options run_sim;
  auto* run_cmd = app.add_subcommand("run", "Compile a model and simulate it in one go");
  run_cmd->add_option("MODEL", run_compile_opts.model, "model file (.onnx or .yaml)")->required();
  run_cmd->add_option("-o,--output", run_compile_opts.output, "also write the program to this file");
  run_cmd->add_option("--chips", run_compile_opts.chips, "number of chips (0: as many as the model needs)")->capture_default_str()
      ->check(cli::whole_in(0, cli::max_chips));
  run_cmd->add_option("--seed", run_compile_opts.seed, "placement seed")->capture_default_str()
      ->check(cli::whole_in(0, UINT64_MAX));
  run_cmd->add_option("--target-file", run_compile_opts.target_file, "target description");
  run_cmd->add_option("--max-copies", run_compile_opts.max_copies, "copies before splitter cores are used")
      ->check(cli::whole_in(0, 1'000'000));
  run_cmd->add_flag("--quantize", run_compile_opts.quantize, "round non-trinary ONNX weights to -1/0/+1");
  add_sim_options(run_cmd, run_sim);

  cli::export_options export_opts;
  auto* export_cmd = app.add_subcommand("export", "Write a compiled program for a peer simulator (brian2)");
  export_cmd->add_option("FORMAT", export_opts.format, "brian2: .npy arrays and a Brian2 2.5 script")->required();
  export_cmd->add_option("PROGRAM", export_opts.program, "program file from nmc compile")->required();
  export_cmd->add_option("-o,--output", export_opts.output, "folder to write")->required();

  try {
    app.parse(argc, argv);
    // What was given, for the targets to refuse what they do not take.
    auto given = [](const CLI::App* cmd) {
      std::vector<std::string> out;
      for (const auto* o : cmd->get_options())
        if (o->count() > 0)
          for (const auto& l : o->get_lnames()) out.push_back("--" + l);
      return out;
    };
    compile.given = given(compile_cmd);
    simulate.given = given(simulate_cmd);
    run_compile_opts.given = run_sim.given = given(run_cmd);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(exit_code::usage);
  }

  // Under mpirun, every rank runs this; only rank 0 speaks.
  std::unique_ptr<runtime::communicator> world;
  bool quiet = false;
  try {
    if (*simulate_cmd || *run_cmd) {
      world = runtime::mpi_world(argc, argv);
      quiet = world && world->rank() != 0;
      if (*run_cmd && world && world->size() > 1) {
        throw usage_error(fmt::format("nmc run does not distribute over {} MPI ranks", world->size()),
                          "compile first (nmc compile MODEL -o P.nmc), then mpirun ... nmc simulate P.nmc");
      }
    }
    // Before anything is read or opened: each output has a file of its own.
    if (*simulate_cmd) cli::check_distinct_outputs({{"--report", simulate.report_path}, {"--spikes", simulate.spikes_path}});
    if (*run_cmd) {
      cli::check_distinct_outputs(
          {{"-o", run_compile_opts.output}, {"--report", run_sim.report_path}, {"--spikes", run_sim.spikes_path}});
    }
    if (*inspect_cmd) return cli::run_inspect(inspect, std::cout);
    if (*eval_cmd) return cli::run_eval(eval, std::cout);
    if (*compile_cmd) return cli::run_compile(compile, std::cout);
    if (*simulate_cmd) return cli::run_simulate(simulate, quiet ? null_stream() : std::cout, world.get());
    if (*export_cmd) return cli::run_export(export_opts, std::cout);
    if (*run_cmd) {
      run_sim.program = run_compile_opts.model;
      return cli::run_run(run_compile_opts, run_sim, std::cout);
    }
    throw internal_error("no subcommand handled");
  } catch (const error& e) {
    if (quiet) return static_cast<int>(e.code());
    fmt::print(stderr, "nmc: {}: {}\n", e.kind(), e.what());
    if (!e.hint().empty()) fmt::print(stderr, "  hint: {}\n", e.hint());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "nmc: out of memory\n  hint: use a smaller model or fewer frames\n");
    return static_cast<int>(exit_code::user_error);
  } catch (const std::exception& e) {
    fmt::print(stderr, "nmc: internal error: {}\n  hint: this is a bug in nmc; please report it\n",
               e.what());
    return static_cast<int>(exit_code::internal);
  }
}
