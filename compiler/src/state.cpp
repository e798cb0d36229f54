#include <nmc/compiler/state.hpp>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {
bool ran(const compile_state& s, const char* pass) {
  return std::find(s.done.begin(), s.done.end(), pass) != s.done.end();
}
[[noreturn]] void broken(const std::string& what) { throw internal_error("compiler invariant broken: " + what); }
}  // namespace

void verify_state(const compile_state& s) {
  const auto& t = s.target;
  if (ran(s, "validate")) {
    if (s.units.empty()) broken("validate: no units");
    if (s.port_source.size() != s.port_class.size()) broken("validate: port maps differ in size");
  }
  if (ran(s, "partition")) {
    std::vector<std::int64_t> feeders;
    for (std::size_t ui = 0; ui < s.units.size(); ++ui) {
      const auto& u = s.units[ui];
      if (u.copies.size() != static_cast<std::size_t>(u.shape.size()) || u.core_of.size() != u.copies.size()) {
        broken(fmt::format("partition: unit '{}' has {} copy counts for {} neurons", u.name, u.copies.size(), u.shape.size()));
      }
    }
    std::vector<std::vector<std::int32_t>> slot_count(s.units.size());
    for (std::size_t ui = 0; ui < s.units.size(); ++ui) slot_count[ui].assign(s.units[ui].copies.size(), 0);
    for (std::size_t ci = 0; ci < s.cores.size(); ++ci) {
      const auto& c = s.cores[ci];
      if (static_cast<int>(c.axons.size()) > t.axons) broken(fmt::format("partition: core {} uses {} axons", ci, c.axons.size()));
      if (static_cast<int>(c.slots.size()) > t.neurons) broken(fmt::format("partition: core {} uses {} neurons", ci, c.slots.size()));
      for (auto n : c.neurons)
        if (s.units[static_cast<std::size_t>(c.unit)].core_of[static_cast<std::size_t>(n)] != static_cast<std::int32_t>(ci))
          broken(fmt::format("partition: neuron {} of '{}' hosted twice", n, s.units[static_cast<std::size_t>(c.unit)].name));
      for (const auto& sl : c.slots) ++slot_count[static_cast<std::size_t>(c.unit)][static_cast<std::size_t>(sl.neuron)];
    }
    for (std::size_t ui = 0; ui < s.units.size(); ++ui)
      for (std::size_t n = 0; n < s.units[ui].copies.size(); ++n)
        if (slot_count[ui][n] != s.units[ui].copies[n])
          broken(fmt::format("partition: neuron {} of '{}' has {} slots for {} copies", n, s.units[ui].name, slot_count[ui][n], s.units[ui].copies[n]));
    // Every axon is fed exactly once: by a slot or by an input bit (a flag per
    // axon: this runs after every pass, on millions of axons).
    std::vector<std::size_t> first_axon(s.cores.size() + 1, 0);
    for (std::size_t ci = 0; ci < s.cores.size(); ++ci) first_axon[ci + 1] = first_axon[ci] + s.cores[ci].axons.size();
    std::vector<std::uint8_t> fed(first_axon.back(), 0);
    auto feed = [&](std::int32_t core, std::int32_t axon) {
      if (core < 0 || static_cast<std::size_t>(core) >= s.cores.size() || axon < 0 ||
          static_cast<std::size_t>(axon) >= s.cores[static_cast<std::size_t>(core)].axons.size())
        broken(fmt::format("partition: a slot or input bit feeds core {} axon {}, which does not exist", core, axon));
      if (fed[first_axon[static_cast<std::size_t>(core)] + static_cast<std::size_t>(axon)]++) broken("partition: an axon is fed twice");
    };
    for (const auto& c : s.cores)
      for (const auto& sl : c.slots)
        if (!sl.output) feed(sl.dest_core, sl.dest_axon);
    for (const auto& targets : s.input_targets)
      for (const auto& it : targets) feed(it.core, it.axon);
    const auto unfed = static_cast<std::size_t>(std::count(fed.begin(), fed.end(), 0));
    if (unfed) broken(fmt::format("partition: {} of {} axons are not fed", unfed, fed.size()));
  }
  if (ran(s, "timing")) {
    for (const auto& c : s.cores)
      for (const auto& sl : c.slots)
        if (sl.delay < t.delay_min_ticks || sl.delay > t.delay_max_ticks) broken(fmt::format("timing: delay {}", sl.delay));
  }
  if (ran(s, "place")) {
    std::vector<std::uint8_t> taken(static_cast<std::size_t>(s.opts.chips) * static_cast<std::size_t>(t.cores_per_chip()), 0);
    for (const auto& c : s.cores) {
      if (c.chip < 0 || c.chip >= s.opts.chips || c.x < 0 || c.y < 0 || c.x >= t.cores_x || c.y >= t.cores_y)
        broken(fmt::format("place: site chip {} ({}, {})", c.chip, c.x, c.y));
      const auto site = (static_cast<std::size_t>(c.chip) * static_cast<std::size_t>(t.cores_y) + static_cast<std::size_t>(c.y)) *
                            static_cast<std::size_t>(t.cores_x) + static_cast<std::size_t>(c.x);
      if (taken[site]++) broken(fmt::format("place: site chip {} ({}, {}) used twice", c.chip, c.x, c.y));
    }
  }
  if (ran(s, "route")) {
    std::int64_t n = 0;
    for (const auto& c : s.cores)
      for (const auto& sl : c.slots) n += !sl.output;
    if (n != s.routes.connections) broken("route: connection count differs from the slots");
  }
}

