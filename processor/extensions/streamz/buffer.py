"""The most recent streams, bounded: what the streamz page shows.

Each entry is a stream record's JSON form, its timeline (see timeline.py: its chunks and the stalls the
`stream` processor found) and the anomalies of that stream. An anomaly may arrive before its record (a later
batch carries the record): it waits, bounded, for its stream. An anomaly tied to no span (a route-level alert)
is kept in `alerts`. Called from the event loop only; no locking.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from processor.extensions.streamz.timeline import build_timeline
from processor.model.chunks import StreamChunks

MAX_ALERTS = 50


class StreamBuffer:
    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self._streams: OrderedDict[str, dict[str, Any]] = OrderedDict()  # oldest first
        self._waiting: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()  # anomalies before their record
        self.alerts: deque[dict[str, Any]] = deque(maxlen=MAX_ALERTS)
        self.recorded = 0  # streams ever recorded: the page shows how many dropped out

    def add_stream(self, record: dict[str, Any], chunks: StreamChunks | None = None) -> None:
        key = _key(record)
        entry = self._streams.pop(key, None)
        anomalies = entry["anomalies"] if entry else []
        anomalies.extend(self._waiting.pop(key, ()))
        self.recorded += 1
        self._streams[key] = {"key": key, "seq": self.recorded, "record": record,
                              "timeline": build_timeline(record, chunks),
                              "anomalies": anomalies}
        while len(self._streams) > self.max_streams:
            self._streams.popitem(last=False)

    def add_anomaly(self, anomaly: dict[str, Any]) -> None:
        if not anomaly.get("span_id"):
            self.alerts.append(anomaly)
            return
        key = _key(anomaly)
        entry = self._streams.get(key)
        if entry is not None:
            entry["anomalies"].append(anomaly)
            return
        self._waiting.setdefault(key, []).append(anomaly)
        while len(self._waiting) > self.max_streams:
            self._waiting.popitem(last=False)

    def query(self, *, route: str = "", outcome: str = "", anomaly: str = "", limit: int = 50) -> dict[str, Any]:
        """Newest first, filtered (an empty filter matches everything), at most `limit` streams."""
        matches = []
        for entry in reversed(self._streams.values()):
            record = entry["record"]
            if route and record.get("route") != route:
                continue
            if outcome and record.get("outcome") != outcome:
                continue
            if anomaly and not any(a.get("kind") == anomaly for a in entry["anomalies"]):
                continue
            matches.append(entry)
        return {"streams": matches[:max(limit, 0)], "matched": len(matches), "kept": len(self._streams),
                "recorded": self.recorded, "max_streams": self.max_streams, "facets": self.facets(),
                "alerts": list(reversed(self.alerts))}

    def facets(self) -> dict[str, list[str]]:
        """The values each filter can take, from what is kept now."""
        routes, outcomes, kinds = set(), set(), set()
        for entry in self._streams.values():
            record = entry["record"]
            routes.add(record.get("route", ""))
            outcomes.add(record.get("outcome", ""))
            kinds.update(a.get("kind", "") for a in entry["anomalies"])
        return {name: sorted(values - {""}) for name, values in
                (("routes", routes), ("outcomes", outcomes), ("anomalies", kinds))}


def _key(item: dict[str, Any]) -> str:
    return f"{item.get('trace_id', '')}/{item.get('span_id', '')}"
