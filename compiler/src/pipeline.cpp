#include <nmc/compiler/pipeline.hpp>

#include <chrono>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {
struct pass {
  const char* name;
  void (*run)(compile_state&);
};
// The pipeline, in order.
constexpr pass passes[] = {
    {"validate", validate_pass}, {"partition", partition_pass}, {"timing", timing_pass},
    {"place", place_pass},       {"route", route_pass},         {"emit", emit_pass},
};
}  // namespace

const std::vector<std::string>& pass_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& p : passes) v.emplace_back(p.name);
    return v;
  }();
  return names;
}

compile_state compile_truenorth(const model::network& net, const hw::truenorth_target& target,
                                const std::string& target_text, const std::string& model_text,
                                const pipeline_options& popts) {
  if (!popts.dump_after.empty() &&
      std::find(pass_names().begin(), pass_names().end(), popts.dump_after) == pass_names().end()) {
    throw usage_error(fmt::format("--dump-after {}: no such pass", popts.dump_after),
                      fmt::format("passes: {}", fmt::join(pass_names(), ", ")));
  }
  if (popts.opts.chips < 0)
    throw usage_error(fmt::format("--chips {} must be at least 1 (or 0: as many as the model needs)", popts.opts.chips));
  compile_state s;
  s.net = &net;
  s.target = target;
  s.target_text = target_text;
  s.model_text = model_text;
  s.opts = popts.opts;
  for (const auto& p : passes) {
    const auto start = std::chrono::steady_clock::now();
    p.run(s);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.times.push_back({p.name, secs});
    s.done.emplace_back(p.name);
    verify_state(s);
    if (popts.log && popts.dump_after == p.name) *popts.log << dump_state(s, p.name);
  }
  if (popts.log && popts.time_passes) {
    double total = 0;
    for (const auto& t : s.times) {
      fmt::print(*popts.log, "pass {:<10} {:8.3f} s\n", t.pass, t.seconds);
      total += t.seconds;
    }
    fmt::print(*popts.log, "{:<15} {:8.3f} s\n", "total", total);
  }
  return s;
}

}  // namespace nmc::compiler
