-- augment.lua -- dl.data.augment: random image transforms applied per batch.
--
--   local aug = dl.data.augment{flip = true, crop = 4, rotate = 10,
--                               translate = 0.1, brightness = 0.2}
--   for x, y in train:batches(64, {shuffle = true, augment = aug}) do ... end
--   x2 = aug(x)                 -- or by hand, on any N x C x H x W batch
--
--   flip        mirror left-right with probability 1/2
--   crop        pad by this many pixels (zeros) and crop back at a random
--               offset: a shift of -crop..crop whole pixels each way
--   rotate      rotate by a uniform angle in -rotate..rotate degrees
--   translate   shift by a uniform fraction of the size in -t..t each way
--   brightness  multiply each image by a uniform factor in 1-b..1+b
--   fill        value outside the image after a shift or rotation (0)
--
-- Each image draws its own transform from dl's generator, so the same
-- dl.manual_seed gives the same augmented batches. Flips and crops move
-- whole pixels and copy values exactly; rotations and fractional shifts
-- interpolate bilinearly. One resampling pass does all geometric work.
local dl = require "dl"
local raise = require("dl.errors").raise
local readers = require "dl.readers"

local Augment = {__name = "dl.Augment"}
Augment.__index = Augment

local known = {flip = true, crop = true, rotate = true, translate = true,
               brightness = true, fill = true}

local function check_number(opts, key, lo, hi)
    local v = opts[key]
    if v ~= nil and (type(v) ~= "number" or v < lo or v > hi) then
        raise(("bad argument #1 to 'augment' (expected option '%s' to be a number in " ..
               "%g..%g, got %s)"):format(key, lo, hi, tostring(v)))
    end
end

-- dl.data.augment(opts) -> a callable augmentation (see above).
local function new(opts)
    if type(opts) ~= "table" then
        raise(("bad argument #1 to 'augment' (expected an options table, got %s)")
              :format(type(opts)))
    end
    for key in pairs(opts) do
        if not known[key] then
            raise(("bad argument #1 to 'augment' (unknown option '%s')"):format(tostring(key)))
        end
    end
    if opts.flip ~= nil and type(opts.flip) ~= "boolean" then
        raise("bad argument #1 to 'augment' (expected option 'flip' to be a boolean)")
    end
    check_number(opts, "crop", 0, 4096)
    if opts.crop and math.tointeger(opts.crop) == nil then
        raise("bad argument #1 to 'augment' (expected option 'crop' to be whole pixels)")
    end
    check_number(opts, "rotate", 0, 180)
    check_number(opts, "translate", 0, 1)
    check_number(opts, "brightness", 0, 1)
    check_number(opts, "fill", -math.huge, math.huge)
    return setmetatable({opts = opts}, Augment)
end

-- The affine map (6 numbers, output pixel -> input pixel) of one image of
-- h x w pixels, from uniform draws u[1..6] (flip, angle, crop x/y, shift x/y).
local function image_map(o, u, h, w)
    local s, fx = 1, 0
    if o.flip and u[1] < 0.5 then s, fx = -1, w - 1 end
    local tx, ty = 0, 0
    if o.crop and o.crop > 0 then
        -- a uniform whole-pixel shift in -crop..crop from one draw per axis
        local span = 2 * o.crop + 1
        tx = math.min(math.floor(u[3] * span), span - 1) - o.crop
        ty = math.min(math.floor(u[4] * span), span - 1) - o.crop
    end
    if o.translate and o.translate > 0 then
        tx = tx + (2 * u[5] - 1) * o.translate * w
        ty = ty + (2 * u[6] - 1) * o.translate * h
    end
    local a = o.rotate and math.rad((2 * u[2] - 1) * o.rotate) or 0
    local c, si = math.cos(a), math.sin(a)
    local cx, cy = (w - 1) / 2, (h - 1) / 2
    -- input = R(-a) (unflip(output) - shift - centre) + centre
    return {c * s, si, c * (fx - tx - cx) + si * (-ty - cy) + cx,
            -si * s, c, -si * (fx - tx - cx) + c * (-ty - cy) + cy}
end

-- aug(x) -> a new batch: x (N x C x H x W) with one random transform per image.
function Augment:__call(x)
    if not dl.is_tensor(x) or x:dim() ~= 4 then
        raise(("bad argument #1 to 'augment' (expected images N x C x H x W, got %s)")
              :format(dl.is_tensor(x) and x:dim() .. " dims" or type(x)))
    end
    local o = self.opts
    local n, h, w = x:size(1), x:size(3), x:size(4)
    local draws = dl.rand(n, 7):totable()
    if o.flip or o.crop or o.rotate or o.translate then
        local theta = {}
        for i = 1, n do theta[i] = image_map(o, draws[i], h, w) end
        x = readers.warp(x, dl.tensor(theta), o.fill or 0)
    end
    if o.brightness and o.brightness > 0 then
        local factor = {}
        for i = 1, n do factor[i] = {{{1 + (2 * draws[i][7] - 1) * o.brightness}}} end
        x = x * dl.tensor(factor)
    end
    return x
end

function Augment:__tostring()
    local parts = {}
    for _, key in ipairs{"flip", "crop", "rotate", "translate", "brightness", "fill"} do
        if self.opts[key] ~= nil then parts[#parts + 1] = key .. " = " .. tostring(self.opts[key]) end
    end
    return "augment{" .. table.concat(parts, ", ") .. "}"
end

return {new = new}
