#include <nmc/hw/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::hw {

namespace {
tn_program empty_program(const truenorth_target& target, const std::string& target_text, int cores, const char* layer) {
  if (cores < 1 || cores > target.cores_per_chip()) {
    throw usage_error(fmt::format("synthetic program: {} cores, one chip has {}", cores, target.cores_per_chip()));
  }
  tn_program p;
  p.target_text = target_text;
  p.target = target;
  p.model_name = layer;
  p.layers = {layer};
  p.input_offsets = {0};
  p.classes = 1;
  p.output_class = {0};
  p.cores.resize(static_cast<std::size_t>(cores));
  for (int i = 0; i < cores; ++i) {
    auto& c = p.cores[static_cast<std::size_t>(i)];
    c.x = static_cast<std::uint32_t>(i % target.cores_x);
    c.y = static_cast<std::uint32_t>(i / target.cores_x);
    c.seed = static_cast<std::uint32_t>(0x9e3779b9u * static_cast<std::uint32_t>(i + 1));
    c.axon_type.assign(static_cast<std::size_t>(target.axons), 0);
    c.crossbar.assign(static_cast<std::size_t>(target.axons) * static_cast<std::size_t>(target.neurons / 64), 0);
    c.neurons.assign(static_cast<std::size_t>(target.neurons), tn_neuron{});
  }
  return p;
}
// The parameters balanced_chip and balanced_board take.
void check_balanced(const char* name, double density, int threshold, int max_delay, int radius) {
  if (threshold < 1 || max_delay < 1 || max_delay > 15 || radius < 0 || !(density >= 0.0 && density <= 1.0)) {
    throw usage_error(fmt::format("{}: threshold {} (>= 1), max delay {} (1..15), radius {} (>= 0), density {} (0..1)",
                                  name, threshold, max_delay, radius, density));
  }
}

// A neuron of the balanced network: weights +1, +2, -1, -2 by axon type,
// leak +1 towards `threshold`, floored at 0 (beta 0, kappa 1).
void balanced_neuron(tn_neuron& nr, int threshold, int v0) {
  nr.weight = {1, 2, -1, -2};
  nr.threshold = threshold;
  nr.leak = 1;
  nr.neg_threshold = 0;
  nr.kappa = 1;
  nr.initial_potential = v0;
}

}  // namespace

tn_program periodic_chip(const truenorth_target& target, const std::string& target_text, int cores, double rate_hz,
                         int synapses_per_neuron) {
  tn_program p = empty_program(target, target_text, cores, "periodic");
  const int n = target.neurons, a = target.axons, row_words = n / 64;
  const double period = 1000.0 / (rate_hz * target.tick_period_ms);
  const int lo = static_cast<int>(std::floor(period));
  // Fraction of neurons with period lo such that the mean rate is rate_hz.
  const double hi_rate = 1.0 / (lo + 1), lo_rate = 1.0 / lo, want = 1.0 / period;
  const double frac_lo = lo_rate == hi_rate ? 1.0 : (want - hi_rate) / (lo_rate - hi_rate);
  for (auto& c : p.cores) {
    for (int j = 0; j < n; ++j) {
      auto& nr = c.neurons[static_cast<std::size_t>(j)];
      const int per = (j + 0.5) / n < frac_lo ? lo : lo + 1;
      nr.weight = {0, 0, 0, 0};
      nr.threshold = per;
      nr.leak = 1;
      nr.initial_potential = j % per;
      nr.dest = dest_kind::core;
      nr.dest_core = static_cast<std::uint32_t>(&c - p.cores.data());
      nr.dest_axon = static_cast<std::uint16_t>(j % a);
      nr.delay_ticks = 1;
    }
    // Axon i reaches neurons i, i+1, ..., i+synapses-1 (mod n): every neuron
    // has `synapses_per_neuron` synapses and every row as many.
    for (int i = 0; i < a; ++i)
      for (int k = 0; k < synapses_per_neuron; ++k) {
        const int j = (i + k) % n;
        c.crossbar[static_cast<std::size_t>(i * row_words + j / 64)] |= std::uint64_t{1} << (j % 64);
      }
  }
  return p;
}

