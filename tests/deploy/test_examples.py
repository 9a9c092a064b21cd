"""deploy/examples/*/rendered.yaml match a fresh render; `python deploy/render_examples.py` regenerates them."""

from __future__ import annotations

import pytest

from tests.deploy.helpers import EXAMPLE_VALUES, case_id, load_documents, render_examples


@pytest.mark.parametrize("values_file", EXAMPLE_VALUES, ids=case_id)
def test_rendered_example_is_fresh(values_file):
    rendered = values_file.parent / "rendered.yaml"
    assert rendered.exists(), f"missing {rendered}: run python deploy/render_examples.py"
    assert rendered.read_text() == render_examples.render_example(values_file), (
        f"{rendered} is stale: run python deploy/render_examples.py")
    assert load_documents(rendered.read_text())


def test_examples_cover_every_mode_and_both_sidecar_forms():
    names = {path.parent.name for path in EXAMPLE_VALUES}
    assert {"deployment", "daemonset", "statefulset", "sidecar", "sidecar-plain-container"} <= names
