"""BG/NBD and Gamma-Gamma models, fitted by maximum likelihood on numpy/scipy.

One model a module, in the manner of PyMC-Marketing's ``clv.models``:

- :mod:`.beta_geo`: :class:`BetaGeoModel` (BG/NBD, Fader, Hardie & Lee 2005a);
- :mod:`.pareto_nbd`: :class:`ParetoNBDModel` (Pareto/NBD, Schmittlein, Morrison & Colombo
  1987);
- :mod:`.gamma_gamma`: :class:`GammaGammaModel` (Fader, Hardie & Lee 2005b; Fader & Hardie
  2013);
- :mod:`.shifted_beta_geo`: :class:`ShiftedBetaGeoModel` (sBG, Fader & Hardie 2007), retention
  of subscription (contractual) customers;
- :mod:`.basic`: what they share: the errors, input checks and the L-BFGS-B optimiser.

Both models fit on log-parameters with L-BFGS-B and analytic gradients, over the distinct
data rows weighted by their counts, so that a million customers fit in well under a second.
"""

from __future__ import annotations

from dashboard.domain.clv.models.basic import (
    ModelConvergenceError,
    ModelIdentificationError,
    NotFittedError,
)
from dashboard.domain.clv.models.beta_geo import BetaGeoModel
from dashboard.domain.clv.models.gamma_gamma import GammaGammaModel
from dashboard.domain.clv.models.pareto_nbd import ParetoNBDModel
from dashboard.domain.clv.models.shifted_beta_geo import ShiftedBetaGeoModel

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ModelConvergenceError",
    "ModelIdentificationError",
    "NotFittedError",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
]
