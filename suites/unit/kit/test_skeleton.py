"""The skeleton ``harness init`` writes is valid Python with its six places marked."""

from __future__ import annotations

import ast
import re

from harness.kit._skeleton import FILL_INS, SKELETON, SKELETON_CLASS, SKELETON_MODULE


def test_the_skeleton_parses_and_defines_the_target_class() -> None:
    tree = ast.parse(SKELETON)
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    assert SKELETON_CLASS in classes
    assert SKELETON.startswith(f'"""{SKELETON_MODULE}:')


def test_each_place_to_fill_in_is_marked_once_in_order_above_a_placeholder() -> None:
    lines = SKELETON.splitlines()
    marks = [
        (i, int(m.group(1)))
        for i, line in enumerate(lines)
        if (m := re.search(r"# FILL IN \((\d)/6\)", line))
    ]
    assert [n for _, n in sorted(marks, key=lambda mark: mark[1])] == list(range(1, FILL_INS + 1))
    for index, number in marks:
        below = next(line for line in lines[index + 1 :] if not line.strip().startswith("#"))
        assert "NotImplementedError" in below or "= ()" in below or "return {" in below, number
