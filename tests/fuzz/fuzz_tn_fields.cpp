// libFuzzer target, structure-aware: field edits to a compiled TrueNorth
// program (field_edits.hpp), re-serialized with a valid checksum, through the
// loader, hw::verify_program and convert::verify_embedded_model; a program
// that loads is simulated for two frames, which must end within
// 2 x ticks_per_frame + output_tick_offset ticks.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/convert/program_model.hpp>
#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "field_edits.hpp"

namespace {

using namespace nmc;
using fuzz::edit_index;
using fuzz::edit_value;
using fuzz::set_at;

void edit_neuron(hw::tn_neuron& n, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 9)) {
    case 0: n.dest = static_cast<hw::dest_kind>(edit_value<std::uint8_t>(in)); break;
    case 1: n.dest_core = edit_value<std::uint32_t>(in); break;
    case 2: n.dest_axon = edit_value<std::uint16_t>(in); break;
    case 3: n.delay_ticks = edit_value<std::uint8_t>(in); break;
    case 4: n.threshold = edit_value<std::int32_t>(in); break;
    case 5: n.leak = edit_value<std::int16_t>(in); break;
    case 6: n.weight[in.ConsumeIntegralInRange(0, 3)] = edit_value<std::int16_t>(in); break;
    case 7: n.reset = static_cast<hw::reset_mode>(edit_value<std::uint8_t>(in)); break;
    case 8: n.initial_potential = edit_value<std::int32_t>(in); break;
    default: n.threshold_mask_bits = edit_value<std::uint8_t>(in); break;
  }
}

void edit(hw::tn_program& p, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 22)) {
    case 0: p.chips = edit_value<std::uint32_t>(in); break;
    case 1: p.chips_x = edit_value<std::uint32_t>(in); break;
    case 2: p.chips_y = edit_value<std::uint32_t>(in); break;
    case 3: p.image_channels = edit_value<std::uint32_t>(in); break;
    case 4: p.image_height = edit_value<std::uint32_t>(in); break;
    case 5: p.image_width = edit_value<std::uint32_t>(in); break;
    case 6: set_at(p.thermometer, edit_index(in, p.thermometer.size()), edit_value<std::int32_t>(in)); break;
    case 7: set_at(p.input_offsets, edit_index(in, p.input_offsets.size()), edit_value<std::uint32_t>(in)); break;
    case 8: {
      const auto i = edit_index(in, p.input_targets.size());
      if (i >= p.input_targets.size()) break;
      auto& t = p.input_targets[i];
      const int which = in.ConsumeIntegralInRange(0, 2);
      if (which == 0) t.core = edit_value<std::uint32_t>(in);
      if (which == 1) t.axon = edit_value<std::uint16_t>(in);
      if (which == 2) t.tick_offset = edit_value<std::uint8_t>(in);
      break;
    }
    case 9: p.classes = edit_value<std::uint32_t>(in); break;
    case 10: set_at(p.output_class, edit_index(in, p.output_class.size()), edit_value<std::int32_t>(in)); break;
    case 11: p.output_class.resize(edit_index(in, p.output_class.size()), 0); break;
    case 12: p.output_tick_offset = edit_value<std::uint32_t>(in); break;
    case 13: p.ticks_per_frame = edit_value<std::uint32_t>(in); break;
    case 14: p.latency_ticks = edit_value<std::uint32_t>(in); break;
    case 15: p.model_hash = edit_value<std::uint64_t>(in); break;
    case 16: p.layers.resize(edit_index(in, p.layers.size() + 1)); break;
    case 17: if (!p.cores.empty()) p.cores.resize(edit_index(in, p.cores.size())); break;
    case 18: p.model_text.clear(); break;  // a hand-built program: no model to check against
    case 19: {
      const auto i = edit_index(in, p.cores.size());
      if (i >= p.cores.size()) break;
      auto& c = p.cores[i];
      const int which = in.ConsumeIntegralInRange(0, 5);
      if (which == 0) c.chip = edit_value<std::uint32_t>(in);
      if (which == 1) c.x = edit_value<std::uint32_t>(in);
      if (which == 2) c.y = edit_value<std::uint32_t>(in);
      if (which == 3) c.layer = edit_value<std::uint32_t>(in);
      if (which == 4) set_at(c.axon_type, edit_index(in, c.axon_type.size()), edit_value<std::uint8_t>(in));
      if (which == 5) set_at(c.crossbar, edit_index(in, c.crossbar.size()), edit_value<std::uint64_t>(in));
      break;
    }
    default: {
      const auto i = edit_index(in, p.cores.size());
      if (i >= p.cores.size()) break;
      auto& neurons = p.cores[i].neurons;
      const auto j = edit_index(in, neurons.size());
      if (j < neurons.size()) edit_neuron(neurons[j], in);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hw::tn_program seed = hw::deserialize(fuzz::seed_file("program/tiny.nmc"), "tiny.nmc");
  FuzzedDataProvider in(data, size);
  hw::tn_program p = seed;
  for (int k = 0; k < 8 && in.remaining_bytes() > 0; ++k) edit(p, in);
  try {
    p = hw::deserialize(hw::serialize(p), "fuzz.nmc");
    convert::verify_embedded_model(p, "fuzz.nmc");
  } catch (const error& e) {
    if (e.code() == exit_code::internal) std::abort();  // a bad file is never an internal error
    return 0;
  }
  // The input map bounds the image: one offset per input bit is in the file.
  const auto frames = fuzz::frames_for(p.image_channels, p.image_height, p.image_width, 2);
  runtime::sim_options so;
  try {
    const auto r = runtime::run_frames(p, frames, so);
    fuzz::expect_bounded(r.ticks <= 2 * static_cast<std::int64_t>(p.ticks_per_frame) + p.output_tick_offset);
    fuzz::expect_bounded(r.counts.size() == 2 * static_cast<std::size_t>(p.classes));
  } catch (const error& e) {
    if (e.code() == exit_code::internal) std::abort();
  }
  return 0;
}
