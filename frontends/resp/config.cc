#include "frontends/resp/config.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "frontends/resp/pubsub.h"

namespace redcar::resp {

namespace {
std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::vector<const Config::Setting*> Config::matching(const std::vector<std::string>& patterns) const {
  std::vector<const Setting*> out;
  for (const auto& s : settings_) {
    for (const auto& p : patterns) {
      if (glob_match(lowered(p), s.name)) {
        out.push_back(&s);
        break;
      }
    }
  }
  return out;
}

const Config::Setting* Config::find(std::string_view name) const {
  std::string n = lowered(name);
  for (const auto& s : settings_) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

void Config::add_integer(std::string name, std::atomic<int64_t>* value, int64_t lo, int64_t hi) {
  Setting s;
  s.name = std::move(name);
  s.get = [value] { return std::to_string(value->load()); };
  s.set = [value, lo, hi](std::string_view text) -> std::string {
    int64_t v;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) {
      return "argument couldn't be parsed into an integer";
    }
    if (v < lo || v > hi) {
      return "argument must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " inclusive";
    }
    value->store(v);
    return "";
  };
  add(std::move(s));
}

void Config::add_fixed(std::string name, std::string value) {
  add({std::move(name), [value] { return value; }, nullptr});
}

std::string format_decimal(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

std::string Config::percentiles() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (double p : percentiles_) {
    if (!out.empty()) out += ' ';
    out += format_decimal(p);
  }
  return out;
}

std::vector<double> Config::percentile_list() const {
  std::lock_guard lk(mu_);
  return percentiles_;
}

std::string Config::set_percentiles(std::string_view text) {
  std::vector<double> list;
  std::istringstream in{std::string(text)};
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    double p = std::strtod(word.c_str(), &end);
    if (end != word.c_str() + word.size() || p < 0 || p > 100) return "percentile must be between 0.0 and 100.0";
    list.push_back(p);
  }
  std::lock_guard lk(mu_);
  percentiles_ = std::move(list);
  return "";
}

}  // namespace redcar::resp
