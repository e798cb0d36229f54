#pragma once
// run_batch's form of a network (reference_batch.cpp): every binary activation
// is a "slot" of reference_net::batch_frames bits in the batch workspace, bit f
// for frame f, and each binary layer is a map from its flattened (c, y, x)
// index to a slot.
//
// A layer that a stage computes gets its own block of slots, pixel-major (the
// channels of one pixel adjacent) with a margin of zero slots as wide as the
// widest padding of its readers, so a conv or pool window is the same set of
// offsets from a moving origin at every position, borders included. Flatten
// and concat are only maps over other layers' slots and move no data; a conv
// or pool that reads one gets a copy stage that lays it out as a block first.

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include <nmc/model/network.hpp>
#include <nmc/model/reference.hpp>

namespace nmc::model {

namespace batch {

// Slot 0 is all zeros and slot 1 all ones in every batch: the padding of a
// neuron's last block of +1 and of -1 inputs.
inline constexpr std::uint32_t zero_slot = 0, ones_slot = 1;

// A block of slots: slot(c, y, x) = base + ((y + mh) * (width + 2 mw) + x + mw) * channels + c.
struct block {
  std::uint32_t base = 0;
  tensor_shape shape;
  int mh = 0, mw = 0;

  std::size_t row_slots() const {
    return static_cast<std::size_t>(shape.width + 2 * mw) * shape.channels;
  }
  // The slot of (c, y, x); y and x may lie in the margin.
  std::int64_t slot(int c, int y, int x) const {
    return base +
           (static_cast<std::int64_t>(y + mh) * (shape.width + 2 * mw) + x + mw) * shape.channels +
           c;
  }
};

// The inputs of some neurons as word offsets from a window origin (slot
// offset * words per slot). Neuron n reads +1 inputs taps[begin[2n],
// begin[2n + 1]) and -1 inputs taps[begin[2n + 1], begin[2n + 2]).
struct neuron_taps {
  std::vector<std::uint32_t> begin{0};
  std::vector<std::int32_t> taps;
  // The neuron fires iff (#+1 inputs set) + (#-1 inputs clear) >= need[n],
  // i.e. iff its signed sum >= its threshold (need = threshold + #-1 inputs).
  std::vector<std::int32_t> need;
  std::vector<std::uint8_t> count_bits;  // bits of the neuron's counter
};

struct encode_stage {
  tensor_shape image;
  std::vector<int> thresholds;
  std::vector<std::uint32_t> slot;  // pixel p (image (c, y, x) order), level k: [p * levels + k]
  // Up to 8 levels: the thermometer byte of each pixel value (bit k = level k).
  std::vector<std::uint8_t> code;
};

// Lays out a map-only layer (flatten, concat) as a block: out slot[i] <- in slot[i].
struct copy_stage {
  std::vector<std::uint32_t> from, to;
};

// conv2d + threshold over a block; window offsets are relative to the slot of
// (g * cin_g, oy * sh - ph, ox * sw - pw). A dense layer is one window at
// origin slot 0 whose offsets are absolute.
struct conv_stage {
  bool dense = false;
  block in;     // (conv only)
  int out = 0;  // layer
  tensor_shape out_shape;
  int sh = 1, sw = 1, ph = 0, pw = 0, groups = 1, cin_g = 0, cout_g = 0;
  neuron_taps neurons;
};

// Pool over a block: one neuron whose offsets are the window's, moved per
// channel and position (max pool: threshold 1, an OR).
struct pool_stage {
  block in;
  int out = 0;
  tensor_shape out_shape;
  int sh = 1, sw = 1, ph = 0, pw = 0, threshold = 1;
  neuron_taps window;
};

// Class counts: class k counts the set slots of its neuron's +1 inputs
// (absolute offsets).
struct output_stage {
  neuron_taps classes;
};

}  // namespace batch

struct reference_net::batch_plan {
  std::size_t slots = 2;
  std::vector<std::vector<std::uint32_t>> slot_of;  // per layer; empty for integer layers
  batch::encode_stage encode;
  std::vector<std::variant<batch::copy_stage, batch::conv_stage, batch::pool_stage>> stages;
  batch::output_stage output;
};

// `net` has passed check().
std::unique_ptr<reference_net::batch_plan> make_batch_plan(const network& net);

}  // namespace nmc::model
