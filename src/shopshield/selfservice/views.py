"""The customers' own pages at ``/me`` and the API route that opens them (docs/customer-pages.md,
decision 0035).

- ``POST /v1/customers/{id}/page-link`` (``customer_links.issue``: the store's backend) answers a
  URL good once, for ``service.LINK_MINUTES``, bound to that customer on the server.
- ``GET /me/enter?token=...`` spends it, starts the customer's session (cookie
  ``__Host-shopshield-me``: Secure, HttpOnly, SameSite=Lax, host-only; not the console's) and
  redirects to the page the link names.
- The pages: who accessed my data, did the store really contact me (and its one-click scam
  report), is this link the store's, notifications and the anti-phishing code. Each acts as the
  customer (``service.customer_caller``) on that customer's id from the session and nothing else:
  no page takes a customer id from the request. Every POST form carries the session's CSRF token,
  checked before anything is done. Every answer carries the console's strict CSP and headers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from shopshield.access import report as access_reports
from shopshield.bootstrap import Container
from shopshield.channels import service as channels_service
from shopshield.channels.catalogue import Language as ContactLanguage
from shopshield.channels.limits import PerCustomerLimit
from shopshield.channels.schemas import ReportIn, VerifyIn
from shopshield.core import tokens
from shopshield.core.callers import Caller
from shopshield.core.db import Tx, transaction, unit_of_work
from shopshield.core.errors import (
    BadConfiguration,
    Forbidden,
    InstanceFault,
    InvalidInput,
    NotFound,
    RateLimited,
    ShopShieldError,
    Unauthenticated,
)
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission, any_principal
from shopshield.core.times import iso
from shopshield.notify import antiphishing
from shopshield.notify import service as notify_service
from shopshield.notify.catalogue import CATALOGUE, Channel, Event
from shopshield.selfservice import report as plain
from shopshield.selfservice import service
from shopshield.selfservice.render import render, stylesheet
from shopshield.selfservice.schemas import LinkIn
from shopshield.selfservice.words import (
    CONTACT_CHANNELS,
    CONTACT_VERDICTS,
    KNEW,
    LANGUAGE_NAMES,
    LINK_VERDICTS,
    NOTIFY_CHANNELS,
    NOTIFY_EVENTS,
    Lang,
    text,
)
from shopshield.settings import Settings
from shopshield.vault import service as vault_service
from shopshield.verify import service as verify_service
from shopshield.verify.hosts import MAX_LINK_CHARS
from shopshield.verify.links import check_link
from shopshield.web import JSON, PAGE_CSP, PAGE_HEADERS, SELF_SERVICE_PREFIX, STATUS, CallDep, needs

PREFIX: Final = SELF_SERVICE_PREFIX
router = APIRouter(prefix=PREFIX, include_in_schema=False)
api_router = APIRouter(prefix="/v1/customers", tags=["customer pages"])

# ``__Host-``: kept only if Secure, host-only and Path=/. A name of its own, so the console's
# session and a customer's never meet in one cookie.
COOKIE: Final = "__Host-shopshield-me"
CSRF_FIELD: Final = "csrf"
MAX_FORM_BYTES: Final = 16 * 1024
PAGE_ROWS: Final = 50
CSP: Final = PAGE_CSP
SECURITY_HEADERS: Final = PAGE_HEADERS
PAGES: Final = {
    "home": f"{PREFIX}/",
    "access": f"{PREFIX}/access",
    "contact": f"{PREFIX}/contact",
    "links": f"{PREFIX}/links",
    "notifications": f"{PREFIX}/notifications",
}
WHY: Final = (
    "customer pages: the customer's own session cookie (begun by a one-time link the store's backend asked "
    "for with customer_links.issue), checked in selfservice.views; only that customer's own data"
)
ENTER_WHY: Final = (
    "customer pages: the one-time link's token is the credential, spent here (selfservice.service.enter); "
    "the store's backend asked for it with customer_links.issue"
)

CustomerId = Annotated[RecordId, Path(description="The store's customer id")]


# -- the link, for the store's backend -------------------------------------------------------------


@api_router.post(
    "/{customer_id}/page-link",
    status_code=201,
    summary="A link to the customer's own pages at /me, good once and for a few minutes",
)
@needs(Permission.CUSTOMER_LINKS_ISSUE)
def page_link(customer_id: CustomerId, call: CallDep, request: Request, body: LinkIn | None = None) -> JSON:
    """Answers ``{"customer_id", "url", "path", "expires_at"}``. ``url`` is on the origin this
    request reached; a store whose customers reach ShopShield elsewhere puts ``path`` after that
    origin. Open it at once, for the logged-in customer only: whoever opens it acts as them."""
    landing = "home" if body is None else body.page
    with unit_of_work(call.ctx.sessions) as session:
        issued = service.issue_link(
            session,
            log=call.ctx.audit,
            caller=call.caller,
            customer_id=customer_id,
            landing=landing,
            now=call.ctx.vault.clock(),
        )
    path = f"{PREFIX}/enter?token={issued.token}"
    origin = str(request.base_url).rstrip("/")
    return JSON(
        {"customer_id": customer_id, "url": origin + path, "path": path, "expires_at": iso(issued.expires_at)},
        status_code=201,
    )


# -- answers -----------------------------------------------------------------------------------------


def html(body: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body, status_code=status, media_type="text/html; charset=utf-8", headers={**SECURITY_HEADERS, **(headers or {})}
    )


def _cookie(value: str, *, max_age: int) -> str:
    # Lax, not Strict: a customer arrives from the store's site or app by a cross-site navigation,
    # and a Strict cookie would not be sent after /me/enter redirects them. Lax cookies are never
    # sent with a cross-site POST, and every form also carries the session's CSRF token.
    return f"{COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"


def _now() -> datetime:
    return datetime.now(UTC)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _base(
    lang: Lang, *, title: str, current: str = "", signed_in: bool = False, csrf: str = "", expires: str = ""
) -> dict[str, Any]:
    other = Lang.EN if lang is Lang.ZH else Lang.ZH

    def say(key: str, **values: object) -> str:
        return text(key, lang, **values)

    return {
        "lang": lang.value,
        "other_lang": other.value,
        "t": say,
        "title": title,
        "current": current,
        "here": PAGES.get(current, PAGES["home"]),
        "nav": [(code, path, text(code, lang)) for code, path in PAGES.items()],
        "signed_in": signed_in,
        "csrf": csrf,
        "expires_text": expires,
    }


def _ended(lang: Lang, *, status: int = 401, message: str | None = None, clear: bool = True) -> Response:
    """The page a customer without a session gets (``clear``: and the cookie they sent is dropped)."""
    values = _base(lang, title=text("ended_title", lang))
    body = render("message.html", {**values, "message": message or service.REFUSED_LINK})
    headers = {"Set-Cookie": f"{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"} if clear else None
    return html(body, status=status, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each); ``InvalidInput`` for anything else."""
    body = await request.body()
    if not body:
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput("the form must be sent as application/x-www-form-urlencoded")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput("the form is too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form is not valid") from None
    return {key: values[0] for key, values in parsed.items() if values}


