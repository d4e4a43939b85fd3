#!/usr/bin/python3
"""optim.py OUT.lua -- PyTorch's answers for the optimiser and scheduler oracle.

Optimisers: two parameters (w of 5x3, b of 3) trained for 10 steps on
L = sum((w * x + b - y)^2) with torch.optim, every option dl has; the Lua
side (tests/lua/optim_oracle_spec.lua) repeats the steps with dl's
optimisers from the same start and compares the parameters.

Schedulers: the learning rate after construction and after each of 16
epochs (and the momentum, for OneCycleLR), from torch.optim.lr_scheduler.

Two optimisers are checked against a reimplementation here instead of a
torch.optim class:
- Lion is not in torch 1.13: the update of Chen et al. 2023, written with
  torch operations in float32.
- NAdam: torch 1.13 multiplies mu_t into the second term's product twice
  (mu_product * mu * mu_next); PyTorch 2 and Dozat's paper use
  mu_product * mu_next, as dl does. The reimplementation is first checked
  to reproduce torch 1.13 exactly when given 1.13's product, so the two
  differ only in that factor.
"""
import math
import sys

import torch

torch.manual_seed(0)
cases = []


def lua_tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    values = ", ".join("%.9g" % v for v in t.flatten().tolist())
    return "{shape = {%s}, data = {%s}}" % (", ".join(str(s) for s in t.shape), values)


