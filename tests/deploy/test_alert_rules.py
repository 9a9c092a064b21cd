"""The chart's alert rules through promtool: valid, and each alert fires on bad series and not on healthy ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.deploy.helpers import CHART, by_kind, render_documents

UNIT_TESTS = Path(__file__).parent / "promtool" / "alerts_test.yaml"


def _rendered_rule_groups() -> list[dict]:
    values = yaml.safe_load((CHART / "ci" / "deployment-monitoring-values.yaml").read_text())
    return by_kind(render_documents(values), "PrometheusRule")[0]["spec"]["groups"]


def _write_rules(directory: Path) -> Path:
    rules = directory / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": _rendered_rule_groups()}, sort_keys=False))
    return rules


def _alert_names() -> list[str]:
    return [rule["alert"] for group in _rendered_rule_groups() for rule in group["rules"] if "alert" in rule]


def test_rules_pass_promtool_check(promtool, tmp_path):
    result = subprocess.run([promtool, "check", "rules", "--lint-fatal", str(_write_rules(tmp_path))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_on_bad_series_and_stays_silent_on_healthy(promtool, tmp_path):
    _write_rules(tmp_path)
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    result = subprocess.run([promtool, "test", "rules", UNIT_TESTS.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_unit_test():
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    firing = {re.search(r'alertname="(\w+)"', sample["labels"]).group(1)
              for test in tests for check in test.get("promql_expr_test", []) for sample in check["exp_samples"]}
    silent = {check["alertname"] for test in tests for check in test.get("alert_rule_test", [])
              if check["exp_alerts"] == []}
    names = set(_alert_names())
    assert names == {"TokenstreamTimeToFirstTokenHigh", "TokenstreamStreamStallRateHigh",
                     "TokenstreamStreamAbortRateHigh", "TokenstreamRetriesAfterFirstChunkSurge",
                     "TokenstreamExporterSendFailures", "TokenstreamRefusingSpans"}
    assert names <= firing and names <= silent


def test_every_alert_has_a_runbook_style_description():
    for group in _rendered_rule_groups():
        for rule in group["rules"]:
            annotations = rule["annotations"]
            assert len(annotations["description"].split()) > 30, rule["alert"]
            assert annotations["runbook_url"].endswith("#" + rule["alert"].lower()), rule["alert"]
