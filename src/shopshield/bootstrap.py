"""The one place that wires ShopShield's parts together from its settings.

Nothing happens at import time: ``build`` creates engines, migrates when asked (and otherwise
checks the schema is current), opens the key file and loads policies; ``Container.close``
releases them. The CLI, the HTTP app, tests and benchmarks all start here, so they run the same
wiring.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shopshield import migrations
from shopshield.alerts.service import AlertMetrics
from shopshield.audit.service import AuditLog, Checkpointer
from shopshield.audit.signing import CheckpointSigner
from shopshield.audit.witness import FileWitness
from shopshield.canary.watch import CanaryWatch
from shopshield.channels import service as channels_service
from shopshield.core.db import Tx, make_engine, session_factory, transaction
from shopshield.core.files import private_sqlite_file
from shopshield.core.notices import PreviousAddress
from shopshield.core.policy import PolicySet, load_policies
from shopshield.guard.actions import ActionSink, ReturnOnly, WebhookSink
from shopshield.guard.config import GuardConfigError, load_config
from shopshield.guard.counters import CounterStore, MemoryCounters, RedisCounters, Resilient
from shopshield.guard.engine import Guard, GuardMetrics, Hasher, PairList, PasswordCorpus
from shopshield.guard.networks import Locations
from shopshield.keys.keyring import LocalKeyFile
from shopshield.keys.models import DataKey
from shopshield.keys.purge import KeyStorePurger, make_keystore_engine
from shopshield.keys.service import DataKeys
from shopshield.notify import service as notify
from shopshield.notify.adapters import FileSender, HttpSender, Sender, SmtpSender, parse_smtp_url, tls_context
from shopshield.notify.catalogue import Channel, parse_event
from shopshield.notify.circuit import BreakerPolicy
from shopshield.notify.messages import Renderer
from shopshield.notify.metrics import NotifyMetrics, OutboxCollector
from shopshield.notify.worker import ACTION, PURPOSE, WORKER, Worker
from shopshield.passwords.pairs import derive_pairs_key
from shopshield.passwords.service import BreachedPasswords, LeakedPairs
from shopshield.principals.service import Authenticator
from shopshield.settings import Settings
from shopshield.tickets.service import reveal_problem
from shopshield.vault.contacts import VaultContacts
from shopshield.vault.service import Vault
from shopshield.verify.service import (
    BRAND_NAME,
    PAYEE_ACCOUNT,
    PHONE,
    SMS_SENDER,
    WEB_DOMAIN,
    OfficialSource,
    first_of,
    registry_source,
    static_source,
)

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Every wired part. A field would be typed by its Protocol where one exists and no caller needs
    more; each concrete field that has a Protocol says what of the class its callers use."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keystore_engine: Engine
    keystore_sessions: sessionmaker[Session]
    # Concrete: key rotation adds and retires versions (``keys.rotation``), which the vault's
    # ``MasterKeyProvider`` does not offer.
    master: LocalKeyFile
    policies: PolicySet
    data_keys: DataKeys
    vault: Vault
    authenticator: Authenticator
    # Concrete: the routes and commands read its signer, tree and proofs, not only the
    # ``core.events.EventLog`` that services record through.
    audit: AuditLog
    # Concrete: ``audit verify`` checks that its file is there before it starts (``path``); the
    # audit log and the verifier take it as a ``Witness``.
    witness: FileWitness
    # Opened here, read on first use (2 billion hashes are ~2.3 GB of filter; serve loads at start-up).
    # Concrete: the app loads, closes and serves ranges of them and reports their status; the
    # guard's ``PasswordCorpus`` and ``PairList`` are only the look-ups it makes.
    passwords: BreachedPasswords
    pairs: LeakedPairs
    # The guard holds its counters and notifier as ``CounterStore`` and ``ActionSink``.
    guard: Guard
    metrics: CollectorRegistry
    notify_metrics: NotifyMetrics
    renderer: Renderer

    def notify_worker(self) -> Worker:
        """A delivery worker with the senders the settings choose (not started; ``serve`` runs one
        in a thread, ``shopshield notify run`` in the foreground)."""
        s = self.settings
        return Worker(
            engine=self.engine,
            contacts=VaultContacts(self.vault, WORKER, purpose=PURPOSE, action=ACTION),
            senders=build_senders(s),
            renderer=self.renderer,
            metrics=self.notify_metrics,
            batch=s.notify_batch_size,
            lease=timedelta(seconds=s.notify_lease_seconds),
            poll_seconds=s.notify_poll_seconds,
            breaker_policy=breaker_policy(s),
        )

    def checkpointer(self) -> Checkpointer:
        """The checkpoint signer ``serve`` runs in the background (not started)."""
        return Checkpointer(
            audit=self.audit,
            transaction=lambda: transaction(self.engine),
            witness=self.witness,
            interval=self.settings.checkpoint_interval_seconds,
        )

    def official_source(self) -> OfficialSource:
        """Where the link and message checks find the store's official domains, brand names,
        numbers and accounts when a caller names none: the official-channel registry, kind by
        kind, and the settings' ``SHOPSHIELD_OFFICIAL_*`` for a kind the registry has none of."""
        return first_of(
            registry_source(self.engine, channels_service.official_values),
            static_source(official_from_settings(self.settings)),
        )

    def close(self) -> None:
        self.passwords.close()
        if isinstance(self.guard.actions, WebhookSink):
            self.guard.actions.close()
        self.engine.dispose()
        self.keystore_engine.dispose()


