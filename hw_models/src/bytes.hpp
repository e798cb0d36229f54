#pragma once
// Little-endian byte writer/reader for program files. The reader checks every
// read against the end of the buffer, so corrupt input is an error, not a crash.

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::hw::detail {

class byte_writer {
public:
  template <class T> void put(T v) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T> || std::is_floating_point_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // x86-64 and aarch64 are little-endian
    out_.append(b, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    out_ += s;
  }
  template <class T> void put_vector(const std::vector<T>& v) {
    put<std::uint64_t>(v.size());
    if constexpr (std::is_trivially_copyable_v<T> && (std::is_integral_v<T> || std::is_enum_v<T>)) {
      out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    } else {
      for (const auto& x : v) put(x);
    }
  }
  std::string& bytes() { return out_; }

private:
  std::string out_;
};

class byte_reader {
public:
  // `bytes` must outlive the reader (it reads them in place).
  byte_reader(std::string_view bytes, std::string source)
      : data_(bytes), source_(std::move(source)) {}

  template <class T> T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <class T> std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    if (n > (data_.size() - pos_) / sizeof(T)) truncated(n * sizeof(T));
    std::vector<T> v(n);
    // An empty vector's data() may be null, which memcpy must not get even
    // for 0 bytes (UBSan: nonnull; found by fuzz_program).
    if (n > 0) std::memcpy(v.data(), data_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  bool at_end() const { return pos_ == data_.size(); }
  std::size_t position() const { return pos_; }

private:
  std::string_view data_;
  std::string source_;
  std::size_t pos_ = 0;

  void need(std::uint64_t n) {
    if (n > data_.size() - pos_) truncated(n);
  }
  [[noreturn]] void truncated(std::uint64_t n) {
    throw model_error(fmt::format("{}: corrupt program: a field of {} bytes at offset {} runs past "
                                  "the end ({} bytes)",
                                  source_, n, pos_, data_.size()),
                      "recompile the model with 'nmc compile'");
  }
};

// The product of the fields of a program that multiply (image channels x
// thermometer levels x height x width), or `cap` + 1 if it exceeds `cap`:
// forged factors cannot wrap around to a small number.
inline std::uint64_t capped_product(std::initializer_list<std::uint64_t> factors, std::uint64_t cap) {
  std::uint64_t product = 1;
  for (const auto f : factors) {
    if (f == 0) return 0;
    product = product > cap / f ? cap + 1 : product * f;
  }
  return product > cap ? cap + 1 : product;
}

}  // namespace nmc::hw::detail
