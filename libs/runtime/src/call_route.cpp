#include "call_route.hpp"

#include <algorithm>

#include "dobj/core/error.hpp"

namespace dobj {

Value CallRoute::to_value() const {
  return Value{{"then", then},
               {"carry", carry},
               {"reply_to", reply_to},
               {"reply_type", reply_type},
               {"reply_key", reply_key},
               {"chain", chain},
               {"deadline_us", deadline_us}};
}

CallRoute CallRoute::from_value(const Value& v) {
  try {
    return CallRoute{v.at("then").get<std::string>(),        v.at("carry"),
                     v.at("reply_to").get<std::string>(),    v.at("reply_type").get<std::string>(),
                     v.at("reply_key").get<std::string>(),   v.at("chain").get<std::string>(),
                     v.at("deadline_us").get<std::int64_t>()};
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kBadRequest, std::string("not a call's route: ") + e.what());
  }
}

int call_depth(const std::string& chain) {
  if (chain.empty()) return 0;
  return 1 + static_cast<int>(std::count(chain.begin(), chain.end(), ','));
}

}  // namespace dobj
