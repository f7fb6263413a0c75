// How a shard claims its objects (DESIGN.md §5): in one statement per batch before their
// first turn, and for objects whose messages arrive while a batch commits, on a second
// connection while that commit runs (HostConfig::claim_ahead).
#include <algorithm>

#include "dobj/core/logging.hpp"
#include "shard.hpp"

namespace dobj {

void Shard::claim(const std::vector<Instance*>& instances) {
  if (instances.empty()) return;
  if (!lease_valid()) {
    // Fenced or between registrations: claiming now would only bump epochs for nothing, and
    // another worker may own these messages' partitions by now, so they get no answer at all.
    for (auto* inst : instances) {
      queued_ -= inst->inbox.size();
      inst->inbox.clear();
      inst->phase = Phase::kLost;
    }
    return;
  }
  std::vector<store::ClaimRequest> requests;
  for (auto* inst : instances) {
    inst->phase = Phase::kUnclaimed;
    inst->object.reset();
    requests.push_back(claim_request(*inst));
  }
  std::vector<std::optional<store::ObjectLease>> leases;
  std::optional<Error> failure;
  try {
    if (!store_) throw Error(ErrorCode::kStorageError, "no database connection");
    leases = store_->claim_many(requests);
  } catch (const Error& e) {
    failure = e;
  }
  settle_claims(instances, leases, failure, false);
}

store::ClaimRequest Shard::claim_request(const Instance& inst) {
  return {inst.class_name, inst.object_id, inst.partition};
}

void Shard::settle_claims(const std::vector<Instance*>& instances,
                          const std::vector<std::optional<store::ObjectLease>>& leases,
                          const std::optional<Error>& failure, bool ahead) {
  std::size_t refused = 0;
  const Instance* example = nullptr;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    Instance& inst = *instances[i];
    if (!failure && leases[i]) {
      inst.lease = *leases[i];
      inst.kv = make_kv(inst);
      inst.alarm = std::make_unique<AlarmState>(inst.lease.alarm);
      inst.phase = Phase::kActive;
      try {
        if (inst.def->eager_load) inst.kv->load_everything();
        continue;
      } catch (const Error& e) {
        fail_inbox(inst, e);
      }
    } else {
      if (!failure) {
        ++refused;
        if (!example) example = &inst;
      }
      fail_inbox(inst, failure ? *failure
                               : Error(ErrorCode::kMoved,
                                       "object is not served by this worker right now; retry"));
    }
    // The instance goes with the next eviction sweep.
    inst.phase = Phase::kLost;
  }
  if (config_.observer && !failure) {
    config_.observer->claimed(instances.size() - refused, refused, ahead);
  }
  if (refused > 0) {
    // The host serves these partitions, the database says another worker does: a window in
    // which a message may reach two workers (docs/performance.md, "Tried and dropped"), logged
    // so that a chaos run can tell which worker refused what, and when.
    log_->warn(
        "shard {}: {} objects refused (e.g. {}/{} in partition {}): the database does "
        "not give their partitions to worker {}",
        index_, refused, example->class_name, example->object_id, example->partition, worker_id_);
  }
}

std::optional<Shard::ClaimsAhead> Shard::claim_ahead() {
  if (!config_.claim_ahead || abandoned_ || !lease_valid()) return std::nullopt;
  receive_messages();
  ClaimsAhead ahead;
  std::vector<store::ClaimRequest> requests;
  for (Instance* inst : ready_) {
    // Only instances never claimed: none of them is in the batch being committed, whose
    // objects' phases its output gate reads.
    if (inst->phase != Phase::kUnclaimed || inst->object) continue;
    ahead.instances.push_back(inst);
    requests.push_back(claim_request(*inst));
  }
  if (requests.empty()) return std::nullopt;
  try {
    if (!claim_store_) {
      claim_store_ = std::make_unique<store::ObjectStore>(claim_conn_.get(), worker_id_, 0);
    }
  } catch (const Error& e) {
    log_->warn("shard {}: no connection to claim ahead on ({}); claiming in turn", index_,
               e.what());
    return std::nullopt;
  }
  ahead.drops = drops_;
  ahead.leases =
      std::async(std::launch::async, [store = claim_store_.get(), requests = std::move(requests)] {
        return store->claim_many(requests);
      });
  return ahead;
}

void Shard::settle_claims_ahead(std::optional<ClaimsAhead> ahead) {
  if (!ahead) return;
  std::vector<std::optional<store::ObjectLease>> leases;
  try {
    leases = ahead->leases.get();
  } catch (const std::exception& e) {
    // Unclaimed they stay, and the next iteration claims them on the shard's own connection
    // (a claim that did happen only cost an epoch).
    log_->warn("shard {}: claiming {} objects ahead failed ({}); claiming in turn", index_,
               ahead->instances.size(), e.what());
    claim_store_.reset();
    claim_conn_.reset();
    return;
  }
  // Dropped meanwhile (lease lost, fenced): the instances are gone, and the claims only cost
  // epochs. Without the shard's own connection their eager loads could not run.
  if (ahead->drops != drops_ || !store_) return;
  settle_claims(ahead->instances, leases, std::nullopt, true);
  ++claims_ahead_;
  // The refused were answered: nothing of theirs waits for a turn.
  ready_.erase(std::remove_if(ready_.begin(), ready_.end(),
                              [](const Instance* inst) { return inst->inbox.empty(); }),
               ready_.end());
}

}  // namespace dobj
