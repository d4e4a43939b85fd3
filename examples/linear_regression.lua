-- linear_regression.lua -- one gradient-descent step on y = t0 + t1 * x,
-- computed by hand and by autodiff, side by side.
--
--   dlrepl examples/linear_regression.lua
--
-- Loss: L = mean((t0 + t1 * x - y)^2) over n points. By hand,
--   dL/dt0 = 2/n * sum(t0 + t1 * x - y)
--   dL/dt1 = 2/n * sum((t0 + t1 * x - y) * x)
-- and a step is t <- t - lr * dL/dt. backward() must give the same numbers.
local x = dl.tensor{1, 2, 3, 4, 5}
local y = dl.tensor{3.1, 4.9, 7.2, 8.8, 11.1}          -- roughly 1 + 2x
local lr = 0.02

local t0 = dl.tensor(0.5, {requires_grad = true})
local t1 = dl.tensor(1.0, {requires_grad = true})

-- By hand
local residual = (t0:item() + t1:item() * x) - y
local n = x:numel()
local grad_t0 = 2 / n * residual:sum():item()
local grad_t1 = 2 / n * (residual * x):sum():item()

-- By autodiff
local loss = ((t0 + t1 * x - y) ^ 2):mean()
loss:backward()

print(("loss before the step: %.4f"):format(loss:item()))
print(("%-8s %12s %12s"):format("", "by hand", "autodiff"))
print(("%-8s %12.6f %12.6f"):format("dL/dt0", grad_t0, t0.grad:item()))
print(("%-8s %12.6f %12.6f"):format("dL/dt1", grad_t1, t1.grad:item()))

-- The step, both ways
local hand_t0, hand_t1 = t0:item() - lr * grad_t0, t1:item() - lr * grad_t1
local opt = optim.SGD({t0, t1}, {lr = lr})
opt:step()
print(("%-8s %12.6f %12.6f"):format("new t0", hand_t0, t0:item()))
print(("%-8s %12.6f %12.6f"):format("new t1", hand_t1, t1:item()))

local after = ((t0 + t1 * x - y) ^ 2):mean()
print(("loss after the step:  %.4f"):format(after:item()))
