"""Imports every table module so the metadata is complete (for Alembic and for tests)."""

from shopshield.access import models as access_models
from shopshield.alerts import models as alerts_models
from shopshield.audit import models as audit_models
from shopshield.breach import models as breach_models
from shopshield.canary import models as canary_models
from shopshield.channels import models as channels_models
from shopshield.console import models as console_models
from shopshield.keys import models as keys_models
from shopshield.notify import models as notify_models
from shopshield.principals import models as principals_models
from shopshield.scams import models as scams_models
from shopshield.selfservice import models as selfservice_models
from shopshield.tickets import models as tickets_models
from shopshield.vault import models as vault_models

MODULES = (
    access_models,
    alerts_models,
    audit_models,
    breach_models,
    canary_models,
    channels_models,
    console_models,
    keys_models,
    notify_models,
    principals_models,
    scams_models,
    selfservice_models,
    tickets_models,
    vault_models,
)
