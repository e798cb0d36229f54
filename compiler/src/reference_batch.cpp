// reference_net::run_batch: the reference pass for batch_frames frames at once,
// bit-sliced across frames (reference_batch.hpp describes the plan).
//
// Why bit-sliced: run() spends its time gathering each window into a patch
// and looping over neurons one frame at a time. Here one load brings an input
// of 512 frames, and a neuron is a lane-wise carry-save count of its inputs
// (Harley-Seal: full adders on whole words), so a synapse costs about three
// word operations per 512 frames. A trinary neuron fires iff
//   #(+1 inputs set) - #(-1 inputs set) >= threshold
// which, with M the number of -1 inputs, is
//   #(+1 inputs set) + #(-1 inputs clear) >= threshold + M,
// a plain count of inputs (some negated) against a constant.
//
// The kernels are written once on GCC vector types of 512 bits and compiled
// three times (baseline, AVX2, AVX-512), chosen at run time, as the TrueNorth
// kernels are (not target_clones, whose resolver runs before sanitizers).
#include "reference_batch.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::model {

namespace {

using word = std::uint64_t;
constexpr std::size_t lane_words = reference_net::batch_frames / 64;
static_assert(lane_words % 8 == 0, "a slot is a whole number of 512-bit vectors");
// A slot is processed in parts of the target's native vector (16, 32 or 64
// bytes): one part through a whole neuron, then the next, so that a neuron's
// counter and inputs stay in registers. (One 64-byte GCC vector on SSE or AVX2
// would be lowered through the stack.)
using v16 = word __attribute__((vector_size(16)));
using v32 = word __attribute__((vector_size(32)));
using v64 = word __attribute__((vector_size(64)));

template <class V>
constexpr std::size_t part_words = sizeof(V) / sizeof(word);
template <class V>
constexpr std::size_t parts = lane_words / part_words<V>;

#define NMC_INLINE __attribute__((always_inline)) inline

// The same vector, unaligned and allowed to alias words: slots are read and
// written as words elsewhere. (memcpy is expanded at the baseline's width, so
// with AVX2 it would load through the stack.)
template <class V>
using unaligned [[gnu::vector_size(sizeof(V)), gnu::aligned(8), gnu::may_alias]] = word;

// Vector arguments go by reference: a vector passed by value changes the ABI
// between the baseline and the AVX targets (-Wpsabi).
template <class V>
NMC_INLINE void load(V& v, const word* lanes, std::uint32_t slot, std::size_t part) {
  v = *reinterpret_cast<const unaligned<V>*>(lanes + std::size_t{slot} * lane_words +
                                               part * part_words<V>);
}
template <class V>
NMC_INLINE void store(word* lanes, std::uint32_t slot, std::size_t part, const V& v) {
  *reinterpret_cast<unaligned<V>*>(lanes + std::size_t{slot} * lane_words + part * part_words<V>) =
      v;
}

// sum + 2 * carry = a + b + c, lane by lane. `sum` may alias `a`.
template <class V>
NMC_INLINE void full_add(V& sum, V& carry, const V& a, const V& b, const V& c) {
  const V u = a ^ b;
  carry = (a & b) | (u & c);
  sum = u ^ c;
}

constexpr int max_count_bits = 40;

// Bits of a counter that can count n inputs (at least 3: ones, twos, fours).
int count_bits_for(std::size_t n) {
  return std::max(3, static_cast<int>(std::bit_width(n)));
}

// The lane-wise count of taps[0, n) (n a multiple of 8; tap t reads slot
// patch[t >> 1], negated if t & 1) as bits[0, nbits), least significant first,
// for one part of the slots. Eight inputs go through seven full adders into
// ones/twos/fours, whose carry (eights) ripples into the higher bits.
template <class V>
NMC_INLINE void count_taps(const word* lanes, std::size_t part, const std::uint32_t* patch,
                           const std::uint32_t* taps, std::size_t n, int nbits, V* bits) {
  V ones{}, twos{}, fours{};
  V* hi = bits + 3;
  const int hbits = nbits - 3;
  for (int i = 0; i < hbits; ++i) hi[i] = V{};
  for (std::size_t j = 0; j < n; j += 8) {
    V x[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const std::uint32_t t = taps[j + static_cast<std::size_t>(k)];
      load(x[k], lanes, patch[t >> 1], part);
      x[k] ^= word{0} - (t & 1);
    }
    V ta, tb, fa, fb, e;
    full_add(ones, ta, ones, x[0], x[1]);
    full_add(ones, tb, ones, x[2], x[3]);
    full_add(twos, fa, twos, ta, tb);
    full_add(ones, ta, ones, x[4], x[5]);
    full_add(ones, tb, ones, x[6], x[7]);
    full_add(twos, fb, twos, ta, tb);
    full_add(fours, e, fours, fa, fb);
    for (int i = 0; i < hbits; ++i) {
      const V c = hi[i] & e;
      hi[i] ^= e;
      e = c;
    }
  }
  bits[0] = ones;
  bits[1] = twos;
  bits[2] = fours;
}

// Lanes where the count bits[0, nbits) is >= need: compared from the least
// significant bit up, "so far >=" stays true where the count's bit is above
// need's, false where below, and unchanged where they are equal.
template <class V>
NMC_INLINE void at_least(V& out, const V* bits, int nbits, std::int32_t need) {
  if (need <= 0) {
    out = ~V{};
    return;
  }
  if (static_cast<std::int64_t>(need) >> nbits != 0) {
    out = V{};
    return;
  }
  V ge = ~V{};
  for (int i = 0; i < nbits; ++i) ge = (need >> i) & 1 ? ge & bits[i] : ge | bits[i];
  out = ge;
}

// Neuron n of `nt` over the window `patch`, into slot `out`.
template <class V>
NMC_INLINE void neuron(word* lanes, const std::uint32_t* patch, const batch::neuron_taps& nt,
                       std::size_t n, std::uint32_t out) {
  V bits[max_count_bits];
  const int nbits = nt.count_bits[n];
  const std::uint32_t* taps = nt.taps.data() + nt.begin[n];
  const std::size_t count = nt.begin[n + 1] - nt.begin[n];
  for (std::size_t part = 0; part < parts<V>; ++part) {
    count_taps(lanes, part, patch, taps, count, nbits, bits);
    V r;
    at_least(r, bits, nbits, nt.need[n]);
    store(lanes, out, part, r);
  }
}

template <class V>
NMC_INLINE void conv_body(const reference_net::batch_plan& plan, const batch::conv_stage& s,
                          word* lanes, std::uint32_t* patch) {
  const std::uint32_t* in = plan.slot_of[static_cast<std::size_t>(s.in)].data();
  const std::uint32_t* out = plan.slot_of[static_cast<std::size_t>(s.out)].data();
  const int ih = s.in_shape.height, iw = s.in_shape.width;
  const int oh = s.out_shape.height, ow = s.out_shape.width;
  patch[s.kh * s.kw * s.cin_g] = batch::zero_slot;
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int g = 0; g < s.groups; ++g) {
        std::size_t j = 0;
        for (int ci = 0; ci < s.cin_g; ++ci) {
          const std::size_t plane = static_cast<std::size_t>(g * s.cin_g + ci) * ih;
          for (int ky = 0; ky < s.kh; ++ky) {
            const int iy = oy * s.sh - s.ph + ky;
            for (int kx = 0; kx < s.kw; ++kx, ++j) {
              const int ix = ox * s.sw - s.pw + kx;
              patch[j] = iy < 0 || ix < 0 || iy >= ih || ix >= iw
                             ? batch::zero_slot
                             : in[(plane + static_cast<std::size_t>(iy)) * iw +
                                  static_cast<std::size_t>(ix)];
            }
          }
        }
        for (int o = g * s.cout_g; o < (g + 1) * s.cout_g; ++o)
          neuron<V>(lanes, patch, s.neurons, static_cast<std::size_t>(o),
                    out[(static_cast<std::size_t>(o) * oh + oy) * ow + ox]);
      }
}

