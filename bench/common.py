"""What every benchmark starts from: a durable throwaway cluster (fsync on, as in production)
with a migrated database, and the pepper the benchmarks hash codes with."""

from __future__ import annotations

from app.config import Settings
from app.db.cluster import Cluster
from tests.harness import ScratchDatabase, create_database, throwaway_cluster

PEPPER = "bench-pepper-0123456789abcdef-0123456789abcdef"


def start_durable(prefix: str) -> tuple[Cluster, ScratchDatabase]:
    """The caller destroys the cluster when done (`cluster.destroy()` in a `finally`)."""
    cluster = throwaway_cluster(Settings(_env_file=None), durable=True)
    try:
        cluster.init()
        cluster.start()
        return cluster, create_database(cluster.admin_url("postgres"), prefix=prefix)
    except BaseException:
        cluster.destroy()
        raise
