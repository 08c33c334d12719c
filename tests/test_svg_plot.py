"""The SVG figures: well-formed, both panels, broken traces for diverged fits, the CLI."""

import copy
import xml.etree.ElementTree as ET

import pytest

from training.core.svg_plot import curves_svg, figure_numbers

from tests.training_helpers import run_training

pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root):
    return [t.text for t in root.iter(f"{SVG}text")]


def simk_row(results):
    """Polylines of the simk row: one per exponent, one per configuration."""
    return len(results["split"]["similarity_exponents"]) + len(results["curves"])


def test_both_figures_from_a_real_search(demo_search):
    _, results = demo_search
    root = parse(curves_svg(results))
    words = texts(root)
    assert "Best learning curve" in words and "Search p@k traces" in words
    best = results["best"]
    p = best["params"]
    assert (
        f"factors {p['factors']}, regularization {p['regularization']:g}, alpha {p['alpha']:g}"
        in words
    )
    assert f"{best['patk_validation']:.4f} at {best['iterations']}" in words
    assert f"popularity {results['baseline']['popularity_patk_validation']:.4f}" in words
    # One trace in the left panel, one per configuration on the right; then the simk row.
    assert len(list(root.iter(f"{SVG}polyline"))) == 1 + len(results["curves"]) + simk_row(results)
    assert words.count("Validation p@5") == 2 and "× stopped by halving" not in " ".join(words)


def test_every_point_is_inside_the_figure(demo_search):
    _, results = demo_search
    root = parse(curves_svg(results))
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    for line in root.iter(f"{SVG}polyline"):
        for point in line.get("points").split():
            x, y = map(float, point.split(","))
            assert 0 <= x <= width and 0 <= y <= height


def test_the_figure_carries_its_numbers_as_text(demo_search):
    _, results = demo_search
    root = parse(curves_svg(results))
    # The first child names the image for screen readers; <desc> lists every configuration.
    assert root[0].tag == f"{SVG}title" and root[1].tag == f"{SVG}desc"
    best, baseline = results["best"], results["baseline"]["popularity_patk_validation"]
    assert (
        f"Best validation p@5 {best['patk_validation']:.4f} at epoch {best['iterations']}"
        f" with factors {best['params']['factors']}"
    ) in root[0].text
    assert f"popularity baseline {baseline:.4f}" in root[0].text
    assert root[1].text.count(": best ") == len(results["curves"])
    numbers = figure_numbers(results)
    assert [c["score"] for c in numbers["configurations"]] == sorted(
        (max(c["patk"]["validation"]) for c in results["curves"]), reverse=True
    )
    curve = next(c for c in results["curves"] if c["params"] == best["params"])
    points = zip(curve["epochs"], curve["patk"]["validation"], strict=True)
    assert numbers["best"]["points"] == list(points)


def test_missing_values_break_a_trace(demo_search):
    _, results = demo_search
    broken = copy.deepcopy(results)
    broken["curves"][-1]["patk"]["validation"][2] = None
    broken["curves"][-2]["patk"]["validation"] = [None] * len(broken["curves"][-2]["epochs"])
    root = parse(curves_svg(broken))
    # The last curve splits in two; the all-missing one draws nothing.
    assert len(list(root.iter(f"{SVG}polyline"))) == 1 + len(results["curves"]) + simk_row(results)
    assert "7 configurations, darker is better" in texts(root)


def test_no_finite_curve_gives_a_message():
    results = {
        "split": {"k": 5},
        "baseline": {"popularity_patk_test": 0.01},
        "best": None,
        "curves": [
            {
                "params": {"factors": 1, "regularization": 0.0, "alpha": 1.0},
                "epochs": [2],
                "patk": {"train": [None], "test": [None]},
                "mse": {"train": [None], "test": [None]},
            }
        ],
    }
    assert "No configuration has a finite test p@k yet." in texts(parse(curves_svg(results)))


def test_cli_writes_the_svg_and_rejects_other_files(demo_search, tmp_path):
    path, results = demo_search
    out = tmp_path / "curves.svg"
    done = run_training("plot", path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == curves_svg(results) + "\n"

    not_results = tmp_path / "other.json"
    not_results.write_text('{"curves": []}', encoding="utf-8")
    for bad, message in (
        (not_results, "not a RESULTS.json written by search"),
        (tmp_path / "missing.json", "cannot read"),
    ):
        done = run_training("plot", bad, "--out", tmp_path / "bad.svg")
        assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "bad.svg").exists()


def test_the_simk_row_shows_the_best_lists_and_the_exponents_effect(demo_search):
    _, results = demo_search
    root = parse(curves_svg(results))
    assert root.get("viewBox") == "0 0 960 800"
    words = texts(root)
    assert "Best similar lists" in words and "The exponent's effect" in words
    best = results["best_simk"]
    assert f"{best['simk_validation']:.4f} at {best['iterations']}" in words
    assert {"cosine", "exponent 0.5", "exponent 0"} <= set(words)
    assert f"popularity {results['baseline']['popularity_simk_validation']:.4f}" in words
    assert words.count("Validation simk@10") == 2 and "Similarity exponent" in words
    assert len(list(root.iter(f"{SVG}polyline"))) == 1 + len(results["curves"]) + simk_row(results)


def test_results_without_simk_keep_the_two_figures(demo_search):
    _, results = demo_search
    old = copy.deepcopy(results)
    del old["best_simk"]
    for curve in old["curves"]:
        del curve["simk"]
    root = parse(curves_svg(old))
    assert root.get("viewBox") == "0 0 960 400"
    assert "Best similar lists" not in texts(root)
