#include "dobj/core/names.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"

namespace dobj {
namespace {

TEST(Names, ClassNames) {
  EXPECT_TRUE(is_valid_class_name("Counter"));
  EXPECT_TRUE(is_valid_class_name("a_1"));
  EXPECT_TRUE(is_valid_class_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_class_name(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_class_name(""));
  EXPECT_FALSE(is_valid_class_name("1abc"));
  EXPECT_FALSE(is_valid_class_name("_abc"));
  EXPECT_FALSE(is_valid_class_name("a-b"));
  EXPECT_FALSE(is_valid_class_name("a.b"));
}

TEST(Names, ObjectIds) {
  EXPECT_TRUE(is_valid_object_id("general"));
  EXPECT_TRUE(is_valid_object_id("user@example:1+2=3-4_5"));
  EXPECT_TRUE(is_valid_object_id(std::string(200, 'x')));
  EXPECT_FALSE(is_valid_object_id(std::string(201, 'x')));
  EXPECT_FALSE(is_valid_object_id(""));
  EXPECT_FALSE(is_valid_object_id("a.b"));
  EXPECT_FALSE(is_valid_object_id("a b"));
  EXPECT_FALSE(is_valid_object_id("a*"));
  EXPECT_FALSE(is_valid_object_id("a>"));
  EXPECT_FALSE(is_valid_object_id("bad!"));
}

TEST(Names, Methods) {
  EXPECT_TRUE(is_valid_method_name("inc"));
  EXPECT_TRUE(is_valid_method_name("_private"));
  EXPECT_FALSE(is_valid_method_name("$alarm"));
  EXPECT_TRUE(is_system_method("$alarm"));
  EXPECT_FALSE(is_system_method("$"));
  EXPECT_FALSE(is_valid_method_name("9lives"));
  EXPECT_FALSE(is_valid_method_name(std::string(65, 'm')));
}

TEST(Names, IdFromNameIsSha256OfClassNulName) {
  // printf 'ChatRoom\0general' | sha256sum
  EXPECT_EQ(object_id_from_name("ChatRoom", "general"),
            "cbdbc21a38bbfdb084a42f7e284863ed16d0601a162e66de764cb61b3becebc9");
}

TEST(Names, SchemaNameIsStableAndShort) {
  auto a = object_schema_name("Counter", "c1");
  EXPECT_EQ(a, object_schema_name("Counter", "c1"));
  EXPECT_NE(a, object_schema_name("Counter", "c2"));
  EXPECT_EQ(a.size(), 34u);
  EXPECT_EQ(a.substr(0, 2), "o_");
}

TEST(ErrorCodes, WireNamesRoundTrip) {
  for (auto code :
       {ErrorCode::kBadRequest, ErrorCode::kNoSuchClass, ErrorCode::kNoSuchMethod,
        ErrorCode::kHandlerError, ErrorCode::kStorageError, ErrorCode::kOverloaded,
        ErrorCode::kMoved, ErrorCode::kTimeout, ErrorCode::kTooLarge, ErrorCode::kUnknownOutcome}) {
    EXPECT_EQ(error_code_from_string(to_string(code)), code);
  }
  EXPECT_FALSE(error_code_from_string("nope"));
  EXPECT_TRUE(is_retryable(ErrorCode::kMoved));
  EXPECT_TRUE(is_retryable(ErrorCode::kOverloaded));
  EXPECT_FALSE(is_retryable(ErrorCode::kBadRequest));
  EXPECT_FALSE(is_retryable(ErrorCode::kHandlerError));
  EXPECT_FALSE(is_retryable(ErrorCode::kUnknownOutcome));
}

}  // namespace
}  // namespace dobj