tn_program random_chip(const truenorth_target& target, const std::string& target_text, int cores, double density,
                       int threshold, int radius, std::uint64_t seed) {
  tn_program p = empty_program(target, target_text, cores, "random");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::uniform_int_distribution<int> type(0, 3), axon(0, target.axons - 1), off(-radius, radius);
  const int n = target.neurons, row_words = n / 64;
  for (auto& c : p.cores) {
    for (auto& t : c.axon_type) t = static_cast<std::uint8_t>(type(rng));
    for (int i = 0; i < target.axons; ++i)
      for (int j = 0; j < n; ++j)
        if (u01(rng) < density) c.crossbar[static_cast<std::size_t>(i * row_words + j / 64)] |= std::uint64_t{1} << (j % 64);
    for (auto& nr : c.neurons) {
      nr.weight = {1, 1, 1, -1};  // three excitatory types, one inhibitory
      nr.threshold = threshold;
      nr.leak = 0;
      nr.neg_threshold = 0;
      nr.kappa = 1;
      // A destination within `radius` cores (clipped to the used cores).
      const int x = static_cast<int>(c.x) + off(rng), y = static_cast<int>(c.y) + off(rng);
      const int cx = std::clamp(x, 0, target.cores_x - 1), cy = std::clamp(y, 0, target.cores_y - 1);
      const int dest = std::min(cy * target.cores_x + cx, cores - 1);
      nr.dest = dest_kind::core;
      nr.dest_core = static_cast<std::uint32_t>(dest);
      nr.dest_axon = static_cast<std::uint16_t>(axon(rng));
      nr.delay_ticks = 1;
    }
  }
  return p;
}

tn_program balanced_chip(const truenorth_target& target, const std::string& target_text, int cores, double density,
                         int threshold, int max_delay, int radius, std::uint64_t seed) {
  check_balanced("balanced_chip", density, threshold, max_delay, radius);
  tn_program p = empty_program(target, target_text, cores, "balanced");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::uniform_int_distribution<int> type(0, 3), off(-radius, radius), delay(1, max_delay), v0(0, threshold - 1);
  const int n = target.neurons, a = target.axons, row_words = n / 64;
  // One axon permutation and one offset per neuron index, shared by all
  // cores: (c, j) -> ((c + offset_j) mod cores, sigma(j)) is then a bijection
  // as long as there are no more neurons than axons.
  std::vector<int> sigma(static_cast<std::size_t>(a));
  for (int i = 0; i < a; ++i) sigma[static_cast<std::size_t>(i)] = i;
  std::shuffle(sigma.begin(), sigma.end(), rng);
  std::vector<int> offset(static_cast<std::size_t>(n));
  for (auto& o : offset) {
    const int dx = off(rng), dy = off(rng);
    o = ((dy * target.cores_x + dx) % cores + cores) % cores;
  }
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    auto& c = p.cores[ci];
    for (auto& t : c.axon_type) t = static_cast<std::uint8_t>(type(rng));
    for (int i = 0; i < a; ++i)
      for (int j = 0; j < n; ++j)
        if (u01(rng) < density) c.crossbar[static_cast<std::size_t>(i * row_words + j / 64)] |= std::uint64_t{1} << (j % 64);
    for (int j = 0; j < n; ++j) {
      auto& nr = c.neurons[static_cast<std::size_t>(j)];
      balanced_neuron(nr, threshold, v0(rng));
      if (j >= a) continue;  // more neurons than axons: the rest stay silent
      nr.dest = dest_kind::core;
      nr.dest_core = static_cast<std::uint32_t>((static_cast<int>(ci) + offset[static_cast<std::size_t>(j)]) % cores);
      nr.dest_axon = static_cast<std::uint16_t>(sigma[static_cast<std::size_t>(j)]);
      nr.delay_ticks = static_cast<std::uint8_t>(delay(rng));
    }
  }
  return p;
}

