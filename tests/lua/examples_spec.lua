-- examples_spec.lua -- the examples of examples/ run headless (with
-- --quick where they have it: fewer epochs and pictures) in dlrepl and
-- reach their outcome. One thread each, to share the machine.
local build = os.getenv("DL_BUILD") or "build"
local DLREPL = build .. "/dlrepl"

-- Runs an example; returns its standard output (errors fail the test).
local function run(script, ...)
    local args = {}
    for i, a in ipairs{...} do args[i] = "'" .. a .. "'" end
    local command = ("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 %s examples/%s %s 2>&1")
        :format(DLREPL, script, table.concat(args, " "))
    local pipe = assert(io.popen(command))
    local out = pipe:read("a")
    local ok, _, status = pipe:close()
    assert(ok, ("examples/%s failed (exit %s):\n%s"):format(script, tostring(status), out))
    return out
end

local function number_after(out, label)
    local value = out:match(label .. " ([%d.]+)")
    assert(value, ("no '%s' in the output:\n%s"):format(label, out))
    return tonumber(value)
end

describe("examples", function()
    it("binary_classifier.lua: early stopping, the best checkpoint, > 90% on the test set", function()
        local out = run("binary_classifier.lua", "--quick")
        assert.truthy(out:find("456 tumours to learn from, 113 to test on", 1, true), out)
        assert.truthy(out:find("\nHistory: %d+ epochs"), out)
        assert.is_true(number_after(out, "test accuracy") > 0.9, out)
        assert.truthy(out:find("\n   malignant +[%d.]+ +[%d.]+ +[%d.]+ +42\n"), out)
    end)

    it("mlp_bce_sgd.lua: the hand-written loop learns, and new samples get probabilities", function()
        local out = run("mlp_bce_sgd.lua")
        assert.is_true(number_after(out, "training accuracy") > 0.97, out)
        assert.is_true(number_after(out, "class 1 for {1, 0.8, 0.3}:") > 0.95, out)
        assert.is_true(number_after(out, "class 1 for {%-0.5, 0, 0.5}:") < 0.05, out)
    end)

    it("cnn_images.lua: a CNN trained with augmentation tells circles from squares", function()
        local dir = os.tmpname()
        os.remove(dir)
        local out = run("cnn_images.lua", "--quick", dir)
        os.execute(("rm -rf '%s'"):format(dir))
        assert.truthy(out:find("160 pictures to learn from, 40 to test on; classes circle, square",
                               1, true), out)
        assert.is_true(number_after(out, "test accuracy") >= 0.85, out)
    end)

    it("save_and_serve.lua: a fresh process predicts exactly as the saved model", function()
        local out = run("save_and_serve.lua")
        assert.is_true(number_after(out, "test accuracy") > 0.9, out)
        assert.truthy(out:find("same predictions in both processes: true", 1, true), out)
    end)
end)