def lua_value(v):
    if isinstance(v, torch.Tensor):
        return lua_tensor(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        return "%.17g" % v
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua_value(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua_value(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


# ---- optimisers -------------------------------------------------------------------

STEPS = 10


def loss_of(w, b, x, y):
    return ((w * x + b - y) ** 2).sum()


def train(step_fn, w, b, x, y):
    """Runs STEPS steps of step_fn(params) after computing the gradients."""
    for _ in range(STEPS):
        for p in (w, b):
            p.grad = None
        loss_of(w, b, x, y).backward()
        with torch.no_grad():
            step_fn()


def optim_case(name, options, make=None, reference=None):
    """make(params, **torch_options) builds a torch optimiser; reference(params)
    returns a step function instead (for the reimplementations)."""
    torch.manual_seed(200 + len(cases))
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    x, y = torch.randn(5, 3), torch.randn(5, 3)
    start = [w.detach().clone(), b.detach().clone()]
    torch_options = dict(options)
    if "betas" in torch_options:
        torch_options["betas"] = tuple(torch_options["betas"])
    if reference is not None:
        step_fn = reference([w, b], **torch_options)
    else:
        opt = (make or getattr(torch.optim, name))([w, b], **torch_options)
        step_fn = opt.step
    train(step_fn, w, b, x, y)
    cases.append(dict(kind="optimizer", name=name, options=options, start=start, x=x, y=y,
                      steps=STEPS, after=[w.detach(), b.detach()]))


def lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    """Lion (Chen et al. 2023): c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p);
    m = b2 m + (1 - b2) g."""
    b1, b2 = betas
    state = [torch.zeros_like(p) for p in params]

    def step():
        for p, m in zip(params, state):
            g = p.grad
            c = b1 * m + (1 - b1) * g
            p.sub_(lr * (torch.sign(c) + weight_decay * p))
            m.mul_(b2).add_((1 - b2) * g)
    return step


def nadam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
          momentum_decay=4e-3, torch113=False):
    """NAdam as PyTorch 2 (torch113: with 1.13's doubled mu_t)."""
    b1, b2 = betas
    state = [dict(step=0, mu_product=1.0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
             for p in params]

    def step():
        for p, s in zip(params, state):
            grad = p.grad + weight_decay * p
            s["step"] += 1
            t = s["step"]
            mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
            mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
            s["mu_product"] *= mu
            product_next = s["mu_product"] * mu_next * (mu if torch113 else 1.0)
            s["exp_avg"].mul_(b1).add_(grad, alpha=1 - b1)
            s["exp_avg_sq"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = (s["exp_avg_sq"] / (1 - b2 ** t)).sqrt() + eps
            p.addcdiv_(grad, denom, value=-lr * (1 - mu) / (1 - s["mu_product"]))
            p.addcdiv_(s["exp_avg"], denom, value=-lr * mu_next / (1 - product_next))
    return step


def check_nadam_reference():
    """The reimplementation with 1.13's product must give torch 1.13's numbers."""
    torch.manual_seed(7)
    start, x, y = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3)
    results = []
    for use_torch in (True, False):
        w = start.clone().requires_grad_(True)
        b = torch.zeros(3, requires_grad=True)
        if use_torch:
            step_fn = torch.optim.NAdam([w, b], lr=0.05, weight_decay=0.1).step
        else:
            step_fn = nadam([w, b], lr=0.05, weight_decay=0.1, torch113=True)
        train(step_fn, w, b, x, y)
        results.append(w.detach())
    assert torch.allclose(results[0], results[1], rtol=1e-5, atol=1e-6), \
        "the NAdam reimplementation does not reproduce torch 1.13"


check_nadam_reference()

optim_case("SGD", {"lr": 0.01})
optim_case("SGD", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01})
optim_case("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True})
optim_case("SGD", {"lr": 0.01, "momentum": 0.5, "dampening": 0.3})
optim_case("SGD", {"lr": 0.01, "momentum": 0.9, "maximize": True})
optim_case("SGD", {"lr": 0.01, "weight_decay": 0.1, "maximize": True})
optim_case("Adam", {"lr": 0.05})
optim_case("Adam", {"lr": 0.05, "betas": [0.8, 0.99], "weight_decay": 0.1})
optim_case("Adam", {"lr": 0.05, "amsgrad": True})
optim_case("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "maximize": True})
optim_case("AdamW", {"lr": 0.05, "weight_decay": 0.1})
optim_case("AdamW", {"lr": 0.05, "amsgrad": True})
optim_case("AdamW", {"lr": 0.05, "maximize": True})
optim_case("RMSprop", {"lr": 0.01})
optim_case("RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01})
optim_case("RMSprop", {"lr": 0.01, "centered": True})
optim_case("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "alpha": 0.9})
optim_case("RMSprop", {"lr": 0.01, "maximize": True})
optim_case("Adagrad", {"lr": 0.1, "lr_decay": 0.01})
optim_case("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.1})
optim_case("Adagrad", {"lr": 0.1, "maximize": True})
optim_case("Adamax", {})
optim_case("Adamax", {"lr": 0.05, "betas": [0.8, 0.9], "weight_decay": 0.1})
optim_case("Adamax", {"lr": 0.05, "maximize": True})
optim_case("Adadelta", {})
optim_case("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "eps": 1e-4})
optim_case("Adadelta", {"lr": 0.5, "maximize": True})
optim_case("RAdam", {"lr": 0.05})
optim_case("RAdam", {"lr": 0.05, "betas": [0.9, 0.9], "weight_decay": 0.1})
optim_case("NAdam", {}, reference=nadam)
optim_case("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}, reference=nadam)
optim_case("Lion", {}, reference=lion)
optim_case("Lion", {"lr": 0.01, "betas": [0.8, 0.95], "weight_decay": 0.5}, reference=lion)

# ---- schedulers -------------------------------------------------------------------

EPOCHS = 16
S = torch.optim.lr_scheduler


def schedule_case(name, options, make, optimizer="SGD", optimizer_options=None, metrics=None,
                  lua_lambda=None, parts=None):
    """lrs after construction and after each of EPOCHS steps; momenta too
    (momentum, or betas[1]) for schedulers that cycle them."""
    optimizer_options = optimizer_options or {"lr": 0.1}
    w = torch.zeros(2, requires_grad=True)
    opt = getattr(torch.optim, optimizer)([w], **optimizer_options)
    sched = make(opt)
    momentum_key = "betas" if "betas" in opt.defaults else "momentum"

    def momentum():
        value = opt.param_groups[0][momentum_key]
        return float(value[0] if momentum_key == "betas" else value)

    lrs, momenta = [opt.param_groups[0]["lr"]], [momentum()]
    for epoch in range(EPOCHS):
        opt.step()
        if metrics is not None:
            sched.step(metrics[epoch])
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(momentum())
    cases.append(dict(kind="scheduler", name=name, options=options, optimizer=optimizer,
                      optimizer_options=optimizer_options, metrics=metrics or [],
                      lua_lambda=lua_lambda or "", parts=parts or [], lrs=lrs, momenta=momenta))


schedule_case("StepLR", {"step_size": 3, "gamma": 0.5}, lambda o: S.StepLR(o, 3, gamma=0.5))
schedule_case("MultiStepLR", {"milestones": [3, 7, 7, 12], "gamma": 0.3},
              lambda o: S.MultiStepLR(o, [3, 7, 7, 12], gamma=0.3))
schedule_case("ExponentialLR", {"gamma": 0.8}, lambda o: S.ExponentialLR(o, 0.8))
schedule_case("CosineLR", {"t_max": 2}, lambda o: S.CosineAnnealingLR(o, 2))
schedule_case("CosineAnnealingLR", {"t_max": 5, "eta_min": 0.01},
              lambda o: S.CosineAnnealingLR(o, 5, eta_min=0.01))
schedule_case("LambdaLR", {}, lambda o: S.LambdaLR(o, lambda e: 0.95 ** e),
              lua_lambda="return function(e) return 0.95 ^ e end")
schedule_case("LambdaLR", {}, lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1) if e < 8 else 0.5),
              lua_lambda="return function(e) if e < 8 then return 1 / (e + 1) end return 0.5 end")
schedule_case("LinearLR", {"start_factor": 0.25, "total_iters": 4},
              lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4))
schedule_case("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 10},
              lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10))
schedule_case("CosineAnnealingWarmRestarts", {"t_0": 4},
              lambda o: S.CosineAnnealingWarmRestarts(o, 4))
schedule_case("CosineAnnealingWarmRestarts", {"t_0": 3, "t_mult": 2, "eta_min": 0.001},
              lambda o: S.CosineAnnealingWarmRestarts(o, 3, T_mult=2, eta_min=0.001))
# 17 rates: torch lets the 17th step (total_steps) extrapolate past the
# schedule, even to a negative rate; dl refuses that step.
schedule_case("OneCycleLR", {"max_lr": 1.0, "total_steps": 17},
              lambda o: S.OneCycleLR(o, 1.0, total_steps=17),
              optimizer_options={"lr": 0.1, "momentum": 0.9})
schedule_case("OneCycleLR", {"max_lr": 0.5, "epochs": 6, "steps_per_epoch": 3, "three_phase": True,
                             "anneal_strategy": "linear", "pct_start": 0.25},
              lambda o: S.OneCycleLR(o, 0.5, epochs=6, steps_per_epoch=3, three_phase=True,
                                     anneal_strategy="linear", pct_start=0.25),
              optimizer="Adam", optimizer_options={"lr": 0.01})
schedule_case("SequentialLR", {"milestones": [3]},
              lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3),
                                           S.CosineAnnealingLR(o, 10)], milestones=[3]),
              parts=[["LinearLR", {"start_factor": 0.1, "total_iters": 3}],
                     ["CosineAnnealingLR", {"t_max": 10}]])
schedule_case("SequentialLR", {"milestones": [2, 6]},
              lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=2),
                                           S.ExponentialLR(o, 0.9), S.StepLR(o, 2, gamma=0.5)],
                                       milestones=[2, 6]),
              parts=[["LinearLR", {"start_factor": 0.5, "total_iters": 2}],
                     ["ExponentialLR", {"gamma": 0.9}], ["StepLR", {"step_size": 2, "gamma": 0.5}]])
metrics = [1, 2, 0.5, 2, 2, 2, 0.4, 0.41, 0.39, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]
schedule_case("ReduceLROnPlateau", {"patience": 0, "cooldown": 1, "factor": 0.5},
              lambda o: S.ReduceLROnPlateau(o, patience=0, cooldown=1, factor=0.5),
              optimizer_options={"lr": 1.0}, metrics=metrics)
schedule_case("ReduceLROnPlateau", {"mode": "max", "patience": 1, "threshold": 0.05,
                                    "threshold_mode": "abs", "min_lr": 0.02},
              lambda o: S.ReduceLROnPlateau(o, mode="max", patience=1, threshold=0.05,
                                            threshold_mode="abs", min_lr=0.02),
              metrics=metrics)

with open(sys.argv[1], "w") as out:
    out.write("-- generated by tests/oracle/optim.py (PyTorch %s)\nreturn {\n" % torch.__version__)
    for case in cases:
        out.write("  " + lua_value(case) + ",\n")
    out.write("}\n")
