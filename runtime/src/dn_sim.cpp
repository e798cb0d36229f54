#include <nmc/runtime/dn_sim.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/parallel.hpp>

namespace nmc::runtime {

namespace {
constexpr std::uint32_t none = 0xffffffffU;
// A multiple of every synapse's ring length (delay - 1, at most 15): t mod this, taken once per cycle, gives
// each element t mod its ring length in 32-bit arithmetic for any run length.
constexpr std::uint32_t ring_period = 720720;  // lcm(1, ..., 16)
}

struct dn_simulator::impl {
  const hw::dn_program& p;
  int threads;
  std::size_t n = 0;  // elements stepped one by one
  int depth = 2;      // output history slots
  // Links of the stepped elements, CSR by reader: source (a stepped element), whether the link into the reader
  // crosses a tile (and so takes the crossing latency), and the delay line it reads through (none: it reads the
  // source's output history).
  std::vector<std::uint32_t> src_begin, src, src_line;
  std::vector<std::uint8_t> src_cross;
  std::vector<std::uint8_t> is_neuron, delay, layer;
  std::vector<std::int32_t> weight, threshold, cmin;
  std::vector<std::uint8_t> reset;
  std::int32_t cmax = 0, vmax = 0;
  std::vector<std::int32_t> charge, inj;
  // A synapse of delay d > 1 holds its last d - 1 outputs (a delay-1 synapse emits this cycle's value and
  // holds none): rings[ring_at[i] ...], read then overwritten at t mod (d - 1).
  std::vector<std::uint32_t> ring_at;
  std::vector<std::int32_t> rings;
  std::vector<std::int32_t> out;  // depth x n
  std::int64_t t = 0;
  std::unique_ptr<worker_team> team;  // threads > 1 only
  std::vector<std::vector<event_counts>> counts;  // per worker, per layer
  mutable std::vector<event_counts> summed;
  std::vector<std::uint32_t> input_elem;
  std::vector<std::uint32_t> stepped_index;  // program element -> stepped element (none: folded into a line)

  // A relay chain folded into a delay line: the chain's first source's outputs, kept for as many cycles as
  // the chain delays them (its span), and what its relays would have counted. In cycle t the reader takes
  // slot t mod span, which holds what it pushed span cycles ago, and pushes the source's output of cycle
  // t - 1 into it. A value the source emits in cycle s is read by the chain's relay k in cycle
  // s + arrive[k], so after T cycles the relay has read every non-zero value pushed except those with
  // s >= T - arrive[k], which are still in the buffer (arrive[k] <= span).
  //
  // Lines of the same span form a group, stored slot-major: slot r of the group's c-th line is at
  // group.base + r * group.lines + c. The lines of neighbouring readers, which often share a span, then
  // take neighbouring slots in each cycle, and the slot read is the slot written: one memory line can
  // serve several lines where a buffer per line costs one or two each (fmnist_small's stripes: 816 k
  // lines in 6,638 spans; a quarter of the line reads fall in the memory line of the read before).
  struct line {
    std::uint64_t at = 0;     // into line_buf: group.base + its column
    std::uint32_t group = 0;
  };
  struct line_group {
    std::uint64_t base = 0;
    std::uint32_t span = 0, lines = 0;
  };
  std::vector<line> lines;
  std::vector<std::int64_t> line_nonzero;  // per line: non-zero values pushed
  std::vector<std::uint64_t> line_relay_begin;  // per line, and one past the last: into relay_arrive / _layer / _cross
  std::vector<line_group> groups;
  std::vector<std::uint64_t> group_row;  // per group, this cycle: (t mod span) * lines
  std::vector<std::int32_t> line_buf;
  std::vector<std::int32_t> relay_arrive;
  std::vector<std::uint8_t> relay_layer, relay_cross;

  std::uint8_t layer_of(const hw::dn_element& e) const {
    return static_cast<std::uint8_t>(std::min<std::uint32_t>(e.layer, 255));
  }

