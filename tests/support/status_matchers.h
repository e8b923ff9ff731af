#pragma once

// gmock matchers and assertion macros for absl::Status and absl::StatusOr<T>, which Debian's
// Abseil (20220623) does not ship.
//
//   EXPECT_THAT(store.Get("x"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("x")));
//   EXPECT_THAT(store.Create(hook), IsOk());
//   ASSERT_OK(redis->FlushAll());
//   EXPECT_THAT(redis->Command({"GET", "k"}), IsOkAndHolds("v"));
//   ASSERT_OK_AND_ASSIGN(auto hook, store.Get(id));
//
// Every failure message prints the actual status (code and message).

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// gtest prints values through PrintTo found by ADL; this Abseil has none for StatusOr (later
// releases do), so failures would show its bytes.
#if ABSL_LTS_RELEASE_VERSION <= 20230125
namespace absl {
ABSL_NAMESPACE_BEGIN
template <typename T>
void PrintTo(const StatusOr<T>& status_or, std::ostream* os) {
  if (status_or.ok()) {
    *os << "OK: " << ::testing::PrintToString(*status_or);
  } else {
    *os << status_or.status();
  }
}
ABSL_NAMESPACE_END
}  // namespace absl
#endif

namespace hookrelay::testing {
namespace internal_status {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches the code and message of a status-like value of type `T` (const reference to
// absl::Status or absl::StatusOr<U>).
template <typename T>
class MonoStatusIsMatcher : public ::testing::MatcherInterface<T> {
 public:
  MonoStatusIsMatcher(::testing::Matcher<absl::StatusCode> code,
                      ::testing::Matcher<const std::string&> message)
      : code_(std::move(code)), message_(std::move(message)) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "has a status code that ";
    code_.DescribeTo(os);
    *os << ", and has a message that ";
    message_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const override {
    *os << "has a status code that ";
    code_.DescribeNegationTo(os);
    *os << ", or has a message that ";
    message_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(T value, ::testing::MatchResultListener* listener) const override {
    const absl::Status& status = GetStatus(value);
    *listener << "whose status is " << status;
    const std::string message(status.message());
    return code_.Matches(status.code()) && message_.Matches(message);
  }

 private:
  ::testing::Matcher<absl::StatusCode> code_;
  ::testing::Matcher<const std::string&> message_;
};

// Polymorphic form of MonoStatusIsMatcher: converts to a matcher of any status-like type.
class StatusIsMatcher {
 public:
  StatusIsMatcher(::testing::Matcher<absl::StatusCode> code,
                  ::testing::Matcher<const std::string&> message)
      : code_(std::move(code)), message_(std::move(message)) {}

  template <typename T>
  operator ::testing::Matcher<T>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<T>(new MonoStatusIsMatcher<const T&>(code_, message_));
  }

 private:
  ::testing::Matcher<absl::StatusCode> code_;
  ::testing::Matcher<const std::string&> message_;
};

// Matches an OK status-like value of type `T`.
template <typename T>
class MonoIsOkMatcher : public ::testing::MatcherInterface<T> {
 public:
  void DescribeTo(std::ostream* os) const override { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const override { *os << "is not OK"; }

  bool MatchAndExplain(T value, ::testing::MatchResultListener* listener) const override {
    const absl::Status& status = GetStatus(value);
    if (!status.ok()) *listener << "whose status is " << status;
    return status.ok();
  }
};

class IsOkMatcher {
 public:
  template <typename T>
  operator ::testing::Matcher<T>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<T>(new MonoIsOkMatcher<const T&>());
  }
};

// Matches an OK absl::StatusOr<U> (of type `T`, a const reference) whose value matches.
template <typename T>
class MonoIsOkAndHoldsMatcher : public ::testing::MatcherInterface<T> {
 public:
  using ValueType = typename std::remove_cv_t<std::remove_reference_t<T>>::value_type;

  template <typename InnerMatcher>
  explicit MonoIsOkAndHoldsMatcher(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const ValueType&>(std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "isn't OK or has a value that ";
    inner_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(T actual, ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "whose status is " << actual.status();
      return false;
    }
    ::testing::StringMatchResultListener inner_listener;
    const bool matches = inner_.MatchAndExplain(*actual, &inner_listener);
    *listener << "whose value " << ::testing::PrintToString(*actual)
              << (matches ? " matches" : " doesn't match");
    if (!inner_listener.str().empty()) *listener << ", " << inner_listener.str();
    return matches;
  }

 private:
  ::testing::Matcher<const ValueType&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename T>
  operator ::testing::Matcher<T>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<T>(new MonoIsOkAndHoldsMatcher<const T&>(inner_));
  }

 private:
  InnerMatcher inner_;
};

}  // namespace internal_status

// Matches an absl::Status or absl::StatusOr<T> whose code matches `code` (a StatusCode or a
// matcher of one) and whose message matches `message` (a string or a string matcher).
template <typename CodeMatcher, typename MessageMatcher>
internal_status::StatusIsMatcher StatusIs(CodeMatcher&& code, MessageMatcher&& message) {
  return internal_status::StatusIsMatcher(
      ::testing::MatcherCast<absl::StatusCode>(std::forward<CodeMatcher>(code)),
      ::testing::MatcherCast<const std::string&>(std::forward<MessageMatcher>(message)));
}

// Matches an absl::Status or absl::StatusOr<T> whose code matches `code`, any message.
template <typename CodeMatcher>
internal_status::StatusIsMatcher StatusIs(CodeMatcher&& code) {
  return StatusIs(std::forward<CodeMatcher>(code), ::testing::_);
}

// Matches an OK absl::Status or an absl::StatusOr<T> that holds a value.
inline internal_status::IsOkMatcher IsOk() { return internal_status::IsOkMatcher(); }

// Matches an absl::StatusOr<T> that holds a value matching `inner` (a value or a matcher).
template <typename InnerMatcher>
internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& inner) {
  return internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(inner));
}

}  // namespace hookrelay::testing

// Asserts / expects that `expr` (an absl::Status or absl::StatusOr<T>) is OK.
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::hookrelay::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::hookrelay::testing::IsOk())

// `ASSERT_OK_AND_ASSIGN(auto value, MakeValue());` evaluates an absl::StatusOr<T>; on error
// fails the test (printing the status) and returns from the enclosing void function, otherwise
// moves the value into `lhs` (a declaration or an existing variable).
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  HR_TESTING_ASSERT_OK_AND_ASSIGN_IMPL_(HR_TESTING_CONCAT_(hr_statusor_, __LINE__), lhs, expr)

#define HR_TESTING_CONCAT_INNER_(a, b) a##b
#define HR_TESTING_CONCAT_(a, b) HR_TESTING_CONCAT_INNER_(a, b)
#define HR_TESTING_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr)            \
  auto statusor = (expr);                                                     \
  ASSERT_TRUE(statusor.ok()) << "`" #expr "` returned " << statusor.status(); \
  lhs = *std::move(statusor)
