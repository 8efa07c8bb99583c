"""Every `strongroom` command and subcommand answers --help, and docs/cli.md matches the command tree.

The tree is walked (not listed by hand), so commands added later are covered without editing this file. The walk
and the Markdown rendering are shared with scripts/gen-cli-docs, which this module loads from its file.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
GEN_CLI_DOCS = REPO / "scripts" / "gen-cli-docs"


def _load_generator() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("strongroom_gen_cli_docs", str(GEN_CLI_DOCS))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look the module up while the class body runs
    loader.exec_module(module)
    return module


gen = _load_generator()
NODES = list(gen.walk())
TOP_LEVEL = [node.path[1] for node in NODES if len(node.path) == 2]


def test_tree_has_commands() -> None:
    # Guards the parametrisation below: an empty walk would silently test nothing.
    assert len(TOP_LEVEL) >= 1, "the strongroom group lists no commands"
    assert NODES[0].path == ("strongroom",)


@pytest.mark.parametrize("node", NODES, ids=[node.name for node in NODES])
def test_help(node: Any) -> None:
    assert node.error is None, f"`{node.name}` cannot be loaded: {node.error}"
    result = CliRunner().invoke(gen.root_command(), [*node.path[1:], "--help"], prog_name="strongroom")
    output = result.output
    assert result.exit_code == 0, f"`{node.name} --help` exited {result.exit_code}:\n{output}\n{result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output, output
    assert output.lstrip().startswith(f"Usage: {node.name}"), f"`{node.name} --help` has no usage line:\n{output}"
    # A description: a non-empty line between the usage line(s) and the first section (Options:, Commands:).
    body = output.split("\n\n", 1)[1] if "\n\n" in output else ""
    description = body.split("\nOptions:", 1)[0].split("\nCommands:", 1)[0]
    assert description.strip() and not description.lstrip().startswith(("Options:", "Commands:")), (
        f"`{node.name} --help` has no description line (add a docstring or help=):\n{output}"
    )


def _entry_point() -> Path:
    script = Path(sys.executable).parent / "strongroom"
    if not script.exists():
        pytest.skip(f"no installed `strongroom` entry point next to {sys.executable}")
    return script


@pytest.mark.parametrize("args", [[], *([name] for name in TOP_LEVEL)], ids=["strongroom", *TOP_LEVEL])
def test_entry_point_help(args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(_entry_point()), *args, "--help"], capture_output=True, text=True, timeout=120, env=env,
        cwd=REPO, check=False,
    )
    command = " ".join(["strongroom", *args])
    assert proc.returncode == 0, f"`{command} --help` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.stdout.startswith(f"Usage: {command}"), proc.stdout


def test_cli_reference_is_up_to_date() -> None:
    """Runs the generator in a fresh interpreter: click caches each command's help option on first use, so a
    command invoked standalone earlier in this test process would render differently in process."""
    broken = [f"`{node.name}`: {node.error}" for node in NODES if node.error]
    if broken:
        pytest.fail("cannot render docs/cli.md while commands fail to load: " + "; ".join(broken))
    script = Path(__file__).resolve().parents[1] / "scripts" / "gen-cli-docs"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        pytest.fail("docs/cli.md is out of date with the command tree: run scripts/gen-cli-docs\n"
                    + (out.stdout + out.stderr)[-6000:])


def test_walk_reports_a_command_that_fails_to_load() -> None:
    # The walk must turn a broken lazy import into one failing entry, not crash collection of the whole file.
    import click

    class Broken(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return ["good", "missing", "secret"]

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            if name == "missing":
                raise ModuleNotFoundError("No module named 'strongroom.cli.missing'")
            return click.Command(name, help="Does a thing.", hidden=name == "secret")

    nodes = list(gen.walk(Broken("strongroom", help="Root.")))
    assert [(node.name, node.error is None) for node in nodes] == [
        ("strongroom", True), ("strongroom good", True), ("strongroom missing", False),
    ]
    assert "strongroom.cli.missing" in (nodes[2].error or "")
    with pytest.raises(RuntimeError, match="strongroom missing"):
        gen.render(nodes)


def test_cli_reference_anchors_resolve() -> None:
    # The generated table of contents links to headings by GitHub slug; every command must get a unique one.
    if any(node.error for node in NODES):
        pytest.skip("a command fails to load (reported by test_help)")
    text = gen.render(NODES)
    slugs = [gen.anchor(heading) for heading in re.findall(r"^#{2,6} (.+)$", text, re.MULTILINE)]
    assert len(slugs) == len(set(slugs)), "two commands render to the same heading"
    missing = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - set(slugs))
    assert not missing, f"links to missing headings in docs/cli.md: {missing}"
