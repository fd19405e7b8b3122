"""A draft of the breach report to the regulator, in Markdown and HTML, filled from a scope.

Its sections follow what PIPL Art. 57 asks a notification to contain (the categories of personal
information, the cause and the possible harm; the remedies taken and what individuals can do; how
to reach the handler) and what GDPR Art. 33(3) asks of a notification to the supervisory authority
(nature, categories and approximate numbers of data subjects and records; a contact point; likely
consequences; measures taken or proposed). ShopShield writes what its log knows; what only people
can know is a clearly marked placeholder. The draft holds counts, codes and the source's id: no
customer id and no personal value (the customer list is ``customers.csv``, for the store only).

Both renderings come from one list of blocks, so they always say the same thing; the HTML escapes
every value through ``core.html.el``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from shopshield.breach import warnings
from shopshield.breach.service import Scope
from shopshield.core.html import Html, el, fragment

PLACEHOLDER: Final = "TO BE COMPLETED · 待填写"
# Characters that would turn a value into formatting, a link or a table cell (no value here starts a
# line, so line-start markers need no escape).
_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|])")


@dataclass(frozen=True, slots=True)
class Todo:
    """Text only the people handling the incident can write."""

    what: str


Inline = str | Todo


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True, slots=True)
class Para:
    parts: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Para | Bullets | Table


def para(*parts: Inline) -> Para:
    return Para(parts)


def blocks(scope: Scope) -> list[Block]:
    """The report's content, section by section."""
    q = scope.query
    window = f"from {_local(q.since, scope)} to {'now' if q.until is None else _local(q.until, scope)}"
    source = q.actor_id if q.actor_kind is None else f"{q.actor_id} ({q.actor_kind})"
    counts = scope.category_counts()
    present = {c.code for c, _n in counts}
    queued = scope.warnings
    out: list[Block] = [
        Heading("Personal information breach report — draft · 个人信息泄露事件报告（草稿）", 1),
        para(
            f"Drafted by ShopShield from its access log on {_local(scope.generated_at, scope)} (times in {q.tz.key}). "
            "The sections follow what PIPL Art. 57 and GDPR Art. 33(3) require a notification to contain. "
            f"Figures come from the log; every passage marked [{PLACEHOLDER}] can only be written by the people "
            "handling the incident. Review the whole draft before it is sent."
        ),
        Heading("1. Summary · 概述"),
        Table(
            ("item · 项目", "value · 内容"),
            (
                ("Case · 事件编号", q.case_id),
                ("Window examined · 时间范围", window),
                ("Source · 来源", source),
                ("Customers affected · 受影响的个人", str(len(scope.customers))),
                ("Access events (records read) · 访问记录", str(scope.events)),
                ("Orders accessed · 涉及订单", str(scope.orders)),
                (
                    "Warnings queued · 已排队的提醒",
                    "none yet" if queued is None else str(queued.queued + queued.already_queued),
                ),
            ),
        ),
        Heading("2. Nature of the breach, categories and numbers · 事件性质、个人信息种类与数量"),
        para("PIPL Art. 57(1) (categories of personal information involved); GDPR Art. 33(3)(a)."),
        para(
            f"In the window {window}, the account {source} accessed the personal information of {len(scope.customers)} "
            f"customers through ShopShield, in {scope.events} recorded accesses. The approximate number of data "
            f"subjects concerned is {len(scope.customers)}; the approximate number of records concerned is "
            f"{scope.events} (one access event is one read of one customer's record)."
        ),
        Table(
            ("category", "类别", "customers · 人数"),
            tuple((c.label, c.label_zh, str(n)) for c, n in counts),
        ),
        para("Customers per field as recorded in the access log:"),
        Table(("field · 字段", "customers · 人数"), tuple((name, str(n)) for name, n in scope.field_counts())),
    ]
    if scope.canaries:
        out.append(
            para(
                f"The source also reached {len(scope.canaries)} canary records (decoys planted by the store to trace "
                "leaks). They are not people and are not counted above."
            )
        )
    out.append(
        para(
            Todo(
                "how the information left the store after these accesses (copied, exported, photographed, sold) "
                "and whether data outside ShopShield is involved"
            )
        )
    )
    out += [Heading("3. Cause · 原因"), para("PIPL Art. 57(1) (cause).")]
    cause: list[Inline] = [f"The accesses were made under the account {source}. "]
    if q.suspect is not None:
        s = q.suspect
        cause.append(
            f"ShopShield's leak-source attribution over the scam reports found this account the likely source "
            f"({s.likely_source}): it accessed {s.victims_covered} of {s.victims_total} scam victims before they "
            f"were contacted (p = {s.p_value:.1e}). {s.explanation} "
        )
    cause.append(
        Todo(
            "how the account came to misuse its access (an insider, stolen credentials, a partner system) "
            "and since when"
        )
    )
    out.append(Para(tuple(cause)))
    out += [
        Heading("4. Likely consequences and possible harm · 可能造成的危害"),
        para("PIPL Art. 57(1) (possible harm); GDPR Art. 33(3)(c)."),
        Bullets(tuple((line,) for line in _harms(present))),
        para(Todo("the assessment of severity, and the scam reports received so far (see the scam case file)")),
        Heading("5. Measures taken and proposed · 已采取和拟采取的补救措施"),
        para("PIPL Art. 57(2) (remedial measures taken); GDPR Art. 33(3)(d)."),
        Bullets(
            (
                (
                    (
                        f"An anti-scam warning is queued for each of the {queued.queued + queued.already_queued} "
                        f"customers under case {q.case_id} (the text is in the annex). It is sent when the store's "
                        "notification channel is in place."
                    )
                    if queued is not None
                    else "No warnings are queued yet for this case.",
                ),
                (
                    "Every access counted here, and the running of this scope, is recorded in ShopShield's "
                    "tamper-evident access log; its integrity can be checked with the command shopshield audit verify.",
                ),
                (
                    Todo(
                        "access of the account revoked or the principal disabled (date), partner measures, "
                        "police report"
                    ),
                ),
            )
        ),
        Heading("6. What customers can do · 个人可以采取的减轻危害的措施"),
        para("PIPL Art. 57(2) (measures individuals can take to mitigate harm)."),
        para(warnings.MESSAGE_ZH),
        para(warnings.MESSAGE_EN),
        Heading("7. Contact · 联系方式"),
        para("PIPL Art. 57(3) (contact information of the handler); GDPR Art. 33(3)(b) (DPO or other contact point)."),
        para(Todo("the personal information protection officer or DPO: name, telephone, e-mail, postal address")),
        Heading("8. Before sending · 发送前须知"),
        Bullets(
            (
                (
                    "GDPR Art. 33(1): notify the supervisory authority without undue delay and, where feasible, "
                    "within 72 hours of becoming aware of the breach; Art. 33(4) allows the information in phases; "
                    "Art. 34 covers telling the data subjects themselves.",
                ),
                (
                    "PIPL Art. 57: take remedial measures at once and notify the authorities that perform personal "
                    "information protection duties and the individuals concerned; individuals need not be notified "
                    "when the measures taken effectively avoid harm, unless the authorities require it.",
                ),
                (
                    "This draft names no customer. The list of affected customers (ids and fields, no values) is "
                    "customers.csv beside it, for the store's own use.",
                ),
            )
        ),
        Heading("Annex: the warning · 附件：提醒内容"),
        para(f"Template {warnings.TEMPLATE}, reason code {warnings.REASON}; it contains no personal data."),
        para(warnings.MESSAGE_ZH),
        para(warnings.MESSAGE_EN),
    ]
    return out


