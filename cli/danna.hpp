#pragma once
// The DANNA-style grid target in the CLI: compile, inspect and simulate grid
// programs (the commands dispatch here on --target danna or the program magic).

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include <nmc/hw/dn_program.hpp>

#include "commands.hpp"

namespace nmc::cli {

// True if the file starts with the grid program magic.
bool is_dn_program_file(const std::string& path);
hw::dn_program compile_danna_model(const compile_options& opts);
int run_compile_danna(const compile_options& opts, std::ostream& out);
nlohmann::ordered_json dn_program_json(const hw::dn_program& p, const std::string& path);
std::string dn_program_text(const hw::dn_program& p, const std::string& path);
int run_simulate_danna(const hw::dn_program& p, const simulate_options& opts, std::ostream& out);

}  // namespace nmc::cli
