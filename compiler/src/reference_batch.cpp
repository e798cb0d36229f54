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
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include <nmc/bitslice.hpp>
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
NMC_INLINE void store(word* lanes, std::uint32_t slot, std::size_t part, const V& v) {
  *reinterpret_cast<unaligned<V>*>(lanes + std::size_t{slot} * lane_words + part * part_words<V>) =
      v;
}

using bitslice::at_least;
using bitslice::counter;

// Bits of a counter that can count n inputs (at least 3: ones, twos, fours).
int count_bits_for(std::size_t n) {
  return std::max(3, static_cast<int>(std::bit_width(n)));
}

template <class V>
NMC_INLINE void load(V& v, const word* p) {
  v = *reinterpret_cast<const unaligned<V>*>(p);
}

// Calls f(counter) with a counter of `bits` bits: fixed sizes up to 10 bits
// (1023 inputs), which covers conv neurons and pools; wider ones in memory.
template <class V, class F>
NMC_INLINE void with_counter(int bits, F&& f) {
  switch (bits) {
#define NMC_COUNTER_CASE(b) \
  case b: {                 \
    counter<V, b - 3> c(b); \
    f(c);                   \
    return;                 \
  }
    NMC_COUNTER_CASE(3)
    NMC_COUNTER_CASE(4)
    NMC_COUNTER_CASE(5)
    NMC_COUNTER_CASE(6)
    NMC_COUNTER_CASE(7)
    NMC_COUNTER_CASE(8)
    NMC_COUNTER_CASE(9)
    NMC_COUNTER_CASE(10)
#undef NMC_COUNTER_CASE
    default: {
      counter<V, -1> c(bits);
      f(c);
    }
  }
}

// Adds the inputs origin + taps[0, n), each negated if Negate. The last,
// partial block of eight reads the slot at origin + pad (a zero slot for
// inputs as they are, a ones slot for negated ones) for the missing inputs.
// The taps arrays end with 8 guard entries, so reading past n is safe.
template <bool Negate, class Counter>
NMC_INLINE void add_taps(Counter& c, const word* origin, const std::int32_t* taps, std::size_t n,
                         std::ptrdiff_t pad) {
  using V = std::remove_cvref_t<decltype(c.ones)>;
  std::size_t j = 0;
  V x[8];
  for (; j + 8 <= n; j += 8) {
#pragma GCC unroll 8
    for (std::size_t k = 0; k < 8; ++k) {
      load(x[k], origin + taps[j + k]);
      if constexpr (Negate) x[k] = ~x[k];
    }
    c.add8(x);
  }
  if (j == n) return;
#pragma GCC unroll 8
  for (std::size_t k = 0; k < 8; ++k) {
    load(x[k], origin + (j + k < n ? std::ptrdiff_t{taps[j + k]} : pad));
    if constexpr (Negate) x[k] = ~x[k];
  }
  c.add8(x);
}

// Neuron n of `nt` with its window at `origin` (a word pointer into lanes),
// written to slot `out`, one part of the slots at a time.
template <class V>
NMC_INLINE void neuron(word* lanes, const word* origin, const batch::neuron_taps& nt, std::size_t n,
                       std::uint32_t out) {
  const std::uint32_t* b = nt.begin.data() + 2 * n;
  const std::int32_t* taps = nt.taps.data();
  const int nbits = nt.count_bits[n];
  const std::ptrdiff_t zero = lanes + batch::zero_slot * lane_words - origin;
  const std::ptrdiff_t ones = lanes + batch::ones_slot * lane_words - origin;
  for (std::size_t part = 0; part < parts<V>; ++part) {
    const word* o = origin + part * part_words<V>;
    with_counter<V>(
        nbits, [&](auto& c) __attribute__((always_inline)) {
          add_taps<false>(c, o, taps + b[0], b[1] - b[0], zero);
          add_taps<true>(c, o, taps + b[1], b[2] - b[1], ones);
          V r;
          at_least(r, c, nbits, nt.need[n]);
          store(lanes, out, part, r);
        });
  }
}

