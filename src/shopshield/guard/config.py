"""The guard's thresholds and weights: a TOML file with documented defaults (``defaults.toml``)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shopshield.core.errors import BadConfiguration

Steps = list[tuple[float, int]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Windows(_Strict):
    account: int = Field(gt=0)
    account_ip: int = Field(gt=0)
    ip: int = Field(gt=0)
    network: int = Field(gt=0)
    ip_usernames: int = Field(gt=0)
    device_usernames: int = Field(gt=0)
    ip_attempts: int = Field(gt=0)
    known: int = Field(gt=0)
    stash: int = Field(gt=0)


class Signals(_Strict):
    account_failures: Steps
    account_ip_failures: Steps
    ip_failures: Steps
    network_failures: Steps
    ip_usernames: Steps
    device_usernames: Steps
    ip_unknown_share: Steps
    unknown_share_min_attempts: int = Field(ge=1)
    ip_failure_share: Steps
    failure_share_min_attempts: int = Field(ge=1)
    ip_usernames_min_failure_share: float = Field(ge=0.0, le=1.0)
    breached_password: int = Field(ge=0)
    breached_password_common: int = Field(ge=0)
    common_count: int = Field(ge=1)
    leaked_pair: int = Field(ge=0)
    new_device: int = Field(ge=0)
    no_device: int = Field(ge=0)
    new_network: int = Field(ge=0)
    no_history: int = Field(ge=0)
    impossible_travel: int = Field(ge=0)
    attack_mode: int = Field(ge=0)

    @model_validator(mode="after")
    def _ascending(self) -> Signals:
        for name, value in self:
            if isinstance(value, list):
                thresholds = [t for t, _ in value]
                if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
                    raise ValueError(f"signals.{name}: thresholds must be strictly ascending")
        return self


class Attack(_Strict):
    short: int = Field(gt=0)
    long: int = Field(gt=0)
    min_failures: int = Field(ge=1)
    factor: float = Field(gt=0.0)
    min_failure_share: float = Field(ge=0.0, le=1.0)
    hold: int = Field(ge=0)
    challenge_at: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _long_covers_short(self) -> Attack:
        if self.long <= self.short:
            raise ValueError("attack.long must be longer than attack.short")
        return self


class Travel(_Strict):
    max_speed_kmh: float = Field(gt=0.0)
    min_distance_km: float = Field(ge=0.0)


class Notify(_Strict):
    account_failures: int = Field(ge=1)


class GuardConfig(_Strict):
    challenge_at: int = Field(ge=0, le=100)
    deny_at: int = Field(ge=0, le=101)
    known_login_max: Literal["allow", "challenge"]
    windows: Windows
    signals: Signals
    attack: Attack
    travel: Travel
    notify: Notify

    @model_validator(mode="after")
    def _ordered(self) -> GuardConfig:
        if not self.challenge_at <= self.deny_at:
            raise ValueError("challenge_at must not exceed deny_at")
        return self


class GuardConfigError(BadConfiguration, ValueError):
    """The guard's config file cannot be read or is invalid; the message names the file and key."""


def _defaults_text() -> str:
    return resources.files("shopshield.guard").joinpath("defaults.toml").read_text("utf-8")


def load_config(path: Path | None = None) -> GuardConfig:
    """The shipped defaults, or ``path`` read over them (a file may set only what it changes)."""
    merged = tomllib.loads(_defaults_text())
    if path is not None:
        try:
            override = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GuardConfigError(f"guard config {path}: {exc}") from None
        _merge(merged, override)
    try:
        return GuardConfig.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise GuardConfigError(f"guard config {path or 'defaults'}: {problems}") from None


def _merge(base: dict[str, object], override: dict[str, object]) -> None:
    for key, value in override.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value)
        else:
            base[key] = value
