"""What the models share: the error hierarchy, unfitted models, parameter validation."""

from __future__ import annotations

import pytest

from dashboard.domain.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModelConvergenceError,
    ModelIdentificationError,
    NotFittedError,
)


def test_model_identification_error_is_a_value_error():
    assert issubclass(ModelIdentificationError, ValueError)
    assert issubclass(ModelConvergenceError, ModelIdentificationError)


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError, match="call fit"):
        BetaGeoModel().probability_alive([1], [1.0], [2.0])
    with pytest.raises(NotFittedError, match="call fit"):
        GammaGammaModel().expected_spend([1], [10.0])


def test_from_params_validates():
    with pytest.raises(ValueError, match="lacks"):
        BetaGeoModel.from_params({"r": 1.0, "alpha": 1.0, "a": 1.0})
    with pytest.raises(ValueError, match="positive"):
        GammaGammaModel.from_params({"p": 1.0, "q": -1.0, "v": 1.0})
