"""Naive Bayes: Gaussian, Bernoulli and multinomial.

Naive Bayes is additive in log space: the joint log-likelihood of class k is
log P(k) + sum_j log p(x_j | k). Its margin is that joint log-likelihood per
class (the softmax logits); for two classes, the log-odds jll_1 - jll_0, the
same convention as a logistic regression's decision function.
"""

from __future__ import annotations

import numpy as np

from .base import Adapter, class_paths

__all__ = ["NaiveBayesAdapter"]


class NaiveBayesAdapter(Adapter):
    """scikit-learn GaussianNB, BernoulliNB and MultinomialNB (and pipelines ending in one)."""

    family = "naive_bayes"
    native_method = "naive_bayes"
    model_types = ("sklearn.GaussianNB", "sklearn.BernoulliNB", "sklearn.MultinomialNB")

    def setup(self) -> None:
        self.task, self.classes = "classification", np.asarray(self.estimator.classes_)
        self.outputs, self.natural_output = ("margin", "probability"), "margin"
        self.kind = next(p for p in class_paths(self.estimator) if p in self.model_types).split(".")[1]

    def _predict(self, X, output):
        if output == "probability":
            return self.model.predict_proba(self.as_model_input(X))
        jll = self.estimator.predict_joint_log_proba(self.estimator_input(X))
        return jll[:, 1] - jll[:, 0] if len(self.classes) == 2 else jll

    def class_terms(self, Z: np.ndarray) -> np.ndarray:
        """log p(z_j | k) for every row, class and feature: shape (n, n_classes, d)."""
        est = self.estimator
        if self.kind == "GaussianNB":
            var, theta = est.var_[None], est.theta_[None]
            return -0.5 * np.log(2.0 * np.pi * var) - 0.5 * (Z[:, None, :] - theta) ** 2 / var
        if self.kind == "BernoulliNB":
            if est.binarize is not None:
                Z = (Z > est.binarize).astype(float)
            log_p = est.feature_log_prob_[None]
            log_q = np.log1p(-np.exp(est.feature_log_prob_))[None]
            return Z[:, None, :] * log_p + (1.0 - Z[:, None, :]) * log_q
        return Z[:, None, :] * est.feature_log_prob_[None]  # MultinomialNB

    def _scramble(self, estimator, rng):
        names = ("theta_", "var_") if self.kind == "GaussianNB" else ("feature_log_prob_",)
        perms = [rng.permutation(getattr(estimator, names[0]).shape[1]) for _ in self.classes]
        for name in names:
            table = np.array(getattr(estimator, name))
            setattr(estimator, name, np.stack([row[p] for row, p in zip(table, perms)]))
        return True

    def _is_additive(self, output):
        return output == "margin"

    def additive_terms(self, X, output, target):
        terms = self.class_terms(self.transform(X))
        if len(self.classes) == 2:
            diff = terms[:, 1] - terms[:, 0]
            return self.group_terms(diff if target == 1 else -diff)
        return self.group_terms(terms[:, int(target)])

    def describe(self):
        d = super().describe()
        d["naive_bayes"] = self.kind
        return d