# -- pages ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visit:
    """What a page function gets: the container, the customer of the session (and nobody else),
    the caller that acts as them, the page's language and the customer's time zone, the form."""

    ctx: Container
    customer_id: str
    caller: Caller
    lang: Lang
    zone: ZoneInfo
    request: Request
    form: dict[str, str] = field(default_factory=dict)

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value not in (None, "") else None

    def now(self) -> datetime:
        return self.ctx.vault.clock()


Handler = Callable[[Visit], tuple[str, dict[str, Any]]]


def _page(path: str, *, method: str = "GET") -> Callable[[Handler], Handler]:
    """Register a page: a function of ``Visit`` that answers (page code, template values); the
    template is the code's. The session, the CSRF check of a POST and the answer come from here."""

    def register(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            return await _serve(request, handler, post=method == "POST")

        endpoint.__name__ = endpoint.__qualname__ = f"me_{handler.__name__}"
        needs(any_principal(why=WHY))(endpoint)
        router.add_api_route(path, endpoint, methods=[method], response_class=Response)
        return handler

    return register


def _settings_of(ctx: Container, customer_id: str) -> notify_service.Settings:
    with transaction(ctx.engine, read_only=True) as tx:
        return notify_service.settings_for(tx, customer_id=customer_id)


def _status_of(exc: ShopShieldError) -> int:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), None)
    return 400 if status is None else status


