// The reader side of the Worker: from stream entries to requests handed to the sender.

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "libs/render/renderer.h"
#include "libs/telemetry/log.h"
#include "services/worker/job.h"
#include "services/worker/worker.h"

namespace hookrelay::worker {
namespace {

constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);
constexpr absl::Duration kMaxTimeout = absl::Seconds(30);

}  // namespace

void Worker::Dispatch(std::vector<queue::StreamEntry> entries, store::RedisConnection& conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ += static_cast<int>(entries.size());
    metrics_.inflight.Set(in_flight_);
  }
  std::vector<std::unique_ptr<Job>> jobs;
  jobs.reserve(entries.size());
  for (queue::StreamEntry& e : entries) {
    auto job = std::make_unique<Job>();
    job->entry = std::move(e);
    if (!job->task.ParseFromString(job->entry.task) || job->task.delivery_id().empty()) {
      job->kind = Job::Kind::kPoison;
    } else if (job->entry.deliveries > options_.max_reclaims + 1) {
      job->kind = Job::Kind::kTooManyReclaims;
    }
    if (job->task.has_event()) {  // carried inline (see Publisher): nothing to fetch
      job->event = std::shared_ptr<const v1::Event>(job->task.release_event());
    }
    jobs.push_back(std::move(job));
  }
  absl::Status fetched = FetchMissing(jobs, conn);
  while (!fetched.ok()) {
    telemetry::LogEvery(10, telemetry::LogLevel::kError, "fetching hooks and events failed",
                        {{"error", fetched.ToString()}});
    if (!WaitUnlessStopping(absl::Milliseconds(200))) {
      // Left pending in the group: the next worker process reclaims them.
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ -= static_cast<int>(jobs.size());
      return;
    }
    fetched = FetchMissing(jobs, conn);
  }
  for (std::unique_ptr<Job>& job : jobs) {
    if (job->kind == Job::Kind::kHttp) {
      Send(std::move(job));
    } else {
      Complete(std::move(job));
    }
  }
}

