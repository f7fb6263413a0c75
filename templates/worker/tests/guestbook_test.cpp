// The class without servers: dobj::ObjectHarness runs it turn by turn in memory.
#include <gtest/gtest.h>
#include <dobj/testing.hpp>

#include "guestbook.hpp"

namespace {

using namespace std::chrono_literals;

dobj::ClassRegistry registry() {
  dobj::ClassRegistry r;
  guestbook::register_classes(r);
  return r;
}

TEST(Guestbook, SigningNumbersEntriesAndPublishesThem) {
  auto classes = registry();
  dobj::ObjectHarness book(classes, "Guestbook", "home");
  EXPECT_EQ(book.call("sign", {{"name", "ada"}, {"message", "hello"}}), 1);
  book.clock().advance(5s);
  EXPECT_EQ(book.call("sign", {{"name", "grace"}, {"message", "hi"}}), 2);

  auto entries = book.call("entries");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["name"], "ada");
  EXPECT_EQ(entries[1]["signed_at_ms"].get<std::int64_t>() -
                entries[0]["signed_at_ms"].get<std::int64_t>(),
            5000);
  auto events = book.take_events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].topic, "signed");
  EXPECT_EQ(events[1].payload["message"], "hi");
}

TEST(Guestbook, BadSignaturesAreRefusedAndKeepNothing) {
  auto classes = registry();
  dobj::ObjectHarness book(classes, "Guestbook", "home");
  for (const dobj::Value& bad : {dobj::Value({{"name", ""}, {"message", "x"}}),
                                 dobj::Value({{"message", "no name"}}), dobj::Value(42)}) {
    try {
      book.call("sign", bad);
      ADD_FAILURE() << bad.dump() << " was accepted";
    } catch (const dobj::Error& e) {
      EXPECT_EQ(e.code(), dobj::ErrorCode::kBadRequest) << bad.dump();
    }
  }
  EXPECT_TRUE(book.stored().empty());
  EXPECT_TRUE(book.take_events().empty());
}

TEST(Guestbook, EntriesSurviveEviction) {
  auto classes = registry();
  dobj::ObjectHarness book(classes, "Guestbook", "home");
  book.call("sign", {{"name", "ada"}, {"message", "hello"}});
  book.evict();  // the next call activates it from what it stored
  EXPECT_EQ(book.call("entries").size(), 1u);
  EXPECT_EQ(book.call("sign", {{"name", "ada"}, {"message", "again"}}), 2);
}

}  // namespace
