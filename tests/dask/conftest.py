"""A local Dask cluster for the distributed tests: two worker processes of one
thread each, started once per session (started with a nanny, as a real cluster's
workers are, so they run with OMP_NUM_THREADS=1)."""

import pytest
from distributed import Client, LocalCluster


@pytest.fixture(scope="session")
def client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
