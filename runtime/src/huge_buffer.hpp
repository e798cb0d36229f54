#pragma once
// A zeroed array for the simulator's large per-core tables, aligned to 2 MiB
// and advised to use transparent huge pages: the tick loop touches a few rows
// of thousands of cores' crossbars, and with 4 KiB pages most of those touches
// would also miss the TLB.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>

namespace nmc::runtime {

template <class T>
class huge_buffer {
public:
  huge_buffer() = default;
  explicit huge_buffer(std::size_t n) : size_(n) {
    constexpr std::size_t huge = std::size_t{2} << 20;
    const std::size_t bytes = std::max<std::size_t>((n * sizeof(T) + huge - 1) / huge * huge, huge);
    void* p = std::aligned_alloc(huge, bytes);
    if (!p) throw std::bad_alloc();
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it, ordinary pages
    std::memset(p, 0, bytes);
    data_.reset(static_cast<T*>(p));
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](std::size_t i) { return data_.get()[i]; }
  std::size_t size() const { return size_; }

private:
  struct free_deleter {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, free_deleter> data_;
  std::size_t size_ = 0;
};

}  // namespace nmc::runtime