std::string dump_state(const compile_state& s, const std::string& pass) {
  std::string out = fmt::format("=== after {} ===\n", pass);
  if (pass == "validate") {
    for (const auto& u : s.units) out += fmt::format("unit {:<20} {}x{}x{}\n", u.name, u.shape.channels, u.shape.height, u.shape.width);
    out += fmt::format("output ports {}\n", s.port_source.size());
    return out;
  }
  for (auto ui : s.order) {
    const auto& u = s.units[static_cast<std::size_t>(ui)];
    std::int64_t slots = 0;
    for (auto c : u.copies) slots += c;
    out += fmt::format("unit {:<20} cores {:>5} (bound {:>5})  tile {}x{}x{}  slots {:>7}  fires at tick {}\n", u.name,
                       u.cores.size(), u.lower_bound, u.tile_c, u.tile_h, u.tile_w, slots, u.time);
  }
  if (pass == "partition" || pass == "timing") {
    for (std::size_t ci = 0; ci < s.cores.size(); ++ci) {
      const auto& c = s.cores[ci];
      out += fmt::format("core {:>5} {:<20} neurons {:>3} axons {:>3} slots {:>3}\n", ci,
                         s.units[static_cast<std::size_t>(c.unit)].name, c.neurons.size(), c.axons.size(), c.slots.size());
    }
  }
  if (pass == "place" || pass == "route" || pass == "emit") {
    for (std::size_t ci = 0; ci < s.cores.size(); ++ci) {
      const auto& c = s.cores[ci];
      out += fmt::format("core {:>5} {:<20} chip {} ({:>2}, {:>2})\n", ci, s.units[static_cast<std::size_t>(c.unit)].name, c.chip, c.x, c.y);
    }
  }
  if (pass == "route" || pass == "emit") {
    out += fmt::format("connections {}  mean hops {:.2f} (naive {:.2f})  max hops {}  chip crossings {}\n",
                       s.routes.connections, s.routes.mean_hops, s.routes.naive_mean_hops, s.routes.max_hops,
                       s.routes.chip_crossings);
  }
  out += fmt::format("latency {} ticks\n", s.latency_ticks);
  return out;
}

}  // namespace nmc::compiler
