#pragma once

#include <string>
#include <string_view>

namespace dobj::protocol {

// Subjects of DESIGN.md §2.
constexpr std::string_view kClientPrefix = "obj.";
constexpr std::string_view kInboundPrefix = "dobj.in.";
constexpr std::string_view kEventPrefix = "evt.";
constexpr std::string_view kProbeClass = "DobjProbe";
constexpr std::string_view kProbeMethod = "$probe";
// Published by workers after a commit that set an alarm due within the timers' window.
constexpr const char* kAlarmHintSubject = "dobj.sys.alarm.hint";

// A message as the worker receives it: dobj.in.<p>.<class>.<id>.<method>.
struct InboundSubject {
  int partition = 0;
  std::string class_name;
  std::string object_id;
  std::string method;  // a method name, or a system method such as "$alarm"
};

// Throws Error(kBadRequest) naming the bad token.
InboundSubject parse_inbound_subject(std::string_view subject);

std::string client_subject(std::string_view class_name, std::string_view object_id,
                           std::string_view method);
std::string inbound_subject(int partition, std::string_view class_name, std::string_view object_id,
                            std::string_view method);
// Wildcard subscription for one partition: dobj.in.<p>.>
std::string partition_subscription(int partition);
std::string event_subject(std::string_view class_name, std::string_view object_id,
                          std::string_view topic);

}  // namespace dobj::protocol
