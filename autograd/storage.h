// Storage: a block of bytes that tensors view (autograd/tensor.h). Freed blocks are cached by
// size class for reuse (autograd/storage.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace dl {

// Bytes held by all live Storage objects: leak tests assert it returns to its starting value.
int64_t live_storage_bytes();

// 64-byte aligned bytes, zero-initialised unless zero is false (the owner then writes every byte
// before reading any). Freed blocks are cached by size and reused (autograd/storage.cpp), so a
// training loop, which asks for the same sizes every step, stops paying for the system allocator
// and for page faults after its first step.
struct Storage {
  explicit Storage(std::size_t bytes, bool zero = true);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data;
  std::size_t bytes;
};

}  // namespace dl
