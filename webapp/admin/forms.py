"""The retrain form (WTForms): which likes file, "tune first" or chosen parameters.

Defaults come from :mod:`training.wrmf`, the one place that holds them; the
template renders the fields, so the page shows the same defaults.
"""

import argparse

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from training.core.arg_types import factor_count, iteration_count, weight
from training.core.params import DEFAULT_ITERATIONS, MAX_FACTORS, MAX_ITERATIONS, MAX_WEIGHT, Params

DEFAULTS = Params()
PARAMETERS = ("factors", "regularization", "alpha", "iterations")


def accepted_by(parse):
    """A validator: the value must pass ``parse``, the command line's parser of the same
    option, so the form accepts exactly what ``python -m training fit`` does."""

    def validate(form, field):
        if field.data is not None:
            try:
                parse(str(field.data))
            except argparse.ArgumentTypeError as e:
                raise ValidationError(str(e)) from None

    return validate


class RetrainForm(FlaskForm):
    """Fields of ``POST /admin/jobs``; parameters are checked only when ``mode`` is ``params``."""

    likes = SelectField("Likes file", validate_choice=True)
    mode = RadioField(
        "Parameters",
        choices=[
            SelectChoice("tune", "Tune first (small search, then fit the best)"),
            SelectChoice("params", "These parameters:"),
        ],
        default="tune",
    )
    strategy = RadioField(
        "Search",
        choices=[
            SelectChoice("halving", "Successive halving (stops most configurations early)"),
            SelectChoice("grid", "Full grid (every configuration to the last epoch)"),
        ],
        default="halving",
    )
    factors = IntegerField(
        "factors",
        default=DEFAULTS.factors,
        validators=[InputRequired(), accepted_by(factor_count)],
        render_kw={"min": 1, "max": MAX_FACTORS},
    )
    regularization = FloatField(
        "regularization",
        default=DEFAULTS.regularization,
        validators=[InputRequired(), accepted_by(weight)],
        render_kw={"min": 0, "max": MAX_WEIGHT, "step": "any"},
    )
    alpha = FloatField(
        "alpha",
        default=DEFAULTS.alpha,
        validators=[InputRequired(), accepted_by(weight)],
        render_kw={"min": 0, "max": MAX_WEIGHT, "step": "any"},
    )
    iterations = IntegerField(
        "iterations",
        default=DEFAULT_ITERATIONS,
        validators=[InputRequired(), accepted_by(iteration_count)],
        render_kw={"min": 1, "max": MAX_ITERATIONS},
    )
    activate = BooleanField("Activate when done", default=True)
    hearts = BooleanField("Add visitors' hearts to the likes", default=False)

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
