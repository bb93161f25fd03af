// SPDX-License-Identifier: MIT
#include "prisn/manifest/manifest.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "prisn/core/base64.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/model/document.hpp"

namespace prisn::manifest {
namespace {

using model::Json;

bool is_null_text(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

std::optional<bool> bool_text(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<long long> int_text(const std::string& s) {
  std::string_view v = s;
  int base = 10;
  bool negative = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    negative = v[0] == '-';
    v.remove_prefix(1);
  }
  if (v.starts_with("0x")) {
    base = 16;
    v.remove_prefix(2);
  } else if (v.starts_with("0o")) {
    base = 8;
    v.remove_prefix(2);
  }
  long long out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
  if (v.empty() || ec != std::errc{} || ptr != v.data() + v.size()) return std::nullopt;
  return negative ? -out : out;
}

std::optional<double> float_text(const std::string& s) {
  if (s == ".inf" || s == "+.inf" || s == "-.inf" || s == ".nan") return std::nullopt;  // not JSON numbers
  if (s.find_first_not_of("0123456789+-.eE") != std::string::npos || s.find_first_of("0123456789") == std::string::npos) {
    return std::nullopt;
  }
  double out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return out;
}

// A scalar as YAML 1.2's core schema types it: quoted ones are always strings.
Json scalar(const YAML::Node& n) {
  const std::string& text = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
  if (is_null_text(text)) return nullptr;
  if (auto b = bool_text(text)) return *b;
  if (auto i = int_text(text)) return *i;
  if (auto f = float_text(text)) return *f;
  return text;
}

// Aliases are shared nodes: a few nested ones expand to billions ("billion laughs"), so the
// conversion has a budget of nodes. An alias inside its own anchor ("&a [*a]") makes a cycle,
// and the conversion recurses: depth is bounded too, far below the stack's limit.
constexpr std::size_t kMaxNodes = 200'000;
constexpr std::size_t kMaxDepth = 64;
// And bytes: one large scalar aliased a few hundred times stays under the node budget while
// it asks for gigabytes. Twice the largest body the API takes.
constexpr std::size_t kMaxBytes = 16 * 1024 * 1024;

struct Budget {
  std::size_t nodes = kMaxNodes;
  std::size_t bytes = kMaxBytes;
};

struct TooLarge {};
struct TooDeep {};
struct DuplicateKey {  // YAML forbids them (1.2 §3.2.1.1); last-wins would hide a typo
  std::string key;
  int line;
};
struct BadMerge {  // `<<:` given something other than a mapping or a list of them
  int line;
};

// YAML 1.1's merge key, `<<: *defaults`, which yaml-cpp leaves as an ordinary key and
// kubectl's YAML reader expands: a plain `<<`, not a quoted one.
bool is_merge_key(const YAML::Node& key) { return key.IsScalar() && key.Scalar() == "<<" && key.Tag() == "?"; }

Json to_json(const YAML::Node& n, const std::string& path, std::map<std::string, int>& lines, Budget& budget,
             std::size_t depth = 0) {
  if (budget.nodes-- == 0) throw TooLarge{};
  const std::size_t size = n.IsScalar() ? n.Scalar().size() : 0;
  if (size > budget.bytes) throw TooLarge{};
  budget.bytes -= size;
  if (depth > kMaxDepth) throw TooDeep{};
  lines[path] = n.Mark().line + 1;
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      // An environment value or an argument is text for the process: `VERSION: 1.10` must
      // reach it as "1.10", not as the number 1.1 written back.
      if (path.starts_with("spec.env.") || path.starts_with("spec.args[")) {
        if (const Json typed = scalar(n); !typed.is_null()) return n.Scalar();
      }
      return scalar(n);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      std::size_t i = 0;
      for (const auto& item : n) {
        out.push_back(to_json(item, fmt::format("{}[{}]", path, i++), lines, budget, depth + 1));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      std::vector<YAML::Node> merged;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (is_merge_key(it->first)) {
          merged.push_back(it->second);
          continue;
        }
        const std::string key = it->first.Scalar();
        if (out.contains(key)) throw DuplicateKey{key, it->first.Mark().line + 1};
        out[key] = to_json(it->second, path.empty() ? key : path + "." + key, lines, budget, depth + 1);
      }
      // The merged mappings' keys that the mapping does not set itself; of several merged
      // mappings (`<<: [*a, *b]`), the first that sets a key gives it.
      // A merged mapping is converted as it stands (its own merges expanded), then its keys are
      // taken with their lines.
      const auto merge = [&](const YAML::Node& from) {
        if (!from.IsMap()) throw BadMerge{from.Mark().line + 1};
        std::map<std::string, int> from_lines;
        const Json keys = to_json(from, path, from_lines, budget, depth + 1);
        for (const auto& [key, value] : keys.items()) {
          if (out.contains(key)) continue;
          out[key] = value;
          const std::string sub = path.empty() ? key : path + "." + key;
          for (const auto& [p, line] : from_lines) {
            if (p == sub || p.starts_with(sub + ".") || p.starts_with(sub + "[")) lines.emplace(p, line);
          }
        }
      };
      for (const auto& m : merged) {
        if (m.IsSequence()) {
          for (const auto& each : m) merge(each);
        } else {
          merge(m);
        }
      }
      return out;
    }
    default:
      return nullptr;
  }
}

// Re-bases line paths of list element `i` of a top-level list ("[2].spec.x" → "spec.x").
std::map<std::string, int> lines_under(const std::map<std::string, int>& lines, const std::string& prefix) {
  std::map<std::string, int> out;
  for (const auto& [path, line] : lines) {
    if (path == prefix) out[""] = line;
    else if (path.starts_with(prefix + ".")) out[path.substr(prefix.size() + 1)] = line;
  }
  return out;
}

void add_documents(Json body, std::map<std::string, int> lines, std::vector<Document>& out) {
  const bool list = body.is_array();
  const bool items = body.is_object() && body.contains("items") && body["items"].is_array() && !body.contains("kind");
  if (!list && !items) {
    const int line = lines.count("") ? lines.at("") : 0;
    out.push_back({out.size() + 1, line, std::move(body), std::move(lines)});
    return;
  }
  const Json elements = list ? body : body["items"];
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const std::string prefix = list ? fmt::format("[{}]", i) : fmt::format("items[{}]", i);
    auto sub = lines_under(lines, prefix);
    const int line = sub.count("") ? sub.at("") : 0;
    out.push_back({out.size() + 1, line, elements[i], std::move(sub)});
  }
}

