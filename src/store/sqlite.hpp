// SPDX-License-Identifier: MIT
// A minimal RAII layer over the SQLite C API, private to prisn_store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn::store::detail {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool valid() const { return stmt_ != nullptr; }

  /// Binds are 1-based, like SQLite's.
  Statement& bind(int i, std::string_view text);
  Statement& bind(int i, std::int64_t value);
  Statement& bind_null(int i);
  Statement& bind_blob(int i, std::string_view bytes);
  Statement& bind_optional(int i, const std::optional<std::int64_t>& value);

  /// true while there is a row; false when done. Errors become Error::internal.
  Result<bool> step();
  /// Runs to completion (for writes); resets the statement for reuse.
  Result<void> run();
  void reset();

  std::string text(int col) const;
  std::int64_t integer(int col) const;
  std::optional<std::int64_t> optional_integer(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

/// "what: message" from the connection's last error.
Error sqlite_error(sqlite3* db, std::string_view what);

}  // namespace prisn::store::detail
