"""Docker tests run the compose files for real. Outside CI they are skipped, with the
reason, when no engine answers; with LAB_REQUIRE_DOCKER=1 (set by .ci/run) that fails."""
import fcntl
import os
import shutil
import subprocess
import time

import pytest

from tests.helpers import ROOT

DEFAULT_IMAGE = "valkey-lab:8.0.1-debian"


def compose_cmd() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if proc.returncode != 0:
        return "no Docker engine answers (start one: scripts/start-dockerd.sh)"
    image = os.environ.get("VALKEY_IMAGE", DEFAULT_IMAGE)
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        return f"image {image} is not present (make image, then VALKEY_IMAGE=<tag>)"
    return None


LOCK = "/tmp/valkey-lab-docker.lock"


@pytest.fixture(scope="session")
def docker_lock():
    """The compose stacks use fixed names and ports: one user at a time, on this machine
    (the same lock `flock /tmp/valkey-lab-docker.lock ...` takes). Already held by a wrapping
    flock? Set LAB_DOCKER_LOCK_HELD=1 (a second flock on the same file would wait forever)."""
    if os.environ.get("LAB_DOCKER_LOCK_HELD") == "1":
        yield
        return
    with open(LOCK, "a") as f:  # not inherited by children (O_CLOEXEC)
        deadline = time.monotonic() + float(os.environ.get("LAB_DOCKER_LOCK_WAIT_S", "3600"))
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{LOCK} stayed locked (another run uses the stacks' ports); if this run holds it, "
                                "set LAB_DOCKER_LOCK_HELD=1")
                time.sleep(1)
        yield


@pytest.fixture(scope="session")
def docker_ready(docker_lock):
    problem = engine_problem()
    if problem:
        if os.environ.get("LAB_REQUIRE_DOCKER") == "1":
            pytest.fail(f"LAB_REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)
    return os.environ.get("VALKEY_IMAGE", DEFAULT_IMAGE)


class Compose:
    def __init__(self, file: str, image: str):
        self.file, self.image = file, image

    def __call__(self, *args: str, check: bool = True, timeout: float = 300, env: dict | None = None):
        proc = subprocess.run([*compose_cmd(), "-f", self.file, *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "VALKEY_IMAGE": self.image, **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed: {proc.stderr[-2000:]}")
        return proc


def stack(file: str, image: str):
    compose = Compose(file, image)
    compose("down", "-v", "-t", "1", check=False)  # leftovers of an interrupted run
    compose("up", "-d")
    try:
        yield compose
    finally:
        compose("down", "-v", "-t", "1", check=False)


@pytest.fixture(scope="module")
def ha_stack(docker_ready):
    yield from stack("docker-compose.ha.yml", docker_ready)
