#include <nmc/hw/tn_program.hpp>

#include <algorithm>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>

#include "bytes.hpp"

namespace nmc::hw {

namespace {

constexpr char magic[8] = {'N', 'M', 'C', 'T', 'N', 'P', 'R', 'G'};
constexpr std::size_t header_size = 8 + 4 + 8 + 8;

void put_neuron(detail::byte_writer& w, const tn_neuron& n) {
  for (auto v : n.weight) w.put(v);
  for (auto v : n.stochastic_weight) w.put(v);
  w.put(n.leak), w.put(n.stochastic_leak), w.put(n.leak_reversal);
  w.put(n.threshold), w.put(n.neg_threshold), w.put(n.threshold_mask_bits);
  w.put(n.reset), w.put(n.kappa), w.put(n.reset_potential), w.put(n.initial_potential);
  w.put(n.dest), w.put(n.dest_core), w.put(n.dest_axon), w.put(n.delay_ticks);
}

tn_neuron get_neuron(detail::byte_reader& r) {
  tn_neuron n;
  for (auto& v : n.weight) v = r.get<std::int16_t>();
  for (auto& v : n.stochastic_weight) v = r.get<std::uint8_t>();
  n.leak = r.get<std::int16_t>();
  n.stochastic_leak = r.get<std::uint8_t>();
  n.leak_reversal = r.get<std::uint8_t>();
  n.threshold = r.get<std::int32_t>();
  n.neg_threshold = r.get<std::int32_t>();
  n.threshold_mask_bits = r.get<std::uint8_t>();
  n.reset = r.get<reset_mode>();
  n.kappa = r.get<std::uint8_t>();
  n.reset_potential = r.get<std::int32_t>();
  n.initial_potential = r.get<std::int32_t>();
  n.dest = r.get<dest_kind>();
  n.dest_core = r.get<std::uint32_t>();
  n.dest_axon = r.get<std::uint16_t>();
  n.delay_ticks = r.get<std::uint8_t>();
  return n;
}

}  // namespace

std::string serialize(const tn_program& p) {
  detail::byte_writer w;
  w.put(p.model_hash);
  w.put_string(p.model_name);
  w.put_string(p.model_text);
  w.put_string(p.target_text);
  w.put(p.chips), w.put(p.chips_x), w.put(p.chips_y);
  w.put(p.image_channels), w.put(p.image_height), w.put(p.image_width);
  w.put_vector(p.thermometer);
  w.put_vector(p.input_offsets);
  w.put<std::uint64_t>(p.input_targets.size());
  for (const auto& t : p.input_targets) w.put(t.core), w.put(t.axon), w.put(t.tick_offset);
  w.put(p.classes);
  w.put_vector(p.output_class);
  w.put(p.output_tick_offset), w.put(p.ticks_per_frame), w.put(p.latency_ticks);
  w.put<std::uint64_t>(p.layers.size());
  for (const auto& l : p.layers) w.put_string(l);
  w.put_string(p.report_json);
  w.put<std::uint64_t>(p.cores.size());
  for (const auto& c : p.cores) {
    w.put(c.chip), w.put(c.x), w.put(c.y), w.put(c.layer), w.put(c.seed);
    w.put_vector(c.axon_type);
    w.put_vector(c.crossbar);
    w.put<std::uint64_t>(c.neurons.size());
    for (const auto& n : c.neurons) put_neuron(w, n);
  }
  const std::string payload = std::move(w.bytes());
  detail::byte_writer h;
  h.bytes().append(magic, 8);
  h.put(tn_program_version);
  h.put<std::uint64_t>(payload.size());
  h.put(fnv1a64(payload));
  return h.bytes() + payload;
}

tn_program deserialize(const std::string& bytes, const std::string& source) {
  const std::string hint = "recompile the model with 'nmc compile'";
  if (bytes.size() < 8 || bytes.compare(0, 8, std::string(magic, 8)) != 0) {
    throw model_error(fmt::format("{}: not an nmc TrueNorth program (bad magic)", source),
                      "pass a file written by 'nmc compile --target truenorth'");
  }
  if (bytes.size() < header_size) {
    throw model_error(fmt::format("{}: truncated program: {} bytes, the header alone is {}",
                                  source, bytes.size(), header_size), hint);
  }
  detail::byte_reader hr(bytes, source);
  hr.get<std::uint64_t>();  // magic
  const auto version = hr.get<std::uint32_t>();
  if (version != tn_program_version) {
    throw model_error(fmt::format("{}: program format version {}, this nmc reads version {}",
                                  source, version, tn_program_version), hint);
  }
  const auto size = hr.get<std::uint64_t>();
  const auto checksum = hr.get<std::uint64_t>();
  if (bytes.size() - header_size != size) {
    throw model_error(fmt::format("{}: truncated program: the header declares {} bytes of payload, "
                                  "the file holds {}",
                                  source, size, bytes.size() - header_size), hint);
  }
  const std::string_view payload = std::string_view(bytes).substr(header_size);  // read in place: no copy
  if (fnv1a64(payload) != checksum) {
    throw model_error(fmt::format("{}: corrupt program: checksum mismatch", source), hint);
  }
  detail::byte_reader r(payload, source);
  tn_program p;
  p.model_hash = r.get<std::uint64_t>();
  p.model_name = r.get_string();
  p.model_text = r.get_string();
  p.target_text = r.get_string();
  p.chips = r.get<std::uint32_t>();
  p.chips_x = r.get<std::uint32_t>();
  p.chips_y = r.get<std::uint32_t>();
  p.image_channels = r.get<std::uint32_t>();
  p.image_height = r.get<std::uint32_t>();
  p.image_width = r.get<std::uint32_t>();
  p.thermometer = r.get_vector<std::int32_t>();
  p.input_offsets = r.get_vector<std::uint32_t>();
  const auto ntargets = r.get<std::uint64_t>();
  if (ntargets > payload.size()) throw model_error(fmt::format("{}: corrupt program: {} input targets", source, ntargets), hint);
  p.input_targets.resize(ntargets);
  for (auto& t : p.input_targets) {
    t.core = r.get<std::uint32_t>();
    t.axon = r.get<std::uint16_t>();
    t.tick_offset = r.get<std::uint8_t>();
  }
  p.classes = r.get<std::uint32_t>();
  p.output_class = r.get_vector<std::int32_t>();
  p.output_tick_offset = r.get<std::uint32_t>();
  p.ticks_per_frame = r.get<std::uint32_t>();
  p.latency_ticks = r.get<std::uint32_t>();
  const auto nlayers = r.get<std::uint64_t>();
  if (nlayers > payload.size()) throw model_error(fmt::format("{}: corrupt program: {} layers", source, nlayers), hint);
  p.layers.resize(nlayers);
  for (auto& l : p.layers) l = r.get_string();
  p.report_json = r.get_string();
  const auto ncores = r.get<std::uint64_t>();
  if (ncores > payload.size()) throw model_error(fmt::format("{}: corrupt program: {} cores", source, ncores), hint);
  p.cores.resize(ncores);
  for (auto& c : p.cores) {
    c.chip = r.get<std::uint32_t>();
    c.x = r.get<std::uint32_t>();
    c.y = r.get<std::uint32_t>();
    c.layer = r.get<std::uint32_t>();
    c.seed = r.get<std::uint32_t>();
    c.axon_type = r.get_vector<std::uint8_t>();
    c.crossbar = r.get_vector<std::uint64_t>();
    const auto nn = r.get<std::uint64_t>();
    if (nn > payload.size()) throw model_error(fmt::format("{}: corrupt program: {} neurons", source, nn), hint);
    c.neurons.resize(nn);
    for (auto& n : c.neurons) n = get_neuron(r);
  }
  if (!r.at_end()) {
    throw model_error(fmt::format("{}: corrupt program: {} unread bytes at the end", source,
                                  payload.size() - r.position()), hint);
  }
  p.target = parse_truenorth(p.target_text, source + " (embedded target)");
  try {
    verify_program(p, false);
  } catch (const model_error& e) {  // say which file
    throw model_error(fmt::format("{}: {}", source, e.what()), e.hint());
  }
  return p;
}

namespace {

// The timing fields bound the simulation: it runs frames x ticks_per_frame + output_tick_offset ticks. A class
// spike reaches the output at most max input tick offset + (layers on its path) x the longest delay after its
// frame starts (the timing pass makes it exactly that for the deepest layer), and a frame's outputs are done
// ticks_per_frame ticks later; anything beyond cannot be the compiler's and would only make a run endless.
template <typename Fail>
void verify_timing(const tn_program& p, const Fail& fail) {
  const auto& t = p.target;
  if (p.ticks_per_frame < 1 || p.ticks_per_frame > max_ticks_per_frame) {
    fail(fmt::format("ticks_per_frame: {} (expected 1..{})", p.ticks_per_frame, max_ticks_per_frame));
  }
  std::uint64_t input_offset = 0;
  for (const auto& it : p.input_targets) input_offset = std::max<std::uint64_t>(input_offset, it.tick_offset);
  std::vector<bool> used(p.layers.size(), false);
  std::uint64_t layers = 0;
  for (const auto& c : p.cores)
    if (!used[c.layer]) used[c.layer] = true, ++layers;
  const std::uint64_t offset_max = input_offset + layers * static_cast<std::uint64_t>(t.delay_max_ticks);
  if (p.output_tick_offset > offset_max) {
    fail(fmt::format("output_tick_offset: {} ticks, more than any path through the program takes: {} (input tick "
                     "offset {} + {} layers x delays of at most {} ticks)",
                     p.output_tick_offset, offset_max, input_offset, layers, t.delay_max_ticks));
  }
  const std::uint64_t latency_max = std::uint64_t{p.output_tick_offset} + p.ticks_per_frame;
  if (p.latency_ticks > latency_max) {
    fail(fmt::format("latency_ticks: {}, more than output tick offset {} + ticks per frame {}", p.latency_ticks,
                     p.output_tick_offset, p.ticks_per_frame));
  }
}

}  // namespace

void verify_program(const tn_program& p, bool compiled) {
  auto fail = [&](const std::string& what) {
    if (compiled) throw internal_error("program verifier: " + what);
    throw model_error("invalid program: " + what, "recompile the model with 'nmc compile'");
  };
  const auto& t = p.target;
  const auto axons = static_cast<std::size_t>(t.axons), neurons = static_cast<std::size_t>(t.neurons);
  const auto row_words = neurons / 64;
  // The chips: rows of chips_x (the place pass chooses them with chip_grid; programs of earlier versions used rows
  // of the board's width), with global core coordinates that fit an int (the router and the simulator count hops
  // in them).
  constexpr std::uint32_t max_chips = 1u << 20;
  if (p.chips == 0 || p.chips > max_chips) fail(fmt::format("chips: {} (expected 1..{})", p.chips, max_chips));
  const std::uint32_t chips_x = p.chips_x, chips_y = p.chips_y;
  if (chips_x == 0 || chips_x > p.chips || chips_y != (p.chips + chips_x - 1) / chips_x) {
    fail(fmt::format("chips_x, chips_y: {} chips arranged {}x{} (expected 1 <= chips_x <= chips and chips_y = "
                     "chips / chips_x rounded up)",
                     p.chips, p.chips_x, p.chips_y));
  }
  if (std::uint64_t{chips_y} * static_cast<std::uint64_t>(t.cores_y) > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    fail(fmt::format("chips: {} chips in {} rows of {} cores do not fit the core coordinates", p.chips, chips_y, t.cores_y));
  }
  if (p.cores.size() > static_cast<std::size_t>(p.chips) * t.cores_per_chip()) {
    fail(fmt::format("{} cores for {} chips of {}", p.cores.size(), p.chips, t.cores_per_chip()));
  }
  std::set<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> sites;
  const std::int64_t vmax = (std::int64_t{1} << (t.potential_bits - 1)) - 1;
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    const auto& c = p.cores[ci];
    if (c.chip >= p.chips || c.x >= static_cast<std::uint32_t>(t.cores_x) || c.y >= static_cast<std::uint32_t>(t.cores_y)) {
      fail(fmt::format("core {} placed at chip {} ({}, {}) outside {} chips of {}x{}", ci, c.chip, c.x, c.y, p.chips, t.cores_x, t.cores_y));
    }
    if (!sites.insert({c.chip, c.x, c.y}).second) fail(fmt::format("core {}: site chip {} ({}, {}) used twice", ci, c.chip, c.x, c.y));
    if (c.layer >= p.layers.size()) fail(fmt::format("core {}: layer index {} of {}", ci, c.layer, p.layers.size()));
    if (c.axon_type.size() != axons || c.crossbar.size() != axons * row_words || c.neurons.size() != neurons) {
      fail(fmt::format("core {}: {} axon types, {} crossbar words, {} neurons (expected {}, {}, {})", ci,
                       c.axon_type.size(), c.crossbar.size(), c.neurons.size(), axons, axons * row_words, neurons));
    }
    for (std::size_t a = 0; a < axons; ++a) {
      if (c.axon_type[a] >= t.axon_types) fail(fmt::format("core {} axon {}: type {}", ci, a, c.axon_type[a]));
    }
    for (std::size_t j = 0; j < neurons; ++j) {
      const auto& n = c.neurons[j];
      const auto where = fmt::format("core {} neuron {}", ci, j);
      for (auto w : n.weight) if (w < t.weight_min || w > t.weight_max) fail(fmt::format("{}: weight {} outside {}..{}", where, w, t.weight_min, t.weight_max));
      if (n.leak < t.leak_min || n.leak > t.leak_max) fail(fmt::format("{}: leak {} outside {}..{}", where, n.leak, t.leak_min, t.leak_max));
      if (n.threshold < 1 || n.threshold > t.threshold_max) fail(fmt::format("{}: threshold {} outside 1..{}", where, n.threshold, t.threshold_max));
      if (n.neg_threshold < 0 || n.neg_threshold > t.threshold_max) fail(fmt::format("{}: negative threshold {}", where, n.neg_threshold));
      if (n.threshold_mask_bits > 17) fail(fmt::format("{}: threshold mask of {} bits", where, n.threshold_mask_bits));
      if (static_cast<int>(n.reset) > 2 || n.kappa > 1 || n.leak_reversal > 1 || n.stochastic_leak > 1) fail(where + ": flag out of range");
      if (std::abs(static_cast<std::int64_t>(n.reset_potential)) > vmax || std::abs(static_cast<std::int64_t>(n.initial_potential)) > vmax) {
        fail(fmt::format("{}: potential outside the {}-bit range", where, t.potential_bits));
      }
      if (n.dest == dest_kind::core) {
        if (n.dest_core >= p.cores.size() || n.dest_axon >= axons) fail(fmt::format("{}: destination core {} axon {} does not exist", where, n.dest_core, n.dest_axon));
        if (n.delay_ticks < t.delay_min_ticks || n.delay_ticks > t.delay_max_ticks) fail(fmt::format("{}: delay {} outside {}..{}", where, n.delay_ticks, t.delay_min_ticks, t.delay_max_ticks));
      } else if (n.dest == dest_kind::output) {
        if (n.dest_axon >= p.output_class.size()) fail(fmt::format("{}: output port {} of {}", where, n.dest_axon, p.output_class.size()));
      } else if (n.dest != dest_kind::none) {
        fail(where + ": bad destination kind");
      }
    }
  }
  // The input map: one offset per encoded input bit and one more. The product is checked factor by factor so
  // that forged dimensions cannot wrap around to the vector's size.
  if (p.thermometer.empty() && p.image_channels * std::uint64_t{p.image_height} * p.image_width != 0) {
    fail(fmt::format("thermometer: no levels for a {}x{}x{} image", p.image_channels, p.image_height, p.image_width));
  }
  const std::uint64_t bits = detail::capped_product(
      {p.image_channels, p.thermometer.size(), p.image_height, p.image_width}, p.input_offsets.size());
  if (p.input_offsets.size() != bits + 1 || p.input_offsets.front() != 0 || p.input_offsets.back() != p.input_targets.size()) {
    fail(fmt::format("input map: {} offsets for {}x{}x{} pixels of {} levels and {} targets (expected one per input bit "
                     "and one more)", p.input_offsets.size(), p.image_channels, p.image_height, p.image_width,
                     p.thermometer.size(), p.input_targets.size()));
  }
  for (std::size_t i = 1; i < p.input_offsets.size(); ++i) if (p.input_offsets[i] < p.input_offsets[i - 1]) fail("input map: offsets decrease");
  for (const auto& it : p.input_targets) {
    if (it.core >= p.cores.size() || it.axon >= axons) fail(fmt::format("input target core {} axon {} does not exist", it.core, it.axon));
  }
  // The output map: every class has a port (a class without one could never win), every port a class or -1.
  if (p.classes < 1 || p.classes > p.output_class.size()) {
    fail(fmt::format("classes: {} for {} output ports (expected 1..{}: every class needs a port)", p.classes,
                     p.output_class.size(), p.output_class.size()));
  }
  for (std::size_t port = 0; port < p.output_class.size(); ++port) {
    const auto c = p.output_class[port];
    if (c < -1 || c >= static_cast<std::int32_t>(p.classes)) fail(fmt::format("output port {}: class {} of {}", port, c, p.classes));
  }
  verify_timing(p, fail);
}

void write_program(const std::filesystem::path& path, const tn_program& p) {
  atomic_write(path, serialize(p));
}

tn_program read_program(const std::filesystem::path& path) {
  return deserialize(read_file(path), path.string());
}

}  // namespace nmc::hw
