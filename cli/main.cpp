// nmc: the command line. Parses arguments and calls the libraries; every
// error becomes a message on stderr and an exit code (0 ok, 1 user error,
// 2 usage, 3 internal error).

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nmc/error.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace nmc;
  CLI::App app{"nmc: compile Eedn networks for TrueNorth-style chips and DANNA-style grids, "
               "and simulate them"};
  app.name("nmc");
  app.require_subcommand(1);
  app.set_version_flag("--version", "nmc 0.1.0");

  cli::inspect_options inspect;
  auto* inspect_cmd = app.add_subcommand("inspect", "Show a model's or a program's layers and resources");
  inspect_cmd->add_option("FILE", inspect.path, "model file (.yaml) or compiled program")->required();
  inspect_cmd->add_flag("--json", inspect.json, "print JSON instead of a table");

  cli::eval_options eval;
  auto* eval_cmd = app.add_subcommand(
      "eval", "Run the reference (golden) forward pass over a dataset: accuracy and frames/s");
  eval_cmd->add_option("MODEL", eval.model, "model file (.yaml)")->required();
  eval_cmd->add_option("--dataset", eval.dataset, "fashion-mnist:test or fashion-mnist:train")
      ->capture_default_str();
  eval_cmd->add_option("--frames", eval.frames, "number of frames (default: all)");
  eval_cmd->add_option("--threads", eval.threads, "worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  eval_cmd->add_flag("--json", eval.json, "print JSON instead of text");
  eval_cmd->add_option("--counts", eval.counts_path,
                       "write per-frame class spike counts as CSV to this file");

  cli::compile_options compile;
  auto* compile_cmd = app.add_subcommand("compile", "Compile a model into a TrueNorth-style program");
  compile_cmd->add_option("MODEL", compile.model, "model file (.yaml)")->required();
  compile_cmd->add_option("-o,--output", compile.output, "program file to write")->required();
  compile_cmd->add_option("--target", compile.target, "target: truenorth")->capture_default_str();
  compile_cmd->add_option("--target-file", compile.target_file,
                          "target description (default: the shipped hw_models/targets/truenorth.yaml)");
  compile_cmd->add_option("--chips", compile.chips, "number of chips")->capture_default_str()->check(CLI::PositiveNumber);
  compile_cmd->add_option("--seed", compile.seed, "placement seed")->capture_default_str();
  compile_cmd->add_option("--place-effort", compile.place_effort, "annealing effort (1 = default)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  compile_cmd->add_option("--max-copies", compile.max_copies,
                          "copies of one neuron before splitter cores are used (default: neurons per core)")
      ->check(CLI::NonNegativeNumber);
  compile_cmd->add_option("--dump-after", compile.dump_after,
                          "print the compiler state after this pass (validate, partition, timing, place, route, emit)");
  compile_cmd->add_flag("--time-passes", compile.time_passes, "print the time of each pass");
  compile_cmd->add_flag("--json", compile.json, "print the summary as JSON");

  try {
    app.parse(argc, argv);
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

  try {
    if (*inspect_cmd) return cli::run_inspect(inspect, std::cout);
    if (*eval_cmd) return cli::run_eval(eval, std::cout);
    if (*compile_cmd) return cli::run_compile(compile, std::cout);
    throw internal_error("no subcommand handled");
  } catch (const error& e) {
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
