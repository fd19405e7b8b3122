"""The customer pages' templates: one Jinja2 environment, autoescaping every value, loaded from the
package's own ``templates/``, set up as the console's is (``console/render.py``); and the one
stylesheet, read once and served from memory (nothing is fetched at run time)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE: Final = Path(__file__).parent
TEMPLATES: Final = HERE / "templates"
STYLESHEET: Final = HERE / "static" / "me.css"


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


@functools.cache
def stylesheet() -> bytes:
    return STYLESHEET.read_bytes()
