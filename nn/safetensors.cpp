#include "nn/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace dl {

using json = nlohmann::json;

struct SafeTensorsReader::Entry {
  std::string name;
  StoredDType dtype;
  Shape shape;
  uint64_t begin, end;  // in the data section
};

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
constexpr int kMaxDepth = 8;  // a valid header nests 3 deep ({"name": {"shape": [...]}})

using Entry = SafeTensorsReader::Entry;

// n bytes at offset of the open file fd into out; throws on a read error or an early end.
void read_at(int fd, uint64_t offset, char* out, uint64_t n) {
  while (n > 0) {
    const ssize_t got = pread(fd, out, std::min<uint64_t>(n, 1u << 30), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(std::string("read failed: ") + std::strerror(errno));
    if (got == 0) throw Error("the file ended early (was it changed while being read?)");
    out += got, offset += static_cast<uint64_t>(got), n -= static_cast<uint64_t>(got);
  }
}

// A non-negative JSON integer, or throws with `what` in the message.
uint64_t json_u64(const json& j, const std::string& what) {
  if (!j.is_number_integer()) throw Error(what + " must be an integer, got " + j.dump());
  if (!j.is_number_unsigned()) throw Error(what + " is negative: " + j.dump());
  return j.get<uint64_t>();
}

// Parses and validates one tensor entry of the header against a data section of data_size bytes.
Entry parse_entry(const std::string& name, const json& j, uint64_t data_size) {
  const std::string t = "tensor '" + name + "'";
  if (!j.is_object() || !j.contains("dtype") || !j.contains("shape") || !j.contains("data_offsets"))
    throw Error(t + " needs an object with dtype, shape and data_offsets, got " + j.dump());
  Entry e{name, StoredDType::F32, {}, 0, 0};
  const json& dt = j["dtype"];
  if (!dt.is_string()) throw Error(t + ": dtype must be a string, got " + dt.dump());
  try {
    e.dtype = stored_dtype_from_name(dt.get<std::string>());
  } catch (const Error& err) {
    throw Error(t + " has " + err.what());
  }

  if (!j["shape"].is_array()) throw Error(t + ": shape must be a list, got " + j["shape"].dump());
  uint64_t bytes = stored_dtype_size(e.dtype);
  for (const json& d : j["shape"]) {
    const uint64_t n = json_u64(d, t + ": shape entry");
    if (n > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, n, &bytes) ||
        bytes > static_cast<uint64_t>(INT64_MAX))
      throw Error(t + ": element count of shape " + j["shape"].dump() + " overflows");
    e.shape.push_back(static_cast<int64_t>(n));
  }

  const json& off = j["data_offsets"];
  if (!off.is_array() || off.size() != 2) throw Error(t + ": data_offsets must be [begin, end], got " + off.dump());
  e.begin = json_u64(off[0], t + ": data_offsets begin");
  e.end = json_u64(off[1], t + ": data_offsets end");
  if (e.begin > e.end) throw Error(t + ": data_offsets " + off.dump() + " are reversed (begin after end)");
  if (e.end > data_size)
    throw Error(t + ": data_offsets " + off.dump() + " lie outside the data section of " +
                std::to_string(data_size) + " bytes");
  if (e.end - e.begin != bytes)
    throw Error(t + ": data_offsets " + off.dump() + " span " + std::to_string(e.end - e.begin) +
                " bytes but dtype " + stored_dtype_name(e.dtype) + " and shape " + shape_str(e.shape) +
                " need " + std::to_string(bytes));
  return e;
}

// The tensors must tile [0, data_size) exactly.
void check_tiling(std::vector<Entry> entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t pos = 0;
  std::string prev;
  for (const Entry& e : entries) {
    if (e.begin < pos) throw Error("tensors '" + prev + "' and '" + e.name + "' overlap in the data section");
    if (e.begin > pos)
      throw Error("gap of " + std::to_string(e.begin - pos) + " unused bytes before tensor '" + e.name + "'");
    pos = e.end;
    prev = e.name;
  }
  if (pos != data_size)
    throw Error(std::to_string(data_size - pos) + " trailing bytes after the last tensor");
}

// The header's JSON text: its length checked against the file's size before it is read.
std::string header_text(int fd, uint64_t file_size) {
  if (file_size < 8)
    throw Error("file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  read_at(fd, 0, reinterpret_cast<char*>(&n), 8);
  if (n > kMaxHeaderBytes)
    throw Error("header length " + std::to_string(n) + " is absurd (limit " + std::to_string(kMaxHeaderBytes) + ")");
  if (n > file_size - 8)
    throw Error("header length " + std::to_string(n) + " is larger than the rest of the file (" +
                std::to_string(file_size - 8) + " bytes)");
  std::string text(n, '\0');
  if (n > 0) read_at(fd, 8, &text[0], n);
  return text;
}

json parse_header(const std::string& text) {
  // Refused while parsing: printing a deeper value in an error message would recurse per level.
  const auto limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) throw Error("header JSON is nested more than " + std::to_string(kMaxDepth) + " levels deep");
    return true;
  };
  const json header = json::parse(text, limit_depth, false);
  if (header.is_discarded()) throw Error("malformed JSON header");
  if (!header.is_object()) throw Error("header is not a JSON object");
  return header;
}

