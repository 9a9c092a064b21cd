import pytest

from processor.config.validate import Problems, validate


def _problems(document) -> Problems:
    with pytest.raises(Problems) as info:
        validate(document)
    return info.value


def test_a_good_config_validates_and_warns_about_unused_components():
    config = validate({"exporters": {"debug": {}, "debug/unused": {"verbosity": "detailed"}},
                       "receivers": {"rec": {}},
                       "service": {"pipelines": {"traces": {"receivers": ["rec"], "exporters": ["debug"]}}}})
    assert [p.id for p in config.pipelines] == ["traces"]
    assert config.warnings == ['exporters::debug/unused: exporter "debug/unused" is configured but not used by any '
                               "pipeline"]


@pytest.fixture(autouse=True)
def _recorders(recorder_components):
    """The `rec` test component from tests/service/conftest.py stands in for a receiver."""


def test_every_problem_is_reported_at_once_with_its_path():
    problems = _problems({
        "receivers": {"rec": {"tag": 5, "colour": "red"}},
        "exporters": {"debug": {"verbosity": "loud"}, "kafak": {}},
        "processors": {"Bad Id": {}},
        "service": {"extensions": ["health"],
                    "pipelines": {"traces": {"receivers": ["rec"], "processors": ["batch/slow"], "exporters": []},
                                  "spans": {"receivers": ["rec"], "exporters": ["debug"]}}},
    })
    assert problems.errors == [
        'receivers::rec::tag: 5 is not valid: Input should be a valid string',
        'receivers::rec::colour: unknown key "colour"; known keys: mutate, tag',
        'processors::Bad Id: "Bad Id" is not a component id (type[/name], e.g. batch or batch/slow)',
        'exporters::debug::verbosity: "loud" is not valid: Input should be \'basic\', \'normal\' or \'detailed\'',
        'exporters::kafak: unknown exporter type "kafak"; known types: debug, rec',
        'service::pipelines::traces: references processor "batch/slow" which is not configured; known types: rec',
        "service::pipelines::traces: has no exporters; list at least one under exporters",
        'service::pipelines::spans: "spans" is not a signal; a pipeline id is traces, logs or metrics, '
        'optionally /name',
        'service::extensions: references extension "health" which is not configured',
    ]


def test_an_unknown_top_level_section_is_named():
    problems = _problems({
        "receivers": {"rec": {}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"traces": {"receivers": ["rec"], "exporters": ["debug"]}}},
        "recievers": {},
    })
    assert problems.errors == ['recievers: unknown key "recievers"; did you mean "receivers"?']


def test_a_pipeline_without_receivers_is_an_error():
    problems = _problems({"exporters": {"debug": {}},
                          "service": {"pipelines": {"logs": {"exporters": ["debug"]}}}})
    assert problems.errors == ["service::pipelines::logs: has no receivers; list at least one under receivers"]


def test_no_pipelines_at_all_says_how_to_add_one():
    assert "no pipeline is configured" in _problems({})\
        .errors[0]