def official_from_settings(settings: Settings) -> dict[str, tuple[str, ...]]:
    """The official values ``SHOPSHIELD_OFFICIAL_*`` name, by the registry's kinds."""
    return {
        WEB_DOMAIN: settings.official_domains,
        BRAND_NAME: settings.official_brand_names,
        PHONE: settings.official_phones,
        SMS_SENDER: settings.official_sms_senders,
        PAYEE_ACCOUNT: settings.official_payee_accounts,
    }


def build(settings: Settings, *, migrate: bool = False) -> Container:
    """Wire every adapter for ``settings``: SQLite or PostgreSQL, the local key file, policies.

    Migrating is explicit (decision 0022): ``migrate=True`` brings both databases to the latest
    schema first, as ``shopshield migrate`` and ``serve`` do; otherwise a database that is not there
    raises ``SchemaNotAtHead`` before any key or checkpoint file is created.
    """
    urls: tuple[tuple[migrations.Tree, str], ...] = (
        ("main", settings.effective_database_url()),
        ("keystore", settings.effective_keystore_url()),
    )
    if not migrate:
        # A fresh SQLite instance is refused before its directory and files are created.
        for tree, url in urls:
            if migrations.missing_sqlite_file(url):
                raise migrations.not_at_head(tree)
    settings.ensure_data_dir()
    for _tree, url in urls:
        private_sqlite_file(url)
    engine = make_engine(settings.effective_database_url())
    keystore_engine = make_keystore_engine(settings.effective_keystore_url())
    try:
        trees: tuple[tuple[migrations.Tree, Engine], ...] = (("main", engine), ("keystore", keystore_engine))
        for tree, tree_engine in trees:
            if migrate:
                migrations.upgrade(tree_engine, tree)
            else:
                migrations.require_head(tree_engine, tree)
    except BaseException:
        engine.dispose()
        keystore_engine.dispose()
        raise
    master = LocalKeyFile.open_or_create(settings.effective_master_key_file())
    policies = load_policies(settings.policy_file)
    keystore_sessions = session_factory(keystore_engine)
    data_keys = DataKeys(
        keystore=keystore_sessions,
        master=master,
        cache_seconds=settings.data_key_cache_seconds,
        purger=KeyStorePurger(
            keystore_engine, table=DataKey.__tablename__, timeout_seconds=settings.keystore_purge_timeout_seconds
        ),
        refresh_master=master.refresh,
    )
    sessions = session_factory(engine)
    audit = AuditLog(signer=CheckpointSigner(settings.effective_signing_key_file(), settings.audit_origin))
    metrics = CollectorRegistry()
    notify_metrics = NotifyMetrics(metrics)
    metrics.register(OutboxCollector(engine))
    vault = Vault(
        keys=data_keys,
        blind_index_key=master.blind_index_key,
        policies=policies,
        tz=ZoneInfo(settings.timezone),
        audit=audit,
        ticket_problem=reveal_problem,
        canary_watch=CanaryWatch(),
        alert_metrics=AlertMetrics(metrics),
        notices=enqueue_notice,
    )
    authenticator = Authenticator(engine=engine, policies=policies, cache_seconds=settings.token_cache_seconds)
    passwords = BreachedPasswords(settings.effective_passwords_dir())
    pairs = LeakedPairs(settings.effective_passwords_dir(), lambda: derive_pairs_key(master.blind_index_key()))
    return Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keystore_engine=keystore_engine,
        keystore_sessions=keystore_sessions,
        master=master,
        policies=policies,
        data_keys=data_keys,
        vault=vault,
        authenticator=authenticator,
        audit=audit,
        witness=FileWitness(settings.effective_witness_file()),
        passwords=passwords,
        pairs=pairs,
        guard=build_guard(
            settings, secret=master.blind_index_key(), metrics=GuardMetrics(metrics), passwords=passwords, pairs=pairs
        ),
        metrics=metrics,
        notify_metrics=notify_metrics,
        renderer=Renderer(settings.notify_brand),
    )


