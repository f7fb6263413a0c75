#include "dobj/core/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dobj {
namespace {

using namespace std::string_literals;

TEST(IsText, AcceptsUtf8) {
  EXPECT_TRUE(is_text(""));
  EXPECT_TRUE(is_text("plain ascii"));
  EXPECT_TRUE(is_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_TRUE(is_text("\xF4\x8F\xBF\xBF"));                           // U+10FFFF
}

TEST(IsText, RefusesNul) {
  EXPECT_FALSE(is_text("a\0b"s));
  EXPECT_FALSE(is_text("\0"s));
}

TEST(IsText, RefusesMalformedUtf8) {
  EXPECT_FALSE(is_text("\x80"));              // a continuation byte first
  EXPECT_FALSE(is_text("\xC3"));              // cut short
  EXPECT_FALSE(is_text("\xE2\x82"));          // cut short
  EXPECT_FALSE(is_text("\xC3\x28"));          // bad continuation
  EXPECT_FALSE(is_text("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_text("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_text("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_text("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_text("\xFF"));
}

}  // namespace
}  // namespace dobj
