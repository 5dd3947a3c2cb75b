"""/metrics in the Prometheus text format: every family with its help text, labels by code, no unexplained counter."""

from __future__ import annotations

import pytest

from viewer.tours.metrics import Metrics


def test_counters_gauges_and_labelled_families_render_in_the_text_format() -> None:
    metrics = Metrics()
    metrics.gauge("vitrina_tour_connections", "Open connections.", lambda: 3)
    metrics.counters["poses_in"] += 2
    metrics.errors["bad_json"] += 1
    metrics.closes[1008] += 4
    text = metrics.render().decode()
    for line in ("# HELP vitrina_tour_connections Open connections.", "vitrina_tour_connections 3.0",
                 "vitrina_tour_poses_in_total 2.0", "vitrina_tour_origin_refused_total 0.0",
                 "# HELP vitrina_tour_errors_total Error replies sent, by code.",
                 'vitrina_tour_errors_total{code="bad_json"} 1.0',
                 "# HELP vitrina_tour_closes_total Connections closed by the server, by close code.",
                 "# TYPE vitrina_tour_closes_total counter", 'vitrina_tour_closes_total{code="1008"} 4.0'):
        assert line + "\n" in text, line


def test_a_counter_without_help_text_fails_the_scrape() -> None:
    metrics = Metrics()
    metrics.counters["mystery"] += 1
    with pytest.raises(KeyError, match=r"counters without help text: \['mystery'\]"):
        metrics.render()


def test_the_store_health_is_read_at_scrape_time() -> None:
    metrics = Metrics()
    health = {"backend": "memory", "up": True}
    metrics.store(lambda: health)
    text = metrics.render().decode()
    assert "vitrina_tour_store_up 1.0\n" in text and "pose_subscriptions" not in text
    health = {"backend": "redis", "up": False, "pose_subscriptions": 2, "pose_subscriptions_down": 1,
              "resubscribes": 3, "reseeds": 4, "reconnects": 5, "poses_unpublished": 6, "failures": {"claim": 7}}
    text = metrics.render().decode()
    for line in ("vitrina_tour_store_up 0.0", 'vitrina_tour_pose_subscriptions{state="up"} 2.0',
                 'vitrina_tour_pose_subscriptions{state="down"} 1.0', "vitrina_tour_store_resubscribes_total 3.0",
                 "vitrina_tour_store_reseeds_total 4.0", "vitrina_tour_store_poses_unpublished_total 6.0",
                 "# TYPE vitrina_tour_store_failures_total counter",
                 'vitrina_tour_store_failures_total{operation="claim"} 7.0'):
        assert line + "\n" in text, line
    health = {"backend": "sqlite", "up": True, "failures": {"state_file": 1}}
    text = metrics.render().decode()
    assert 'vitrina_tour_store_failures_total{operation="state_file"} 1.0\n' in text
    assert "resubscribes" not in text
