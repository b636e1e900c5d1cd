"""The benchmark's own arithmetic and report (bench/run.py), without a load
run: the CPU counted from /proc, what that CPU allows against a target, and
a report written for a database the run did not generate."""

from __future__ import annotations

import os
import time

from bench import compare, migration, parsing, run


def test_cpu_seconds_counts_this_process_and_nothing_for_none():
    before = run.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert run.cpu_seconds(os.getpid()) > before
    assert run.cpu_seconds(None) is None
    assert run.cpu_seconds(2**22 + 12345) is None  # no such process


def test_cpu_bound_takes_the_tighter_of_one_core_and_all_cores():
    listing = {"kind": "listing", "target_ratio": 0.15, "cpu_us": {"server": 200.0, "database": 300.0, "wrk": 20.0}}
    bound = run.cpu_bound(listing, 10_000, 2)
    # everyone's 520 us on 2 cores (3,846/s) is tighter than the server's own core (5,000/s)
    assert bound["cpu_total_us"] == 520.0
    assert round(bound["cpu_bound_rps"]) == 3846
    assert bound["cpu_bound_ratio"] == 0.3846
    assert bound["cpu_budget_us"] == round(2e6 / 1500, 1)
    single = {"kind": "single", "target_ratio": 0.30, "cpu_us": {"server": 100.0, "database": 10.0, "wrk": 10.0}}
    assert run.cpu_bound(single, 10_000, 2)["cpu_bound_rps"] == 10_000.0  # the server's core
    # a server or database of your own: nothing is claimed
    assert run.cpu_bound({**listing, "cpu_us": {"server": None, "database": 300.0, "wrk": 20.0}}, 10_000, 2) == {}


def test_the_report_explains_a_missed_target_by_its_cpu(tmp_path):
    ceiling = {"rps": 10_000.0, "p50_ms": 1.0, "p99_ms": 2.0, "cpu_us": {"server": 40.0, "wrk": 10.0}}
    endpoint = {"endpoint": "get_map_scores", "kind": "listing", "rps": 1_200.0, "p50_ms": 20.0, "p99_ms": 40.0,
                "errors": 0, "rss_peak_mb": 80.0, "target_ratio": 0.15, "ratio": 0.12, "meets_ratio": False,
                "meets_p99": False, "cpu_us": {"server": 400.0, "database": 900.0, "wrk": 20.0},
                "bytes_per_response": 14_250}
    endpoint.update(run.cpu_bound(endpoint, ceiling["rps"], 2))
    # a server 700 us a request can never pass 1,428/s: 14.3%, below its 15%
    costly = {**endpoint, "endpoint": "v1 get_scores", "rps": 1_300.0, "ratio": 0.13,
              "cpu_us": {"server": 700.0, "database": 500.0, "wrk": 20.0}}
    costly.update(run.cpu_bound(costly, ceiling["rps"], 2))
    report = {
        "meta": {"connections": 32, "wrk_threads": 2, "duration_s": 10.0, "cpus": 2, "date": "now",
                 "ceiling_samples_rps": [10_000.0]},
        "ceiling": ceiling,
        "endpoints": [endpoint, costly],
        "summary": {"rss_peak_mb": 80.0, "meets_rss": True, "ratio_targets_met": 0, "p99_targets_met": 0,
                    "endpoints": 2, "errors": 0},
    }
    run.write_report(report, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "Data: a database of your own" in text  # python -m bench.run alone: no generated data to name
    # 1,320 us in all on 2 cores allow 1,515/s; 15% of 10,000/s allows the server 667 us and all 1,333
    assert "| get_map_scores | 14,250 | 400 | 900 | 20 | 1,320 | 1,515 req/s (15.2%) | **<= 667, <= 1,333** |" in text
    assert "costs the server 40 µs and wrk 10 µs" in text
    # its CPU would allow 15.2%: the miss is put down to waiting, not to work
    assert "Missed share targets the CPU would allow (1): get_map_scores." in text
    assert "Missed share targets beyond what their CPU allows here (1): v1 get_scores." in text
    assert (tmp_path / "report.json").is_file()


def test_the_growth_check_shows_answer_sizes_and_cpu_beside_the_drop():
    def report(rps: float, size: int, cpu: float, scores: int) -> dict:
        return {"meta": {"scores": scores, "users": scores // 50}, "ceiling": {"rps": 10_000.0},
                "endpoints": [{"endpoint": "get_player_scores(best)", "rps": rps, "ratio": rps / 10_000,
                               "bytes_per_response": size, "cpu_total_us": cpu,
                               "cpu_us": {"server": cpu / 2, "database": cpu / 2, "wrk": 0.0}}]}

    rows, text = compare.compare(report(4_000, 6_000, 400.0, 100_000), report(2_800, 9_000, 560.0, 1_000_000))
    assert [(row["change"], row["meets"]) for row in rows] == [(-0.3, False)]
    assert "| get_player_scores(best) | 4,000 (40.0%) | 2,800 (28.0%) | -30.0% | **missed** | 6,000 -> 9,000 |" \
           " 400 -> 560 | 200 -> 280 |" in text


def test_the_report_shows_the_migration_of_the_generated_database():
    measured = {
        "seconds": 14.5, "applied": ["0001_api_keys.sql", "0006_listing_indexes.sql"],
        "steps": [{"file": "0006_listing_indexes.sql", "step": "create index api_scores_user_best_index on scores",
                   "seconds": 1.31}],
        "added_indexes": [
            {"table": "scores", "name": "api_scores_user_best_index", "columns": ["userid", "mode", "status", "pp"],
             "mib": 26.6},
            {"table": "maps", "name": "api_maps_md5_status_index", "columns": ["md5", "status"], "mib": None},
        ],
        "index_mib": {"scores": {"rows": 250.0, "before": 276.0, "after": 560.0},
                      "maps": {"rows": None, "before": 1.0, "after": 2.5}},
    }
    text = "\n".join(migration.report_lines(measured))
    assert "`db migrate` on the generated data, as bancho.py's install leaves a database: 14.5 s for 2 files." in text
    assert "| scores | 250.0 | 276.0 | 560.0 |" in text
    assert "| maps | ? | 1.0 | 2.5 |" in text
    assert "| api_scores_user_best_index (userid, mode, status, pp) | scores | 26.6 | 1.31 |" in text
    assert "| api_maps_md5_status_index (md5, status) | maps | ? | ? |" in text  # not measured, not built here


def test_reading_parameters_is_measured_per_endpoint_and_reported(tmp_path):
    cost = parsing.read_cost_us("/v1/get_player_scores?scope=best&id=3&mode=0", repeat=50)
    assert cost is not None and 0 < cost < 1000
    assert parsing.read_cost_us("/v1/get_player_scores?scope=worst&id=3", repeat=5) is None  # refused
    assert parsing.read_cost_us("/nowhere", repeat=5) is None
    lines = run._reading_section({"endpoints": [{"endpoint": "get_player_scores", "params_us": 3.456},
                                                {"endpoint": "search_players", "params_us": None}]})
    assert "| get_player_scores | 3.46 |" in lines
    assert not any("search_players" in line for line in lines)
