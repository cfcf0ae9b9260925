"""A single sigmoid unit a*sigma(w.x + b): no closed form, but gradient training fits it.

Run: python examples/mlp_sigmoid.py
"""
from mlopt.mlp.sigmoid import fit_sigmoid_unit, make_sigmoid_data

X, y, (a, w, b) = make_sigmoid_data(n=100, d=2, random_state=0)
(a_hat, w_hat, b_hat), history = fit_sigmoid_unit(X, y)
print(f"loss: start {history[0]:.4g}, after Adam {history[-2]:.4g}, after L-BFGS {history[-1]:.3g}")
print(f"teacher a={a:.4f} w={w} b={b:.4f}")
print(f"fitted  a={a_hat:.4f} w={w_hat} b={b_hat:.4f}")
