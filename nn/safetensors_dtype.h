// The element types of a safetensors file, and how each maps onto the library's tensors.
//
//   file dtype   bytes  read as             written from
//   F32          4      float32             float32, or float64 (rounded to nearest, ties to even)
//   F64          8      float64             float64, or float32 (exact)
//   F16          2      float32 (exact)     float32, rounded to nearest, ties to even
//   BF16         2      float32 (exact)     float32, rounded to nearest, ties to even
//   I32          4      int32               int32
//   I64          8      int32, if every     int32 (exact)
//                       value fits; else
//                       an error naming the
//                       tensor and value
//   BOOL         1      bool (bytes 0, 1)   bool
//
// The library computes in float32, float64, int32 and bool only, so a half-precision or 64-bit
// integer file is widened or narrowed on the way in, never kept in its own type. Every float16
// and bfloat16 value (infinities, NaNs and subnormals included) is exactly a float32, so reading
// loses nothing; writing rounds as IEEE 754 does by default (a value past the largest finite one,
// 65504 for F16, becomes an infinity; a NaN stays a NaN).
#pragma once
#include <cstdint>
#include <string>
#include "autograd/tensor.h"

namespace dl {

enum class StoredDType { F32, F64, F16, BF16, I32, I64, BOOL };

const char* stored_dtype_name(StoredDType t);  // "F32", ...
// Throws dl::Error unless name is one of the names above.
StoredDType stored_dtype_from_name(const std::string& name);
std::size_t stored_dtype_size(StoredDType t);
StoredDType native_stored_dtype(DType t);  // the file dtype a tensor is written as by default
DType loaded_dtype(StoredDType t);         // the tensor dtype a file dtype is read into

// IEEE 754 binary16 and bfloat16 bit patterns, to and from float32.
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);

// t's values as the bytes of a file tensor of dtype `as` (row-major, little-endian). Throws
// "write_safetensors: ..." when t's dtype cannot be written as `as`.
std::string encode_tensor(const Tensor& t, StoredDType as, const std::string& name);
// A tensor of loaded_dtype(from) and this shape from the file bytes (numel * size of `from`).
// Throws, naming the element index and the value, for an I64 value outside int32 or a BOOL byte
// other than 0 or 1.
Tensor decode_tensor(const char* bytes, StoredDType from, const Shape& shape);

}  // namespace dl
