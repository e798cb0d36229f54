// The epoch kernel (epoch_kernel.hpp).

#include "epoch_kernel.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>

#include <nmc/bitslice.hpp>

namespace nmc::runtime::tn {

namespace {

// One stage of the transpose: the off-diagonal J x J blocks of every 2J x 2J
// block swap (the shift a constant, so the stage unrolls).
template <int J, std::uint64_t M>
inline void transpose_stage(std::uint64_t* a) {
  for (int k = 0; k < 64; k += 2 * J)
    for (int i = k; i < k + J; ++i) {
      const std::uint64_t t = ((a[i] >> J) ^ a[i + J]) & M;
      a[i + J] ^= t;
      a[i] ^= t << J;
    }
}

// a[i] bit j becomes a[j] bit i (a 64 x 64 bit matrix, transposed in place).
void transpose64(std::uint64_t* a) {
  transpose_stage<32, 0x00000000ffffffffULL>(a);
  transpose_stage<16, 0x0000ffff0000ffffULL>(a);
  transpose_stage<8, 0x00ff00ff00ff00ffULL>(a);
  transpose_stage<4, 0x0f0f0f0f0f0f0f0fULL>(a);
  transpose_stage<2, 0x3333333333333333ULL>(a);
  transpose_stage<1, 0x5555555555555555ULL>(a);
}

#define NMC_INLINE [[gnu::always_inline]] inline

using word = std::uint64_t;
// Lanes are ticks: a word holds 64 of them; an epoch of more than 64 ticks
// keeps 4 words per axon, counted as one 256-bit vector (AVX2) or as two
// 128-bit halves, one after the other (the baseline's SSE2), so that a
// neuron's counter stays in registers either way.
using v2 = word __attribute__((vector_size(16)));
using v4 = word __attribute__((vector_size(32)));
template <class V>
using unaligned [[gnu::vector_size(sizeof(V)), gnu::aligned(8), gnu::may_alias]] = word;

// Vectors go by reference: one passed or returned by value changes the ABI
// between the baseline and AVX2 (-Wpsabi).
template <class V>
NMC_INLINE void load(V& v, const word* p) {
  if constexpr (sizeof(V) == sizeof(word)) {
    v = *p;
  } else {
    v = *reinterpret_cast<const unaligned<V>*>(p);
  }
}
template <class V>
NMC_INLINE void store(word* p, const V& v) {
  if constexpr (sizeof(V) == sizeof(word)) {
    *p = v;
  } else {
    *reinterpret_cast<unaligned<V>*>(p) = v;
  }
}

using bitslice::counter;

// Every neuron with a destination, in order: the lanes (ticks) it fires, for
// the part of the lanes at word `first` of each axon's `stride` words.
template <class V, int HB>
NMC_INLINE void fire_all(const core_data& c, const word* x, std::size_t stride, std::size_t first, word* out) {
  const std::uint16_t* taps = c.taps.data();
  const auto* tc = c.tap_counts.data();
  x += first;
  for (std::size_t w = 0; w < 4; ++w)
    for (word bits = c.has_dest[w]; bits; bits &= bits - 1) {
      counter<V, HB> k(3 + HB);
      V in[8];
      for (const std::uint16_t* end = taps + tc->taps; taps != end; taps += 8) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) load(in[i], x + taps[i] * stride);
        k.add8(in);
      }
      const auto j = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      V fires;
      bitslice::at_least(fires, k, 3 + HB, tc->need);
      store(out + j * stride + first, fires);
      ++tc;
    }
}

template <class V>
NMC_INLINE void fire_part(const core_data& c, const word* x, std::size_t stride, std::size_t first, word* out) {
  switch (c.tap_bits) {
    case 3: return fire_all<V, 0>(c, x, stride, first, out);
    case 4: return fire_all<V, 1>(c, x, stride, first, out);
    case 5: return fire_all<V, 2>(c, x, stride, first, out);
    case 6: return fire_all<V, 3>(c, x, stride, first, out);
    case 7: return fire_all<V, 4>(c, x, stride, first, out);
    case 8: return fire_all<V, 5>(c, x, stride, first, out);
    default: return fire_all<V, 6>(c, x, stride, first, out);  // 9 bits: a core has 256 axons
  }
}

