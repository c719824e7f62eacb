// The safetensors dtypes beyond F32/F64: F16 and BF16 rounding (to nearest, ties to even, against
// its definition), every dtype's round trip, and a file laid out as the Python package writes it.
#include "tests/testing.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include "nn/safetensors.h"

using namespace dl;
using namespace dl::testing;

namespace {

uint32_t bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}

// Checks float_to_*(x) against the definition of rounding to nearest, ties to even: the result's
// value is no farther from x than either neighbouring 16-bit value, and on a tie it is the even one.
void require_rounds_to_nearest_even(float x, uint16_t (*encode)(float), float (*decode)(uint16_t)) {
  const uint16_t h = encode(x);
  const double got = decode(h);
  INFO("x = " << x << " (0x" << std::hex << bits(x) << ") -> 0x" << h << std::dec << " = " << got);
  REQUIRE(std::signbit(got) == std::signbit(x));
  if (std::isinf(got)) return;  // checked separately: only past the overflow threshold
  for (int step : {-1, 1}) {
    const uint16_t n = static_cast<uint16_t>(h + step);
    const double other = decode(n);
    if (std::isnan(other) || (h & 0x7fff) == 0 && step < 0) continue;  // no neighbour below zero
    const double mine = std::fabs(got - double(x)), theirs = std::fabs(other - double(x));
    REQUIRE(mine <= theirs);
    if (mine == theirs) REQUIRE((h & 1) == 0);
  }
}

}  // namespace

TEST_CASE("safetensors dtypes: F16 rounds to nearest, ties to even", "[checkpoint][dtypes]") {
  // exact cases: ties between two half values go to the even mantissa
  REQUIRE(float_to_f16(1.0f) == 0x3c00);
  REQUIRE(float_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie: 1.0 is even
  REQUIRE(float_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie: 1 + 2^-9 is even
  REQUIRE(float_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)) == 0x3c01);  // past the tie
  REQUIRE(float_to_f16(65504.0f) == 0x7bff);  // the largest finite half
  REQUIRE(float_to_f16(65519.0f) == 0x7bff);
  REQUIRE(float_to_f16(65520.0f) == 0x7c00);  // halfway to 65536: the tie goes up, to infinity
  REQUIRE(float_to_f16(-INFINITY) == 0xfc00);
  REQUIRE(float_to_f16(std::ldexp(1.0f, -24)) == 0x0001);         // the smallest subnormal
  REQUIRE(float_to_f16(std::ldexp(1.0f, -25)) == 0x0000);         // tie with zero: zero is even
  REQUIRE(float_to_f16(3 * std::ldexp(1.0f, -25)) == 0x0002);     // tie between 1 and 2 units
  REQUIRE(float_to_f16(std::ldexp(1.0f, -25) + std::ldexp(1.0f, -40)) == 0x0001);
  REQUIRE(float_to_f16(1023.5f * std::ldexp(1.0f, -24)) == 0x0400);  // tie: rounds up into the normals
  REQUIRE(float_to_f16(-0.0f) == 0x8000);
  REQUIRE(std::isnan(f16_to_float(float_to_f16(NAN))));

  // every half value (but the NaNs) is a float32 that converts back to itself
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    INFO("half 0x" << std::hex << h);
    REQUIRE(float_to_f16(f) == h);
  }
  REQUIRE(f16_to_float(0x0001) == std::ldexp(1.0f, -24));
  REQUIRE(f16_to_float(0x3555) == 0.333251953125f);

  // random floats of every magnitude in the half range, and a tie per half interval
  Generator gen(7);
  for (int i = 0; i < 20000; ++i) {
    const float x = static_cast<float>(std::ldexp(gen.uniform(-1, 1), static_cast<int>(gen.randint(-26, 17))));
    require_rounds_to_nearest_even(x, float_to_f16, f16_to_float);
    const uint16_t h = static_cast<uint16_t>(gen.randint(0, 0x7bff));
    const float tie = static_cast<float>((double(f16_to_float(h)) + double(f16_to_float(h + 1))) / 2);
    require_rounds_to_nearest_even(tie, float_to_f16, f16_to_float);
  }
}

TEST_CASE("safetensors dtypes: BF16 rounds to nearest, ties to even", "[checkpoint][dtypes]") {
  REQUIRE(float_to_bf16(1.0f) == 0x3f80);
  REQUIRE(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);      // tie: 1.0 is even
  REQUIRE(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie: the even one above
  REQUIRE(float_to_bf16(3.4028235e38f) == 0x7f80);                    // FLT_MAX rounds to infinity
  REQUIRE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    INFO("bfloat16 0x" << std::hex << h);
    REQUIRE(float_to_bf16(f) == h);
  }
  Generator gen(8);
  for (int i = 0; i < 20000; ++i) {
    const float x = static_cast<float>(std::ldexp(gen.uniform(-1, 1), static_cast<int>(gen.randint(-130, 127))));
    require_rounds_to_nearest_even(x, float_to_bf16, bf16_to_float);
  }
}