template <class V>
NMC_INLINE void conv_body(const reference_net::batch_plan& plan, const batch::conv_stage& s,
                          word* lanes) {
  const std::uint32_t* out = plan.slot_of[static_cast<std::size_t>(s.out)].data();
  const int oh = s.out_shape.height, ow = s.out_shape.width;
  if (s.dense) {
    for (int o = 0; o < s.out_shape.channels; ++o)
      neuron<V>(lanes, lanes, s.neurons, static_cast<std::size_t>(o), out[o]);
    return;
  }
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int g = 0; g < s.groups; ++g) {
        const word* origin =
            lanes + s.in.slot(g * s.cin_g, oy * s.sh - s.ph, ox * s.sw - s.pw) * lane_words;
        for (int o = g * s.cout_g; o < (g + 1) * s.cout_g; ++o)
          neuron<V>(lanes, origin, s.neurons, static_cast<std::size_t>(o),
                    out[(static_cast<std::size_t>(o) * oh + oy) * ow + ox]);
      }
}

template <class V>
NMC_INLINE void pool_body(const reference_net::batch_plan& plan, const batch::pool_stage& s,
                          word* lanes) {
  const std::uint32_t* out = plan.slot_of[static_cast<std::size_t>(s.out)].data();
  const int oh = s.out_shape.height, ow = s.out_shape.width;
  const std::int32_t* taps = s.window.taps.data();
  const std::size_t area = s.window.begin[1];
  for (int c = 0; c < s.out_shape.channels; ++c)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        const word* origin = lanes + s.in.slot(c, oy * s.sh - s.ph, ox * s.sw - s.pw) * lane_words;
        const std::uint32_t slot = out[(static_cast<std::size_t>(c) * oh + oy) * ow + ox];
        if (s.threshold == 1) {  // max pool: an OR of the window (the margin is zero)
          for (std::size_t part = 0; part < parts<V>; ++part) {
            V r{};
            for (std::size_t k = 0; k < area; ++k) {
              V x;
              load(x, origin + part * part_words<V> + taps[k]);
              r |= x;
            }
            store(lanes, slot, part, r);
          }
        } else {
          neuron<V>(lanes, origin, s.window, 0, slot);
        }
      }
}

// Class counts of frames [0, frames) of the batch into counts (frame-major).
template <class V>
NMC_INLINE void output_body(const reference_net::batch_plan& plan, const word* lanes,
                            std::size_t frames, std::int32_t* counts) {
  const auto& nt = plan.output.classes;
  const std::size_t classes = nt.need.size();
  const std::ptrdiff_t zero = batch::zero_slot * lane_words;
  for (std::size_t k = 0; k < classes; ++k) {
    const int nbits = nt.count_bits[k];
    for (std::size_t part = 0; part < parts<V>; ++part) {
      counter<V, -1> c(nbits);
      add_taps<false>(c, lanes + part * part_words<V>, nt.taps.data() + nt.begin[2 * k],
                      nt.begin[2 * k + 1] - nt.begin[2 * k], zero);
      const std::size_t f0 = part * part_words<V> * 64;
      for (std::size_t f = f0; f < std::min(frames, f0 + part_words<V> * 64); ++f) {
        std::int32_t n = 0;
        for (int i = 0; i < nbits; ++i)
          n |= static_cast<std::int32_t>((c.bit(i)[(f - f0) / 64] >> (f % 64)) & 1) << i;
        counts[f * classes + k] = n;
      }
    }
  }
}

