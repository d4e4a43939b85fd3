-- help(): entries built from docs/ref/*.md, values mapped to their names,
-- suggestions, and the coverage of every public name.
local H = require "tests.lua.helper"
local dl = H.dl
local help = require "dl.help"

-- What `f` prints, as one string.
local function printed(f, ...)
    local lines, saved = {}, _G.print
    _G.print = function(...)
        local parts = {}
        for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
        lines[#lines + 1] = table.concat(parts, "\t")
    end
    local ok, err = pcall(f, ...)
    _G.print = saved
    assert(ok, err)
    return table.concat(lines, "\n")
end

describe("help", function()
    it("reads the entries built from docs/ref", function()
        local e = help.entry("apropos")
        assert.is_not_nil(e)
        assert.equals("`apropos(word)`", e.signature)
        assert.truthy(e.text:find("case-insensitively", 1, true))
        assert.equals('dlrepl> apropos("apropo")\napropos                      apropos(word)', e.example)
    end)

    it("prints an entry with its signature, text and example", function()
        local text = printed(help.help, "apropos")
        assert.truthy(text:find("^apropos\napropos%(word%)\n\nPrints every public name"))
        assert.truthy(text:find("Example:\n    dlrepl> apropos", 1, true))
    end)

    it("maps functions and methods to their qualified names", function()
        assert.equals("dl.zeros", help.name_of(dl.zeros))
        assert.equals("nn.Linear", help.name_of(dl.nn.Linear))
        assert.equals("optim.SGD", help.name_of(dl.optim.SGD))
        local methods = getmetatable(dl.zeros(1)).__index
        local reshape = type(methods) == "table" and methods.reshape or dl.zeros(1).reshape
        local name = help.name_of(reshape)
        assert.truthy(name == "Tensor:reshape" or name == "dl.reshape", name)
    end)

    it("finds a method's entry from the value: help(m.named_parameters)", function()
        local m = dl.nn.Sequential{dl.nn.Linear(2, 3)}
        local text = printed(help.help, m.named_parameters)
        assert.truthy(text:find("^Module:named_parameters\nm:named_parameters%(%[prefix%]%) %-> list"), text)
        assert.truthy(printed(help.show_name, "Module:named_parameters"):find("{name, tensor}", 1, true))
    end)

    it("lists public names of dl, nn, optim and the methods of each kind", function()
        local names = {}
        for _, n in ipairs(help.public_names()) do names[n] = true end
        for _, n in ipairs{"dl.zeros", "nn.Linear", "nn.functional.linear", "optim.SGD", "Tensor:sum",
                           "Module:parameters", "Module:named_parameters", "Dataset:split",
                           "Optimizer:step"} do
            assert.is_true(names[n] ~= nil, n .. " is not listed")
        end
        assert.is_nil(names["nn.Linear.forward"])   -- a layer's own methods are not public names
        assert.is_nil(names["dl.Tensor.reshape"])   -- methods are named Tensor:reshape
    end)

    it("says so for an unknown name and suggests near ones", function()
        assert.truthy(printed(help.show_name, "dl.zerso"):find("^no help for 'dl.zerso'; did you mean dl.zeros"))
        assert.equals("no help for 'qqqqqqq'", printed(help.show_name, "qqqqqqq"))
        local near = help.suggest("optim.Adan")
        assert.truthy(near[1] == "optim.Adam" or near[1] == "optim.AdamW", near[1])
    end)

    it("searches the texts for a word", function()
        assert.truthy(printed(help.help, "case-insensitively"):find("apropos", 1, true))
    end)

    it("apropos lists matching names and refuses a non-word", function()
        local text = printed(help.apropos, "zeros")
        assert.truthy(text:find("dl.zeros", 1, true))
        assert.truthy(text:find("dl.zeros_like", 1, true))
        assert.has_error(function() help.apropos(3) end,
            "bad argument #1 to 'apropos' (expected a word, got number)")
    end)

    -- Fails until every public name has an entry in docs/ref/*.md: the
    -- message lists the names that have none.
    it("has an entry for every public name", function()
        local missing = {}
        for _, name in ipairs(help.public_names()) do
            if not help.documented(name) then missing[#missing + 1] = name end
        end
        if #missing > 0 then
            error(("%d public names have no entry in docs/ref/*.md:\n  %s"):format(
                #missing, table.concat(missing, "\n  ")), 0)
        end
    end)
end)