template <class V>
NMC_INLINE void pool_body(const reference_net::batch_plan& plan, const batch::pool_stage& s,
                          word* lanes, std::uint32_t* patch) {
  const std::uint32_t* in = plan.slot_of[static_cast<std::size_t>(s.in)].data();
  const std::uint32_t* out = plan.slot_of[static_cast<std::size_t>(s.out)].data();
  const int ih = s.in_shape.height, iw = s.in_shape.width;
  const int oh = s.out_shape.height, ow = s.out_shape.width;
  for (int c = 0; c < s.out_shape.channels; ++c)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        std::size_t m = 0;
        for (int ky = 0; ky < s.kh; ++ky)
          for (int kx = 0; kx < s.kw; ++kx) {
            const int iy = oy * s.sh - s.ph + ky, ix = ox * s.sw - s.pw + kx;
            if (iy < 0 || ix < 0 || iy >= ih || ix >= iw) continue;  // padding counts as zero
            patch[m++] = in[(static_cast<std::size_t>(c) * ih + static_cast<std::size_t>(iy)) * iw +
                            static_cast<std::size_t>(ix)];
          }
        const std::uint32_t slot = out[(static_cast<std::size_t>(c) * oh + oy) * ow + ox];
        if (s.threshold == 1) {  // max pool: an OR of the window
          for (std::size_t part = 0; part < parts<V>; ++part) {
            V r{};
            for (std::size_t k = 0; k < m; ++k) {
              V x;
              load(x, lanes, patch[k], part);
              r |= x;
            }
            store(lanes, slot, part, r);
          }
        } else {
          std::fill(patch + m, patch + s.window, batch::zero_slot);
          neuron<V>(lanes, patch, s.count, 0, slot);
        }
      }
}

