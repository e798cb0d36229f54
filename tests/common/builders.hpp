#pragma once
// Builders for small networks in tests, and a deliberately naive forward pass
// (plain integer loops over (c, y, x) arrays) to check the bit-packed reference.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nmc/model/network.hpp>
#include <nmc/model/verify.hpp>

namespace nmc::test {

using namespace nmc::model;

// A sequential network under construction: every add_* reads the last layer.
struct builder {
  network net;
  std::optional<layer_id> last;

  layer_id add(std::string name, layer_op op, std::vector<layer_id> inputs = {}) {
    if (inputs.empty() && last && !std::holds_alternative<input_op>(op)) inputs = {*last};
    layer l;
    l.name = std::move(name);
    l.inputs = std::move(inputs);
    l.op = std::move(op);
    last = net.add(std::move(l));
    return *last;
  }
  layer_id input(int c, int h, int w, std::vector<int> levels = {128}) {
    return add("in", input_op{{c, h, w}, {std::move(levels)}});
  }
  layer_id conv(std::string name, int out, int k, int stride, int pad, int groups,
                std::vector<std::int8_t> weights) {
    conv2d_op o;
    o.out_channels = out;
    o.kernel_h = o.kernel_w = k;
    o.stride_h = o.stride_w = stride;
    o.pad_h = o.pad_w = pad;
    o.groups = groups;
    o.weights = std::move(weights);
    return add(std::move(name), o);
  }
  layer_id dense(std::string name, int out, std::vector<std::int8_t> weights) {
    return add(std::move(name), dense_op{out, std::move(weights)});
  }
  layer_id threshold(std::string name, std::vector<std::int32_t> t, std::vector<std::int8_t> sign = {}) {
    if (sign.empty()) sign.assign(t.size(), 1);
    return add(std::move(name), threshold_op{std::move(t), std::move(sign)});
  }
  layer_id pool(std::string name, pool_kind kind, int k, int stride, int pad, int threshold) {
    return add(std::move(name), pool_op{kind, k, k, stride, stride, pad, pad, threshold});
  }
  layer_id flatten(std::string name) { return add(std::move(name), flatten_op{}); }
  layer_id output(int classes, std::vector<std::int32_t> class_of) {
    return add("out", output_op{classes, std::move(class_of)});
  }
  network done() {
    check(net);
    return net;
  }
};

// Contiguous populations: neuron i votes for class i / (n / classes).
inline std::vector<std::int32_t> populations(int neurons, int classes) {
  std::vector<std::int32_t> v;
  for (int i = 0; i < neurons; ++i) v.push_back(i / (neurons / classes));
  return v;
}

// A random Eedn network: 1-3 conv layers (random kernel, stride, padding,
// groups, thresholds, signs), random max/average pools, sometimes a concat of
// two branches, then a dense layer read out by class populations. Every conv
// and dense neuron sums at most `max_fan_in` inputs.
inline network random_network(std::mt19937& rng, int max_fan_in) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    builder b;
    const int c0 = pick(1, 2), h = pick(5, 12), w = pick(5, 12);
    std::vector<int> levels;
    for (int t = 1, n = pick(1, 3); t <= n; ++t) levels.push_back(t * 255 / (n + 1));
    b.input(c0, h, w, levels);
    int channels = c0 * static_cast<int>(levels.size());
    int hh = h, ww = w;
    bool ok = true;
    const int convs = pick(1, 3);
    for (int layer = 0; layer < convs; ++layer) {
      const int k = pick(1, 3), stride = pick(1, 2), pad = pick(0, k - 1);
      std::vector<int> divisors;
      for (int g = 1; g <= channels; ++g)
        if (channels % g == 0 && k * k * channels / g <= max_fan_in) divisors.push_back(g);
      if (divisors.empty() || hh + 2 * pad < k || ww + 2 * pad < k) break;
      const int groups = divisors[static_cast<std::size_t>(pick(0, static_cast<int>(divisors.size()) - 1))];
      const int out = groups * pick(1, 3);
      std::vector<std::int8_t> wts(static_cast<std::size_t>(out * (channels / groups) * k * k));
      for (auto& v : wts) v = static_cast<std::int8_t>(pick(-1, 1));
      const auto before = *b.last;
      b.conv("c" + std::to_string(layer), out, k, stride, pad, groups, wts);
      const int fan = k * k * channels / groups;
      std::vector<std::int32_t> thr;
      std::vector<std::int8_t> sign;
      for (int o = 0; o < out; ++o) thr.push_back(pick(-std::min(fan, 2), std::min(fan, 3))), sign.push_back(pick(0, 3) ? 1 : -1);
      b.threshold("a" + std::to_string(layer), thr, sign);
      hh = (hh + 2 * pad - k) / stride + 1;
      ww = (ww + 2 * pad - k) / stride + 1;
      channels = out;
      if (pick(0, 3) == 0 && stride == 1 && pad * 2 == k - 1) {
        // A second branch from the same input: a 1x1 pool of it, concatenated.
        const auto branch = b.add("br" + std::to_string(layer), pool_op{pool_kind::max, 1, 1, 1, 1, 0, 0, 1}, {before});
        verify(b.net);
        if (b.net[branch].shape.height == hh && b.net[branch].shape.width == ww) {
          const auto main = layer_id(static_cast<std::uint32_t>(b.net.size() - 2));
          b.add("cat" + std::to_string(layer), concat_op{}, {main, branch});
          channels += b.net[branch].shape.channels;
        } else {
          ok = false;
        }
      }
      if (pick(0, 2) == 0 && hh >= 2 && ww >= 2) {
        const bool avg = pick(0, 1);
        b.pool("p" + std::to_string(layer), avg ? pool_kind::average : pool_kind::max, 2, pick(1, 2), pick(0, 1),
               avg ? pick(1, 4) : 1);
        verify(b.net);  // fills the pool's shape; the network is not complete yet
        hh = b.net[*b.last].shape.height;
        ww = b.net[*b.last].shape.width;
      }
    }
    const int n = channels * hh * ww;
    if (!ok || n > max_fan_in) continue;
    b.flatten("flat");
    const int classes = pick(2, 4), per = pick(1, 3);
    std::vector<std::int8_t> wts(static_cast<std::size_t>(classes * per * n));
    for (auto& v : wts) v = static_cast<std::int8_t>(pick(-1, 1));
    b.dense("fc", classes * per, wts);
    std::vector<std::int32_t> thr(static_cast<std::size_t>(classes * per));
    for (auto& t : thr) t = pick(-1, 2);
    b.threshold("fa", thr);
    b.output(classes, populations(classes * per, classes));
    return b.done();
  }
}

