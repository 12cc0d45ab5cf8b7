// A value or the BrokerError that prevented it (std::expected is C++23).
#pragma once

#include "broker-error.hpp"

#include <utility>
#include <variant>

namespace wcbroker {

template <typename T>
class Expected {
public:
    Expected(T value)
        : state_(std::move(value))
    {
    }
    Expected(BrokerError error)
        : state_(std::move(error))
    {
    }

    bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    T& value() { return std::get<T>(state_); }
    const T& value() const { return std::get<T>(state_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }

    const BrokerError& error() const { return std::get<BrokerError>(state_); }

private:
    std::variant<T, BrokerError> state_;
};

} // namespace wcbroker