// The thermometer code of frames [0, frames) into the input slots; lanes of
// absent frames are cleared. The general form, for more than 8 levels;
// `level` has room for one word per level.
void encode_any(const batch::encode_stage& s, const std::uint8_t* pixels, std::size_t frames,
                word* lanes, word* level) {
  const std::size_t levels = s.thresholds.size();
  const std::size_t p_count = static_cast<std::size_t>(s.image.size());
  for (std::size_t w = 0; w < lane_words; ++w) {
    const std::size_t f0 = w * 64, f1 = std::min(frames, f0 + 64);
    for (std::size_t p = 0; p < p_count; ++p) {
      std::fill(level, level + levels, 0);
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

// Bit k of each byte of x, as bits 0..7 (byte i -> bit i): the multiply
// gathers the eight isolated bits into the top byte.
NMC_INLINE word byte_bits(word x, unsigned k) {
  return (((x >> k) & 0x0101010101010101u) * 0x0102040810204080u) >> 56;
}

// Words of word-column w of the input slots from `rows`, the thermometer
// bytes of 64 frames of each pixel (bit k = level k): per target.
using rows_fn = void (*)(const batch::encode_stage&, const std::uint8_t*, std::size_t, word*);

void rows_portable(const batch::encode_stage& s, const std::uint8_t* rows, std::size_t w,
                   word* lanes) {
  const std::size_t levels = s.thresholds.size();
  for (std::size_t p = 0; p < s.slot.size() / levels; ++p)
    for (std::size_t k = 0; k < levels; ++k) {
      word m = 0;
      for (std::size_t i = 0; i < 8; ++i) {
        word x;
        std::memcpy(&x, rows + p * 64 + 8 * i, sizeof x);
        m |= byte_bits(x, static_cast<unsigned>(k)) << (8 * i);
      }
      lanes[std::size_t{s.slot[p * levels + k]} * lane_words + w] = m;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw"))) void rows_avx512(const batch::encode_stage& s,
                                                             const std::uint8_t* rows,
                                                             std::size_t w, word* lanes) {
  const std::size_t levels = s.thresholds.size();
  for (std::size_t p = 0; p < s.slot.size() / levels; ++p) {
    const __m512i row = _mm512_loadu_si512(rows + p * 64);
    for (std::size_t k = 0; k < levels; ++k)
      lanes[std::size_t{s.slot[p * levels + k]} * lane_words + w] =
          _mm512_test_epi8_mask(row, _mm512_set1_epi8(static_cast<char>(1u << k)));
  }
}
#endif

// The same with at most 8 levels: for 64 frames at a time, each pixel's
// thermometer byte (from a table) goes into a pixel-major buffer of 64 bytes
// per pixel, which `to_words` turns into one word per level.
void encode_bytes(const batch::encode_stage& s, const std::uint8_t* pixels, std::size_t frames,
                  word* lanes, std::uint8_t* rows, rows_fn to_words) {
  const std::size_t p_count = static_cast<std::size_t>(s.image.size());
  for (std::size_t w = 0; w < lane_words; ++w) {
    const std::size_t f0 = w * 64, f1 = std::min(frames, f0 + 64);
    if (f1 < f0 + 64) std::fill(rows, rows + p_count * 64, 0);
    for (std::size_t f = f0; f < f1; ++f) {
      const std::uint8_t* px = pixels + f * p_count;
      for (std::size_t p = 0; p < p_count; ++p) rows[p * 64 + (f - f0)] = s.code[px[p]];
    }
    to_words(s, rows, w, lanes);
  }
}

void copy(const batch::copy_stage& s, word* lanes) {
  for (std::size_t i = 0; i < s.from.size(); ++i)
    std::memcpy(lanes + std::size_t{s.to[i]} * lane_words,
                lanes + std::size_t{s.from[i]} * lane_words, lane_words * sizeof(word));
}

struct kernel_set {
  rows_fn rows;
  void (*conv)(const reference_net::batch_plan&, const batch::conv_stage&, word*);
  void (*pool)(const reference_net::batch_plan&, const batch::pool_stage&, word*);
  void (*output)(const reference_net::batch_plan&, const word*, std::size_t, std::int32_t*);
};

#define NMC_KERNELS(suffix, vec, rows, attr)                                                       \
  attr void conv_##suffix(const reference_net::batch_plan& p, const batch::conv_stage& s,          \
                          word* l) {                                                               \
    conv_body<vec>(p, s, l);                                                                       \
  }                                                                                                \
  attr void pool_##suffix(const reference_net::batch_plan& p, const batch::pool_stage& s,          \
                          word* l) {                                                               \
    pool_body<vec>(p, s, l);                                                                       \
  }                                                                                                \
  attr void output_##suffix(const reference_net::batch_plan& p, const word* l, std::size_t frames, \
                            std::int32_t* counts) {                                                \
    output_body<vec>(p, l, frames, counts);                                                        \
  }                                                                                                \
  constexpr kernel_set kernels_##suffix{rows, conv_##suffix, pool_##suffix, output_##suffix};

NMC_KERNELS(portable, v16, rows_portable, )
#if defined(__x86_64__) && defined(__GNUC__)
#define NMC_HAVE_X86_KERNELS 1
NMC_KERNELS(avx2, v32, rows_portable, __attribute__((target("avx2"))))
NMC_KERNELS(avx512, v64, rows_avx512, __attribute__((target("avx512f"))))
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
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
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

// Appends a neuron with +1 inputs `plus` and -1 inputs `minus` (word offsets).
void add_neuron(batch::neuron_taps& nt, const std::vector<std::int32_t>& plus,
                const std::vector<std::int32_t>& minus, std::int32_t threshold) {
  nt.taps.insert(nt.taps.end(), plus.begin(), plus.end());
  nt.begin.push_back(static_cast<std::uint32_t>(nt.taps.size()));
  nt.taps.insert(nt.taps.end(), minus.begin(), minus.end());
  nt.begin.push_back(static_cast<std::uint32_t>(nt.taps.size()));
  nt.need.push_back(threshold + static_cast<std::int32_t>(minus.size()));
  nt.count_bits.push_back(static_cast<std::uint8_t>(count_bits_for(plus.size() + minus.size())));
}

// The guard entries add_taps may read past a neuron's last block.
void seal(batch::neuron_taps& nt) {
  nt.taps.resize(nt.taps.size() + 8, 0);
}

std::int32_t word_offset(std::int64_t slots) {
  return static_cast<std::int32_t>(slots * static_cast<std::int64_t>(lane_words));
}

}  // namespace

