source benchmarks/device/setup_env.sh 1 >/dev/null 2>&1
head -2 $OUT/machine.txt
timeout 60 $PY benchmarks/device/cold.py --gb 8 2>&1 | tee $OUT/cold.txt
timeout 120 $PY - <<'PY' 2>&1 | tee $OUT/coldwarm.txt
import time, torch, mlopt
from mlopt.datasets import make_classification
from mlopt.structured import fit_objective
X, y, _ = make_classification(1000000, 1000, flip=0.1, random_state=0)
obj = mlopt.LogisticRegression(C=1.0).get_objective(X, y)
torch.zeros(1, device="cuda"); torch.cuda.synchronize()
for label in ("cold", "warm", "warm"):
    t = time.perf_counter(); c, b, info = fit_objective(obj, device="cuda"); torch.cuda.synchronize()
    print(label, round(time.perf_counter() - t, 3), info["iterations"], round(info["setup_time"], 3), {k: round(v, 3) for k, v in info["timings"].items()}, flush=True)
PY