// Naive forward pass: every tensor as int values in (c, y, x) order.
struct naive_result {
  std::vector<std::vector<int>> values;  // per layer
  std::vector<int> counts;
};

inline naive_result naive_forward(const network& net, const std::vector<std::uint8_t>& pixels) {
  naive_result r;
  r.values.resize(net.size());
  for (layer_id id : net.topological_order()) {
    const layer& l = net[id];
    auto& out = r.values[id.index()];
    out.assign(static_cast<std::size_t>(l.shape.size()), 0);
    auto at = [](const tensor_shape& s, int c, int y, int x) {
      return (static_cast<std::size_t>(c) * s.height + y) * s.width + x;
    };
    if (const auto* o = std::get_if<input_op>(&l.op)) {
      const int levels = static_cast<int>(o->encoding.thresholds.size());
      for (int c = 0; c < o->image.channels; ++c)
        for (int y = 0; y < o->image.height; ++y)
          for (int x = 0; x < o->image.width; ++x)
            for (int k = 0; k < levels; ++k)
              out[at(l.shape, c * levels + k, y, x)] =
                  pixels[at(o->image, c, y, x)] >= o->encoding.thresholds[k];
      continue;
    }
    const layer& in = net[l.inputs.at(0)];
    const auto& iv = r.values[l.inputs[0].index()];
    if (const auto* o = std::get_if<conv2d_op>(&l.op)) {
      const int cin_g = in.shape.channels / o->groups, cout_g = o->out_channels / o->groups;
      for (int oc = 0; oc < o->out_channels; ++oc)
        for (int oy = 0; oy < l.shape.height; ++oy)
          for (int ox = 0; ox < l.shape.width; ++ox) {
            int sum = 0;
            const int g = oc / cout_g;
            for (int ci = 0; ci < cin_g; ++ci)
              for (int ky = 0; ky < o->kernel_h; ++ky)
                for (int kx = 0; kx < o->kernel_w; ++kx) {
                  const int iy = oy * o->stride_h - o->pad_h + ky;
                  const int ix = ox * o->stride_w - o->pad_w + kx;
                  if (iy < 0 || ix < 0 || iy >= in.shape.height || ix >= in.shape.width) continue;
                  const auto w = o->weights[((static_cast<std::size_t>(oc) * cin_g + ci) * o->kernel_h + ky) *
                                                o->kernel_w + kx];
                  sum += w * iv[at(in.shape, g * cin_g + ci, iy, ix)];
                }
            out[at(l.shape, oc, oy, ox)] = sum;
          }
    } else if (const auto* d = std::get_if<dense_op>(&l.op)) {
      const auto n = iv.size();
      for (int f = 0; f < d->out_features; ++f) {
        int sum = 0;
        for (std::size_t i = 0; i < n; ++i) sum += d->weights[static_cast<std::size_t>(f) * n + i] * iv[i];
        out[static_cast<std::size_t>(f)] = sum;
      }
    } else if (const auto* t = std::get_if<threshold_op>(&l.op)) {
      for (int c = 0; c < l.shape.channels; ++c)
        for (int y = 0; y < l.shape.height; ++y)
          for (int x = 0; x < l.shape.width; ++x)
            out[at(l.shape, c, y, x)] = t->sign[c] * iv[at(l.shape, c, y, x)] >= t->threshold[c];
    } else if (const auto* p = std::get_if<pool_op>(&l.op)) {
      for (int c = 0; c < l.shape.channels; ++c)
        for (int oy = 0; oy < l.shape.height; ++oy)
          for (int ox = 0; ox < l.shape.width; ++ox) {
            int n = 0;
            for (int ky = 0; ky < p->kernel_h; ++ky)
              for (int kx = 0; kx < p->kernel_w; ++kx) {
                const int iy = oy * p->stride_h - p->pad_h + ky, ix = ox * p->stride_w - p->pad_w + kx;
                if (iy < 0 || ix < 0 || iy >= in.shape.height || ix >= in.shape.width) continue;
                n += iv[at(in.shape, c, iy, ix)];
              }
            out[at(l.shape, c, oy, ox)] = n >= p->threshold;
          }
    } else if (l.is<flatten_op>()) {
      out = iv;
    } else if (l.is<concat_op>()) {
      out.clear();
      for (auto src : l.inputs) {
        const auto& v = r.values[src.index()];
        out.insert(out.end(), v.begin(), v.end());  // channel-major: concat = append
      }
    } else if (const auto* outp = std::get_if<output_op>(&l.op)) {
      r.counts.assign(static_cast<std::size_t>(outp->classes), 0);
      for (std::size_t i = 0; i < iv.size(); ++i)
        if (outp->class_of[i] >= 0) r.counts[static_cast<std::size_t>(outp->class_of[i])] += iv[i];
      out = r.counts;
    }
  }
  return r;
}

}  // namespace nmc::test
