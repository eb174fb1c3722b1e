"""The snippet extractor itself: it must find every block, refuse untagged ones and parse console blocks."""

from __future__ import annotations

import pytest

from .snippets import Command, blocks

DOC = """# A doc

```python
>>> 1 + 1
2
```

<!-- snippet: slow -->
```console
$ echo hi
hi
$ false
[exit 1]
```

<!-- snippet: manual needs a cluster -->
```sh
python -m numerics separation --executor dask   # a comment
# a comment line
```

```text
not run
```
"""


def test_blocks_modes_and_commands(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    found = blocks(doc)
    assert [(b.lang, b.mode, b.lineno) for b in found] == [
        ("python", "run", 3),
        ("console", "slow", 9),
        ("sh", "manual", 17),
    ]
    assert found[1].commands() == [Command("echo hi", "hi", 0), Command("false", "", 1)]
    assert found[2].commands() == [Command("python -m numerics separation --executor dask")]
    assert found[2].reason == "needs a cluster"


@pytest.mark.parametrize(
    "text, message",
    [
        ("```\nls\n```\n", "tag it with one of"),
        ("```bash\nls\n```\n", "'bash'"),
        ("```sh\nls\n", "unclosed fence"),
        ("<!-- snippet: manual -->\n```sh\nls\n```\n", "needs a reason"),
    ],
)
def test_bad_blocks_are_errors(tmp_path, text, message):
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    with pytest.raises(ValueError, match=message):
        blocks(doc)


def test_console_output_before_a_command_is_an_error(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("```console\nstray\n$ ls\n```\n")
    with pytest.raises(ValueError, match="before the first"):
        blocks(doc)[0].commands()


def test_a_trailing_backslash_continues_the_command(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("```sh\npython -m x --a 1 \\\n    --b 2   # note\nls\n```\n")
    assert [c.line for c in blocks(doc)[0].commands()] == ["python -m x --a 1      --b 2", "ls"]


def test_needs_names_optional_modules(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- snippet: needs onnx onnxruntime -->\n```python\nimport onnx\n```\n")
    block = blocks(doc)[0]
    assert (block.mode, block.needs) == ("run", ("onnx", "onnxruntime"))
    doc.write_text("<!-- snippet: needs -->\n```python\nimport onnx\n```\n")
    with pytest.raises(ValueError, match="needs a reason or module names"):
        blocks(doc)