// Not target_clones: its ifunc resolver runs before a sanitizer runtime is up.
void fire_1(const core_data& c, const word* x, word* out) { fire_part<word>(c, x, 1, 0, out); }
void fire_4_sse2(const core_data& c, const word* x, word* out) {
  fire_part<v2>(c, x, 4, 0, out);
  fire_part<v2>(c, x, 4, 2, out);
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) void fire_4_avx2(const core_data& c, const word* x, word* out) {
  fire_part<v4>(c, x, 4, 0, out);
}
#endif

word first_lanes(std::size_t n) { return n >= 64 ? ~word{0} : (word{1} << n) - 1; }

// The shared middle of both forms: x holds each axon's `stride` words (bit
// k of word b: tick t0 + 64 b + k, nothing beyond `ticks`). Adds each axon's
// negation and the zero word the taps pad with, counts the synaptic events
// and writes out[j * stride + b], neuron j's firing lanes.
std::int64_t count_and_fire(const core_data& c, word* x, std::size_t stride, int ticks, bool avx2, word* out) {
  for (std::size_t i = 0; i < 256 * stride; ++i) x[256 * stride + i] = ~x[i];
  for (std::size_t b = 0; b < stride; ++b) x[512 * stride + b] = 0;
  std::int64_t events = 0;
  for (std::size_t ax = 0; ax < 256; ++ax) {
    int active = 0;
    for (std::size_t b = 0; b < stride; ++b) active += std::popcount(x[ax * stride + b]);
    events += std::int64_t{active} * c.row_synapses[ax];
  }
  // Each neuron with a destination: its +1 axons' words and its -1 axons'
  // words negated, counted against its need.
  std::fill(out, out + 256 * stride, 0);
  if (stride == 1) {
    fire_1(c, x, out);
  } else {
#if defined(__x86_64__) && defined(__GNUC__)
    avx2 ? fire_4_avx2(c, x, out) : fire_4_sse2(c, x, out);
#else
    (void)avx2;
    fire_4_sse2(c, x, out);
#endif
  }
  // The negated words set the lanes past the epoch: cleared.
  for (std::size_t b = 0; b < stride; ++b) {
    const word lanes = 64 * b < static_cast<std::size_t>(ticks) ? first_lanes(static_cast<std::size_t>(ticks) - 64 * b) : 0;
    for (std::size_t j = 0; j < 256; ++j) out[j * stride + b] &= lanes;
  }
  return events;
}

}  // namespace

void lower_epoch_kernel(core_data& c) {
  c.batched = false;
  if (!c.fast || !c.stateless || !c.uniform || c.axon_words != 4 || c.row_words != 4) return;
  for (auto w : c.uniform_weight)
    if (w < -1 || w > 1) return;
  std::array<std::uint64_t, 4> plus{}, minus{};  // axons of weight +1 and -1
  for (std::size_t g = 0; g < 4; ++g)
    for (std::size_t w = 0; w < 4; ++w) {
      if (c.uniform_weight[g] > 0) plus[w] |= c.type_mask[g][w];
      if (c.uniform_weight[g] < 0) minus[w] |= c.type_mask[g][w];
    }
  // The crossbar's columns (column[j][w]: axons 64 w .. 64 w + 63 reaching
  // neuron j), by 64 x 64 transposes of its blocks.
  std::array<std::array<std::uint64_t, 4>, 256> column;
  std::uint64_t block[64];
  for (std::size_t aw = 0; aw < 4; ++aw)
    for (std::size_t r = 0; r < 4; ++r) {
      for (std::size_t i = 0; i < 64; ++i) block[i] = c.crossbar[(64 * aw + i) * 4 + r];
      transpose64(block);
      for (std::size_t i = 0; i < 64; ++i) column[64 * r + i][aw] = block[i];
    }
  // Per neuron with a destination (the others cannot be observed): its +1
  // axons, then its -1 axons, axons of weight 0 left out.
  int widest = 0;
  for (std::size_t j = 0; j < 256; ++j) {
    if (!((c.has_dest[j / 64] >> (j % 64)) & 1)) continue;
    std::size_t n = 0, nm = 0;
    for (std::size_t w = 0; w < 4; ++w)
      for (std::uint64_t bits = column[j][w] & plus[w]; bits; bits &= bits - 1, ++n)
        c.taps.push_back(static_cast<std::uint16_t>(64 * w + static_cast<std::size_t>(std::countr_zero(bits))));
    for (std::size_t w = 0; w < 4; ++w)
      for (std::uint64_t bits = column[j][w] & minus[w]; bits; bits &= bits - 1, ++n, ++nm)
        c.taps.push_back(static_cast<std::uint16_t>(256 + 64 * w + static_cast<std::size_t>(std::countr_zero(bits))));
    const std::size_t padded = (n + 7) / 8 * 8;
    c.taps.resize(c.taps.size() + padded - n, 512);
    c.tap_counts.push_back(
        {static_cast<std::uint16_t>(padded), static_cast<std::int16_t>(c.threshold16[j] + static_cast<int>(nm))});
    widest = std::max(widest, static_cast<int>(n));
  }
  c.taps.shrink_to_fit();
  c.tap_bits = std::max(3, static_cast<int>(std::bit_width(static_cast<unsigned>(widest))));
  c.batched = true;
}

