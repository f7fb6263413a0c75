#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/limits.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/protocol/headers.hpp"
#include "dobj/protocol/partition.hpp"
#include "dobj/protocol/reply.hpp"

namespace dobj::protocol {
namespace {

TEST(ContentType, FromHeader) {
  EXPECT_EQ(content_type_from_header(std::nullopt), ContentType::kJson);
  EXPECT_EQ(content_type_from_header("application/json"), ContentType::kJson);
  EXPECT_EQ(content_type_from_header("application/msgpack"), ContentType::kMsgpack);
  EXPECT_THROW(content_type_from_header("text/xml"), Error);
}

TEST(Codec, JsonAndMsgpackCarryTheSameValue) {
  Value v = {{"user", "ada"}, {"n", 3}, {"xs", {1.5, true, nullptr}}};
  for (auto type : {ContentType::kJson, ContentType::kMsgpack}) {
    EXPECT_EQ(decode_body(type, encode_body(type, v)), v);
  }
  auto via_msgpack = decode_body(ContentType::kMsgpack, encode_body(ContentType::kMsgpack, v));
  EXPECT_EQ(encode_body(ContentType::kJson, via_msgpack), encode_body(ContentType::kJson, v));
}

TEST(Codec, BinaryTravelsAsBase64InJson) {
  Value v = {{"b", Value::binary({1, 2, 3, 4})}, {"xs", {Value::binary({255})}}};
  EXPECT_EQ(encode_body(ContentType::kJson, v),
            R"({"b":{"$bin":"AQIDBA=="},"xs":[{"$bin":"/w=="}]})");
  EXPECT_EQ(decode_body(ContentType::kMsgpack, encode_body(ContentType::kMsgpack, v)), v);
}

TEST(Codec, EmptyBodyIsNull) {
  EXPECT_TRUE(decode_body(ContentType::kJson, "").is_null());
  EXPECT_TRUE(decode_body(ContentType::kMsgpack, "").is_null());
}

TEST(Codec, JsonNestedBeyondTheLimitIsBadRequest) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_NO_THROW(decode_body(ContentType::kJson, nested(kMaxJsonDepth)));
  for (int depth : {kMaxJsonDepth + 1, 100'000}) {
    try {
      decode_body(ContentType::kJson, nested(depth));
      FAIL() << "depth " << depth << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    }
  }
}

TEST(Codec, MalformedJsonIsBadRequest) {
  // 1e999: a number beyond a double threw nlohmann's out_of_range past the handler (fuzzing).
  for (const char* bad : {"{", "{\"a\":}", "nul", "[1,2", "\xff", "{\"by\": 1e999}", "11E16111"}) {
    try {
      decode_body(ContentType::kJson, bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    }
  }
}

TEST(Reply, ErrorBodyFollowsTheProtocol) {
  auto r = error_reply(ContentType::kJson, Error(ErrorCode::kOverloaded, "queue full"));
  EXPECT_FALSE(r.ok);
  auto body = Value::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "overloaded");
  EXPECT_EQ(body["error"]["message"], "queue full");
  EXPECT_EQ(body["error"]["retryable"], true);
}

TEST(Reply, ParseReturnsValueOrThrowsItsError) {
  auto ok = ok_reply(ContentType::kMsgpack, 42);
  EXPECT_EQ(parse_reply(kStatusOk, kMsgpackContentType, ok.body), 42);
  auto err = error_reply(ContentType::kJson, Error(ErrorCode::kNoSuchMethod, "nope"));
  try {
    parse_reply(kStatusError, kJsonContentType, err.body);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNoSuchMethod);
    EXPECT_STREQ(e.what(), "nope");
  }
  EXPECT_THROW(parse_reply(std::nullopt, std::nullopt, "1"), Error);
}

TEST(Partition, Fnv1aKnownVectors) {
  // FNV-1a 32 reference values.
  EXPECT_EQ(fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(fnv1a32("foobar"), 0xbf9cf968u);
  EXPECT_EQ(partition_of("foo", "bar", 1 << 30), static_cast<int>(0xbf9cf968u % (1u << 30)));
}

}  // namespace
}  // namespace dobj::protocol
