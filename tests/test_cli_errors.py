"""The command line's one error handler (decision 0022): a ``ShopShieldError`` becomes one line
``error: message`` on stderr and an exit code chosen by its family; anything else is a bug and
keeps its traceback. And no domain's cli.py translates errors itself any more."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import shopshield
from shopshield.cli import app
from shopshield.cliutil import ShopShieldGroup
from shopshield.core.errors import (
    BadConfiguration,
    Conflict,
    Forbidden,
    InstanceFault,
    InvalidInput,
    NotFound,
    ShopShieldError,
)
from shopshield.settings import Settings
from tests.support.environment import cli_env

SRC = Path(shopshield.__file__).parent


def _probe(raised: BaseException) -> typer.Typer:
    """An app with the real group and one command that raises ``raised``."""
    probe = typer.Typer(cls=ShopShieldGroup)

    @probe.command("fail")
    def fail_command() -> None:
        raise raised

    @probe.command("other")
    def other() -> None:
        """A second command, so that typer keeps the group and its invoke."""

    return probe


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("--limit: between 1 and 100"), 2),
        (NotFound("no active principal with id 'p-1'"), 2),
        (Conflict("a principal named 'agent-1' already exists"), 2),
        (Forbidden("role 'courier' lacks the permission 'alerts.read'"), 2),
        (BadConfiguration("policy file policies.toml is not valid TOML"), 2),
        (InstanceFault("the commit failed; nothing took effect"), 1),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, ShopShieldError) else str(v),
)
def test_each_family_is_one_line_and_its_exit_code(error: ShopShieldError, code: int) -> None:
    result = CliRunner().invoke(_probe(error), ["fail"])

    assert result.exit_code == code
    assert result.stderr == f"error: {error.message}\n"
    assert result.stdout == ""


def test_a_message_with_brackets_and_lines_prints_as_one_line() -> None:
    result = CliRunner().invoke(_probe(InvalidInput("--out: [red]x[/red] is\nnot a directory")), ["fail"])
    assert result.exit_code == 2
    assert result.stderr == "error: --out: [red]x[/red] is not a directory\n"


def test_an_interrupt_exits_130() -> None:
    result = CliRunner().invoke(_probe(KeyboardInterrupt()), ["fail"])
    assert result.exit_code == 130
    assert result.stderr == "error: interrupted\n"


def test_an_unknown_exception_is_a_bug_and_keeps_its_traceback() -> None:
    result = CliRunner().invoke(_probe(ZeroDivisionError("division by zero")), ["fail"])
    assert result.exit_code == 1
    # Not turned into a message: it reaches click's runner (and, outside tests, the terminal) whole.
    assert isinstance(result.exception, ZeroDivisionError)
    assert "error:" not in result.stderr


def test_the_shopshield_command_uses_the_handler() -> None:
    assert isinstance(typer.main.get_command(app), ShopShieldGroup)


# Real commands, one error of each kind they can meet.


def test_bad_input_to_a_real_command(settings: Settings, container: object) -> None:
    result = CliRunner().invoke(app, ["principals", "disable", "not an id!"], env=cli_env(settings))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: principal_id: ") and result.stderr.count("\n") == 1


def test_not_found_from_a_real_command(settings: Settings, container: object) -> None:
    result = CliRunner().invoke(app, ["principals", "disable", "p-nobody"], env=cli_env(settings))
    assert result.exit_code == 2
    assert result.stderr == "error: no active principal with id 'p-nobody'\n"


def test_conflict_from_a_real_command(settings: Settings, container: object) -> None:
    env = cli_env(settings)
    assert CliRunner().invoke(app, ["principals", "create", "agent-7", "--role", "cs_agent"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["principals", "create", "agent-7", "--role", "cs_agent"], env=env)
    assert result.exit_code == 2
    assert result.stderr == "error: a principal named 'agent-7' already exists\n"


def test_a_bad_key_file_is_a_configuration_error(settings: Settings, container: object, tmp_path: Path) -> None:
    key_file = tmp_path / "master-keys.json"
    key_file.write_text("not json")
    result = CliRunner().invoke(app, ["keys", "status"], env=cli_env(settings, master_key_file=str(key_file)))
    assert result.exit_code == 2
    assert result.stderr == f"error: key file {key_file} cannot be read as JSON\n"


# No translation-only try/except left in the domains' commands.

# What a handler may add that makes it more than a translation: a call other than ``fail``, more
# than one statement, or a message that is not just the exception's own.
_OWN_MESSAGE = ("message",)


def _is_own_message(node: ast.expr, name: str) -> bool:
    """``exc.message``, ``str(exc)`` or ``f"{exc}"``: the error's text and nothing else."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == name and node.attr in _OWN_MESSAGE
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str":
        return len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id == name
    if isinstance(node, ast.JoinedStr) and len(node.values) == 1:
        value = node.values[0]
        return isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) and value.value.id == name
    return False


def _caught(handler: ast.ExceptHandler, module: object) -> list[type[BaseException]]:
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    caught = []
    for node in nodes:
        assert node is not None
        caught.append(getattr(module, ast.unparse(node).split(".")[-1], BaseException))
    return caught


def _translations(path: Path) -> list[str]:
    module = importlib.import_module("shopshield." + ".".join(path.relative_to(SRC).with_suffix("").parts))
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            continue
        only_domain = all(
            isinstance(kind, type) and issubclass(kind, ShopShieldError) for kind in _caught(node, module)
        )
        body = node.body
        translation = (
            len(body) == 1
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Call)
            and isinstance(body[0].value.func, ast.Name)
            and body[0].value.func.id == "fail"
            and node.name is not None
            and bool(body[0].value.args)
            and _is_own_message(body[0].value.args[0], node.name)
        )
        if only_domain and translation:
            found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_the_walk_recognises_a_translation() -> None:
    # The shape the handler replaced, recognised, so the test below is not vacuous.
    sample = "try:\n    x()\nexcept InvalidInput as exc:\n    fail(exc.message, code=2)\n"
    handler = next(n for n in ast.walk(ast.parse(sample)) if isinstance(n, ast.ExceptHandler))
    assert handler.name is not None
    call = handler.body[0]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    assert _is_own_message(call.value.args[0], handler.name)
    assert _is_own_message(ast.parse('f"{exc}"', mode="eval").body, "exc")
    assert not _is_own_message(ast.parse('f"--reports: {exc}"', mode="eval").body, "exc")


def test_no_command_module_translates_domain_errors_itself() -> None:
    # cliutil.py is the handler itself, the one place allowed to turn an error into ``fail``.
    paths = [SRC / "cli.py", *sorted(SRC.glob("*/cli.py"))]
    assert len(paths) >= 13
    found = [where for path in paths for where in _translations(path)]
    assert found == [], f"translation-only except blocks (ShopShieldGroup reports these): {found}"
