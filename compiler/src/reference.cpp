#include <nmc/model/reference.hpp>

#include <algorithm>
#include <bit>
#include <variant>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/model/verify.hpp>

#include "reference_batch.hpp"

namespace nmc::model {

namespace {

using word = std::uint64_t;

constexpr std::size_t words_for(std::size_t bits) { return (bits + 63) / 64; }

// Reads 64 bits starting at bit `off`; the array has one spare word at the end.
inline word read64(const word* src, std::size_t off) {
  const std::size_t w = off / 64, b = off % 64;
  word v = src[w] >> b;
  if (b) v |= src[w + 1] << (64 - b);
  return v;
}

// ORs n bits of src (from bit src_off) into dst (from bit dst_off).
inline void copy_bits(word* dst, std::size_t dst_off, const word* src, std::size_t src_off,
                      std::size_t n) {
  while (n > 0) {
    const std::size_t chunk = std::min<std::size_t>(n, 64);
    word v = read64(src, src_off);
    if (chunk < 64) v &= (word{1} << chunk) - 1;
    const std::size_t w = dst_off / 64, b = dst_off % 64;
    dst[w] |= v << b;
    if (b && b + chunk > 64) dst[w + 1] |= v >> (64 - b);
    n -= chunk, src_off += chunk, dst_off += chunk;
  }
}

inline void set_bit(word* dst, std::size_t i) { dst[i / 64] |= word{1} << (i % 64); }
inline bool get_bit(const word* src, std::size_t i) { return (src[i / 64] >> (i % 64)) & 1; }

inline std::size_t phys(const tensor_shape& s, int c, int y, int x) {
  return (static_cast<std::size_t>(y) * s.width + x) * s.channels + c;
}

// A neuron with trinary synapses over a patch of bits, sign folded in.
struct neuron_masks {
  std::size_t words = 0;
  std::vector<word> plus, minus;  // neuron n: [n * words, (n + 1) * words)
  std::vector<std::int32_t> threshold;

