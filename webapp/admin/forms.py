"""The retrain form (WTForms): which likes file, "tune first" or chosen parameters.

Defaults come from :mod:`training.wrmf`, the one place that holds them; the
template renders the fields, so the page shows the same defaults.
"""

import math

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError

from training.core import DEFAULT_ITERATIONS, Params

DEFAULTS = Params()
PARAMETERS = ("factors", "regularization", "alpha", "iterations")


def finite(form, field):
    """Refuse ``inf`` and ``nan``, which FloatField accepts."""
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError("must be a finite number")


class RetrainForm(FlaskForm):
    """Fields of ``POST /admin/jobs``; parameters are checked only when ``mode`` is ``params``."""

    likes = SelectField("Likes file", validate_choice=True)
    mode = RadioField(
        "Parameters",
        choices=[
            SelectChoice("tune", "Tune first (small grid search, then fit the best)"),
            SelectChoice("params", "These parameters:"),
        ],
        default="tune",
    )
    factors = IntegerField(
        "factors", default=DEFAULTS.factors, validators=[InputRequired(), NumberRange(min=1)]
    )
    regularization = FloatField(
        "regularization",
        default=DEFAULTS.regularization,
        validators=[InputRequired(), NumberRange(min=0), finite],
    )
    alpha = FloatField(
        "alpha", default=DEFAULTS.alpha, validators=[InputRequired(), NumberRange(min=0), finite]
    )
    iterations = IntegerField(
        "iterations", default=DEFAULT_ITERATIONS, validators=[InputRequired(), NumberRange(min=1)]
    )
    activate = BooleanField("Activate when done", default=True)

    def validate(self, extra_validators=None):
        """Validate; in "tune" mode the parameter fields are not used, so their errors drop."""
        valid = super().validate(extra_validators)
        if self.mode.data == "tune":
            for name in PARAMETERS:
                self[name].errors = []
            valid = not any(field.errors for field in self)
        return valid

    def first_error(self):
        """``"<field>: <message>"`` of the first invalid field, for one flash line."""
        for field in self:
            if field.errors:
                return f"{field.label.text}: {field.errors[0]}"
        return None
