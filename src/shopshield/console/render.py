"""The console's templates: one Jinja2 environment, autoescaping every value, loaded from the
package's own ``templates/`` (nothing is fetched at run time)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE: Final = Path(__file__).parent
TEMPLATES: Final = HERE / "templates"
STATIC: Final = HERE / "static"
STATIC_TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


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
def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file under ``static/`` by name, with its media type: read once, served from memory."""
    return {
        path.name: (path.read_bytes(), STATIC_TYPES[path.suffix])
        for path in sorted(STATIC.iterdir())
        if path.is_file() and path.suffix in STATIC_TYPES
    }
