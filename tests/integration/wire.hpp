#pragma once

// Raw wire helpers for integration tests: requests exactly as any NATS client sends them.
#include <gtest/gtest.h>

#include "dobj/client/nats_connection.hpp"
#include "dobj/protocol/codec.hpp"
#include "dobj/protocol/headers.hpp"

namespace dobj::testing {

struct WireReply {
  std::string status;
  std::string content_type;
  Value body;
};

inline WireReply raw_call(NatsConnection& nats, const std::string& subject, const std::string& body,
                          const std::string& content_type = "",
                          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::map<std::string, std::string> headers;
  if (!content_type.empty()) headers[protocol::kContentTypeHeader] = content_type;
  auto reply = nats.request(subject, body, headers, timeout);
  EXPECT_FALSE(reply.no_responders) << subject;
  WireReply out;
  out.status = reply.header(protocol::kStatusHeader).value_or("");
  out.content_type = reply.header(protocol::kContentTypeHeader).value_or("");
  out.body =
      protocol::decode_body(protocol::content_type_from_header(out.content_type), reply.body);
  return out;
}

// The error code of an error reply, "" for a success.
inline std::string error_code(const WireReply& r) {
  if (r.status != protocol::kStatusError) return "";
  EXPECT_TRUE(r.body.contains("error")) << r.body.dump();
  EXPECT_TRUE(r.body["error"].contains("message"));
  EXPECT_TRUE(r.body["error"].contains("retryable"));
  return r.body["error"].value("code", "");
}

}  // namespace dobj::testing
