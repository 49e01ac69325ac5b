#pragma once
// A small value type for the function objects layers are configured with (initializers,
// regularizers, constraints): any struct with a call operator, `static constexpr const char*
// class_name` and `nlohmann::json get_config() const`. Copies share the held object. Serialized as
// Keras does: {"class_name": ..., "config": {...}}; an empty component serializes to null.
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"

namespace keel::layers::detail {

template <class Signature>
class Component;

template <class R, class... Args>
class Component<R(Args...)> {
 public:
  Component() = default;

  template <class Impl>
    requires(!std::is_base_of_v<Component, std::decay_t<Impl>>) && requires(const Impl& impl) {
      { impl.get_config() } -> std::convertible_to<nlohmann::json>;
      { Impl::class_name } -> std::convertible_to<const char*>;
    }
  Component(Impl impl) : impl_(std::make_shared<Holder<Impl>>(std::move(impl))) {}

  explicit operator bool() const { return impl_ != nullptr; }

  R operator()(Args... args) const {
    if (!impl_) throw UsageError("calling an empty initializer, regularizer or constraint");
    return impl_->call(std::forward<Args>(args)...);
  }

  std::string class_name() const { return impl_ ? impl_->class_name() : std::string(); }

  nlohmann::json serialize() const {
    if (!impl_) return nullptr;
    return {{"class_name", impl_->class_name()}, {"config", impl_->get_config()}};
  }

  // The held object, if it is an Impl (for tests and introspection).
  template <class Impl>
  const Impl* as() const {
    auto* holder = dynamic_cast<const Holder<Impl>*>(impl_.get());
    return holder ? &holder->impl : nullptr;
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual R call(Args... args) const = 0;
    virtual std::string class_name() const = 0;
    virtual nlohmann::json get_config() const = 0;
  };
  template <class Impl>
  struct Holder final : Concept {
    explicit Holder(Impl i) : impl(std::move(i)) {}
    R call(Args... args) const override { return impl(std::forward<Args>(args)...); }
    std::string class_name() const override { return Impl::class_name; }
    nlohmann::json get_config() const override { return impl.get_config(); }
    Impl impl;
  };
  std::shared_ptr<const Concept> impl_;
};

}  // namespace keel::layers::detail
