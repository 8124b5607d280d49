"""`lakehouse attribution --paths`: a marketing tool's path table in, three CSVs out, clear errors on bad files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from lakehouse.cli import cli

HEADER = "path;total_conversions;total_conversion_value;total_null"
ROWS = [
    "A > B > A > B > B > A;1;10;0",
    " A>B > B > A > A ;1;20;0",
    "A > A;1;30;0",
    "direct > B;0;0;4",
    "direct;2;50;1",
]


def write(tmp_path: Path, lines: list[str], name: str = "paths.csv") -> Path:
    file = tmp_path / name
    file.write_text("\n".join(lines) + "\n")
    return file


def invoke(*args: str):
    return CliRunner().invoke(cli, ["attribution", *args])


def test_path_table_end_to_end(tmp_path):
    file = write(tmp_path, [HEADER, *ROWS])
    out = tmp_path / "out"
    result = invoke("--paths", str(file), "--sep", ";", "--order", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "markov_2" in result.output and "5 paths" in result.output

    attribution = pd.read_csv(out / "attribution.csv")
    assert list(attribution.columns) == ["model", "channel", "conversions", "revenue"]
    assert list(dict.fromkeys(attribution["model"])) == [
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "position_based",
        "markov_1",
        "markov_2",
    ]
    totals = attribution.groupby("model")[["conversions", "revenue"]].sum()
    assert totals["conversions"].tolist() == pytest.approx([5.0] * 7)
    assert totals["revenue"].tolist() == pytest.approx([110.0] * 7)
    first = attribution[attribution["model"] == "first_touch"].set_index("channel")["conversions"]
    assert first.to_dict() == pytest.approx({"A": 3.0, "B": 0.0, "direct": 2.0})
    # the all-direct path keeps its credit on direct under last_non_direct
    last_non_direct = attribution[attribution["model"] == "last_non_direct"].set_index("channel")["conversions"]
    assert last_non_direct.to_dict() == pytest.approx({"A": 3.0, "B": 0.0, "direct": 2.0})

    effects = pd.read_csv(out / "removal_effects.csv")
    assert sorted(effects["order"].unique()) == [1, 2]
    assert {"channel", "removal_effect", "normalized", "revenue_removal_effect"} <= set(effects.columns)
    transitions = pd.read_csv(out / "transitions.csv")
    assert list(transitions.columns) == ["order", "from_state", "to_state", "count", "probability"]
    sums = transitions.groupby(["order", "from_state"])["probability"].sum()
    assert sums.to_numpy() == pytest.approx([1.0] * len(sums))
    assert ((transitions["order"] == 2) & (transitions["from_state"] == "direct > B")).any()

    again = tmp_path / "again"
    assert invoke("--paths", str(file), "--sep", ";", "--order", "2", "--out", str(again)).exit_code == 0
    for name in ("attribution.csv", "removal_effects.csv", "transitions.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes()


def test_default_order_is_three_and_comma_separator(tmp_path):
    file = write(tmp_path, [HEADER.replace(";", ","), *(r.replace(";", ",") for r in ROWS)])
    result = invoke("--paths", str(file), "--out", str(tmp_path / "out"), "--position-weights", "0.3,0.4,0.3")
    assert result.exit_code == 0, result.output
    models = set(pd.read_csv(tmp_path / "out" / "attribution.csv")["model"])
    assert {"markov_1", "markov_2", "markov_3"} <= models


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("A > B;-1;0;0", "line 3, column total_conversions"),
        ("A > B;1;ten;0", "line 3, column total_conversion_value"),
        ("A >  > B;1;1;0", "line 3, column path"),
        (";1;1;0", "line 3, column path"),
        ("A;0;5;1", "revenue needs conversions"),
    ],
)
def test_bad_rows_name_file_line_column_and_rule(tmp_path, line, expected):
    file = write(tmp_path, [HEADER, ROWS[0], line, ROWS[2]])
    result = invoke("--paths", str(file), "--sep", ";", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert expected in result.output
    assert str(file) in result.output.replace("\n", "")
    assert "rule:" in result.output
    assert not (tmp_path / "out" / "attribution.csv").exists()


def test_missing_column_and_wrong_separator(tmp_path):
    file = write(tmp_path, ["path;total_conversions;total_null", "A;1;0"])
    result = invoke("--paths", str(file), "--sep", ";", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "missing column(s) total_conversion_value" in result.output
    file = write(tmp_path, [HEADER, *ROWS], name="semicolons.csv")
    result = invoke("--paths", str(file), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "is --sep right?" in result.output


def test_usage_errors(tmp_path):
    file = write(tmp_path, [HEADER, *ROWS])
    assert "--paths needs --out" in invoke("--paths", str(file), "--sep", ";").output
    result = invoke("--paths", str(file), "--out", str(tmp_path), "--master", "local[2]")
    assert result.exit_code == 2 and "--master applies to the pipeline job" in result.output
    result = invoke("--paths", str(file), "--out", str(tmp_path), "--position-weights", "0.5,0.5,0.5")
    assert result.exit_code == 2 and "summing to 1" in result.output
    assert invoke("--paths", str(file), "--out", str(tmp_path), "--order", "4").exit_code == 2
    for pipeline_args in (["--out", str(tmp_path)], ["--sep", ";"], ["--direct-channel", "Direct"]):
        result = invoke(*pipeline_args)
        assert result.exit_code == 2 and "only applies with --paths" in result.output
    no_conversions = write(tmp_path, [HEADER, "A;0;0;3"], name="none.csv")
    result = invoke("--paths", str(no_conversions), "--sep", ";", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "no conversions" in result.output


def test_byte_order_mark_and_blank_line(tmp_path):
    file = tmp_path / "excel.csv"
    file.write_text("\ufeff" + "\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    assert invoke("--paths", str(file), "--sep", ";", "--out", str(tmp_path / "out")).exit_code == 0
    file.write_text("\n".join([HEADER, ROWS[0], "", ROWS[1]]) + "\n")
    result = invoke("--paths", str(file), "--sep", ";", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "line 3, column path: empty path" in result.output
