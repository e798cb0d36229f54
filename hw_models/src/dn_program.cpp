#include <nmc/hw/dn_program.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

#include "bytes.hpp"

namespace nmc::hw {

namespace {

constexpr char magic[8] = {'N', 'M', 'C', 'D', 'N', 'P', 'R', 'G'};
constexpr std::size_t header_size = 8 + 4 + 8 + 8;
constexpr std::size_t element_bytes = 4 + 4 + 1 + 2 + 2 + 1 + 4 + 4 + 1 + 4;  // one element as serialize writes it
const char* const hint = "recompile the model with 'nmc compile --target danna'";

void put_ports(detail::byte_writer& w, const std::vector<dn_port>& v) {
  w.put<std::uint64_t>(v.size());
  for (const auto& p : v) w.put(p.element), w.put(p.cls), w.put(p.offset), w.put(p.bit);
}

// Version 1 ports have no bit: input port i received encoded bit i.
std::vector<dn_port> get_ports(detail::byte_reader& r, std::size_t limit, const std::string& source, std::uint32_t version) {
  const auto n = r.get<std::uint64_t>();
  if (n > limit) throw model_error(fmt::format("{}: corrupt program: {} ports", source, n), hint);
  std::vector<dn_port> v(n);
  for (auto& p : v) {
    p.element = r.get<std::uint32_t>(), p.cls = r.get<std::int32_t>(), p.offset = r.get<std::int32_t>();
    p.bit = version >= 2 ? r.get<std::int32_t>() : static_cast<std::int32_t>(&p - v.data());
  }
  return v;
}

}  // namespace

bool is_dn_program(const std::string& first_bytes) {
  return first_bytes.size() >= 8 && first_bytes.compare(0, 8, std::string(magic, 8)) == 0;
}

std::string serialize(const dn_program& p) {
  // One string, sized up front, the header written first and its size and checksum filled in at the end: a
  // program of tens of millions of elements is not copied or regrown on the way out.
  detail::byte_writer w;
  std::size_t strings = p.model_name.size() + p.model_text.size() + p.target_text.size() + p.report_json.size();
  for (const auto& l : p.layers) strings += l.size() + 8;
  w.bytes().reserve(header_size + 256 + strings + p.thermometer.size() * 4 + (p.inputs.size() + p.outputs.size()) * 16 +
                    p.elements.size() * element_bytes);
  w.bytes().append(magic, 8);
  w.put(dn_program_version);
  w.put<std::uint64_t>(0);  // payload size, below
  w.put<std::uint64_t>(0);  // payload checksum, below
  w.put(p.mode);
  w.put(p.model_hash);
  w.put_string(p.model_name);
  w.put_string(p.model_text);
  w.put_string(p.target_text);
  w.put(p.image_channels), w.put(p.image_height), w.put(p.image_width);
  w.put_vector(p.thermometer);
  w.put(p.classes), w.put(p.cycles_per_tick), w.put(p.latency_cycles);
  put_ports(w, p.inputs);
  put_ports(w, p.outputs);
  w.put<std::uint64_t>(p.layers.size());
  for (const auto& l : p.layers) w.put_string(l);
  w.put_string(p.report_json);
  w.put<std::uint64_t>(p.elements.size());
  for (const auto& e : p.elements) {
    w.put(e.x), w.put(e.y), w.put(e.kind), w.put(e.listen), w.put(e.weight), w.put(e.delay);
    w.put(e.threshold), w.put(e.charge_min), w.put(e.leak), w.put(e.layer);
  }
  std::string& out = w.bytes();
  const std::uint64_t size = out.size() - header_size, checksum = fnv1a64(std::string_view(out).substr(header_size));
  std::memcpy(out.data() + 12, &size, sizeof size);  // little-endian, as byte_writer writes
  std::memcpy(out.data() + 20, &checksum, sizeof checksum);
  return std::move(out);
}

dn_program deserialize_dn(const std::string& bytes, const std::string& source) {
  if (!is_dn_program(bytes)) {
    throw model_error(fmt::format("{}: not an nmc grid program (bad magic)", source),
                      "pass a file written by 'nmc compile --target danna'");
  }
  if (bytes.size() < header_size) {
    throw model_error(fmt::format("{}: truncated program: {} bytes, the header alone is {}", source, bytes.size(),
                                  header_size), hint);
  }
  detail::byte_reader hr(bytes, source);
  hr.get<std::uint64_t>();
  const auto version = hr.get<std::uint32_t>();
  if (version < 1 || version > dn_program_version) {
    throw model_error(fmt::format("{}: grid program format version {}, this nmc reads versions 1 to {}", source, version,
                                  dn_program_version), hint);
  }
  const auto size = hr.get<std::uint64_t>();
  const auto checksum = hr.get<std::uint64_t>();
  if (bytes.size() - header_size != size) {
    throw model_error(fmt::format("{}: truncated program: the header declares {} bytes of payload, the file holds {}",
                                  source, size, bytes.size() - header_size), hint);
  }
  const std::string_view payload = std::string_view(bytes).substr(header_size);  // read in place: no copy
  if (fnv1a64(payload) != checksum) throw model_error(fmt::format("{}: corrupt program: checksum mismatch", source), hint);
  detail::byte_reader r(payload, source);
  dn_program p;
  p.mode = r.get<dn_mode>();
  p.model_hash = r.get<std::uint64_t>();
  p.model_name = r.get_string();
  p.model_text = r.get_string();
  p.target_text = r.get_string();
  p.image_channels = r.get<std::uint32_t>();
  p.image_height = r.get<std::uint32_t>();
  p.image_width = r.get<std::uint32_t>();
  p.thermometer = r.get_vector<std::int32_t>();
  p.classes = r.get<std::uint32_t>();
  p.cycles_per_tick = r.get<std::uint32_t>();
  p.latency_cycles = r.get<std::uint32_t>();
  p.inputs = get_ports(r, payload.size(), source, version);
  p.outputs = get_ports(r, payload.size(), source, version);
  for (auto& o : p.outputs) o.bit = -1;
  const auto nl = r.get<std::uint64_t>();
  if (nl > payload.size()) throw model_error(fmt::format("{}: corrupt program: {} layers", source, nl), hint);
  p.layers.resize(nl);
  for (auto& l : p.layers) l = r.get_string();
  p.report_json = r.get_string();
  const auto ne = r.get<std::uint64_t>();
  if (ne > (payload.size() - r.position()) / element_bytes) {
    throw model_error(fmt::format("{}: corrupt program: {} elements in {} bytes", source, ne, payload.size() - r.position()),
                      hint);
  }
  p.elements.resize(ne);
  for (auto& e : p.elements) {
    e.x = r.get<std::uint32_t>();
    e.y = r.get<std::uint32_t>();
    e.kind = r.get<element_kind>();
    e.listen = r.get<std::uint16_t>();
    e.weight = r.get<std::int16_t>();
    e.delay = r.get<std::uint8_t>();
    e.threshold = r.get<std::int32_t>();
    e.charge_min = r.get<std::int32_t>();
    e.leak = r.get<leak_kind>();
    e.layer = r.get<std::uint32_t>();
  }
  if (!r.at_end()) {
    throw model_error(fmt::format("{}: corrupt program: {} unread bytes at the end", source,
                                  payload.size() - r.position()), hint);
  }
  p.target = parse_danna(p.target_text, source + " (embedded grid description)");
  try {
    verify_program(p, false);
  } catch (const model_error& e) {  // say which file
    throw model_error(fmt::format("{}: {}", source, e.what()), e.hint());
  }
  return p;
}

namespace {

// The timing fields bound the simulation: frames run frames + latency_cycles + 1 cycles, spikes steps x
// cycles_per_tick. No value takes longer through an element than the longest synapse delay and a tile
// crossing, so no path through the program, and no route the compiler gave a network time step, is longer
// than the elements x that; a larger value cannot be the compiler's and would only make a run endless.
template <typename Fail>
void verify_timing(const dn_program& p, const Fail& fail) {
  const auto& t = p.target;
  const std::uint64_t per_element = static_cast<std::uint64_t>(std::max(t.delay_max_cycles, 1)) +
                                    static_cast<std::uint64_t>(std::max(t.tile_crossing_cycles, 0));
  const std::uint64_t longest = std::max<std::uint64_t>(1, p.elements.size() * per_element);
  const auto why = [&] {
    return fmt::format("{} elements x at most {} cycles each (delay {}, tile crossing {})", p.elements.size(), per_element,
                       t.delay_max_cycles, t.tile_crossing_cycles);
  };
  if (p.mode == dn_mode::frames ? p.cycles_per_tick != 1 : p.cycles_per_tick < 1 || p.cycles_per_tick > longest) {
    fail(p.mode == dn_mode::frames
             ? fmt::format("cycles_per_tick: {} (a frames program runs one frame per cycle: expected 1)", p.cycles_per_tick)
             : fmt::format("cycles_per_tick: {} (expected 1..{}: {})", p.cycles_per_tick, longest, why()));
  }
  if (p.latency_cycles > longest) {
    fail(fmt::format("latency_cycles: {}, more than any path through the program takes: {} ({})", p.latency_cycles,
                     longest, why()));
  }
  if (p.mode != dn_mode::frames) return;
  for (std::size_t k = 0; k < p.outputs.size(); ++k) {
    const auto& o = p.outputs[k];
    if (o.offset < 0 || static_cast<std::uint32_t>(o.offset) > p.latency_cycles) {
      fail(fmt::format("output port {} on element {}: fires at cycle {} of a frame, outside 0..{} (latency_cycles)", k,
                       o.element, o.offset, p.latency_cycles));
    }
  }
  if (p.classes < 1 || p.classes > p.outputs.size()) {
    fail(fmt::format("classes: {} for {} output ports (expected 1..{}: every class needs a port)", p.classes,
                     p.outputs.size(), p.outputs.size()));
  }
}

}  // namespace

void verify_program(const dn_program& p, bool compiled) {
  auto fail = [&](const std::string& what) {
    if (compiled) throw internal_error("grid program verifier: " + what);
    throw model_error("invalid grid program: " + what, hint);
  };
  const auto& t = p.target;
  if (static_cast<int>(p.mode) > 1) fail(fmt::format("mode: {} (expected 0, frames, or 1, spikes)", static_cast<int>(p.mode)));
  // Positions in use: a bit per grid element, or where the grid is much larger than the program, the sorted
  // positions (programs of tens of millions of elements are checked in a few bytes each).
  const auto grid_elements = static_cast<std::uint64_t>(t.width()) * static_cast<std::uint64_t>(t.height());
  const bool bitmap = grid_elements / 8 <= p.elements.size() * sizeof(std::uint64_t);
  std::vector<std::uint64_t> used(bitmap ? (grid_elements + 63) / 64 : 0);
  std::vector<std::uint64_t> sites;
  if (!bitmap) sites.reserve(p.elements.size());
  const auto nb = t.neighbours.size();
  for (std::size_t i = 0; i < p.elements.size(); ++i) {
    const auto& e = p.elements[i];
    const auto where = [&] { return fmt::format("element {} at ({}, {})", i, e.x, e.y); };
    if (e.x >= static_cast<std::uint32_t>(t.width()) || e.y >= static_cast<std::uint32_t>(t.height())) {
      fail(fmt::format("{} is outside the {} x {} grid", where(), t.width(), t.height()));
    }
    const std::uint64_t site = std::uint64_t{e.y} * static_cast<std::uint64_t>(t.width()) + e.x;
    if (bitmap) {
      if ((used[site / 64] >> (site % 64)) & 1) fail(where() + ": position used twice");
      used[site / 64] |= std::uint64_t{1} << (site % 64);
    } else {
      sites.push_back(site);
    }
    if (nb < 16 && (e.listen >> nb) != 0) fail(fmt::format("{}: listens to neighbour {} of {}", where(), 15, nb));
    if (e.layer >= p.layers.size()) fail(fmt::format("{}: layer {} of {}", where(), e.layer, p.layers.size()));
    if (e.kind == element_kind::synapse) {
      if (e.weight < t.weight_min || e.weight > t.weight_max) {
        fail(fmt::format("{}: weight {} outside {}..{}", where(), e.weight, t.weight_min, t.weight_max));
      }
      if (e.delay < t.delay_min_cycles || e.delay > t.delay_max_cycles) {
        fail(fmt::format("{}: delay {} outside {}..{}", where(), e.delay, t.delay_min_cycles, t.delay_max_cycles));
      }
    } else if (e.kind == element_kind::neuron) {
      if (e.threshold < -t.threshold_max() - 1 || e.threshold > t.threshold_max()) {
        fail(fmt::format("{}: threshold {} outside the {}-bit range", where(), e.threshold, t.threshold_bits));
      }
      if (e.charge_min > 0 || e.charge_min < -t.charge_max() - 1) fail(fmt::format("{}: charge floor {}", where(), e.charge_min));
      if (static_cast<int>(e.leak) > 1) fail(where() + ": unknown leak mode");
    } else {
      fail(where() + ": unknown element kind");
    }
  }
  std::sort(sites.begin(), sites.end());
  if (const auto twice = std::adjacent_find(sites.begin(), sites.end()); twice != sites.end()) {
    const auto w = static_cast<std::uint64_t>(t.width());
    fail(fmt::format("two elements at ({}, {}): position used twice", *twice % w, *twice / w));
  }
  for (const auto* ports : {&p.inputs, &p.outputs}) {
    for (const auto& port : *ports) {
      if (port.element >= p.elements.size() || p.elements[port.element].kind != element_kind::neuron) {
        fail(fmt::format("port on element {} which is not a neuron of the program", port.element));
      }
      if (port.cls < -1 || (ports == &p.outputs && p.mode == dn_mode::frames && port.cls >= static_cast<std::int32_t>(p.classes))) {
        fail(fmt::format("output port class {} of {}", port.cls, p.classes));
      }
    }
  }
  verify_timing(p, fail);
  if (p.mode == dn_mode::frames) {
    // Capped: no port can name a bit past 2^31, so neither can a product that overflows.
    const std::uint64_t bits = detail::capped_product(
        {p.image_channels, p.thermometer.size(), p.image_height, p.image_width}, std::uint64_t{1} << 31);
    for (const auto& port : p.inputs) {
      if (port.bit < 0 || static_cast<std::size_t>(port.bit) >= bits) {
        fail(fmt::format("input port on element {} receives bit {} of {} encoded input bits", port.element, port.bit, bits));
      }
      if (port.offset < 0 || static_cast<std::uint32_t>(port.offset) > p.latency_cycles) {
        fail(fmt::format("input port on element {} is injected at cycle {}, outside 0..{}", port.element, port.offset,
                         p.latency_cycles));
      }
    }
  }
}

void write_program(const std::filesystem::path& path, const dn_program& p) { atomic_write(path, serialize(p)); }

dn_program read_dn_program(const std::filesystem::path& path) { return deserialize_dn(read_file(path), path.string()); }

}  // namespace nmc::hw
