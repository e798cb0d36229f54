#pragma once
// The `nmc` subcommands. main.cpp parses the command line into these option
// structs; each command writes its human or JSON output to `out`.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <initializer_list>
#include <string>
#include <vector>
#include <utility>

#include <nmc/compiler/danna.hpp>
#include <nmc/files.hpp>

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

// One command's output options as (option, path), empty paths for those not
// given: a usage_error naming both options if two name the same file, as
// std::filesystem::weakly_canonical sees it (a.json, ./a.json and a symlink
// to it are one file). Otherwise the later output would silently replace the
// earlier one.
void check_distinct_outputs(std::initializer_list<std::pair<const char*, std::string>> outputs);
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
  std::string grid;   // danna: one tile of W x H elements ("WxH")
  std::string tiles;  // danna: tiles of the target's tile size ("TXxTY")
  int max_fan_in = compiler::danna_options{}.max_fan_in;  // danna: wider neurons get partial-sum elements
  int crossbar_fan_in = compiler::danna_options{}.crossbar_fan_in;  // danna: dense layers this wide become crossbars
  double route_seconds = compiler::danna_options{}.route_seconds;   // danna: routing time limit (0: none)
  std::string layout = "route";  // danna: route (placement and PathFinder) or stripes (constructive)
  std::vector<std::string> given;  // the options on the command line ("--chips", ...): each target refuses those it does not take
  bool time_passes = false;
  bool json = false;
  bool quantize = false;
};

int run_compile(const compile_options& opts, std::ostream& out);

// Throws usage_error if any of `not_taken` is among `given`: "the grid
// target does not take --chips", with `hint` as the way out. Each target
// calls it with the options that mean nothing to it, before reading or
// writing anything.
void refuse_options(const std::vector<std::string>& given, std::initializer_list<const char*> not_taken,
                    const std::string& target, const std::string& hint);

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
  std::string spikes_in;      // grid programs from TENNLab networks: input spike file
  std::int64_t steps = 0;     // network time steps (0: last input spike + 100)
  int ticks_per_frame = 0;
  double tick_ms = 0;  // 0: the target's tick period
  bool json = false;
  bool check_reference = true;
  bool step_relays = false;  // grid programs: no delay lines (runtime::dn_sim_options)
  std::size_t max_memory_mib = 0;  // 0: the machine's available memory
  std::string mpi_mode = "auto";   // under mpirun: auto, cores or frames (runtime::distribution_mode)
  std::string thread_mode = "auto";  // TrueNorth, several threads: auto, cores or frames (runtime::thread_mode)
  std::vector<std::string> given;  // the options on the command line: each target refuses those it does not take
};
}  // namespace nmc::cli

namespace nmc::runtime {
class communicator;
struct distributed_results;
}  // namespace nmc::runtime

namespace nmc::cli {
// With `world` (nmc started by mpirun), every rank calls it and the
// simulation is distributed over the ranks; rank 0 writes the outputs.
int run_simulate(const simulate_options& opts, std::ostream& out, runtime::communicator* world = nullptr);
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

namespace nmc::runtime {
struct dataset;
struct frame_results;
struct energy_report;
}  // namespace nmc::runtime

namespace nmc::cli {

// What the frame report needs to know about a program of either target.
struct frame_summary {
  std::string program_name, model_name, model_text;
  std::uint64_t model_hash = 0;
  std::string hardware;           // "388 cores, 1 chip", "2500 x 2500 grid, 3/4 elements used"
  int ticks_per_frame = 1;
  std::uint32_t latency_ticks = 0;
  // Why the class counts are not compared with the reference pass (empty:
  // they are, when the program embeds its model and the check is on).
  std::string reference_skipped;
  std::string tick_unit = "tick";  // "cycle" for grid programs
};

// The output files of a run, opened before any long step so that an
// unwritable path fails at once rather than after the simulation, and
// committed together only when the run has results (docs/ARCHITECTURE.md 2.3): a failed
// run leaves every existing output as it was and no temporary file behind.
struct run_outputs {
  std::unique_ptr<atomic_file> program, report, spikes;

  explicit run_outputs(const simulate_options& opts, const std::string& program_path = {});
  // Every file is written out before any replaces its target: a write that
  // fails late (disk full) leaves all of them as they were.
  void commit();
};

// The comparison of simulated class counts with the reference pass of the
// program's embedded model: how many frames agree in every count, and how
// many the reference classifies correctly.
struct reference_tally {
  std::size_t frames = 0, same = 0, reference_correct = 0;
};
// Frames [begin, end) of `data` through the reference pass, against the
// same rows of r.counts (throws model_error if the embedded model does not
// match the program's hash).
reference_tally compare_with_reference(const frame_summary& fs, const runtime::dataset& data,
                                       const runtime::frame_results& r, int threads, std::size_t begin,
                                       std::size_t end);

// What a distributed run adds to the report.
struct report_extras {
  std::optional<reference_tally> reference;  // computed already (over the ranks)
  const runtime::distributed_results* distributed = nullptr;
  int ranks = 1;
};

// The report of a frame simulation (reference agreement, energy, JSON/text);
// shared by both targets; writes the report into `outputs` and commits them.
// Returns the exit code (130 when interrupted).
int report_frames(const frame_summary& fs, runtime::dataset& data, runtime::frame_results& r,
                  const std::function<runtime::energy_report(const runtime::frame_results&)>& energy_of,
                  const simulate_options& opts, int threads, run_outputs& outputs, std::ostream& out,
                  const report_extras& extras = {});

}  // namespace nmc::cli
