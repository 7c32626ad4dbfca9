"""A real local Ray instance for tests: one CPU, no GPU, on 127.0.0.1 only."""
import contextlib
import os


@contextlib.contextmanager
def local_ray():
    """Yields (the cluster's address, the RayBackend class). Ray reads the switch below when
    it is first imported; without it Ray would use the machine's outside address even when
    told 127.0.0.1."""
    old = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    ctx = ray.init(address="local", num_cpus=1, num_gpus=0, include_dashboard=False,
                   object_store_memory=80 * 1024**2, _node_ip_address="127.0.0.1",
                   log_to_driver=False)
    try:
        assert ctx.address_info["node_ip_address"] == "127.0.0.1"
        from cnndemo.jobs.ray_backend import RayBackend

        yield ctx.address_info["gcs_address"], RayBackend
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = old
