// MpiStrategy's collectives, the start-of-fit checks, rank-0-only files, and a rank that dies.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "mpi_test_support.h"

using namespace keel;
using keel::test::mpi;
using Catch::Matchers::Contains;

namespace {

// A compiled two-layer classifier with logits out.
std::shared_ptr<Sequential> mlp(std::int64_t hidden) {
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {3}}), layers::Dense({.units = hidden, .activation = "relu"}), layers::Dense({.units = 2})});
  model->compile({.optimizer = "adam",
                  .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                      losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                  .metrics = {"accuracy"}});
  return model;
}

// A folder every rank sees under the same name (rank 0's process id).
std::filesystem::path shared_folder(const std::string& what) {
  double pid = static_cast<double>(getpid());
  mpi().broadcast(std::as_writable_bytes(std::span<double>(&pid, 1)), 0);
  auto dir = std::filesystem::temp_directory_path() / ("keel_mpi_" + what + "_" + std::to_string(static_cast<long>(pid)));
  if (mpi().is_chief()) std::filesystem::create_directories(dir);
  mpi().barrier();
  return dir;
}

}  // namespace

TEST_CASE("MpiStrategy collectives combine in rank order", "[mpi]") {
  const int rank = mpi().rank();
  std::vector<double> gathered = mpi().all_gather(std::vector<double>{rank + 0.5, 10.0 * rank});
  CHECK(gathered == std::vector<double>{0.5, 0.0, 1.5, 10.0});

  std::vector<std::int64_t> counts;
  std::vector<double> mine(static_cast<std::size_t>(rank == 0 ? 3 : 0), 7.0);
  CHECK(mpi().all_gather_varying(mine, &counts) == std::vector<double>{7, 7, 7});
  CHECK(counts == std::vector<std::int64_t>{3, 0});

  // Sums of tensors of both float dtypes, with a bucket size that forces several buckets.
  std::vector<Tensor> tensors{Tensor::full({3}, 1.0 + rank, DType::float32), Tensor::full({2, 2}, 0.25 * rank, DType::float64),
                              Tensor::full({5}, 2.0, DType::float32)};
  const std::int64_t before = mpi().all_reduce_stats().calls;
  std::vector<Tensor> sums = mpi().all_reduce_tensors(tensors, 16);  // 4 float32 or 2 float64 per bucket
  CHECK(mpi().all_reduce_stats().calls - before == 3);  // {3 floats}, {5 floats}, {4 doubles}
  CHECK(sums[0].to_vector() == std::vector<double>(3, 3.0));
  CHECK(sums[1].to_vector() == std::vector<double>(4, 0.25));
  CHECK(sums[2].to_vector() == std::vector<double>(5, 4.0));
  CHECK(sums[1].dtype() == DType::float64);

  std::vector<double> moments_check = {1.0 + rank};
  mpi().all_reduce_sum(moments_check);
  CHECK(moments_check[0] == 3.0);
}

TEST_CASE("share_of splits a global batch into contiguous shares differing by at most one", "[mpi]") {
  CHECK(distribute::share_of(5, 2, 0).begin == 0);
  CHECK(distribute::share_of(5, 2, 0).end == 3);
  CHECK(distribute::share_of(5, 2, 1).begin == 3);
  CHECK(distribute::share_of(5, 2, 1).end == 5);
  CHECK(distribute::share_of(1, 2, 1).size() == 0);
}

TEST_CASE("Replicas that build different models or pass different data fail at the start of fit", "[mpi]") {
  const bool rank0 = mpi().is_chief();
  Tensor x = test::wave({6, 3}, 0, DType::float32), y = test::labels(6, 2);
  distribute::StrategyScope scope(mpi());
  SECTION("a different layer width on rank 1") {
    auto model = mlp(rank0 ? 4 : 5);
    REQUIRE_THROWS_AS(model->fit(x, y, {.verbose = 0}), ValueError);
    REQUIRE_THROWS_WITH(model->fit(x, y, {.verbose = 0}),
                        Contains("differs across the 2 replicas") && Contains("rank 1 has model fingerprint"));
  }
  SECTION("fewer samples on rank 1") {
    auto model = mlp(4);
    const std::int64_t n = rank0 ? 6 : 5;
    REQUIRE_THROWS_WITH(model->fit(x.narrow(0, 0, n), y.narrow(0, 0, n), {.verbose = 0}),
                        Contains("rank 1 has") && Contains("5 training"));
  }
}

