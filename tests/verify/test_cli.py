"""``shopshield verify``: the same answers as the API, exit codes after cliutil (0 done, 2 the
caller's input or the missing configuration)."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner, Result

from shopshield.cli import app
from shopshield.settings import Settings
from tests.support.environment import cli_env


def run(*args: str, settings: Settings | None = None, stdin: str | None = None, **env: str) -> Result:
    return CliRunner().invoke(app, ["verify", *args], env=cli_env(settings, **env), input=stdin)


def test_link_with_official_given_needs_no_instance() -> None:
    result = run("link", "jd-kefu.top", "https://www.jd.com/", "", "--official", "jd.com", "--format", "json")
    assert result.exit_code == 0, result.output
    found = orjson.loads(result.stdout)
    assert [(f["verdict"], f["imitates"]) for f in found] == [
        ("lookalike", "jd.com"),
        ("official", "jd.com"),
        ("malformed", None),
    ]


def test_link_table_lists_each_link() -> None:
    result = run("link", "jingdong-kefu.cn", "--official", "jd.com", "--brand-zh", "京东")
    assert result.exit_code == 0, result.output
    assert "jingdong-kefu.cn\tlookalike\tjd.com\tbrand_pinyin" in result.stdout


def test_link_without_official_reads_the_settings(settings: Settings) -> None:
    result = run("link", "jd-kefu.top", "--format", "json", settings=settings, official_domains="jd.com")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)[0]["verdict"] == "lookalike"
    missing = run("link", "jd-kefu.top", settings=settings)
    assert missing.exit_code == 2
    assert "SHOPSHIELD_OFFICIAL_DOMAINS" in missing.stderr


def test_bad_official_values_exit_2() -> None:
    for value in (",", "localhost", "1.2.3.4"):
        result = run("link", "jd.com", "--official", value)
        assert result.exit_code == 2, value
        assert result.stderr.startswith("error: ")


def test_message_from_a_file_and_from_standard_input(tmp_path: Path) -> None:
    text = "退款失败，请登录 jd-refund.top 并提供验证码"
    message = tmp_path / "sms.txt"
    message.write_text(text, encoding="utf-8")
    from_file = run("message", str(message), "--official", "jd.com", "--format", "json")
    assert from_file.exit_code == 0, from_file.output
    assert orjson.loads(from_file.stdout)["verdict"] == "scam_likely"
    from_stdin = run("message", "-", "--official", "jd.com", stdin=text)
    assert from_stdin.exit_code == 0
    assert from_stdin.stdout.startswith("verdict: scam_likely")


def test_message_bad_files_exit_2_with_a_reason(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    huge.write_text("退" * 10_001, encoding="utf-8")
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    for path, reason in (
        (huge, "longer than 10,000"),
        (binary, "not UTF-8"),
        (empty, "empty"),
        (tmp_path / "missing.txt", "cannot read"),
    ):
        result = run("message", str(path), "--official", "jd.com")
        assert result.exit_code == 2, path
        assert reason in result.stderr


def test_lookalikes_in_json_with_their_families() -> None:
    result = run("lookalikes", "jd.com", "--brand-zh", "京东", "--format", "json", "--limit", "500")
    assert result.exit_code == 0, result.output
    found = orjson.loads(result.stdout)
    assert {"brand_with_words", "brand_pinyin", "brand_chinese", "tld_swap"} <= {c["family"] for c in found}
    assert found == orjson.loads(
        run("lookalikes", "jd.com", "--brand-zh", "京东", "--format", "json", "--limit", "500").stdout
    )
    assert run("lookalikes", "localhost").exit_code == 2
    assert run("lookalikes", "jd.com", "--limit", "0").exit_code == 2
