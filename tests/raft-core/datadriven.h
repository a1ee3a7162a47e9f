// A minimal datadriven script format, after etcd-io/raft's testdata/*.txt (written anew here):
//
//   # a comment (kept verbatim on rewrite)
//   campaign 1                      <- a command: name, positional args, key=value and key=(a,b,c) args
//   ----                            <- separator
//   1 is pre-candidate at term 0    <- the expected output, up to the next blank line or the end
//
// A script is a sequence of such cases run in order against one fixture (state carries over). The
// runner compares each command's output with the expected text; with RAFTBGP_REWRITE=1 in the
// environment it writes the actual outputs back instead (review the diff before committing it).
// Outputs must not contain blank lines: a blank line ends a case.
#pragma once

#include <cstddef>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace raftbgp::datadriven {

struct Command {
  std::string name;
  std::vector<std::string> args;                       // positional, in order
  std::map<std::string, std::vector<std::string>> kv;  // key=v or key=(v1,v2); () is an empty list
  std::string line;                                    // the command as written
  int line_no = 0;                                     // 1-based, for error messages
};

// One piece of a script file: verbatim text (comments, blank lines) or a case with its expected output.
struct Block {
  bool is_case = false;
  std::vector<std::string> text;  // verbatim lines (is_case == false)
  Command command;                // is_case == true
  std::string expected;           // lines joined by '\n', no trailing newline
};

// Splits "name a b key=v key=(x,y)" into a Command. Throws std::invalid_argument on an unclosed "(".
inline Command parse_command(const std::string& line, int line_no) {
  Command c;
  c.line = line;
  c.line_no = line_no;
  std::istringstream in(line);
  std::string word;
  in >> c.name;
  while (in >> word) {
    const std::size_t eq = word.find('=');
    if (eq == std::string::npos) {
      c.args.push_back(word);
      continue;
    }
    std::string key = word.substr(0, eq);
    std::string value = word.substr(eq + 1);
    std::vector<std::string>& values = c.kv[key];
    if (value.empty() || value.front() != '(') {
      values.push_back(value);
      continue;
    }
    if (value.back() != ')')
      throw std::invalid_argument("line " + std::to_string(line_no) + ": unclosed '(' in " + key);
    std::istringstream list(value.substr(1, value.size() - 2));
    for (std::string item; std::getline(list, item, ',');) {
      if (!item.empty()) values.push_back(item);
    }
  }
  return c;
}

// Parses a whole script. Throws std::invalid_argument when a command has no "----" line after it.
inline std::vector<Block> parse_script(const std::string& content) {
  std::vector<std::string> lines;
  std::istringstream in(content);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<Block> blocks;
  std::size_t i = 0;
  while (i < lines.size()) {
    const std::string& l = lines[i];
    if (l.empty() || l.front() == '#') {
      if (blocks.empty() || blocks.back().is_case) blocks.push_back({});
      blocks.back().text.push_back(l);
      ++i;
      continue;
    }
    if (i + 1 >= lines.size() || lines[i + 1] != "----") {
      throw std::invalid_argument("line " + std::to_string(i + 1) + ": command without a ---- line after it: " + l);
    }
    Block b;
    b.is_case = true;
    b.command = parse_command(l, static_cast<int>(i + 1));
    std::vector<std::string> out;
    for (i += 2; i < lines.size() && !lines[i].empty(); ++i) out.push_back(lines[i]);
    for (std::size_t k = 0; k < out.size(); ++k) b.expected += (k ? "\n" : "") + out[k];
    blocks.push_back(std::move(b));
  }
  return blocks;
}

// The script text again, with each case's expected output as given in `blocks` (for rewrite).
inline std::string render_script(const std::vector<Block>& blocks) {
  std::string out;
  for (const Block& b : blocks) {
    if (!b.is_case) {
      for (const std::string& l : b.text) out += l + "\n";
      continue;
    }
    out += b.command.line + "\n----\n";
    if (!b.expected.empty()) out += b.expected + "\n";
  }
  return out;
}

}  // namespace raftbgp::datadriven
