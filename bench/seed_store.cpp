// SPDX-License-Identifier: MIT
// Fills a data directory's state.db with D deployments and E finished executions, so the API
// benchmark measures prisnd with a large store without waiting for E real runs.
//   prisn_bench_seed DATA_DIR DEPLOYMENTS EXECUTIONS
#include <cstdlib>
#include <iostream>
#include <string>

#include "prisn/model/deployment_json.hpp"
#include "prisn/store/store.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " DATA_DIR DEPLOYMENTS EXECUTIONS\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const int deployments = std::atoi(argv[2]);
  const long executions = std::atol(argv[3]);
  auto store = prisn::store::Store::open(dir / "state.db", dir / "secret.key");
  if (!store) {
    std::cerr << store.error().message << "\n";
    return 1;
  }
  auto& s = **store;
  const auto now = prisn::WallClock::now();
  (void)s.begin();
  for (int i = 0; i < deployments; ++i) {
    const std::string name = "job-" + std::to_string(i);
    auto spec = prisn::model::decode_deployment(
        prisn::model::Json{{"name", name}, {"source", "exit 0\n"}, {"filename", name + ".sh"}}, {});
    prisn::store::DeploymentRecord rec;
    rec.spec = *spec;
    rec.created_at = rec.updated_at = now;
    (void)s.put_deployment(rec);
  }
  for (long i = 0; i < executions; ++i) {
    prisn::model::Execution e;
    e.id = "ex-seed" + std::to_string(i);
    e.deployment = "job-" + std::to_string(i % deployments);
    e.status = prisn::model::ExecStatus::kCompleted;
    e.exit_code = 0;
    e.runtime = "bash";
    e.filename = e.deployment + ".sh";
    e.created_at = now - std::chrono::seconds(executions - i);
    e.started_at = e.created_at;
    e.completed_at = e.created_at + std::chrono::milliseconds(5);
    (void)s.put_execution(e);
    if (i % 10000 == 9999) {
      (void)s.commit();
      (void)s.begin();
    }
  }
  (void)s.commit();
  std::cout << "seeded " << deployments << " deployments and " << executions << " executions in " << dir << "\n";
  return 0;
}
