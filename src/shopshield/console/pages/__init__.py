"""The console's pages, one module each, registered on the console's router as they are imported.

A new page is a module here (functions decorated with ``views.page``), a template in
``templates/``, its name in the import below and, if it is in the navigation, its path in
``NAVIGATION``: the order a person reads the console in, and the first page the role may open is
where a login lands.
"""

from shopshield.console.pages import (
    audit,
    breach,
    canaries,
    channels,
    customers,
    investigation,
    logins,
    notifications,
    overview,
    scam_reports,
)
from shopshield.console.views import order_navigation, router

NAVIGATION = (
    "/overview",
    "/investigation",
    "/scam-reports",
    "/customers",
    "/audit",
    "/logins",
    "/canaries",
    "/breach",
    "/notifications",
    "/channels",
)
order_navigation(NAVIGATION)

__all__ = [
    "NAVIGATION",
    "audit",
    "breach",
    "canaries",
    "channels",
    "customers",
    "investigation",
    "logins",
    "notifications",
    "overview",
    "router",
    "scam_reports",
]
