from __future__ import annotations

from processor.extensions.streamz.buffer import MAX_ALERTS, StreamBuffer


def record(n: int, route: str = "/chat", outcome: str = "completed") -> dict:
    return {"trace_id": f"{n:032x}", "span_id": f"{n:016x}", "route": route, "outcome": outcome,
            "start_time_unix_nano": 1_000 + n}


def anomaly(n: int, kind: str) -> dict:
    return {"trace_id": f"{n:032x}", "span_id": f"{n:016x}", "kind": kind}


def routes(result: dict) -> list[str]:
    return [entry["record"]["route"] for entry in result["streams"]]


def test_keeps_only_the_most_recent_streams_newest_first():
    buffer = StreamBuffer(max_streams=3)
    for n in range(5):
        buffer.add_stream(record(n, route=f"/r{n}"))
    result = buffer.query()
    assert routes(result) == ["/r4", "/r3", "/r2"]
    assert (result["kept"], result["recorded"], result["matched"]) == (3, 5, 3)


def test_the_same_stream_recorded_again_replaces_its_entry_and_keeps_its_anomalies():
    buffer = StreamBuffer(max_streams=10)
    buffer.add_stream(record(1, outcome="truncated"))
    buffer.add_anomaly(anomaly(1, "truncation"))
    buffer.add_stream(record(2))
    buffer.add_stream(record(1, outcome="aborted"))
    result = buffer.query()
    assert [e["record"]["span_id"] for e in result["streams"]] == [f"{1:016x}", f"{2:016x}"]
    assert result["streams"][0]["record"]["outcome"] == "aborted"
    assert [a["kind"] for a in result["streams"][0]["anomalies"]] == ["truncation"]


def test_an_anomaly_that_comes_before_its_record_waits_for_it():
    buffer = StreamBuffer(max_streams=10)
    buffer.add_anomaly(anomaly(7, "stall"))
    assert buffer.query()["streams"] == []
    buffer.add_stream(record(7))
    assert [a["kind"] for a in buffer.query()["streams"][0]["anomalies"]] == ["stall"]


def test_waiting_anomalies_are_bounded():
    buffer = StreamBuffer(max_streams=2)
    for n in range(5):
        buffer.add_anomaly(anomaly(n, "stall"))
    buffer.add_stream(record(0))
    buffer.add_stream(record(4))
    by_span = {e["record"]["span_id"]: e["anomalies"] for e in buffer.query()["streams"]}
    assert by_span == {f"{0:016x}": [], f"{4:016x}": [anomaly(4, "stall")]}


def test_anomalies_of_no_stream_are_alerts_newest_first_and_bounded():
    buffer = StreamBuffer(max_streams=2)
    for n in range(MAX_ALERTS + 3):
        buffer.add_anomaly({"kind": "slow_first_token", "route": "/chat", "detail": f"p95 {n}"})
    alerts = buffer.query()["alerts"]
    assert len(alerts) == MAX_ALERTS
    assert alerts[0]["detail"] == f"p95 {MAX_ALERTS + 2}"


def test_filters_by_route_outcome_and_anomaly_kind_together():
    buffer = StreamBuffer(max_streams=10)
    buffer.add_stream(record(1, "/chat", "completed"))
    buffer.add_stream(record(2, "/chat", "aborted"))
    buffer.add_stream(record(3, "/sum", "completed"))
    buffer.add_anomaly(anomaly(2, "abort"))
    buffer.add_anomaly(anomaly(3, "stall"))
    assert routes(buffer.query(route="/chat")) == ["/chat", "/chat"]
    assert [e["record"]["span_id"] for e in buffer.query(outcome="completed")["streams"]] == [f"{3:016x}",
                                                                                           f"{1:016x}"]
    assert [e["record"]["span_id"] for e in buffer.query(anomaly="stall")["streams"]] == [f"{3:016x}"]
    assert buffer.query(route="/chat", anomaly="stall")["streams"] == []
    assert buffer.query(route="/nope")["matched"] == 0


def test_limit_caps_what_is_returned_not_what_matched():
    buffer = StreamBuffer(max_streams=10)
    for n in range(6):
        buffer.add_stream(record(n))
    result = buffer.query(limit=2)
    assert len(result["streams"]) == 2 and result["matched"] == 6


def test_facets_list_the_values_kept_now():
    buffer = StreamBuffer(max_streams=2)
    buffer.add_stream(record(1, "/old", "error"))
    buffer.add_stream(record(2, "/chat", "completed"))
    buffer.add_stream(record(3, "/sum", "aborted"))
    buffer.add_anomaly(anomaly(3, "abort"))
    buffer.add_stream({"trace_id": "ff", "span_id": "ee"})  # no labels: adds no empty choice
    assert buffer.facets() == {"routes": ["/sum"], "outcomes": ["aborted"], "anomalies": ["abort"]}
