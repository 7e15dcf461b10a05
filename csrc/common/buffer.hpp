// An owning array for large scratch/accumulation buffers.
//
// Buffers of 4 MiB and more are 2 MiB-aligned and advised to use transparent huge pages
// (MADV_HUGEPAGE), as numpy does for its arrays: on a VM, first-touch page faults on 4 KiB pages
// otherwise cost more than the work done on the buffer.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace imgen {

template <class T>
class LargeBuffer {
 public:
  LargeBuffer() = default;
  // `count` elements, set to zero when `zero` is true (otherwise uninitialised).
  explicit LargeBuffer(size_t count, bool zero = true) : size_(count) {
    if (count == 0) return;
    const size_t bytes = count * sizeof(T);
    constexpr size_t huge = size_t{2} << 20;
    void* p;
    if (bytes >= 2 * huge) {
      p = std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (p) madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
    } else {
      p = std::malloc(bytes);
    }
    if (!p) throw std::bad_alloc();
    data_.reset(static_cast<T*>(p));
    if (zero) std::memset(p, 0, bytes);
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
  size_t size_ = 0;
};

}  // namespace imgen