absl::Status Worker::FetchMissing(std::vector<std::unique_ptr<Job>>& jobs,
                                  store::RedisConnection& conn) {
  const absl::Time now = clock_.Now();
  // Each job's hook and event keys, built once. What a job misses in the caches is fetched
  // once per batch, with one MGET per tenant (a tenant's keys share a hash slot): `fetch`
  // maps a key (a view into these vectors, which do not grow) to its index in `gets`.
  std::vector<std::string> hook_keys(jobs.size()), event_keys(jobs.size());
  std::vector<std::pair<absl::string_view, bool>> gets;  // true: a hook
  absl::flat_hash_map<absl::string_view, size_t> fetch;
  absl::flat_hash_map<absl::string_view, std::vector<size_t>> by_tenant;  // indices in gets
  std::vector<absl::string_view> tenants;                                 // MGET order
  auto want = [&](absl::string_view tenant, absl::string_view key, bool is_hook) {
    if (!fetch.emplace(key, gets.size()).second) return;
    auto [it, added] = by_tenant.try_emplace(tenant);
    if (added) tenants.push_back(tenant);
    it->second.push_back(gets.size());
    gets.emplace_back(key, is_hook);
  };
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& job = *jobs[i];
    if (job.kind != Job::Kind::kHttp) continue;
    const v1::DeliveryTask& t = job.task;
    hook_keys[i] = keys_.Hook(t.tenant(), t.webhook_id());
    job.hook = hooks_.Find(hook_keys[i], now);
    if (job.hook == nullptr) want(t.tenant(), hook_keys[i], true);
    if (job.event != nullptr) continue;
    event_keys[i] = keys_.Event(t.tenant(), t.event_id());
    job.event = events_.Find(event_keys[i]);
    if (job.event == nullptr) want(t.tenant(), event_keys[i], false);
  }
  // What this batch fetched, held here by index in `gets`: the caches may drop an entry at
  // any moment (a hook change published for the tenant, a reconnect of the subscriber, event
  // cache eviction), and a job must not then look cancelled or expired.
  std::vector<std::shared_ptr<const CachedHook>> fetched_hooks(gets.size());
  std::vector<std::shared_ptr<const v1::Event>> fetched_events(gets.size());
  if (!gets.empty()) {
    store::Pipeline p;
    std::vector<absl::string_view> argv;
    for (absl::string_view tenant : tenants) {
      argv.assign({"MGET"});
      for (size_t g : by_tenant[tenant]) argv.push_back(gets[g].first);
      p.Add(absl::MakeConstSpan(argv));
    }
    auto replies = conn.Execute(p);
    if (!replies.ok()) return replies.status();
    for (size_t m = 0; m < tenants.size(); ++m) {
      const store::RedisReply& values = (*replies)[m];
      if (values.is_error()) return values.ToStatus();
      const std::vector<size_t>& indices = by_tenant[tenants[m]];
      if (values.elements.size() != indices.size()) {
        return absl::InternalError("redis: unexpected MGET reply");
      }
      for (size_t k = 0; k < indices.size(); ++k) {
        const size_t g = indices[k];
        const store::RedisReply& r = values.elements[k];
        const std::string key(gets[g].first);
        if (gets[g].second) {
          auto hook =
              MakeCachedHook(r.is_nil() ? std::nullopt : std::optional<std::string>(r.str), now);
          hooks_.Put(key, hook);
          fetched_hooks[g] = std::move(hook);
        } else if (!r.is_nil()) {
          auto event = std::make_shared<v1::Event>();
          if (event->ParseFromString(r.str)) {
            events_.Put(key, event, r.str.size());
            fetched_events[g] = std::move(event);
          }
        }
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& job = *jobs[i];
    if (job.kind != Job::Kind::kHttp) continue;
    const v1::DeliveryTask& t = job.task;
    if (job.hook == nullptr) job.hook = fetched_hooks[fetch.at(hook_keys[i])];
    if (job.event == nullptr) job.event = fetched_events[fetch.at(event_keys[i])];
    if (job.hook == nullptr || !job.hook->exists ||
        (!job.hook->hook.enabled() && !t.manual() && !t.test())) {
      job.kind = Job::Kind::kCancelled;
    } else if (job.event == nullptr) {
      job.kind = Job::Kind::kExpired;
    }
  }
  return absl::OkStatus();
}

void Worker::Send(std::unique_ptr<Job> job) {
  std::string key = absl::StrCat(job->task.tenant(), "/", job->task.webhook_id());
  switch (slots_.Acquire(key, job, absl::Now())) {
    case HookSlots::Admit::kGo:
      if (!Launch(std::move(job), key)) OnSlotFreed(key);
      return;
    case HookSlots::Admit::kQueued:
      return;
    case HookSlots::Admit::kDefer:
      job->kind = Job::Kind::kDeferred;
      Complete(std::move(job));
      return;
  }
}

// Renders, signs and submits a job holding a slot of its hook. False (and the job
// completed as a render failure) when it could not be sent; the slot is then still taken.
bool Worker::Launch(std::unique_ptr<Job> job, const std::string& key) {
  const v1::Webhook& hook = job->hook->hook;
  auto rendered = job->hook->renderer.ok() ? job->hook->renderer->Render(*job->event)
                                           : job->hook->renderer.status();
  if (!rendered.ok() || !job->hook->signer.ok()) {
    job->kind = Job::Kind::kRenderFailed;
    job->error = std::string(rendered.ok() ? job->hook->signer.status().message()
                                           : rendered.status().message());
    Complete(std::move(job));
    return false;
  }
  http::HttpRequest req;
  req.url = std::move(rendered->url);
  req.body = std::move(rendered->body);
  req.timeout = hook.timeout_ms() > 0 ? std::min(absl::Milliseconds(hook.timeout_ms()), kMaxTimeout)
                                      : kDefaultTimeout;
  req.headers.reserve(hook.headers_size() + 5);
  req.headers.emplace_back("Content-Type", rendered->content_type);
  if (!hook.user_agent().empty()) req.headers.emplace_back("User-Agent", hook.user_agent());
  for (const auto& [name, value] : hook.headers()) req.headers.emplace_back(name, value);
  std::vector<signing::Header> signature;
  job->started = clock_.Now();
  job->hook->signer->Sign(job->task.delivery_id(), job->started, job->event->occurred_at(),
                          req.body, &signature);
  for (signing::Header& h : signature) {
    req.headers.emplace_back(std::move(h.name), std::move(h.value));
  }
  Job* raw = job.release();
  http::HttpSender& sender =
      *senders_[next_sender_.fetch_add(1, std::memory_order_relaxed) % senders_.size()];
  sender.Submit(std::move(req), [this, raw, key](http::HttpResponse r) {
    std::unique_ptr<Job> done(raw);
    done->response = std::move(r);
    Complete(std::move(done));
    OnSlotFreed(key);
  });
  return true;
}

// Passes a freed slot to the hook's next queued job, if any.
void Worker::OnSlotFreed(const std::string& key) {
  while (std::unique_ptr<Job> next = slots_.Release(key, absl::Now())) {
    if (Launch(std::move(next), key)) return;
  }
}

// Hands the queued jobs of stalled hooks to the recorder to be retried a little later.
void Worker::DeferStalled() {
  for (std::unique_ptr<Job>& job : slots_.TakeStalled(absl::Now())) {
    job->kind = Job::Kind::kDeferred;
    Complete(std::move(job));
  }
}

void Worker::Complete(std::unique_ptr<Job> job) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The recorder waits only on an empty queue; while it writes a batch, completions
    // just pile up for its next one.
    wake = done_.empty();
    done_.push_back(std::move(job));
  }
  if (wake) done_cv_.notify_one();
}

}  // namespace hookrelay::worker
