#include "nn/safetensors_dtype.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace dl {

namespace {

struct DTypeInfo {
  StoredDType type;
  const char* name;
  std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {{StoredDType::F32, "F32", 4},  {StoredDType::F64, "F64", 8},
                                 {StoredDType::F16, "F16", 2},  {StoredDType::BF16, "BF16", 2},
                                 {StoredDType::I32, "I32", 4},  {StoredDType::I64, "I64", 8},
                                 {StoredDType::BOOL, "BOOL", 1}};

uint32_t bits_of(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}
float float_of(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// out[i] = convert(in[i]) for the n elements of a dense buffer, each stored as its bytes.
template <class From, class To, class F>
void convert(const void* in, void* out, int64_t n, F convert_one) {
  for (int64_t i = 0; i < n; ++i) {
    From x;
    std::memcpy(&x, static_cast<const char*>(in) + i * sizeof(From), sizeof(From));
    const To y = convert_one(x);
    std::memcpy(static_cast<char*>(out) + i * sizeof(To), &y, sizeof(To));
  }
}

}  // namespace

const char* stored_dtype_name(StoredDType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

StoredDType stored_dtype_from_name(const std::string& name) {
  for (const DTypeInfo& d : kDTypes)
    if (name == d.name) return d.type;
  throw Error("unknown dtype \"" + name + "\" (supported: F32, F64, F16, BF16, I32, I64, BOOL)");
}

std::size_t stored_dtype_size(StoredDType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}

StoredDType native_stored_dtype(DType t) {
  switch (t) {
    case DType::F32: return StoredDType::F32;
    case DType::F64: return StoredDType::F64;
    case DType::I32: return StoredDType::I32;
    case DType::Bool: return StoredDType::BOOL;
  }
  return StoredDType::F32;
}

DType loaded_dtype(StoredDType t) {
  switch (t) {
    case StoredDType::F64: return DType::F64;
    case StoredDType::I32:
    case StoredDType::I64: return DType::I32;
    case StoredDType::BOOL: return DType::Bool;
    default: return DType::F32;  // F32, F16, BF16
  }
}

// binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. float32 has 8 (bias 127)
// and 23, so a normal value keeps its top 10 mantissa bits and rounds on the 13 it drops.
uint16_t float_to_f16(float f) {
  const uint32_t x = bits_of(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00 | ((abs >> 13) & 0x1ff);  // NaN stays a (quiet) NaN
  if (abs >= 0x477ff000) return sign | 0x7c00;  // from 65520 on (halfway past 65504): infinity
  if (abs >= 0x38800000) {                      // normal in binary16 (from 2^-14 on)
    const uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);  // to nearest, ties to even
    return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);  // exponent bias 127 -> 15
  }
  const int exponent = static_cast<int>(abs >> 23);
  if (exponent < 102) return sign;  // below 2^-25, half the smallest subnormal: rounds to zero
  // A subnormal: the value in units of 2^-24, the 24-bit significand shifted right by 14..24.
  const uint32_t significand = (abs & 0x7fffff) | 0x800000;
  const int shift = 126 - exponent;
  uint32_t q = significand >> shift;
  const uint32_t rest = significand & ((1u << shift) - 1), half = 1u << (shift - 1);
  q += rest > half || (rest == half && (q & 1));
  return sign | static_cast<uint16_t>(q);
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent == 0x1f) return float_of(sign | 0x7f800000 | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float32
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of a float32: round on the 16 bits it drops.
uint16_t float_to_bf16(float f) {
  const uint32_t x = bits_of(f);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);  // to nearest, ties to even
}

float bf16_to_float(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

std::string encode_tensor(const Tensor& tensor, StoredDType as, const std::string& name) {
  const Tensor t = tensor.detach().contiguous();
  const int64_t n = t.numel();
  std::string out(static_cast<std::size_t>(n) * stored_dtype_size(as), '\0');
  const void* in = t.raw_data();
  if (as == native_stored_dtype(t.dtype())) {
    if (n > 0) std::memcpy(&out[0], in, out.size());
    return out;
  }
  const DType dt = t.dtype();
  if (dt == DType::F32 && as == StoredDType::F64) convert<float, double>(in, &out[0], n, [](float x) { return double(x); });
  else if (dt == DType::F64 && as == StoredDType::F32) convert<double, float>(in, &out[0], n, [](double x) { return float(x); });
  else if (dt == DType::F32 && as == StoredDType::F16) convert<float, uint16_t>(in, &out[0], n, float_to_f16);
  else if (dt == DType::F32 && as == StoredDType::BF16) convert<float, uint16_t>(in, &out[0], n, float_to_bf16);
  else if (dt == DType::I32 && as == StoredDType::I64) convert<int32_t, int64_t>(in, &out[0], n, [](int32_t x) { return int64_t(x); });
  else
    throw Error("write_safetensors: tensor '" + name + "' is " + dtype_name(dt) + " and cannot be stored as " +
                stored_dtype_name(as));
  return out;
}

Tensor decode_tensor(const char* bytes, StoredDType from, const Shape& shape) {
  Tensor t = Tensor::uninitialized(shape, loaded_dtype(from));
  const int64_t n = t.numel();
  void* out = t.raw_data();
  const auto bad_value = [&](int64_t i, const std::string& value, const char* rule) {
    return Error(std::string(stored_dtype_name(from)) + " element " + std::to_string(i) + " is " + value + ", " + rule);
  };
  switch (from) {
    case StoredDType::F16: convert<uint16_t, float>(bytes, out, n, f16_to_float); break;
    case StoredDType::BF16: convert<uint16_t, float>(bytes, out, n, bf16_to_float); break;
    case StoredDType::I64:
      for (int64_t i = 0; i < n; ++i) {
        int64_t v;
        std::memcpy(&v, bytes + i * 8, 8);
        if (v < INT32_MIN || v > INT32_MAX) throw bad_value(i, std::to_string(v), "outside int32, the widest integer type here");
        static_cast<int32_t*>(out)[i] = static_cast<int32_t>(v);
      }
      break;
    case StoredDType::BOOL:
      for (int64_t i = 0; i < n; ++i)
        if (static_cast<unsigned char>(bytes[i]) > 1)
          throw bad_value(i, "byte " + std::to_string(static_cast<unsigned char>(bytes[i])), "not 0 or 1");
      [[fallthrough]];
    default:  // F32, F64, I32, BOOL: the library's own layout
      if (n > 0) std::memcpy(out, bytes, static_cast<std::size_t>(n) * stored_dtype_size(from));
  }
  return t;
}

}  // namespace dl