def _harms(present: set[str]) -> list[str]:
    lines = []
    if {"name", "contact"} <= present:
        lines.append(
            "Calls and messages that address customers by name while posing as the store's customer service or "
            "another trusted party."
        )
    if "purchases" in present:
        lines.append(
            "Convincing pretexts built on real orders (the item, its price, when it was bought, a return in "
            "progress), as in the 2016 fake-refund scams, leading customers to hand over bank card details and SMS "
            "codes."
        )
    if "address" in present:
        lines.append("Fraud and harassment that use the delivery address, such as fake parcels or visits.")
    if "id_number" in present:
        lines.append(
            "Identity fraud with the resident identity card number, such as accounts opened in the customer's name."
        )
    if not lines:
        lines.append("Misuse of the information listed in section 2.")
    return lines


def _local(moment: datetime, scope: Scope) -> str:
    return moment.astimezone(scope.query.tz).strftime("%Y-%m-%d %H:%M %z")


# -- Markdown ------------------------------------------------------------------------------------


def markdown(scope: Scope) -> str:
    lines: list[str] = []
    for block in blocks(scope):
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + _md(block.text), ""]
        elif isinstance(block, Para):
            lines += [_md_inline(block.parts), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md_inline(item)}" for item in block.items] + [""]
        else:
            lines.append("| " + " | ".join(_md(h) for h in block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in block.rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md(text: str) -> str:
    # Values (ids, codes) may hold characters Markdown would read as formatting or table cells.
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _md_inline(parts: Sequence[Inline]) -> str:
    return "".join(f"**\\[{PLACEHOLDER}: {_md(p.what)}\\]**" if isinstance(p, Todo) else _md(p) for p in parts)


# -- HTML ----------------------------------------------------------------------------------------

_STYLE: Final = """
body { font: 15px/1.55 system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2rem auto; max-width: 60rem;
  padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccd; font-size: 1.15rem; }
table { border-collapse: collapse; margin: .6rem 0; } th, td { border: 1px solid #ccd; padding: .25rem .6rem;
  text-align: left; vertical-align: top; } th { background: #eef0f4; }
mark { background: #fde68a; padding: 0 .2rem; }
"""


def html(scope: Scope) -> str:
    body = [_html_block(block) for block in blocks(scope)]
    head = el(
        "head",
        Html('<meta charset="utf-8">'),
        # Nothing may load or run, even if a value ever got past escaping.
        Html("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"),
        el("title", f"Breach report draft, case {scope.query.case_id}"),
        el("style", Html(_STYLE)),
    )
    return "<!DOCTYPE html>\n" + el("html", head, el("body", *body), lang="en") + "\n"


def _html_block(block: Block) -> Html:
    if isinstance(block, Heading):
        return el(f"h{block.level}", block.text)
    if isinstance(block, Para):
        return el("p", _html_inline(block.parts))
    if isinstance(block, Bullets):
        return el("ul", *(el("li", _html_inline(item)) for item in block.items))
    head = el("thead", el("tr", *(el("th", h) for h in block.headers)))
    return el("table", head, el("tbody", *(el("tr", *(el("td", cell) for cell in row)) for row in block.rows)))


def _html_inline(parts: Sequence[Inline]) -> Html:
    return fragment(
        *(el("mark", f"[{PLACEHOLDER}: {p.what}]") if isinstance(p, Todo) else el("span", p) for p in parts)
    )
