-- The manual's op lists follow the op tables: docs/tensors.md's list of
-- elementwise ops is written by scripts/gen-op-docs from core/ops.def and
-- must be current, and every entry of docs/ref/tensor_ops.md names
-- something that exists.
local H = require "tests.lua.helper"
local dl = H.dl

describe("docs of the tensor ops", function()
    it("docs/tensors.md lists exactly the ops of core/ops.def", function()
        local pipe = io.popen("scripts/gen-op-docs --check 2>&1")
        local report = pipe:read("a")
        local ok = pipe:close()
        assert(ok, report)
    end)

    it("every op the generated list names is a dl function and a method", function()
        local f = assert(io.open("docs/tensors.md"))
        local text = f:read("a")
        f:close()
        local list = text:match("<!%-%- ops%.def: begin.-%-%->(.-)<!%-%- ops%.def: end %-%->")
        assert(list, "docs/tensors.md has no ops.def markers")
        local count = 0
        for span in list:gmatch("`([^`]*)`") do
            for name in span:match("^[%a%d_ ]+$") and span:gmatch("[%a%d_]+") or function() end do
                if name ~= "t" then
                    assert.is_function(dl[name], "dl." .. name)
                    assert.is_function(dl.Tensor[name], "Tensor:" .. name)
                    count = count + 1
                end
            end
        end
        assert.is_true(count > 40)
    end)

    it("every entry of docs/ref/tensor_ops.md names something that exists", function()
        local f = assert(io.open("docs/ref/tensor_ops.md"))
        for line in f:lines() do
            local head = line:match("^### (.+)$")
            if head then
                local value
                local method = head:match("^Tensor:(.+)$")
                if method then
                    value = dl.Tensor[method]
                else
                    value = dl
                    for part in head:gsub("^dl%.", ""):gmatch("[^.]+") do value = value[part] end
                end
                assert(value ~= nil, head .. " does not exist")
            end
        end
        f:close()
    end)
end)
