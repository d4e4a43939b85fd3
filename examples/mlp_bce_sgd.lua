-- mlp_bce_sgd.lua -- the PyTorch tutorial's binary classifier, written out:
-- a 3-10-1 network, bce_with_logits, plain SGD, and the training loop by
-- hand (what model:fit does for you), then the probability for a new
-- sample.
--
--   dlrepl examples/mlp_bce_sgd.lua
--
-- The data is made up: 3 features per sample, and the class is 1 when
-- x1 + x2 - x3 > 0.5 (else 0).
dl.manual_seed(0)

local n = 600
local x = dl.randn(n, 3)
local y = (x:select(2, 1) + x:select(2, 2) - x:select(2, 3)):gt(0.5)   -- n 0/1 labels

-- 3 inputs -> 10 hidden units -> 1 logit (no sigmoid: bce_with_logits
-- applies it inside the loss, which is exact even for large logits).
local model = nn.Sequential{nn.Linear(3, 10), nn.ReLU(), nn.Linear(10, 1)}
local opt = optim.SGD(model:parameters(), {lr = 0.1})
local data = dl.data.dataset(x, y)

for epoch = 1, 100 do
    local total = 0
    for xb, yb in data:batches(32, {shuffle = true}) do
        local logits = model(xb)
        local loss = nn.bce_with_logits(logits, yb:reshape(#yb, 1))   -- N x 1, as the logits
        opt:zero_grad()
        loss:backward()
        opt:step()
        total = total + loss:item() * #yb
    end
    if epoch % 20 == 0 then print(("epoch %3d   loss %.4f"):format(epoch, total / n)) end
end

-- Accuracy on the training data: a logit above 0 is class 1.
local correct = dl.no_grad(function() return model(x):reshape(n):gt(0):eq(y):sum():item() end)
print(("training accuracy %.3f"):format(correct / n))

-- New samples: x1 + x2 - x3 is 1.5 (surely class 1), 0.6 (just above the
-- boundary: less sure) and -1 (class 0).
local samples = {{1.0, 0.8, 0.3}, {0.5, 0.3, 0.2}, {-0.5, 0, 0.5}}
local probability = dl.no_grad(function() return model(dl.tensor(samples)):sigmoid() end)
for i, s in ipairs(samples) do
    print(("probability of class 1 for {%g, %g, %g}: %.3f"):format(s[1], s[2], s[3],
                                                                   probability[i][1]))
end
