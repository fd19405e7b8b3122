"""The SHOPSHIELD_* environment a command under test sees: only what the test sets."""

from __future__ import annotations

from shopshield.settings import Settings

# Every SHOPSHIELD_* variable a command reads: unset unless a test sets it, so the outer
# environment (a developer's shell, CI) cannot leak into what a command under test sees.
ENV_KEYS = (
    "SHOPSHIELD_DATA_DIR",
    "SHOPSHIELD_DATABASE_URL",
    "SHOPSHIELD_KEYSTORE_URL",
    "SHOPSHIELD_MASTER_KEY_FILE",
    "SHOPSHIELD_POLICY_FILE",
    "SHOPSHIELD_PORT",
    "SHOPSHIELD_HOST",
    "SHOPSHIELD_TRUSTED_PROXIES",
    "SHOPSHIELD_MAX_BODY_BYTES",
    "SHOPSHIELD_TOKEN_CACHE_SECONDS",
    "SHOPSHIELD_DATA_KEY_CACHE_SECONDS",
    "SHOPSHIELD_KEYSTORE_PURGE_TIMEOUT_SECONDS",
    "SHOPSHIELD_PASSWORDS_DIR",
    "SHOPSHIELD_PASSWORDS_RANGE_PUBLIC",
    "SHOPSHIELD_REDIS_URL",
    "SHOPSHIELD_REDIS_PREFIX",
    "SHOPSHIELD_GUARD_CONFIG",
    "SHOPSHIELD_GUARD_WEBHOOK_URL",
    "SHOPSHIELD_GUARD_WEBHOOK_SECRET",
    "SHOPSHIELD_GUARD_LOCATIONS_FILE",
    "SHOPSHIELD_TIMEZONE",
    "SHOPSHIELD_LOG_LEVEL",
    "SHOPSHIELD_AUDIT_ORIGIN",
    "SHOPSHIELD_AUDIT_RETENTION_DAYS",
    "SHOPSHIELD_AUDIT_SIGNING_KEY_FILE",
    "SHOPSHIELD_AUDIT_WITNESS_FILE",
    "SHOPSHIELD_CHECKPOINT_INTERVAL_SECONDS",
    "SHOPSHIELD_CANARY_MOBILE_PREFIX",
    "SHOPSHIELD_CANARY_EMAIL_DOMAIN",
    "SHOPSHIELD_CANARY_BACKEND",
)


def cli_env(settings: Settings | None = None, **extra: str) -> dict[str, str | None]:
    """SHOPSHIELD_* variables for ``settings`` only, whatever the outer environment holds."""
    env: dict[str, str | None] = dict.fromkeys(ENV_KEYS)
    if settings is not None:
        env["SHOPSHIELD_DATA_DIR"] = str(settings.data_dir)
        env["SHOPSHIELD_DATABASE_URL"] = settings.effective_database_url()
        env["SHOPSHIELD_KEYSTORE_URL"] = settings.effective_keystore_url()
    env.update({f"SHOPSHIELD_{k.upper()}": v for k, v in extra.items()})
    return env
