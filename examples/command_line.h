#pragma once
// The examples' flags: `--name value` pairs and bare switches, --help, and a ValueError naming the
// flag for a missing or malformed value or an unknown flag.
//
//   for (CommandLine cl(argc, argv, usage); cl.next();) {
//     if (cl.is("--epochs")) args.epochs = cl.integer();
//     else cl.reject();
//   }
#include <cstdint>
#include <cstdlib>
#include <keel/keel.h>
#include <string>

class CommandLine {
 public:
  CommandLine(int argc, char** argv, void (*usage)()) : argc_(argc), argv_(argv), usage_(usage) {}

  // Moves to the next flag; false after the last. --help and -h print the usage and exit.
  bool next() {
    if (++i_ >= argc_) return false;
    flag_ = argv_[i_];
    if (flag_ == "--help" || flag_ == "-h") {
      usage_();
      std::exit(0);
    }
    return true;
  }
  bool is(const char* name) const { return flag_ == name; }

  std::string value() {
    if (i_ + 1 >= argc_) throw keel::ValueError("missing value for " + flag_);
    return argv_[++i_];
  }
  std::int64_t integer() { return parsed<std::int64_t>([](const std::string& v, std::size_t* end) { return std::stoll(v, end); }); }
  double number() { return parsed<double>([](const std::string& v, std::size_t* end) { return std::stod(v, end); }); }

  [[noreturn]] void reject() const { throw keel::ValueError("unknown option " + flag_ + " (see --help)"); }

 private:
  template <class T, class Parse>
  T parsed(Parse parse) {
    const std::string v = value();
    try {
      std::size_t end = 0;
      const T result = parse(v, &end);
      if (end == v.size()) return result;
    } catch (const std::exception&) {
    }
    throw keel::ValueError(flag_ + ": expected a number, got '" + v + "'");
  }

  int argc_;
  char** argv_;
  void (*usage_)();
  int i_ = 0;
  std::string flag_;
};

// The flags of the short examples (custom_layer, fine_tuning); each passes its own default epochs and
// subset.
struct ShortRunArgs {
  std::int64_t epochs = 0;
  std::int64_t subset = 0;
  int threads = 0;
  std::string data_dir;
  std::string output_dir = ".";
};

inline ShortRunArgs parse_short_run(int argc, char** argv, void (*usage)(), std::int64_t epochs, std::int64_t subset) {
  ShortRunArgs a;
  a.epochs = epochs;
  a.subset = subset;
  for (CommandLine cl(argc, argv, usage); cl.next();) {
    if (cl.is("--epochs")) a.epochs = cl.integer();
    else if (cl.is("--subset")) a.subset = cl.integer();
    else if (cl.is("--threads")) a.threads = static_cast<int>(cl.integer());
    else if (cl.is("--data-dir")) a.data_dir = cl.value();
    else if (cl.is("--output-dir")) a.output_dir = cl.value();
    else cl.reject();
  }
  return a;
}

// The flags the Fashion-MNIST trainers share (fashion_mnist_convnet, residual_convnet, mobilenet_fashion,
// keras_fine_tuning). Each derives its Args from it, giving its own default epochs:
//
//   struct Args : TrainingRunFlags {
//     Args() : TrainingRunFlags{.epochs = 6} {}
//     double alpha = 1.0;
//   };
//   ...  if (cl.is("--alpha")) a.alpha = cl.number();
//        else if (!a.take(cl)) cl.reject();
struct TrainingRunFlags {
  std::int64_t epochs = 0;
  std::int64_t batch_size = 64;
  std::int64_t subset = 0;  // 0: all 60,000 training images
  int threads = 0;
  int verbose = 1;
  std::uint64_t seed = 1;
  std::string data_dir{};  // empty: $KEEL_DATA_DIR or the Debian package's folder
  std::string output_dir = ".";

  // Reads the flag `cl` is at when it is one of these; false when it is not.
  bool take(CommandLine& cl) {
    if (cl.is("--epochs")) epochs = cl.integer();
    else if (cl.is("--batch-size")) batch_size = cl.integer();
    else if (cl.is("--subset")) subset = cl.integer();
    else if (cl.is("--threads")) threads = static_cast<int>(cl.integer());
    else if (cl.is("--verbose")) verbose = static_cast<int>(cl.integer());
    else if (cl.is("--seed")) seed = static_cast<std::uint64_t>(cl.integer());
    else if (cl.is("--data-dir")) data_dir = cl.value();
    else if (cl.is("--output-dir")) output_dir = cl.value();
    else return false;
    return true;
  }
};