// The message's leading field path, as it sits in the document ("replicas" → "spec.replicas"). A
// field at the document's own top level (apiVersion, kind, metadata, spec, or a key that does
// not belong there) is already a document path.
std::pair<std::string, std::string> document_path(const Document& doc, const std::string& message) {
  std::size_t end = 0;
  while (end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) ||
                                   std::string_view("_.[]-").find(message[end]) != std::string_view::npos)) {
    ++end;
  }
  const std::string field = message.substr(0, end);
  if (field.empty() || field == "body" || field == "document") return {"", message};
  std::string path = field;
  const bool top_level = doc.body.is_object() && doc.body.contains(field);
  const bool document_key = field == "apiVersion" || field == "kind" || field == "metadata" || field == "spec";
  if (!top_level && !document_key && !field.starts_with("metadata.") && !field.starts_with("spec.")) {
    path = (field == "name" || field == "namespace") ? "metadata." + field : "spec." + field;
  }
  return {path, path + message.substr(end)};
}

int line_of(const Document& doc, std::string path) {
  while (!path.empty()) {
    if (auto it = doc.lines.find(path); it != doc.lines.end()) return it->second;
    const auto cut = path.find_last_of(".[");
    path = cut == std::string::npos ? std::string() : path.substr(0, cut);
  }
  return doc.line;
}

std::string describe(const Document& doc) {
  const Json& b = doc.body;
  const std::string kind = b.is_object() && b.contains("kind") && b["kind"].is_string() ? b["kind"].get<std::string>() : "";
  std::string name;
  if (b.is_object() && b.contains("metadata") && b["metadata"].is_object() && b["metadata"].contains("name") &&
      b["metadata"]["name"].is_string()) {
    name = b["metadata"]["name"].get<std::string>().substr(0, 63);
  }
  if (kind.empty() && name.empty()) return fmt::format("document {}", doc.index);
  return fmt::format("document {} ({}{}{})", doc.index, kind, kind.empty() || name.empty() ? "" : " ", name);
}

Error document_error(const Document& doc, const std::string& message) {
  const auto [path, text] = document_path(doc, message);
  const int line = line_of(doc, path);
  if (line == 0) return Error::invalid(fmt::format("{}: {}", describe(doc), text));
  return Error::invalid(fmt::format("{}, line {}: {}", describe(doc), line, text));
}

