-- save_and_serve.lua -- train a model, save it to a file, and let a fresh
-- dlrepl process load that file and predict the rows of a CSV file.
--
--   dlrepl examples/save_and_serve.lua                     train, save, serve
--   dlrepl examples/save_and_serve.lua serve MODEL NEW.csv  predict NEW.csv's rows
--
-- The model is a flower classifier (examples/data/iris.csv). Its file is
-- one safetensors file: the weights, and the architecture in the metadata,
-- so nn.load rebuilds the model with nothing else; plain fields such as
-- model.classes are kept too.
local here = (arg and arg[0] or ""):match("^(.*)/") or "."

-- "class (probability)" for each row of x, as the served model sees it.
local function predictions(model, x)
    local probs = model:predict(x):softmax(2)
    local best = probs:argmax(2)
    local lines = {}
    for i = 1, #x do
        local c = math.tointeger(best[i])
        lines[i] = ("row %d: %s (%.4f)"):format(i, model.classes[c], probs[i][c])
    end
    return table.concat(lines, "\n")
end

if arg[1] == "serve" then
    -- The fresh process: nothing but the two files.
    local model = nn.load(arg[2])
    local rows = dl.data.csv(arg[3])          -- no target column: all features
    print(predictions(model, rows.x))
    return
end

-- 1. Train a classifier with fit and keep the class names in the model.
dl.manual_seed(0)
local iris = dl.data.csv(here .. "/data/iris.csv", {target = "species"})
local train, test = iris:split(0.8, {stratify = true, seed = 1})
local model = nn.Sequential{nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)}
model.classes = iris.classes
model:fit(train, {epochs = 80, batch_size = 16, loss = "cross_entropy", lr = 0.01,
                  metrics = {"accuracy"}, verbose = false})
print(("test accuracy %.3f"):format(model:evaluate(test).accuracy))

-- 2. Save it, and write three new flowers to a CSV file.
local base = os.tmpname()
local model_path, csv_path = base .. ".safetensors", base .. ".csv"
model:save(model_path)
local f = assert(io.open(csv_path, "w"))
f:write("sepal_length,sepal_width,petal_length,petal_width\n",
        "5.0,3.4,1.5,0.2\n", "6.1,2.8,4.7,1.2\n", "7.2,3.2,6.0,1.8\n")
f:close()

-- 3. A fresh process (this same dlrepl, in serve mode) loads the model file
--    and predicts the CSV's rows.
local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local command = ("%s %s serve %s %s"):format(quote(arg[-1] or "dlrepl"), quote(arg[0]),
                                            quote(model_path), quote(csv_path))
local pipe = assert(io.popen(command))
local served = pipe:read("a")
local ok = pipe:close()
print("the fresh process says:\n" .. served)

-- 4. It must agree exactly with the model that was saved.
local here_too = predictions(model, dl.data.csv(csv_path).x)
print("same predictions in both processes: " .. tostring(ok and served == here_too .. "\n"))
os.remove(model_path)
os.remove(csv_path)
os.remove(base)
