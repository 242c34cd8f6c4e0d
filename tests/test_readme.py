"""The README's first ten minutes run as written (its shell blocks against a live service, its
SQL walk in psql), `make run` takes an address, and no document points outside the repository."""

from __future__ import annotations

import json
import os
import re
import subprocess

from app.config import PROJECT_ROOT
from app.db.cluster import libpq_environment
from tests.conftest import LIVE_TOKEN, PEPPER, run_starpass
from tests.harness import ScratchDatabase

README = PROJECT_ROOT / "README.md"
BLOCK = re.compile(r"```(sql|sh)\n(.*?)```", re.S)
DEV_TOKENS = json.dumps(
    [
        {
            "name": "dev-admin",
            "token": LIVE_TOKEN,
            "scopes": ["promo:admin", "promo:redeem", "metrics"],
        }
    ]
)


def _first_ten_minutes() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index("\n## The first ten minutes\n")
    end = text.index("\n## ", start + 1)
    return BLOCK.findall(text[start:end])


def test_the_first_ten_minutes_run_as_written(database: ScratchDatabase, live_server: str) -> None:
    blocks = _first_ten_minutes()
    shell = "\n".join(body for kind, body in blocks if kind == "sh")
    walk = [body for kind, body in blocks if kind == "sql"]
    assert shell and len(walk) == 1
    env = {
        **os.environ,
        "STARPASS_URL": live_server,
        # What `starpass tokens show dev-admin` reads from .env, here the live service's token.
        "INTERNAL_API_TOKENS_JSON": DEV_TOKENS,
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", shell],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert "/internal/promo/redeem" in lines, "the OpenAPI paths were listed"
    assert lines[-1] == "APPLIED", "the code was created and redeemed"

    psql = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=walk[0],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={
            **os.environ,
            **libpq_environment(database.admin_url),
            "PGOPTIONS": f"-c promo.pepper={PEPPER}",
        },
    )
    assert psql.returncode == 0, f"{psql.stdout}\n{psql.stderr}"
    for shown in ("PAID", "REFUNDED", "REVOKED", "promo.redemption_revoked"):
        assert shown in psql.stdout, f"the walk shows {shown}"


def test_tokens_show_prints_the_token_alone_and_names_the_others() -> None:
    env = {**os.environ, "INTERNAL_API_TOKENS_JSON": DEV_TOKENS}
    shown = run_starpass("tokens", "show", "dev-admin", env=env)
    assert (shown.returncode, shown.stdout) == (0, LIVE_TOKEN + "\n")
    unknown = run_starpass("tokens", "show", "prometheus", env=env)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert "no token named 'prometheus'; tokens: dev-admin" in unknown.stderr
    assert LIVE_TOKEN not in unknown.stderr


def test_make_run_takes_a_host_and_a_port() -> None:
    def serve_line(*variables: str) -> str:
        result = subprocess.run(
            ["make", "-n", "run", *variables],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            check=True,
            timeout=30,
        )
        return [line for line in result.stdout.splitlines() if " serve" in line][-1]

    assert serve_line().endswith("serve --host 127.0.0.1 --port 8080")
    assert serve_line("HOST=0.0.0.0", "PORT=9000").endswith("serve --host 0.0.0.0 --port 9000")


# A link target: [text](target). Targets outside the repository: a parent of the repository
# root, an absolute file path, or the design brief the project started from.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_no_document_points_outside_the_repository() -> None:
    documents = [README, *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
    outside: list[str] = []
    for doc in documents:
        text = doc.read_text()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+://|#|mailto:", target):
                continue
            path = target.split("#")[0]
            resolved = (doc.parent / path).resolve()
            if path.startswith("/") or not resolved.is_relative_to(PROJECT_ROOT):
                outside.append(f"{doc.relative_to(PROJECT_ROOT)}: {target}")
            elif not resolved.exists():
                outside.append(f"{doc.relative_to(PROJECT_ROOT)}: {target} (missing)")
        for mention in re.findall(
            r"DESIGN(?:\.md)? ?§[0-9.]+|/work/shared\S*|\.\./shared\S*", text
        ):
            outside.append(f"{doc.relative_to(PROJECT_ROOT)}: {mention}")
    assert not outside, f"documents must stand alone: {outside}"
