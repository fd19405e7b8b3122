"""Settings are checked when they are loaded (decision 0022): a wrong ``SHOPSHIELD_*`` variable
stops every command with exit 2 and one line that names the variable and what would be right,
before anything is created, and never repeats the value (a URL may carry a password)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopshield.cli import app
from shopshield.core.errors import BadConfiguration, exit_code
from shopshield.settings import BadSettings, Settings
from tests.support.environment import ENV_KEYS, cli_env

SECRET = "s3cret-pa55"

# (variable, value, what the message must say besides the variable's name)
BAD = [
    ("timezone", "Mars/Olympus", "IANA time zone"),
    ("timezone", "Asia/Atlantis", "IANA time zone"),
    ("port", "eighty", "valid integer"),
    ("port", "0", "greater than or equal to 1"),
    ("port", "70000", "less than or equal to 65535"),
    ("host", "local host", "a host name or an IP address"),
    ("log_level", "LOUD", "one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
    ("database_url", "not a url", "SQLite or PostgreSQL"),
    ("database_url", f"mysql://shop:{SECRET}@db.example/shop", "SQLite or PostgreSQL"),
    ("keystore_url", f"http://keys:{SECRET}@keys.example/", "SQLite or PostgreSQL"),
    ("redis_url", f"http://:{SECRET}@127.0.0.1:6379/0", "a Redis URL"),
    ("redis_url", "redis://127.0.0.1:port/0", "port is a number"),
    ("guard_webhook_url", "ftp://store.example/hooks", "https?://"),
    ("guard_webhook_url", "https:///hooks/login", "with a host"),
    ("policy_file", "/nonexistent/policies.toml", "no such file"),
    ("guard_config", "/nonexistent/guard.toml", "no such file"),
    ("guard_locations_file", "/nonexistent/locations.csv", "no such file"),
    ("trusted_proxies", "10.0.0.5,proxy.example", "IP addresses or networks"),
    ("max_body_bytes", "12", "greater than or equal to 1024"),
    ("token_cache_seconds", "-1", "greater than or equal to 0"),
    ("audit_origin", "my log", "match pattern"),
    ("audit_retention_days", "30", "greater than or equal to 1095"),
    ("canary_email_domain", "qq.com", "not a public mail provider"),
    ("passwords_range_public", "maybe", "valid boolean"),
]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("variable", "value", "says"), BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_a_bad_value_stops_a_command_with_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    data_dir = tmp_path / "data"

    result = CliRunner().invoke(
        app, ["principals", "list"], env=cli_env(None, **{"data_dir": str(data_dir), variable: value})
    )

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: invalid configuration: "), line
    assert f"SHOPSHIELD_{variable.upper()}" in line
    assert says in line
    assert SECRET not in result.output
    assert "Traceback" not in result.output
    assert not data_dir.exists()  # checked before anything was created


def test_a_directory_is_no_policy_file(tmp_path: Path) -> None:
    env = cli_env(data_dir=str(tmp_path / "data"), policy_file=str(tmp_path))
    result = CliRunner().invoke(app, ["keys", "status"], env=env)
    assert result.exit_code == 2
    assert "SHOPSHIELD_POLICY_FILE: no such file" in _flat(result.stderr)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_policy_file_is_named(tmp_path: Path) -> None:
    policy = tmp_path / "policies.toml"
    policy.write_text("")
    policy.chmod(0)
    result = CliRunner().invoke(app, ["keys", "status"], env=cli_env(policy_file=str(policy)))
    assert result.exit_code == 2
    assert "SHOPSHIELD_POLICY_FILE: the file cannot be read" in _flat(result.stderr)


def test_a_webhook_needs_its_secret(tmp_path: Path) -> None:
    env = cli_env(data_dir=str(tmp_path / "data"), guard_webhook_url="https://store.example/hooks/login")
    result = CliRunner().invoke(app, ["alerts", "list"], env=env)
    assert result.exit_code == 2
    assert "SHOPSHIELD_GUARD_WEBHOOK_URL needs SHOPSHIELD_GUARD_WEBHOOK_SECRET" in _flat(result.stderr)


def test_every_wrong_variable_is_named_at_once(tmp_path: Path) -> None:
    env = cli_env(data_dir=str(tmp_path / "data"), timezone="Mars/Olympus", port="eighty", log_level="LOUD")
    result = CliRunner().invoke(app, ["migrate"], env=env)
    assert result.exit_code == 2
    line = _flat(result.stderr)
    for name in ("SHOPSHIELD_TIMEZONE", "SHOPSHIELD_PORT", "SHOPSHIELD_LOG_LEVEL"):
        assert name in line


def test_the_defaults_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KEYS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings.load()
    assert (settings.timezone, settings.port, settings.log_level) == ("Asia/Shanghai", 8080, "INFO")
    assert settings.database_url is None and settings.policy_file is None


def test_good_values_load_as_given(tmp_path: Path) -> None:
    policy = tmp_path / "policies.toml"
    policy.write_text("")
    settings = Settings.load(
        timezone="UTC",
        log_level="debug",
        database_url="postgresql+psycopg://shop@127.0.0.1:5432/shop",
        redis_url="redis://127.0.0.1:6379/0",
        guard_webhook_url="https://store.example:8443/hooks",
        guard_webhook_secret="0123456789abcdef",
        policy_file=policy,
    )
    assert settings.log_level == "DEBUG"  # logging's own spelling
    assert settings.policy_file == policy


def test_bad_settings_are_a_configuration_error() -> None:
    with pytest.raises(BadSettings) as raised:
        Settings.load(timezone="Mars/Olympus")
    assert isinstance(raised.value, BadConfiguration)
    assert exit_code(raised.value) == 2
    assert raised.value.message.startswith("invalid configuration: SHOPSHIELD_TIMEZONE: ")
