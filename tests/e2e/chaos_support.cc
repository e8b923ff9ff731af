#include "tests/e2e/chaos_support.h"

#include "absl/strings/str_cat.h"
#include "tests/e2e/verifiers.h"
#include "tests/support/wait.h"

namespace hookrelay::testing {

Reply FlakyReceiver::Handle(const ReceivedRequest& r) {
  const int n = requests_.fetch_add(1);
  switch (n % 9) {
    case 0:
      return Reply{.status = 500};
    case 3:
      return Reply{.fault = Reply::Fault::kReset};
    case 6:
      return Reply{.fault = Reply::Fault::kHang};  // the hook's timeout fires
    default:
      break;
  }
  if (!SignatureValid(r)) {
    ++bad_signatures_;
    return Reply{.status = 401};
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++accepted_[r.headers.at("webhook-id")];
  return Reply{.status = 204};
}

bool FlakyReceiver::SignatureValid(const ReceivedRequest& r) const {
  if (secrets_.empty()) return true;
  auto header = [&](const char* name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  for (const std::string& secret : secrets_) {
    auto expected = StandardWebhooksSignature(secret, header("webhook-id"),
                                              header("webhook-timestamp"), r.body);
    if (expected && HeaderHoldsSignature(header("webhook-signature"), *expected)) return true;
  }
  return false;
}

size_t FlakyReceiver::Unique() {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_.size();
}

int FlakyReceiver::Duplicates() {
  std::lock_guard<std::mutex> lock(mu_);
  int d = 0;
  for (const auto& [id, n] : accepted_) d += n - 1;
  return d;
}

bool PublishAll(Stack& stack, const PublishPlanOptions& plan, std::atomic<int>* acknowledged) {
  for (int start = 0; start < plan.events; start += plan.batch) {
    v1::PublishEventsRequest req;
    const int end = std::min(plan.events, start + plan.batch);
    for (int i = start; i < end; ++i) {
      v1::PublishEventRequest* e = req.add_events();
      e->set_tenant(plan.tenants[static_cast<size_t>(i) % plan.tenants.size()]);
      e->set_type("order.paid");
      e->set_payload(absl::StrCat(R"({"order":)", i, "}"));
      e->set_idempotency_key(absl::StrCat(plan.key_prefix, i));
    }
    v1::PublishEventsResponse resp;
    // UNAVAILABLE while Redis restarts or fails over: the idempotency keys make a retry safe.
    const bool ok =
        WaitFor([&] { return stack.stub().PublishEvents(stack.Context().get(), req, &resp).ok(); },
                plan.give_up, absl::Milliseconds(50));
    if (!ok) return false;
    *acknowledged += end - start;
    if (plan.pause > absl::ZeroDuration()) absl::SleepFor(plan.pause);
  }
  return true;
}

}  // namespace hookrelay::testing
