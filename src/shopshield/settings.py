"""The one typed settings object, read from ``SHOPSHIELD_*`` environment variables."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shopshield.core.errors import BadConfiguration
from shopshield.vault.masking import PUBLIC_MAIL_DOMAINS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# What the storage layer runs on (SQLAlchemy URL backends), and the levels ``logging`` knows by name.
DATABASE_BACKENDS = ("sqlite", "postgresql")
REDIS_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class BadSettings(BadConfiguration):
    """A ``SHOPSHIELD_*`` variable is wrong; the message names each one and what would be right.

    Never the value itself: a URL may carry a password.
    """

    code = "bad_settings"

    @classmethod
    def of(cls, exc: ValidationError) -> BadSettings:
        problems = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"SHOPSHIELD_{name}: {message}" if name else message)
        return cls("invalid configuration: " + "; ".join(problems))


class Settings(BaseSettings):
    """Everything configurable about a ShopShield instance.

    Passed explicitly to whatever needs it (never read from a module global) so tests can run
    several differently configured instances in one process.
    """

    model_config = SettingsConfigDict(env_prefix="SHOPSHIELD_", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="Directory for the embedded database and keys.")
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in the data directory."
    )
    keystore_url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the data-key store. Kept apart from the main database so that a database "
            "backup never holds the keys of an erased customer. Default: a SQLite file under data_dir/keys."
        ),
    )
    master_key_file: Path | None = Field(
        default=None, description="Versioned master key file; default data_dir/keys/master-keys.json."
    )
    keystore_purge_timeout_seconds: float = Field(
        default=5.0,
        gt=0.0,
        le=300.0,
        description="How long an erase may wait, after deleting the data key, for the key store to let go of "
        "the key's last bytes (SQLite: readers of its write-ahead log; PostgreSQL: transactions that began "
        "before the delete, or a lock on the key table). Past it the erase answers key_destroyed: false and "
        "says why; a repeated erase or `shopshield keys purge` finishes the job.",
    )
    policy_file: Path | None = Field(
        default=None, description="Role policy TOML; default is the policy shipped with the package."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = Field(
        default=(),
        description="Addresses or networks (comma-separated, e.g. 10.0.0.5,192.168.0.0/24) of the reverse "
        "proxies in front of ShopShield. Only a request that arrives from one of them may name its client in "
        "X-Forwarded-For; from anyone else the header is ignored and the connection's own address is recorded. "
        "Default: none, so no client can set the address in the access log.",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest request body accepted, in bytes (1 KiB to 1 GiB; default 8 MiB: the largest batch "
        "of scam reports, 1,000 with every field at its longest, is about 6 MB). A larger declared Content-Length "
        "is refused with 413 before the body is read, a chunked body as soon as it passes the limit. Bodies are "
        "read only after the bearer token is checked.",
    )
    data_key_cache_seconds: float = Field(
        default=30.0,
        ge=0.0,
        description="How long an unwrapped data key stays in memory; bounds how long another instance may "
        "still decrypt an erased customer's cached key.",
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0.0,
        le=60.0,
        description="How long a verified API token stays cached (0-60 s). The bound on revocation: a principal "
        "disabled by another process (the CLI, another instance) still authenticates here for at most this long; "
        "one disabled through this instance's API fails from its next request.",
    )
    console_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="A console session ends after this many minutes without a request (1-1440).",
    )
    console_session_hours: int = Field(
        default=12,
        ge=1,
        le=7 * 24,
        description="A console session ends this many hours after login, however active (1-168).",
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Time zone whose days (and hours) the quotas and search limits count."
    )
    audit_origin: str = Field(
        default="shopshield/audit",
        min_length=1,
        max_length=200,
        pattern=r"^[^\s+]+$",
        description="Name of this access log in its signed checkpoints; unique per log.",
    )
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key that signs checkpoints, kept outside the database; default "
        "data_dir/keys/audit-checkpoint.pem (created on first use).",
    )
    audit_witness_file: Path | None = Field(
        default=None,
        description="Append-only file that receives every signed checkpoint, outside the data directory so "
        "that a restored or rewritten database cannot take it along; default <data_dir>-witness/checkpoints.jsonl.",
    )
    checkpoint_interval_seconds: float = Field(
        default=1.0, gt=0.0, le=3600.0, description="How often `serve` signs a checkpoint while events arrive."
    )
    audit_retention_days: int = Field(
        default=3 * 365 + 1,
        ge=3 * 365,
        description="Events younger than this are never archived out of the database (at least 3 years).",
    )

    official_domains: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="The store's official web domains, comma-separated (e.g. jd.com,jd.hk): what the link and "
        "message checks (`verify`) hold links against when a request or command names none. Until the "
        "official-channel registry serves them.",
    )
    official_brand_names: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="The store's brand names, comma-separated (e.g. 京东,JD): a Chinese name brings its pinyin and "
        "initials, which lookalike domains borrow.",
    )
    official_phones: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="The store's official phone numbers, comma-separated (400/95xxx/landlines, mobiles)."
    )
    official_sms_senders: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="The store's SMS sender numbers (106...), comma-separated."
    )
    official_payee_accounts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="The store's own payee account numbers, comma-separated; refunds never go elsewhere."
    )

    canary_mobile_prefix: str | None = Field(
        default=None,
        pattern=r"^1[3-9][0-9]{1,8}$",
        description="The first digits of a block of mobile numbers the store controls (e.g. 1700000, which leaves "
        "10,000 numbers): canary customers get numbers from it and nowhere else, so a decoy never carries a "
        "stranger's number. Unset, canaries cannot be planted.",
    )
    canary_email_domain: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="A mail domain the store controls; canaries get an address there. Unset, canaries have no e-mail. "
        "Never a public mail provider's (qq.com, gmail.com, ...): a made-up mailbox there may be a stranger's.",
    )
    canary_backend: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$",
        description="Name or id of the principal the store's backend writes customers as (a role that writes "
        "customers and orders and sees every field in full, like the shipped service role). A canary's writes "
        "and export reads are recorded under it, so its access report looks like a customer's. Unset: the one "
        "active principal of such a role; with none or several, planting and export rows refuse.",
    )

    @field_validator("canary_email_domain")
    @classmethod
    def _not_a_public_provider(cls, value: str | None) -> str | None:
        # Decoys get random mailbox names: at a public provider those can belong to real people.
        if value is not None and value in PUBLIC_MAIL_DOMAINS:
            raise ValueError("must be a domain the store controls, not a public mail provider's")
        return value

    passwords_dir: Path | None = Field(
        default=None,
        description="The breached-password corpus and the leaked pairs (built by `shopshield passwords`); "
        "default data_dir/passwords. Missing, every password counts as not breached.",
    )
    passwords_range_public: bool = Field(
        default=True,
        description="Serve GET /range/{prefix} without a bearer token, as HIBP does (a k-anonymity range "
        "reveals no customer data); false to require any valid token.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0) for the login guard's counters, shared by every instance "
        "that points at it. Unset, counters live in the process. If Redis goes away, decisions continue on "
        "local counters and sharing resumes when it returns.",
    )
    redis_prefix: str = Field(
        default="shopshield:guard",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9:_.-]+$",
        description="Prefix of every Redis key the guard writes; instances of one store share it, "
        "different stores on one Redis each need their own.",
    )
    guard_config: Path | None = Field(
        default=None,
        description="TOML file of the login guard's thresholds and weights, read over the shipped defaults "
        "(src/shopshield/guard/defaults.toml); it may set only what it changes.",
    )
    guard_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="The store's endpoint for login actions (require a password reset, revoke sessions, notify "
        "the customer), POSTed as signed JSON. Unset, actions are only returned in the outcome response.",
    )
    guard_webhook_secret: SecretStr | None = Field(
        default=None, min_length=16, description="HMAC-SHA256 key that signs webhook bodies (X-ShopShield-Signature)."
    )
    guard_locations_file: Path | None = Field(
        default=None,
        description="CSV of network,lat,lon[,name] rows (non-overlapping) that locates client addresses; "
        "enables the impossible-travel signal.",
    )

    notify_worker: bool = Field(
        default=True,
        description="Run the notification worker inside `serve` (a thread, stopped on shutdown). false when "
        "dedicated `shopshield notify run` processes deliver instead.",
    )
    notify_brand: str = Field(
        default="ShopShield",
        min_length=1,
        max_length=12,
        description="The store's name as customer messages open with it (【name】 in Chinese SMS).",
    )
    notify_batch_size: int = Field(
        default=200, ge=1, le=5000, description="Messages a worker claims per round (one transaction each way)."
    )
    notify_lease_seconds: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description="How long a claimed message stays with its worker; a worker that dies returns its messages to "
        "the queue when the lease runs out (they are then sent again with the same idempotency key).",
    )
    notify_poll_seconds: float = Field(
        default=1.0, gt=0.0, le=60.0, description="How long an idle worker waits before looking for due messages again."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://[user:pass@]host:port[?starttls=true], or smtps://[user:pass@]host:port (TLS from the "
        "start, port 465 by default), of the mail server for e-mail notifications. Unset, e-mail goes to the "
        "JSON-lines file in the data directory.",
    )
    smtp_from: str = Field(
        default="no-reply@shopshield.invalid",
        max_length=200,
        pattern=r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$",
        description="The From address of e-mail notifications; its domain also ends every Message-ID.",
    )
    sms_gateway_url: SecretStr | None = Field(
        default=None,
        description="http(s) URL of the SMS gateway: one signed JSON POST per message. Unset, SMS go to the file.",
    )
    sms_gateway_secret: SecretStr | None = Field(
        default=None, min_length=16, description="HMAC-SHA256 key that signs SMS gateway requests."
    )
    push_webhook_url: SecretStr | None = Field(
        default=None,
        description="http(s) URL of the store's push webhook: one signed JSON POST per message. Unset, push goes "
        "to the file.",
    )
    push_webhook_secret: SecretStr | None = Field(
        default=None, min_length=16, description="HMAC-SHA256 key that signs push webhook requests."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the certificate authorities to trust for the mail server's certificate (STARTTLS "
        "or smtps), instead of the system's. The certificate and host name are always verified; there is no "
        "setting that skips it.",
    )
    notify_gateway_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Consecutive gateway failures (unreachable, timed out, HTTP 5xx or 429, SMTP 421) after which a "
        "worker stops sending to that gateway for a cool-down; its messages wait without counting an attempt.",
    )
    notify_gateway_cool_down_seconds: float = Field(
        default=30.0,
        ge=1.0,
        le=3600.0,
        description="How long an open gateway circuit waits before one probe message (up to 20% more at random); "
        "it doubles for each reopening in a row, up to ten minutes or this value if larger.",
    )

    contact_window_minutes: int = Field(
        default=15,
        ge=1,
        le=120,
        description="How near the time a customer asks about a logged contact must be for POST /v1/verify/contact "
        "to answer verified: from this long before it started until this long after it ended.",
    )
    contact_open_max_minutes: int = Field(
        default=120,
        ge=5,
        le=1440,
        description="How long a logged contact without an end counts as in progress (a telephony system that never "
        "sends the end must not leave a number verified for good).",
    )
    contact_status_minutes: int = Field(
        default=30,
        ge=1,
        le=1440,
        description="GET /v1/customers/{id}/contact-status lists contacts in progress or ended this recently.",
    )
    verify_contact_per_hour: int = Field(
        default=30,
        ge=1,
        le=100000,
        description="Verifications (POST /v1/verify/contact) per customer per hour; past it, 429 with Retry-After.",
    )
    report_token_days: int = Field(
        default=7, ge=1, le=30, description="How long the one-click report token of a not_verified answer lasts."
    )

    @field_validator("notify_brand")
    @classmethod
    def _brand(cls, value: str) -> str:
        from shopshield.notify.messages import Renderer

        try:
            Renderer(value)
        except ValueError:
            raise ValueError("1-12 characters naming the store, not a personal value such as a phone number") from None
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        from shopshield.notify.adapters import parse_smtp_url

        if value is not None:
            parse_smtp_url(value.get_secret_value())  # its ValueError never repeats the URL
        return value

    @field_validator("sms_gateway_url", "push_webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        parts = urlsplit(value.get_secret_value())
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise ValueError("an http:// or https:// URL with a host, such as https://sms.example/send")
        return value

    @model_validator(mode="after")
    def _gateways_signed(self) -> Self:
        for name in ("sms_gateway", "push_webhook"):
            if getattr(self, f"{name}_url") is not None and getattr(self, f"{name}_secret") is None:
                upper = name.upper()
                raise ValueError(f"SHOPSHIELD_{upper}_URL needs SHOPSHIELD_{upper}_SECRET to sign with")
        return self

    @field_validator(
        "official_domains",
        "official_brand_names",
        "official_phones",
        "official_sms_senders",
        "official_payee_accounts",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        # The environment gives one string; the values themselves hold no commas.
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list | tuple):
            parts = tuple(str(part).strip() for part in value if str(part).strip())
            if any(len(part) > 253 for part in parts) or len(parts) > 100:
                raise ValueError("at most 100 comma-separated values of at most 253 characters each")
            return parts
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        # The environment gives one string; a single address is a network of one.
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if isinstance(value, list | tuple):
            try:
                return tuple(ipaddress.ip_network(part) for part in value)
            except (TypeError, ValueError):
                raise ValueError(
                    "a comma-separated list of IP addresses or networks such as 10.0.0.5,192.168.0.0/24 "
                    "(a network without host bits)"
                ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Checked here, not when build() first needs the zone: a typo must not get as far as a traceback.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known IANA time zone; use one such as Asia/Shanghai or UTC") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"one of {', '.join(LOG_LEVELS)} (any case)")
        return value.upper()

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value or any(c.isspace() or c in "/?#@" for c in value):
            raise ValueError("a host name or an IP address to listen on, such as 127.0.0.1 or 0.0.0.0")
        return value

    @field_validator("database_url", "keystore_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        try:
            backend = make_url(value.get_secret_value()).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in DATABASE_BACKENDS:
            raise ValueError(
                "a SQLAlchemy URL of a SQLite or PostgreSQL database, such as sqlite:////var/lib/shopshield/db "
                "or postgresql+psycopg://user@host:5432/shopshield"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in REDIS_SCHEMES or (parts.scheme != "unix" and not parts.hostname):
            raise ValueError("a Redis URL such as redis://127.0.0.1:6379/0 (redis://, rediss:// or unix://)")
        try:
            parts.port  # noqa: B018 (the property parses the port, and raises on a bad one)
        except ValueError:
            raise ValueError("a Redis URL whose port is a number between 0 and 65535") from None
        return value

    @field_validator("guard_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if not parts.hostname or not port_ok:
            raise ValueError("an http:// or https:// URL with a host, such as https://store.example/hooks/login")
        return value

    @field_validator("policy_file", "guard_config", "guard_locations_file", "smtp_ca_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        # Whether the file's content is right is for its own loader to say; that it can be read is
        # checked here, so the message names the variable rather than a path deep in build().
        if value is not None:
            path = value.expanduser()
            if not path.is_file():
                raise ValueError("no such file; name a readable file, or leave the variable unset")
            if not os.access(path, os.R_OK):
                raise ValueError("the file cannot be read by this user")
        return value

    @model_validator(mode="after")
    def _webhook_signed(self) -> Self:
        if self.guard_webhook_url is not None and self.guard_webhook_secret is None:
            raise ValueError("SHOPSHIELD_GUARD_WEBHOOK_URL needs SHOPSHIELD_GUARD_WEBHOOK_SECRET to sign with")
        return self

    @classmethod
    def load(cls, **values: Any) -> Settings:
        """The settings from the environment (and ``values`` over it), checked: ``BadSettings``
        names every variable that is wrong, before anything is created."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise BadSettings.of(exc) from None

    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    def ensure_data_dir(self) -> Path:
        """Create the data directory (and keys/ below it) readable by the owner only."""
        path = self.resolved_data_dir()
        for directory in (path, path / "keys"):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
        return path

    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.resolved_data_dir() / 'shopshield.db'}"

    def effective_keystore_url(self) -> str:
        if self.keystore_url is not None:
            return self.keystore_url.get_secret_value()
        return f"sqlite:///{self.resolved_data_dir() / 'keys' / 'keystore.db'}"

    def effective_signing_key_file(self) -> Path:
        if self.audit_signing_key_file is not None:
            return self.audit_signing_key_file.expanduser().resolve()
        return self.resolved_data_dir() / "keys" / "audit-checkpoint.pem"

    def effective_witness_file(self) -> Path:
        if self.audit_witness_file is not None:
            return self.audit_witness_file.expanduser().resolve()
        data = self.resolved_data_dir()
        return data.parent / f"{data.name}-witness" / "checkpoints.jsonl"

    def effective_master_key_file(self) -> Path:
        if self.master_key_file is not None:
            return self.master_key_file.expanduser().resolve()
        return self.resolved_data_dir() / "keys" / "master-keys.json"

    def effective_passwords_dir(self) -> Path:
        if self.passwords_dir is not None:
            return self.passwords_dir.expanduser().resolve()
        return self.resolved_data_dir() / "passwords"
