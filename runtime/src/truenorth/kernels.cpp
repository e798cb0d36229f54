// The TrueNorth fast-path kernels (kernels.hpp).

#include "kernels.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nmc::runtime::tn {

std::int64_t integrate_scalar(const core_data& c, std::uint64_t* slot, std::int32_t* in) {
  std::int64_t events = 0;
  std::fill(in, in + 256, 0);
  for (int w = 0; w < c.axon_words; ++w) {
    std::uint64_t active = slot[w];
    slot[w] = 0;
    while (active) {
      const int a = w * 64 + std::countr_zero(active);
      active &= active - 1;
      const std::int16_t* wt = c.weight16.data() + static_cast<std::size_t>(c.axon_type[static_cast<std::size_t>(a)]) * 256;
      const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * 4;
      for (int r = 0; r < 4; ++r) {
        std::uint64_t bits = row[r];
        events += std::popcount(bits);
        while (bits) {
          const int j = r * 64 + std::countr_zero(bits);
          bits &= bits - 1;
          in[j] += wt[j];
        }
      }
    }
  }
  return events;
}

namespace {

// The bits of v deposited at the set bits of mask, lowest first (PDEP).
std::uint64_t deposit_portable(std::uint64_t v, std::uint64_t mask) {
  std::uint64_t out = 0;
  for (std::uint64_t bit = 1; mask; bit <<= 1, mask &= mask - 1)
    if (v & bit) out |= mask & (~mask + 1);
  return out;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("bmi2"), noinline)) std::uint64_t deposit_bmi2(std::uint64_t v, std::uint64_t mask) {
  return _pdep_u64(v, mask);
}
#endif

}  // namespace

