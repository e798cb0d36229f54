// libFuzzer target, structure-aware: field edits to a compiled grid program
// (field_edits.hpp; a frames-mode and a spikes-mode seed), re-serialized with
// a valid checksum, through the loader, hw::verify_program and
// convert::verify_embedded_model; a program that loads is simulated (two
// frames, or a few network time steps), which must end within
// frames + latency_cycles + 1 cycles, or steps x cycles_per_tick.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nmc/convert/program_model.hpp>
#include <nmc/error.hpp>
#include <nmc/hw/dn_program.hpp>
#include <nmc/runtime/dn_sim.hpp>

#include "field_edits.hpp"

namespace {

using namespace nmc;
using fuzz::edit_index;
using fuzz::edit_value;

void edit_port(std::vector<hw::dn_port>& ports, FuzzedDataProvider& in) {
  const auto i = edit_index(in, ports.size());
  if (i >= ports.size()) return;
  auto& port = ports[i];
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: port.element = edit_value<std::uint32_t>(in); break;
    case 1: port.cls = edit_value<std::int32_t>(in); break;
    case 2: port.offset = edit_value<std::int32_t>(in); break;
    default: port.bit = edit_value<std::int32_t>(in); break;
  }
}

void edit_element(hw::dn_element& e, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 9)) {
    case 0: e.x = edit_value<std::uint32_t>(in); break;
    case 1: e.y = edit_value<std::uint32_t>(in); break;
    case 2: e.kind = static_cast<hw::element_kind>(edit_value<std::uint8_t>(in)); break;
    case 3: e.listen = edit_value<std::uint16_t>(in); break;
    case 4: e.weight = edit_value<std::int16_t>(in); break;
    case 5: e.delay = edit_value<std::uint8_t>(in); break;
    case 6: e.threshold = edit_value<std::int32_t>(in); break;
    case 7: e.charge_min = edit_value<std::int32_t>(in); break;
    case 8: e.leak = static_cast<hw::leak_kind>(edit_value<std::uint8_t>(in)); break;
    default: e.layer = edit_value<std::uint32_t>(in); break;
  }
}

void edit(hw::dn_program& p, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 16)) {
    case 0: p.mode = static_cast<hw::dn_mode>(edit_value<std::uint8_t>(in)); break;
    case 1: p.image_channels = edit_value<std::uint32_t>(in); break;
    case 2: p.image_height = edit_value<std::uint32_t>(in); break;
    case 3: p.image_width = edit_value<std::uint32_t>(in); break;
    case 4: fuzz::set_at(p.thermometer, edit_index(in, p.thermometer.size()), edit_value<std::int32_t>(in)); break;
    case 5: p.classes = edit_value<std::uint32_t>(in); break;
    case 6: p.cycles_per_tick = edit_value<std::uint32_t>(in); break;
    case 7: p.latency_cycles = edit_value<std::uint32_t>(in); break;
    case 8: edit_port(p.inputs, in); break;
    case 9: edit_port(p.outputs, in); break;
    case 10: p.inputs.resize(edit_index(in, p.inputs.size())); break;
    case 11: p.outputs.resize(edit_index(in, p.outputs.size())); break;
    case 12: p.model_hash = edit_value<std::uint64_t>(in); break;
    case 13: p.model_text.clear(); break;  // a hand-built program: no model to check against
    case 14: p.layers.resize(edit_index(in, p.layers.size() + 1)); break;
    default: {
      const auto i = edit_index(in, p.elements.size());
      if (i < p.elements.size()) edit_element(p.elements[i], in);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hw::dn_program seeds[] = {hw::deserialize_dn(fuzz::seed_file("dn_program/frames.dn"), "frames.dn"),
                                         hw::deserialize_dn(fuzz::seed_file("dn_program/small.dn"), "small.dn")};
  FuzzedDataProvider in(data, size);
  hw::dn_program p = seeds[in.ConsumeBool() ? 1 : 0];
  for (int k = 0; k < 8 && in.remaining_bytes() > 0; ++k) edit(p, in);
  try {
    p = hw::deserialize_dn(hw::serialize(p), "fuzz.dn");
    convert::verify_embedded_model(p, "fuzz.dn");
  } catch (const error& e) {
    if (e.code() == exit_code::internal) std::abort();  // a bad file is never an internal error
    return 0;
  }
  try {
    // Without an embedded model the image size is bounded only by the ports' bits; the CLI refuses a dataset
    // of another shape before simulating, so frames larger than any dataset are not made up here.
    const std::uint64_t pixels = std::uint64_t{p.image_channels} * p.image_height * p.image_width;
    if (p.mode == hw::dn_mode::frames && pixels > (std::uint64_t{1} << 20)) return 0;
    if (p.mode == hw::dn_mode::frames) {
      const auto r = runtime::run_dn_frames(p, fuzz::frames_for(p.image_channels, p.image_height, p.image_width, 2), 1);
      fuzz::expect_bounded(r.ticks <= 2 + static_cast<std::int64_t>(p.latency_cycles) + 1);
    } else {
      std::vector<runtime::input_spike> spikes;
      for (std::uint32_t k = 0; k < p.inputs.size(); ++k) spikes.push_back({0, k, 1});
      const auto r = runtime::run_dn_spikes(p, spikes, 4, 1);
      fuzz::expect_bounded(r.cycles <= 4 * static_cast<std::int64_t>(p.cycles_per_tick));
    }
  } catch (const error& e) {
    if (e.code() == exit_code::internal) std::abort();
  }
  return 0;
}
