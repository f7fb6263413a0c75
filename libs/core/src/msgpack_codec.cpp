#include "dobj/core/msgpack_codec.hpp"

#include <msgpack.hpp>

#include <cmath>

#include "dobj/core/error.hpp"

namespace dobj {
namespace {

// Nesting deeper than this is refused rather than recursed into (stack safety on hostile input).
constexpr int kMaxDepth = 128;

void pack(msgpack::packer<msgpack::sbuffer>& out, const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
    case Value::value_t::discarded:
      out.pack_nil();
      break;
    case Value::value_t::boolean:
      out.pack(v.get<bool>());
      break;
    case Value::value_t::number_integer:
      out.pack(v.get<std::int64_t>());
      break;
    case Value::value_t::number_unsigned:
      out.pack(v.get<std::uint64_t>());
      break;
    case Value::value_t::number_float:
      out.pack(v.get<double>());
      break;
    case Value::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      out.pack_str(static_cast<std::uint32_t>(s.size()));
      out.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
      break;
    }
    case Value::value_t::binary: {
      const auto& b = v.get_binary();
      out.pack_bin(static_cast<std::uint32_t>(b.size()));
      out.pack_bin_body(reinterpret_cast<const char*>(b.data()),
                        static_cast<std::uint32_t>(b.size()));
      break;
    }
    case Value::value_t::array:
      out.pack_array(static_cast<std::uint32_t>(v.size()));
      for (const auto& item : v) pack(out, item);
      break;
    case Value::value_t::object:
      out.pack_map(static_cast<std::uint32_t>(v.size()));
      for (const auto& [key, item] : v.items()) {
        out.pack_str(static_cast<std::uint32_t>(key.size()));
        out.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
        pack(out, item);
      }
      break;
  }
}

Value unpack(const msgpack::object& o, int depth) {
  if (depth > kMaxDepth) throw Error(ErrorCode::kBadRequest, "msgpack nested too deeply");
  switch (o.type) {
    case msgpack::type::NIL:
      return nullptr;
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      // A value must survive the JSON side of the protocol, which has no NaN or infinity.
      if (!std::isfinite(o.via.f64)) {
        throw Error(ErrorCode::kBadRequest, "msgpack floats must be finite (no NaN, infinity)");
      }
      return o.via.f64;
    case msgpack::type::STR:
      return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN: {
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      return Value::binary(std::vector<std::uint8_t>(p, p + o.via.bin.size));
    }
    case msgpack::type::ARRAY: {
      Value arr = Value::array();
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        arr.push_back(unpack(o.via.array.ptr[i], depth + 1));
      }
      return arr;
    }
    case msgpack::type::MAP: {
      Value obj = Value::object();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) {
          throw Error(ErrorCode::kBadRequest, "msgpack map keys must be strings");
        }
        obj[std::string(kv.key.via.str.ptr, kv.key.via.str.size)] = unpack(kv.val, depth + 1);
      }
      return obj;
    }
    case msgpack::type::EXT:
      throw Error(ErrorCode::kBadRequest, "msgpack ext types are not supported");
  }
  throw Error(ErrorCode::kBadRequest, "unknown msgpack type");
}

// Unpacked strings may point into the input: it outlives the conversion to Value.
bool reference_input(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

}  // namespace

std::string encode_msgpack(const Value& value) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  pack(packer, value);
  return std::string(buffer.data(), buffer.size());
}

Value decode_msgpack(std::string_view bytes) {
  if (bytes.empty()) throw Error(ErrorCode::kBadRequest, "empty msgpack body");
  try {
    std::size_t offset = 0;
    // msgpack-c allocates a container's elements when it reads the count: a count the body
    // cannot hold (each element takes a byte or more, a map entry two) is refused first.
    auto bytes_left = static_cast<std::size_t>(bytes.size());
    msgpack::unpack_limit limits(bytes_left, bytes_left / 2, bytes_left, bytes_left, bytes_left,
                                 kMaxDepth);
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, reference_input, nullptr, limits);
    if (offset != bytes.size()) {
      throw Error(ErrorCode::kBadRequest, "trailing bytes after msgpack value");
    }
    return unpack(handle.get(), 0);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kBadRequest, std::string("undecodable msgpack: ") + e.what());
  }
}

}  // namespace dobj
