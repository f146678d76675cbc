"""The run report escapes model text and forbids scripts."""

from html.parser import HTMLParser

from reports.html import CSP
from reports.run import render_run_report, run_summary_markdown

HOSTILE = '</pre></div><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def summary() -> dict:
    return {
        "model": "<b>model</b>",
        "metrics": [
            {
                "suite": "s",
                "metric": "over_refusal_rate",
                "value": 0.25,
                "ci_low": 0.05,
                "ci_high": 0.7,
                "n": 4,
                "scorer": "refusal",
            }
        ],
        "counts": {"items": 1, "generated": 1, "cached": 0, "failed": 0},
        "manifest": {
            "model": "<b>model</b>",
            "engine": {"engine": "transformers"},
            "params": {"seed": 0},
            "suites": [{"name": "s", "n": 1, "source": "s"}],
            "scorers": [{"name": "refusal", "kind": "rules", "version": "v"}],
            "versions": {"python": "3.11"},
            "command": "harness run",
        },
    }


def item(text: str) -> dict:
    return {
        "suite": "s",
        "id": "i<1>",
        "sample_index": 0,
        "category": None,
        "should_refuse": False,
        "prompt": HOSTILE,
        "completion": text,
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "finish_reason": "stop",
        "error": None,
        "scores": {"refusal": {"value": 0.0, "label": "compliance", "reason": None, "extra": {}}},
    }


def test_hostile_model_text_is_inert() -> None:
    html = render_run_report(summary(), [item(HOSTILE)])
    parser = Collect()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "img" not in tags and "a" not in tags
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;model&lt;/b&gt;" in html
    [meta] = [
        a
        for t, a in parser.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert meta["content"] == CSP and "script-src" not in CSP and "default-src 'none'" in CSP


def test_metrics_table_shows_ci_and_n() -> None:
    html = render_run_report(summary(), [item("fine")])
    assert "25.0%" in html and "5.0% – 70.0%" in html and ">4<" in html


def test_control_and_bidi_characters_are_shown_not_obeyed() -> None:
    """NUL and a right-to-left override in model text reach the page as visible markers."""
    from reports.svg import forest
    from reports.text import md

    text = "safe\x00 answer \u202egnp.exe\u202c end"
    html = render_run_report(summary(), [item(text)])
    assert "\x00" not in html and "\u202e" not in html and "\u202c" not in html
    assert "&lt;U+202E&gt;gnp.exe&lt;U+202C&gt;" in html and "&lt;U+0000&gt;" in html
    assert "\u202e" not in md(text) and "\u202e" not in forest(
        [text], [1.0], [0.5], [1.5], lo=0.0, hi=2.0
    )
    assert "line\nbreaks\tand tabs" in render_run_report(
        summary(), [item("line\nbreaks\tand tabs")]
    )


def test_summary_markdown_is_inert_and_carries_the_scorecard() -> None:
    """summary.md (for a PR comment): the model's name made inert, a warning per banner, one
    row per headline measure, a measure without an interval saying why."""
    found = summary()
    found["model"] = "<b>model</b> | [x](javascript:alert(1))"
    found["metrics"] = [
        {"suite": "all", "metric": "over_refusal_rate", "value": 0.25, "ci_low": 0.1,
         "ci_high": 0.5, "n": 4, "scorer": "refusal"},
        {"suite": "all", "metric": "self_bleu", "value": 0.2, "ci_low": None, "ci_high": None,
         "n": 4, "scorer": "diversity", "note": "n = 4: too few answers to tell"},
    ]  # fmt: skip
    card = run_summary_markdown(found)
    title = card.splitlines()[0]
    assert "<b>" not in title and "\\|" in title and "\\[x\\]\\(javascript" in title
    # Banners go through md() (they can name a user's toxicity checkpoint): escaped brackets.
    assert "> **Warning:** Small sample: over-refusal \\(n = 4\\), self-BLEU \\(n = 4\\)." in card
    assert "| over-refusal | 25.0 [10.0, 50.0] (n=4) | lower is better |" in card
    assert "| self-BLEU | 0.200 (n=4: no interval; n = 4: too few answers to tell) |" in card


def test_a_run_over_one_suite_has_a_scorecard() -> None:
    """A run over one suite has no `all` rows: the scorecard takes that suite's."""
    page = render_run_report(summary(), [item("fine")])
    card = page[page.index('id="scorecard"') : page.index('id="header"')]
    assert "over-refusal" in card and "25.0% [5.0%, 70.0%]" in card
    assert "| over-refusal | 25.0 [5.0, 70.0] (n=4) |" in run_summary_markdown(summary())


def test_a_narrow_interval_keeps_two_different_ends() -> None:
    """Rounding must not make a real interval look zero-width: more decimals where needed."""
    from reports.text import ci_text

    m = {"suite": "s", "metric": "mean_toxicity", "value": 0.00213, "ci_low": 0.00191,
         "ci_high": 0.00236, "n": 12, "scorer": "toxicity"}  # fmt: skip
    assert ci_text(m, digits=3) == "0.0021 [0.0019, 0.0024] (n=12)"
    assert ci_text({**m, "ci_low": 0.1, "ci_high": 0.3}, digits=3) == "0.002 [0.100, 0.300] (n=12)"
    found = summary()
    found["metrics"] = [m, {**m, "metric": "toxic_share", "value": 0.5, "ci_low": 0.49991,
                            "ci_high": 0.50004}]  # fmt: skip
    page = render_run_report(found, [item("fine")])
    assert "0.0021 [0.0019, 0.0024]" in page and "0.0019 – 0.0024" in page
    assert "50.00% [49.99%, 50.00%]" in page
