-- examples/search_iris.lua and examples/prune_fashion.lua run headless at a
-- reduced size (their arguments), finish, and print what they promise.
local build = os.getenv("DL_BUILD") or "build"

-- The output of `dlrepl script args`, asserting that it exits with success.
local function run(script, args)
    local pipe = io.popen(("%s/dlrepl %s %s 2>&1"):format(build, script, args))
    local out = pipe:read("a")
    local ok, _, code = pipe:close()
    assert(ok, ("%s %s exited with %s:\n%s"):format(script, args, tostring(code), out))
    return out
end

describe("examples", function()
    it("search_iris.lua compares random search and TPE", function()
        local out = run("examples/search_iris.lua", "4 2")
        assert.truthy(out:find("dl.search.random: 4 trials", 1, true), out)
        assert.truthy(out:find("dl.search.tpe: 4 trials", 1, true), out)
        assert.truthy(out:find("trial%s+score%s+dropout%s+hidden%s+lr%s+weight_decay"), out)
        for _, method in ipairs{"random", "tpe"} do
            local loss, accuracy = out:match(method .. "%s+best validation loss ([%d.]+) %(accuracy ([%d.]+)%)")
            assert.truthy(loss, out)
            assert.is_true(tonumber(accuracy) >= 0 and tonumber(accuracy) <= 1)
        end
    end)

    it("prune_fashion.lua prunes half the hidden units and fine-tunes", function()
        local out = run("examples/prune_fashion.lua", "2000 1000")
        assert.truthy(out:find("trained one epoch%s+accuracy [%d.]+%s+parameters%s+235146"), out)
        assert.truthy(out:find("pruned half the hidden%s+accuracy [%d.]+%s+parameters%s+109386"), out)
        assert.truthy(out:find("Linear(784 -> 128)", 1, true), out)
        assert.truthy(out:find("Linear(128 -> 64)", 1, true), out)
        assert.truthy(out:find("Linear(64 -> 10)", 1, true), out)
        local tuned = tonumber(out:match("fine%-tuned one epoch%s+accuracy ([%d.]+)"))
        assert.is_true(tuned > 0.5, "a 10-class model fine-tuned on 2,000 images scores " .. tuned)
        assert.truthy(out:find("inference on the 1000 test images %(one thread%): [%d.]+ ms unpruned, [%d.]+ ms pruned"), out)
    end)
end)