  impl(const hw::dn_program& prog, int th, const dn_sim_options& opts) : p(prog), threads(std::max(1, th)) {
    const auto& tg = p.target;
    const std::size_t all = p.elements.size();
    depth = tg.tile_crossing_cycles + 2;
    // Every link of every element, CSR by reader: its source and whether it crosses a tile boundary.
    std::vector<std::uint32_t> at(static_cast<std::size_t>(tg.elements()), none);
    for (std::size_t i = 0; i < all; ++i)
      at[static_cast<std::size_t>(p.elements[i].y) * static_cast<std::size_t>(tg.width()) + p.elements[i].x] = static_cast<std::uint32_t>(i);
    auto tile = [&](std::uint32_t x, std::uint32_t y) {
      return (y / static_cast<std::uint32_t>(tg.tile_h)) * static_cast<std::uint32_t>(tg.tiles_x) + x / static_cast<std::uint32_t>(tg.tile_w);
    };
    std::vector<std::uint64_t> link_begin{0};
    std::vector<std::uint32_t> link_src;
    std::vector<std::uint8_t> link_cross;  // crosses a tile boundary: takes the crossing latency
    std::vector<std::uint8_t> listeners(all, 0);  // saturating at 2
    for (std::size_t i = 0; i < all; ++i) {
      const auto& e = p.elements[i];
      for (std::size_t k = 0; k < tg.neighbours.size(); ++k) {
        if (!((e.listen >> k) & 1)) continue;
        const std::int64_t x = static_cast<std::int64_t>(e.x) + tg.neighbours[k][0], y = static_cast<std::int64_t>(e.y) + tg.neighbours[k][1];
        if (x < 0 || y < 0 || x >= tg.width() || y >= tg.height()) continue;  // listens to nothing there
        const auto j = at[static_cast<std::size_t>(y * tg.width() + x)];
        if (j == none) continue;  // an unused element emits nothing
        link_src.push_back(j);
        link_cross.push_back(tile(e.x, e.y) != tile(static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y)));
        listeners[j] = static_cast<std::uint8_t>(std::min(2, listeners[j] + 1));
      }
      link_begin.push_back(link_src.size());
    }
    std::vector<std::uint32_t>().swap(at);
    auto lat_of = [&](std::uint64_t k) -> std::int64_t { return link_cross[k] ? tg.tile_crossing_cycles : 0; };
    // A relay: a synapse of weight 1 with one source and one listener, neither an input nor an output port.
    // Its output is its source's, `delay` + latency cycles later (values stay within range: weight 1), so a
    // chain of relays is a delay line and is folded into its reader's link.
    std::vector<std::uint8_t> relay(all, 0);
    if (opts.fold_relays) {
      for (std::size_t i = 0; i < all; ++i) {
        const auto& e = p.elements[i];
        relay[i] = e.kind == hw::element_kind::synapse && e.weight == 1 && link_begin[i + 1] - link_begin[i] == 1 &&
                   listeners[i] == 1;
      }
      for (const auto& port : p.inputs) relay[port.element] = 0;
      for (const auto& port : p.outputs) relay[port.element] = 0;
    }
    stepped_index.assign(all, none);
    std::size_t relays = 0, stepped_links = 0, folded_links = 0, buf_slots = 0, ring_slots = 0;
    for (std::size_t i = 0; i < all; ++i) {
      if (relay[i]) {
        ++relays;
        buf_slots += static_cast<std::size_t>(p.elements[i].delay + lat_of(link_begin[i]));
        continue;
      }
      stepped_index[i] = static_cast<std::uint32_t>(n++);
      if (p.elements[i].kind == hw::element_kind::synapse && p.elements[i].delay > 1)
        ring_slots += static_cast<std::size_t>(p.elements[i].delay - 1);
      for (auto k = link_begin[i]; k < link_begin[i + 1]; ++k) {
        ++stepped_links;
        if (relay[link_src[k]]) {
          ++folded_links;
          buf_slots += static_cast<std::size_t>(lat_of(k) + 1);
        }
      }
    }
    // Everything from here on, sized before it is allocated (buf_slots errs high: it counts relays in rings
    // that no stepped element reads, which are never folded into a line).
    if (opts.memory.bytes > 0) {
      const std::size_t analysis = all * (sizeof(std::uint64_t) + 3 + sizeof(std::uint32_t)) + link_src.size() * 5;
      const std::size_t need = analysis + n * (5 * sizeof(std::uint32_t) + 3 * sizeof(std::int32_t) + 2 * sizeof(std::int32_t) +
                                               static_cast<std::size_t>(depth) * sizeof(std::int32_t)) +
                               stepped_links * 9 + folded_links * (sizeof(line) + 2 * sizeof(std::uint64_t)) +
                               (buf_slots + ring_slots) * sizeof(std::int32_t) + relays * 6;
      if (need > opts.memory.bytes) {
        throw fit_error(fmt::format("simulating {} grid elements ({} stepped, {} relays in {} delay lines) needs about {}, but "
                                    "only {} {}", all, n, relays, folded_links, human_bytes(need),
                                    human_bytes(opts.memory.bytes), opts.memory.name),
                        std::string(opts.memory.way_out) +
                            (opts.fold_relays ? "; a smaller layout (fewer elements) needs less"
                                              : "; without --step-relays, relay chains run as delay lines and need less"));
      }
    }
    if (ring_slots > none) {
      throw fit_error(fmt::format("simulating {} grid elements: their synapses' delays need {} ring slots, more than the "
                                  "simulator's limit of {}", all, ring_slots, none),
                      "split the network, or use shorter synapse delays");
    }
    src_begin.reserve(n + 1);
    src_begin.push_back(0);
    src.reserve(stepped_links);
    src_line.reserve(stepped_links);
    src_cross.reserve(stepped_links);
    lines.reserve(folded_links);
    line_relay_begin.reserve(folded_links + 1);
    line_buf.reserve(buf_slots);
    relay_arrive.reserve(relays);
    relay_layer.reserve(relays);
    relay_cross.reserve(relays);
    for (auto* v : {&is_neuron, &delay, &layer, &reset}) v->reserve(n);
    for (auto* v : {&weight, &threshold, &cmin}) v->reserve(n);
    ring_at.reserve(n);
    std::vector<std::uint32_t> chain;
    std::size_t ring_next = 0;
    std::vector<std::uint32_t> group_of_span;
    for (std::size_t i = 0; i < all; ++i) {
      if (relay[i]) continue;
      const auto& e = p.elements[i];
      for (auto k = link_begin[i]; k < link_begin[i + 1]; ++k) {
        src_cross.push_back(link_cross[k]);
        if (!relay[link_src[k]]) {
          src.push_back(stepped_index[link_src[k]]);
          src_line.push_back(none);
          continue;
        }
        // Walk the chain back to its first source (not a relay: a relay's one listener is the next element,
        // so the walk cannot come back to where it started).
        chain.clear();
        std::uint32_t j = link_src[k];
        std::int64_t span = lat_of(k);
        while (relay[j]) {
          chain.push_back(j);
          const auto l = link_begin[j];
          span += p.elements[j].delay + lat_of(l);
          j = link_src[l];
        }
        // Its group, by span (span >= 1: every relay delays at least a cycle); its column, in reader order.
        const auto sp = static_cast<std::size_t>(span);
        if (sp >= group_of_span.size()) group_of_span.resize(sp + 1, none);
        if (group_of_span[sp] == none) {
          group_of_span[sp] = static_cast<std::uint32_t>(groups.size());
          groups.push_back({0, static_cast<std::uint32_t>(span), 0});
        }
        auto& g = groups[group_of_span[sp]];
        lines.push_back({g.lines++, group_of_span[sp]});
        line_relay_begin.push_back(relay_arrive.size());
        std::int64_t arrive = 0;  // cycles from the source's output to the relay's read, less one
        for (auto c = chain.rbegin(); c != chain.rend(); ++c) {
          const auto l = link_begin[*c];
          const auto lat = lat_of(l);
          relay_arrive.push_back(static_cast<std::int32_t>(arrive + 1 + lat));
          relay_layer.push_back(layer_of(p.elements[*c]));
          relay_cross.push_back(link_cross[l]);
          arrive += p.elements[*c].delay + lat;
        }
        src.push_back(stepped_index[j]);
        src_line.push_back(static_cast<std::uint32_t>(lines.size() - 1));
      }
      src_begin.push_back(static_cast<std::uint32_t>(src.size()));
      is_neuron.push_back(e.kind == hw::element_kind::neuron);
      delay.push_back(e.delay);
      ring_at.push_back(static_cast<std::uint32_t>(ring_next));
      if (e.kind == hw::element_kind::synapse && e.delay > 1) ring_next += static_cast<std::size_t>(e.delay - 1);
      layer.push_back(layer_of(e));
      weight.push_back(e.weight);
      threshold.push_back(e.threshold);
      cmin.push_back(e.charge_min);
      reset.push_back(e.leak == hw::leak_kind::reset);
    }
    cmax = tg.charge_max();
    vmax = tg.value_max();
    charge.assign(n, 0);
    inj.assign(n, 0);
    rings.assign(ring_slots, 0);
    line_relay_begin.push_back(relay_arrive.size());
    line_nonzero.assign(lines.size(), 0);
    std::uint64_t slots = 0;
    for (auto& g : groups) {
      g.base = slots;
      slots += std::uint64_t{g.span} * g.lines;
    }
    for (auto& ln : lines) ln.at += groups[ln.group].base;
    line_buf.assign(slots, 0);
    group_row.assign(groups.size(), 0);
    out.assign(static_cast<std::size_t>(depth) * n, 0);
    if (threads > 1) team = std::make_unique<worker_team>(threads);
    counts.assign(static_cast<std::size_t>(threads), std::vector<event_counts>(std::max<std::size_t>(1, std::min<std::size_t>(p.layers.size(), 256))));
    for (const auto& port : p.inputs) input_elem.push_back(stepped_index[port.element]);
  }

