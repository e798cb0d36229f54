#pragma once
// Summaries of compiled programs for `nmc inspect` and `nmc compile`.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <nmc/hw/tn_program.hpp>

namespace nmc::cli {

struct layer_usage {
  std::string name;
  std::int64_t cores = 0, axons = 0, neurons = 0, synapses = 0;
};

struct program_usage {
  std::vector<layer_usage> layers;
  std::int64_t cores = 0, axons = 0, neurons = 0, synapses = 0;
  std::int64_t input_targets = 0, output_ports = 0;
};

// Counted from the program itself: axons that are fed, neurons with a
// destination, crossbar bits set.
program_usage usage(const hw::tn_program& p);

// Usage plus the compiler's report, as JSON (the fields of `nmc inspect --json`).
nlohmann::ordered_json program_json(const hw::tn_program& p, const std::string& path);

// The human-readable form.
std::string program_text(const hw::tn_program& p, const std::string& path);

// True if the file starts with the program magic.
bool is_program_file(const std::string& path);

}  // namespace nmc::cli