async def _serve(request: Request, handler: Handler, *, post: bool) -> Response:
    ctx: Container = request.app.state.container
    cookie = request.cookies.get(COOKIE)
    chosen = Lang.parse(request.query_params.get("lang"))

    def resume() -> service.Resumed | None:
        with unit_of_work(ctx.sessions) as session:
            # A POST marks the session used only after its CSRF token has passed.
            return service.resume(session, cookie=cookie, now=_now(), touch=not post)

    resumed = await run_in_threadpool(resume)
    if resumed is None:
        return _ended(chosen or Lang.ZH)
    settings = await run_in_threadpool(_settings_of, ctx, resumed.customer_id)
    lang = chosen or Lang.parse(str(settings.language)) or Lang.ZH
    current = "home"
    try:
        form: dict[str, str] = {}
        if post:
            form = await _form(request)
            lang = Lang.parse(form.get("lang")) or lang
            if not tokens.csrf_matches(resumed.csrf, form.get(CSRF_FIELD)):
                # Before anything is done or recorded: a forged form writes nothing.
                raise Forbidden("the form's security token is missing or wrong; reload the page and try again")
            await run_in_threadpool(_touch, ctx, cookie)
        visit = Visit(
            ctx,
            resumed.customer_id,
            service.customer_caller(resumed.customer_id, source_ip=_address(request)),
            lang,
            settings.zone,
            request,
            form,
        )
        current, values = await run_in_threadpool(handler, visit)
    except ShopShieldError as exc:
        if isinstance(exc, InstanceFault | BadConfiguration):
            raise
        base = _base(
            lang,
            title=text("refused", lang),
            current=current,
            signed_in=True,
            csrf=resumed.csrf,
            expires=_local(resumed.expires_at, settings.zone),
        )
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return html(render("message.html", {**base, "message": exc.message}), status=_status_of(exc), headers=headers)
    base = _base(
        lang,
        title=text(current, lang),
        current=current,
        signed_in=True,
        csrf=resumed.csrf,
        expires=_local(resumed.expires_at, settings.zone),
    )
    return html(render(f"{current}.html", {**base, **values}))


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def _touch(ctx: Container, cookie: str | None) -> None:
    with unit_of_work(ctx.sessions) as session:
        service.touch(session, cookie=cookie, now=_now())


def _live(tx: Tx, customer_id: str) -> None:
    if not vault_service.is_live(tx=tx, customer_id=customer_id):
        raise NotFound("your account is no longer with the store")


@_page("/")
def home(_visit: Visit) -> tuple[str, dict[str, Any]]:
    return "home", {}


@_page("/access")
def access(visit: Visit) -> tuple[str, dict[str, Any]]:
    """Who accessed my data: the access report, one page at a time, read out in words. Made as the
    customer, so the customer's next report shows that they looked (action ``report``)."""
    query = access_reports.parse_query(visit.customer_id, limit=PAGE_ROWS, cursor=visit.query("cursor"))
    ctx = visit.ctx
    with transaction(ctx.engine) as tx:
        found = access_reports.access_report(audit=ctx.audit, tx=tx, caller=visit.caller, query=query, now=visit.now())
    return "access", {
        "rows": plain.rows(found["items"], visit.lang, visit.zone),
        "total": found["summary"]["total"],
        "next_cursor": found["next_cursor"],
    }


# -- did the store really contact me? ----------------------------------------------------------------


def _verify_config(settings: Settings) -> channels_service.VerifyConfig:
    return channels_service.VerifyConfig.of(
        window_minutes=settings.contact_window_minutes,
        open_max_minutes=settings.contact_open_max_minutes,
        status_minutes=settings.contact_status_minutes,
        token_days=settings.report_token_days,
    )


