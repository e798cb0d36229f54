// timing: chooses every delay so that all inputs of a neuron arrive in the
// same tick, making the network a pipeline that takes one frame per tick.
//
// A unit fires in tick time(u) = 1 + the latest time of the units it reads
// (input bits count as time -1: a first layer fires in the tick its input is
// delivered). A slot from unit p to a core of unit u then has delay
// time(u) - time(p) >= 1, which must fit the target's delay range; input bits
// are delivered in tick frame + time(u) of the unit reading them. All class
// spikes of a frame leave the chip in the same tick, frame + output offset.

#include <algorithm>

#include <fmt/format.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>

namespace nmc::compiler {

void timing_pass(compile_state& s) {
  const auto& t = s.target;
  auto time_of = [&](const source_ref& src) {
    return src.unit < 0 ? -1 : s.units[static_cast<std::size_t>(src.unit)].time;
  };
  for (auto ui : s.order) {
    auto& u = s.units[static_cast<std::size_t>(ui)];
    int latest = -1;
    for (auto ci : u.cores)
      for (const auto& a : s.cores[static_cast<std::size_t>(ci)].axons) latest = std::max(latest, time_of(a.src));
    u.time = latest + 1;
  }
  int out_fire = 0;
  for (const auto& p : s.port_source) out_fire = std::max(out_fire, time_of(p));
  s.output_tick_offset = out_fire + 1;
  s.latency_ticks = s.output_tick_offset + 1;

  for (auto& core : s.cores) {
    const auto& src_unit = s.units[static_cast<std::size_t>(core.unit)];
    for (auto& sl : core.slots) {
      const int arrive = sl.output ? s.output_tick_offset
                                   : s.units[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(sl.dest_core)].unit)].time;
      sl.delay = arrive - src_unit.time;
      if (sl.delay < t.delay_min_ticks || sl.delay > t.delay_max_ticks) {
        const std::string dest = sl.output ? "the output layer"
                                           : fmt::format("layer '{}'", s.units[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(sl.dest_core)].unit)].name);
        throw fit_error(fmt::format("layer '{}' feeds {} {} ticks later, but delays are limited to {}..{} ticks",
                                    src_unit.name, dest, sl.delay, t.delay_min_ticks, t.delay_max_ticks),
                        "the two paths into that layer differ too much in depth: shorten the deeper "
                        "branch or add relay layers (1x1 identity convolutions) to the shorter one");
      }
    }
  }
  for (const auto& targets : s.input_targets)
    for (const auto& it : targets) {
      const int offset = s.units[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(it.core)].unit)].time;
      if (offset > 255) {
        throw fit_error(fmt::format("input bits reach layer '{}' {} ticks after the frame starts, more than 255",
                                    s.units[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(it.core)].unit)].name, offset),
                        "reduce the network depth");
      }
    }
}

}  // namespace nmc::compiler