// A Deployment's spec.file: the script the CLI read, sent along as source and filename.
Result<void> inline_file(Json& body, const Files& files) {
  if (!body.contains("file")) return {};
  const Json file = body["file"];
  body.erase("file");
  if (!file.is_string() || file.get<std::string>().empty()) return Error::invalid("file: must be a path to the script");
  const std::string path = file.get<std::string>();
  auto it = files.find(path);
  if (it == files.end()) {
    return Error::invalid(fmt::format("file: '{}' was not sent with the manifest (prisn apply -f reads it; "
                                      "or give the script as source)", path.substr(0, 200)));
  }
  if (body.contains("source")) return Error::invalid("file: give either file or source, not both");
  body["source"] = it->second;
  if (!body.contains("filename")) body["filename"] = std::filesystem::path(path).filename().string();
  return {};
}

Result<Item> decode_one(const Document& doc, const std::string& ns, const Files& files) {
  auto flat = model::flatten_document(doc.body);
  if (!flat) return flat.error();
  Json body = std::move(flat->body);
  // The request's namespace fills in a missing metadata.namespace; one that differs is an
  // error, as in kubectl, not quietly overridden by either side.
  const model::DecodeContext ctx{ns, ""};
  Item item{flat->kind, describe(doc), doc.line, model::DeploymentSpec{}, doc.lines};
  if (flat->kind == "Deployment") {
    if (auto ok = inline_file(body, files); !ok) return ok.error();
    // In YAML the script is usually a file: say so where the JSON API says "source".
    if (!body.contains("source")) return Error::invalid("source: required: give the script as file (a path) or source");
    auto spec = model::decode_deployment(body, ctx);
    if (!spec) return spec.error();
    item.spec = std::move(*spec);
    item.replicas_given = body.contains("replicas");
  } else if (flat->kind == "Ingress") {
    auto spec = model::decode_ingress(body, ctx);
    if (!spec) return spec.error();
    item.spec = std::move(*spec);
  } else {
    auto spec = model::decode_network_policy(body, ctx);
    if (!spec) return spec.error();
    item.spec = std::move(*spec);
  }
  return item;
}

std::pair<std::string, std::string> names_of(const Item& item) {
  return std::visit([](const auto& s) { return std::pair{s.ns, s.name}; }, item.spec);
}

// yaml-cpp recurses once per nesting level and has no limit of its own: bound flow nesting
// ([ and {) and indentation before handing it the text, so a hostile body cannot exhaust
// the stack. Quotes are tracked roughly; a false alarm only rejects an absurd manifest.
constexpr int kMaxFlowDepth = 64;
constexpr std::size_t kMaxIndent = 256;

Result<void> check_nesting(std::string_view text) {
  int depth = 0;
  char quote = 0;
  std::size_t indent = 0;
  bool line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      line_start = true;
      indent = 0;
      continue;
    }
    if (line_start && (c == ' ' || c == '-' || c == '\t')) {
      if (++indent > kMaxIndent) return Error::invalid(fmt::format("the manifest is indented more than {} columns", kMaxIndent));
      continue;
    }
    line_start = false;
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxFlowDepth) return Error::invalid(fmt::format("the manifest nests deeper than {} levels", kMaxFlowDepth));
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return {};
}

// Debian 12's yaml-cpp 0.7.0 loops forever in LoadAll, allocating as it goes, on a flow
// indicator where a document should start ("," alone, or after a top-level list): each next
// document comes back empty without consuming the token (yaml-cpp issue #1040, fixed upstream
// by PR #1319). A first pass with the event parser stops where a document starts at the same
// place as the one before. Written by hand because the library cannot be told to stop.
class StuckDocumentFinder : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> stuck_at;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (last_start_ && last_start_->pos == mark.pos) stuck_at = mark;
    last_start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::optional<YAML::Mark> last_start_;
};

// Throws YAML::Exception for malformed YAML, as LoadAll would.
Result<void> check_documents_advance(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  StuckDocumentFinder finder;
  while (!finder.stuck_at && parser.HandleNextDocument(finder)) {
  }
  if (!finder.stuck_at) return {};
  const auto& m = *finder.stuck_at;
  const char c = m.pos >= 0 && static_cast<std::size_t>(m.pos) < text.size() ? text[static_cast<std::size_t>(m.pos)] : '?';
  return Error::bad_request(fmt::format("malformed YAML at line {}, column {}: unexpected '{}'", m.line + 1,
                                        m.column + 1, c));
}

}  // namespace

