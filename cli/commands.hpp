#pragma once
// The `nmc` subcommands. main.cpp parses the command line into these option
// structs; each command writes its human or JSON output to `out`.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace nmc::cli {

struct inspect_options {
  std::string path;
  bool json = false;
  bool quantize = false;
};

struct eval_options {
  std::string model;
  std::string dataset = "fashion-mnist:test";
  std::size_t frames = 0;  // 0: all
  int threads = 0;         // 0: all hardware threads
  bool json = false;
  std::string counts_path;  // optional CSV of per-frame class counts
  bool quantize = false;
};

int run_inspect(const inspect_options& opts, std::ostream& out);
int run_eval(const eval_options& opts, std::ostream& out);

}  // namespace nmc::cli

namespace nmc::cli {

struct compile_options {
  std::string model;
  std::string target = "truenorth";
  std::string target_file;  // default: the shipped hw_models/targets/truenorth.yaml
  std::string output;
  int chips = 1;
  std::uint64_t seed = 1;
  double place_effort = 1.0;
  int max_copies = 0;
  std::string dump_after;
  bool time_passes = false;
  bool json = false;
  bool quantize = false;
};

int run_compile(const compile_options& opts, std::ostream& out);

}  // namespace nmc::cli

namespace nmc::hw {
struct tn_program;
}

namespace nmc::cli {

// Loads the model and the target named in `opts` and runs the compiler
// (shared by compile and run); the program embeds the model.
hw::tn_program compile_model(const compile_options& opts);

}  // namespace nmc::cli

namespace nmc::cli {

struct simulate_options {
  std::string program;  // simulate: the program file; run: the model file
  std::string dataset = "fashion-mnist:test";
  std::size_t frames = 0;
  int threads = 0;
  std::string report_path;
  std::string spikes_path;
  int ticks_per_frame = 0;
  double tick_ms = 0;  // 0: the target's tick period
  bool json = false;
  bool check_reference = true;
  std::size_t max_memory_mib = 0;  // 0: the machine's available memory
};

int run_simulate(const simulate_options& opts, std::ostream& out);
// compile (with `copts`, output optional) then simulate.
int run_run(const compile_options& copts, const simulate_options& sopts, std::ostream& out);

}  // namespace nmc::cli

namespace nmc::cli {

struct export_options {
  std::string format;   // brian2
  std::string program;  // program file from nmc compile
  std::string output;   // folder
};

// Writes a program in a peer simulator's format (nmc export brian2 PROGRAM -o DIR).
int run_export(const export_options& opts, std::ostream& out);

}  // namespace nmc::cli
