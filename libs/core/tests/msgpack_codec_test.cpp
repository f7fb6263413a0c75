#include "dobj/core/msgpack_codec.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"

namespace dobj {
namespace {

Value round_trip(const Value& v) {
  return decode_msgpack(encode_msgpack(v));
}

TEST(MsgpackCodec, RoundTripsEveryJsonKind) {
  Value v = {{"null", nullptr},
             {"t", true},
             {"f", false},
             {"small", 7},
             {"negative", -300},
             {"big", std::int64_t{1} << 62},
             {"unsigned", std::numeric_limits<std::uint64_t>::max()},
             {"min", std::numeric_limits<std::int64_t>::min()},
             {"float", 1.25},
             {"str", "héllo"},
             {"empty", ""},
             {"arr", {1, "two", {{"three", 3}}}},
             {"obj", Value::object()}};
  EXPECT_EQ(round_trip(v), v);
}

TEST(MsgpackCodec, RoundTripsBinary) {
  Value v = Value::binary({0, 1, 2, 255});
  EXPECT_EQ(round_trip(v), v);
}

TEST(MsgpackCodec, ReadsWhatJsonLibrariesWrite) {
  Value v = {{"by", 5}, {"list", {1, 2.5, nullptr}}};
  auto bytes = Value::to_msgpack(v);
  EXPECT_EQ(decode_msgpack(std::string(bytes.begin(), bytes.end())), v);
}

void expect_bad(const std::string& bytes) {
  try {
    decode_msgpack(bytes);
    FAIL() << "decoded bad bytes";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest) << e.what();
  }
}

TEST(MsgpackCodec, RejectsTruncatedInput) {
  expect_bad(std::string("\x92\x01", 2));
}
TEST(MsgpackCodec, RejectsTrailingBytes) {
  expect_bad(std::string("\x01\x02", 2));
}
TEST(MsgpackCodec, RejectsReservedByte) {
  expect_bad(std::string("\xc1", 1));
}
TEST(MsgpackCodec, RejectsEmptyInput) {
  expect_bad("");
}
TEST(MsgpackCodec, RejectsNonStringMapKeys) {
  expect_bad(std::string("\x81\x01\x02", 3));
}
TEST(MsgpackCodec, RejectsHugeDeclaredLength) {
  expect_bad(std::string("\xdb\xff\xff\xff\xff", 5));  // str32 of 4 GiB, 0 bytes present
}
// Element counts the body cannot hold (every element takes at least one byte, a map entry two)
// are refused before anything is allocated for them: 4 G elements would be ≈ 100 GB of objects.
TEST(MsgpackCodec, RejectsCountsTheBodyCannotHold) {
  expect_bad(std::string("\xdd\xff\xff\xff\xff", 5));          // array32 of 4 G
  expect_bad(std::string("\xdf\xff\xff\xff\xff", 5));          // map32 of 4 G
  expect_bad(std::string("\xdd\x00\x00\x00\x03\x01\x02", 7));  // array of 3, 2 present
  // Refused by the count, not by running out of bytes after allocating: the limit's error.
  for (const auto& input : {std::string("\xdd\x00\x00\x03\xe8\x01\x02", 7),  // array of 1000
                            std::string("\xdf\x00\x01\x00\x00", 5) + std::string(1000, '\xc0')}) {
    try {
      decode_msgpack(input);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("size overflow"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(decode_msgpack(std::string("\xdd\x00\x00\x00\x02\x01\x02", 7)), Value::array({1, 2}));
}
// Found by fuzzing: NaN would not even equal itself after a round trip, and JSON replies would
// turn it into null.
TEST(MsgpackCodec, RejectsNonFiniteFloats) {
  expect_bad(std::string("\x93\x01\xcb\xff\xff\xff\xff\xff\xff\xff\xff\xc0", 12));  // NaN
  expect_bad(std::string("\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00", 9));               // +inf
  expect_bad(std::string("\xca\xff\x80\x00\x00", 5));                               // -inf f32
}
TEST(MsgpackCodec, RejectsDeepNesting) {
  expect_bad(std::string(1000, '\x91') + "\x01");
}

}  // namespace
}  // namespace dobj
