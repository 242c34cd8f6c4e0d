"""/metrics by Prometheus practice: the exposition parses, every family has HELP and TYPE, one
metric per meaning (no catch-all labels such as `metric`/`label`), counters end in `_total`,
no `_created` series, units in the names; docs/metrics.md lists exactly what is exposed."""

from __future__ import annotations

import json
import re

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.api.app import create_app
from app.config import PROJECT_ROOT
from tests.conftest import service_settings
from tests.harness import ScratchDatabase
from tests.test_http_promo import METRICS, TOKENS, auth

# A row of docs/metrics.md's table: | `name` | type | labels | meaning |
DOC_ROW = re.compile(r"^\| `(starpass_[a-z0-9_]+)` \| (counter|gauge|histogram) \|", re.MULTILINE)
UNITS = ("seconds", "bytes")


async def _scrape(database: ScratchDatabase) -> str:
    settings = service_settings(database, internal_api_tokens_json=json.dumps(TOKENS))
    async with TestClient(TestServer(create_app(settings))) as client:
        await client.get("/healthz")  # a latency sample
        response = await client.get("/metrics", headers=auth(METRICS))
        assert response.status == 200
        return await response.text()


async def test_the_exposition_follows_prometheus_practice(database: ScratchDatabase) -> None:
    text = await _scrape(database)
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    assert "starpass_http_request_duration_seconds" in names
    for family in families:
        name = family.name
        assert name.startswith("starpass_"), name
        assert family.documentation, f"{name}: no HELP"
        # The text format names a counter with its _total in HELP and TYPE too.
        exposed = f"{name}_total" if family.type == "counter" else name
        assert f"# HELP {exposed} " in text and f"# TYPE {exposed} {family.type}\n" in text
        assert family.type in ("counter", "gauge", "histogram"), f"{name}: {family.type}"
        samples: list[Sample] = family.samples
        for sample in samples:
            assert not sample.name.endswith("_created"), sample.name
            assert not {"metric", "label"} & set(sample.labels), f"{name}: catch-all labels"
            if family.type == "counter":
                assert sample.name == f"{name}_total", sample.name
        if family.type == "histogram":
            assert name.endswith(tuple(f"_{unit}" for unit in UNITS)), f"{name}: no unit"
        # A unit is the last part of a name (before _total), plural, a base unit.
        parts = name.split("_")
        for unit in ("second", "ms", "milliseconds", "minutes", "hours"):
            assert unit not in parts, f"{name}: use seconds"
        if "seconds" in parts:
            assert parts[-1] == "seconds", f"{name}: the unit goes last"
    # Counters are declared under their base name (the parser strips _total) and sampled whole.
    assert "starpass_redemptions_total" in text and "_created" not in text
    assert 'starpass_alert_outbox_alerts{state="dead"} ' in text
    assert "starpass_db_figures_up 1.0" in text


async def test_docs_list_every_metric(database: ScratchDatabase) -> None:
    exposed = {(f.name, f.type) for f in text_string_to_metric_families(await _scrape(database))}
    documented = DOC_ROW.findall((PROJECT_ROOT / "docs" / "metrics.md").read_text())
    assert len(documented) == len(set(documented))
    # docs name a counter as it is sampled (with _total); the parser names its family without
    listed = {(n.removesuffix("_total") if t == "counter" else n, t) for n, t in documented}
    assert listed == exposed
