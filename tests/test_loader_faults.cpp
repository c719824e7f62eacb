// The safetensors loader's offset and dtype checks, each on its own file: an entry whose offsets
// run backwards, past the data, or over the wrong number of bytes is refused with a message that
// names the file and data_offsets; a float64 entry reads back as float64, bit for bit.
#include <cstring>
#include <fstream>
#include "nn/checkpoint.h"
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

// The 8-byte little-endian header length, the header, then data.
void write_safetensors_file(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"w":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
}

}  // namespace

TEST_CASE("loader: data_offsets [8, 0] are refused as outside the data section, not as a huge span", "[checkpoint][loader]") {
  TempDir dir;
  const std::string path = dir / "backwards.safetensors";
  write_safetensors_file(path, entry("F32", "[2]", "[8,0]"), bytes_of(std::vector<float>{1, 2}));
  // end - begin wraps around to 2^64 - 8 when begin > end is not checked first
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("data_offsets") && Catch::Contains(path) &&
                                                  !Catch::Contains("18446744073709551608"));
}

TEST_CASE("loader: data_offsets past the end of the data are refused", "[checkpoint][loader]") {
  TempDir dir;
  const std::string path = dir / "past_end.safetensors";
  write_safetensors_file(path, entry("F32", "[2]", "[0,16]"), bytes_of(std::vector<float>{1, 2}));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("data_offsets") && Catch::Contains(path));
}

TEST_CASE("loader: data_offsets spanning fewer bytes than dtype and shape need are refused", "[checkpoint][loader]") {
  TempDir dir;
  const std::string path = dir / "short_span.safetensors";
  // (2) float32 needs 8 bytes; the file holds 4 and the offsets say [0, 4]
  write_safetensors_file(path, entry("F32", "[2]", "[0,4]"), bytes_of(std::vector<float>{1}));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("data_offsets") && Catch::Contains(path));
  // a float64 (1) needs 8 bytes, a float32 (1) only 4: the dtype decides the size
  write_safetensors_file(path, entry("F64", "[1]", "[0,4]"), bytes_of(std::vector<float>{1}));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("data_offsets") && Catch::Contains(path));
}

TEST_CASE("loader: float32 and float64 entries read back with their dtype, bit for bit", "[checkpoint][loader]") {
  TempDir dir;
  const std::string path = dir / "dtypes.safetensors";
  const std::vector<double> d{1.0 / 3, -2.5e-300};
  write_safetensors_file(path, entry("F64", "[2]", "[0,16]"), bytes_of(d));
  SafeTensors st = read_safetensors(path);
  Tensor w = st.tensors.at("w");
  REQUIRE(w.dtype() == DType::F64);
  REQUIRE(w.shape() == Shape{2});
  REQUIRE(w.to_vector() == d);

  const std::vector<float> f{0.1f, -7.0f};
  write_safetensors_file(path, entry("F32", "[1,2]", "[0,8]"), bytes_of(f));
  Tensor w32 = read_safetensors(path).tensors.at("w");
  REQUIRE(w32.dtype() == DType::F32);
  REQUIRE(w32.shape() == Shape{1, 2});
  REQUIRE(w32.to_vector() == std::vector<double>{f[0], f[1]});
}
