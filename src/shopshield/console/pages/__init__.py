"""The console's pages, one module each, registered on the console's router as they are imported.

The navigation lists the pages in the order they are imported here. A new page is a module here
(functions decorated with ``views.page``), a template in ``templates/``, and a line below.
"""

from shopshield.console.pages import audit, customers, investigation, logins, overview, scam_reports
from shopshield.console.views import router

__all__ = ["audit", "customers", "investigation", "logins", "overview", "router", "scam_reports"]
