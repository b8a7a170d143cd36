"""Every package's models, imported so the metadata is complete (for Alembic and tests). An
import, not a list of names loaded by string: the import graph, and so the layering contract,
sees which packages the registry reaches."""

from __future__ import annotations

from sqlalchemy import MetaData

import appointments.models
import enrollment.models
import fees.models
import fulfilment.models
import holder.models
import idcard.models
import notifications.models
import oversight.models
import partners.models
import privacy.models
import redemption.models
import sites.models
import staff.models
from cityid.db import Base

MODEL_MODULES = (privacy.models, partners.models, staff.models, sites.models, enrollment.models,
                 notifications.models, idcard.models, fees.models,
                 fulfilment.models, redemption.models,
                 holder.models, appointments.models, oversight.models)


def import_all_models() -> MetaData:
    """The metadata with every table; importing this module has already loaded them."""
    return Base.metadata