// Class counts of frames [0, frames) of the batch into counts (frame-major).
template <class V>
NMC_INLINE void output_body(const reference_net::batch_plan& plan, const word* lanes,
                            std::size_t frames, std::int32_t* counts) {
  const auto& s = plan.output;
  const std::size_t classes = s.slots.size();
  V bits[max_count_bits];
  for (std::size_t k = 0; k < classes; ++k) {
    const int nbits = s.count_bits[k];
    for (std::size_t part = 0; part < parts<V>; ++part) {
      count_taps(lanes, part, s.slots[k].data(), s.taps.data(), s.slots[k].size(), nbits, bits);
      const std::size_t f0 = part * part_words<V> * 64;
      for (std::size_t f = f0; f < std::min(frames, f0 + part_words<V> * 64); ++f) {
        std::int32_t n = 0;
        for (int i = 0; i < nbits; ++i)
          n |= static_cast<std::int32_t>((bits[i][(f - f0) / 64] >> (f % 64)) & 1) << i;
        counts[f * classes + k] = n;
      }
    }
  }
}

// The thermometer code of frames [0, frames) into the input slots; lanes of
// absent frames are cleared.
void encode(const batch::encode_stage& s, const std::uint8_t* pixels, std::size_t frames,
            word* lanes) {
  const std::size_t levels = s.thresholds.size();
  const std::size_t p_count = static_cast<std::size_t>(s.image.size());
  std::vector<word> level(levels);
  for (std::size_t w = 0; w < lane_words; ++w) {
    const std::size_t f0 = w * 64, f1 = std::min(frames, f0 + 64);
    for (std::size_t p = 0; p < p_count; ++p) {
      std::fill(level.begin(), level.end(), 0);
      for (std::size_t f = f0; f < f1; ++f) {
        const int v = pixels[f * p_count + p];
        for (std::size_t k = 0; k < levels; ++k)
          level[k] |= static_cast<word>(v >= s.thresholds[k]) << (f - f0);
      }
      for (std::size_t k = 0; k < levels; ++k)
        lanes[std::size_t{s.slot[p * levels + k]} * lane_words + w] = level[k];
    }
  }
}

struct kernel_set {
  void (*conv)(const reference_net::batch_plan&, const batch::conv_stage&, word*, std::uint32_t*);
  void (*pool)(const reference_net::batch_plan&, const batch::pool_stage&, word*, std::uint32_t*);
  void (*output)(const reference_net::batch_plan&, const word*, std::size_t, std::int32_t*);
};

