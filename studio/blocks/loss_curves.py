"""What each loss costs one sample, as a function of one prediction with the target fixed: the
curves the inspector draws with their derivatives (the gradient the loss sends back).

Each function takes a numpy array ``x`` (the prediction along the plot's axis) and the node's
parameter values ``p`` and returns ``{label: loss}``, one curve per case worth seeing apart
(each target class with its weight, a target of 1 and of 0, ...). The values are the per-sample
loss torch computes (``reduction='none'``), so class weights and label smoothing show as the
loss does them; ``tests/test_loss_curves.py`` checks every curve against torch.
"""

from __future__ import annotations

import numpy as np

from studio.core.roles import InspectorPlot

CLASSES = 3  # classes drawn when the loss has no class weights to say how many


def _softplus(x):
    return np.logaddexp(0.0, x)


def _weights(p) -> tuple:
    return tuple(p.weight) if p.weight else (1.0,) * CLASSES


def _class_label(c: int, weights) -> str:
    weighted = f", weight {weights[c]:g}" if len(set(weights)) > 1 else ""
    return f"target class {c} of {len(weights)}{weighted}"


def cross_entropy(x, p) -> dict:
    """The right class's score is x, every other class's 0: minus log-softmax, smoothed and
    weighted as torch does (smoothing spreads ``eps / K`` of the target over all classes, each
    term weighted by its own class's weight)."""
    weights, eps = _weights(p), p.label_smoothing
    k = len(weights)
    log_norm = np.logaddexp(x, np.log(k - 1)) if k > 1 else x
    minus_log_right, minus_log_other = log_norm - x, log_norm
    out = {}
    for c, w in enumerate(weights):
        others = sum(weights) - w
        smooth = eps / k * (w * minus_log_right + others * minus_log_other)
        out[_class_label(c, weights)] = (1 - eps) * w * minus_log_right + smooth
        if len(set(weights)) == 1:
            break
    return out


def negative_log_likelihood(x, p) -> dict:
    """x is the log-probability the model gives the right class."""
    weights = _weights(p)
    curves = {_class_label(c, weights): -w * x for c, w in enumerate(weights)}
    return dict(list(curves.items())[:1]) if len(set(weights)) == 1 else curves


def multi_margin(x, p) -> dict:
    """The right class's score is x, the others' 0: each wrong class costs the margin the right
    one still lacks (to the power p), averaged over all K classes."""
    weights = _weights(p)
    k = len(weights)
    hinge = np.maximum(0.0, p.margin - x) ** int(p.p) * (k - 1) / k
    curves = {_class_label(c, weights): w * hinge for c, w in enumerate(weights)}
    return dict(list(curves.items())[:1]) if len(set(weights)) == 1 else curves


def l1(x, p) -> dict:
    return {"target 0": np.abs(x)}


def mse(x, p) -> dict:
    return {"target 0": x * x}


def smooth_l1(x, p) -> dict:
    a, beta = np.abs(x), p.beta
    if beta == 0:
        return {"target 0": a}
    return {"target 0": np.where(a < beta, 0.5 * x * x / beta, a - 0.5 * beta)}


def huber(x, p) -> dict:
    a, d = np.abs(x), p.delta
    return {"target 0": np.where(a <= d, 0.5 * x * x, d * (a - 0.5 * d))}


def _first_weight(values) -> float:
    return float(values[0]) if values else 1.0


def bce(x, p) -> dict:
    """x is the predicted probability (torch clamps the log at -100)."""
    w = _first_weight(p.weight)
    return {"target 1": -w * np.maximum(np.log(x), -100.0),
            "target 0": -w * np.maximum(np.log1p(-x), -100.0)}


def bce_with_logits(x, p) -> dict:
    """x is the raw score; a positive target's loss is scaled by pos_weight."""
    w, pos = _first_weight(p.weight), _first_weight(p.pos_weight)
    return {"target 1" + (f" (pos_weight {pos:g})" if pos != 1 else ""): w * pos * _softplus(-x),
            "target 0": w * _softplus(x)}


KL_TARGET = 0.75  # the target's probability of the first of two outcomes


def kl_divergence(x, p) -> dict:
    """Two outcomes; the model gives the first probability x, the target 0.75: the KL is zero
    only where the model agrees."""
    q = np.array([KL_TARGET, 1 - KL_TARGET])
    kl = q[0] * (np.log(q[0]) - np.log(x)) + q[1] * (np.log(q[1]) - np.log1p(-x))
    return {f"target ({q[0]:g}, {q[1]:g})": kl}


def gaussian_kl(x, p) -> dict:
    """One latent dimension: against its mean with log-variance 0, and against its
    log-variance with mean 0."""
    return {"against mu (logvar 0)": 0.5 * x * x,
            "against logvar (mu 0)": -0.5 * (1 + x - np.exp(x))}


def cosine_embedding(x, p) -> dict:
    """x is the cosine of the two embeddings."""
    return {"similar (target 1)": 1 - x,
            "dissimilar (target -1)": np.maximum(0.0, x - p.margin)}


def margin_ranking(x, p) -> dict:
    """x is input1 - input2; target 1 wants it positive by the margin."""
    return {"target 1": np.maximum(0.0, p.margin - x)}


def triplet_margin(x, p) -> dict:
    """x is d(anchor, positive) - d(anchor, negative)."""
    return {"triplet": np.maximum(0.0, x + p.margin)}


def gan(x, p) -> dict:
    """x is the discriminator's score (logit) of one sample."""
    if p.mode == "least_squares":
        if p.role == "discriminator":
            return {"fake sample": 0.5 * x * x, "real sample": 0.5 * (x - 1) ** 2}
        return {"generator": 0.5 * (x - 1) ** 2}
    if p.role == "discriminator":
        return {"fake sample": _softplus(x), "real sample": _softplus(-x)}
    if p.mode == "minimax":
        return {"generator (minimax)": -_softplus(x)}
    return {"generator (non-saturating)": _softplus(-x)}


def loss_plot(curve, axis: str, x_range=(-4.0, 4.0)) -> InspectorPlot:
    return InspectorPlot(curve, x_range=x_range, x_label=axis, y_label="loss")


SCORE = "the right class's score (the others' 0)"
PROBABILITY = (0.005, 0.995)
PLOTS = {
    "CrossEntropy": loss_plot(cross_entropy, SCORE, (-6.0, 6.0)),
    "NLL": loss_plot(negative_log_likelihood, "log-probability of the right class", (-5.0, 0.0)),
    "MultiMargin": loss_plot(multi_margin, SCORE),
    "L1": loss_plot(l1, "prediction"),
    "MSE": loss_plot(mse, "prediction"),
    "SmoothL1": loss_plot(smooth_l1, "prediction"),
    "Huber": loss_plot(huber, "prediction"),
    "BCE": loss_plot(bce, "predicted probability", PROBABILITY),
    "BCEWithLogits": loss_plot(bce_with_logits, "score (logit)", (-6.0, 6.0)),
    "KLDiv": loss_plot(kl_divergence, "model's probability of the first outcome", PROBABILITY),
    "GaussianKL": loss_plot(gaussian_kl, "mu or logvar"),
    "CosineEmbedding": loss_plot(cosine_embedding, "cosine of the two embeddings", (-1.0, 1.0)),
    "MarginRanking": loss_plot(margin_ranking, "input1 - input2"),
    "TripletMargin": loss_plot(triplet_margin, "d(anchor, positive) - d(anchor, negative)"),
    "GANLoss": loss_plot(gan, "discriminator's score (logit)", (-6.0, 6.0)),
}
