#include "services/worker/dispatcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/queue/retry_policy.h"
#include "libs/store/batch_fetch.h"
#include "libs/telemetry/log.h"

namespace hookrelay::worker {

absl::Status DispatcherOptions::Validate() const {
  if (slots.per_hook < 1)
    return absl::InvalidArgumentError("max_in_flight_per_hook: must be positive");
  if (slots.queue_per_hook < 0) {
    return absl::InvalidArgumentError("queue_per_hook: must be >= 0");
  }
  if (slots.stalled_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stalled_hook_after: must be positive");
  }
  if (max_reclaims < 0) return absl::InvalidArgumentError("max_reclaims: must be >= 0");
  if (gate.queue_per_hook < 1) {
    return absl::InvalidArgumentError("gate.queue_per_hook: must be positive");
  }
  return absl::OkStatus();
}

Dispatcher::Dispatcher(DispatcherOptions options, const store::KeySchema& keys, core::Clock& clock,
                       RequestSender& sender, JobSink& sink)
    : options_(options),
      keys_(keys),
      clock_(clock),
      sender_(sender),
      sink_(sink),
      hooks_(options_.hook_cache_ttl),
      events_(options_.event_cache_bytes),
      slots_(options_.slots),
      gate_(options_.gate) {}

std::string Dispatcher::EventKey(const v1::DeliveryTask& t) {
  return absl::StrCat(t.tenant(), "/", t.event_id());
}

std::vector<std::unique_ptr<Job>> Dispatcher::Prepare(
    std::vector<queue::StreamEntry> entries) const {
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
    if (job->task.has_event()) {  // carried inline (see queue::Publisher): nothing to fetch
      job->event = std::shared_ptr<const v1::Event>(job->task.release_event());
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::Status Dispatcher::Fetch(std::vector<std::unique_ptr<Job>>& jobs,
                               store::RedisConnection& conn) {
  const absl::Time now = clock_.Now();
  store::BatchFetch fetch(keys_);
  // Per job, the index in `fetch` of what it still needs; npos when nothing.
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> hook_at(jobs.size(), kNone), event_at(jobs.size(), kNone);
  std::vector<std::shared_ptr<const CachedHook>> hooks(jobs.size());
  std::vector<std::shared_ptr<const v1::Event>> events(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = *jobs[i];
    if (job.kind != Job::Kind::kHttp) continue;
    const v1::DeliveryTask& t = job.task;
    hooks[i] = hooks_.Find(t.tenant(), t.webhook_id(), t.hooks_version(), now);
    if (hooks[i] == nullptr) hook_at[i] = fetch.AddHook(t.tenant(), t.webhook_id());
    events[i] = job.event != nullptr ? job.event : events_.Find(EventKey(t));
    if (events[i] == nullptr) event_at[i] = fetch.AddEvent(t.tenant(), t.event_id());
  }
  if (absl::Status st = fetch.Run(conn); !st.ok()) return st;
  // What this batch fetched is held by the jobs themselves: the caches may drop an entry at
  // any moment (a hook change published for the tenant, event cache eviction), and a job must
  // not then look cancelled or expired.
  std::vector<std::shared_ptr<const CachedHook>> made(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& job = *jobs[i];
    if (job.kind != Job::Kind::kHttp) continue;
    const v1::DeliveryTask& t = job.task;
    if (hook_at[i] != kNone) {
      hooks[i] = MakeCachedHook(fetch.hook(hook_at[i]), fetch.hook_version(hook_at[i]), now);
      hooks_.Put(t.tenant(), t.webhook_id(), hooks[i]);
    }
    if (event_at[i] != kNone && fetch.event(event_at[i]) != nullptr) {
      events[i] = fetch.event(event_at[i]);
      events_.Put(EventKey(t), events[i], fetch.event_bytes(event_at[i]));
    }
    job.hook = std::move(hooks[i]);
    job.event = std::move(events[i]);
    if (!job.hook->exists || (!job.hook->hook.enabled() && !t.manual() && !t.test())) {
      job.kind = Job::Kind::kCancelled;
    } else if (job.event == nullptr) {
      job.kind = Job::Kind::kExpired;
    }
  }
  return absl::OkStatus();
}

void Dispatcher::Launch(std::vector<std::unique_ptr<Job>> jobs) {
  for (std::unique_ptr<Job>& job : jobs) {
    if (job->kind == Job::Kind::kHttp && gate_.Holds(*job)) {
      if (std::unique_ptr<Job> back = gate_.Admit(std::move(job), clock_.Now())) {
        sink_.Finish(std::move(back));
      }
    } else if (job->kind == Job::Kind::kHttp) {
      Start(std::move(job));
    } else {
      sink_.Finish(std::move(job));
    }
  }
}

void Dispatcher::Start(std::unique_ptr<Job> job) {
  std::string key = job->HookKey();
  switch (slots_.Acquire(key, job, clock_.Now())) {
    case HookSlots::Admit::kGo:
      if (!Send(std::move(job), key)) OnSlotFreed(key);
      return;
    case HookSlots::Admit::kQueued:
      return;
    case HookSlots::Admit::kDefer:
      job->kind = Job::Kind::kDeferred;
      sink_.Finish(std::move(job));
      return;
  }
}

bool Dispatcher::Send(std::unique_ptr<Job> job, const std::string& key) {
  const v1::Webhook& hook = job->hook->hook;
  auto rendered = job->hook->renderer.ok() ? job->hook->renderer->Render(*job->event)
                                           : job->hook->renderer.status();
  if (!rendered.ok() || !job->hook->signer.ok()) {
    job->kind = Job::Kind::kRenderFailed;
    job->error = std::string(rendered.ok() ? job->hook->signer.status().message()
                                           : rendered.status().message());
    sink_.Finish(std::move(job));
    return false;
  }
  http::HttpRequest req;
  req.url = std::move(rendered->url);
  req.body = std::move(rendered->body);
  req.timeout = http::DeliveryTimeout(hook.timeout_ms());
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
  sender_.Submit(std::move(req), [this, raw, key](http::HttpResponse r) {
    std::unique_ptr<Job> done(raw);
    done->response = std::move(r);
    PauseIfAsked(*done, key);
    sink_.Finish(std::move(done));
    OnSlotFreed(key);
  });
  return true;
}

void Dispatcher::OnSlotFreed(const std::string& key) {
  while (std::unique_ptr<Job> next = slots_.Release(key, clock_.Now())) {
    if (Send(std::move(next), key)) return;
  }
}

void Dispatcher::PauseIfAsked(const Job& job, const std::string& key) {
  const http::HttpResponse& r = job.response;
  if ((r.status != 429 && r.status != 503) || r.retry_after.empty()) return;
  const absl::Time now = clock_.Now();
  std::optional<absl::Duration> wait = queue::ParseRetryAfter(r.retry_after, now);
  if (!wait.has_value() || *wait <= absl::ZeroDuration()) return;
  const v1::Webhook& hook = job.hook->hook;
  const absl::Duration cap = hook.retry_policy().max_retry_after_ms() > 0
                                 ? absl::Milliseconds(hook.retry_policy().max_retry_after_ms())
                                 : queue::kDefaultMaxRetryAfter;
  const absl::Duration pause = std::min(*wait, cap);
  if (!gate_.Pause(key, now + pause)) return;
  telemetry::LogInfo("receiver asked to slow down: hook paused on every worker",
                     {{"tenant", job.task.tenant()},
                      {"webhook_id", job.task.webhook_id()},
                      {"status", r.status},
                      {"pause_ms", static_cast<long long>(absl::ToInt64Milliseconds(pause))}});
  PauseNotice notice{job.task.tenant(), job.task.webhook_id(), std::nullopt, now + pause};
  if (hook.has_rate_limit()) notice.spec = queue::RateSpec::Of(hook.rate_limit());
  std::lock_guard<std::mutex> lock(pauses_mu_);
  pauses_.push_back(std::move(notice));
}

std::vector<Dispatcher::PauseNotice> Dispatcher::TakePauses() {
  std::lock_guard<std::mutex> lock(pauses_mu_);
  return std::exchange(pauses_, {});
}

void Dispatcher::ReleaseDue() {
  for (std::unique_ptr<Job>& job : gate_.TakeDue(clock_.Now())) {
    if (job->kind == Job::Kind::kDeferred) {
      sink_.Finish(std::move(job));
    } else {
      Start(std::move(job));
    }
  }
}

std::vector<std::unique_ptr<Job>> Dispatcher::TakeQueued() {
  std::vector<std::unique_ptr<Job>> out = slots_.TakeAll();
  for (std::unique_ptr<Job>& job : gate_.TakeAll()) out.push_back(std::move(job));
  return out;
}

void Dispatcher::DeferStalled() {
  for (std::unique_ptr<Job>& job : slots_.TakeStalled(clock_.Now())) {
    job->kind = Job::Kind::kDeferred;
    sink_.Finish(std::move(job));
  }
}

}  // namespace hookrelay::worker
