"""The inline SVG charts: tick values on both axes, names in full, labels inside the chart."""

import re

from reports import svg


def test_scatter_has_tick_values_on_both_axes_and_labels_stay_inside() -> None:
    chart = svg.scatter(
        ["short-model", "a-model-with-a-rather-long-name"],
        [150.0, 900.0],
        [80.0, 30.0],
        x_label="average length (characters)",
        y_label="win rate (%)",
    )
    ticks = re.findall(r'class="tick">([^<]+)<', chart)
    assert ticks[:5] == ["150", "337.5", "525", "712.5", "900"]  # x: the lengths' range
    assert ticks[5:] == ["0", "25", "50", "75", "100"]  # y: 0-100%
    # The right-hand point's label runs leftwards from it, so it cannot leave the chart.
    label = re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end"[^>]*>a-model-with', chart)
    assert label is not None and float(label.group(1)) < svg.WIDTH


def test_heatmap_names_every_column_in_full() -> None:
    names = ["alpaca-7b_verbose", "alpaca-7b_concise", "base"]
    chart = svg.heatmap(names, [[None, 40.0, 50.0], [60.0, None, 55.0], [50.0, 45.0, None]])
    for name in names:  # each as a column heading and as a row heading
        assert chart.count(f">{name}</text>") == 2
    width = float(re.search(r'width="([\d.]+)"', chart).group(1))  # type: ignore[union-attr]
    assert width >= svg._left(names) + 56 * 3


def test_forest_leaves_room_for_long_labels() -> None:
    long = "FuseChat-Llama-3.2-3B-Instruct-with-a-suffix"
    chart = svg.forest([long, "b"], [40.0, 60.0], [30.0, 50.0], [50.0, 70.0], lo=0, hi=100)
    x = float(re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end"', chart).group(1))  # type: ignore[union-attr]
    assert x >= svg.CHAR * len(long)  # the right-aligned label ends at x and fits before it
