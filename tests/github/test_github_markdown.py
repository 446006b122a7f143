"""Safe truncation of Markdown bodies."""

from __future__ import annotations

from reconciler.github.markdown import plan_comment_body, truncate_markdown


def test_short_text_is_unchanged() -> None:
    assert truncate_markdown("abc\n", 10, "NOTE") == "abc\n"


def test_cut_at_line_boundary_closes_fence_and_details() -> None:
    text = "<details>\n\n```\n" + "".join(f"line {i}\n" for i in range(100)) + "```\n</details>\n"
    cut = truncate_markdown(text, 120, "\nNOTE\n")
    assert len(cut) <= 120
    assert cut.endswith("\nNOTE\n")
    body = cut.removesuffix("\nNOTE\n")
    assert body.count("```") == 2
    assert body.rstrip().endswith("</details>")
    assert all(
        line.startswith(("line ", "<details>", "```", "</details>")) or not line for line in body.split("\n")
    )


def test_plan_comment_without_checksum_says_merge_applies_nothing() -> None:
    body = plan_comment_body("### Plan\n", {"checksum": "not-a-sha"}, url=None)
    assert "plan-checksum" not in body
    assert "will not apply anything" in body