def enqueue_notice(
    tx: Tx,
    *,
    customer_id: str,
    event: str,
    details: Mapping[str, object],
    source: str,
    source_ref: str,
    occurred_at: datetime,
    now: datetime,
    expand_later: bool = False,
    previous_address: PreviousAddress | None = None,
) -> list[str]:
    """``core.notices.Notices`` for the domains below notify: ``notify.service.enqueue`` with the
    event code read against the catalogue (decision 0028)."""
    return notify.enqueue(
        tx,
        customer_id=customer_id,
        event=parse_event(event),
        details=details,
        source=source,
        source_ref=source_ref,
        occurred_at=occurred_at,
        now=now,
        expand_later=expand_later,
        previous_address=previous_address,
    )


def build_senders(settings: Settings) -> dict[Channel, Sender]:
    """One sender per channel: the configured gateway, or the JSON-lines file in the data directory."""
    outbox = settings.resolved_data_dir() / "notifications"
    senders: dict[Channel, Sender] = {}
    if settings.smtp_url is not None:
        ca_file = None if settings.smtp_ca_file is None else settings.smtp_ca_file.expanduser()
        senders[Channel.EMAIL] = SmtpSender(
            parse_smtp_url(settings.smtp_url.get_secret_value()), settings.smtp_from, tls=tls_context(ca_file)
        )
    else:
        senders[Channel.EMAIL] = FileSender(outbox, Channel.EMAIL)
    for channel, url, secret in (
        (Channel.SMS, settings.sms_gateway_url, settings.sms_gateway_secret),
        (Channel.PUSH, settings.push_webhook_url, settings.push_webhook_secret),
    ):
        if url is not None and secret is not None:
            senders[channel] = HttpSender(url.get_secret_value(), secret.get_secret_value().encode(), channel)
        else:
            senders[channel] = FileSender(outbox, channel)
    return senders


def breaker_policy(settings: Settings) -> BreakerPolicy:
    """The gateways' circuit breakers as the settings set them (decision 0031)."""
    cool_down = timedelta(seconds=settings.notify_gateway_cool_down_seconds)
    return BreakerPolicy(
        threshold=settings.notify_gateway_failures,
        cool_down=cool_down,
        max_cool_down=max(cool_down, timedelta(minutes=10)),
    )


def build_guard(
    settings: Settings,
    *,
    secret: bytes,
    metrics: GuardMetrics,
    passwords: PasswordCorpus | None = None,
    pairs: PairList | None = None,
) -> Guard:
    """The login guard: in-process counters, or Redis with in-process fallback when configured."""
    counters: CounterStore
    if settings.redis_url is not None:
        counters = Resilient(
            RedisCounters.from_url(settings.redis_url.get_secret_value(), prefix=settings.redis_prefix),
            MemoryCounters(),
            on_fallback=metrics.fallbacks.inc,
        )
    else:
        counters = MemoryCounters()
    actions: ActionSink = ReturnOnly()
    if settings.guard_webhook_url is not None:
        if settings.guard_webhook_secret is None:
            raise GuardConfigError("SHOPSHIELD_GUARD_WEBHOOK_URL needs SHOPSHIELD_GUARD_WEBHOOK_SECRET to sign with")
        actions = WebhookSink(settings.guard_webhook_url, settings.guard_webhook_secret.get_secret_value().encode())
    locations = Locations.load(settings.guard_locations_file) if settings.guard_locations_file is not None else None
    return Guard(
        config=load_config(settings.guard_config),
        counters=counters,
        # Its own HKDF label inside Hasher keeps these digests unrelated to the vault's blind indexes.
        hasher=Hasher(secret),
        passwords=passwords,
        pairs=pairs,
        locations=locations,
        actions=actions,
        metrics=metrics,
        shared=settings.redis_url is not None,
    )
