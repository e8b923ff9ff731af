#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hookrelay/v1/registry.pb.h"
#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::registry {

// Bounds of every input. Defaults are what README "Limits" documents.
struct Limits {
  size_t max_payload_bytes = 256 * 1024;
  size_t max_url_length = 2048;
  int max_event_types = 64;
  int max_filters = 32;
  int max_headers = 32;
  size_t max_header_value = 4096;
  int max_attributes = 32;
  size_t max_template_bytes = 64 * 1024;
  int max_metadata = 32;
  bool allow_http = false;  // plain http:// hook URLs (local development, tests)
};

// Each returns OK or INVALID_ARGUMENT whose message starts with the path of the field at
// fault, e.g. "webhook.url: must use https".
absl::Status ValidateTenant(absl::string_view tenant, absl::string_view field);
absl::Status ValidateUrl(absl::string_view url, const Limits& limits, absl::string_view field);
// Validates a hook as a caller supplies it to CreateWebhook (id and times are the server's).
absl::Status ValidateWebhook(const v1::Webhook& hook, const Limits& limits,
                             absl::string_view field);
absl::Status ValidatePublish(const v1::PublishEventRequest& req, const Limits& limits,
                             absl::string_view field);

}  // namespace hookrelay::registry