TEST_CASE("safetensors dtypes: every dtype round trips through a file", "[checkpoint][dtypes]") {
  TempDir dir;
  const std::string path = dir / "all.safetensors";
  const Tensor f32 = Tensor::from_vector({1.5, -0.1, 65504, 1e-7}, {2, 2}, DType::F32);
  const Tensor f64 = Tensor::from_vector({0.1, -1e30}, {2}, DType::F64);
  const Tensor i32 = Tensor::from_ints({-2147483647 - 1, 0, 2147483647}, {3});
  const Tensor flags = Tensor::from_bools({true, false, true}, {3});
  write_safetensors(path,
                    {{"f16", f32}, {"bf16", f32}, {"f32", f32}, {"f64", f64}, {"f64_as_f32", f64},
                     {"i32", i32}, {"i64", i32}, {"bool", flags}},
                    {{"k", "v"}},
                    {{"f16", StoredDType::F16}, {"bf16", StoredDType::BF16}, {"f64_as_f32", StoredDType::F32},
                     {"i64", StoredDType::I64}});
  const SafeTensorsReader file(path);
  REQUIRE(file.specs().at("f16").dtype == DType::F32);  // half precision is read into float32
  REQUIRE(file.specs().at("i64").dtype == DType::I32);
  const SafeTensors st = read_safetensors(path);
  const std::vector<double> f32_values = f32.to_vector();
  std::vector<double> as_f16, as_bf16;
  for (double v : f32_values) {
    as_f16.push_back(f16_to_float(float_to_f16(static_cast<float>(v))));
    as_bf16.push_back(bf16_to_float(float_to_bf16(static_cast<float>(v))));
  }
  require_values(st.tensors.at("f16"), as_f16, 0);
  REQUIRE(st.tensors.at("f16").to_vector()[1] != f32_values[1]);  // -0.1 was rounded: the check can fail
  require_values(st.tensors.at("bf16"), as_bf16, 0);
  require_values(st.tensors.at("f32"), f32_values, 0);
  require_values(st.tensors.at("f64"), {0.1, -1e30}, 0);
  require_values(st.tensors.at("f64_as_f32"), {double(0.1f), double(-1e30f)}, 0);
  for (const char* name : {"i32", "i64"}) {
    REQUIRE(st.tensors.at(name).dtype() == DType::I32);
    require_values(st.tensors.at(name), i32.to_vector(), 0);
  }
  REQUIRE(st.tensors.at("bool").dtype() == DType::Bool);
  require_values(st.tensors.at("bool"), {1, 0, 1}, 0);
  REQUIRE(st.tensors.at("f16").shape() == Shape{2, 2});

  REQUIRE_THROWS_WITH(write_safetensors(path, {{"ids", i32}}, {}, {{"ids", StoredDType::F16}}),
                      Catch::Contains("tensor 'ids' is int32 and cannot be stored as F16"));
  REQUIRE_THROWS_WITH(write_safetensors(path, {{"ids", i32}}, {}, {{"idz", StoredDType::I64}}),
                      Catch::Contains("no tensor 'idz'"));
  REQUIRE(dir.files() == std::vector<std::string>{"all.safetensors"});  // no temp file left behind
}

namespace {

// The 8-byte length, the header padded with spaces to a multiple of 8, then the data.
std::string python_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t n = header.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

template <class T>
std::string bytes_of(std::vector<T> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

}  // namespace

TEST_CASE("safetensors dtypes: a file laid out as the Python package writes it", "[checkpoint][dtypes]") {
  // As safetensors.torch.save_file writes {"ids": int64, "w": float32, "b": bfloat16, "h": float16,
  // "m": bool} with metadata {"format": "pt"}: __metadata__ first, the tensors sorted by dtype
  // (I64, F64, F32, I32, BF16, F16, BOOL) then name, the header padded with spaces.
  const std::string data = bytes_of<int64_t>({-3, 0, 2147483647}) + bytes_of<float>({0.5f, -2}) +
                           bytes_of<uint16_t>({0x3f80, 0xc040}) + bytes_of<uint16_t>({0x3c00, 0x0001}) +
                           bytes_of<uint8_t>({1, 0, 1});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"ids":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},)"
      R"("w":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},)"
      R"("h":{"dtype":"F16","shape":[1,2],"data_offsets":[36,40]},"m":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]}})";
  TempDir dir;
  const std::string path = dir / "torch.safetensors";
  std::ofstream(path, std::ios::binary) << python_file(header, data);

  const SafeTensors st = read_safetensors(path);
  REQUIRE(st.metadata == Metadata{{"format", "pt"}});
  require_values(st.tensors.at("ids"), {-3, 0, 2147483647}, 0);
  require_values(st.tensors.at("w"), {0.5, -2}, 0);
  require_values(st.tensors.at("b"), {1, -3}, 0);
  require_values(st.tensors.at("h"), {1, std::ldexp(1.0, -24)}, 0);
  REQUIRE(st.tensors.at("h").shape() == Shape{1, 2});
  require_values(st.tensors.at("m"), {1, 0, 1}, 0);

  // written back in the same dtypes, the data section is byte for byte the Python package's
  const std::string again = dir / "again.safetensors";
  write_safetensors(again, st.tensors, st.metadata,
                    {{"ids", StoredDType::I64}, {"b", StoredDType::BF16}, {"h", StoredDType::F16}});
  std::ifstream in(again, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  REQUIRE(n % 8 == 0);
  REQUIRE(file.substr(8 + n) == data);
}

TEST_CASE("safetensors dtypes: values the library cannot hold are refused, naming tensor and element",
          "[checkpoint][dtypes][errors]") {
  TempDir dir;
  const std::string path = dir / "bad.safetensors";
  std::ofstream(path, std::ios::binary) << python_file(
      R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", bytes_of<int64_t>({1, int64_t(1) << 40}));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains(path) && Catch::Contains("tensor 'ids'") &&
                                                  Catch::Contains("I64 element 1 is 1099511627776, outside int32"));
  std::ofstream(path, std::ios::binary) << python_file(
      R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", bytes_of<uint8_t>({0, 1, 7}));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("tensor 'm'") && Catch::Contains("element 2 is byte 7, not 0 or 1"));
}