def _contact_language(lang: Lang) -> ContactLanguage:
    return ContactLanguage(lang.value)


def _contact_values(visit: Visit, **values: Any) -> tuple[str, dict[str, Any]]:
    ctx = visit.ctx
    with unit_of_work(ctx.sessions) as session:
        status = channels_service.contact_status(
            Tx.of_session(session),
            customer_id=visit.customer_id,
            config=_verify_config(ctx.settings),
            language=_contact_language(visit.lang),
            now=visit.now(),
        )
    # Times as the customer reads them: their zone, to the minute.
    for contact in status["contacts"]:
        contact["started_at"] = plain.when_text(str(contact["started_at"]), visit.zone)
    answered = values.get("answer")
    if answered is not None and "contact" in answered:
        answered["contact"]["started_at"] = plain.when_text(str(answered["contact"]["started_at"]), visit.zone)
    return "contact", {
        "status": status,
        "answer": None,
        "verdict_text": "",
        "reported": None,
        "form": {"channel": "call", "from": "", "url": "", "payee_account": ""},
        "contact_channels": [(code, words.say(visit.lang)) for code, words in CONTACT_CHANNELS.items()],
        "knew_choices": [(code, words.say(visit.lang)) for code, words in KNEW.items()],
        **values,
    }


@_page("/contact")
def contact(visit: Visit) -> tuple[str, dict[str, Any]]:
    return _contact_values(visit)


@_page("/contact", method="POST")
def check_contact(visit: Visit) -> tuple[str, dict[str, Any]]:
    """The verification of ``POST /v1/verify/contact``, for the session's customer, under the same
    per-customer limit; a not-verified answer carries its one-click report form."""
    ctx, form = visit.ctx, visit.form
    typed = {name: form.get(name, "").strip() for name in ("channel", "from", "url", "payee_account")}
    try:
        asked = VerifyIn.model_validate(
            {
                "customer_id": visit.customer_id,
                "channel": typed["channel"],
                "from": typed["from"],
                "url": typed["url"] or None,
                "payee_account": typed["payee_account"] or None,
                "language": visit.lang.value,
            }
        )
    except ValidationError:
        raise InvalidInput(
            "choose how they contacted you and give their number, sender or e-mail address "
            "(a link up to 2048 characters, an account up to 200)"
        ) from None
    PerCustomerLimit(ctx.guard.counters, ctx.settings.verify_contact_per_hour).take(visit.customer_id, now=time.time())
    with unit_of_work(ctx.sessions) as session:
        answer = channels_service.verify_contact(
            session,
            vault=ctx.vault,
            caller=visit.caller,
            request=asked,
            config=_verify_config(ctx.settings),
            now=visit.now(),
        )
    verdict = CONTACT_VERDICTS.get(str(answer["verdict"]))
    return _contact_values(
        visit, answer=answer, verdict_text="" if verdict is None else verdict.say(visit.lang), form=typed
    )


@_page("/contact/report", method="POST")
def report_contact(visit: Visit) -> tuple[str, dict[str, Any]]:
    """The one-click report of ``POST /v1/verify/report``: a token given out for this customer only."""
    form = visit.form
    try:
        body = ReportIn.model_validate(
            {
                "report_token": form.get("report_token", ""),
                "knew": [code for code in KNEW if form.get(f"knew_{code}")],
                "loss_amount": form.get("loss_amount", "").strip() or None,
            }
        )
    except ValidationError:
        raise InvalidInput(
            "the amount lost must be a number such as 2089.00; if the report button is old, check the contact again"
        ) from None
    ctx = visit.ctx
    with unit_of_work(ctx.sessions) as session:
        stored = channels_service.report(
            session,
            vault=ctx.vault,
            audit=ctx.audit,
            caller=visit.caller,
            body=body,
            now=visit.now(),
            customer_id=visit.customer_id,
        )
    return _contact_values(visit, reported=stored["report_id"])


