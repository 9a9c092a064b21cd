import json

from processor.model.records import StreamAnomaly, StreamRecord, anomaly_for, from_json_dict, to_json_dict


def test_json_form_uses_hex_ids_integer_times_and_leaves_unknowns_out():
    record = StreamRecord(trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
                          span_id=bytes.fromhex("b7ad6b7169203331"), start_time_unix_nano=1_700_000_000_123_456_789,
                          ttft_s=0.3, chunk_count=15, outcome="completed", stall_count=0)
    form = to_json_dict(record)
    assert form == {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
                    "start_time_unix_nano": 1_700_000_000_123_456_789, "ttft_s": 0.3, "chunk_count": 15,
                    "stall_count": 0, "outcome": "completed"}
    assert "tpot_s" not in form and "parent_span_id" not in form
    assert from_json_dict(StreamRecord, json.loads(json.dumps(form))) == record


def test_anomaly_carries_the_labels_of_its_stream():
    record = StreamRecord(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, route="/chat", provider="openai")
    anomaly = anomaly_for(record, "stall", severity="warning", time_unix_nano=5, detail="gap 2.5s")
    assert to_json_dict(anomaly) == {"trace_id": "01" * 16, "span_id": "02" * 8, "kind": "stall",
                                     "severity": "warning", "time_unix_nano": 5, "detail": "gap 2.5s",
                                     "route": "/chat", "provider": "openai"}
    assert isinstance(anomaly, StreamAnomaly)
