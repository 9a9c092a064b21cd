"""The pod the Helm chart renders, as `podman run` options: its securityContext, volumes, env and memory limit.

Each field the chart sets is translated or refused, so a chart change this test cannot mirror fails here rather
than being left out quietly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.helpers import by_kind, render_documents

#: The chart's defaults, with the embedded broker: the container reaches nothing outside itself.
VALUES = {"kafka": {"brokers": ["embedded"]}}
_POD_SECURITY = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile"}
_CONTAINER_SECURITY = {"allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot", "runAsUser",
                       "runAsGroup", "capabilities"}
_QUANTITY = re.compile(r"(\d+)(Ki|Mi|Gi)?")


def _bytes(quantity: str) -> int:
    number, unit = _QUANTITY.fullmatch(quantity).groups()
    return int(number) * {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[unit]


@dataclass(frozen=True)
class ChartPod:
    pod: dict
    configmaps: dict[str, dict[str, str]]

    @classmethod
    def render(cls, values: dict = VALUES) -> ChartPod:
        documents = render_documents(values)
        workload = by_kind(documents, "Deployment")[0]
        configmaps = {doc["metadata"]["name"]: doc["data"] for doc in by_kind(documents, "ConfigMap")}
        return cls(workload["spec"]["template"]["spec"], configmaps)

    @property
    def container(self) -> dict:
        return self.pod["containers"][0]

    @property
    def grace_seconds(self) -> int:
        return self.pod["terminationGracePeriodSeconds"]

    def port(self, name: str) -> int:
        return next(p["containerPort"] for p in self.container["ports"] if p["name"] == name)

    def probe(self, kind: str = "readinessProbe") -> tuple[str, int]:
        """The path and port number the kubelet would GET."""
        get = self.container[kind]["httpGet"]
        return get["path"], get["port"] if isinstance(get["port"], int) else self.port(get["port"])

    def podman_options(self, scratch: Path, name: str) -> list[str]:
        return [*self._security(), *self._volumes(scratch), *self._env(name), *self._resources()]

    def _security(self) -> list[str]:
        pod, box = self.pod.get("securityContext", {}), self.container.get("securityContext", {})
        assert set(pod) <= _POD_SECURITY and set(box) <= _CONTAINER_SECURITY, f"teach {__file__}: {pod} {box}"
        assert pod.get("seccompProfile", {"type": "RuntimeDefault"}) == {"type": "RuntimeDefault"}  # podman's own
        user, group = box.get("runAsUser", pod.get("runAsUser")), box.get("runAsGroup", pod.get("runAsGroup"))
        if box.get("runAsNonRoot", pod.get("runAsNonRoot")):
            assert user not in (None, 0), "runAsNonRoot: the kubelet refuses uid 0, and checks the image's otherwise"
        options = ["--user", str(user) if group is None else f"{user}:{group}"] if user is not None else []
        if "fsGroup" in pod:
            options += ["--group-add", str(pod["fsGroup"])]
        if box.get("readOnlyRootFilesystem"):
            # podman would mount its own /tmp, /var/tmp and /run: the pod has only the volumes it declares.
            options += ["--read-only", "--read-only-tmpfs=false"]
        if box.get("allowPrivilegeEscalation") is False:
            options += ["--security-opt", "no-new-privileges"]
        assert set(box.get("capabilities", {})) <= {"drop"}
        options += [arg for cap in box.get("capabilities", {}).get("drop", []) for arg in ("--cap-drop", cap.lower())]
        return options

    def _volumes(self, scratch: Path) -> list[str]:
        volumes = {volume["name"]: volume for volume in self.pod["volumes"]}
        options = []
        for mount in self.container["volumeMounts"]:
            volume, path = volumes[mount["name"]], mount["mountPath"]
            if "configMap" in volume:
                folder = scratch / mount["name"]
                folder.mkdir(mode=0o755)
                for key, text in self.configmaps[volume["configMap"]["name"]].items():
                    (folder / key).write_text(text)
                    (folder / key).chmod(0o644)  # a ConfigMap volume's defaultMode
                options += ["--volume", f"{folder}:{path}:{'ro' if mount.get('readOnly') else 'rw'}"]
            elif "emptyDir" in volume:
                # A fresh world-writable folder, programs may run from it; sizeLimit caps what it may hold.
                limit = volume["emptyDir"].get("sizeLimit")
                options += ["--tmpfs", f"{path}:rw,exec,mode=0777" + (f",size={_bytes(limit)}" if limit else "")]
            else:
                raise AssertionError(f"teach {__file__} to mount volume {volume}")
        return options

    def _env(self, pod_name: str) -> list[str]:
        options = []
        for variable in self.container.get("env", []):
            if "value" in variable:
                value = variable["value"]
            elif variable.get("valueFrom") == {"fieldRef": {"fieldPath": "metadata.name"}}:
                value = pod_name
            else:
                raise AssertionError(f"teach {__file__} to set {variable}")
            options += ["--env", f"{variable['name']}={value}"]
        return options

    def _resources(self) -> list[str]:
        limits = self.container.get("resources", {}).get("limits", {})
        assert set(limits) <= {"memory", "cpu"}, limits
        options = []
        if "memory" in limits:  # no swap, as on a kubelet
            options += ["--memory", str(_bytes(limits["memory"])), "--memory-swap", str(_bytes(limits["memory"]))]
        if "cpu" in limits:
            cpu = limits["cpu"]
            options += ["--cpus", str(int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu))]
        return options