  void run_range(std::size_t b, std::size_t e, int worker) {
    auto& cnt = counts[static_cast<std::size_t>(worker)];
    const auto slot = static_cast<std::size_t>(t % depth);
    const std::int32_t* last = out.data() + static_cast<std::size_t>((t - 1 + depth) % depth) * n;
    const std::int32_t* far = out.data() + static_cast<std::size_t>(((t - 1 - (depth - 2)) % depth + depth) % depth) * n;
    std::int32_t* cur = out.data() + slot * n;
    const auto tm = static_cast<std::uint32_t>(t % ring_period);
    const std::uint64_t* row = group_row.data();
    for (std::size_t i = b; i < e; ++i) {
      std::int64_t in = inj[i];
      inj[i] = 0;
      std::int64_t hops = 0, crossings = 0;
      for (auto k = src_begin[i]; k < src_begin[i + 1]; ++k) {
        std::int32_t v;
        if (src_line[k] == none) {
          v = (src_cross[k] ? far : last)[src[k]];
        } else {
          // This reader alone owns the line: read what it pushed span cycles ago, push the source's last output.
          const auto l = src_line[k];
          std::int32_t& held = line_buf[lines[l].at + row[lines[l].group]];
          const std::int32_t pushed = last[src[k]];
          line_nonzero[l] += pushed != 0;
          v = held;
          held = pushed;
        }
        if (v != 0) {
          in += v;
          ++hops;
          crossings += src_cross[k];
        }
      }
      auto& c = cnt[layer[i] < cnt.size() ? layer[i] : 0];
      c.hops += hops;
      c.chip_crossings += crossings;
      if (is_neuron[i]) {
        std::int64_t q = charge[i];
        if (in != 0) {
          ++c.neuron_updates;
          q = std::clamp<std::int64_t>(q + in, cmin[i], cmax);
        }
        const bool fire = q >= threshold[i];
        cur[i] = fire;
        c.spikes += fire;
        charge[i] = (fire || reset[i]) ? 0 : static_cast<std::int32_t>(q);
      } else {
        if (in != 0) ++c.synaptic_events;
        const auto value = static_cast<std::int32_t>(std::clamp<std::int64_t>(in * weight[i], -vmax - 1, vmax));
        if (delay[i] <= 1) {
          cur[i] = value;
        } else {
          std::int32_t& held = rings[ring_at[i] + tm % (delay[i] - 1U)];  // written delay - 1 cycles ago
          cur[i] = held;
          held = value;
        }
      }
    }
  }

