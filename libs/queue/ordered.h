#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/store/keys.h"
#include "libs/store/redis_client.h"

namespace hookrelay::queue {

// Ordered delivery: per (hook, ordering key) a list in the tenant's shard
// (<p>{T}:t:<t>:hook:<id>:ord:<key>) holds the deliveries in publish order as
// "<delivery id> <task>". Only its head is ever in the stream or the retry set, so one
// delivery per key is out at a time across every worker; retries, deferrals and reclaims
// keep the head where it is. The head's end (success, FAILED unless the hook holds its keys
// on failure, cancelled, expired) pops it and appends the next one's task to the stream in
// the same transaction as its record, so a worker killed at any point loses no key: its
// entry is reclaimed after the visibility timeout and the key carries on. Each function adds
// one EVAL (by source: they run inside MULTI, where a lost script cache could not be
// recovered) naming the list and the shard's stream, both of the tenant's hash slot.
// Deliveries of unordered hooks never come here.
struct OrderedTask {
  std::string tenant;
  std::string hook_id;
  std::string ordering_key;
  std::string delivery_id;
};

// A publish's tasks: tasks[i] to the shard's stream, or to its key's queue when ordered[i]
// names a key (`ordered` is empty or as long as `tasks`).
void AddPlanTasks(const store::KeySchema& keys, int shard, const std::vector<std::string>& tasks,
                  const std::vector<OrderedTask>& ordered, store::Pipeline* p);
// A new delivery: joins the end of its key's list; sent at once when the list was empty.
void AddOrderedTask(const store::KeySchema& keys, const OrderedTask& t, absl::string_view task,
                    store::Pipeline* p);
// A delivery sent again (RedeliverDelivery, RecoverWebhook): sent at once when it heads its
// key's list (a head held after failing); left alone while it waits in the list; otherwise
// it joins the end like a new one, so it never overtakes what was published after it and is
// still waiting.
void AddOrderedRequeue(const store::KeySchema& keys, const OrderedTask& t, absl::string_view task,
                       store::Pipeline* p);
// The end of delivery `t`: when it heads its key's list, pops it and sends the next one.
void AddOrderedRelease(const store::KeySchema& keys, const OrderedTask& t, store::Pipeline* p);

}  // namespace hookrelay::queue
