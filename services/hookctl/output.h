#pragma once

#include <ostream>
#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "hookrelay/v1/registry.pb.h"
#include "hookrelay/v1/resources.pb.h"

namespace hookrelay::hookctl {

// How hookctl shows responses to people (--json prints protobuf JSON instead): enum values
// without their prefix (delivery statuses in capitals, the rest in lower case), times in UTC
// to the millisecond, attempts one per line.

// "RETRY_SCHEDULED"; "http_5xx".
std::string StatusName(v1::DeliveryStatus s);
std::string ErrorClassName(v1::ErrorClass c);
// "2026-12-06 17:58:01.123Z", or "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& t);
// "HTTP 204", "HTTP 500", "timeout", "connect", ... (what an attempt came to).
std::string AttemptResult(const v1::Attempt& a);

void PrintJson(std::ostream& out, const google::protobuf::Message& m);
void PrintWebhook(std::ostream& out, const v1::Webhook& h);
void PrintWebhookTable(std::ostream& out, const v1::ListWebhooksResponse& r);
void PrintEvent(std::ostream& out, const v1::Event& e);
// The delivery's fields, then its attempts as a table (number, start, duration, result,
// worker) with each attempt's error and the first bytes of the response on lines below.
void PrintDelivery(std::ostream& out, const v1::Delivery& d);
void PrintAttempt(std::ostream& out, const v1::Attempt& a);
void PrintDeliveryTable(std::ostream& out, const v1::ListDeliveriesResponse& r);
void PrintApiKeys(std::ostream& out, const v1::ListApiKeysResponse& r);

}  // namespace hookrelay::hookctl
