"""A small HTML element builder for the pages ShopShield writes (the scam case file, the breach
report draft): anything that is not markup built here is escaped, so no stored value can become
markup."""

from __future__ import annotations

from html import escape


class Html(str):
    """Markup built by ``el`` from constant tag and attribute names; every other ``str`` is text."""

    __slots__ = ()


def el(tag: str, *children: str | None, **attributes: object) -> Html:
    """``<tag attributes>children</tag>``; text children and every attribute value are escaped.
    ``class_`` gives ``class``, ``text_anchor`` gives ``text-anchor``."""
    attrs = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"' for name, value in attributes.items()
    )
    inner = "".join(child if isinstance(child, Html) else escape(child) for child in children if child is not None)
    return Html(f"<{tag}{attrs}>{inner}</{tag}>")


def fragment(*parts: Html) -> Html:
    """Pieces of markup side by side (typed, so plain text cannot slip in unescaped)."""
    return Html("".join(parts))
