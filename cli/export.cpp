// nmc export: a compiled program in a peer simulator's format, so that the
// same work can be run (and its spikes checked) elsewhere.
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <nmc/convert/brian2_export.hpp>
#include <nmc/convert/program_model.hpp>
#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>

#include "commands.hpp"

namespace nmc::cli {

int run_export(const export_options& opts, std::ostream& out) {
  if (opts.format != "brian2") {
    throw usage_error(fmt::format("unknown export format '{}'", opts.format), "the formats are: brian2");
  }
  const auto program = convert::load_program(opts.program);
  convert::export_brian2(program, opts.output);
  fmt::print(out, "wrote {} ({} cores, {} neurons) as a Brian2 network to {}/\n", opts.program, program.cores.size(),
             program.cores.size() * static_cast<std::size_t>(program.target.neurons), opts.output);
  fmt::print(out, "run it: /usr/bin/python3 {}/{} --ticks 100 --device cpp_standalone --threads 2\n", opts.output,
             convert::brian2_script_name);
  return 0;
}

}  // namespace nmc::cli
