#include "dobj/core/redact.hpp"

#include <gtest/gtest.h>

namespace dobj {
namespace {

TEST(Redact, HidesThePasswordOfANatsUrl) {
  EXPECT_EQ(redact("nats://dobj:dobj-dev@127.0.0.1:4222"), "nats://dobj:***@127.0.0.1:4222");
}

TEST(Redact, KeepsUrlsWithoutSecrets) {
  EXPECT_EQ(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
  EXPECT_EQ(redact("nats://token-less-user@h:1"), "nats://token-less-user@h:1");
  EXPECT_EQ(redact("postgresql://postgres@127.0.0.1:55432/dobj"),
            "postgresql://postgres@127.0.0.1:55432/dobj");
  EXPECT_EQ(redact(""), "");
}

TEST(Redact, HidesEveryUrlOfAServerList) {
  EXPECT_EQ(redact("nats://a:x@h1:1,nats://b:y@h2:2"), "nats://a:***@h1:1,nats://b:***@h2:2");
}

TEST(Redact, HidesPostgresUriPasswordsInUserinfoAndQuery) {
  EXPECT_EQ(redact("postgresql://svc:p@ss@db:5432/dobj"), "postgresql://svc:***@db:5432/dobj");
  EXPECT_EQ(redact("postgresql://db/dobj?user=svc&password=hunter2&sslmode=require"),
            "postgresql://db/dobj?user=svc&password=***&sslmode=require");
}

TEST(Redact, HidesLibpqKeywordPasswordsQuotedOrNot) {
  EXPECT_EQ(redact("host=db password=hunter2 dbname=dobj"), "host=db password=*** dbname=dobj");
  EXPECT_EQ(redact("host=db password='a b\\' c' dbname=dobj"), "host=db password=*** dbname=dobj");
  EXPECT_EQ(redact("password=x"), "password=***");
}

TEST(Redact, LeavesLookalikeKeywordsAlone) {
  EXPECT_EQ(redact("host=db old_password=x"), "host=db old_password=x");
}

}  // namespace
}  // namespace dobj
