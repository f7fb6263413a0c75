#include "kv_state.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "dobj/core/error.hpp"
#include "dobj/core/msgpack_codec.hpp"

namespace dobj {
namespace {

// A database stand-in for the loader: committed bytes by key, counting loads.
struct FakeDb {
  std::map<std::string, std::string> rows;
  int loads = 0;
  int range_loads = 0;

  KvState::Loader loader() {
    return {
        [this](const std::string& k) -> std::optional<std::string> {
          ++loads;
          auto it = rows.find(k);
          if (it == rows.end()) return std::nullopt;
          return it->second;
        },
        [this](const std::vector<std::string>& keys) {
          ++loads;
          KvState::Rows out;
          for (const auto& k : keys) {
            if (rows.count(k)) out.emplace_back(k, rows[k]);
          }
          return out;
        },
        [this](const store::KeyRange& r) {
          // What ObjectStore::load_range's SQL does.
          ++range_loads;
          KvState::Rows out;
          for (const auto& [k, v] : rows) {
            if (k.starts_with(r.prefix) && (!r.start || k >= *r.start) && (!r.end || k < *r.end)) {
              out.emplace_back(k, v);
            }
          }
          if (r.reverse) std::reverse(out.begin(), out.end());
          if (r.limit && out.size() > *r.limit) out.resize(*r.limit);
          return out;
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
  auto [cleared, writes] = kv.pending_writes();
  EXPECT_FALSE(cleared);
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
  auto writes = kv.pending_writes().second;
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
}

TEST(KvState, BoundedListOfALazyObjectReadsOnlyWhatCanMatter) {
  FakeDb db;
  for (int i = 0; i < 100; ++i) db.rows["k" + std::to_string(100 + i)] = encode_msgpack(i);
  KvState kv(db.loader());
  kv.del("k199");  // the newest key is deleted by a pending turn
  kv.end_turn(true);
  ListOptions opts;
  opts.reverse = true;
  opts.limit = 3;
  auto last = kv.list(opts);
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[0].first, "k198");
  EXPECT_EQ(last[2].first, "k196");
  EXPECT_EQ(db.range_loads, 1);
}

TEST(KvState, DeleteAllHidesEverythingBeneathAndCommitsAsOne) {
  FakeDb db;
  db.rows["a"] = encode_msgpack(1);
  db.rows["b"] = encode_msgpack(2);
  KvState kv(db.loader());
  kv.put("c", 3);
  kv.end_turn(true);
  kv.delete_all();
  kv.put("d", 4);
  EXPECT_EQ(kv.get("a"), std::nullopt);
  EXPECT_EQ(kv.get("c"), std::nullopt);
  EXPECT_EQ(kv.list({}).size(), 1u);
  kv.end_turn(true);
  auto [cleared, writes] = kv.pending_writes();
  EXPECT_TRUE(cleared);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].key, "d");
  kv.mark_committed();
  EXPECT_EQ(kv.get("b"), std::nullopt);
  EXPECT_EQ(kv.get("d"), Value(4));
}

TEST(KvState, BatchFormsAreAllOrNothingAndBounded) {
  FakeDb db;
  db.rows["a"] = encode_msgpack(1);
  KvState kv(db.loader());
  EXPECT_EQ(kv.get_many({"a", "b"}), (std::map<std::string, Value>{{"a", 1}}));
  EXPECT_THROW(kv.put_many({{"x", 1}, {"", 2}}), Error);
  EXPECT_EQ(kv.get("x"), std::nullopt);
  kv.put_many({{"x", 1}, {"y", 2}});
  EXPECT_EQ(kv.del_many({"x", "a", "nope"}), 2u);
  std::vector<std::string> too_many(129, "k");
  EXPECT_THROW(kv.get_many(too_many), Error);
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
