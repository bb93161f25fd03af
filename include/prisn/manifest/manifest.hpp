// SPDX-License-Identifier: MIT
// Manifests: the YAML documents of `prisn apply -f` and POST /api/v1/apply (SPEC §3).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/model/deployment.hpp"
#include "prisn/model/ingress.hpp"
#include "prisn/model/json.hpp"
#include "prisn/model/network_policy.hpp"

namespace prisn::manifest {

/// One document of a manifest, as JSON, with the line of every value in it.
struct Document {
  std::size_t index = 0;               ///< 1-based position in the manifest
  int line = 0;                        ///< where the document starts (1-based; 0 for JSON)
  model::Json body;
  std::map<std::string, int> lines;    ///< "spec.replicas" → 14
};

/// Splits YAML text (one or many documents, or JSON: YAML 1.2 is a superset) into documents.
/// A top-level list, or an object with "items", gives one document per element. Plain
/// scalars are typed as YAML's core schema says (42, true, null); quoted ones stay strings.
/// Syntax errors are Error::bad_request with the line.
Result<std::vector<Document>> parse(std::string_view text);

/// A validated object of a manifest, ready to apply.
struct Item {
  std::string kind;
  std::string where;  ///< "document 2 (Deployment api)", for messages
  int line = 0;       ///< where its document starts (1-based; 0 for JSON)
  std::variant<model::DeploymentSpec, model::IngressSpec, model::NetworkPolicySpec> spec;
  std::map<std::string, int> lines;  ///< its document's, for locate()
  bool replicas_given = true;        ///< a Deployment: its spec says how many replicas
};

/// `e` (found when checking the item against the others and the current state) as decode()
/// words its errors: the document, and the line and document path of the field its message
/// starts with ("rules[0].paths[0].port: ..." → "line 19: spec.rules[0].paths[0].port: ...");
/// a message that names no field gets the document's first line.
Error locate(const Item& item, const Error& e);

/// Files a Deployment's spec.file may name, as the CLI read them (path as written → bytes).
using Files = std::map<std::string, std::string>;

/// Validates every document field by field. The first bad one is an Error::invalid naming
/// the document, the field and its line ("document 2 (Deployment api), line 14:
/// spec.replicas: must be between 0 and 1000"); nothing is half-decoded.
Result<std::vector<Item>> decode(const std::vector<Document>& documents, const std::string& ns, const Files& files);

/// A Deployment document's spec.file, for the CLI to read.
struct FileReference {
  std::string path;   ///< as written
  std::string where;  ///< "document 2 (Deployment api), line 9", for messages
};
std::vector<FileReference> referenced_files(const std::vector<Document>& documents);

}  // namespace prisn::manifest
