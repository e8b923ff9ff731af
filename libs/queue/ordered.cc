#include "libs/queue/ordered.h"

#include "absl/strings/str_cat.h"
#include "libs/queue/task_queue.h"

namespace hookrelay::queue {
namespace {

using store::KeySchema;

// KEYS: the key's list, the shard's stream. ARGV: "<delivery id> <task>", the task field,
// the task.
constexpr absl::string_view kEnqueue = R"lua(
if redis.call('RPUSH', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', ARGV[2], ARGV[3])
end
return 1
)lua";

// KEYS: the key's list, the shard's stream. ARGV: "<delivery id> <task>", the task field,
// the task, "<delivery id> ".
constexpr absl::string_view kRequeue = R"lua(
local n = #ARGV[4]
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i, item in ipairs(items) do
  if string.sub(item, 1, n) == ARGV[4] then
    if i == 1 then redis.call('XADD', KEYS[2], '*', ARGV[2], ARGV[3]) end
    return i
  end
end
if redis.call('RPUSH', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', ARGV[2], ARGV[3])
end
return 0
)lua";

// KEYS: the key's list, the shard's stream. ARGV: "<delivery id> ", the task field.
constexpr absl::string_view kRelease = R"lua(
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[1])
local next = redis.call('LINDEX', KEYS[1], 0)
if next then
  local at = string.find(next, ' ', 1, true)
  redis.call('XADD', KEYS[2], '*', ARGV[2], string.sub(next, at + 1))
end
return 1
)lua";

std::string Head(const OrderedTask& t) { return absl::StrCat(t.delivery_id, " "); }

void AddScript(const KeySchema& keys, absl::string_view script, const OrderedTask& t,
               std::initializer_list<absl::string_view> args, store::Pipeline* p) {
  const std::string list = keys.OrderQueue(t.tenant, t.hook_id, t.ordering_key);
  const std::string stream = keys.StreamOf(t.tenant);
  std::vector<absl::string_view> argv = {"EVAL", script, "2", list, stream};
  argv.insert(argv.end(), args.begin(), args.end());
  p->Add(absl::MakeConstSpan(argv));
}

}  // namespace

void AddPlanTasks(const KeySchema& keys, int shard, const std::vector<std::string>& tasks,
                  const std::vector<OrderedTask>& ordered, store::Pipeline* p) {
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (i < ordered.size() && !ordered[i].ordering_key.empty()) {
      AddOrderedTask(keys, ordered[i], tasks[i], p);
    } else {
      AddTask(keys, shard, tasks[i], p);
    }
  }
}

void AddOrderedTask(const KeySchema& keys, const OrderedTask& t, absl::string_view task,
                    store::Pipeline* p) {
  const std::string item = absl::StrCat(Head(t), task);
  AddScript(keys, kEnqueue, t, {item, KeySchema::kTaskField, task}, p);
}

void AddOrderedRequeue(const KeySchema& keys, const OrderedTask& t, absl::string_view task,
                       store::Pipeline* p) {
  const std::string item = absl::StrCat(Head(t), task);
  const std::string head = Head(t);
  AddScript(keys, kRequeue, t, {item, KeySchema::kTaskField, task, head}, p);
}

void AddOrderedRelease(const KeySchema& keys, const OrderedTask& t, store::Pipeline* p) {
  const std::string head = Head(t);
  AddScript(keys, kRelease, t, {head, KeySchema::kTaskField}, p);
}

}  // namespace hookrelay::queue
