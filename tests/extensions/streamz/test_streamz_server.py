"""The page and its JSON over real HTTP on 127.0.0.1, fed through the streamz exporter."""

from __future__ import annotations

from processor.extensions.streamz.server import DEFAULT_LIMIT
from tests.extensions.streamz.streams import batch_of, known_streams, stream


async def test_the_page_its_script_and_style_are_served_with_a_strict_policy(streamz, http):
    async with http.get(f"{streamz.url}/streamz") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert '<script src="/streamz/static/app.js"' in page and "http" not in page.split("<body>")[0]
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        async with http.get(f"{streamz.url}/streamz/static/{name}") as response:
            assert response.status == 200 and response.content_type == kind
            assert len(await response.read()) > 100
    async with http.get(f"{streamz.url}/streamz/static/secret.py") as response:
        assert response.status == 404
    async with http.get(f"{streamz.url}/", allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"] == "/streamz"


async def test_the_api_returns_what_was_fed_with_timelines_and_anomalies(streamz, http):
    await streamz.feed(known_streams())
    async with http.get(f"{streamz.url}/streamz/api/streams") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.json()
    streams = body["streams"]
    assert [(s["record"]["route"], s["record"]["outcome"]) for s in streams] == [
        ("/chat", "aborted"), ("/summarize", "completed"), ("/chat", "completed")]
    aborted, stalled, normal = streams
    assert [a["kind"] for a in aborted["anomalies"]] == ["abort"]
    assert [a["kind"] for a in stalled["anomalies"]] == ["stall"]
    assert normal["anomalies"] == []
    assert stalled["timeline"]["stalls"] == [{"from_s": 0.7, "to_s": 3.7, "gap_s": 3.0}]
    assert (stalled["record"]["stall_count"], stalled["record"]["stalled_s"]) == (1, 3.0)
    assert normal["record"]["stall_count"] == 0
    assert stalled["timeline"]["chunks"] == [0.5, 0.6, 0.7, 3.7, 3.8, 3.9]
    assert len(normal["timeline"]["chunks"]) == 20 and normal["timeline"]["stalls"] == []
    assert body["facets"] == {"routes": ["/chat", "/summarize"], "outcomes": ["aborted", "completed"],
                              "anomalies": ["abort", "stall"]}
    assert body["max_streams"] == 60


async def test_the_api_filters_by_query_parameters(streamz, http):
    await streamz.feed(known_streams())

    async def routes_of(query: str) -> list[tuple[str, str]]:
        async with http.get(f"{streamz.url}/streamz/api/streams?{query}") as response:
            return [(s["record"]["route"], s["record"]["outcome"]) for s in (await response.json())["streams"]]

    assert await routes_of("route=/summarize") == [("/summarize", "completed")]
    assert await routes_of("outcome=aborted") == [("/chat", "aborted")]
    assert await routes_of("anomaly=stall") == [("/summarize", "completed")]
    assert await routes_of("route=/chat&outcome=completed") == [("/chat", "completed")]
    assert await routes_of("route=&outcome=&anomaly=") == await routes_of("")


async def test_limit_has_a_default_is_capped_by_max_streams_and_must_be_a_number(streamz, http):
    assert DEFAULT_LIMIT < 60  # max_streams of the fixture
    await streamz.feed(batch_of(*[stream(f"/r{i}", "m", "completed", [0.1, 0.2]) for i in range(65)]))
    async with http.get(f"{streamz.url}/streamz/api/streams") as response:
        body = await response.json()
        assert len(body["streams"]) == DEFAULT_LIMIT and body["matched"] == 60
    async with http.get(f"{streamz.url}/streamz/api/streams?limit=3") as response:
        assert [s["record"]["route"] for s in (await response.json())["streams"]] == ["/r64", "/r63", "/r62"]
    async with http.get(f"{streamz.url}/streamz/api/streams?limit=1000") as response:
        assert len((await response.json())["streams"]) == 60
    async with http.get(f"{streamz.url}/streamz/api/streams?limit=lots") as response:
        assert response.status == 400
        assert "lots" in await response.text()
