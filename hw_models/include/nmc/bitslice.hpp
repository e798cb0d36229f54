#pragma once
// Bit-sliced counting, shared by the two kernels that count binary inputs
// many lanes at a time: the reference pass over a batch of frames
// (compiler/src/reference_batch.cpp, a lane per frame) and the TrueNorth
// simulator's epoch kernel (runtime/src/truenorth/epoch_kernel.cpp, a lane per
// tick). V is a word or a GCC vector of words; every function is inlined
// into its caller, so each kernel compiles it for its own target (baseline,
// AVX2, AVX-512). Vectors go by reference: one passed or returned by value
// changes the ABI between those targets (-Wpsabi). Include from kernel
// sources only.

#include <algorithm>
#include <cstdint>

namespace nmc::bitslice {

// sum + 2 * carry = a + b + c, lane by lane. `sum` may alias `a`.
template <class V>
[[gnu::always_inline]] inline void full_add(V& sum, V& carry, const V& a, const V& b, const V& c) {
  const V u = a ^ b;
  carry = (a & b) | (u & c);
  sum = u ^ c;
}

constexpr int max_count_bits = 40;

// A lane-wise binary counter, least significant bit first: ones, twos, fours
// take eight inputs at a time through seven full adders (Harley-Seal), and
// their carry (eights) ripples into hi. HB is the number of hi bits, known at
// compile time so that they stay in registers; -1: `bits` - 3 of them, in memory.
template <class V, int HB>
struct counter {
  static constexpr int cap = HB < 0 ? max_count_bits - 3 : std::max(HB, 1);
  V ones{}, twos{}, fours{};
  int hbits;
  V hi[cap];

  [[gnu::always_inline]] explicit counter(int bits) : hbits(HB < 0 ? bits - 3 : HB) {
    for (int i = 0; i < (HB < 0 ? hbits : HB); ++i) hi[i] = V{};
  }
  [[gnu::always_inline]] const V& bit(int i) const { return i == 0 ? ones : i == 1 ? twos : i == 2 ? fours : hi[i - 3]; }
  [[gnu::always_inline]] void add8(const V (&x)[8]) {
    V ta, tb, fa, fb, e;
    full_add(ones, ta, ones, x[0], x[1]);
    full_add(ones, tb, ones, x[2], x[3]);
    full_add(twos, fa, twos, ta, tb);
    full_add(ones, ta, ones, x[4], x[5]);
    full_add(ones, tb, ones, x[6], x[7]);
    full_add(twos, fb, twos, ta, tb);
    full_add(fours, e, fours, fa, fb);
#pragma GCC unroll 8
    for (int i = 0; i < (HB < 0 ? hbits : HB); ++i) {
      const V c = hi[i] & e;
      hi[i] ^= e;
      e = c;
    }
  }
};

// Lanes where the count is >= need: compared from the least significant bit
// up, "so far >=" becomes true where the count's bit is above need's, false
// where below, and stays where they are equal.
template <class V, class Counter>
[[gnu::always_inline]] inline void at_least(V& out, const Counter& c, int nbits, std::int32_t need) {
  if (need <= 0) {
    out = ~V{};
    return;
  }
  if (static_cast<std::int64_t>(need) >> nbits != 0) {
    out = V{};
    return;
  }
  V ge = ~V{};
  for (int i = 0; i < nbits; ++i) ge = (need >> i) & 1 ? ge & c.bit(i) : ge | c.bit(i);
  out = ge;
}

}  // namespace nmc::bitslice
