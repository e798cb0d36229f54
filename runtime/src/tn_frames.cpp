// Frames through a TrueNorth-style program, and the energy model.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/distributed.hpp>
#include <nmc/runtime/parallel.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "truenorth/epochs.hpp"
#include "truenorth/layout.hpp"

namespace nmc::runtime {

std::int64_t warmup_ticks(const hw::tn_program& p) {
  const auto levels = tn::core_levels(p);
  if (levels.empty() && !p.cores.empty()) throw internal_error("warmup_ticks: the program's core graph has a cycle");
  // depth[c]: the longest path of delays that ends at core c's axons.
  std::vector<std::int64_t> depth(p.cores.size(), 0);
  std::int64_t deepest = 0;
  for (const auto& level : levels)
    for (auto ci : level) {
      deepest = std::max(deepest, depth[ci]);
      for (const auto& n : p.cores[ci].neurons)
        if (n.dest == hw::dest_kind::core) depth[n.dest_core] = std::max(depth[n.dest_core], depth[ci] + n.delay_ticks);
    }
  return deepest + tn::hardware_slots;  // and the longest delay a neuron can have, to an output or a core
}

namespace {

frame_results run_frames_here(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                              const std::function<bool(std::size_t)>& on_progress,
                              const std::function<void(std::int64_t, const std::vector<fired_neuron>&)>& on_spikes,
                              const frame_slice* slice);

// Whether run_frames gives each thread its own share of the frames (see
// thread_mode); throws usage_error when `frames` is asked for and cannot be.
bool frames_across_threads(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                           const frame_slice* slice) {
  if (opts.threads < 2 || opts.threading == thread_mode::cores) return false;
  const bool forced = opts.threading == thread_mode::frames;
  std::string obstacle;
  if (opts.record_spikes) obstacle = "recording spikes needs one simulator";
  else if (opts.partition || opts.exchange || slice) obstacle = "the run is already one share of a distributed run";
  else obstacle = frame_sharding_obstacle(p);
  if (!obstacle.empty()) {
    if (forced)
      throw usage_error(fmt::format("frames thread mode: {}", obstacle),
                        "use --thread-mode cores (or auto), which splits each tick's cores among the threads instead");
    return false;
  }
  if (forced) return true;
  // Each share starts warmup_ticks early: worth it from 64 frames a thread
  // and a warm-up under a tenth of the share.
  const auto per_thread = static_cast<std::int64_t>(data.frames) / opts.threads;
  const auto tpf = static_cast<std::int64_t>(opts.ticks_per_frame > 0 ? opts.ticks_per_frame : p.ticks_per_frame);
  if (per_thread < 64 || warmup_ticks(p) * 10 > per_thread * tpf) return false;
  const auto limit = resolve_memory_limit(opts.memory_limit_bytes);
  return limit.bytes == 0 || estimate_memory_bytes(p, 1) * static_cast<std::size_t>(opts.threads) <= limit.bytes;
}

// The frames split into one contiguous share per thread, each run on its own
// simulator; the shares add up to the single run exactly (frame_slice).
frame_results run_frames_split(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                               const std::function<bool(std::size_t)>& on_progress) {
  const auto start = std::chrono::steady_clock::now();
  const int n = opts.threads;
  std::vector<frame_results> parts(static_cast<std::size_t>(n));
  std::vector<std::atomic<std::size_t>> done(static_cast<std::size_t>(n));
  std::atomic<bool> stop{false};
  parallel_chunks(static_cast<std::size_t>(n), n, 1, [&](std::size_t lo, std::size_t hi, int) {
    for (std::size_t k = lo; k < hi; ++k) {
      const auto [begin, end] = frame_share(data.frames, n, static_cast<int>(k));
      const frame_slice slice{begin, end, static_cast<int>(k) == n - 1};
      sim_options o = opts;
      o.threads = 1;
      o.threading = thread_mode::cores;
      // Share 0 reports the progress of all (the callback runs on one thread only).
      const auto progress = [&, k](std::size_t d) {
        done[k] = d;
        if (k == 0 && on_progress) {
          std::size_t sum = 0;
          for (const auto& x : done) sum += x;
          if (!on_progress(sum)) stop = true;
        }
        return !stop.load();
      };
      parts[k] = run_frames_here(p, data, o, progress, {}, &slice);
    }
  });
  if (stop) {  // the frames of share 0 completed so far: a prefix, as a stopped single run gives
    frame_results r = std::move(parts[0]);
    r.partial = true;
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  }
  frame_results r = std::move(parts[0]);
  for (std::size_t k = 1; k < parts.size(); ++k) {
    const auto& q = parts[k];
    for (std::size_t i = 0; i < r.counts.size(); ++i) r.counts[i] += q.counts[i];
    for (std::size_t l = 0; l < r.per_layer.size(); ++l) r.per_layer[l] += q.per_layer[l];
    r.totals += q.totals;
  }
  const auto tpf = static_cast<std::int64_t>(opts.ticks_per_frame > 0 ? opts.ticks_per_frame : p.ticks_per_frame);
  r.ticks = static_cast<std::int64_t>(data.frames) * tpf + p.output_tick_offset;
  r.frames = data.frames;
  r.partial = false;
  r.predict_from_counts();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

frame_results run_frames(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                         const std::function<bool(std::size_t)>& on_progress,
                         const std::function<void(std::int64_t, const std::vector<fired_neuron>&)>& on_spikes,
                         const frame_slice* slice) {
  if (frames_across_threads(p, data, opts, slice)) return run_frames_split(p, data, opts, on_progress);
  return run_frames_here(p, data, opts, on_progress, on_spikes, slice);
}

namespace {

frame_results run_frames_here(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                              const std::function<bool(std::size_t)>& on_progress,
                              const std::function<void(std::int64_t, const std::vector<fired_neuron>&)>& on_spikes,
                              const frame_slice* slice) {
  const auto levels = p.thermometer.size();
  if (static_cast<std::size_t>(data.channels) != p.image_channels || static_cast<std::uint32_t>(data.height) != p.image_height ||
      static_cast<std::uint32_t>(data.width) != p.image_width) {
    throw data_error(fmt::format("{} frames are {}x{}x{}, the program's input expects {}x{}x{}", data.where(),
                                 data.channels, data.height, data.width, p.image_channels, p.image_height, p.image_width),
                     "use a program compiled for this dataset");
  }
  const int tpf = opts.ticks_per_frame > 0 ? opts.ticks_per_frame : static_cast<int>(p.ticks_per_frame);
  const auto start = std::chrono::steady_clock::now();
  tn_simulator sim(p, opts);

  // The input map once: every target must exist (a hand-built program may
  // not have been verified), then per tick offset a CSR of bit -> targets.
  for (const auto& tg : p.input_targets) {
    if (tg.core >= p.cores.size() || tg.axon >= static_cast<std::uint32_t>(p.target.axons)) {
      throw model_error(fmt::format("program input map: core {} axon {} does not exist", tg.core, tg.axon),
                        "recompile the model with 'nmc compile'");
    }
  }
  const std::size_t bits = p.input_offsets.empty() ? 0 : p.input_offsets.size() - 1;
  struct offset_group {
    int offset;
    std::vector<std::uint32_t> begin;     // bits + 1
    std::vector<std::uint64_t> prepared;  // the targets, as tn_simulator::prepare_inputs gives them
  };
  std::vector<offset_group> groups;
  {
    std::map<int, std::vector<std::vector<hw::tn_input_target>>> by_offset;
    for (std::uint32_t bit = 0; bit < bits; ++bit)
      for (auto k = p.input_offsets[bit]; k < p.input_offsets[bit + 1]; ++k) {
        const auto& target = p.input_targets[k];
        if (opts.partition && !opts.partition->owns(target.core)) continue;  // another process injects it
        auto& g = by_offset[target.tick_offset];
        g.resize(bits);
        g[bit].push_back(target);
      }
    for (auto& [offset, per_bit] : by_offset) {
      offset_group g{offset, {0}, {}};
      std::vector<hw::tn_input_target> targets;
      for (const auto& v : per_bit) {
        targets.insert(targets.end(), v.begin(), v.end());
        g.begin.push_back(static_cast<std::uint32_t>(targets.size()));
      }
      g.prepared = sim.prepare_inputs(targets);
      groups.push_back(std::move(g));
    }
  }
  // Encoded input bits of one frame (the program's thermometer code).
  const std::size_t hw = static_cast<std::size_t>(p.image_height) * p.image_width;
  std::vector<std::uint32_t> set_bits;
  set_bits.reserve(bits);
  std::int64_t encoded_frame = -1;
  auto encode = [&](std::size_t frame) {
    if (static_cast<std::int64_t>(frame) == encoded_frame) return;
    encoded_frame = static_cast<std::int64_t>(frame);
    set_bits.clear();
    const auto px = data.frame(frame);
    for (std::uint32_t bit = 0; bit < bits; ++bit) {
      const std::size_t plane = bit / hw, pixel = bit % hw;
      if (px[plane / levels * hw + pixel] >= p.thermometer[plane % levels]) set_bits.push_back(bit);
    }
  };

  frame_results r;
  r.frames = data.frames;
  r.classes = static_cast<int>(p.classes);
  const auto classes = static_cast<std::size_t>(p.classes);
  r.counts.assign(r.frames * classes, 0);
  const std::int64_t frames = static_cast<std::int64_t>(r.frames);
  const std::int64_t total_ticks = frames * tpf + p.output_tick_offset;
  // The frames whose class spikes are counted, the ticks whose events are
  // counted [count_begin, count_end), and the ticks run [first, last): all of
  // them without a slice.
  std::int64_t frame_lo = 0, frame_hi = frames;
  std::int64_t count_begin = 0, count_end = total_ticks, first = 0, last = total_ticks;
  if (slice) {
    if (slice->begin > slice->end || slice->end > r.frames)
      throw internal_error(fmt::format("frame slice [{}, {}) of {} frames", slice->begin, slice->end, r.frames));
    frame_lo = static_cast<std::int64_t>(slice->begin);
    frame_hi = static_cast<std::int64_t>(slice->end);
    count_begin = frame_lo * tpf;
    count_end = slice->drain ? total_ticks : frame_hi * tpf;
    first = std::max<std::int64_t>(0, count_begin - warmup_ticks(p));
    last = std::min(total_ticks, std::max(count_end, frame_hi * tpf + static_cast<std::int64_t>(p.output_tick_offset)));
    if (count_begin >= count_end && frame_lo >= frame_hi) first = last = count_begin;  // nothing to count
  }
  std::size_t completed = 0;
  bool stopped = false;
  auto on_output = [&](std::uint32_t port, std::int64_t tick) {
    const std::int64_t rel = first + tick - p.output_tick_offset;  // the simulator counts from `first`
    if (rel < 0) return;
    const std::int64_t f = rel / tpf;
    const auto cls = p.output_class[port];
    if (f >= frame_lo && f < frame_hi && cls >= 0) ++r.counts[static_cast<std::size_t>(f) * classes + static_cast<std::size_t>(cls)];
  };
  std::vector<event_counts> at_begin(p.layers.size()), at_end;
  // Ticks go in epochs (tn_simulator::epoch_ticks): the inputs of every tick
  // of the epoch are scheduled, then the epoch runs. Epochs end where the
  // counted ticks begin and end.
  const int epoch = sim.epoch_ticks();
  std::vector<std::array<std::uint64_t, 4>> bit_ticks(bits);  // per input bit: its ticks in this epoch
  std::vector<std::uint32_t> touched;                         // the bits with any
  std::int64_t next_progress = first + 64;
  for (std::int64_t t = first; t < last;) {
    const std::int64_t stop = t < count_begin ? count_begin : t < count_end ? count_end : last;
    const int ticks = static_cast<int>(std::min<std::int64_t>(epoch, stop - t));
    // Each input bit's ticks of this epoch, then its targets once per epoch.
    for (const auto& g : groups) {
      for (int k = 0; k < ticks; ++k) {
        const std::int64_t rel = t + k - g.offset;
        if (rel < 0 || rel / tpf >= frames) continue;
        encode(static_cast<std::size_t>(rel / tpf));
        for (auto bit : set_bits) {
          auto& m = bit_ticks[bit];
          if (!(m[0] | m[1] | m[2] | m[3])) touched.push_back(bit);
          m[static_cast<std::size_t>(k / 64)] |= std::uint64_t{1} << (k % 64);
        }
      }
      for (auto bit : touched) {
        sim.inject_epoch(std::span(g.prepared.data() + g.begin[bit], g.prepared.data() + g.begin[bit + 1]),
                         std::span<const std::uint64_t, 4>(bit_ticks[bit]));
        bit_ticks[bit] = {};
      }
      touched.clear();
    }
    sim.advance(ticks, on_output);
    t += ticks;
    if (t == count_begin) at_begin = sim.counts_per_layer();
    if (t == count_end) at_end = sim.counts_per_layer();
    if (opts.record_spikes && on_spikes) on_spikes(t - 1, sim.fired());
    // Frame f is complete once tick (f + 1) * tpf - 1 + offset has run.
    const std::int64_t done = (t - static_cast<std::int64_t>(p.output_tick_offset)) / tpf;
    completed = static_cast<std::size_t>(std::clamp<std::int64_t>(done, frame_lo, frame_hi) - frame_lo);
    if (on_progress && (t >= next_progress || t == last)) {
      next_progress = t + 64;
      if (!on_progress(completed)) {
        stopped = true;
        break;
      }
    }
  }
  r.ticks = sim.tick();
  if (stopped) {
    r.frames = completed;
    r.counts.resize(r.frames * classes);
    r.partial = true;
  }
  r.predict_from_counts();
  r.per_layer = at_end.empty() ? sim.counts_per_layer() : at_end;
  r.totals = {};
  for (std::size_t l = 0; l < r.per_layer.size(); ++l) {
    r.per_layer[l] -= at_begin[l];
    r.totals += r.per_layer[l];
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

void frame_results::predict_from_counts() {
  const auto n = static_cast<std::size_t>(classes);
  predicted.resize(frames);
  for (std::size_t f = 0; f < frames; ++f) {
    const auto* c = counts.data() + f * n;
    predicted[f] = static_cast<std::int32_t>(std::max_element(c, c + n) - c);  // the first maximum
  }
}

energy_report energy(const hw::tn_program& p, const std::vector<event_counts>& per_layer, std::int64_t ticks,
                     std::size_t frames, double tick_ms) {
  const auto& t = p.target;
  energy_report e;
  e.tick_ms = tick_ms > 0 ? tick_ms : t.tick_period_ms;
  e.seconds = static_cast<double>(ticks) * e.tick_ms * 1e-3;
  // Static power is per chip (the sweep was measured on one chip), for the
  // chips that hold cores: a chip the placement left empty is not powered
  // (a model of one chip compiled for four costs one chip's static power).
  std::vector<bool> used(p.chips, false);
  for (const auto& c : p.cores)
    if (c.chip < used.size()) used[c.chip] = true;
  e.chips_powered = static_cast<std::uint32_t>(std::count(used.begin(), used.end(), true));
  e.static_uj = t.static_power_mw * e.chips_powered * e.seconds * 1e3;
  for (std::size_t l = 0; l < per_layer.size(); ++l) {
    const auto& c = per_layer[l];
    const double pj = static_cast<double>(c.synaptic_events) * t.synaptic_event_pj +
                      static_cast<double>(c.neuron_updates) * t.neuron_update_pj +
                      static_cast<double>(c.hops) * t.spike_hop_pj +
                      static_cast<double>(c.chip_crossings) * t.chip_crossing_pj +
                      static_cast<double>(c.offchip_spikes) * t.offchip_spike_pj;
    e.layers.push_back({l < p.layers.size() ? p.layers[l] : fmt::format("layer {}", l), pj * 1e-6, c});
    e.dynamic_uj += pj * 1e-6;
  }
  e.total_uj = e.static_uj + e.dynamic_uj;
  e.per_frame_uj = frames ? e.total_uj / static_cast<double>(frames) : 0.0;
  e.power_mw = e.seconds > 0 ? e.total_uj / e.seconds * 1e-3 : 0.0;
  e.hardware_fps = 1000.0 / (e.tick_ms * std::max<std::uint32_t>(1, p.ticks_per_frame));
  e.counted = fmt::format(
      "static power {} mW per chip holding cores ({} of {}) x ticks x {} ms; synaptic events x {} pJ; neuron updates x {} pJ; "
      "core-to-core hops x {} pJ; chip crossings x {} pJ; output spikes leaving the chip x {} pJ",
      t.static_power_mw, e.chips_powered, p.chips, e.tick_ms, t.synaptic_event_pj, t.neuron_update_pj, t.spike_hop_pj, t.chip_crossing_pj,
      t.offchip_spike_pj);
  e.not_counted =
      "encoding the frames and delivering input spikes from the host; the host itself; voltage or "
      "temperature dependence (constants are for the target file's voltage); idle cores' leakage "
      "beyond the per-chip static power; chips without cores (taken as powered off)";
  return e;
}

}  // namespace nmc::runtime