  void init(std::size_t neurons, std::size_t bits) {
    words = words_for(bits);
    plus.assign(neurons * words, 0);
    minus.assign(neurons * words, 0);
    threshold.assign(neurons, 0);
  }
  void set(std::size_t neuron, std::size_t bit, int weight) {
    if (weight == 0) return;
    auto& m = weight > 0 ? plus : minus;
    set_bit(m.data() + neuron * words, bit);
  }
  bool fires(std::size_t neuron, const word* patch) const {
    const word* p = plus.data() + neuron * words;
    const word* m = minus.data() + neuron * words;
    std::int32_t sum = 0;
    for (std::size_t w = 0; w < words; ++w) {
      sum += std::popcount(patch[w] & p[w]) - std::popcount(patch[w] & m[w]);
    }
    return sum >= threshold[neuron];
  }
};

struct encode_stage {
  int out;
  tensor_shape image;
  std::vector<int> thresholds;
};

struct conv_stage {
  int in, out;
  tensor_shape in_shape, out_shape;
  int kh, kw, sh, sw, ph, pw, groups, cin_g, cout_g;
  std::size_t patch_bits;
  neuron_masks neurons;  // one per output channel, over the patch [ky][kx][ci]
};

struct dense_stage {
  int in, out;
  std::size_t in_bits;
  neuron_masks neurons;  // over the input's physical bits
};

struct pool_stage {
  int in, out;
  tensor_shape in_shape, out_shape;
  int kh, kw, sh, sw, ph, pw, threshold;
};

struct permute_stage {  // flatten when the layout changes: out bit i <- in bit from[i]
  int in, out;
  std::vector<std::uint32_t> from;
};

struct concat_stage {
  int out;
  std::vector<std::pair<int, int>> parts;  // (buffer, channels)
  int pixels;
  int channels;
};

struct output_stage {
  int in;
  std::size_t in_bits;
  std::vector<std::vector<word>> class_masks;
};

}  // namespace

struct reference_net::stage {
  std::variant<encode_stage, conv_stage, dense_stage, pool_stage, permute_stage, concat_stage,
               output_stage>
      op;
};

reference_net::reference_net(const network& net) {
  network copy = net;  // verify() fills shapes; keep the caller's network untouched
  check(copy);
  const std::size_t n = copy.size();
  shapes_.resize(n);
  buffer_of_.assign(n, -1);
  for (std::size_t i = 0; i < n; ++i) shapes_[i] = copy.layers()[i].shape;
  auto new_buffer = [&](std::size_t layer_index) {
    buffer_of_[layer_index] = static_cast<int>(buffer_words_.size());
    buffer_words_.push_back(words_for(static_cast<std::size_t>(shapes_[layer_index].size())) + 1);
    return buffer_of_[layer_index];
  };

  for (layer_id id : copy.topological_order()) {
    const layer& l = copy[id];
    const std::size_t i = id.index();
    if (const auto* inp = std::get_if<input_op>(&l.op)) {
      pixels_ = static_cast<std::size_t>(inp->image.size());
      stages_.push_back(std::make_unique<stage>(
          stage{encode_stage{new_buffer(i), inp->image, inp->encoding.thresholds}}));
    } else if (l.is<conv2d_op>() || l.is<dense_op>()) {
      // Evaluated together with the threshold layer that consumes it.
    } else if (const auto* t = std::get_if<threshold_op>(&l.op)) {
      const layer& src = copy[l.inputs[0]];
      const layer& in = copy[src.inputs[0]];
      const int in_buf = buffer_of_[src.inputs[0].index()];
      const int out_buf = new_buffer(i);
      if (const auto* cv = std::get_if<conv2d_op>(&src.op)) {
        conv_stage s{in_buf, out_buf, in.shape, src.shape, cv->kernel_h, cv->kernel_w,
                     cv->stride_h, cv->stride_w, cv->pad_h, cv->pad_w, cv->groups,
                     in.shape.channels / cv->groups, cv->out_channels / cv->groups, 0, {}};
        s.patch_bits = static_cast<std::size_t>(s.kh) * s.kw * s.cin_g;
        s.neurons.init(static_cast<std::size_t>(cv->out_channels), s.patch_bits);
        std::size_t k = 0;  // PyTorch order [o][ci][ky][kx]
        for (int oc = 0; oc < cv->out_channels; ++oc) {
          const int sign = t->sign[oc];
          s.neurons.threshold[oc] = t->threshold[oc];
          for (int ci = 0; ci < s.cin_g; ++ci)
            for (int ky = 0; ky < s.kh; ++ky)
              for (int kx = 0; kx < s.kw; ++kx, ++k)
                s.neurons.set(oc, (static_cast<std::size_t>(ky) * s.kw + kx) * s.cin_g + ci,
                              sign * cv->weights[k]);
        }
        patch_words_ = std::max(patch_words_, s.neurons.words + 1);
        stages_.push_back(std::make_unique<stage>(stage{std::move(s)}));
      } else {
        const auto& d = src.as<dense_op>();
        dense_stage s{in_buf, out_buf, static_cast<std::size_t>(in.shape.size()), {}};
        s.neurons.init(static_cast<std::size_t>(d.out_features), s.in_bits);
        std::size_t k = 0;  // [o][flattened c, y, x]
        for (int o = 0; o < d.out_features; ++o) {
          const int sign = t->sign[o];
          s.neurons.threshold[o] = t->threshold[o];
          for (int c = 0; c < in.shape.channels; ++c)
            for (int y = 0; y < in.shape.height; ++y)
              for (int x = 0; x < in.shape.width; ++x, ++k)
                s.neurons.set(o, phys(in.shape, c, y, x), sign * d.weights[k]);
        }
        stages_.push_back(std::make_unique<stage>(stage{std::move(s)}));
      }
    } else if (const auto* p = std::get_if<pool_op>(&l.op)) {
      const auto& in = copy[l.inputs[0]];
      stages_.push_back(std::make_unique<stage>(
          stage{pool_stage{buffer_of_[l.inputs[0].index()], new_buffer(i), in.shape, l.shape,
                           p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->pad_h, p->pad_w,
                           p->threshold}}));
      scratch_size_ = std::max(scratch_size_, static_cast<std::size_t>(in.shape.channels));
      patch_words_ = std::max(patch_words_, words_for(in.shape.channels) + 1);
    } else if (l.is<flatten_op>()) {
      const auto& s = copy[l.inputs[0]].shape;
      if (s.channels == 1 || s.height * s.width == 1) {
        buffer_of_[i] = buffer_of_[l.inputs[0].index()];  // same bit order: share
      } else {
        permute_stage st{buffer_of_[l.inputs[0].index()], new_buffer(i), {}};
        st.from.reserve(static_cast<std::size_t>(s.size()));
        for (int c = 0; c < s.channels; ++c)
          for (int y = 0; y < s.height; ++y)
            for (int x = 0; x < s.width; ++x)
              st.from.push_back(static_cast<std::uint32_t>(phys(s, c, y, x)));
        stages_.push_back(std::make_unique<stage>(stage{std::move(st)}));
      }
    } else if (l.is<concat_op>()) {
      concat_stage st{new_buffer(i), {}, l.shape.height * l.shape.width, l.shape.channels};
      for (layer_id in : l.inputs)
        st.parts.emplace_back(buffer_of_[in.index()], copy[in].shape.channels);
      stages_.push_back(std::make_unique<stage>(stage{std::move(st)}));
    } else if (const auto* outp = std::get_if<output_op>(&l.op)) {
      const auto& in = copy[l.inputs[0]].shape;
      output_stage st{buffer_of_[l.inputs[0].index()], static_cast<std::size_t>(in.size()), {}};
      classes_ = outp->classes;
      st.class_masks.assign(static_cast<std::size_t>(outp->classes),
                            std::vector<word>(words_for(st.in_bits), 0));
      std::size_t k = 0;
      for (int c = 0; c < in.channels; ++c)
        for (int y = 0; y < in.height; ++y)
          for (int x = 0; x < in.width; ++x, ++k)
            if (outp->class_of[k] >= 0) set_bit(st.class_masks[outp->class_of[k]].data(), phys(in, c, y, x));
      stages_.push_back(std::make_unique<stage>(stage{std::move(st)}));
    }
  }
  batch_ = make_batch_plan(copy);
}

reference_net::~reference_net() = default;

workspace reference_net::make_workspace() const {
  workspace ws;
  ws.net_ = this;
  ws.buffers_.reserve(buffer_words_.size());
  for (std::size_t w : buffer_words_) ws.buffers_.emplace_back(w, 0);
  ws.patch_.assign(patch_words_ + 1, 0);
  ws.scratch_.assign(scratch_size_, 0);
  ws.counts_.assign(static_cast<std::size_t>(classes_), 0);
  return ws;
}

void reference_net::run(std::span<const std::uint8_t> pixels, workspace& ws) const {
  if (ws.net_ != this) throw internal_error("reference_net::run: workspace of another network");
  if (pixels.size() != pixels_) {
    throw data_error(fmt::format("frame has {} pixels, the network's input expects {}",
                                 pixels.size(), pixels_),
                     "the dataset's image size must match the input layer's shape");
  }
  auto buf = [&](int b) { return ws.buffers_[static_cast<std::size_t>(b)].data(); };
  auto clear = [&](int b) {
    auto& v = ws.buffers_[static_cast<std::size_t>(b)];
    std::fill(v.begin(), v.end(), 0);
  };
  word* patch = ws.patch_.data();

  for (const auto& st : stages_) {
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, encode_stage>) {
            clear(s.out);
            word* out = buf(s.out);
            const int levels = static_cast<int>(s.thresholds.size());
            const int channels = s.image.channels * levels;
            std::size_t p = 0;
            for (int c = 0; c < s.image.channels; ++c)
              for (int y = 0; y < s.image.height; ++y)
                for (int x = 0; x < s.image.width; ++x, ++p) {
                  const std::size_t base =
                      (static_cast<std::size_t>(y) * s.image.width + x) * channels +
                      static_cast<std::size_t>(c) * levels;
                  for (int k = 0; k < levels && pixels[p] >= s.thresholds[k]; ++k)
                    set_bit(out, base + k);
                }
          } else if constexpr (std::is_same_v<T, conv_stage>) {
            clear(s.out);
            const word* in = buf(s.in);
            word* out = buf(s.out);
            const std::size_t pw_words = s.neurons.words;
            const std::size_t cin = static_cast<std::size_t>(s.in_shape.channels);
            for (int oy = 0; oy < s.out_shape.height; ++oy) {
              for (int ox = 0; ox < s.out_shape.width; ++ox) {
                const std::size_t out_base = phys(s.out_shape, 0, oy, ox);
                for (int g = 0; g < s.groups; ++g) {
                  std::fill(patch, patch + pw_words + 1, 0);
                  for (int ky = 0; ky < s.kh; ++ky) {
                    const int iy = oy * s.sh - s.ph + ky;
                    if (iy < 0 || iy >= s.in_shape.height) continue;
                    const int ix0 = ox * s.sw - s.pw;
                    const int kx0 = std::max(0, -ix0);
                    const int kx1 = std::min(s.kw, s.in_shape.width - ix0);
                    if (kx0 >= kx1) continue;
                    const std::size_t dst = (static_cast<std::size_t>(ky) * s.kw + kx0) * s.cin_g;
                    if (s.groups == 1) {  // the in-bounds part of the kernel row is contiguous
                      copy_bits(patch, dst, in, phys(s.in_shape, 0, iy, ix0 + kx0),
                                static_cast<std::size_t>(kx1 - kx0) * cin);
                    } else {
                      for (int kx = kx0; kx < kx1; ++kx)
                        copy_bits(patch, dst + static_cast<std::size_t>(kx - kx0) * s.cin_g, in,
                                  phys(s.in_shape, g * s.cin_g, iy, ix0 + kx),
                                  static_cast<std::size_t>(s.cin_g));
                    }
                  }
                  for (int o = g * s.cout_g; o < (g + 1) * s.cout_g; ++o)
                    if (s.neurons.fires(static_cast<std::size_t>(o), patch))
                      set_bit(out, out_base + o);
                }
              }
            }
          } else if constexpr (std::is_same_v<T, dense_stage>) {
            clear(s.out);
            const word* in = buf(s.in);
            word* out = buf(s.out);
            const std::size_t n = s.neurons.threshold.size();
            for (std::size_t o = 0; o < n; ++o)
              if (s.neurons.fires(o, in)) set_bit(out, o);
          } else if constexpr (std::is_same_v<T, pool_stage>) {
            clear(s.out);
            const word* in = buf(s.in);
            word* out = buf(s.out);
            const auto c = static_cast<std::size_t>(s.in_shape.channels);
            std::int32_t* counts = ws.scratch_.data();
            for (int oy = 0; oy < s.out_shape.height; ++oy)
              for (int ox = 0; ox < s.out_shape.width; ++ox) {
                const std::size_t out_base = phys(s.out_shape, 0, oy, ox);
                if (s.threshold == 1) {  // max pool: OR of the window
                  std::fill(patch, patch + words_for(c) + 1, 0);
                  for (int ky = 0; ky < s.kh; ++ky)
                    for (int kx = 0; kx < s.kw; ++kx) {
                      const int iy = oy * s.sh - s.ph + ky, ix = ox * s.sw - s.pw + kx;
                      if (iy < 0 || ix < 0 || iy >= s.in_shape.height || ix >= s.in_shape.width)
                        continue;
                      copy_bits(patch, 0, in, phys(s.in_shape, 0, iy, ix), c);
                    }
                  copy_bits(out, out_base, patch, 0, c);
                } else {  // count the ones per channel
                  std::fill(counts, counts + c, 0);
                  for (int ky = 0; ky < s.kh; ++ky)
                    for (int kx = 0; kx < s.kw; ++kx) {
                      const int iy = oy * s.sh - s.ph + ky, ix = ox * s.sw - s.pw + kx;
                      if (iy < 0 || ix < 0 || iy >= s.in_shape.height || ix >= s.in_shape.width)
                        continue;
                      const std::size_t base = phys(s.in_shape, 0, iy, ix);
                      for (std::size_t ch = 0; ch < c; ++ch) counts[ch] += get_bit(in, base + ch);
                    }
                  for (std::size_t ch = 0; ch < c; ++ch)
                    if (counts[ch] >= s.threshold) set_bit(out, out_base + ch);
                }
              }
          } else if constexpr (std::is_same_v<T, permute_stage>) {
            clear(s.out);
            const word* in = buf(s.in);
            word* out = buf(s.out);
            for (std::size_t i = 0; i < s.from.size(); ++i)
              if (get_bit(in, s.from[i])) set_bit(out, i);
          } else if constexpr (std::is_same_v<T, concat_stage>) {
            clear(s.out);
            word* out = buf(s.out);
            std::size_t offset = 0;
            for (const auto& [b, ch] : s.parts) {
              const word* in = buf(b);
              for (int px = 0; px < s.pixels; ++px)
                copy_bits(out, static_cast<std::size_t>(px) * s.channels + offset, in,
                          static_cast<std::size_t>(px) * ch, static_cast<std::size_t>(ch));
              offset += static_cast<std::size_t>(ch);
            }
          } else if constexpr (std::is_same_v<T, output_stage>) {
            const word* in = buf(s.in);
            const std::size_t words = words_for(s.in_bits);
            for (std::size_t k = 0; k < s.class_masks.size(); ++k) {
              std::int32_t n = 0;
              const word* m = s.class_masks[k].data();
              for (std::size_t w = 0; w < words; ++w) n += std::popcount(in[w] & m[w]);
              ws.counts_[k] = n;
            }
          }
        },
        st->op);
  }
}