// The writer's layout order, the Python package's: its dtype enum descending (I64, F64, F32, I32,
// BF16, F16, BOOL), then by name. Wider types come first, so each tensor stays aligned.
int layout_rank(StoredDType t) {
  constexpr StoredDType order[] = {StoredDType::I64, StoredDType::F64,  StoredDType::F32, StoredDType::I32,
                                   StoredDType::BF16, StoredDType::F16, StoredDType::BOOL};
  return static_cast<int>(std::find(std::begin(order), std::end(order), t) - std::begin(order));
}

// Writes head then each tensor's bytes (as its stored dtype) to path atomically (temp file,
// fsync, rename); never leaves the temp file behind.
void write_atomically(const std::string& path, const std::string& head,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::vector<StoredDType>& stored) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  DL_CHECK(f, "write_safetensors", "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
  try {
    for (size_t i = 0; ok && i < tensors.size(); ++i) {
      const std::string bytes = encode_tensor(tensors[i].second, stored[i], tensors[i].first);
      ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    }
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  ok = ok && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = ok ? 0 : errno;
  if (std::fclose(f) != 0 && ok) ok = false, err = errno;
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) ok = false, err = errno;
  if (ok) return;
  std::remove(tmp.c_str());
  throw Error("write_safetensors: writing " + path + " failed: " + std::strerror(err));
}

}  // namespace

SafeTensorsReader::SafeTensorsReader(const std::string& path) : path_(path) {
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  DL_CHECK(fd_ >= 0, "read_safetensors", "cannot open " + path + ": " + std::strerror(errno));
  try {
    struct stat st {};
    if (fstat(fd_, &st) != 0) throw Error(std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw Error("not a regular file");
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    const std::string text = header_text(fd_, file_size);
    const json header = parse_header(text);
    data_start_ = 8 + text.size();
    const uint64_t data_size = file_size - data_start_;
    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
      if (key != "__metadata__") {
        entries.push_back(parse_entry(key, value, data_size));
        continue;
      }
      if (!value.is_object()) throw Error("__metadata__ must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw Error("__metadata__ value of '" + k + "' is not a string: " + v.dump());
        metadata_[k] = v.get<std::string>();
      }
    }
    check_tiling(entries, data_size);
    for (const Entry& e : entries) {
      specs_.emplace(e.name, TensorSpec{e.shape, loaded_dtype(e.dtype)});
      entries_.emplace(e.name, std::make_unique<Entry>(e));
    }
  } catch (const Error& e) {
    close(fd_);
    throw Error("read_safetensors: " + path + ": " + e.what());
  }
}

SafeTensorsReader::~SafeTensorsReader() { close(fd_); }

Tensor SafeTensorsReader::read(const std::string& name) const {
  const auto it = entries_.find(name);
  DL_CHECK(it != entries_.end(), "read_safetensors: " + path_, "no tensor '" + name + "'");
  const Entry& e = *it->second;
  try {
    std::string bytes(e.end - e.begin, '\0');
    if (!bytes.empty()) read_at(fd_, data_start_ + e.begin, &bytes[0], bytes.size());
    return decode_tensor(bytes.data(), e.dtype, e.shape);
  } catch (const Error& err) {
    throw Error("read_safetensors: " + path_ + ": tensor '" + name + "': " + err.what());
  }
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const Metadata& metadata, const std::map<std::string, StoredDType>& stored_as) {
  for (const auto& [name, as] : stored_as)
    DL_CHECK(tensors.count(name), "write_safetensors", "stored_as names no tensor '" + name + "'");
  // the Python package's order, so every tensor starts at a multiple of its element size
  std::vector<std::pair<std::string, Tensor>> order(tensors.begin(), tensors.end());
  std::vector<StoredDType> stored;
  const auto stored_dtype = [&](const std::pair<std::string, Tensor>& nt) {
    const auto it = stored_as.find(nt.first);
    return it != stored_as.end() ? it->second : native_stored_dtype(nt.second.dtype());
  };
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return layout_rank(stored_dtype(a)) < layout_rank(stored_dtype(b));
  });
  json header = json::object();
  uint64_t pos = 0;
  for (const auto& nt : order) {
    DL_CHECK(nt.first != "__metadata__", "write_safetensors", "'__metadata__' is not a valid tensor name");
    stored.push_back(stored_dtype(nt));
    const uint64_t bytes = nt.second.numel() * stored_dtype_size(stored.back());
    header[nt.first] = {{"dtype", stored_dtype_name(stored.back())},
                        {"shape", nt.second.shape()},
                        {"data_offsets", {pos, pos + bytes}}};
    pos += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  std::string head(8, '\0');  // the header length, then the header
  const uint64_t n = text.size();
  std::memcpy(&head[0], &n, 8);
  write_atomically(path, head + text, order, stored);
}

SafeTensors read_safetensors(const std::string& path) {
  const SafeTensorsReader file(path);
  SafeTensors out;
  out.metadata = file.metadata();
  for (const auto& [name, spec] : file.specs()) out.tensors.emplace(name, file.read(name));
  return out;
}

}  // namespace dl