  // What the folded relays have read after t cycles: each reads a non-zero value as one hop and one synapse
  // activation (and a tile crossing if its link crosses), like a stepped synapse.
  void add_relay_counts(std::vector<event_counts>& s) const {
    for (std::size_t l = 0; l < lines.size(); ++l) {
      const auto& g = groups[lines[l].group];
      // What was pushed in cycle c (the source's output of c - 1), if it is still held.
      auto held = [&](std::int64_t c) { return line_buf[lines[l].at + static_cast<std::uint64_t>(c % g.span) * g.lines]; };
      std::int64_t pending = 0;  // non-zero values emitted in cycles >= t - arrive (pushed one later), seen so far
      std::int64_t c_next = t - 1;  // the next push cycle to look at, walking back
      for (auto r = line_relay_begin[l]; r < line_relay_begin[l + 1]; ++r) {
        const auto arrive = relay_arrive[r];
        for (; c_next >= t - arrive + 1 && c_next >= 0; --c_next) pending += held(c_next) != 0;
        const std::int64_t read = line_nonzero[l] - pending;
        auto& c = s[relay_layer[r] < s.size() ? relay_layer[r] : 0];
        c.hops += read;
        c.synaptic_events += read;
        if (relay_cross[r]) c.chip_crossings += read;
      }
    }
  }

