"""Figure 3: the label-smoothed logistic loss (K = 2) for several alpha, from the closed form.

With Eq. 1 and K = 2 the positive class gets 1 - alpha and the negative one alpha, so for a
logit margin z the loss is (1 - alpha) * softplus(-z) + alpha * softplus(z); alpha = 0 is the
standard logistic loss. For alpha > 0 it has a finite minimum at z = log((1 - alpha) / alpha),
where it equals the binary entropy of alpha: confident predictions are penalised.
"""

import matplotlib.pyplot as plt
import numpy as np

ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.3)


def smoothed_logistic_loss(z, alpha: float):
    z = np.asarray(z, dtype=float)
    return (1 - alpha) * np.logaddexp(0, -z) + alpha * np.logaddexp(0, z)


def figure(inputs) -> plt.Figure:
    """From the closed form: reads nothing."""
    z = np.linspace(-6, 8, 400)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for alpha in ALPHAS:
        style = {"color": "black", "linestyle": ":"} if alpha == 0 else {}
        ax.plot(z, smoothed_logistic_loss(z, alpha), label=f"α = {alpha:g}", **style)
        if alpha > 0:
            zmin = np.log((1 - alpha) / alpha)
            ax.plot(zmin, smoothed_logistic_loss(zmin, alpha), "o", ms=3, color="grey")
    ax.set_xlabel("logit margin z (positive class)")
    ax.set_ylabel("loss")
    ax.set_title("Label smoothing on the logistic loss (K = 2)")
    ax.legend()
    ax.set_ylim(0, 6)
    return fig