void deliver_runs(const core_data& c, const std::uint64_t (*fired)[5], int ticks, std::int64_t t0,
                  std::uint64_t* sched, std::size_t axon_words, int slots, bool atomic, bool bmi2, std::int64_t& hops,
                  std::int64_t& crossings) {
  const auto last_slot = static_cast<std::size_t>(slots - 1);
  for (const auto& r : c.runs) {
    std::uint64_t* core_sched = sched + static_cast<std::size_t>(r.core) * static_cast<std::size_t>(slots) * axon_words;
    std::int64_t spikes = 0;
    for (int k = 0; k < ticks; ++k) {
      const std::uint64_t* f = fired[k];
      std::uint64_t* dst = core_sched + (static_cast<std::size_t>(t0 + k + r.delay) & last_slot) * axon_words;
      std::size_t o = r.first;  // the run's next neuron
      for (std::size_t q = 0; q < r.words; ++q) {
        const int len = r.len[q];
        const std::size_t wi = o / 64, b = o % 64;
        std::uint64_t v = f[wi] >> b;
        if (b) v |= f[wi + 1] << (64 - b);
        if (len < 64) v &= (std::uint64_t{1} << len) - 1;
        o += static_cast<std::size_t>(len);
        if (!v) continue;
        spikes += std::popcount(v);
        std::uint64_t bits;
        if (r.shift[q] >= 0) {
          bits = v << r.shift[q];
        } else {
#if defined(__x86_64__) && defined(__GNUC__)
          bits = bmi2 ? deposit_bmi2(v, r.mask[q]) : deposit_portable(v, r.mask[q]);
#else
          (void)bmi2;
          bits = deposit_portable(v, r.mask[q]);
#endif
        }
        std::uint64_t& word = dst[r.word[q]];
        if (atomic) {
          std::atomic_ref<std::uint64_t>(word).fetch_or(bits, std::memory_order_relaxed);
        } else {
          word |= bits;
        }
      }
    }
    hops += spikes * r.hops;
    crossings += spikes * r.crossings;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same with AVX-512: 256 16-bit sums in 8 registers, one masked add per
// 32 neurons of a crossbar row, whatever the row's density.
// With `fired` (stateless cores), the sums are compared with the thresholds
// in registers and only the 256-bit mask of firing neurons comes out.
__attribute__((target("avx512f,avx512bw"))) std::int64_t integrate_avx512(const core_data& c, std::uint64_t* slot,
                                                                         std::int32_t* in, std::uint64_t* fired) {
  __m512i acc[8];
  for (auto& a : acc) a = _mm512_setzero_si512();
  std::int64_t events = 0;
  if (c.uniform) {
    // One constant per axon type: no per-neuron weight or axon-type loads.
    std::uint64_t active[4];
    for (int w = 0; w < 4; ++w) active[w] = slot[w], slot[w] = 0;
    for (std::size_t g = 0; g < 4; ++g) {
      if (c.uniform_weight[g] == 0) continue;  // still synaptic events: counted below
      const __m512i wv = _mm512_set1_epi16(c.uniform_weight[g]);
      for (int w = 0; w < 4; ++w) {
        std::uint64_t bits = active[w] & c.type_mask[g][static_cast<std::size_t>(w)];
        while (bits) {
          const int a = w * 64 + std::countr_zero(bits);
          bits &= bits - 1;
          const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * 4;
          for (int r = 0; r < 4; ++r) {
            const auto lo = static_cast<__mmask32>(row[r]), hi = static_cast<__mmask32>(row[r] >> 32);
            acc[2 * r] = _mm512_mask_add_epi16(acc[2 * r], lo, acc[2 * r], wv);
            acc[2 * r + 1] = _mm512_mask_add_epi16(acc[2 * r + 1], hi, acc[2 * r + 1], wv);
          }
        }
      }
    }
    for (int w = 0; w < 4; ++w) {
      std::uint64_t bits = active[w];
      while (bits) {
        events += c.row_synapses[static_cast<std::size_t>(w * 64 + std::countr_zero(bits))];
        bits &= bits - 1;
      }
    }
  } else {
  for (int w = 0; w < c.axon_words; ++w) {
    std::uint64_t active = slot[w];
    slot[w] = 0;
    while (active) {
      const int a = w * 64 + std::countr_zero(active);
      active &= active - 1;
      const std::int16_t* wt = c.weight16.data() + static_cast<std::size_t>(c.axon_type[static_cast<std::size_t>(a)]) * 256;
      const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * 4;
      for (int r = 0; r < 4; ++r) {
        const std::uint64_t bits = row[r];
        events += std::popcount(bits);
        if (!bits) continue;
        const auto lo = static_cast<__mmask32>(bits), hi = static_cast<__mmask32>(bits >> 32);
        acc[2 * r] = _mm512_mask_add_epi16(acc[2 * r], lo, acc[2 * r], _mm512_loadu_si512(wt + 64 * r));
        acc[2 * r + 1] = _mm512_mask_add_epi16(acc[2 * r + 1], hi, acc[2 * r + 1], _mm512_loadu_si512(wt + 64 * r + 32));
      }
    }
  }
  }
  if (fired) {
    const std::int16_t* thr = c.threshold16.data();
    for (int r = 0; r < 4; ++r) {
      const std::uint64_t lo = _mm512_cmpge_epi16_mask(acc[2 * r], _mm512_loadu_si512(thr + 64 * r));
      const std::uint64_t hi = _mm512_cmpge_epi16_mask(acc[2 * r + 1], _mm512_loadu_si512(thr + 64 * r + 32));
      fired[r] = lo | (hi << 32);
    }
    return events;
  }
  alignas(64) std::int16_t sums[256];
  for (int k = 0; k < 8; ++k) _mm512_store_si512(sums + 32 * k, acc[k]);
  for (int j = 0; j < 256; ++j) in[j] = sums[j];
  return events;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// The same with AVX2 (no mask registers): 16 sums of 16 bits per register,
// 128 neurons at a time in 8 registers. A crossbar row's 16 bits for 16
// neurons are broadcast and compared with one bit per lane, which gives the
// lanes to add the axon type's weight to.
__attribute__((target("avx2"))) std::int64_t integrate_avx2(const core_data& c, std::uint64_t* slot, std::int32_t* in) {
  std::uint16_t active[256];
  int n = 0;
  std::int64_t events = 0;
  for (int w = 0; w < 4; ++w) {
    for (std::uint64_t bits = slot[w]; bits; bits &= bits - 1) {
      const auto a = static_cast<std::uint16_t>(w * 64 + std::countr_zero(bits));
      events += c.row_synapses[a];
      if (!c.uniform || c.uniform_weight[c.axon_type[a]] != 0) active[n++] = a;
    }
    slot[w] = 0;
  }
  const __m256i lane_bit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
                                             static_cast<short>(0x8000));
  for (std::size_t half = 0; half < 2; ++half) {
    __m256i acc[8];
    for (auto& a : acc) a = _mm256_setzero_si256();
    for (int i = 0; i < n; ++i) {
      const std::size_t a = active[i];
      const auto g = c.axon_type[a];
      std::uint16_t row[8];
      std::memcpy(row, c.crossbar + a * 4 + half * 2, sizeof row);
      const std::int16_t* wt = c.weight16.data() + static_cast<std::size_t>(g) * 256 + half * 128;
      const __m256i uw = _mm256_set1_epi16(c.uniform_weight[g]);
      for (std::size_t k = 0; k < 8; ++k) {
        if (!row[k]) continue;
        const __m256i on = _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16(static_cast<short>(row[k])), lane_bit), lane_bit);
        const __m256i wv = c.uniform ? uw : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wt + 16 * k));
        acc[k] = _mm256_add_epi16(acc[k], _mm256_and_si256(on, wv));
      }
    }
    for (std::size_t k = 0; k < 8; ++k) {
      std::int32_t* o = in + half * 128 + 16 * k;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc[k])));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc[k], 1)));
    }
  }
  return events;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// Narrow cores (see core_data::narrow): 256 8-bit sums in 4 registers, each