  void step() {
    for (std::size_t g = 0; g < groups.size(); ++g)
      group_row[g] = static_cast<std::uint64_t>(t % groups[g].span) * groups[g].lines;
    if (threads == 1 || n < 2048) {
      run_range(0, n, 0);
    } else {
      auto body = [&](std::size_t begin, std::size_t end, int w) { run_range(begin, end, w); };
      team->for_chunks(n, 2048, body);
    }
    ++t;
  }
};

dn_simulator::dn_simulator(const hw::dn_program& program, int threads, const dn_sim_options& options)
    : impl_(std::make_unique<impl>(program, threads, options)) {}
dn_simulator::~dn_simulator() = default;

void dn_simulator::inject(std::uint32_t port, std::int32_t value) { impl_->inj[impl_->input_elem[port]] += value; }
void dn_simulator::step() { impl_->step(); }
std::int64_t dn_simulator::cycle() const { return impl_->t; }
bool dn_simulator::fired(std::uint32_t element) const {
  const auto i = impl_->stepped_index[element];
  const auto slot = static_cast<std::size_t>((impl_->t - 1) % impl_->depth);
  return i != none && impl_->is_neuron[i] && impl_->out[slot * impl_->n + i] != 0;
}
std::int32_t dn_simulator::charge(std::uint32_t element) const {
  const auto i = impl_->stepped_index[element];
  return i == none ? 0 : impl_->charge[i];
}
std::size_t dn_simulator::elements() const { return impl_->stepped_index.size(); }
std::size_t dn_simulator::stepped_elements() const { return impl_->n; }

const std::vector<event_counts>& dn_simulator::counts_per_layer() const {
  auto& s = impl_->summed;
  s.assign(impl_->counts[0].size(), {});
  for (const auto& w : impl_->counts)
    for (std::size_t l = 0; l < w.size(); ++l) s[l] += w[l];
  impl_->add_relay_counts(s);
  return s;
}

event_counts dn_simulator::totals() const {
  event_counts t;
  for (const auto& c : counts_per_layer()) t += c;
  return t;
}

