"""``shopshield passwords``: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner, Result

from shopshield.bootstrap import build as build_container
from shopshield.cli import app
from shopshield.settings import Settings
from tests.support.environment import cli_env
from tests.support.password_lists import PASSWORDS, hibp_file, plain_list, sha1


def run(data_dir: Path, *args: str) -> Result:
    env = cli_env()
    env["SHOPSHIELD_DATA_DIR"] = str(data_dir)
    return CliRunner().invoke(app, list(args), env=env)


def test_build_then_status(tmp_path: Path) -> None:
    source = hibp_file(tmp_path / "h.txt", {sha1(p): 3 for p in PASSWORDS})
    plain = plain_list(tmp_path / "p.txt", ["password", "password"])

    built = run(tmp_path / "data", "passwords", "build", str(source), str(plain))
    status = run(tmp_path / "data", "passwords", "status")

    assert built.exit_code == 0, built.output
    assert f"{len(PASSWORDS):,} distinct" in built.stdout
    assert status.exit_code == 0, status.output
    doc = orjson.loads(status.stdout)
    assert doc["corpus"]["hashes"] == len(PASSWORDS) and doc["corpus"]["occurrences"] == 3 * len(PASSWORDS) + 2
    assert doc["pairs"]["state"] == "absent"


def test_status_without_a_corpus_exits_1(tmp_path: Path) -> None:
    result = run(tmp_path / "data", "passwords", "status")

    assert result.exit_code == 1
    assert orjson.loads(result.stdout)["corpus"]["state"] == "absent"


def test_bad_line_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "h.txt"
    source.write_text(f"{sha1('a')}:1\n{sha1('b')}:x\n")

    result = run(tmp_path / "data", "passwords", "build", str(source))

    assert result.exit_code == 2
    message = " ".join(result.stderr.split())  # Rich wraps long lines
    assert "h.txt, line 2: expected HASH:COUNT" in message and "nothing was built" in message
    assert sha1("b") not in result.output


def test_ntlm_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "ntlm.txt"
    source.write_text("8846F7EAEE8FB117AD06BDD830B7586C:52579\n")

    result = run(tmp_path / "data", "passwords", "build", str(source))

    assert result.exit_code == 2 and "NTLM" in result.stderr


def test_skip_invalid_builds_and_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "h.txt"
    source.write_text(f"{sha1('a')}:1\nbroken\n{sha1('b')}:2\n")

    result = run(tmp_path / "data", "passwords", "build", "--skip-invalid", "--out", str(tmp_path / "pw"), str(source))

    assert result.exit_code == 1
    assert "2 distinct" in result.stdout
    assert "1 invalid line(s) skipped, first at h.txt:2" in " ".join(result.stderr.split())
    assert (tmp_path / "pw" / "corpus.current").exists()


def test_missing_source_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "data", "passwords", "build", str(tmp_path / "nope.txt"))

    assert result.exit_code == 2 and "no such file" in result.stderr


def test_pairs_use_the_key_file(tmp_path: Path) -> None:
    breach = tmp_path / "breach.txt"
    breach.write_text("liujie@example.cn:Tianhe#385\n+86 138 1234 5678:refund2016\n")

    result = run(tmp_path / "data", "passwords", "pairs", str(breach))

    assert result.exit_code == 0, result.output
    assert "2 distinct" in result.stdout
    container = build_container(Settings(data_dir=tmp_path / "data"), migrate=True)
    try:
        assert container.pairs.contains("13812345678", sha1("refund2016"))
        assert not container.pairs.contains("13812345678", sha1("Tianhe#385"))
    finally:
        container.close()


def test_pairs_bad_line_exits_2(tmp_path: Path) -> None:
    breach = tmp_path / "breach.txt"
    breach.write_text("ok@example.cn:pw\n:no-user\n")

    result = run(tmp_path / "data", "passwords", "pairs", str(breach))

    assert result.exit_code == 2 and "line 2" in result.stderr