# -- is this link the store's? ------------------------------------------------------------------------


def _links_values(visit: Visit, **values: Any) -> tuple[str, dict[str, Any]]:
    return "links", {
        "verdict": None,
        "verdict_text": "",
        "url": "",
        "contact_channels": [(code, words.say(visit.lang)) for code, words in CONTACT_CHANNELS.items()],
        **values,
    }


@_page("/links")
def links(visit: Visit) -> tuple[str, dict[str, Any]]:
    return _links_values(visit)


@_page("/links", method="POST")
def check_links(visit: Visit) -> tuple[str, dict[str, Any]]:
    """The link checker (``verify.links.check_link``) against the store's official domains. Pure:
    nothing of the customer's is read, so nothing is recorded; reporting it goes through the
    contact check, which needs who sent it."""
    url = visit.form.get("url", "").strip()
    if not 0 < len(url) <= MAX_LINK_CHARS:
        raise InvalidInput(f"link: paste the link you were sent, up to {MAX_LINK_CHARS} characters")
    official = verify_service.official_for(source=visit.ctx.official_source(), domains=None)
    found = check_link(url, official).as_json()
    words = LINK_VERDICTS.get(str(found["verdict"]))
    return _links_values(visit, verdict=found, verdict_text="" if words is None else words.say(visit.lang), url=url)


# -- notifications and the anti-phishing code ---------------------------------------------------------


def _prefs_values(
    visit: Visit, found: notify_service.Settings, code_set: bool, saved: str | None
) -> tuple[str, dict[str, Any]]:
    lang = visit.lang
    events = [
        {
            "code": str(event),
            "name": NOTIFY_EVENTS[str(event)].say(lang) if str(event) in NOTIFY_EVENTS else str(event),
            "security": CATALOGUE[event].security,
            "channels": [str(c) for c in found.preferences[event]],
        }
        for event in Event
    ]
    return "notifications", {
        "events": events,
        "notify_channels": [(str(c), NOTIFY_CHANNELS[str(c)].say(lang)) for c in Channel],
        "languages": [(code.value, name) for code, name in LANGUAGE_NAMES.items()],
        "settings": notify_service.settings_json(found),
        "code_set": code_set,
        "saved": saved,
    }