std::int64_t integrate_epoch(const core_data& c, std::uint64_t* sched, int slots, std::int64_t t0, int ticks,
                             bool avx2, std::uint64_t (*fired)[5]) {
  // The epoch's slots as words per axon (stride of them), bit k of word b
  // for tick t0 + 64 b + k.
  const std::size_t stride = ticks <= 64 ? 1 : 4, blocks = (static_cast<std::size_t>(ticks) + 63) / 64;
  const auto mask = static_cast<std::size_t>(slots - 1);
  alignas(64) word x[513 * 4];
  alignas(64) word a[64];
  for (std::size_t b = 0; b < stride; ++b)
    for (std::size_t w = 0; w < 4; ++w) {
      for (std::size_t k = 0; k < 64; ++k) {
        const std::size_t tick = 64 * b + k;
        if (tick < static_cast<std::size_t>(ticks)) {
          word& s = sched[((static_cast<std::size_t>(t0) + tick) & mask) * 4 + w];
          a[k] = s;
          s = 0;
        } else {
          a[k] = 0;
        }
      }
      if (b < blocks) transpose64(a);
      for (std::size_t i = 0; i < 64; ++i) x[(64 * w + i) * stride + b] = a[i];
    }
  alignas(64) word out[256 * 4];
  const std::int64_t events = count_and_fire(c, x, stride, ticks, avx2, out);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t n = std::min<std::size_t>(64, static_cast<std::size_t>(ticks) - 64 * b);
    for (std::size_t w = 0; w < 4; ++w) {
      for (std::size_t i = 0; i < 64; ++i) a[i] = out[(64 * w + i) * stride + b];
      transpose64(a);
      for (std::size_t k = 0; k < n; ++k) fired[64 * b + k][w] = a[k];
    }
    for (std::size_t k = 0; k < n; ++k) fired[64 * b + k][4] = 0;
  }
  return events;
}

std::int64_t integrate_epoch_rings(const core_data& c, std::uint64_t* rings, std::int64_t t0, int ticks, bool avx2,
                                   std::uint64_t* out, std::size_t& stride) {
  stride = ticks <= 64 ? 1 : 4;
  alignas(64) word x[513 * 4];
  const auto start = static_cast<std::size_t>(t0) % long_slots;
  for (std::size_t a = 0; a < 256; ++a) ring_take(rings + a * ring_words, start, static_cast<std::size_t>(ticks), x + a * stride, stride);
  return count_and_fire(c, x, stride, ticks, avx2, out);
}

void ring_take(std::uint64_t* ring, std::size_t start, std::size_t ticks, std::uint64_t* out, std::size_t words) {
  const std::size_t q = start / 64, r = start % 64;
  for (std::size_t b = 0; b < words; ++b) {
    const word lanes = 64 * b < ticks ? first_lanes(ticks - 64 * b) : 0;
    word& lo = ring[(q + b) % ring_words];
    word& hi = ring[(q + b + 1) % ring_words];
    const word v = r ? (lo >> r) | (hi << (64 - r)) : lo;
    out[b] = v & lanes;
    lo &= ~(lanes << r);
    if (r) hi &= ~(lanes >> (64 - r));
  }
}

}  // namespace nmc::runtime::tn
