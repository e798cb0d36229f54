#pragma once
// The TrueNorth compiler: a model IR in, a program out.

#include <iosfwd>
#include <string>
#include <vector>

#include <nmc/compiler/state.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/model/network.hpp>

namespace nmc::compiler {

struct pipeline_options {
  options opts;
  std::string dump_after;        // a pass name: print the state after it to `log`
  bool time_passes = false;      // print the pass times to `log`
  std::ostream* log = nullptr;   // where dumps and times go (nullptr: nowhere)
};

// The pass names in order: validate, partition, timing, place, route, emit.
const std::vector<std::string>& pass_names();

// Runs the passes in order on a verified network, checking the state after
// each. `model_text` (the model in YAML) is embedded in the program so that a
// simulation can compare against the reference pass. Throws fit_error with the
// numbers if the model does not fit.
compile_state compile_truenorth(const model::network& net, const hw::truenorth_target& target,
                                const std::string& target_text, const std::string& model_text,
                                const pipeline_options& popts);

}  // namespace nmc::compiler
