"""Global explanations: what the model does overall (partial dependence, ALE, importance with intervals)."""

from .ale import accumulated_local_effects
from .displays import AccumulatedLocalEffectsDisplay, ImportanceDisplay, PartialDependenceDisplay
from .importance import importance
from .pdp import partial_dependence
from .results import AccumulatedLocalEffects, Importance, PartialDependence

__all__ = ["partial_dependence", "PartialDependence", "accumulated_local_effects", "AccumulatedLocalEffects",
           "importance", "Importance", "PartialDependenceDisplay", "AccumulatedLocalEffectsDisplay",
           "ImportanceDisplay"]
