// ckpt_commands.h — the subcommands of tidal-ckpt. Each prints to stdout
// (findings) and stderr (errors) and returns the process exit code.
#pragma once

#include <string>

namespace tidal_ckpt_cli {

// Exit codes, like diff(1) and fsck: 0 sound / identical, 1 a finding
// (corrupt, different), 2 trouble (cannot read, bad arguments).
constexpr int kExitOk = 0;
constexpr int kExitFinding = 1;
constexpr int kExitTrouble = 2;

int list_command(const std::string& path, bool full_metadata);
int verify_command(const std::string& path);
int diff_command(const std::string& a, const std::string& b, double tolerance);

}  // namespace tidal_ckpt_cli