int predicted_class(std::span<const std::int32_t> counts) {
  // std::max_element returns the first maximum: ties go to the lowest class.
  return static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

int workspace::predicted() const { return predicted_class(counts_); }

bool workspace::bit(layer_id id, int c, int y, int x) const {
  if (!net_ || id.index() >= net_->buffer_of_.size() || net_->buffer_of_[id.index()] < 0) {
    throw internal_error(fmt::format("workspace::bit: layer #{} has no binary activations", id));
  }
  const auto& s = net_->shapes_[id.index()];
  if (c < 0 || y < 0 || x < 0 || c >= s.channels || y >= s.height || x >= s.width) {
    throw internal_error(fmt::format("workspace::bit: ({}, {}, {}) outside {}x{}x{}", c, y, x,
                                     s.channels, s.height, s.width));
  }
  return get_bit(buffers_[static_cast<std::size_t>(net_->buffer_of_[id.index()])].data(),
                 phys(s, c, y, x));
}

std::vector<std::uint8_t> workspace::activations(layer_id id) const {
  const auto& s = net_->shapes_.at(id.index());
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(s.size()));
  for (int c = 0; c < s.channels; ++c)
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x) out.push_back(bit(id, c, y, x) ? 1 : 0);
  return out;
}

}  // namespace nmc::model
