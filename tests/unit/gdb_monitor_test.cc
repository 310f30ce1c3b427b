// rr's gdb commands come from one table (gdb/monitor_commands.h): the gdb
// start-up script defines exactly its commands, help lists each, and the
// dispatcher finds each by name.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "gdb/monitor_commands.h"

namespace rr {
namespace {

using InGdb = MonitorCommand::InGdb;

// The gdb commands the script defines: the names in its _RR_COMMANDS list
// and the names given to gdb.Command's constructor.
std::set<std::string> script_commands(const std::string& script) {
  std::set<std::string> out;
  size_t begin = script.find("_RR_COMMANDS = [\n");
  size_t end = script.find("\n]\n", begin);
  EXPECT_NE(begin, std::string::npos) << script;
  EXPECT_NE(end, std::string::npos) << script;
  std::string list = script.substr(begin, end - begin);
  std::regex row(R"re(\n    \("([^"]+)", ")re");
  for (std::sregex_iterator it(list.begin(), list.end(), row), e; it != e; ++it) out.insert((*it)[1]);
  std::regex literal(R"re(super\(\).__init__\("([^"]+)")re");
  for (std::sregex_iterator it(script.begin(), script.end(), literal), e; it != e; ++it) out.insert((*it)[1]);
  return out;
}

TEST(GdbMonitor, TheScriptDefinesExactlyTheTablesGdbCommands) {
  std::set<std::string> wanted;
  for (const MonitorCommand& c : monitor_commands())
    if (c.in_gdb == InGdb::Forward || c.in_gdb == InGdb::Restart || c.in_gdb == InGdb::SeekTicks) wanted.insert(c.name);
  EXPECT_EQ(script_commands(gdb_init_script()), wanted);
  EXPECT_TRUE(wanted.count("restart") && wanted.count("when") && wanted.count("info checkpoints") &&
              wanted.count("seek-ticks"));
  EXPECT_FALSE(wanted.count("help"));  // gdb has its own; rr's is `monitor help`
}

TEST(GdbMonitor, TheScriptCarriesEachHelpLine) {
  std::string script = gdb_init_script();
  for (const MonitorCommand& c : monitor_commands()) {
    if (c.in_gdb == InGdb::Forward || c.in_gdb == InGdb::Restart || c.in_gdb == InGdb::SeekTicks) {
      EXPECT_NE(script.find("\"" + std::string(c.help) + "\""), std::string::npos) << c.name;
    }
  }
  EXPECT_EQ(script.rfind("set sysroot /\nset schedule-multiple on\npython\n", 0), 0u);
  EXPECT_EQ(script.substr(script.size() - 4), "end\n");
}

TEST(GdbMonitor, HelpListsEachCommandWithItsArguments) {
  std::string help = monitor_help();
  for (const MonitorCommand& c : monitor_commands()) {
    std::string usage = std::string(c.name) + (*c.args ? " " + std::string(c.args) : "");
    std::regex line("\n  " + std::regex_replace(usage, std::regex(R"([|.*+?()\[\]^$\\])"), R"(\$&)") + " +" +
                    std::regex_replace(std::string(c.help), std::regex(R"([|.*+?()\[\]^$\\])"), R"(\$&)") + "\n");
    EXPECT_TRUE(std::regex_search(help, line)) << c.name << " in:\n" << help;
  }
}

TEST(GdbMonitor, TheDispatcherFindsEachServedCommand) {
  std::string arg;
  for (const MonitorCommand& c : monitor_commands()) {
    const MonitorCommand* found = find_monitor_command(c.name, &arg);
    if (!c.handler) {
      EXPECT_EQ(found, nullptr) << c.name << " is gdb's run, not a monitor command";
      continue;
    }
    EXPECT_EQ(found, &c) << c.name;
    EXPECT_EQ(arg, "");
  }
  const MonitorCommand* del = find_monitor_command("delete checkpoint   12", &arg);
  ASSERT_NE(del, nullptr);
  EXPECT_STREQ(del->name, "delete checkpoint");
  EXPECT_EQ(arg, "12");
  // A command without arguments takes none; names match whole words.
  EXPECT_EQ(find_monitor_command("when 3", &arg), nullptr);
  EXPECT_EQ(find_monitor_command("delete checkpoints 1", &arg), nullptr);
  EXPECT_EQ(find_monitor_command("whe", &arg), nullptr);
  EXPECT_EQ(find_monitor_command("frobnicate", &arg), nullptr);
}

TEST(GdbMonitor, NamesAreUniqueAndRowsComplete) {
  std::set<std::string> names;
  for (const MonitorCommand& c : monitor_commands()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_NE(std::string(c.help), "") << c.name;
    bool via_run = c.in_gdb == InGdb::Restart || c.in_gdb == InGdb::GdbRun || c.in_gdb == InGdb::SeekTicks;
    EXPECT_EQ(c.handler == nullptr, via_run) << c.name;
  }
}

}  // namespace
}  // namespace rr
