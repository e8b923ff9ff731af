#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Debian's Abseil (20220623) has no status macros; these are the usual two.

#define HR_STATUS_CONCAT_INNER_(a, b) a##b
#define HR_STATUS_CONCAT_(a, b) HR_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if not OK.
#define HR_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status hr_status_ = (expr);      \
    if (!hr_status_.ok()) return hr_status_; \
  } while (0)

// `HR_ASSIGN_OR_RETURN(auto x, Foo());` declares/assigns the value of an absl::StatusOr or
// returns its status from the enclosing function.
#define HR_ASSIGN_OR_RETURN(lhs, expr) \
  HR_ASSIGN_OR_RETURN_IMPL_(HR_STATUS_CONCAT_(hr_statusor_, __LINE__), lhs, expr)

#define HR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)