// 64-bit crossbar word is directly the mask of one add. Returns the synaptic
// events; `fired` gets the 256-bit mask of neurons at or above threshold.
__attribute__((target("avx512f,avx512bw"))) std::int64_t integrate_narrow_avx512(const core_data& c, std::uint64_t* slot,
                                                                                std::uint64_t* fired) {
  __m512i acc[4];
  for (auto& a : acc) a = _mm512_setzero_si512();
  std::int64_t events = 0;
  std::uint64_t active[4];
  for (int w = 0; w < 4; ++w) active[w] = slot[w], slot[w] = 0;
  for (std::size_t g = 0; g < 4; ++g) {
    const bool zero = c.uniform_weight[g] == 0;  // synaptic events all the same
    const __m512i wv = _mm512_set1_epi8(static_cast<char>(c.uniform_weight[g]));
    for (int w = 0; w < 4; ++w) {
      std::uint64_t bits = active[w] & c.type_mask[g][static_cast<std::size_t>(w)];
      while (bits) {
        const auto a = static_cast<std::size_t>(w * 64 + std::countr_zero(bits));
        bits &= bits - 1;
        events += c.row_synapses[a];
        if (zero) continue;
        const std::uint64_t* row = c.crossbar + a * 4;
        for (int r = 0; r < 4; ++r) acc[r] = _mm512_mask_add_epi8(acc[r], _cvtu64_mask64(row[r]), acc[r], wv);
      }
    }
  }
  for (int r = 0; r < 4; ++r) fired[r] = _mm512_cmpge_epi8_mask(acc[r], _mm512_loadu_si512(c.threshold8.data() + 64 * r));
  return events;
}
#endif

// Leak, threshold and reset of deterministic neurons, branch-free so that the
// compiler vectorises it. Compiled three times (AVX-512, AVX2 and the baseline) and chosen
// at run time; not with target_clones, whose ifunc resolver runs before a
// sanitizer runtime is up.
__attribute__((always_inline)) inline void update_fast_neurons_body(
    int n, std::int32_t* __restrict v, const std::int32_t* __restrict in, const core_data& c, std::int32_t vmin,
    std::int32_t vmax, std::uint8_t* __restrict fired) {
  const std::int32_t* __restrict leak = c.leak.data();
  const std::int32_t* __restrict alpha = c.alpha.data();
  const std::int32_t* __restrict beta = c.beta.data();
  const std::int32_t* __restrict pa = c.pos_a.data();
  const std::int32_t* __restrict pb = c.pos_b.data();
  const std::int32_t* __restrict na = c.neg_a.data();
  const std::int32_t* __restrict nb = c.neg_b.data();
  for (int j = 0; j < n; ++j) {
    std::int32_t x = std::min(std::max(v[j] + in[j], vmin), vmax);
    x = std::min(std::max(x + leak[j], vmin), vmax);
    const bool f = x >= alpha[j];
    const bool ng = x < -beta[j];
    const std::int32_t p = pa[j] * x + pb[j];
    const std::int32_t q = na[j] * x + nb[j];
    x = f ? p : (ng ? q : x);
    v[j] = std::min(std::max(x, vmin), vmax);
    fired[j] = f;
  }
}

void update_fast_neurons(int n, std::int32_t* v, const std::int32_t* in, const core_data& c, std::int32_t vmin,
                         std::int32_t vmax, std::uint8_t* fired) {
  update_fast_neurons_body(n, v, in, c, vmin, vmax, fired);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) void update_fast_neurons_avx2(int n, std::int32_t* v, const std::int32_t* in,
                                                              const core_data& c, std::int32_t vmin, std::int32_t vmax,
                                                              std::uint8_t* fired) {
  update_fast_neurons_body(n, v, in, c, vmin, vmax, fired);
}

__attribute__((target("avx512f,avx512bw"))) void update_fast_neurons_avx512(int n, std::int32_t* v, const std::int32_t* in,
                                                                          const core_data& c, std::int32_t vmin,
                                                                          std::int32_t vmax, std::uint8_t* fired) {
  update_fast_neurons_body(n, v, in, c, vmin, vmax, fired);
}
#endif


}  // namespace nmc::runtime::tn
