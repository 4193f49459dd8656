"""docs/python.md's example, run as written (in a temporary folder, matplotlib's Agg backend)."""
import os
import re

from conftest import SOURCE_DIR


def test_docs_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    text = (SOURCE_DIR / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/python.md", "exec"), {"__name__": "__main__"})
    assert os.path.getsize(tmp_path / "figure1.png") > 1000
    out = capsys.readouterr().out
    t_on_m, t_star = (float(v) for v in re.findall(r"[-+0-9.e]+(?=\s|$)", out.split("T on M:")[1])[:2])
    # Rank one reached: T on M at the end is T* to 1e-6.
    assert abs(t_on_m - t_star) < 1e-6 * t_star
