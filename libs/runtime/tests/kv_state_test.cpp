#include "kv_state.hpp"

#include <gtest/gtest.h>

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"

namespace dobj {
namespace {

// A database stand-in for the loader: committed bytes by key, counting loads.
struct FakeDb {
  std::map<std::string, std::string> rows;
  int loads = 0;
  int full_loads = 0;

  KvState::Loader loader() {
    return {[this](const std::string& k) -> std::optional<std::string> {
              ++loads;
              auto it = rows.find(k);
              if (it == rows.end()) return std::nullopt;
              return it->second;
            },
            [this] {
              ++full_loads;
              return std::vector<std::pair<std::string, std::string>>(rows.begin(), rows.end());
            }};
  }
};

TEST(KvState, LoadsLazilyOnceThenServesFromMemory) {
  FakeDb db;
  db.rows["a"] = encode_msgpack(1);
  KvState kv(db.loader());
  EXPECT_EQ(kv.get("a"), Value(1));
  EXPECT_EQ(kv.get("a"), Value(1));
  EXPECT_EQ(kv.get("missing"), std::nullopt);
  EXPECT_EQ(kv.get("missing"), std::nullopt);
  EXPECT_EQ(db.loads, 2);
}

TEST(KvState, AFailedTurnLeavesNoTrace) {
  FakeDb db;
  db.rows["a"] = encode_msgpack(1);
  KvState kv(db.loader());
  kv.put("a", 2);
  kv.end_turn(true);
  kv.put("a", 3);
  kv.put("b", 4);
  EXPECT_TRUE(kv.del("a"));
  kv.end_turn(false);
  EXPECT_EQ(kv.get("a"), Value(2));
  EXPECT_EQ(kv.get("b"), std::nullopt);
  auto writes = kv.pending_writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].key, "a");
  EXPECT_EQ(decode_msgpack(*writes[0].value), Value(2));
}

TEST(KvState, TurnsCoalesceIntoOneWritePerKey) {
  FakeDb db;
  KvState kv(db.loader());
  for (int i = 1; i <= 5; ++i) {
    kv.put("n", i);
    kv.end_turn(true);
  }
  kv.del("gone");
  kv.end_turn(true);
  auto writes = kv.pending_writes();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].key, "gone");
  EXPECT_FALSE(writes[0].value);
  EXPECT_EQ(decode_msgpack(*writes[1].value), Value(5));
  kv.mark_committed();
  EXPECT_FALSE(kv.has_pending());
  EXPECT_EQ(kv.get("n"), Value(5));
}

TEST(KvState, ListMergesDatabasePendingAndTurn) {
  FakeDb db;
  for (auto k : {"a", "b", "c", "d"}) db.rows[k] = encode_msgpack(k);
  db.rows["x1"] = encode_msgpack("x");
  KvState kv(db.loader());
  kv.del("b");
  kv.end_turn(true);
  kv.put("bb", "new");
  auto all = kv.list({});
  std::vector<std::string> keys;
  for (auto& [k, v] : all) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "bb", "c", "d", "x1"}));

  ListOptions opts;
  opts.start = "b";
  opts.end = "d";
  EXPECT_EQ(kv.list(opts).size(), 2u);  // bb, c

  opts = {};
  opts.reverse = true;
  opts.limit = 2;
  auto last_two = kv.list(opts);
  ASSERT_EQ(last_two.size(), 2u);
  EXPECT_EQ(last_two[0].first, "x1");
  EXPECT_EQ(last_two[1].first, "d");

  opts = {};
  opts.prefix = "x";
  EXPECT_EQ(kv.list(opts).size(), 1u);
  EXPECT_EQ(db.full_loads, 1);
}

TEST(KvState, EnforcesKeyAndValueLimits) {
  FakeDb db;
  KvState kv(db.loader());
  try {
    kv.put("", 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
  }
  EXPECT_THROW(kv.get(std::string(2049, 'k')), Error);
  kv.put(std::string(2048, 'k'), 1);
  try {
    kv.put("big", std::string(2 * 1024 * 1024, 'v'));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTooLarge);
  }
}

}  // namespace
}  // namespace dobj
