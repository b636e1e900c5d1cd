"""The pytest plugin as a tool author meets it: installed with the package,
it offers the fixture `osu_api_server` with no configuration at all. Each
case runs a tool author's test file in its own pytest process."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import pytest

from server import demo

# (no httpx in this outer process: pytester restores sys.modules after each
# test, so an httpcore first imported during one would later exist twice and
# httpx would no longer recognise its errors)

# the tool author's pytest (and the servers it starts) run this working
# tree's code, whatever copy of the package is installed
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def this_checkout(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    for name in ("DATABASE_URL", "DATA_DIR", "DEMO_ON_EMPTY", "PORT", "HOST"):
        monkeypatch.delenv(name, raising=False)


def test_a_fixture_file_is_served(pytester):
    (pytester.path / "players.json").write_text(
        json.dumps({"users": [{"id": 3, "name": "Tool Author", "country": "de"}]})
    )
    pytester.makepyfile(
        test_tool="""
        import httpx

        def test_my_tool(osu_api_server):
            base_url = osu_api_server("players.json")
            info = httpx.get(f"{base_url}/v1/get_player_info?id=3&scope=info").json()["player"]["info"]
            assert (info["name"], info["country"]) == ("Tool Author", "de")
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_no_file_serves_the_demo_data_and_the_server_stops_after_the_test(pytester):
    name = demo.demo_data()["users"][0]["name"]
    pytester.makepyfile(
        test_tool=f"""
        import httpx

        def test_my_tool(osu_api_server):
            base_url = osu_api_server()
            print("BASE_URL", base_url)
            assert httpx.get(f"{{base_url}}/v1/get_player_info?id=3&scope=info").json()["player"]["info"]["name"] == {name!r}
        """
    )
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    port = int(re.search(r"BASE_URL http://127\.0\.0\.1:(\d+)$", result.stdout.str(), re.M).group(1))
    with pytest.raises(ConnectionRefusedError):  # stopped with the test
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_bad_fixture_file_fails_the_test_with_the_position(pytester):
    (pytester.path / "players.json").write_text(json.dumps({"users": [{"id": 3, "name": "no!"}]}))
    pytester.makepyfile(
        test_tool="""
        def test_my_tool(osu_api_server):
            base_url = osu_api_server("players.json")
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "players.json" in output
    assert "error: users[0]: 'name' must match" in output
