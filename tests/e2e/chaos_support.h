#pragma once

// What the chaos e2e tests share: a receiver that fails a third of its requests and counts
// the accepted ones per webhook-id (checking each signature), and a publisher that keeps
// retrying a batch (safe: every event carries an idempotency key) while Redis is down.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/e2e/stack.h"
#include "tests/support/http_receiver.h"

namespace hookrelay::testing {

class FlakyReceiver {
 public:
  // Accepted requests must carry a valid Standard Webhooks signature by one of `secrets`
  // (set before the first request); an empty list skips the check.
  void ExpectSecrets(std::vector<std::string> secrets) { secrets_ = std::move(secrets); }
  // 500, reset or hang for one request in three; 204 for the others.
  Reply Handle(const ReceivedRequest& r);

  size_t Unique();   // distinct webhook-ids accepted
  int Duplicates();  // accepted more than once, beyond the first
  int BadSignatures() const { return bad_signatures_.load(); }
  int requests() const { return requests_.load(); }

 private:
  bool SignatureValid(const ReceivedRequest& r) const;

  std::vector<std::string> secrets_;
  std::atomic<int> requests_{0};
  std::atomic<int> bad_signatures_{0};
  std::mutex mu_;
  std::map<std::string, int> accepted_;
};

struct PublishPlanOptions {
  int events = 0;
  int batch = 100;
  std::vector<std::string> tenants = {"acme"};  // event i goes to tenants[i % size]
  std::string key_prefix = "chaos-";            // idempotency key: prefix + i
  absl::Duration pause = absl::ZeroDuration();  // between batches
  absl::Duration give_up = absl::Seconds(60);   // retrying one batch
};

// Publishes the events in batches (PublishEvents), retrying a batch until it is acknowledged;
// `acknowledged` counts the events of acknowledged batches. Returns false if a batch was
// never acknowledged within `give_up`.
bool PublishAll(Stack& stack, const PublishPlanOptions& plan, std::atomic<int>* acknowledged);

}  // namespace hookrelay::testing