#define NMC_KERNELS(suffix, vec, attr)                                                             \
  attr void conv_##suffix(const reference_net::batch_plan& p, const batch::conv_stage& s, word* l, \
                          std::uint32_t* patch) {                                                  \
    conv_body<vec>(p, s, l, patch);                                                                \
  }                                                                                                \
  attr void pool_##suffix(const reference_net::batch_plan& p, const batch::pool_stage& s, word* l, \
                          std::uint32_t* patch) {                                                  \
    pool_body<vec>(p, s, l, patch);                                                                \
  }                                                                                                \
  attr void output_##suffix(const reference_net::batch_plan& p, const word* l, std::size_t frames, \
                            std::int32_t* counts) {                                                \
    output_body<vec>(p, l, frames, counts);                                                        \
  }                                                                                                \
  constexpr kernel_set kernels_##suffix{conv_##suffix, pool_##suffix, output_##suffix};

NMC_KERNELS(portable, v16, )
#if defined(__x86_64__) && defined(__GNUC__)
#define NMC_HAVE_X86_KERNELS 1
NMC_KERNELS(avx2, v32, __attribute__((target("avx2"))))
NMC_KERNELS(avx512, v64, __attribute__((target("avx512f"))))
#endif

const kernel_set& kernels_for(batch_kernel k) {
#ifdef NMC_HAVE_X86_KERNELS
  if (k == batch_kernel::avx512) return kernels_avx512;
  if (k == batch_kernel::avx2) return kernels_avx2;
#endif
  (void)k;
  return kernels_portable;
}

}  // namespace

bool supported(batch_kernel k) {
  switch (k) {
    case batch_kernel::best:
    case batch_kernel::portable:
      return true;
#ifdef NMC_HAVE_X86_KERNELS
    case batch_kernel::avx2:
      return __builtin_cpu_supports("avx2");
    case batch_kernel::avx512:
      return __builtin_cpu_supports("avx512f");
#endif
    default:
      return false;
  }
}

namespace {

batch_kernel best_kernel() {
  if (supported(batch_kernel::avx512)) return batch_kernel::avx512;
  if (supported(batch_kernel::avx2)) return batch_kernel::avx2;
  return batch_kernel::portable;
}

// Taps of a neuron with weights w[0, n) over window indices 0..n-1, sign
// folded in; pads with `pad` (the window's zero-slot index).
void add_neuron(batch::neuron_taps& nt, const std::int8_t* w, std::size_t n, int sign,
                std::int32_t threshold, std::uint32_t pad) {
  if (nt.begin.empty()) nt.begin.push_back(0);
  std::int32_t minus = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const int v = sign * w[j];
    if (v == 0) continue;
    minus += v < 0;
    nt.taps.push_back(static_cast<std::uint32_t>(j) << 1 | (v < 0 ? 1u : 0u));
  }
  while ((nt.taps.size() - nt.begin.back()) % 8) nt.taps.push_back(pad << 1);
  const std::size_t count = nt.taps.size() - nt.begin.back();
  nt.begin.push_back(static_cast<std::uint32_t>(nt.taps.size()));
  nt.need.push_back(threshold + minus);
  nt.count_bits.push_back(static_cast<std::uint8_t>(count_bits_for(count)));
}

std::size_t round8(std::size_t n) {
  return (n + 7) / 8 * 8;
}

}  // namespace

