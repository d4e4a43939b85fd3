-- Awkward arguments that were accepted silently or told misleadingly
-- (issue 14, point 7): each gives a clear error naming the function the
-- user called, or a sensible result.
local H = require "tests.lua.helper"
local dl = H.dl

local build = os.getenv("DL_BUILD") or "build"

local function write(path, bytes)
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
end

-- A gzip member holding `bytes` (made by gzip(1)).
local function gzip(bytes)
    local path = os.tmpname()
    write(path, bytes)
    local p = assert(io.popen("gzip -c -n " .. path))
    local out = p:read("a")
    p:close()
    os.remove(path)
    return out
end

-- An IDX file of three u8 values 1, 2, 3.
local IDX = "\0\0\8\1" .. string.pack(">I4", 3) .. "\1\2\3"

describe("paths", function()
    it("refuses a NUL byte in every path dl.data reads", function()
        local csv = os.tmpname()
        write(csv, "a,b\n1,2\n")
        for _, case in ipairs{{"csv", dl.data.csv}, {"idx", dl.data.idx},
                              {"image", dl.data.image}, {"mnist", dl.data.mnist},
                              {"images", dl.data.images}} do
            local msg = H.err(case[2], csv .. "\0junk")
            assert.truthy(msg:find("^bad argument #1 to '" .. case[1] .. "' %(expected a path, "
                                   .. "got a string with a NUL byte"), msg)
        end
        os.remove(csv)
    end)
end)

describe("gzip", function()
    it("refuses bytes after the last member, and reads concatenated members", function()
        local path = os.tmpname()
        write(path, gzip(IDX) .. "garbage!")
        local msg = H.err(dl.data.idx, path)
        assert.truthy(msg:find("trailing bytes after the gzip data", 1, true), msg)
        write(path, gzip(IDX) .. "\31")       -- half a magic number
        msg = H.err(dl.data.idx, path)
        assert.truthy(msg:find("trailing bytes after the gzip data", 1, true), msg)
        write(path, gzip(IDX:sub(1, 5)) .. gzip(IDX:sub(6)))
        H.close(dl.data.idx(path), {1, 2, 3})
        os.remove(path)
    end)
end)

describe("messages", function()
    it("dl.threads states the range this build really has", function()
        local most = dl.threads()
        local ok, msg = pcall(dl.threads, 4096)
        if ok then
            assert.equal(4096, msg)
        else
            local top = tonumber(msg:match("expected a thread count in 1%.%.(%d+), got 4096"))
            assert(top, msg)
            assert.equal(top, dl.threads(top))
        end
        dl.threads(most)
    end)

    it("an image size of {0, 0}, and a 0x5 BMP", function()
        H.raises("bad argument #2 to 'image' (expected option 'size' to be {height, width}, "
                 .. "each in 1..65536, got {0, 0})", dl.data.image,
                 "tests/data/images/rgb.png", {size = {0, 0}})
        local bmp = os.tmpname()
        write(bmp, "BM" .. string.pack("<I4I2I2I4", 74, 0, 0, 54)
                   .. string.pack("<I4i4i4I2I2I4I4i4i4I4I4", 40, 0, 5, 1, 24, 0, 0, 2835,
                                  2835, 0, 0) .. ("\0"):rep(20))
        local msg = H.err(dl.data.image, bmp)
        assert.truthy(msg:find("a 0x5 image has no pixels", 1, true), msg)
        os.remove(bmp)
    end)

    it("nn.Linear too large for memory", function()
        local msg = H.err(dl.nn.Linear, 2 ^ 40, 2 ^ 40)
        assert.truthy(msg:find("^bad argument #1 to 'Linear' %(cannot make a parameter of "
                               .. "1099511627776 x 1099511627776 floats"), msg)
    end)

    it("names the function called, not the one it goes through", function()
        H.raises("bad argument #1 to 'contiguous' (a tensor of 1.1e+12 elements is too large)",
                 function() return dl.zeros(1):expand(2 ^ 40):contiguous() end)
        H.raises("bad argument #1 to 'image' (expected a non-empty image, got shape (0, 5))",
                 dl.plot.image, dl.zeros(0, 5))
        H.raises("bad argument #1 to 'confusion' (expected a square matrix C×C (C >= 1), "
                 .. "got shape (0, 0))", dl.plot.confusion, dl.zeros(0, 0))
        local ds = dl.data.Dataset.new{x = dl.ones(2, 3), y = dl.tensor{1, 2}}
        H.raises("bad argument #2 to 'subset' (expected positions in 1..2, got 5 at entry 1)",
                 ds.subset, ds, {5})
        H.raises("bad argument #2 to 'subset' (expected at least one position)",
                 ds.subset, ds, {})
    end)
end)

describe("the prompt", function()
    it("shows a value whose __tostring returns a number or a table", function()
        if os.execute("command -v script >/dev/null") ~= true then
            return pending("needs script(1) for a pseudo-terminal")
        end
        local input = os.tmpname()
        write(input, "setmetatable({}, {__tostring = function() return 5 end})\n"
                     .. "setmetatable({}, {__tostring = function() return {} end})\n"
                     .. ":quit\n")
        local p = assert(io.popen(("script -qec '%s/dlrepl' /dev/null < %s 2>&1")
                                  :format(build, input)))
        local out = p:read("a"):gsub("\r", ""):gsub("\27%[[%d;?]*[a-zA-Z]", "")
        p:close()
        os.remove(input)
        assert.truthy(out:find("\n5\n", 1, true), out)
        assert.truthy(out:find("\ntable: 0x%x+ %(its __tostring returned a table%)\n"), out)
    end)
end)
