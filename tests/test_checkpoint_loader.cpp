// The checkpoint loader checks before it reads: the header length against the file's size, the
// whole header before any tensor's bytes; and what it then reads: non-finite weights and bad
// metadata are errors naming the tensor or the key, and the file.
#include "tests/testing.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include "models/checkpoint.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/optim.h"

using namespace dl;
using namespace dl::testing;

namespace {

// Bytes this process has read from files so far (/proc/self/io "rchar"): read and pread count.
int64_t bytes_read() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = -1;
  while (io >> key >> value)
    if (key == "rchar:") return value;
  return -1;
}

// A file: the 8-byte little-endian header length, the header, then data.
void write_file(const std::string& path, const std::string& header, const std::string& data = "") {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

}  // namespace

TEST_CASE("checkpoint loader: a 2 GB file is refused from its header, without reading the data",
          "[checkpoint][loader]") {
  TempDir dir;
  const std::string path = dir / "big.safetensors";
  // one 2 GiB float32 tensor, held in a sparse file (no disk blocks), named as no module's
  const std::string header =
      R"({"__metadata__":{"step":"1"},"huge":{"dtype":"F32","shape":[536870912],"data_offsets":[0,2147483648]}})";
  write_file(path, header);
  REQUIRE(truncate(path.c_str(), static_cast<off_t>(8 + header.size()) + (int64_t(1) << 31)) == 0);
  LayerNorm ln(2);

  const int64_t before = bytes_read();
  REQUIRE(before >= 0);
  REQUIRE_THROWS_WITH(load_checkpoint(path, ln), Catch::Contains(path) && Catch::Contains("unknown tensor 'huge'"));
  REQUIRE_THROWS_WITH(stored_config(path, "classifier"), Catch::Contains("stores no model kind"));  // load_model
  const int64_t read = bytes_read() - before;
  INFO("bytes read: " << read);
  REQUIRE(read < (1 << 20));  // the header (and /proc/self/io itself), never the 2 GiB

  // the same file whose 8-byte length is the whole file (or past it): refused before any parse
  for (uint64_t n : {uint64_t(1) << 31, (uint64_t(1) << 31) + 1000}) {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f);
    std::fwrite(&n, 8, 1, f);
    std::fclose(f);
    REQUIRE_THROWS_WITH(load_checkpoint(path, ln), Catch::Contains("header length " + std::to_string(n)));
  }
  REQUIRE(bytes_read() - before < (1 << 20));
}

TEST_CASE("checkpoint loader: reversed data offsets say so", "[checkpoint][loader][errors]") {
  TempDir dir;
  const std::string path = dir / "reversed.safetensors";
  write_file(path, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0'));
  REQUIRE_THROWS_WITH(read_safetensors(path), Catch::Contains("tensor 'w': data_offsets [8,0] are reversed"));
  REQUIRE_THROWS_WITH(read_safetensors(path), !Catch::Contains("18446744073709551608"));
}

TEST_CASE("checkpoint loader: a non-finite weight is refused, naming the tensor and element",
          "[checkpoint][loader][errors]") {
  TempDir dir;
  const std::string path = dir / "nan.safetensors";
  LayerNorm saved(3);
  AdamW opt(saved.named_parameters(), {});
  for (const double bad : {NAN, INFINITY, -INFINITY}) {
    save_checkpoint(path, saved, &opt, 1);
    SafeTensors st = read_safetensors(path);
    std::vector<double> w = st.tensors.at("bias").to_vector();
    w[2] = bad;
    st.tensors["bias"] = Tensor::from_vector(w, {3});
    write_safetensors(path, st.tensors, st.metadata);
    LayerNorm target(3);
    Tensor(target.bias).copy_(Tensor::full({3}, 0.25));
    INFO("value " << bad);
    REQUIRE_THROWS_WITH(load_checkpoint(path, target),
                        Catch::Contains(path) && Catch::Contains("tensor 'bias' float32(3) holds a non-finite value") &&
                            Catch::Contains("at element 2"));
    require_values(target.bias, {0.25, 0.25, 0.25});  // nothing changed
  }
  // the optimizer's state is checked too, when it is loaded
  save_checkpoint(path, saved, &opt, 1);
  SafeTensors st = read_safetensors(path);
  std::string moment;
  for (const auto& [name, t] : st.tensors)
    if (name.rfind("optimizer.", 0) == 0 && t.numel() == 3) moment = name;
  REQUIRE(!moment.empty());
  st.tensors[moment] = Tensor::from_vector({0, NAN, 0}, {3});
  write_safetensors(path, st.tensors, st.metadata);
  LayerNorm target(3);
  AdamW target_opt(target.named_parameters(), {});
  REQUIRE_NOTHROW(load_checkpoint(path, target));  // without an optimizer its state is not read
  REQUIRE_THROWS_WITH(load_checkpoint(path, target, &target_opt),
                      Catch::Contains("tensor '" + moment + "'") && Catch::Contains("at element 1"));
}

TEST_CASE("checkpoint metadata: every value is validated, the error names the key and the file",
          "[checkpoint][loader][errors]") {
  const Metadata meta = {{"mean", "0.5"}, {"std", "abc"}, {"zero", "0"}, {"nan", "nan"}, {"inf", "-inf"},
                         {"tail", "3x"}, {"empty", ""}, {"space", " 4"}, {"count", "12"}, {"neg", "-3"},
                         {"big", "99999999999999999999"}, {"half", "1.5"}};
  const std::string f = "run/ckpt.safetensors";
  REQUIRE(metadata_double(meta, "mean", f) == 0.5);
  REQUIRE(metadata_double(meta, "count", f, 0, true) == 12);
  REQUIRE(metadata_int(meta, "count", f, 0) == 12);
  REQUIRE(metadata_int(meta, "neg", f) == -3);
  REQUIRE(metadata_string(meta, "std", f) == "abc");
  const auto rejects = [&](auto read, const std::string& what) {
    REQUIRE_THROWS_WITH(read(), Catch::StartsWith(f + ": metadata '") && Catch::Contains(what));
  };
  rejects([&] { return metadata_double(meta, "std", f); }, "'std' is not a number: \"abc\"");
  rejects([&] { return metadata_double(meta, "zero", f, 0, true); }, "'zero' must be above 0: \"0\"");
  rejects([&] { return metadata_double(meta, "neg", f, 0); }, "'neg' must be at least 0: \"-3\"");
  rejects([&] { return metadata_double(meta, "nan", f); }, "'nan' is not finite: \"nan\"");
  rejects([&] { return metadata_double(meta, "inf", f); }, "'inf' is not finite");
  rejects([&] { return metadata_double(meta, "tail", f); }, "'tail' is not a number: \"3x\"");
  rejects([&] { return metadata_double(meta, "empty", f); }, "'empty' is not a number");
  rejects([&] { return metadata_double(meta, "space", f); }, "'space' is not a number");
  rejects([&] { return metadata_int(meta, "half", f); }, "'half' is not an integer: \"1.5\"");
  rejects([&] { return metadata_int(meta, "space", f); }, "'space' is not an integer");
  rejects([&] { return metadata_int(meta, "neg", f, 0); }, "'neg' is out of range [0, ");
  rejects([&] { return metadata_int(meta, "big", f); }, "'big' is out of range");
  REQUIRE_THROWS_WITH(metadata_string(meta, "absent", f), Catch::Contains(f + ": metadata has no 'absent'"));
}