std::unique_ptr<reference_net::batch_plan> make_batch_plan(const network& net) {
  auto plan = std::make_unique<reference_net::batch_plan>();
  auto& p = *plan;
  p.slot_of.resize(net.size());
  // Fresh slots for a layer, in pixel-major order (the channels of one pixel
  // adjacent, as a conv window reads them), mapped from (c, y, x).
  auto fresh = [&](std::size_t layer_index, const tensor_shape& s) {
    auto& map = p.slot_of[layer_index];
    map.resize(static_cast<std::size_t>(s.size()));
    for (int c = 0; c < s.channels; ++c)
      for (int y = 0; y < s.height; ++y)
        for (int x = 0; x < s.width; ++x)
          map[(static_cast<std::size_t>(c) * s.height + y) * s.width + x] =
              static_cast<std::uint32_t>(
                  p.slots + (static_cast<std::size_t>(y) * s.width + x) * s.channels + c);
    p.slots += map.size();
  };

  for (layer_id id : net.topological_order()) {
    const layer& l = net[id];
    const std::size_t i = id.index();
    if (const auto* inp = std::get_if<input_op>(&l.op)) {
      fresh(i, l.shape);
      auto& e = p.encode;
      e.image = inp->image;
      e.thresholds = inp->encoding.thresholds;
      const int levels = static_cast<int>(e.thresholds.size());
      for (int c = 0; c < e.image.channels; ++c)
        for (int y = 0; y < e.image.height; ++y)
          for (int x = 0; x < e.image.width; ++x)
            for (int k = 0; k < levels; ++k)
              e.slot.push_back(
                  p.slot_of[i][(static_cast<std::size_t>(c * levels + k) * l.shape.height + y) *
                                   l.shape.width +
                               x]);
    } else if (const auto* t = std::get_if<threshold_op>(&l.op)) {
      const layer& src = net[l.inputs[0]];
      const layer& in = net[src.inputs[0]];
      batch::conv_stage s;
      s.in = static_cast<int>(src.inputs[0].index());
      s.out = static_cast<int>(i);
      s.out_shape = l.shape;
      if (const auto* cv = std::get_if<conv2d_op>(&src.op)) {
        s.in_shape = in.shape;
        s.kh = cv->kernel_h, s.kw = cv->kernel_w, s.sh = cv->stride_h, s.sw = cv->stride_w;
        s.ph = cv->pad_h, s.pw = cv->pad_w, s.groups = cv->groups;
        s.cin_g = in.shape.channels / cv->groups;
        s.cout_g = cv->out_channels / cv->groups;
      } else {
        s.in_shape = {static_cast<int>(in.shape.size()), 1, 1};
        s.cin_g = s.in_shape.channels;
        s.cout_g = l.shape.channels;
        s.out_shape = {l.shape.channels, 1, 1};
      }
      const std::size_t fan = static_cast<std::size_t>(s.kh) * s.kw * s.cin_g;
      const auto& weights =
          src.is<conv2d_op>() ? src.as<conv2d_op>().weights : src.as<dense_op>().weights;
      for (int o = 0; o < s.out_shape.channels; ++o)
        add_neuron(s.neurons, weights.data() + static_cast<std::size_t>(o) * fan, fan, t->sign[o],
                   t->threshold[o], static_cast<std::uint32_t>(fan));
      p.patch = std::max(p.patch, fan + 1);
      fresh(i, l.shape);
      p.stages.emplace_back(std::move(s));
    } else if (const auto* pl = std::get_if<pool_op>(&l.op)) {
      batch::pool_stage s;
      s.in = static_cast<int>(l.inputs[0].index());
      s.out = static_cast<int>(i);
      s.in_shape = net[l.inputs[0]].shape;
      s.out_shape = l.shape;
      s.kh = pl->kernel_h, s.kw = pl->kernel_w, s.sh = pl->stride_h, s.sw = pl->stride_w;
      s.ph = pl->pad_h, s.pw = pl->pad_w, s.threshold = pl->threshold;
      s.window = static_cast<int>(round8(static_cast<std::size_t>(s.kh) * s.kw));
      const std::vector<std::int8_t> ones(static_cast<std::size_t>(s.window), 1);
      add_neuron(s.count, ones.data(), ones.size(), 1, s.threshold, 0);
      p.patch = std::max(p.patch, static_cast<std::size_t>(s.window));
      fresh(i, l.shape);
      p.stages.emplace_back(std::move(s));
    } else if (l.is<flatten_op>()) {
      p.slot_of[i] = p.slot_of[l.inputs[0].index()];  // (c, y, x) order is the flattened order
    } else if (l.is<concat_op>()) {
      for (layer_id in : l.inputs) {  // channel-major: concatenation appends
        const auto& m = p.slot_of[in.index()];
        p.slot_of[i].insert(p.slot_of[i].end(), m.begin(), m.end());
      }
    } else if (const auto* outp = std::get_if<output_op>(&l.op)) {
      const auto& in = p.slot_of[l.inputs[0].index()];
      auto& o = p.output;
      o.slots.assign(static_cast<std::size_t>(outp->classes), {});
      for (std::size_t k = 0; k < in.size(); ++k)
        if (outp->class_of[k] >= 0)
          o.slots[static_cast<std::size_t>(outp->class_of[k])].push_back(in[k]);
      std::size_t longest = 0;
      for (auto& v : o.slots) {
        v.resize(round8(v.size()), batch::zero_slot);
        longest = std::max(longest, v.size());
        o.count_bits.push_back(static_cast<std::uint8_t>(count_bits_for(v.size())));
      }
      for (std::size_t k = 0; k < longest; ++k)
        o.taps.push_back(static_cast<std::uint32_t>(k) << 1);
    }
    // conv2d and dense layers are evaluated with the threshold layer that reads them.
  }
  return plan;
}