@_page("/notifications")
def notifications(visit: Visit) -> tuple[str, dict[str, Any]]:
    """The customer's preferences (``notify.service.read_preferences``, recorded as ``prefs_view``)
    and whether they have an anti-phishing code: never the code itself, to anyone, here included
    (decision 0026: no route returns it)."""
    ctx = visit.ctx
    with unit_of_work(ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live(tx, visit.customer_id)
        found = notify_service.read_preferences(
            tx, log=ctx.audit, caller=visit.caller, customer_id=visit.customer_id, now=visit.now()
        )
        code_set = notify_service.has_anti_phishing_code(tx, customer_id=visit.customer_id)
    return _prefs_values(visit, found, code_set, None)


@_page("/notifications", method="POST")
def save_notifications(visit: Visit) -> tuple[str, dict[str, Any]]:
    """The form as the PUT body of ``/v1/customers/{id}/notification-preferences``: every event
    with the channels ticked, the language and the time zone, through ``notify.service.set_preferences``."""
    form = visit.form
    body = {
        "events": {str(e): [str(c) for c in Channel if form.get(f"ev:{e}:{c}")] for e in Event},
        "language": form.get("language") or None,
        "timezone": form.get("timezone", "").strip() or None,
    }
    ctx = visit.ctx
    with unit_of_work(ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live(tx, visit.customer_id)
        found = notify_service.set_preferences(
            tx, log=ctx.audit, caller=visit.caller, customer_id=visit.customer_id, body=body, now=visit.now()
        )
        code_set = notify_service.has_anti_phishing_code(tx, customer_id=visit.customer_id)
    return _prefs_values(visit, found, code_set, text("saved", visit.lang))


@_page("/code", method="POST")
def set_code(visit: Visit) -> tuple[str, dict[str, Any]]:
    """As ``PUT /v1/customers/{id}/anti-phishing-code``: the shape first, then the customer's own
    values (a recorded ``code_check``) so a code built from them is refused, then sealed. A refusal
    rolls the whole transaction back."""
    raw = visit.form.get("code", "")
    antiphishing.normalize_code(raw)
    ctx = visit.ctx
    with unit_of_work(ctx.sessions) as session:
        tx = Tx.of_session(session)
        data_key, personal = vault_service.values_for_check(
            vault=ctx.vault,
            tx=tx,
            caller=visit.caller,
            customer_id=visit.customer_id,
            action=notify_service.ACTION_CODE_CHECK,
        )
        notify_service.set_anti_phishing_code(
            tx,
            log=ctx.audit,
            caller=visit.caller,
            data_key=data_key,
            customer_id=visit.customer_id,
            raw=raw,
            personal=personal,
            now=visit.now(),
        )
        found = notify_service.settings_for(tx, customer_id=visit.customer_id)
    return _prefs_values(visit, found, True, text("code_saved", visit.lang))


@_page("/code/clear", method="POST")
def clear_code(visit: Visit) -> tuple[str, dict[str, Any]]:
    ctx = visit.ctx
    with unit_of_work(ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live(tx, visit.customer_id)
        notify_service.clear_anti_phishing_code(
            tx, log=ctx.audit, caller=visit.caller, customer_id=visit.customer_id, now=visit.now()
        )
        found = notify_service.settings_for(tx, customer_id=visit.customer_id)
    return _prefs_values(visit, found, False, text("code_cleared", visit.lang))


# -- entering and leaving --------------------------------------------------------------------------


@router.get("/enter")
@needs(any_principal(why=ENTER_WHY))
async def enter(request: Request) -> Response:
    """Spend the link's token, start the customer's session and send them to the page it names.
    A token is spent by its first use, so the URL left in the history opens nothing."""
    ctx: Container = request.app.state.container
    token = request.query_params.get("token")
    previous = request.cookies.get(COOKIE)
    lang = Lang.parse(request.query_params.get("lang")) or Lang.ZH

    def work() -> service.Entered:
        now = _now()
        with unit_of_work(ctx.sessions) as session:
            service.sweep(session, now=now)
        with unit_of_work(ctx.sessions) as session:
            entered = service.enter(session, token=token, now=now)
            # A session this browser already had (perhaps another customer's) ends here; a link
            # that opens nothing ends nothing.
            service.end(session, cookie=previous)
            return entered

    try:
        entered = await run_in_threadpool(work)
    except Unauthenticated as exc:
        # A session this browser already has stays: a link that opens nothing ends nothing.
        return _ended(lang, message=exc.message, clear=False)
    response = Response(status_code=303, headers={**SECURITY_HEADERS, "Location": PAGES[entered.landing]})
    response.headers.append("Set-Cookie", _cookie(entered.cookie, max_age=int(service.SESSION.total_seconds())))
    return response


@router.post("/done")
@needs(any_principal(why=WHY))
async def done(request: Request) -> Response:
    """End the session ("done, sign out"); the CSRF token is checked first."""
    ctx: Container = request.app.state.container
    cookie = request.cookies.get(COOKIE)

    def work(form: dict[str, str]) -> bool:
        with unit_of_work(ctx.sessions) as session:
            resumed = service.resume(session, cookie=cookie, now=_now(), touch=False)
            if resumed is None or not tokens.csrf_matches(resumed.csrf, form.get(CSRF_FIELD)):
                return False
            return service.end(session, cookie=cookie)

    try:
        form = await _form(request)
    except InvalidInput:
        form = {}
    lang = Lang.parse(form.get("lang")) or Lang.ZH
    if not await run_in_threadpool(work, form):
        # A forged "done" ends nothing, the cookie included.
        return _ended(lang, status=403, message="the form's security token is missing or wrong", clear=False)
    return _ended(lang, status=200, message=text("signed_out", lang))


@router.get("/static/me.css")
async def css() -> Response:
    return Response(stylesheet(), media_type="text/css; charset=utf-8", headers=SECURITY_HEADERS)