Result<std::vector<Document>> parse(std::string_view text) {
  // YAML is Unicode text; yaml-cpp does not check, and bytes that are not UTF-8 would reach
  // the JSON model, which cannot hold them (a file saved as Latin-1, say).
  if (!is_valid_utf8(text)) {
    int line = 1;
    for (std::size_t start = 0; start < text.size(); ++line) {
      const auto end = std::min(text.find('\n', start), text.size());
      if (!is_valid_utf8(text.substr(start, end - start))) break;
      start = end + 1;
    }
    return Error::bad_request(fmt::format("malformed YAML at line {}: not UTF-8 text (a file saved in another "
                                          "encoding, such as Latin-1?)", line));
  }
  if (auto ok = check_nesting(text); !ok) return ok.error();
  std::vector<YAML::Node> nodes;
  try {
    const std::string copy(text);
    if (auto ok = check_documents_advance(copy); !ok) return ok.error();
    nodes = YAML::LoadAll(copy);
  } catch (const YAML::Exception& e) {
    return Error::bad_request(fmt::format("malformed YAML at line {}, column {}: {}", e.mark.line + 1,
                                          e.mark.column + 1, e.msg));
  }
  std::vector<Document> out;
  Budget budget;
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;  // an empty document ("---" at the end)
    std::map<std::string, int> lines;
    Json body;
    try {
      body = to_json(node, "", lines, budget);
    } catch (const TooLarge&) {
      return Error::invalid(fmt::format("the manifest expands to more than {} values or {} MiB of text (aliases?)",
                                        kMaxNodes, kMaxBytes >> 20));
    } catch (const BadMerge& b) {
      return Error::bad_request(fmt::format("malformed YAML at line {}: '<<' merges a mapping or a list of mappings",
                                            b.line));
    } catch (const DuplicateKey& d) {
      return Error::bad_request(fmt::format("malformed YAML at line {}: duplicate key '{}'", d.line, d.key.substr(0, 63)));
    } catch (const TooDeep&) {
      return Error::invalid(fmt::format("the manifest nests more than {} levels deep (an alias inside its own anchor?)",
                                        kMaxDepth));
    }
    add_documents(std::move(body), std::move(lines), out);
  }
  if (out.empty()) return Error::invalid("the manifest has no documents");
  return out;
}

Error locate(const Item& item, const Error& e) {
  const auto colon = e.message.find(':');
  const auto space = e.message.find(' ');
  std::string path;
  std::string text = e.message;
  Document doc{0, item.line, {}, item.lines};
  if (colon != std::string::npos && colon < space) {  // "field: why"
    std::tie(path, text) = document_path(doc, e.message);
  }
  const int line = line_of(doc, path);
  return Error{e.kind, line == 0 ? fmt::format("{}: {}", item.where, text)
                                 : fmt::format("{}, line {}: {}", item.where, line, text)};
}

Result<std::vector<Item>> decode(const std::vector<Document>& documents, const std::string& ns, const Files& files) {
  std::vector<Item> items;
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> seen;
  for (const auto& doc : documents) {
    auto item = decode_one(doc, ns, files);
    if (!item) return document_error(doc, item.error().message);
    const auto [item_ns, name] = names_of(*item);
    auto [it, inserted] = seen.try_emplace({item->kind, item_ns, name}, doc.index);
    if (!inserted) {
      const int line = line_of(doc, "metadata.name");
      return Error::invalid(fmt::format("{}{}: metadata.name: {} {}/{} is already in document {}", describe(doc),
                                        line == 0 ? std::string() : fmt::format(", line {}", line), item->kind,
                                        item_ns, name, it->second));
    }
    items.push_back(std::move(*item));
  }
  return items;
}

std::vector<FileReference> referenced_files(const std::vector<Document>& documents) {
  std::vector<FileReference> out;
  for (const auto& doc : documents) {
    const Json& b = doc.body;
    if (b.is_object() && b.contains("kind") && b["kind"] == "Deployment" && b.contains("spec") && b["spec"].is_object() &&
        b["spec"].contains("file") && b["spec"]["file"].is_string()) {
      const int line = line_of(doc, "spec.file");
      out.push_back({b["spec"]["file"].get<std::string>(),
                     line == 0 ? describe(doc) : fmt::format("{}, line {}", describe(doc), line)});
    }
  }
  return out;
}

}  // namespace prisn::manifest