tn_program balanced_board(const truenorth_target& target, const std::string& target_text, int chips_x, int chips_y,
                          double density, int threshold, int max_delay, int radius, std::uint64_t seed) {
  if (chips_x < 1 || chips_y < 1 || chips_x * chips_y > 1024) {
    throw usage_error(fmt::format("balanced_board: {} x {} chips (1 to 1024 chips)", chips_x, chips_y));
  }
  check_balanced("balanced_board", density, threshold, max_delay, radius);
  const int per_chip = target.cores_per_chip();
  // One full chip with balanced_chip's parameters, its cores then placed and
  // rewired on the board.
  tn_program p = empty_program(target, target_text, 1, "balanced");
  const tn_core blank = p.cores[0];
  const int chips = chips_x * chips_y, w = chips_x * target.cores_x, h = chips_y * target.cores_y;
  p.chips = static_cast<std::uint32_t>(chips);
  p.chips_x = static_cast<std::uint32_t>(chips_x);
  p.chips_y = static_cast<std::uint32_t>(chips_y);
  p.cores.assign(static_cast<std::size_t>(chips) * static_cast<std::size_t>(per_chip), blank);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> type(0, 3), off(-radius, radius), delay(1, max_delay), v0(0, threshold - 1);
  const int n = target.neurons, a = target.axons;
  std::vector<int> sigma(static_cast<std::size_t>(a));
  for (int i = 0; i < a; ++i) sigma[static_cast<std::size_t>(i)] = i;
  std::shuffle(sigma.begin(), sigma.end(), rng);
  std::vector<std::pair<int, int>> offset(static_cast<std::size_t>(n));
  for (auto& o : offset) o = {off(rng), off(rng)};
  // Crossbar bits: four 16-bit draws per 64-bit number (splitmix64).
  const auto cut = static_cast<std::uint64_t>(density * 65536.0 + 0.5);
  std::uint64_t state = seed ^ 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  auto index = [&](int gx, int gy) {
    const int chip = gy / target.cores_y * chips_x + gx / target.cores_x;
    return static_cast<std::size_t>(chip) * static_cast<std::size_t>(per_chip) +
           static_cast<std::size_t>(gy % target.cores_y * target.cores_x + gx % target.cores_x);
  };
  for (int gy = 0; gy < h; ++gy)
    for (int gx = 0; gx < w; ++gx) {
      const std::size_t ci = index(gx, gy);
      auto& c = p.cores[ci];
      c.chip = static_cast<std::uint32_t>(gy / target.cores_y * chips_x + gx / target.cores_x);
      c.x = static_cast<std::uint32_t>(gx % target.cores_x);
      c.y = static_cast<std::uint32_t>(gy % target.cores_y);
      c.seed = static_cast<std::uint32_t>(0x9e3779b9u * static_cast<std::uint32_t>(ci + 1));
      for (auto& t : c.axon_type) t = static_cast<std::uint8_t>(type(rng));
      for (auto& word : c.crossbar) {
        word = 0;
        for (int q = 0; q < 16; ++q) {
          const std::uint64_t r = next();
          for (int k = 0; k < 4; ++k)
            if (((r >> (16 * k)) & 0xffff) < cut) word |= std::uint64_t{1} << (q * 4 + k);
        }
      }
      for (int j = 0; j < n; ++j) {
        auto& nr = c.neurons[static_cast<std::size_t>(j)];
        balanced_neuron(nr, threshold, v0(rng));
        if (j >= a) continue;
        const auto [dx, dy] = offset[static_cast<std::size_t>(j)];
        nr.dest = dest_kind::core;
        nr.dest_core = static_cast<std::uint32_t>(index(((gx + dx) % w + w) % w, ((gy + dy) % h + h) % h));
        nr.dest_axon = static_cast<std::uint16_t>(sigma[static_cast<std::size_t>(j)]);
        nr.delay_ticks = static_cast<std::uint8_t>(delay(rng));
      }
    }
  return p;
}

}  // namespace nmc::hw