frame_results run_dn_frames(const hw::dn_program& p, const dataset& data, int threads,
                            const std::function<bool(std::size_t)>& on_progress, const dn_sim_options& options) {
  if (p.mode != hw::dn_mode::frames) {
    throw usage_error("this grid program was compiled from a TENNLab network: it takes input spikes, not a dataset",
                      "use 'nmc simulate PROGRAM --spikes-in FILE'");
  }
  if (static_cast<std::uint32_t>(data.channels) != p.image_channels || static_cast<std::uint32_t>(data.height) != p.image_height ||
      static_cast<std::uint32_t>(data.width) != p.image_width) {
    throw data_error(fmt::format("{} frames are {}x{}x{}, the program's input expects {}x{}x{}", data.where(), data.channels,
                                 data.height, data.width, p.image_channels, p.image_height, p.image_width),
                     "use a program compiled for this dataset");
  }
  const auto start = std::chrono::steady_clock::now();
  dn_simulator sim(p, threads, options);
  const auto levels = p.thermometer.size();
  const std::size_t hw = static_cast<std::size_t>(p.image_height) * p.image_width;
  const std::int64_t frame_bits = static_cast<std::int64_t>(levels * p.image_channels * hw);
  frame_results r;
  r.frames = data.frames;
  r.classes = static_cast<int>(p.classes);
  const auto classes = static_cast<std::size_t>(p.classes);
  r.counts.assign(r.frames * classes, 0);
  const auto frames = static_cast<std::int64_t>(r.frames);
  const std::int64_t total = frames + p.latency_cycles + 1;
  std::vector<std::uint32_t> out_elem;
  for (const auto& o : p.outputs) out_elem.push_back(o.element);
  std::size_t completed = 0;
  for (std::int64_t c = 0; c < total; ++c) {
    // Input port k receives its bit of frame c - offset in cycle c.
    for (std::uint32_t k = 0; k < p.inputs.size(); ++k) {
      const auto& in = p.inputs[k];
      const std::int64_t f = c - in.offset;
      if (f < 0 || f >= frames || in.bit < 0 || in.bit >= frame_bits) continue;
      const auto bit = static_cast<std::size_t>(in.bit);
      const std::size_t plane = bit / hw, pixel = bit % hw;
      if (data.frame(static_cast<std::size_t>(f))[plane / levels * hw + pixel] >= p.thermometer[plane % levels]) sim.inject(k);
    }
    sim.step();
    for (std::size_t k = 0; k < out_elem.size(); ++k) {
      const auto& o = p.outputs[k];
      const std::int64_t f = c - o.offset;
      if (f >= 0 && f < frames && o.cls >= 0 && sim.fired(out_elem[k])) ++r.counts[static_cast<std::size_t>(f) * classes + static_cast<std::size_t>(o.cls)];
    }
    completed = static_cast<std::size_t>(std::clamp<std::int64_t>(c + 1 - p.latency_cycles, 0, frames));
    if (on_progress && (c % 64 == 63 || c + 1 == total) && !on_progress(completed)) {
      r.frames = completed;
      r.counts.resize(r.frames * classes);
      r.partial = true;
      break;
    }
  }
  r.ticks = sim.cycle();
  r.stepped_elements = sim.stepped_elements();
  r.predict_from_counts();
  r.per_layer = sim.counts_per_layer();
  r.totals = sim.totals();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::vector<input_spike> parse_spike_file(const std::string& text, const std::string& source, std::size_t inputs) {
  std::vector<input_spike> v;
  std::istringstream in(text);
  std::string line;
  int ln = 0;
  while (std::getline(in, line)) {
    ++ln;
    if (const auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ls(line);
    long long tick = 0, id = 0, value = 1;
    if (!(ls >> tick)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      throw data_error(fmt::format("{}:{}: expected 'tick input [value]', got '{}'", source, ln, line));
    }
    if (!(ls >> id)) throw data_error(fmt::format("{}:{}: missing the input id after tick {}", source, ln, tick));
    if (!(ls >> value)) value = 1;
    std::string rest;
    if (ls >> rest) throw data_error(fmt::format("{}:{}: unexpected '{}' after 'tick input value'", source, ln, rest));
    if (tick < 0 || tick > (1LL << 40)) throw data_error(fmt::format("{}:{}: tick {} is outside 0..2^40", source, ln, tick));
    if (id < 0 || static_cast<std::size_t>(id) >= inputs) {
      throw data_error(fmt::format("{}:{}: input {} does not exist: the network has {} input{}", source, ln, id, inputs,
                                   inputs == 1 ? "" : "s"), "input ids are positions in the network's \"Inputs\" list");
    }
    if (value < -32768 || value > 32767) throw data_error(fmt::format("{}:{}: value {} is outside -32768..32767", source, ln, value));
    v.push_back({tick, static_cast<std::uint32_t>(id), static_cast<std::int32_t>(value)});
  }
  std::stable_sort(v.begin(), v.end(), [](const input_spike& a, const input_spike& b) { return a.tick < b.tick; });
  return v;
}

spike_results run_dn_spikes(const hw::dn_program& p, const std::vector<input_spike>& unsorted, std::int64_t ticks,
                            int threads, const dn_sim_options& options) {
  std::vector<input_spike> spikes = unsorted;
  std::stable_sort(spikes.begin(), spikes.end(), [](const input_spike& a, const input_spike& b) { return a.tick < b.tick; });
  dn_simulator sim(p, threads, options);
  const std::int64_t k = p.cycles_per_tick;
  spike_results r;
  r.ticks = ticks;
  r.counts.assign(p.outputs.size(), 0);
  r.fire_ticks.assign(p.outputs.size(), {});
  std::size_t next = 0;
  for (std::int64_t c = 0; c < ticks * k; ++c) {
    if (c % k == 0) {
      for (; next < spikes.size() && spikes[next].tick == c / k; ++next) {
        if (spikes[next].input >= p.inputs.size()) throw data_error(fmt::format("input {} does not exist", spikes[next].input));
        sim.inject(spikes[next].input, spikes[next].value);
      }
      while (next < spikes.size() && spikes[next].tick < c / k) ++next;
    }
    sim.step();
    for (std::size_t o = 0; o < p.outputs.size(); ++o) {
      if (sim.fired(p.outputs[o].element)) {
        ++r.counts[o];
        r.fire_ticks[o].push_back(c / k);
      }
    }
  }
  r.cycles = sim.cycle();
  r.per_layer = sim.counts_per_layer();
  r.totals = sim.totals();
  return r;
}

energy_report dn_energy(const hw::dn_program& p, const std::vector<event_counts>& per_layer, std::int64_t cycles,
                        std::size_t frames) {
  const auto& t = p.target;
  energy_report e;
  e.tick_ms = t.cycle_ns * 1e-6;
  e.seconds = static_cast<double>(cycles) * t.cycle_ns * 1e-9;
  e.static_uj = t.static_per_element_cycle_pj * static_cast<double>(t.elements()) * static_cast<double>(cycles) * 1e-6;
  for (std::size_t l = 0; l < per_layer.size(); ++l) {
    const auto& c = per_layer[l];
    const double pj = static_cast<double>(c.synaptic_events) * t.synapse_activation_pj +
                      static_cast<double>(c.neuron_updates) * t.neuron_accumulate_pj +
                      static_cast<double>(c.spikes) * t.fire_pj + static_cast<double>(c.hops) * t.hop_pj +
                      static_cast<double>(c.chip_crossings) * t.tile_crossing_pj;
    e.layers.push_back({l < p.layers.size() ? p.layers[l] : fmt::format("layer {}", l), pj * 1e-6, c});
    e.dynamic_uj += pj * 1e-6;
  }
  e.total_uj = e.static_uj + e.dynamic_uj;
  e.per_frame_uj = frames ? e.total_uj / static_cast<double>(frames) : 0.0;
  e.power_mw = e.seconds > 0 ? e.total_uj / e.seconds * 1e-3 : 0.0;
  e.hardware_fps = p.mode == hw::dn_mode::frames ? 1e9 / t.cycle_ns : 1e9 / (t.cycle_ns * p.cycles_per_tick);
  e.counted = fmt::format(
      "static {} pJ per element per cycle over all {} elements x cycles of {} ns; synapse activations x {} pJ; neuron "
      "accumulates x {} pJ; fires x {} pJ; non-zero values over links x {} pJ; tile crossings x {} pJ (all assumptions)",
      t.static_per_element_cycle_pj, t.elements(), t.cycle_ns, t.synapse_activation_pj, t.neuron_accumulate_pj,
      t.fire_pj, t.hop_pj, t.tile_crossing_pj);
  e.not_counted = "encoding frames and delivering input from the host; configuration; the host; clock tree and I/O pads";
  return e;
}

}  // namespace nmc::runtime
