"""The event catalog is complete: every event a function in the database can raise is in
app/alerts/catalog.py and in docs/alerts.md, with the same severity and tier, and nothing is
listed that nothing raises."""

from __future__ import annotations

import re

from app.alerts.catalog import EVENTS, SUMMARY_EVENT
from app.config import PROJECT_ROOT
from tests.conftest import Conn

SCHEMAS = ["api", "core", "billing", "promo", "referral", "ops"]
# | `event` | severity | tier | default targets | raised by | resolved when |
DOC_ROW = re.compile(r"^\| `([a-z_.]+)` \| (\w+) \| (\d) \| ([a-z, ]+) \|", re.MULTILINE)
CALL = re.compile(r"\bops\.(raise_alert|resolve_alert)\s*\(", re.IGNORECASE)
# They pass an event on: the helpers, and the test alert (the CLI offers the catalog's events).
PASS_ON = ("ops.raise_alert(", "ops.resolve_alert(", "api.raise_test_alert(")
LITERAL = re.compile(r"'([a-z][a-z_]*(?:\.[a-z][a-z_]*)+)'")


def _first_argument(text: str) -> str:
    """The text of a call's first argument (up to the comma at depth 0)."""
    depth = 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            if depth == 0:
                return text[:i]
            depth -= 1
        elif char == "," and depth == 0:
            return text[:i]
    return text


def raised_events(conn: Conn) -> set[str]:
    """The event names in the first argument of every ops.raise_alert / ops.resolve_alert
    call in the project's function bodies (a literal, or the literals of a CASE)."""
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text AS name, p.prosrc FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)",
        (SCHEMAS,),
    ).fetchall()
    events: set[str] = set()
    for row in rows:
        if str(row["name"]).startswith(PASS_ON):
            continue
        source = str(row["prosrc"])
        for call in CALL.finditer(source):
            argument = _first_argument(source[call.end() :])
            found = LITERAL.findall(argument)
            assert found, f"{row['name']}: an alert whose event is not a literal: {argument!r}"
            events.update(found)
    return events


def test_every_raised_event_is_in_the_catalog_and_the_docs(admin_conn: Conn) -> None:
    raised = raised_events(admin_conn)
    assert len(raised) >= 10
    assert raised == set(EVENTS), "app/alerts/catalog.py lists exactly the raised events"
    documented = {
        name: (sev, int(tier), targets)
        for name, sev, tier, targets in DOC_ROW.findall(
            (PROJECT_ROOT / "docs" / "alerts.md").read_text()
        )
    }
    assert set(documented) == raised, "docs/alerts.md lists exactly the raised events"
    for name, event in EVENTS.items():
        severity, tier, targets = documented[name]
        assert (severity, tier) == (event.severity, event.tier), name
        assert tuple(t.strip() for t in targets.split(",")) == event.default_targets, name


def test_the_finder_sees_an_event_that_is_not_listed(admin_conn: Conn) -> None:
    # The check can fail: a function that raises a new event is found.
    admin_conn.execute(
        "CREATE FUNCTION ops.pytest_raiser() RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
        " PERFORM ops.raise_alert('billing.pytest_event', 'info', 's', '{}', 'k'); END $$"
    )
    try:
        assert "billing.pytest_event" in raised_events(admin_conn) - set(EVENTS)
    finally:
        admin_conn.execute("DROP FUNCTION ops.pytest_raiser()")


def test_the_raised_severities_are_the_catalogs(admin_conn: Conn) -> None:
    """Each call's severity literal (second argument), where it is one, is the catalog's."""
    rows = admin_conn.execute(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = ANY(%s)",
        (SCHEMAS,),
    ).fetchall()
    pair = re.compile(r"ops\.raise_alert\(\s*'([a-z_.]+)',\s*'(\w+)'", re.IGNORECASE)
    seen = [m for row in rows for m in pair.findall(str(row["prosrc"]))]
    assert len(seen) >= 8
    for event, severity in seen:
        assert EVENTS[event].severity == severity, event


def test_the_summary_event_is_not_raised_by_the_database() -> None:
    assert SUMMARY_EVENT not in EVENTS
