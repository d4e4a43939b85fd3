-- Size arithmetic never overflows (issue 14 point 4): an empty dim lets a
-- tensor carry sizes whose product is far beyond 2^63, and every function
-- given one must work or raise a clear "bad argument" (run under
-- `make test SAN=1`, where a signed overflow aborts).
local H = require "tests.lua.helper"
local dl = H.dl

describe("huge sizes beside an empty dim", function()
    it("the issue's cases", function()
        local Y = dl.zeros(2 ^ 62, 0)
        H.raises("bad argument #1 to 'cat' (the joined dim 1 would have a size beyond 2^63)",
                 dl.cat, {Y, Y}, 1)
        assert.same({2 ^ 62, 0}, dl.cat({Y, Y}, 2):shape())
        assert.same({3, 2 ^ 62, 0}, dl.zeros(3, 2 ^ 62, 0, 5):sum(4):shape())
        H.raises("bad argument #1 to 'flatten' (dims 1..2 of shape (3, 4611686018427387904, 0, 5) "
                 .. "merge into a size beyond 2^63)",
                 function() return dl.zeros(3, 2 ^ 62, 0, 5):flatten(1, 2) end)
        assert.same({3, 0}, dl.zeros(3, 2 ^ 62, 0, 5):flatten(2, 4):shape())
        H.raises("bad argument #3 to 'arange' (a step of 1e-300 from 0 to 1 gives 1e+300 "
                 .. "elements, too many for one tensor)", dl.arange, 0, 1, 1e-300)
        H.raises("bad argument #3 to 'arange' (a step of 1 from -1e+38 to 1e+38 gives 2e+38 "
                 .. "elements, too many for one tensor)", dl.arange, -1e38, 1e38, 1)
        assert.same({2 ^ 62, 2, 0}, dl.zeros(2 ^ 62, 0):reshape(2 ^ 62, 2, 0):shape())
        assert.matches("too large", H.err(function() return Y:sum(2) end))
        assert.same({0}, Y:sum(1):shape())
    end)

    it("every function either works or raises 'bad argument'", function()
        local form = "^bad argument #%d+ to '[%w_]+' %(.+%)$"
        local list = {}
        for name, f in pairs(dl) do
            if type(f) == "function" and name ~= "threads" then list[#list + 1] = {"dl." .. name, f} end
        end
        for name, f in pairs(dl.Tensor) do list[#list + 1] = {"Tensor:" .. name, f} end
        for name, f in pairs(dl.nn.functional) do list[#list + 1] = {"F." .. name, f} end
        table.sort(list, function(a, b) return a[1] < b[1] end)
        local firsts = {dl.zeros(2 ^ 62, 0), dl.zeros(3, 2 ^ 62, 0, 5), dl.zeros(0, 2 ^ 40, 2 ^ 40)}
        local others = {nil, 1, 2, 3, -1, 0, 2 ^ 62, {1, 2}, dl.zeros(2 ^ 62, 0), dl.ones(3)}
        local wrong = {}
        for _, entry in ipairs(list) do
            if not entry[1]:match("^dl%.plot") then
                for i, a in ipairs(firsts) do
                    for j = 1, 10 do
                        for k = 1, 10 do
                            local ok, msg = pcall(entry[2], a, others[j], others[k])
                            msg = not ok and tostring(msg):gsub("^[^:]*:%d+: ", "") or ""
                            if not ok and not msg:match(form) and #wrong < 10 then
                                wrong[#wrong + 1] = ("%s(#%d, #%d, #%d): %s"):format(entry[1], i, j, k, msg)
                            end
                        end
                    end
                end
            end
        end
        assert.equal("", table.concat(wrong, "\n"))
    end)
end)
