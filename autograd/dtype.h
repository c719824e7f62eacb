// Element types. Training runs in float32, gradient checks in float64; int32 holds indices
// (token ids, class targets) and bool holds masks (true = masked out).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include "autograd/error.h"

namespace dl {

enum class DType { F32, F64, I32, Bool };

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::Bool: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
    case DType::Bool: return "bool";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }

// Calls f(T{}) with T = float or double matching dt, so a kernel is written once as a template:
//   dispatch_float(x.dtype(), "exp", [&](auto zero) { using T = decltype(zero); ... });
template <class F>
decltype(auto) dispatch_float(DType dt, const char* op, F&& f) {
  if (dt == DType::F64) return f(double{});
  DL_CHECK(dt == DType::F32, op, std::string("expected a float32 or float64 tensor, got ") + dtype_name(dt));
  return f(float{});
}

}  // namespace dl
