"""The streaming scenario reader (workflow/yaml_stream.py) gives what PyYAML's safe loader gives."""

from __future__ import annotations

import pytest
import yaml

from states.policy import load_yaml_text
from workflow.generate import generate_round
from workflow.scenario import ScenarioError, parse_scenario
from workflow.yaml_stream import TooLarge, dump, lines_for, load

DOCUMENTS = [
    "a: 1\nb: 1.5\nc: true\nd: ~\ne: 2025-03-20T10:00:00+08:00\nf: 2025-03-20\ng: '1'\nh: yes\ni: 0x1f\nj: 1_000\n",
    "- a\n- [1, 2, {x: y}]\n- {}\n- []\n- ''\n- !!str 12\n- 'null'\n- .inf\n- -.5e3\n- 0o17\n",
    "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n",
    "a: &a {p: 1}\nb: &b {p: 2, q: 2}\nc:\n  <<: [*a, *b]\n  r: 3\nd:\n  r: 0\n  <<: *a\n",
    "x: &s hello\ny: *s\nz: !!int '7'\nw: !!float '1'\n",
    "k: |\n  line one\n  line two\nm: >\n  folded\n  text\n",
    "",
    "just a string\n",
    "a:\n  - b: 1\n    c: [2025-01-01, 12:30]\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_stream_reader_builds_what_the_safe_loader_builds(text: str) -> None:
    data, duplicates = load(text, 1000)
    assert data == load_yaml_text(text)
    assert duplicates == []


def test_keys_given_twice_are_reported_with_both_lines() -> None:
    _, duplicates = load("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", 1000)
    assert duplicates == ["c (line 4): given twice in one mapping (first on line 3)",
                          "a (line 5): given twice in one mapping (first on line 1)"]


@pytest.mark.parametrize("text", ["a: *nothing\n", "a: [1\n", "--- 1\n--- 2\n", "a: &x 1\nb: &x 2\n",
                                  "? [1]\n: 2\n", "a: 2025-06-31\n", "a: {<<: 5}\n"])
def test_what_the_safe_loader_refuses_the_stream_reader_refuses(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml_text(text)
    with pytest.raises(yaml.YAMLError):
        load(text, 1000)


def test_an_alias_bomb_is_refused_by_its_expanded_size() -> None:
    text = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    for name, prev in zip("bcdefg", "abcdef", strict=True):
        text += f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    with pytest.raises(TooLarge):
        load(text, 100_000)
    with pytest.raises(ScenarioError, match="once its aliases are expanded"):
        parse_scenario(text + "x: [" + ", ".join(["*g"] * 8) + "]\n")


def test_lines_are_found_for_the_paths_asked_and_their_prefixes() -> None:
    text = "name: x\napplicants:\n  - key: a\n    name: A\n  - key: b\n    bad: 1\nsteps: []\n"
    lines = lines_for(text, [("applicants", 1, "bad"), ("steps",)])
    assert lines == {(): 1, ("applicants",): 2, ("applicants", 1): 5, ("applicants", 1, "bad"): 6, ("steps",): 7}


def test_the_stream_writer_writes_what_yaml_dump_writes() -> None:
    data = generate_round("hz-recognition-2025h1", 60, 3)
    data["odd"] = [1, 2.5, True, None, {}, [], "yes", "12", "", "a: b", {"k": [{"x": 1}, []]}, -3, float("inf"),
                   "~", "null", "<<", "2025-01-01", " lead", "x" * 200, "第一行\n第二行", "#", "'q'"]
    wanted = yaml.dump(data, Dumper=yaml.SafeDumper, allow_unicode=True, sort_keys=False, width=110)
    assert dump(data, width=110) == wanted
    assert load(wanted, 1_000_000)[0] == yaml.safe_load(wanted)
