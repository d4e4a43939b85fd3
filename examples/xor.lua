-- xor.lua -- a 2-layer network learns XOR, one explicit step at a time.
--
--   dlrepl examples/xor.lua
--
-- XOR is the classic problem a single linear layer cannot solve: the two
-- classes are not separable by a line. A hidden layer of 8 tanh units is
-- enough. Every step is the whole training loop, spelled out: forward,
-- loss, backward, update.
dl.manual_seed(1)

local x = dl.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
local y = dl.tensor{{0}, {1}, {1}, {0}}

local model = nn.Sequential{
    nn.Linear(2, 8),
    nn.Tanh(),
    nn.Linear(8, 1),
}
local opt = optim.SGD(model:parameters(), {lr = 0.5, momentum = 0.9})

print(model)
for step = 1, 300 do
    local logits = model(x)                        -- forward
    local loss = nn.bce_with_logits(logits, y)      -- how wrong are we?
    opt:zero_grad()
    loss:backward()                                -- d loss / d every weight
    opt:step()                                     -- w <- w - lr * (momentum-smoothed) grad
    if step == 1 or step % 30 == 0 then
        print(("step %3d   loss %.4f"):format(step, loss:item()))
    end
end

local probabilities = model(x):sigmoid()
print("\ninputs  -> P(output = 1)")
for i = 1, 4 do
    print(("%d xor %d -> %.3f"):format(x[i][1], x[i][2], probabilities[i][1]))
end
