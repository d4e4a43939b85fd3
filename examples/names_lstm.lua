-- names_lstm.lua -- a character LSTM that makes up new English-looking words.
--
--   dlrepl examples/names_lstm.lua [steps] [words]
--
-- It reads the word list of Debian's wamerican package
-- (/usr/share/dict/words), keeps the lowercase words, shuffles them, joins
-- them with newlines into one text and learns to predict each next character from
-- windows of 32 characters. Its validation loss (nats per character, on the
-- last tenth of the shuffled list) is compared with a bigram count model's, the
-- baseline that only looks at the previous character. Then it samples new
-- words, each started and ended by a newline.
--
-- `steps` training steps (default 1500) on every `words`-th word (default 1:
-- all); the test suite runs `dlrepl examples/names_lstm.lua 10 50`.
-- Measured with the defaults (OMP_NUM_THREADS=1, a busy two-core machine):
-- 111 s; the LSTM's validation loss is 1.908 nats per character against the
-- bigram model's 2.475, and it makes up words such as "deaminers",
-- "prominting", "unfedentally" and "sterminess".
dl.manual_seed(0)
local steps = tonumber(arg and arg[1]) or 1500
local every = tonumber(arg and arg[2]) or 1
local WINDOW, BATCH, EMBED, HIDDEN = 32, 64, 32, 128

local list = {}
local count = 0
for word in io.lines("/usr/share/dict/words") do
    if word:match("^[a-z]+$") then
        count = count + 1
        if count % every == 0 then list[#list + 1] = word end
    end
end
-- Shuffled, so that the validation words are not just the end of the alphabet.
local shuffled = {}
for k, i in ipairs(dl.randperm(#list):totable()) do shuffled[k] = list[math.tointeger(i)] end
local corpus = dl.data.text("\n" .. table.concat(shuffled, "\n") .. "\n")
print(("%d words, %s"):format(#list, tostring(corpus)))
local V = corpus.vocab_size
local train, val = corpus:windows(WINDOW, {split = 0.9})

-- The baseline: P(next | previous) from the training windows' counts,
-- smoothed by adding 0.1 to each count.
local function bigram_loss()
    local counts = {}
    for a = 1, V do
        counts[a] = {}
        for b = 1, V do counts[a][b] = 0.1 end
    end
    local xs, ys = train.x:reshape(-1):totable(), train.y:reshape(-1):totable()
    for k = 1, #xs do counts[xs[k]][ys[k]] = counts[xs[k]][ys[k]] + 1 end
    local totals = {}
    for a = 1, V do
        local sum = 0
        for b = 1, V do sum = sum + counts[a][b] end
        totals[a] = sum
    end
    local vx, vy = val.x:reshape(-1):totable(), val.y:reshape(-1):totable()
    local nll = 0
    for k = 1, #vx do nll = nll - math.log(counts[vx[k]][vy[k]] / totals[vx[k]]) end
    return nll / #vx
end

local Model = nn.Module:extend("CharLSTM")
function Model:init()
    self.embed = nn.Embedding(V, EMBED)
    self.lstm = nn.LSTM(EMBED, HIDDEN, {batch_first = true})
    self.head = nn.Linear(HIDDEN, V)
end
-- ids (N, T) -> logits (N, T, V) and the LSTM's last state.
function Model:forward(ids, state)
    local out, last = self.lstm(self.embed(ids), state)
    return self.head(out), last
end

local model = Model()
local opt = optim.Adam(model:parameters(), {lr = 3e-3})

local function loss_of(x, y)
    local logits = model(x)
    return nn.cross_entropy(logits:reshape(-1, V), y:reshape(-1))
end

local function validation_loss()
    local sum, n = 0, 0
    dl.no_grad(function()
        for x, y in val:batches(256) do
            sum, n = sum + loss_of(x, y):item() * x:size(1), n + x:size(1)
        end
    end)
    return sum / n
end

local baseline = bigram_loss()
print(("bigram model: validation loss %.3f nats per character"):format(baseline))
local step, started = 0, dl.clock()
while step < steps do
    for x, y in train:batches(BATCH, {shuffle = true, drop_last = true}) do
        opt:zero_grad()
        local loss = loss_of(x, y)
        loss:backward()
        nn.utils.clip_grad_norm(model:parameters(), 1.0)
        opt:step()
        step = step + 1
        if step % 250 == 0 or step == steps then
            print(("step %4d  training loss %.3f  (%.0f s)"):format(step, loss:item(), dl.clock() - started))
        end
        if step >= steps then break end
    end
end
local lstm_loss = validation_loss()
print(("LSTM:         validation loss %.3f nats per character (bigram %.3f)"):format(lstm_loss, baseline))

-- A word drawn character by character at temperature 0.8, up to 20 characters.
local newline = corpus:encode("\n")[1]
local function sample_word()
    local ids, state, id = {}, nil, newline
    dl.no_grad(function()
        for _ = 1, 20 do
            local logits
            logits, state = model(dl.tensor{{id}}, state)
            local probs = (logits:reshape(-1) / 0.8):softmax(1):totable()
            local r, acc = math.random(), 0
            id = #probs
            for k, p in ipairs(probs) do
                acc = acc + p
                if r <= acc then id = k break end
            end
            if id == newline then break end
            ids[#ids + 1] = id
        end
    end)
    return corpus:decode(ids)
end

math.randomseed(0)
local made = {}
for k = 1, 10 do made[k] = sample_word() end
print("new words: " .. table.concat(made, " "))
return {lstm = lstm_loss, bigram = baseline, words = made}