std::unique_ptr<reference_net::batch_plan> make_batch_plan(const network& net) {
  auto plan = std::make_unique<reference_net::batch_plan>();
  auto& p = *plan;
  const std::size_t n = net.size();
  p.slot_of.resize(n);
  // Margins: the widest padding of a layer's conv and pool readers.
  std::vector<int> mh(n, 0), mw(n, 0);
  std::vector<bool> windowed(n, false);  // read by a conv or pool
  for (const layer& l : net.layers()) {
    int ph = -1, pw = -1;
    if (const auto* cv = std::get_if<conv2d_op>(&l.op)) ph = cv->pad_h, pw = cv->pad_w;
    if (const auto* pl = std::get_if<pool_op>(&l.op)) ph = pl->pad_h, pw = pl->pad_w;
    if (ph < 0) continue;
    const std::size_t in = l.inputs[0].index();
    windowed[in] = true;
    mh[in] = std::max(mh[in], ph);
    mw[in] = std::max(mw[in], pw);
  }
  std::vector<batch::block> block_of(n);
  // A block of slots for layer i, mapped from (c, y, x).
  auto fresh = [&](std::size_t i, const tensor_shape& s) {
    batch::block b{static_cast<std::uint32_t>(p.slots), s, mh[i], mw[i]};
    auto& map = p.slot_of[i];
    map.resize(static_cast<std::size_t>(s.size()));
    for (int c = 0; c < s.channels; ++c)
      for (int y = 0; y < s.height; ++y)
        for (int x = 0; x < s.width; ++x)
          map[(static_cast<std::size_t>(c) * s.height + y) * s.width + x] =
              static_cast<std::uint32_t>(b.slot(c, y, x));
    p.slots += static_cast<std::size_t>(s.height + 2 * b.mh) * (s.width + 2 * b.mw) * s.channels;
    block_of[i] = b;
  };

  for (layer_id id : net.topological_order()) {
    const layer& l = net[id];
    const std::size_t i = id.index();
    if (const auto* inp = std::get_if<input_op>(&l.op)) {
      fresh(i, l.shape);
      auto& e = p.encode;
      e.image = inp->image;
      e.thresholds = inp->encoding.thresholds;
      if (e.thresholds.size() <= 8) {
        e.code.resize(256);
        for (int v = 0; v < 256; ++v)
          for (std::size_t k = 0; k < e.thresholds.size(); ++k)
            if (v >= e.thresholds[k]) e.code[static_cast<std::size_t>(v)] |= 1u << k;
      }
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
      const std::size_t in = src.inputs[0].index();
      batch::conv_stage s;
      s.out = static_cast<int>(i);
      s.out_shape = l.shape;
      std::vector<std::int32_t> plus, minus;
      if (const auto* cv = std::get_if<conv2d_op>(&src.op)) {
        const batch::block& b = block_of[in];
        s.in = b;
        s.sh = cv->stride_h, s.sw = cv->stride_w, s.ph = cv->pad_h, s.pw = cv->pad_w;
        s.groups = cv->groups;
        s.cin_g = b.shape.channels / cv->groups;
        s.cout_g = cv->out_channels / cv->groups;
        std::size_t k = 0;  // PyTorch order [o][ci][ky][kx]
        for (int o = 0; o < cv->out_channels; ++o) {
          plus.clear(), minus.clear();
          for (int ci = 0; ci < s.cin_g; ++ci)
            for (int ky = 0; ky < cv->kernel_h; ++ky)
              for (int kx = 0; kx < cv->kernel_w; ++kx, ++k) {
                const int w = t->sign[o] * cv->weights[k];
                const auto off = word_offset(static_cast<std::int64_t>(ky) *
                                                 static_cast<std::int64_t>(b.row_slots()) +
                                             static_cast<std::int64_t>(kx) * b.shape.channels + ci);
                if (w > 0) plus.push_back(off);
                if (w < 0) minus.push_back(off);
              }
          add_neuron(s.neurons, plus, minus, t->threshold[o]);
        }
      } else {
        const auto& d = src.as<dense_op>();
        s.dense = true;
        const auto& in_slots = p.slot_of[in];
        std::size_t k = 0;  // [o][flattened c, y, x]
        for (int o = 0; o < d.out_features; ++o) {
          plus.clear(), minus.clear();
          for (std::size_t j = 0; j < in_slots.size(); ++j, ++k) {
            const int w = t->sign[o] * d.weights[k];
            if (w > 0) plus.push_back(word_offset(in_slots[j]));
            if (w < 0) minus.push_back(word_offset(in_slots[j]));
          }
          add_neuron(s.neurons, plus, minus, t->threshold[o]);
        }
      }
      seal(s.neurons);
      fresh(i, l.shape);
      p.stages.emplace_back(std::move(s));
    } else if (const auto* pl = std::get_if<pool_op>(&l.op)) {
      batch::pool_stage s;
      const batch::block& b = block_of[l.inputs[0].index()];
      s.in = b;
      s.out = static_cast<int>(i);
      s.out_shape = l.shape;
      s.sh = pl->stride_h, s.sw = pl->stride_w, s.ph = pl->pad_h, s.pw = pl->pad_w;
      s.threshold = pl->threshold;
      std::vector<std::int32_t> window;
      for (int ky = 0; ky < pl->kernel_h; ++ky)
        for (int kx = 0; kx < pl->kernel_w; ++kx)
          window.push_back(
              word_offset(static_cast<std::int64_t>(ky) * static_cast<std::int64_t>(b.row_slots()) +
                          static_cast<std::int64_t>(kx) * b.shape.channels));
      add_neuron(s.window, window, {}, s.threshold);
      seal(s.window);
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
      std::vector<std::vector<std::int32_t>> members(static_cast<std::size_t>(outp->classes));
      for (std::size_t k = 0; k < in.size(); ++k)
        if (outp->class_of[k] >= 0)
          members[static_cast<std::size_t>(outp->class_of[k])].push_back(word_offset(in[k]));
      for (const auto& m : members) add_neuron(p.output.classes, m, {}, 0);
      seal(p.output.classes);
    }
    // conv2d and dense layers are evaluated with the threshold layer that reads them.
    if ((l.is<flatten_op>() || l.is<concat_op>()) && windowed[i]) {
      // A conv or pool reads it: lay it out as a block.
      batch::copy_stage c;
      c.from = p.slot_of[i];
      fresh(i, l.shape);
      c.to = p.slot_of[i];
      p.stages.emplace_back(std::move(c));
    }
  }
  if (p.slots * lane_words > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw model_error(
        fmt::format("network '{}' has {} binary activations; run_batch holds at most {}", net.name,
                    p.slots, std::numeric_limits<std::int32_t>::max() / lane_words),
        "split the network");
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
  // Zero: margins and the zero slot are never written. + room to align.
  ws.storage_.assign(batch_->slots * lane_words + lane_words, 0);
  ws.level_.assign(batch_->encode.thresholds.size(), 0);
  ws.rows_.assign(batch_->encode.code.empty() ? 0 : pixels_ * 64, 0);
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
  for (std::size_t f0 = 0; f0 < n; f0 += batch_frames) {
    const std::size_t frames = std::min(batch_frames, n - f0);
    ws.frames_ = frames;
    std::fill(lanes + batch::ones_slot * lane_words, lanes + (batch::ones_slot + 1) * lane_words,
              ~word{0});
    if (p.encode.code.empty()) {
      encode_any(p.encode, pixels.data() + f0 * pixels_, frames, lanes, ws.level_.data());
    } else {
      encode_bytes(p.encode, pixels.data() + f0 * pixels_, frames, lanes, ws.rows_.data(), k.rows);
    }
    for (const auto& st : p.stages) {
      if (const auto* c = std::get_if<batch::conv_stage>(&st)) {
        k.conv(p, *c, lanes);
      } else if (const auto* pl = std::get_if<batch::pool_stage>(&st)) {
        k.pool(p, *pl, lanes);
      } else {
        copy(std::get<batch::copy_stage>(st), lanes);
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
