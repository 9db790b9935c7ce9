r"""The playground: a small network trained on a 2-D data set, one session per browser tab.

* :mod:`~nnlearn.web.playground.settings`: what the page may choose and its checks;
  :class:`Settings`, one experiment.
* :mod:`~nnlearn.web.playground.session`: :class:`Session`, the data, network and trainer of
  one tab, and what the page draws of them: the output over the square as a heat map (the
  decision boundary), every neuron's output as a small heat map, the weights, the loss
  curves, and, for one point, each layer's z, a, δ and the gradients of its incoming weights
  and biases, i.e. the book's equations with numbers::

      δᴸ = ∇ₐC ⊙ f'(zᴸ)                     (BP1)
      δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ f'(zˡ)          (BP2)
      ∂C/∂bˡⱼ = δˡⱼ                          (BP3)
      ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ                   (BP4)

* :mod:`~nnlearn.web.playground.pool`: :class:`SessionPool`, which bounds the number of live
  sessions and frees idle ones.

Everything here is NumPy and nnlearn; the web server only calls it.
"""

from nnlearn.web.playground.pool import PoolFull, SessionPool
from nnlearn.web.playground.session import (BOUNDARY_RESOLUTION, Segment, Session, build_network,
                                            dataset_previews, json_safe, penalty)
from nnlearn.web.playground.settings import MAX_CLASSES, RULES, Settings, limits, parse_settings

__all__ = ["BOUNDARY_RESOLUTION", "MAX_CLASSES", "RULES", "PoolFull", "Segment", "Session",
           "SessionPool", "Settings", "build_network", "dataset_previews", "json_safe", "limits",
           "parse_settings", "penalty"]