batch_workspace reference_net::make_batch_workspace(batch_kernel kernel) const {
  if (!supported(kernel)) {
    throw internal_error(
        "reference_net::make_batch_workspace: this CPU lacks the kernel's instructions",
        "ask for batch_kernel::best, or check supported() first");
  }
  batch_workspace ws;
  ws.net_ = this;
  ws.kernel_ = kernel == batch_kernel::best ? best_kernel() : kernel;
  ws.storage_.assign(batch_->slots * lane_words + lane_words, 0);  // + room to align
  ws.patch_.assign(std::max<std::size_t>(batch_->patch, 1), batch::zero_slot);
  return ws;
}

const std::uint64_t* batch_workspace::lanes() const {
  const auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
  return storage_.data() + (64 - addr % 64) % 64 / sizeof(word);
}

std::uint64_t* batch_workspace::lanes() {
  return const_cast<std::uint64_t*>(std::as_const(*this).lanes());
}

void reference_net::run_batch(std::span<const std::uint8_t> pixels, std::size_t n,
                              batch_workspace& ws, std::span<std::int32_t> counts_out) const {
  if (ws.net_ != this)
    throw internal_error("reference_net::run_batch: workspace of another network");
  if (pixels.size() != n * pixels_) {
    throw data_error(fmt::format("{} frames of {} pixels need {} bytes, but {} were given", n,
                                 pixels_, n * pixels_, pixels.size()),
                     "the dataset's image size must match the input layer's shape");
  }
  const auto classes = static_cast<std::size_t>(classes_);
  if (counts_out.size() != n * classes) {
    throw internal_error(
        fmt::format("reference_net::run_batch: {} counts for {} frames of {} classes",
                    counts_out.size(), n, classes));
  }
  const auto& k = kernels_for(ws.kernel_);
  const auto& p = *batch_;
  word* lanes = ws.lanes();
  std::uint32_t* patch = ws.patch_.data();
  for (std::size_t f0 = 0; f0 < n; f0 += batch_frames) {
    const std::size_t frames = std::min(batch_frames, n - f0);
    ws.frames_ = frames;
    std::fill(lanes, lanes + lane_words, 0);  // the zero slot
    encode(p.encode, pixels.data() + f0 * pixels_, frames, lanes);
    for (const auto& st : p.stages) {
      if (const auto* c = std::get_if<batch::conv_stage>(&st)) {
        k.conv(p, *c, lanes, patch);
      } else {
        k.pool(p, std::get<batch::pool_stage>(st), lanes, patch);
      }
    }
    k.output(p, lanes, frames, counts_out.data() + f0 * classes);
  }
}

bool batch_workspace::bit(layer_id id, std::size_t frame, int c, int y, int x) const {
  if (!net_ || id.index() >= net_->batch_->slot_of.size() ||
      net_->batch_->slot_of[id.index()].empty()) {
    throw internal_error(
        fmt::format("batch_workspace::bit: layer #{} has no binary activations", id));
  }
  const auto& s = net_->shapes_[id.index()];
  if (c < 0 || y < 0 || x < 0 || c >= s.channels || y >= s.height || x >= s.width ||
      frame >= frames_) {
    throw internal_error(
        fmt::format("batch_workspace::bit: frame {} ({}, {}, {}) outside {} frames of {}x{}x{}",
                    frame, c, y, x, frames_, s.channels, s.height, s.width));
  }
  const std::uint32_t slot =
      net_->batch_->slot_of[id.index()][(static_cast<std::size_t>(c) * s.height + y) * s.width + x];
  return (lanes()[std::size_t{slot} * lane_words + frame / 64] >> (frame % 64)) & 1;
}

std::vector<std::uint8_t> batch_workspace::activations(layer_id id, std::size_t frame) const {
  const auto& s = net_->shapes_.at(id.index());
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(s.size()));
  for (int c = 0; c < s.channels; ++c)
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x) out.push_back(bit(id, frame, c, y, x) ? 1 : 0);
  return out;
}

}  // namespace nmc::model
