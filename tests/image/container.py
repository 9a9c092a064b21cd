"""One running container of the image, driven the way a kubelet and an operator would: probes and commands run
inside it with `podman exec` (it has no network but its own loopback)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass

from tests.image.images import podman

# A GET from inside the container, with nothing but the image's Python: prints the status, then the body.
_GET = """
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
print(status)
sys.stdout.write(body.decode(errors="replace"))
"""


class NotHealthy(AssertionError):
    """The container exited, or its health check did not answer 200 in time; the message ends with its log."""


@dataclass
class Container:
    name: str

    @classmethod
    def start(cls, image: str, name: str, options: list[str], args: list[str]) -> Container:
        podman("rm", "--force", "--ignore", name)
        podman("run", "--detach", "--name", name, "--network", "none", *options, image, *args)
        return cls(name)

    def exec(self, *command: str, stdin: str | None = None, timeout: float = 60,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        return podman("exec", *(["--interactive"] if stdin is not None else []), self.name, *command,
                      stdin=stdin, timeout=timeout, check=check)

    def get(self, url: str) -> tuple[int, str]:
        """(status, body) of a GET from inside; status 0 while nothing listens."""
        result = self.exec("python", "-c", _GET, url, check=False, timeout=30)
        if result.returncode != 0:
            return 0, result.stderr
        status, _, body = result.stdout.partition("\n")
        return int(status), body

    def wait_healthy(self, url: str, within: float) -> float:
        """Seconds from now until `url` answers 200; NotHealthy when the container exits or time runs out."""
        started = time.monotonic()
        while True:
            if not self.running():
                raise NotHealthy(f"{self.name} exited ({self.state()['ExitCode']}) before it was healthy:\n"
                                 f"{self.logs()[-3000:]}")
            status, _ = self.get(url)
            if status == 200:
                return time.monotonic() - started
            if time.monotonic() - started > within:
                raise NotHealthy(f"{url} answered {status}, not 200, within {within}s:\n{self.logs()[-3000:]}")
            time.sleep(0.5)

    def state(self) -> dict:
        return json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)

    def running(self) -> bool:
        return self.state()["Running"]

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def stop(self, grace: int) -> tuple[int, float]:
        """SIGTERM, then SIGKILL after `grace` seconds, as a kubelet does: (exit code, seconds it took)."""
        started = time.monotonic()
        podman("stop", "--time", str(grace), self.name, timeout=grace + 60)
        return self.state()["ExitCode"], time.monotonic() - started

    def remove(self) -> None:
        podman("rm", "--force", "--ignore", self.name, check=False)
