#include "sql_values.hpp"

namespace dobj::store {
namespace {

// PostgreSQL type OIDs (pg_type.dat), stable across versions.
constexpr pqxx::oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26,
                    kJson = 114, kFloat4 = 700, kFloat8 = 701, kNumeric = 1700, kJsonb = 3802;

void append_element(std::string& out, const std::string& item) {
  out.push_back('"');
  for (char c : item) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

Value field_value(const pqxx::field& f, pqxx::oid type) {
  if (f.is_null()) return nullptr;
  switch (type) {
    case kBool:
      return f.as<bool>();
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid:
      return f.as<std::int64_t>();
    case kFloat4:
    case kFloat8:
    case kNumeric:
      return f.as<double>();
    case kJson:
    case kJsonb:
      return Value::parse(f.c_str());
    case kBytea: {
      pqxx::binarystring b(f);
      return Value::binary(std::vector<std::uint8_t>(b.data(), b.data() + b.size()));
    }
    default:
      return std::string(f.c_str(), f.size());
  }
}

}  // namespace

std::string text_array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    append_element(out, items[i]);
  }
  out.push_back('}');
  return out;
}

std::string text_array_literal(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    if (items[i]) {
      append_element(out, *items[i]);
    } else {
      out += "NULL";
    }
  }
  out.push_back('}');
  return out;
}

std::string record_literal(const std::vector<std::optional<std::string>>& fields) {
  std::string out = "(";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    if (fields[i]) append_element(out, *fields[i]);  // record_in reads the same escapes
  }
  out.push_back(')');
  return out;
}

std::string bytea_hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::vector<std::optional<std::string>> sql_param_texts(const std::vector<Value>& params) {
  std::vector<std::optional<std::string>> out;
  out.reserve(params.size());
  for (const auto& p : params) {
    if (p.is_null()) {
      out.emplace_back(std::nullopt);
    } else if (p.is_string()) {
      out.emplace_back(p.get<std::string>());
    } else if (p.is_binary()) {
      const auto& b = p.get_binary();
      out.emplace_back(bytea_hex(std::string(b.begin(), b.end())));
    } else {
      out.emplace_back(p.dump());
    }
  }
  return out;
}

SqlResult to_sql_result(const pqxx::result& result) {
  SqlResult out;
  auto columns = result.columns();
  for (pqxx::row::size_type c = 0; c < columns; ++c) out.columns.push_back(result.column_name(c));
  for (const auto& row : result) {
    std::vector<Value> values;
    values.reserve(columns);
    for (pqxx::row::size_type c = 0; c < columns; ++c) {
      values.push_back(field_value(row[c], result.column_type(c)));
    }
    out.rows.push_back(std::move(values));
  }
  out.affected_rows = static_cast<std::int64_t>(result.affected_rows());
  return out;
}

}  // namespace dobj::store
