#include "services/worker/outcome.h"

namespace hookrelay::worker {

v1::ErrorClass ClassifyError(const http::HttpResponse& r) {
  switch (r.failure) {
    case http::FailureKind::kNone:
      break;
    case http::FailureKind::kTimeout:
      return v1::ERROR_CLASS_TIMEOUT;
    case http::FailureKind::kDns:
      return v1::ERROR_CLASS_DNS;
    case http::FailureKind::kTls:
      return v1::ERROR_CLASS_TLS;
    case http::FailureKind::kBlocked:
      return v1::ERROR_CLASS_BLOCKED;
    case http::FailureKind::kInvalidTarget:
      return v1::ERROR_CLASS_INVALID_TARGET;
    case http::FailureKind::kConnect:
    case http::FailureKind::kAborted:
      return v1::ERROR_CLASS_CONNECT;
  }
  if (r.status >= 200 && r.status < 300) return v1::ERROR_CLASS_UNSPECIFIED;
  if (r.status >= 400 && r.status < 500) return v1::ERROR_CLASS_HTTP_4XX;
  if (r.status >= 500 && r.status < 600) return v1::ERROR_CLASS_HTTP_5XX;
  return v1::ERROR_CLASS_HTTP_OTHER;
}

const char* FailureReason(v1::ErrorClass c) {
  switch (c) {
    case v1::ERROR_CLASS_TIMEOUT:
      return "timeout";
    case v1::ERROR_CLASS_CONNECT:
      return "connect";
    case v1::ERROR_CLASS_DNS:
      return "dns";
    case v1::ERROR_CLASS_TLS:
      return "tls";
    case v1::ERROR_CLASS_HTTP_4XX:
      return "http_4xx";
    case v1::ERROR_CLASS_HTTP_5XX:
      return "http_5xx";
    case v1::ERROR_CLASS_BLOCKED:
      return "blocked";
    case v1::ERROR_CLASS_INVALID_TARGET:
      return "invalid_target";
    case v1::ERROR_CLASS_RENDER:
      return "render";
    case v1::ERROR_CLASS_HTTP_OTHER:
      return "http_other";
    default:
      return "unknown";
  }
}

Decision Decide(const http::HttpResponse& response, int attempt,
                const queue::RetrySchedule& schedule, absl::Time now, absl::BitGenRef rng) {
  Decision d;
  d.error_class = ClassifyError(response);
  if (d.error_class == v1::ERROR_CLASS_UNSPECIFIED) {
    d.status = v1::DELIVERY_STATUS_SUCCEEDED;
    return d;
  }
  if (d.error_class == v1::ERROR_CLASS_BLOCKED || d.error_class == v1::ERROR_CLASS_INVALID_TARGET) {
    return d;  // FAILED: retrying cannot help
  }
  if (response.failure == http::FailureKind::kNone && response.status == 410) {
    d.disable_hook = true;
    return d;
  }
  d.retry_in = schedule.NextDelay(attempt, response.retry_after, now, rng);
  if (d.retry_in.has_value()) d.status = v1::DELIVERY_STATUS_RETRY_SCHEDULED;
  return d;
}

}  // namespace hookrelay::worker
