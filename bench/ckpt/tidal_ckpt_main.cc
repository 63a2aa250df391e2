// tidal_ckpt_main.cc — tidal-ckpt: inspect, verify and compare safetensors
// files and tidal checkpoint directories.
//
//   tidal-ckpt ls FILE|DIR [--full]   tensors, dtypes, shapes, bytes, metadata
//   tidal-ckpt verify FILE|DIR        full validation + checksums; exit 0 only if sound
//   tidal-ckpt diff A B [--tolerance X]  which tensors differ and by how much
#include <CLI/CLI.hpp>

#include "bench/ckpt/ckpt_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Inspect, verify and compare safetensors files and tidal checkpoints.\n"
               "Exit status: 0 sound/identical, 1 corrupt/different, 2 cannot read or bad usage."};
  app.require_subcommand(1);
  std::string path, a, b;
  bool full = false;
  double tolerance = 0.0;

  CLI::App* ls = app.add_subcommand("ls", "List tensors (dtype, shape, bytes) and metadata");
  ls->add_option("path", path, "a .safetensors file, a step directory or a checkpoint root")->required();
  ls->add_flag("--full", full, "print metadata values in full");

  CLI::App* verify = app.add_subcommand("verify", "Validate headers and checksums");
  verify->add_option("path", path, "a .safetensors file, a step directory or a checkpoint root")->required();

  CLI::App* diff = app.add_subcommand("diff", "Compare the tensors of two files");
  diff->add_option("a", a, "first .safetensors file")->required();
  diff->add_option("b", b, "second .safetensors file")->required();
  diff->add_option("--tolerance", tolerance, "treat element differences up to this as equal")
      ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : tidal_ckpt_cli::kExitTrouble;
  }
  if (*ls) return tidal_ckpt_cli::list_command(path, full);
  if (*verify) return tidal_ckpt_cli::verify_command(path);
  return tidal_ckpt_cli::diff_command(a, b, tolerance);
}