TEST_CASE("Under two replicas rank 0 alone writes files and every rank loads them", "[mpi]") {
  const std::filesystem::path dir = shared_folder("files");
  Tensor x = test::wave({10, 3}, 0, DType::float32), y = test::labels(10, 2);
  set_random_seed(static_cast<std::uint64_t>(17 + mpi().rank()));  // different initial weights: rank 0's win
  auto model = mlp(4);
  {
    distribute::StrategyScope scope(mpi());
    model->fit(x, y,
               {.batch_size = 4, .epochs = 2, .verbose = 0,
                .callbacks = {std::make_shared<callbacks::ModelCheckpoint>(
                                  callbacks::ModelCheckpoint::Options{.filepath = (dir / "ckpt_{epoch}.keel").string()}),
                              std::make_shared<callbacks::CSVLogger>(dir / ("history_rank" + std::to_string(mpi().rank()) + ".csv"))}});
    model->save(dir / ("model_rank" + std::to_string(mpi().rank()) + ".keel"));
  }
  CHECK(test::weights_identical_across_ranks(*model));
  mpi().barrier();
  CHECK(std::filesystem::exists(dir / "model_rank0.keel"));
  CHECK_FALSE(std::filesystem::exists(dir / "model_rank1.keel"));
  CHECK(std::filesystem::exists(dir / "history_rank0.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "history_rank1.csv"));
  auto loaded = load_model(dir / "ckpt_2.keel");
  std::vector<Tensor> got = loaded->get_weights(), want = model->get_weights();
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    for (double v : want[i].to_vector()) REQUIRE(std::isfinite(v));
    CHECK(got[i].to_vector() == want[i].to_vector());
  }
  mpi().barrier();
  if (mpi().is_chief()) std::filesystem::remove_all(dir);
}

// Run by tests/distribute/rank_dies.sh: rank 1 exits without a word in its fourth epoch while rank 0
// waits in a collective; mpirun must end the job. Rank 1 writes the time of its death first.
TEST_CASE("Rank 1 exits in the middle of fit", "[.rank-dies]") {
  const char* folder = std::getenv("KEEL_MPI_TEST_DIR");
  REQUIRE(folder != nullptr);
  const std::filesystem::path dir = folder;
  Tensor x = test::wave({64, 3}, 0, DType::float32), y = test::labels(64, 2);
  auto model = mlp(8);
  std::int64_t epoch_now = 0;
  auto die = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallback::Options{
      .on_epoch_begin = [&](std::int64_t epoch, const Logs&) { epoch_now = epoch; },
      .on_train_batch_end =
          [&](std::int64_t step, const Logs&) {
            if (mpi().rank() != 1 || epoch_now < 3 || step != 2) return;
            const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
            std::ofstream(dir / "died_at") << std::fixed << now << "\n";
            _exit(3);
          }});
  distribute::StrategyScope scope(mpi());
  model->fit(x, y,
             {.batch_size = 8, .epochs = 1000, .verbose = 0,
              .callbacks = {std::make_shared<callbacks::ModelCheckpoint>(
                                callbacks::ModelCheckpoint::Options{.filepath = (dir / "checkpoint.keel").string()}),
                            die}});
  FAIL("fit returned although rank 1 died");
}

TEST_CASE("The checkpoint left by a dead job loads", "[.checkpoint-loads]") {
  const char* folder = std::getenv("KEEL_MPI_TEST_DIR");
  REQUIRE(folder != nullptr);
  auto model = load_model(std::filesystem::path(folder) / "checkpoint.keel");
  Tensor out = model->predict(test::wave({4, 3}, 0, DType::float32));
  CHECK(out.shape() == Shape{4, 2});
  for (double v : out.to_vector()) CHECK(std::isfinite(v));
}
