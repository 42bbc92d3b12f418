"""Equality-constrained optimization family demo (AdaSketch-Newton, ``minimize_eq``)."""

from . import DemoRow, timed

FAMILY = "alm_sketch"


def _slsqp(p):
    from scipy.optimize import minimize

    return minimize(p.fun, p.x0, jac=p.grad, method="SLSQP", options={"ftol": 1e-12, "maxiter": 500},
                    constraints=[{"type": "eq", "fun": p.cons_fun, "jac": p.cons_jac}])


def _row(p, problem, f_ref_fn, reference, **kw):
    from ..optimize import minimize_eq

    res, seconds = timed(minimize_eq, p.fun, p.x0, **p.minimize_kwargs(), tol=1e-6, random_state=0, **kw)
    ref, ref_seconds = timed(f_ref_fn, p)
    f_ref = p.f_opt if p.f_opt is not None else float(ref.fun)
    rel = abs(res.fun - f_ref) / max(1.0, abs(f_ref))
    return DemoRow(family=FAMILY, problem=problem, solver=f"minimize_eq (gaussian_block sketch, {res.nit} Newton it.)",
                   seconds=seconds, reference=reference, reference_seconds=ref_seconds,
                   accuracy=f"KKT residual {res.kkt:.1e}, objective rel. error {rel:.1e}",
                   ok=bool(res.success and res.kkt <= 1e-6 and rel <= 1e-6), research=True)


def hs_demo():
    """Hock-Schittkowski HS100LNP (n=7, m=2) from its standard start, against the published optimum."""
    from ..datasets import load_constrained_problem

    p = load_constrained_problem("HS100LNP")
    return _row(p, "HS100LNP (n=7, m=2), published optimum", _slsqp,
                "SciPy SLSQP (timed); objective vs the published optimum 680.6300573")


def logistic_demo():
    """Logistic regression on breast_cancer with 10 linear and a unit-norm constraint, against SciPy trust-constr."""
    from scipy.optimize import NonlinearConstraint, minimize

    from ..datasets import make_constrained_logistic

    p = make_constrained_logistic("breast_cancer", random_state=0)

    def trust_constr(p):
        cons = NonlinearConstraint(p.cons_fun, 0.0, 0.0, jac=p.cons_jac, hess=p.cons_hess)
        return minimize(p.fun, p.x0, jac=p.grad, hess=p.hess, method="trust-constr", constraints=[cons],
                        options={"gtol": 1e-10, "xtol": 1e-10, "maxiter": 3000})

    return _row(p, "constrained logistic, breast_cancer (n=30, m=11)", trust_constr,
                "SciPy trust-constr (exact Hessians, gtol 1e-10)", v0=p.v0)


DEMOS = [hs_demo, logistic_demo]
