#include <gtest/gtest.h>

#include "dobj/client/nats_connection.hpp"
#include "dobj/core/error.hpp"

namespace dobj {
namespace {

TEST(NatsServerList, OneUrlIsOneServer) {
  auto list = NatsServerList::parse("nats://127.0.0.1:4222");
  EXPECT_EQ(list.urls, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(list.user, "");
}

TEST(NatsServerList, ACommaSeparatedListIsEveryNodeWithSpacesAndEmptiesDropped) {
  auto list = NatsServerList::parse(" nats://a:4222 ,nats://b:4222,, nats://c:4222\t");
  EXPECT_EQ(list.urls,
            (std::vector<std::string>{"nats://a:4222", "nats://b:4222", "nats://c:4222"}));
}

TEST(NatsServerList, TheFirstCredentialsServeTheServersTheClusterAnnounces) {
  auto list = NatsServerList::parse("nats://h1:4222,nats://dobj:p:w@h2:4222,nats://x:y@h3:4222");
  EXPECT_EQ(list.user, "dobj");
  EXPECT_EQ(list.password, "p:w");  // a password may hold ':'
  auto token = NatsServerList::parse("nats://s3cr3t@h1:4222");
  EXPECT_EQ(token.user, "s3cr3t");
  EXPECT_EQ(token.password, "");
}

TEST(NatsServerList, NoUrlAtAllIsAnError) {
  EXPECT_THROW(NatsServerList::parse(""), TransportError);
  EXPECT_THROW(NatsServerList::parse(" , ,"), TransportError);
}

}  // namespace
}  // namespace dobj
